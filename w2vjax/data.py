"""Data preparation: the corpus read (or loaded from its cache), encoded and on the device."""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from w2vjax import corpus as corpus_lib
from w2vjax import datasets, text
from w2vjax.config import TrainConfig
from w2vjax.errors import InputError


@dataclasses.dataclass(frozen=True)
class TrainingData:
  """Everything the loop needs from the corpus, already on the device."""

  vocab: text.Vocab
  corpus: corpus_lib.DeviceCorpus
  raw_words: int  # corpus words before min_count: what words/s counts, as gensim does
  expected_kept: float  # expected tokens per epoch after subsampling
  num_tokens: int  # this process's tokens on the device

  def steps_per_epoch(self, batch_size: int) -> int:
    return max(1, corpus_lib.ceil_div(round(self.expected_kept), batch_size))

  def plan(self, config: TrainConfig) -> tuple[int, int]:
    """(epochs to iterate, total steps) for ``config``: its epochs, or its max_steps."""
    per_epoch = self.steps_per_epoch(config.batch_size)
    if config.max_steps:
      # Epoch lengths vary with subsampling; a spare epoch makes sure max_steps is reached.
      return corpus_lib.ceil_div(config.max_steps, per_epoch) + 1, config.max_steps
    return config.epochs, config.epochs * per_epoch


def process_share(ids: np.ndarray, sentence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """This process's contiguous, equal share of the corpus (all of it in a 1-process run).

  Equal lengths keep the processes' epochs in step; the last few tokens of a corpus that
  does not divide are dropped, and a sentence cut at a share boundary loses its windows
  across the cut.
  """
  count, index = jax.process_count(), jax.process_index()
  size = len(ids) // count
  return ids[index * size:(index + 1) * size], sentence[index * size:(index + 1) * size]


def prepare_data(config: TrainConfig) -> TrainingData:
  """Reads (or loads the cached encoding of) the corpus and puts this process's share on
  its device."""
  encoded = text.load_encoded(datasets.resolve_corpus(config.corpus), config.cache_dir or None)
  if encoded.num_tokens == 0:
    raise InputError(f"corpus {config.corpus} holds no words")
  vocab = encoded.vocab.truncate(config.min_count, config.max_vocab or None)
  ids, sentence = process_share(*encoded.restrict(vocab))
  device_corpus = corpus_lib.make_device_corpus(ids, sentence, vocab.counts, config.subsample)
  keep = corpus_lib.subsample_keep_prob(vocab.counts, config.subsample)
  # Both are global counts: every process plans the same number of steps.
  return TrainingData(vocab, device_corpus, encoded.num_tokens,
                      float(np.dot(vocab.counts, keep)), len(ids))
