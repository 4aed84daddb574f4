"""Subword skip-gram (Bojanowski et al. 2017, fastText): a word's input vector is the mean
of its own row and the rows of its character n-grams, hashed into ``buckets`` rows.

The input table u holds the vocabulary's rows, then the n-gram buckets' rows. Either
orientation of skip-gram (w2vjax.methods.skipgram) takes the subword mean as a word's
input: word2vec.c's, each context word's mean predicts the centre with the window's
shared noise words, or fastText's, the centre's mean predicts each context word with K
noise words per pair. Every row of a mean receives the mean's whole gradient, as in
fastText's skip-gram.

A word holds 1 to ``W`` rows (83 on wikipedia-en-9m) but 17 on average over the kept
tokens, so in word2vec.c's orientation, 2m input words per centre, a step packs its
words' rows one after another (``packed_rows``) rather than padding each word to ``W``;
with centres in runs of neighbours (``centre_order="runs"``) it packs each distinct word
of the overlapping windows once (``distinct_words``).
"""

from __future__ import annotations

import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from w2vjax import subwords
from w2vjax.corpus import Batch, Order, context_positions, subsample_keep_prob
from w2vjax.methods import skipgram
from w2vjax.methods.base import Inputs, mean_of_rows

LEARNING_RATE = 0.05  # fastText's default for skip-gram
# A step's room for rows: this many standard deviations above the mean number of rows of
# its input words, were every window slot used (BUILD_NOTES, "Subwords in word2vec.c's
# orientation").
BUDGET_DEVIATIONS = 10.0


def ngram_constants(table: tuple[np.ndarray, np.ndarray], place: np.ndarray) -> dict:
  """Each word's rows of u (its own, then its n-grams' ``V + bucket``, stored at
  ``place[row]``) and how many, from ``subwords.ngram_table``'s (ids, counts)."""
  ids, counts = table
  return {"ngrams": jnp.asarray(place[np.minimum(ids, len(place) - 1)], jnp.int32),
          "ngram_counts": jnp.asarray(counts, jnp.int32)}


def rows_budget(counts: np.ndarray, word_counts: np.ndarray, sample: float):
  """``budget(tokens)``: the rows a step packs for the input words at ``tokens`` corpus
  positions, ``BUDGET_DEVIATIONS`` standard deviations above the mean rows of that many
  kept tokens (a word holds ``counts`` rows; tokens weighted by the words' corpus counts
  after subsampling), and never more than ``tokens`` times the most rows a word holds."""
  weights = np.asarray(word_counts, np.float64) * subsample_keep_prob(word_counts, sample)
  held = np.asarray(counts, np.float64)
  mean = float(np.average(held, weights=weights))
  deviation = float(np.sqrt(np.average((held - mean) ** 2, weights=weights)))
  widest = int(held.max())

  def budget(tokens: int) -> int:
    return min(tokens * widest,
               math.ceil(tokens * mean + BUDGET_DEVIATIONS * deviation * math.sqrt(tokens)))
  return budget


def packed_rows(constants: dict, words: jax.Array, used: jax.Array, budget: int):
  """The rows of u that the input vectors of ``words`` [M] average, packed one word after
  another into ``budget`` places: (ids, slots, weights) [budget] for ``Inputs``, and
  which words fit [M]. A word with ``used`` 0 takes no place. Should the words hold more
  rows than ``budget``, the last ones are left out (``fits`` 0) and their pairs are not
  trained in this step; ``rows_budget`` makes that a 10-deviation event."""
  need = jnp.where(used > 0, constants["ngram_counts"][words], 0)
  fits = jnp.cumsum(need) <= budget
  need = jnp.where(fits, need, 0)
  ends = jnp.cumsum(need)
  places = jnp.arange(budget)
  # A place's slot is the number of words whose rows end at or before it.
  slots = jnp.cumsum(jnp.zeros(budget, jnp.int32).at[ends].add(1, mode="drop"))
  slots = jnp.minimum(slots, words.shape[0] - 1)
  filled = places < ends[-1]
  column = jnp.where(filled, places - (ends - need)[slots], 0)
  ids = constants["ngrams"][words[slots], column]
  return ids, slots, filled.astype(jnp.float32), fits


def distinct_words(words: jax.Array, used: jax.Array):
  """The distinct used words of ``words`` [M]: (distinct [M], each used word once, in
  increasing order, then 0; present [M], 1 where ``distinct`` holds a word; sources
  [M], the place in ``distinct`` of each word, unused ones after the used)."""
  count = words.shape[0]
  keyed = jnp.where(used > 0, words, jnp.iinfo(jnp.int32).max)
  order = jnp.argsort(keyed)
  ranked = keyed[order]
  first = jnp.concatenate([jnp.ones(1, bool), ranked[1:] != ranked[:-1]])
  group = jnp.cumsum(first, dtype=jnp.int32) - 1
  sources = jnp.zeros(count, jnp.int32).at[order].set(group)
  real = ranked != jnp.iinfo(jnp.int32).max
  distinct = jnp.zeros(count, jnp.int32).at[group].set(jnp.where(real, ranked, 0))
  present = (jnp.arange(count) < jnp.sum(first & real)).astype(jnp.int32)
  return distinct, present, sources


def context_encoder(budget, order: Order):
  """word2vec.c's orientation: each context word's subword mean predicts the centre.

  Where the visiting ``order`` makes neighbouring centres' windows overlap ("runs"), a
  word in several context slots of a step is one mean: its rows are read and updated
  once, and the step's room for rows is that of the most positions the windows can cover
  (``corpus.context_positions``). Elsewhere words seldom repeat within a step, and each
  slot is its own mean (finding the distinct words costs more than it saves)."""
  def encode(params: dict, constants: dict, batch: Batch) -> Inputs:
    b, c = batch.contexts.shape
    positions = context_positions(b, c, order)
    words, used = batch.contexts.reshape(-1), batch.mask.reshape(-1)
    sources = None
    if positions < b * c:
      words, used, sources = distinct_words(words, used)
    ids, slots, weights, fits = packed_rows(constants, words, used, budget(positions))
    means = mean_of_rows(params["u"], ids, slots, weights, b * c)
    if sources is not None:
      means, fits = means[sources], fits[sources]
    pairs = batch.mask * fits.reshape(b, c)
    return Inputs("u", means.reshape(b, c, -1), ids, slots, weights,
                  batch.targets[:, None], pairs[:, :, None], sources)
  return encode


def centre_inputs(params: dict, constants: dict, batch: Batch) -> Inputs:
  """fastText's orientation: the centre word's subword mean predicts each context word.
  One word per centre: its rows padded to ``W`` (as packed rows they trained no faster)."""
  ids = constants["ngrams"][batch.targets]
  weights = (jnp.arange(ids.shape[1]) < constants["ngram_counts"][batch.targets][:, None])
  return skipgram.centre_inputs(params, ids, weights.astype(jnp.float32), batch)


def model(params: dict, vocab, minn: int, maxn: int, buckets: int,
          place: np.ndarray) -> subwords.SubwordModel:
  """The model of ``params``, whose u stores row r at ``place[r]``, in fastText's order
  of rows (the vocabulary's, then the buckets')."""
  return subwords.SubwordModel(tuple(vocab.words), np.asarray(params["u"], np.float32)[place],
                               minn, maxn, buckets)


def rows_by_use(table: tuple[np.ndarray, np.ndarray], word_counts: np.ndarray,
                rows: int) -> np.ndarray:
  """The rows of u that the words of ``subwords.ngram_table``'s (ids, counts) hold, most
  used first: a row's use is the summed corpus count of the words whose input vector
  averages it. Buckets that no word's n-gram hashes to are left out."""
  ids, lengths = table
  held = np.arange(ids.shape[1])[None, :] < lengths[:, None]
  weights = np.broadcast_to(np.asarray(word_counts, np.float64)[:, None], ids.shape)
  use = np.bincount(ids[held], weights[held], minlength=rows)
  order = np.argsort(-use, kind="stable")
  return order[:np.count_nonzero(use)].astype(np.int32)


def stored_order(used: np.ndarray, rows: int) -> np.ndarray:
  """The rows of u in the order the table stores them: the ``used`` rows (most used
  first: ``rows_by_use``), then the rows no word holds, in order.

  Hashed buckets scatter a step's rows over the whole 2M-row table; stored by use, the
  rows most steps read and write lie together at its start, which made a scatter-add of
  a step's rows 2.4 times faster on the CPU (BUILD_NOTES, "Subword rows stored by use").
  """
  rest = np.ones(rows, bool)
  rest[used] = False
  return np.concatenate([used, np.flatnonzero(rest)]).astype(np.int32)


def subword_parts(vocab, minn: int, maxn: int, buckets: int, sample: float,
                  by_context: bool, slots: int, batch_size: int, order: Order):
  """The subword method's fields from one n-gram table: ``encode`` (word2vec.c's
  orientation if ``by_context``, else fastText's; rows packed for a corpus subsampled at
  ``sample``), ``input_rows`` (u holds the words' rows, then the buckets'),
  ``rows_per_centre`` (the rows of u a step gathers per centre word, for the memory
  estimate, with ``slots`` context slots and ``batch_size`` centres a step, visited in
  ``order``: ``corpus.order_of(config)``), ``input_order`` (u's rows as stored:
  ``stored_order``), ``exporters`` (embeddings, save_model), ``constants`` and
  ``row_order``.

  ``embeddings`` gives the vocabulary's composed vectors and ``save_model`` writes
  model.npz with the n-gram table (for out-of-vocabulary words: w2vjax.print_vectors,
  w2vjax.evaluate). Hashing every n-gram of a large vocabulary takes seconds, so the table
  the step reads is also the one the export composes vectors with, in fastText's order of
  rows. u is stored by use, so ``row_order`` is its first rows, those some word holds,
  for devices that train their own copies of u.
  """
  table = subwords.ngram_table(list(vocab.words), minn, maxn, buckets)
  rows = len(vocab.words) + buckets
  used = rows_by_use(table, vocab.counts, rows)
  stored = stored_order(used, rows)
  place = np.empty(rows, np.int32)  # where u stores each row: stored's inverse
  place[stored] = np.arange(rows, dtype=np.int32)
  budget = rows_budget(table[1], vocab.counts, sample)
  encode = context_encoder(budget, order) if by_context else centre_inputs
  # u's rows a step gathers per centre word: its window's packed rows, or its own padded.
  held = (budget(context_positions(batch_size, slots, order)) / batch_size if by_context
          else table[1].max())

  def embeddings(params, vocab):
    return model(params, vocab, minn, maxn, buckets, place).embeddings(table)

  def save_model(params, vocab, workdir):
    model(params, vocab, minn, maxn, buckets, place).save(
        Path(workdir) / subwords.MODEL_FILENAME)

  return {"encode": encode, "input_rows": rows, "input_order": stored,
          "rows_per_centre": math.ceil(held), "exporters": (embeddings, save_model),
          "constants": ngram_constants(table, place),
          "row_order": {"u": np.arange(len(used), dtype=np.int32)}}
