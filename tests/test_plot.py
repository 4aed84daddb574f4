import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from w2vjax import Embeddings, plot
from w2vjax.errors import InputError


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _assert_png(path, min_bytes=5000):
  from matplotlib import image
  data = path.read_bytes()
  assert data[:8] == PNG_MAGIC and len(data) > min_bytes
  pixels = image.imread(path)
  assert pixels.ndim == 3 and pixels.shape[0] > 200 and pixels.shape[1] > 200
  assert pixels[..., :3].std() > 0.01  # something was drawn, not a blank canvas


def _two_clusters(n_each=20, dim=10, seed=0):
  rng = np.random.default_rng(seed)
  x = np.concatenate([rng.normal(size=(n_each, dim)), rng.normal(size=(n_each, dim)) + 8.0])
  return x, np.repeat([0, 1], n_each)


def test_pca_matches_covariance_eigenvectors():
  rng = np.random.default_rng(0)
  planted = rng.normal(size=(60, 2)) * [5.0, 2.0]  # a 2-D structure in 8 dimensions
  basis = np.linalg.qr(rng.normal(size=(8, 2)))[0].T
  x = planted @ basis + 0.01 * rng.normal(size=(60, 8)) + 3.0
  coords = plot.pca_2d(x)
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
  np.testing.assert_array_equal(plot.pca_2d(x), coords)  # signs fixed, not arbitrary


def test_pca_of_two_points_has_zero_second_coordinate():
  coords = plot.pca_2d(np.array([[0.0, 0.0, 1.0], [2.0, 0.0, 1.0]]))
  np.testing.assert_allclose(coords, [[-1.0, 0.0], [1.0, 0.0]])


def test_bandwidth_search_hits_the_perplexity():
  x, _ = _two_clusters()
  d2 = jnp.asarray(np.sum((x[:, None] - x[None]) ** 2, axis=-1), jnp.float32)
  for perplexity in (2.0, 5.0, 15.0):
    p = np.asarray(plot._conditional_p(d2 / jnp.mean(d2), perplexity), np.float64)
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
  np.testing.assert_allclose(plot._kl_grad(y, p), jax.grad(plot._kl)(y, p), rtol=1e-4,
                             atol=1e-6)


def test_tsne_separates_clusters_and_is_deterministic():
  x, labels = _two_clusters()
  y = plot.tsne_2d(x, perplexity=5.0, seed=0)
  assert y.shape == (40, 2) and np.all(np.isfinite(y))
  d = np.sum((y[:, None] - y[None]) ** 2, axis=-1)
  np.fill_diagonal(d, np.inf)
  assert np.all(labels[np.argmin(d, axis=1)] == labels)
  centres = np.stack([y[labels == k].mean(axis=0) for k in (0, 1)])
  spread = max(np.linalg.norm(y[labels == k] - centres[k], axis=1).max() for k in (0, 1))
  assert np.linalg.norm(centres[0] - centres[1]) > 2 * spread  # apart, not just adjacent
  np.testing.assert_array_equal(plot.tsne_2d(x, perplexity=5.0, seed=0), y)
  assert not np.allclose(plot.tsne_2d(x, perplexity=5.0, seed=1), y)


@pytest.mark.parametrize("perplexity", [4.0, 10.0, 0.5])
def test_tsne_rejects_impossible_perplexity(perplexity):
  with pytest.raises(InputError, match="perplexity"):
    plot.tsne_2d(np.eye(4), perplexity=perplexity)


@pytest.fixture
def emb():
  rng = np.random.default_rng(0)
  words = ("the", "king", "queen", "man", "woman", "Paris", "paris", "apple", "pear", "plum")
  return Embeddings(words, rng.normal(size=(len(words), 6)) * rng.uniform(1, 5, (10, 1)))


def test_plot_words_pca(tmp_path, emb):
  out = tmp_path / "words.png"
  coords = plot.plot_words(emb, ["KING", "queen", "man", "woman", "Paris", "king"], out)
  # KING folds to king (and is drawn once), Paris is an exact match, not paris.
  ids = [emb.index[w] for w in ("king", "queen", "man", "woman", "Paris")]
  np.testing.assert_allclose(coords, plot.pca_2d(emb.unit[ids]))
  _assert_png(out)
  assert not list(tmp_path.glob(".*.tmp"))


def test_plot_words_tsne(tmp_path, emb):
  out = tmp_path / "words.png"
  words = ["king", "queen", "man", "woman", "apple", "pear", "plum"]
  coords = plot.plot_words(emb, words, out, method="tsne", perplexity=3.0, steps=300)
  ids = [emb.index[w] for w in words]
  expected = plot.tsne_2d(emb.unit[ids], perplexity=3.0, steps=300)
  np.testing.assert_array_equal(coords, expected)
  _assert_png(out)


def test_plot_words_errors(tmp_path, emb):
  out = tmp_path / "words.png"
  with pytest.raises(InputError, match="not in the vocabulary.*: zebra, yak"):
    plot.plot_words(emb, ["king", "zebra", "queen", "yak"], out)
  with pytest.raises(InputError, match="at least 2 distinct words"):
    plot.plot_words(emb, ["king", "King"], out)
  with pytest.raises(InputError, match="unknown projection method 'umap'"):
    plot.plot_words(emb, ["king", "queen"], out, method="umap")
  with pytest.raises(InputError, match="output folder does not exist"):
    plot.plot_words(emb, ["king", "queen"], tmp_path / "no" / "words.png")
  assert not out.exists()


def _history(n=30):
  return [{"step": 100 * i, "epoch": i // 10, "loss": 4.0 / (1 + i) + 1.0, "pairs": 1000,
           "learning_rate": 0.025 * (1 - i / n), "words": 50_000.0 * (i + 1), "devices": 1,
           "words_per_sec": 100_000.0, "elapsed_sec": 0.5 * (i + 1)} for i in range(n)]


def test_loss_curve_from_metrics_file(tmp_path):
  import matplotlib
  backend = matplotlib.rcParams["backend"]
  metrics = tmp_path / "metrics.jsonl"
  metrics.write_text("".join(json.dumps(r) + "\n" for r in _history()) + "\n")
  history = plot.load_metrics(metrics)
  assert history == _history()
  plot.plot_loss_curve(history, tmp_path / "loss.png", title="quickstart")
  _assert_png(tmp_path / "loss.png")
  assert matplotlib.rcParams["backend"] == backend  # no global backend switch


def test_missing_matplotlib_is_one_clear_error(tmp_path, monkeypatch):
  monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
  with pytest.raises(InputError, match="plotting needs matplotlib"):
    plot.plot_loss_curve(_history(), tmp_path / "loss.png")


def test_loss_curve_errors(tmp_path):
  with pytest.raises(InputError, match="no metrics to plot"):
    plot.plot_loss_curve([], tmp_path / "loss.png")
  with pytest.raises(InputError, match="record 2 has no 'loss'"):
    plot.plot_loss_curve([{"loss": 1.0, "elapsed_sec": 1.0, "words": 1.0}, {"step": 1}],
                    tmp_path / "loss.png")
  with pytest.raises(InputError, match="metrics file not found"):
    plot.load_metrics(tmp_path / "missing.jsonl")
  bad = tmp_path / "bad.jsonl"
  bad.write_text(json.dumps(_history(2)[0]) + "\n{not json\n")
  with pytest.raises(InputError, match="bad.jsonl:2: not JSON"):
    plot.load_metrics(bad)
  bad.write_text("[1, 2]\n")
  with pytest.raises(InputError, match="bad.jsonl:1: expected a JSON object"):
    plot.load_metrics(bad)
  assert not (tmp_path / "loss.png").exists()


def _run_all(commands):
  """Runs the command lines at once (each pays for importing jax and matplotlib)."""
  procs = [subprocess.Popen([sys.executable, "-m", "w2vjax.plot", *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
           for args in commands]
  results = []
  for proc in procs:
    stdout, stderr = proc.communicate(timeout=120)
    results.append((proc.returncode, stdout, stderr))
  return results


def _vectors_and_metrics(tmp_path, emb):
  vectors = tmp_path / "vectors.bin"
  emb.save(vectors)
  metrics = tmp_path / "metrics.jsonl"
  metrics.write_text("".join(json.dumps(r) + "\n" for r in _history()))
  return vectors, metrics


def test_command_line_writes_pngs(tmp_path, emb):
  vectors, metrics = _vectors_and_metrics(tmp_path, emb)
  results = _run_all([
      [f"--vectors={vectors}", "--words=king,Queen,man,woman,apple", "--method=tsne",
       "--perplexity=2", f"--out={tmp_path / 'w.png'}"],
      [f"--metrics={metrics}", f"--out={tmp_path / 'loss.png'}"],
  ])
  for returncode, stdout, stderr in results:
    assert returncode == 0, stderr[-2000:]
    assert "wrote" in stdout
  _assert_png(tmp_path / "w.png")
  _assert_png(tmp_path / "loss.png")


def test_command_line_errors_are_one_line(tmp_path, emb):
  vectors, metrics = _vectors_and_metrics(tmp_path, emb)
  out = f"--out={tmp_path / 'x.png'}"
  bad = {
      "vectors file not found": [f"--vectors={tmp_path / 'no.bin'}", "--words=a,b", out],
      "not in the vocabulary (10 words): zebra": [f"--vectors={vectors}", "--words=king,zebra",
                                                  out],
      "--words needs at least 2 words": [f"--vectors={vectors}", "--words=king", out],
      "unknown --method=umap": [f"--vectors={vectors}", "--words=king,queen", "--method=umap",
                                out],
      "perplexity must be at least 1 and less than the number of points (4)": [
          f"--vectors={vectors}", "--words=king,queen,man,woman", "--method=tsne", out],
      "metrics file not found": [f"--metrics={tmp_path / 'none.jsonl'}", out],
      "--out is required": [f"--metrics={metrics}"],
  }
  for expected, (returncode, _, stderr) in zip(bad, _run_all(list(bad.values()))):
    last = stderr.strip().splitlines()[-1]
    assert returncode != 0 and "Traceback" not in stderr, stderr
    assert last.startswith("error:") and expected in last, last
  assert not (tmp_path / "x.png").exists()
