import numpy as np
import pytest

from w2vjax import Embeddings, classify
from w2vjax.errors import InputError
from w2vjax.evaluation import evaluate_classification, read_labelled_tsv


def _blobs(n=2000, dim=8, gap=3.0, seed=0):
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, 2, n)
  x = rng.normal(size=(n, dim)).astype(np.float32)
  x[:, 0] += gap * (2 * labels - 1) / 2
  return x, labels


def test_separable_set_is_learned():
  x, y = _blobs(gap=6.0)
  acc = classify.cross_validate(x, y, folds=10, seed=0)
  assert acc.shape == (10,)
  assert acc.mean() > 0.99  # the classes are 6 standard deviations apart


def test_partially_separable_set_matches_bayes_rate():
  x, y = _blobs(gap=2.0)  # Bayes accuracy: Phi(1) = 0.841
  acc = classify.cross_validate(x, y, folds=10, seed=0).mean()
  assert 0.80 < acc < 0.88


def test_shuffled_labels_stay_near_chance():
  x, y = _blobs(gap=6.0)
  y = np.random.default_rng(1).permutation(y)
  acc = classify.cross_validate(x, y, folds=10, seed=0).mean()
  # Chance is 0.5; the standard error of an accuracy over 2000 test examples is 0.011.
  assert abs(acc - 0.5) < 0.05


def test_folds_trained_together_equal_each_fold_trained_alone():
  # The folds share one matrix product per step; no fold's model may see another's rows.
  x, y = _blobs(n=300, gap=1.0)
  masks = (classify.fold_assignment(300, 3, seed=0)[None, :] != np.arange(3)[:, None])
  labels, settings = np.asarray(y, np.float32), (1e-4, 200, 0.05)
  together = np.asarray(classify._fit_predict_folds(x, labels, masks.astype(np.float32),
                                                    *settings))
  for fold in range(3):
    alone = classify._fit_predict_folds(x, labels, masks[fold:fold + 1].astype(np.float32),
                                        *settings)
    # Equal but for float rounding, which may flip a prediction on the boundary.
    assert np.sum(np.asarray(alone)[0] != together[fold]) <= 1, fold
  assert 0.1 < together.mean() < 0.9  # the predictions are not all one class


def test_folds_are_balanced_and_seeded():
  a = classify.fold_assignment(1003, 10, seed=3)
  sizes = np.bincount(a)
  assert len(sizes) == 10 and sizes.max() - sizes.min() <= 1
  np.testing.assert_array_equal(a, classify.fold_assignment(1003, 10, seed=3))
  assert not np.array_equal(a, classify.fold_assignment(1003, 10, seed=4))


def test_document_features_mean_and_tfidf():
  emb = Embeddings(("a", "b", "c"), np.array([[2, 0], [0, 3], [1, 1]], np.float32))
  docs = [["a", "b", "b", "oov"], ["c"], ["oov"], ["a", "c"]]
  mean, empty = classify.document_features(emb, docs, "mean")
  assert empty == 1
  np.testing.assert_allclose(mean[0], (np.array([1, 0]) + 2 * np.array([0, 1])) / 3, rtol=1e-6)
  np.testing.assert_allclose(mean[2], [0, 0])
  tfidf, _ = classify.document_features(emb, docs, "tfidf")
  idf = {"a": np.log(4 / 2) + 1, "b": np.log(4 / 1) + 1}
  w_a, w_b = idf["a"], 2 * idf["b"]
  np.testing.assert_allclose(tfidf[0], (w_a * np.array([1, 0]) + w_b * np.array([0, 1]))
                             / (w_a + w_b), rtol=1e-6)
  with pytest.raises(ValueError, match="weighting"):
    classify.document_features(emb, docs, "bm25")


def _sentiment_embeddings():
  """Positive words point along +e0, negative along -e0, neutral words elsewhere."""
  rng = np.random.default_rng(0)
  pos, neg, neutral = ["good", "great", "fine"], ["bad", "awful", "poor"], ["film", "the", "a", "plot"]
  vectors = rng.normal(size=(10, 6)) * 0.3
  vectors[:3, 0] += 2
  vectors[3:6, 0] -= 2
  return Embeddings(tuple(pos + neg + neutral), vectors), pos, neg, neutral


def test_evaluate_classification_on_a_labelled_file(tmp_path):
  emb, pos, neg, neutral = _sentiment_embeddings()
  rng = np.random.default_rng(1)
  lines = []
  for i in range(400):
    label = "pos" if i % 2 else "neg"
    words = list(rng.choice(neutral, 4)) + [rng.choice(pos if label == "pos" else neg)]
    lines.append(f"{label}\t{' '.join(words)}")
  (tmp_path / "reviews.tsv").write_text("\n".join(lines) + "\n")
  r = evaluate_classification(emb, tmp_path / "reviews.tsv")
  assert r["documents"] == 400 and r["folds"] == 10 and r["empty_documents"] == 0
  assert r["accuracy"] > 0.95 and r["std"] < 0.05


def test_malformed_labelled_file(tmp_path):
  (tmp_path / "bad.tsv").write_text("pos\tgood film\nmaybe\tso so\n")
  with pytest.raises(InputError, match="bad.tsv:2"):
    read_labelled_tsv(tmp_path / "bad.tsv")
