"""Data preparation: the corpus read (or loaded from its cache), encoded and made ready for
the method's kind of data, and how that data becomes epochs and batches on the device.

A method names its kind of data (``Method.data``): "windows" of the corpus (word2vec's and
fastText's methods) or "cooccurrence" counts (GloVe, PPMI, PPMI-SVD). ``SOURCES`` maps each
kind to the functions the train step and the loop call, so neither asks which it has.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from w2vjax import chunks, cooccurrence, datasets, encode, methods, text
from w2vjax import corpus as corpus_lib
from w2vjax.config import TrainConfig
from w2vjax.errors import InputError


class DataSource(NamedTuple):
  """One kind of training data on the device.

  ``make_epoch(key, corpus, process_batch, order)`` -> an epoch (its ``num_kept`` items are
  what the loop steps through, in a ``corpus.Order``); ``bits_per_item(config,
  method)`` random 32-bit words per batch item; ``batch_makers(config, method)`` ->
  ``(choose, makers)``: each of ``makers`` is
  ``make(bits, epoch, start, constants)`` -> the batch of items ``start : start +
  len(bits)``, which the method's ``loss`` and ``row_grads`` take, each with its own static
  shapes, and ``choose(bits)`` is the index of the maker a step whose global batch drew
  ``bits`` uses (so every device of the step uses the same one).
  """

  make_epoch: Callable
  bits_per_item: Callable
  batch_makers: Callable


WINDOW_DRAWS = ("step", "centre")


def _window_makers(config, method):
  """Window batches (``TrainConfig.window_draw``): one maker that draws each centre's
  reduced window, or one per reduced window b = 1..window, whose batch has 2b context slots
  and which a step picks with the probability ``TrainConfig.window_weights`` gives b."""
  def maker(window: int, dynamic: bool):
    return lambda bits, epoch, start, constants: corpus_lib.batch_from_bits(
        bits, epoch, start, window=window, noise_shape=method.noise_shape(window),
        noise=constants.get("noise"), dynamic=dynamic, weights=config.window_weights)

  if config.window_draw == "centre":
    return (lambda bits: 0), [maker(config.window, True)]
  return (lambda bits: corpus_lib.reduced_window(
      bits[0, 0], config.window, config.window_weights) - 1,
          [maker(b, False) for b in range(1, config.window + 1)])


SOURCES = {
    "windows": DataSource(
        corpus_lib.make_epoch,
        lambda config, method: corpus_lib.bits_per_centre(config.window,
                                                      method.noise_shape(config.window)),
        _window_makers),
    "cooccurrence": DataSource(
        # A count matrix's entries have no corpus order: they are always shuffled.
        lambda key, matrix, batch, order=None: cooccurrence.make_epoch(key, matrix, batch),
        lambda config, method: 1,
        lambda config, method: ((lambda bits: 0), [
            lambda bits, epoch, start, constants: cooccurrence.batch_from_bits(
                bits, epoch, start)])),
}


class Parts(NamedTuple):
  """An epoch's data as parts that take turns on the device (w2vjax.chunks): a streamed
  corpus's chunks, or one part that is the whole of it.

  ``load(p)`` -> this process's part ``p`` on the device, the corpus that the source's
  ``make_epoch`` takes; ``sizes[p]`` its corpus words before min_count (what words/s
  counts), ``expected[p]`` its expected items per epoch after subsampling, all processes.
  """

  load: Callable
  sizes: np.ndarray
  expected: np.ndarray

  @property
  def count(self) -> int:
    return len(self.sizes)


def whole(corpus, size: int, expected: float) -> Parts:
  """One part that is all of ``corpus``, held on the device for the whole run."""
  return Parts(lambda part: corpus, np.array([size], np.int64), np.array([expected]))


@dataclasses.dataclass(frozen=True)
class TrainingData:
  """Everything the loop needs from the corpus, of the kind ``kind`` (a key of SOURCES).

  For "windows", a part is the process's share of the corpus (or of a chunk of it) on the
  device and an epoch's items are its centre words; for "cooccurrence", the one part is
  the whole count matrix on the host (scipy CSR) and an epoch's items are its non-zero
  entries, so words/s counts entries.
  """

  vocab: text.Vocab
  parts: Parts
  num_tokens: int  # this process's items held in memory at once (for the memory check)
  kind: str = "windows"

  @property
  def source(self) -> DataSource:
    return SOURCES[self.kind]

  @property
  def corpus(self):
    """The first part: all of the data unless the corpus is streamed in chunks (then each
    access loads the chunk anew)."""
    return self.parts.load(0)

  @property
  def raw_words(self) -> int:
    """Items per epoch as words/s counts them: corpus words before min_count."""
    return int(np.sum(self.parts.sizes))

  @property
  def expected_kept(self) -> float:
    """Expected items per epoch (after subsampling), all processes."""
    return float(np.sum(self.parts.expected))

  def steps_per_epoch(self, batch_size: int) -> int:
    # Each part ends with a batch of its own, so the parts' steps add up.
    return sum(max(1, corpus_lib.ceil_div(round(e), batch_size)) for e in self.parts.expected)

  def plan(self, config: TrainConfig) -> tuple[int, int]:
    """(epochs to iterate, total steps) for ``config``: its epochs, or its max_steps."""
    per_epoch = self.steps_per_epoch(config.batch_size)
    if config.max_steps:
      # Epoch lengths vary with subsampling; a spare epoch makes sure max_steps is reached.
      return corpus_lib.ceil_div(config.max_steps, per_epoch) + 1, config.max_steps
    return config.epochs, config.epochs * per_epoch

  def epoch_part(self, epoch_key: jax.Array, slot: int, process_batch: int,
                 order: corpus_lib.Order = corpus_lib.Order()):
    """The epoch's ``slot``-th part, subsampled and ordered (the source's make_epoch):
    a pure function of the epoch's key and the slot, so a resumed run redraws it."""
    part = int(chunks.chunk_order(epoch_key, self.parts.count)[slot])
    return self.source.make_epoch(chunks.chunk_key(epoch_key, part, self.parts.count),
                                  self.parts.load(part), process_batch, order)

  def words_done(self, epoch_key: jax.Array, slot: int, fraction: float) -> float:
    """Corpus words of an epoch's first ``slot`` parts and ``fraction`` of the next."""
    order = chunks.chunk_order(epoch_key, self.parts.count)
    sizes = self.parts.sizes[order]
    return float(np.sum(sizes[:slot]) + fraction * sizes[slot])


def process_share(ids: np.ndarray, sentence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """This process's contiguous, equal share of the corpus or of a chunk of it (all of it in
  a 1-process run).

  Equal lengths keep the processes' epochs in step; the last few tokens of a corpus that
  does not divide are dropped, and a sentence cut at a share boundary loses its windows
  across the cut.
  """
  count, index = jax.process_count(), jax.process_index()
  size = len(ids) // count
  return ids[index * size:(index + 1) * size], sentence[index * size:(index + 1) * size]


def _chunk_stats(encoded: text.EncodedText, cuts: chunks.Cuts, vocab: text.Vocab,
                 keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """(in-vocabulary tokens, expected kept tokens) of each chunk, one chunk read at a time."""
  if cuts.count == 1:  # the vocabulary's counts are the whole corpus's: nothing to read
    return np.array([vocab.counts.sum()], np.int64), np.array([float(np.dot(vocab.counts, keep))])
  lengths, expected = [], []
  for c in range(cuts.count):
    ids = chunks.read(encoded.ids, int(cuts.tokens[c]), int(cuts.tokens[c + 1]))
    ids = ids[ids < len(vocab)]
    lengths.append(len(ids))
    expected.append(float(np.dot(np.bincount(ids, minlength=len(vocab)), keep)))
  return np.array(lengths, np.int64), np.array(expected)


def _windows(config: TrainConfig, encoded: text.EncodedText, vocab: text.Vocab,
             path: Path) -> TrainingData:
  """The corpus in chunks of ``config.chunk_tokens`` (0: one chunk, held on the device for
  the whole run); each is read from the memory-mapped encoding when its turn comes."""
  cuts = chunks.cut(encoded.line_lengths, config.chunk_tokens)
  keep = corpus_lib.subsample_keep_prob(vocab.counts, config.subsample)
  lengths, expected = _chunk_stats(encoded, cuts, vocab, keep)
  # Every chunk is padded to the largest share (padding has sentence -1, never kept).
  size = int(np.max(lengths)) // jax.process_count()
  keep_prob = jnp.asarray(keep)

  def load(chunk: int) -> corpus_lib.DeviceCorpus:
    ids, sentence = process_share(*chunks.host_chunk(
        encoded.ids, encoded.line_lengths, cuts, chunk, len(vocab)))
    return corpus_lib.DeviceCorpus(jnp.asarray(chunks.pad(ids, size, 0), jnp.int32),
                                   jnp.asarray(chunks.pad(sentence, size, -1), jnp.int32),
                                   keep_prob)

  if cuts.count == 1:
    load = functools.cache(load)  # the whole corpus: read once, kept on the device
  # A streamed run holds two chunks at once: the one training and the next, being prepared.
  held = size * (1 if cuts.count == 1 else 2)
  return TrainingData(vocab, Parts(load, cuts.sizes(), expected), held)


def _cooccurrence(config: TrainConfig, encoded: text.EncodedText, vocab: text.Vocab,
                  path: Path) -> TrainingData:
  """The corpus's co-occurrence counts (w2vjax.cooccurrence), from the cache if counted
  before with the same settings; every process counts the whole corpus, one chunk of
  ``config.chunk_tokens`` (cut at line ends) at a time, so a corpus larger than memory is
  never read whole: only its counts are held."""
  cuts = chunks.cut(encoded.line_lengths, config.chunk_tokens)
  keep = (corpus_lib.subsample_keep_prob(vocab.counts, config.subsample)
          if config.subsample > 0 else None)

  def parts():
    for c in range(cuts.count):
      ids, sentence = chunks.host_chunk(encoded.ids, encoded.line_lengths, cuts, c,
                                        len(vocab))
      if keep is not None:
        # One chunk draws with the seed itself, as an unchunked count always has.
        seed = config.seed if cuts.count == 1 else [config.seed, c]
        ids, sentence = cooccurrence.subsample_tokens(ids, sentence, keep, seed)
      yield ids, sentence

  def counter():
    return cooccurrence.count_chunks(parts(), len(vocab), config.window,
                                     config.weighting, config.symmetric)

  key = cooccurrence.settings_key(text.cache_key(path), len(vocab), config.window,
                                  config.weighting, config.symmetric, config.subsample,
                                  config.seed, cuts.count)
  matrix = cooccurrence.load_or_count(config.cache_dir or text.default_cache_dir(), key, counter)
  if matrix.nnz == 0:
    raise InputError(f"corpus {config.corpus} has no two words within window={config.window} "
                     "of each other in one sentence")
  return TrainingData(vocab, whole(matrix, matrix.nnz, float(matrix.nnz)),
                      matrix.nnz // jax.process_count(), "cooccurrence")


_PREPARE = {"windows": _windows, "cooccurrence": _cooccurrence}


def prepare_data(config: TrainConfig) -> TrainingData:
  """Reads (or loads the cached encoding of) the corpus and prepares the kind of data the
  config's method trains on (``methods.data_kind``)."""
  path = datasets.resolve_corpus(config.corpus)
  encoded = encode.load_encoded(path, config.cache_dir or None, config.tokenize_workers)
  if encoded.num_tokens == 0:
    raise InputError(f"corpus {config.corpus} holds no words")
  vocab = encoded.vocab.truncate(config.min_count, config.max_vocab or None)
  return _PREPARE[methods.data_kind(config)](config, encoded, vocab, path)
