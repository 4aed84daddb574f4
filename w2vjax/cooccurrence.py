"""Co-occurrence counts: the data of the count-based methods and of GloVe.

``count`` turns an encoded corpus (word ids and sentence ids, as w2vjax.data reads them)
into a sparse [V, V] matrix X: X[w, c] sums a weight for every occurrence of the context
word c within ``window`` words of w in the same sentence. The corpus is counted in chunks,
each chunk's pairs summed into a CSR matrix before they are added to the total, so memory
is bounded by the number of distinct pairs and a chunk's pairs, not by the corpus;
``count_chunks`` takes the corpus itself in parts (w2vjax.data reads a streamed corpus's
chunks one at a time).
``load_or_count`` caches the result beside the encoded corpus.

GloVe trains on the non-zero entries: ``make_epoch`` shuffles them for an epoch and puts
this process's share on the device, ``batch_from_bits`` cuts the next batch from it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse

from w2vjax import io_utils
from w2vjax.corpus import padded_length

WEIGHTINGS = ("dynamic", "harmonic", "uniform")
CHUNK_TOKENS = 1 << 21  # tokens per chunk: about 2 * window * 8M pairs at once
CACHE_VERSION = 1


def distance_weights(window: int, weighting: str) -> np.ndarray:
  """The weight of a context word at distance d = 1..window.

  "dynamic" is word2vec's dynamic window in expectation: a window b ~ U{1..m} reaches
  distance d with probability (m - d + 1) / m. "harmonic" is GloVe's 1/d, "uniform" 1.
  """
  d = np.arange(1, window + 1, dtype=np.float64)
  if weighting == "dynamic":
    return ((window - d + 1) / window).astype(np.float32)
  if weighting == "harmonic":
    return (1.0 / d).astype(np.float32)
  if weighting == "uniform":
    return np.ones(window, np.float32)
  raise ValueError(f"unknown weighting {weighting!r}; choose one of {WEIGHTINGS}")


def subsample_tokens(ids: np.ndarray, sentence: np.ndarray, keep_prob: np.ndarray,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
  """Drops each token with word2vec's subsampling probability before counting; dropped
  words vanish from their sentence, so windows reach past them (as in training)."""
  rng = np.random.default_rng(seed)
  keep = rng.random(len(ids), dtype=np.float32) < keep_prob[ids]
  return ids[keep], sentence[keep]


def _chunk_matrix(ids: np.ndarray, sentence: np.ndarray, start: int, stop: int,
                  weights: np.ndarray, symmetric: bool, size: int) -> scipy.sparse.csr_matrix:
  """The counts of the pairs whose earlier word is at a position in [start, stop)."""
  rows, cols, values = [], [], []
  n = len(ids)
  for d, weight in enumerate(weights, start=1):
    end = min(stop, n - d)
    if end <= start:
      break
    left, right = slice(start, end), slice(start + d, end + d)
    same = sentence[left] == sentence[right]
    # The later word's left context is the earlier word (GloVe's asymmetric counts).
    rows.append(ids[right][same])
    cols.append(ids[left][same])
    values.append(np.full(int(same.sum()), weight, np.float32))
  if not rows:
    return scipy.sparse.csr_matrix((size, size), dtype=np.float32)
  r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(values)
  if symmetric:
    r, c, v = np.concatenate([r, c]), np.concatenate([c, r]), np.concatenate([v, v])
  matrix = scipy.sparse.coo_matrix((v, (r, c)), shape=(size, size)).tocsr()
  matrix.sum_duplicates()
  return matrix


def count(ids: np.ndarray, sentence: np.ndarray, vocab_size: int, window: int,
          weighting: str = "dynamic", symmetric: bool = True,
          chunk_tokens: int = CHUNK_TOKENS) -> scipy.sparse.csr_matrix:
  """X [V, V] float32: weighted counts of (word, context) pairs within ``window`` words.

  ``symmetric`` counts context words on both sides; otherwise only those to the left of
  each word (GloVe's ``-symmetric 0``).
  """
  weights = distance_weights(window, weighting)
  ids = np.asarray(ids, np.int32)
  sentence = np.asarray(sentence)
  return _summed((_chunk_matrix(ids, sentence, start, start + chunk_tokens, weights,
                                symmetric, vocab_size)
                  for start in range(0, len(ids), chunk_tokens)), vocab_size)


def count_chunks(parts: Iterable[tuple[np.ndarray, np.ndarray]], vocab_size: int,
                 window: int, weighting: str = "dynamic", symmetric: bool = True
                 ) -> scipy.sparse.csr_matrix:
  """``count`` of a corpus given as parts (ids, sentence index) that no window crosses
  (chunks cut at line ends), summed part by part: one part is held at a time."""
  return _summed((count(ids, sentence, vocab_size, window, weighting, symmetric)
                  for ids, sentence in parts), vocab_size)


def _summed(matrices: Iterable[scipy.sparse.csr_matrix], size: int
            ) -> scipy.sparse.csr_matrix:
  """The sum of [size, size] matrices made one at a time, its column indices sorted."""
  total = scipy.sparse.csr_matrix((size, size), dtype=np.float32)
  for matrix in matrices:
    total = total + matrix
  total.sort_indices()
  return total


def settings_key(corpus_key: str, vocab_size: int, window: int, weighting: str,
                 symmetric: bool, subsample: float, seed: int, chunks: int = 1) -> str:
  """A short hash naming a cached count: the corpus and every setting that changes X
  (the number of chunks changes the subsampling's draws)."""
  settings = [CACHE_VERSION, corpus_key, vocab_size, window, weighting, symmetric,
              subsample, seed if subsample > 0 else 0]
  ident = json.dumps(settings + ([chunks] if chunks > 1 and subsample > 0 else []))
  return hashlib.sha256(ident.encode()).hexdigest()[:16]


def load_or_count(cache_dir: str | Path, key: str, counter) -> scipy.sparse.csr_matrix:
  """The cached matrix named ``key``, or ``counter()`` written there atomically."""
  entry = Path(cache_dir) / f"cooccurrence.{key}.npz"
  if entry.is_file():
    return scipy.sparse.load_npz(entry).tocsr()
  matrix = counter()
  entry.parent.mkdir(parents=True, exist_ok=True)
  with io_utils.atomic_open(entry, "wb") as f:
    scipy.sparse.save_npz(f, matrix)
  return matrix


class Epoch(NamedTuple):
  """An epoch's non-zero entries (i, j, X_ij) in shuffled order, padded to whole batches."""

  rows: jax.Array  # int32 [N]
  cols: jax.Array  # int32 [N]
  counts: jax.Array  # float32 [N]
  num_kept: jax.Array  # int32 []: entries before the padding


class Cooccurrences(NamedTuple):
  """A batch of entries; the batch axis leads, so it splits across devices along axis 0."""

  rows: jax.Array  # int32 [B]
  cols: jax.Array  # int32 [B]
  counts: jax.Array  # float32 [B]
  mask: jax.Array  # float32 [B]: 0 for padding


def make_epoch(key: jax.Array, matrix: scipy.sparse.csr_matrix, process_batch: int) -> Epoch:
  """The entries of ``matrix`` shuffled with ``key``: this process's contiguous share of
  one permutation that every process draws alike, so the shares are disjoint."""
  rng = np.random.default_rng(np.asarray(jax.random.key_data(key)))
  share = matrix.nnz // jax.process_count()
  order = rng.permutation(matrix.nnz)[jax.process_index() * share:][:share]
  rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int32), np.diff(matrix.indptr))
  size = padded_length(share, process_batch)

  def padded(values):
    out = np.zeros(size, values.dtype)
    out[:share] = values[order]
    return jnp.asarray(out)

  return Epoch(padded(rows), padded(matrix.indices.astype(np.int32)),
               padded(matrix.data.astype(np.float32)), jnp.asarray(share, jnp.int32))


def batch_from_bits(bits: jax.Array, epoch: Epoch, start: jax.Array) -> Cooccurrences:
  """The entries ``start : start + B`` of the epoch, B = ``bits.shape[0]`` (the entries
  are already shuffled, so the random words go unused)."""
  size = bits.shape[0]

  def take(values):
    return jax.lax.dynamic_slice_in_dim(values, start, size)

  mask = (start + jnp.arange(size) < epoch.num_kept).astype(jnp.float32)
  return Cooccurrences(take(epoch.rows), take(epoch.cols), take(epoch.counts), mask)
