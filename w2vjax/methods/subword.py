"""Subword skip-gram (Bojanowski et al. 2017, fastText): a word's input vector is the mean
of its own row and the rows of its character n-grams, hashed into ``buckets`` rows.

The input table u holds the vocabulary's rows, then the n-gram buckets' rows. In
fastText's orientation the centre word's subword mean predicts each context word (a mean
per centre, not per context word, so a window gathers its n-grams once); every row of the
mean receives the mean's whole gradient, as in fastText's skip-gram.
"""

from __future__ import annotations

from pathlib import Path

import jax.numpy as jnp
import numpy as np

from w2vjax import subwords
from w2vjax.corpus import Batch
from w2vjax.methods.skipgram import centre_inputs

LEARNING_RATE = 0.05  # fastText's default for skip-gram


def ngram_constants(table: tuple[np.ndarray, np.ndarray], rows: int) -> dict:
  """Each word's rows of u (its own, then its n-grams' ``V + bucket``) and their weights,
  from ``subwords.ngram_table``'s (ids, counts); ``rows`` is u's length."""
  ids, counts = table
  weights = (np.arange(ids.shape[1])[None, :] < counts[:, None]).astype(np.float32)
  return {"ngrams": jnp.asarray(np.minimum(ids, rows - 1), jnp.int32),
          "ngram_weights": jnp.asarray(weights)}


def subword_inputs(params: dict, constants: dict, batch: Batch):
  return centre_inputs(params, constants["ngrams"][batch.targets],
                       constants["ngram_weights"][batch.targets], batch)


def model(params: dict, vocab, minn: int, maxn: int, buckets: int) -> subwords.SubwordModel:
  return subwords.SubwordModel(tuple(vocab.words), np.asarray(params["u"], np.float32),
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


def subword_parts(vocab, minn: int, maxn: int, buckets: int):
  """The subword method's fields from one n-gram table: ``input_rows`` (u holds the words'
  rows, then the buckets'), ``exporters`` (embeddings, save_model), ``constants`` and
  ``row_order``.

  ``embeddings`` gives the vocabulary's composed vectors and ``save_model`` writes
  model.npz with the n-gram table (for out-of-vocabulary words: w2vjax.print_vectors,
  w2vjax.evaluate). Hashing every n-gram of a large vocabulary takes seconds, so the table
  the step reads is also the one the export composes vectors with. ``row_order`` ranks u's
  rows by use (``rows_by_use``), for devices that train their own copies of u.
  """
  table = subwords.ngram_table(list(vocab.words), minn, maxn, buckets)
  rows = len(vocab.words) + buckets

  def embeddings(params, vocab):
    return model(params, vocab, minn, maxn, buckets).embeddings(table)

  def save_model(params, vocab, workdir):
    model(params, vocab, minn, maxn, buckets).save(Path(workdir) / subwords.MODEL_FILENAME)

  return {"input_rows": rows, "exporters": (embeddings, save_model),
          "constants": ngram_constants(table, rows),
          "row_order": {"u": rows_by_use(table, vocab.counts, rows)}}
