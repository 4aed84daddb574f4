"""Count-based word vectors (Levy, Goldberg and Dagan 2015): the PPMI of co-occurrence
counts, used as sparse rows or reduced by a truncated SVD.

``ppmi`` turns counts X [V, C] into positive PMI with context distribution smoothing and
an optional shift. ``SparseEmbeddings`` evaluates its rows as |C|-dimensional vectors
(w2vjax.evaluation takes them as it takes ``Embeddings``). ``svd_embeddings`` gives dense
vectors U S^p (plus V S^p: w + c) from a truncated SVD, by SciPy's svds (PROPACK) on the
CPU or by a randomized SVD in JAX that runs on an accelerator.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse
import scipy.sparse.linalg
from jax.experimental import sparse as jsparse

from w2vjax import io_utils, text
from w2vjax.embeddings import Embeddings
from w2vjax.errors import InputError

SVD_SOLVERS = ("scipy", "jax")
SPARSE_VECTORS_FILENAME = "vectors.npz"
SCIPY_SVDS_SOLVER = "propack"  # wiki9m PPMI (67k^2, d 100): 15 s; arpack 21 s, lobpcg 116 s
# Randomized SVD: PPMI's spectrum is flat (wiki9m: s_100 / s_2 = 0.26), so it needs many
# test vectors and power iterations. The top 100 singular values' largest relative error
# on wiki9m at d 100: 3e-2 with (50, 4), 7e-3 with (50, 8), 6e-3 with (100, 6), same cost.
OVERSAMPLE = 100  # test vectors beyond dim
POWER_ITERATIONS = 6


def ppmi(counts: scipy.sparse.spmatrix, cds: float = 0.75, shift: float = 1.0
         ) -> scipy.sparse.csr_matrix:
  """max(0, PMI(w, c) - log shift) [V, C] float32, with the zeros left out.

  PMI(w, c) = log(X_wc * sum_c' #c'^cds / (#w * #c^cds)), #w and #c the row and column
  sums of X. ``cds`` < 1 smooths the context distribution (1: plain PMI); ``shift`` is
  SGNS's k (1: no shift). Only the stored entries are computed: an absent pair's PMI is
  -inf, so it stays absent, and an empty row or column has no entry to divide by zero.
  """
  if cds <= 0:
    raise InputError(f"cds must be > 0, got {cds}")
  if shift <= 0:
    raise InputError(f"shift must be > 0, got {shift}")
  counts = scipy.sparse.csr_matrix(counts)
  counts.sum_duplicates()
  if counts.nnz and counts.data.min() < 0:
    raise InputError("co-occurrence counts must be >= 0")
  data = counts.data.astype(np.float64)  # sums of millions of counts: float32 drifts
  row_sums = np.asarray(counts.sum(axis=1, dtype=np.float64)).ravel()
  col_sums = np.asarray(counts.sum(axis=0, dtype=np.float64)).ravel()
  log_context_total = np.log(np.sum(col_sums ** cds))
  rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
  with np.errstate(divide="ignore"):  # explicit zero counts: log 0 = -inf, dropped below
    pmi = (np.log(data) - np.log(row_sums[rows]) - cds * np.log(col_sums[counts.indices])
           + log_context_total - np.log(shift))
  keep = pmi > 0
  indptr = np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=counts.shape[0]))])
  return scipy.sparse.csr_matrix(
      (pmi[keep].astype(np.float32), counts.indices[keep], indptr), shape=counts.shape)


def svd_embeddings(matrix: scipy.sparse.spmatrix, dim: int, eig_p: float = 0.5,
                   add_context: bool = False, solver: str = "scipy", seed: int = 0
                   ) -> np.ndarray:
  """Word vectors [V, dim] float32 from the truncated SVD M ~ U S V^T: U S^eig_p.

  ``add_context`` returns U S^p + V S^p (Levy et al.'s w + c; M must be square). The
  singular values are in decreasing order and each singular pair's sign is fixed (the
  largest entry of u positive), so solvers and seeds differ only by their approximation
  error. ``seed`` draws the solver's random vectors: a fixed seed gives fixed vectors.
  """
  if solver not in SVD_SOLVERS:
    raise InputError(f"unknown svd solver {solver!r}; choose one of {SVD_SOLVERS}")
  if not 0 < dim < min(matrix.shape):
    raise InputError(f"svd dim must be in 1..{min(matrix.shape) - 1}, got {dim}")
  if add_context and matrix.shape[0] != matrix.shape[1]:
    raise InputError(f"add_context needs a square matrix, got shape {matrix.shape}")
  truncated_svd = _scipy_svd if solver == "scipy" else _jax_svd
  u, s, v = truncated_svd(scipy.sparse.csr_matrix(matrix, dtype=np.float32), dim, seed)
  u, s, v = _canonical(u, s, v)
  scale = s ** eig_p
  vectors = u * scale
  if add_context:
    vectors = vectors + v * scale
  return vectors.astype(np.float32)


def _canonical(u: np.ndarray, s: np.ndarray, v: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """The singular triples by decreasing s, each flipped so that its u's largest entry
  is positive: solvers and seeds that agree up to sign then give the same vectors."""
  order = np.argsort(-s, kind="stable")
  u, s, v = u[:, order], s[order], v[:, order]
  signs = np.sign(u[np.argmax(np.abs(u), axis=0), np.arange(u.shape[1])])
  signs[signs == 0] = 1
  return u * signs, s, v * signs


def _scipy_svd(matrix: scipy.sparse.csr_matrix, dim: int, seed: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """U [V, dim], S [dim], V [C, dim] by PROPACK, its random vectors drawn from ``seed``."""
  u, s, vt = scipy.sparse.linalg.svds(matrix, k=dim, solver=SCIPY_SVDS_SOLVER,
                                      rng=np.random.default_rng(seed))
  return u, s, vt.T


def _jax_svd(matrix: scipy.sparse.csr_matrix, dim: int, seed: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """U, S, V by ``randomized_svd`` on the default device."""
  rank = min(dim + OVERSAMPLE, min(matrix.shape))
  on_device = jsparse.BCSR.from_scipy_sparse(matrix)
  # Products with M^T use its own CSR: a transposed BCSR has no fast product.
  transpose = jsparse.BCSR.from_scipy_sparse(matrix.T.tocsr())
  u, s, v = randomized_svd(on_device, transpose, jax.random.key(seed), rank,
                           POWER_ITERATIONS)
  return tuple(np.asarray(x, np.float64)[..., :dim] for x in (u, s, v))


@functools.partial(jax.jit, static_argnames=("rank", "power_iterations"))
def randomized_svd(matrix: jsparse.BCSR, transpose: jsparse.BCSR, key: jax.Array, rank: int,
                   power_iterations: int) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Halko, Martinsson and Tropp (2011)'s randomized SVD of M [m, n], given M and M^T.

  Q [m, rank] spans the range of (M M^T)^q M G for Gaussian G, re-orthonormalised after
  every product (their Algorithm 4.4) so that float32 keeps the small directions; then
  M ~ Q (Q^T M) and the small factor's SVD gives U [m, rank], S [rank], V [n, rank].
  """
  gaussian = jax.random.normal(key, (matrix.shape[1], rank), jnp.float32)
  q, _ = jnp.linalg.qr(matrix @ gaussian)
  for _ in range(power_iterations):
    z, _ = jnp.linalg.qr(transpose @ q)
    q, _ = jnp.linalg.qr(matrix @ z)
  # B^T = M^T Q [n, rank] = Q_b R: the SVD of the small R gives B's, hence M's.
  q_b, r = jnp.linalg.qr(transpose @ q)
  r_u, s, r_vt = jnp.linalg.svd(r)
  return q @ r_vt.T, s, q_b @ r_u


class SparseEmbeddings:
  """Sparse rows as word vectors: ``matrix[i]`` (scipy CSR [V, C]) is the vector of
  ``words[i]``. w2vjax.evaluation takes these as it takes ``Embeddings``, except for
  classification; its unit rows stay sparse, so C may be the whole vocabulary."""

  def __init__(self, words: tuple[str, ...], matrix: scipy.sparse.spmatrix):
    self.words = tuple(words)
    self.matrix = scipy.sparse.csr_matrix(matrix, dtype=np.float32)
    if self.matrix.shape[0] != len(self.words):
      raise ValueError(f"{len(self.words)} words but a matrix of shape {self.matrix.shape}")
    self.index = {w: i for i, w in enumerate(self.words)}
    self._unit = None

  # Case folding exactly as for dense vectors: it reads nothing but ``words``.
  folded_index = Embeddings.folded_index

  def __len__(self) -> int:
    return len(self.words)

  def __contains__(self, word: str) -> bool:
    return word in self.index

  @property
  def dim(self) -> int:
    return self.matrix.shape[1]

  @property
  def unit(self) -> scipy.sparse.csr_matrix:
    """Rows scaled to unit length (an empty row stays empty), still sparse."""
    if self._unit is None:
      norms = np.sqrt(np.asarray(self.matrix.multiply(self.matrix).sum(axis=1))).ravel()
      scale = 1.0 / np.maximum(norms, 1e-12)
      self._unit = scipy.sparse.csr_matrix(self.matrix.multiply(scale[:, None]),
                                           dtype=np.float32)
    return self._unit

  def export(self, workdir: str | os.PathLike) -> None:
    """A run's vector file: vectors.npz, the rows as scipy CSR arrays beside the words
    (|V|-dimensional rows would not fit word2vec's dense text or binary formats)."""
    with io_utils.atomic_open(Path(workdir) / SPARSE_VECTORS_FILENAME, "wb") as f:
      np.savez(f, data=self.matrix.data, indices=self.matrix.indices,
               indptr=self.matrix.indptr, shape=np.asarray(self.matrix.shape),
               words=text.pack_words(self.words))

  @classmethod
  def load(cls, path: str | os.PathLike) -> SparseEmbeddings:
    """Reads what ``export`` wrote."""
    if not Path(path).is_file():
      raise FileNotFoundError(f"sparse rows file not found: {path}")
    with np.load(path) as z:
      missing = {"data", "indices", "indptr", "shape", "words"} - set(z.files)
      if missing:
        raise InputError(f"{path} holds no sparse rows of a PPMI run (no "
                         f"{', '.join(sorted(missing))})")
      matrix = scipy.sparse.csr_matrix((z["data"], z["indices"], z["indptr"]),
                                       shape=tuple(z["shape"]))
      return cls(text.unpack_words(z["words"]), matrix)
