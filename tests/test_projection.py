import jax
import jax.numpy as jnp
import numpy as np
import pytest

from w2vjax import projection
from w2vjax.errors import InputError


def _two_clusters(n_each=20, dim=10, seed=0):
  rng = np.random.default_rng(seed)
  x = np.concatenate([rng.normal(size=(n_each, dim)), rng.normal(size=(n_each, dim)) + 8.0])
  return x, np.repeat([0, 1], n_each)


def test_pca_matches_covariance_eigenvectors():
  rng = np.random.default_rng(0)
  planted = rng.normal(size=(60, 2)) * [5.0, 2.0]  # a 2-D structure in 8 dimensions
  basis = np.linalg.qr(rng.normal(size=(8, 2)))[0].T
  x = planted @ basis + 0.01 * rng.normal(size=(60, 8)) + 3.0
  coords = projection.pca_2d(x)
  centred = x - x.mean(axis=0)
  eigenvalues, eigenvectors = np.linalg.eigh(np.cov(centred, rowvar=False))
  reference = centred @ eigenvectors[:, ::-1][:, :2]
  signs = np.sign(np.sum(coords * reference, axis=0))
  np.testing.assert_allclose(coords, reference * signs, atol=1e-9)
  # The variance along each coordinate is the covariance's top eigenvalues, in order...
  np.testing.assert_allclose(coords.var(axis=0, ddof=1), eigenvalues[::-1][:2], rtol=1e-9)
  # ... which here hold nearly all of it, so 2-D distances are the original distances.
  def distances(a):
    return np.linalg.norm(a[:, None] - a[None], axis=-1)
  np.testing.assert_allclose(distances(coords), distances(x), atol=0.1)
  np.testing.assert_array_equal(projection.pca_2d(x), coords)  # signs fixed, not arbitrary


def test_pca_of_two_points_has_zero_second_coordinate():
  coords = projection.pca_2d(np.array([[0.0, 0.0, 1.0], [2.0, 0.0, 1.0]]))
  np.testing.assert_allclose(coords, [[-1.0, 0.0], [1.0, 0.0]])


def test_bandwidth_search_hits_the_perplexity():
  x, _ = _two_clusters()
  d2 = jnp.asarray(np.sum((x[:, None] - x[None]) ** 2, axis=-1), jnp.float32)
  for perplexity in (2.0, 5.0, 15.0):
    p = np.asarray(projection._conditional_p(d2 / jnp.mean(d2), perplexity), np.float64)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    assert np.all(np.diag(p) == 0)
    entropy = -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=1)
    np.testing.assert_allclose(np.exp(entropy), perplexity, rtol=1e-3)


def test_closed_form_gradient_is_the_gradient_of_kl():
  rng = np.random.default_rng(1)
  a = rng.uniform(size=(12, 12))
  p = (a + a.T) * (1 - np.eye(12))
  p = jnp.asarray(np.maximum(p / p.sum(), 1e-12), jnp.float32)
  y = jnp.asarray(rng.normal(size=(12, 2)), jnp.float32)
  np.testing.assert_allclose(projection._kl_grad(y, p), jax.grad(projection._kl)(y, p), rtol=1e-4,
                             atol=1e-6)


def test_tsne_separates_clusters_and_is_deterministic():
  x, labels = _two_clusters()
  y = projection.tsne_2d(x, perplexity=5.0, seed=0)
  assert y.shape == (40, 2) and np.all(np.isfinite(y))
  d = np.sum((y[:, None] - y[None]) ** 2, axis=-1)
  np.fill_diagonal(d, np.inf)
  assert np.all(labels[np.argmin(d, axis=1)] == labels)
  centres = np.stack([y[labels == k].mean(axis=0) for k in (0, 1)])
  spread = max(np.linalg.norm(y[labels == k] - centres[k], axis=1).max() for k in (0, 1))
  assert np.linalg.norm(centres[0] - centres[1]) > 2 * spread  # apart, not just adjacent
  np.testing.assert_array_equal(projection.tsne_2d(x, perplexity=5.0, seed=0), y)
  assert not np.allclose(projection.tsne_2d(x, perplexity=5.0, seed=1), y)


def test_tsne_with_fewer_steps_than_the_early_exaggeration_exaggerates_them_all():
  x, _ = _two_clusters(n_each=10)
  y = projection.tsne_2d(x, perplexity=5.0, steps=100)
  assert y.shape == (20, 2) and np.all(np.isfinite(y))
  np.testing.assert_array_equal(
      y, projection.tsne_2d(x, perplexity=5.0, steps=100, exaggeration_steps=100))
  assert not np.allclose(y, projection.tsne_2d(x, perplexity=5.0, steps=100,
                                               exaggeration_steps=0))
  with pytest.raises(InputError, match="exaggeration_steps <= steps"):
    projection.tsne_2d(x, perplexity=5.0, steps=100, exaggeration_steps=101)


@pytest.mark.parametrize("perplexity", [4.0, 10.0, 0.5])
def test_tsne_rejects_impossible_perplexity(perplexity):
  with pytest.raises(InputError, match="perplexity"):
    projection.tsne_2d(np.eye(4), perplexity=perplexity)


def test_project_2d_dispatches_by_method():
  x, _ = _two_clusters(n_each=5)
  np.testing.assert_array_equal(projection.project_2d(x), projection.pca_2d(x))
  np.testing.assert_array_equal(projection.project_2d(x, "tsne", perplexity=3.0, steps=300),
                                projection.tsne_2d(x, perplexity=3.0, steps=300))
  with pytest.raises(InputError, match="unknown projection method 'umap'; use one of pca, tsne"):
    projection.project_2d(x, "umap")
