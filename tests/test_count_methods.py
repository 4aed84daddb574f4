"""PPMI against a dense reference, both truncated SVD solvers against NumPy's SVD, and
sparse PPMI rows evaluated exactly as the same rows made dense."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse

from w2vjax import Embeddings, TrainConfig, ppmi
from w2vjax.errors import InputError
from w2vjax.evaluation import (_predict, evaluate, evaluate_analogy, evaluate_classification,
                               evaluate_similarity, format_table)
from w2vjax.ppmi import SparseEmbeddings, svd_embeddings


def _dense_ppmi(x: np.ndarray, cds: float, shift: float) -> np.ndarray:
  """The formula on the whole dense matrix, in float64."""
  words = x.sum(axis=1, keepdims=True)
  contexts = x.sum(axis=0, keepdims=True) ** cds
  with np.errstate(divide="ignore", invalid="ignore"):
    pmi = np.log(x * contexts.sum() / (words * contexts)) - np.log(shift)
  return np.where(x > 0, np.maximum(pmi, 0), 0)


def _random_counts(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
  """Skewed counts, a third of them zero, with an empty row and an empty column."""
  x = np.floor(rng.pareto(1.5, shape) * 3) * (rng.random(shape) > 0.33)
  x[4], x[:, 7] = 0, 0
  return x


@pytest.mark.parametrize("cds, shift", [(0.75, 1.0), (1.0, 1.0), (0.5, 5.0)])
def test_ppmi_matches_a_dense_reference(cds, shift):
  x = _random_counts(np.random.default_rng(0), (30, 30))
  got = ppmi.ppmi(scipy.sparse.csr_matrix(x.astype(np.float32)), cds, shift)
  assert got.dtype == np.float32 and got.shape == (30, 30)
  assert (got.data > 0).all()  # only positive values are stored
  want = _dense_ppmi(x, cds, shift)
  assert got.nnz == np.count_nonzero(want) > 40
  np.testing.assert_allclose(got.toarray(), want, rtol=1e-5)


def test_ppmi_of_a_rectangular_matrix_with_explicit_zeros():
  x = _random_counts(np.random.default_rng(1), (12, 20))
  stored = scipy.sparse.csr_matrix(x.astype(np.float32))
  stored.data[::5] = 0  # explicit zeros stay absent, not log 0
  got = ppmi.ppmi(stored)
  np.testing.assert_allclose(got.toarray(), _dense_ppmi(stored.toarray(), 0.75, 1.0),
                             rtol=1e-5)
  assert np.isfinite(got.data).all()


@pytest.mark.parametrize("kwargs, message", [
    (dict(cds=0.0), "cds must be > 0"),
    (dict(shift=0.0), "shift must be > 0"),
])
def test_ppmi_rejects_bad_settings(kwargs, message):
  with pytest.raises(InputError, match=message):
    ppmi.ppmi(scipy.sparse.eye(3, format="csr"), **kwargs)


def test_ppmi_rejects_negative_counts():
  with pytest.raises(InputError, match=">= 0"):
    ppmi.ppmi(scipy.sparse.csr_matrix(np.array([[1.0, -1.0], [0.0, 2.0]])))


DIM = 8


@pytest.fixture(scope="module")
def planted():
  """A sparse 200 x 200 matrix: a rank-12 signal with distinct singular values, plus noise."""
  rng = np.random.default_rng(2)
  u, _ = np.linalg.qr(rng.normal(size=(200, 12)))
  v, _ = np.linalg.qr(rng.normal(size=(200, 12)))
  signal = u @ np.diag(np.geomspace(60, 6, 12)) @ v.T
  dense = (signal + rng.normal(scale=0.05, size=(200, 200))) * (rng.random((200, 200)) < 0.6)
  matrix = scipy.sparse.csr_matrix(dense.astype(np.float32))
  u, s, vt = np.linalg.svd(matrix.toarray().astype(np.float64))
  return matrix, u[:, :DIM], s[:DIM], vt[:DIM].T


@pytest.mark.parametrize("solver", ppmi.SVD_SOLVERS)
def test_svd_singular_values_match_numpy(planted, solver):
  matrix, _, s, _ = planted
  w = svd_embeddings(matrix, DIM, eig_p=1.0, solver=solver)
  assert w.shape == (200, DIM) and w.dtype == np.float32
  # U has orthonormal columns, so the columns of U S have norms s, in decreasing order.
  np.testing.assert_allclose(np.linalg.norm(w, axis=0), s, rtol=1e-3)


@pytest.mark.parametrize("solver", ppmi.SVD_SOLVERS)
def test_svd_gives_the_best_rank_k_approximation(planted, solver):
  matrix, u, s, v = planted
  us = svd_embeddings(matrix, DIM, eig_p=1.0, solver=solver)
  unit_u = svd_embeddings(matrix, DIM, eig_p=0.0, solver=solver)
  v_got = svd_embeddings(matrix, DIM, eig_p=0.0, add_context=True, solver=solver) - unit_u
  best = (u * s) @ v.T
  np.testing.assert_allclose(us @ v_got.T, best, atol=1e-3 * np.abs(best).max())


@pytest.mark.parametrize("solver", ppmi.SVD_SOLVERS)
def test_add_context_adds_v_s_p(planted, solver):
  matrix, _, s, v = planted
  w = svd_embeddings(matrix, DIM, eig_p=0.5, solver=solver)
  w_c = svd_embeddings(matrix, DIM, eig_p=0.5, add_context=True, solver=solver)
  context = w_c - w
  # V's columns up to sign; the sign is u's (fixed by _canonical), so compare |V S^p|.
  np.testing.assert_allclose(np.abs(context), np.abs(v * np.sqrt(s)), atol=1e-3)


def test_the_solvers_agree_and_are_deterministic(planted):
  matrix = planted[0]
  by_scipy = svd_embeddings(matrix, DIM, add_context=True, solver="scipy")
  by_jax = svd_embeddings(matrix, DIM, add_context=True, solver="jax", seed=3)
  np.testing.assert_allclose(by_jax, by_scipy, atol=1e-3 * np.abs(by_scipy).max())
  np.testing.assert_array_equal(
      svd_embeddings(matrix, DIM, add_context=True, solver="jax", seed=3), by_jax)
  np.testing.assert_array_equal(
      svd_embeddings(matrix, DIM, add_context=True, solver="scipy"), by_scipy)


@pytest.mark.parametrize("shape, kwargs, message", [
    ((5, 5), dict(dim=2, solver="lapack"), "unknown svd solver 'lapack'"),
    ((5, 5), dict(dim=0), "svd dim must be in 1..4, got 0"),
    ((5, 5), dict(dim=5), "svd dim must be in 1..4, got 5"),
    ((5, 6), dict(dim=2, add_context=True), "add_context needs a square matrix"),
])
def test_svd_rejects_bad_settings(shape, kwargs, message):
  with pytest.raises(InputError, match=message):
    svd_embeddings(scipy.sparse.random(*shape, density=0.5, format="csr", rng=0), **kwargs)


def _rows_and_words(rng: np.random.Generator) -> tuple[scipy.sparse.csr_matrix, tuple]:
  """PPMI rows of 60 words over 60 contexts; "W3" and "W5" are rarer case forms of w3 and
  w5, and word 9 has an empty row (a zero vector)."""
  counts = _random_counts(rng, (60, 60))
  counts[9] = 0
  words = [f"w{i}" for i in range(60)]
  words[50], words[51] = "W3", "W5"
  return ppmi.ppmi(scipy.sparse.csr_matrix(counts.astype(np.float32))), tuple(words)


@pytest.fixture
def sparse_and_dense():
  matrix, words = _rows_and_words(np.random.default_rng(4))
  return SparseEmbeddings(words, matrix), Embeddings(words, matrix.toarray())


def test_sparse_unit_rows(sparse_and_dense):
  sparse, dense = sparse_and_dense
  assert scipy.sparse.issparse(sparse.unit) and sparse.dim == 60 and len(sparse) == 60
  np.testing.assert_allclose(sparse.unit.toarray(), dense.unit, rtol=1e-6, atol=1e-7)
  assert sparse.unit[9].nnz == 0
  assert sparse.folded_index(55) == dense.folded_index(55)


def test_sparse_similarity_equals_dense(sparse_and_dense, tmp_path):
  sparse, dense = sparse_and_dense
  rng = np.random.default_rng(5)
  lines = [f"w{i}\tW{j}\t{rng.uniform(0, 10):.2f}"
           for i, j in rng.integers(0, 50, (40, 2))]
  lines += ["w1\tw9\t3.0", "w2\tunknown\t1.0"]
  (tmp_path / "sim.txt").write_text("\n".join(lines))
  got, want = (evaluate_similarity(e, tmp_path / "sim.txt") for e in (sparse, dense))
  assert got["pairs"] == 41 and got["oov_pairs"] == 1
  np.testing.assert_allclose(got.pop("spearman"), want.pop("spearman"), rtol=1e-6)
  assert got == want


def test_sparse_similarity_rejects_oov_vectors(sparse_and_dense, tmp_path):
  (tmp_path / "sim.txt").write_text("w1\tw2\t1.0\n")
  with pytest.raises(InputError, match="oov_vector"):
    evaluate_similarity(sparse_and_dense[0], tmp_path / "sim.txt", oov_vector=lambda w: None)


@pytest.mark.parametrize("methods", [("3cosadd",), ("3cosadd", "3cosmul")])
def test_sparse_analogy_answers_equal_dense(sparse_and_dense, methods):
  sparse, dense = sparse_and_dense
  ids = np.random.default_rng(6).integers(0, 50, (300, 4)).astype(np.int32)
  fold = np.array([dense.folded_index()[w.lower()] for w in dense.words], np.int32)
  got = _predict(sparse.unit, ids, fold, methods)
  want = _predict(dense.unit, ids, fold, methods)
  assert got.keys() == want.keys() == set(methods)
  for method in methods:
    assert len(set(want[method].tolist())) > 20  # answers vary: the test discriminates
    np.testing.assert_array_equal(got[method], want[method])


def test_sparse_analogy_accuracy_equals_dense(sparse_and_dense, tmp_path):
  sparse, dense = sparse_and_dense
  rng = np.random.default_rng(7)
  abc = rng.integers(0, 50, (200, 3))
  index = dense.folded_index(50)
  fold = np.array([index[w.lower()] for w in dense.words[:50]], np.int32)
  # Half the questions are answered by dense 3CosAdd, half at random: accuracy near 50%.
  answers = _predict(dense.unit[:50], np.pad(abc, ((0, 0), (0, 1))), fold, ("3cosadd",))
  d = np.where(np.arange(200) % 2 == 0, answers["3cosadd"], rng.integers(0, 50, 200))
  lines = [": capital-world"] + [" ".join(dense.words[i].upper() for i in (*q, w))
                                 for q, w in zip(abc[:100], d[:100])]
  lines += [": gram1-adjective-to-adverb"] + [" ".join(dense.words[i] for i in (*q, w))
                                             for q, w in zip(abc[100:], d[100:])]
  (tmp_path / "q.txt").write_text("\n".join(lines + ["w1 w2 w3 nowhere"]))
  got, want = (evaluate_analogy(e, tmp_path / "q.txt", restrict_vocab=50)
               for e in (sparse, dense))
  assert got == want
  assert got["oov_questions"] == 1 and 0.4 < got["3cosadd"] < 0.9


def test_evaluate_skips_classification_for_sparse_rows(sparse_and_dense, tmp_path):
  sparse = sparse_and_dense[0]
  (tmp_path / "similarity").mkdir()
  (tmp_path / "similarity" / "sim.txt").write_text("w1\tw2\t1.0\nw3\tw4\t2.0\nw5\tw1\t3.0\n")
  (tmp_path / "analogy").mkdir()
  (tmp_path / "analogy" / "questions-words.txt").write_text(": family\nw1 w2 w3 w4\n")
  polarity = tmp_path / "classification" / "sentence_polarity"
  polarity.mkdir(parents=True)
  (polarity / "rt-polarity.pos").write_text("w1 w2\n")
  (polarity / "rt-polarity.neg").write_text("w3 w4\n")
  results = evaluate(sparse, tmp_path)
  assert results["sentence_polarity"] == {"skipped": "sparse rows have no document features"}
  assert results["sim.txt"]["pairs"] == 3 and results["questions-words.txt"]["questions"] == 1
  table = format_table(results)
  assert "sentence_polarity" in table and "skipped" in table and "3cosadd" in table
  with pytest.raises(InputError, match="dense vectors"):
    evaluate_classification(sparse, polarity)


def _purity(emb, topics, topn=5):
  topic_of = {w: i for i, words in enumerate(topics) for w in words}
  unit = emb.unit.toarray() if scipy.sparse.issparse(emb.unit) else emb.unit
  index = {w: i for i, w in enumerate(emb.words)}
  hits = []
  for w in topic_of:
    scores = unit @ unit[index[w]]
    scores[index[w]] = -np.inf
    hits += [topic_of[emb.words[j]] == topic_of[w] for j in np.argsort(-scores)[:topn]]
  return float(np.mean(hits))


@pytest.mark.parametrize("architecture", ["ppmi", "ppmi_svd"])
def test_count_methods_train_from_one_config_and_recover_topics(topic_corpus, tmp_path,
                                                                 architecture):
  from experiments import training_run
  path, topics = topic_corpus
  cfg = TrainConfig(corpus=str(path), architecture=architecture, dim=8, window=3,
                    min_count=1, subsample=0)
  result, scores = training_run.run(cfg, tmp_path, show_progress=False)
  assert _purity(result.embeddings, topics) > 0.95  # chance: about 0.49
  assert result.metrics == [] and (tmp_path / "eval.json").is_file()
  if architecture == "ppmi":
    loaded = ppmi.SparseEmbeddings.load(tmp_path / ppmi.SPARSE_VECTORS_FILENAME)
    assert loaded.words == result.embeddings.words
    assert (loaded.matrix != result.embeddings.matrix).nnz == 0
    # w2vjax.evaluate --vectors=vectors.npz reads the same rows.
    from w2vjax.evaluate import load_source
    read, _, _ = load_source(str(tmp_path / ppmi.SPARSE_VECTORS_FILENAME), None)
    assert read.words == loaded.words and (read.matrix != loaded.matrix).nnz == 0
    np.savez(tmp_path / "other.npz", u=np.zeros(3))
    with pytest.raises(InputError, match="holds no sparse rows of a PPMI run"):
      load_source(str(tmp_path / "other.npz"), None)
  else:
    assert Embeddings.load(tmp_path / "vectors.bin").dim == 8
