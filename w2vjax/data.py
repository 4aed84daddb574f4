"""Data preparation: the corpus read (or loaded from its cache), encoded and made ready for
the method's kind of data, and how that data becomes epochs and batches on the device.

A method names its kind of data (``Method.data``): "windows" of the corpus (word2vec's and
fastText's methods) or "cooccurrence" counts (GloVe, PPMI, PPMI-SVD). ``SOURCES`` maps each
kind to the functions the train step and the loop call, so neither asks which it has.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import jax
import numpy as np

from w2vjax import cooccurrence, datasets, methods, text
from w2vjax import corpus as corpus_lib
from w2vjax.config import TrainConfig
from w2vjax.errors import InputError


class DataSource(NamedTuple):
  """One kind of training data on the device.

  ``make_epoch(key, corpus, process_batch)`` -> an epoch (its ``num_kept`` items are what
  the loop steps through); ``bits_per_item(config, method)`` random 32-bit words per batch
  item; ``batch_from_bits(bits, epoch, start, config, method, constants)`` -> the batch of
  items ``start : start + len(bits)``, which the method's ``loss`` and ``row_grads`` take.
  """

  make_epoch: Callable
  bits_per_item: Callable
  batch_from_bits: Callable


def _window_batch(bits, epoch, start, config, method, constants):
  return corpus_lib.batch_from_bits(bits, epoch, start, window=config.window,
                                    noise_shape=method.noise_shape,
                                    noise=constants.get("noise"))


SOURCES = {
    "windows": DataSource(
        corpus_lib.make_epoch,
        lambda config, method: corpus_lib.bits_per_centre(config.window, method.noise_shape),
        _window_batch),
    "cooccurrence": DataSource(
        cooccurrence.make_epoch, lambda config, method: 1,
        lambda bits, epoch, start, *_: cooccurrence.batch_from_bits(bits, epoch, start)),
}


@dataclasses.dataclass(frozen=True)
class TrainingData:
  """Everything the loop needs from the corpus, of the kind ``kind`` (a key of SOURCES).

  For "windows", ``corpus`` is the process's share of the corpus on the device and an
  epoch's items are its centre words; for "cooccurrence", ``corpus`` is the whole count
  matrix on the host (scipy CSR) and an epoch's items are its non-zero entries, so words/s
  counts entries.
  """

  vocab: text.Vocab
  corpus: object
  raw_words: int  # items per epoch as words/s counts them: corpus words before min_count
  expected_kept: float  # expected items per epoch (after subsampling), all processes
  num_tokens: int  # this process's items held in memory
  kind: str = "windows"

  @property
  def source(self) -> DataSource:
    return SOURCES[self.kind]

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


def _windows(config: TrainConfig, encoded: text.EncodedText, vocab: text.Vocab,
             path: Path) -> TrainingData:
  ids, sentence = process_share(*encoded.restrict(vocab))
  device_corpus = corpus_lib.make_device_corpus(ids, sentence, vocab.counts, config.subsample)
  keep = corpus_lib.subsample_keep_prob(vocab.counts, config.subsample)
  # Both are global counts: every process plans the same number of steps.
  return TrainingData(vocab, device_corpus, encoded.num_tokens,
                      float(np.dot(vocab.counts, keep)), len(ids))


def _cooccurrence(config: TrainConfig, encoded: text.EncodedText, vocab: text.Vocab,
                  path: Path) -> TrainingData:
  """The corpus's co-occurrence counts (w2vjax.cooccurrence), from the cache if counted
  before with the same settings; every process counts the whole corpus."""
  def counter():
    ids, sentence = encoded.restrict(vocab)
    if config.subsample > 0:
      keep = corpus_lib.subsample_keep_prob(vocab.counts, config.subsample)
      ids, sentence = cooccurrence.subsample_tokens(ids, sentence, keep, config.seed)
    return cooccurrence.count(ids, sentence, len(vocab), config.window, config.weighting,
                              config.symmetric)

  key = cooccurrence.settings_key(text.cache_key(path), len(vocab), config.window,
                                  config.weighting, config.symmetric, config.subsample,
                                  config.seed)
  matrix = cooccurrence.load_or_count(config.cache_dir or text.default_cache_dir(), key, counter)
  if matrix.nnz == 0:
    raise InputError(f"corpus {config.corpus} has no two words within window={config.window} "
                     "of each other in one sentence")
  return TrainingData(vocab, matrix, matrix.nnz, float(matrix.nnz),
                      matrix.nnz // jax.process_count(), "cooccurrence")


_PREPARE = {"windows": _windows, "cooccurrence": _cooccurrence}


def prepare_data(config: TrainConfig) -> TrainingData:
  """Reads (or loads the cached encoding of) the corpus and prepares the kind of data the
  config's method trains on (``methods.data_kind``)."""
  path = datasets.resolve_corpus(config.corpus)
  encoded = text.load_encoded(path, config.cache_dir or None)
  if encoded.num_tokens == 0:
    raise InputError(f"corpus {config.corpus} holds no words")
  vocab = encoded.vocab.truncate(config.min_count, config.max_vocab or None)
  return _PREPARE[methods.data_kind(config)](config, encoded, vocab, path)
