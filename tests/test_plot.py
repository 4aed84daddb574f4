import json
import subprocess
import sys

import numpy as np
import pytest

from w2vjax import Embeddings, plot, projection
from w2vjax.errors import InputError


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _assert_png(path, min_bytes=5000):
  from matplotlib import image
  data = path.read_bytes()
  assert data[:8] == PNG_MAGIC and len(data) > min_bytes
  pixels = image.imread(path)
  assert pixels.ndim == 3 and pixels.shape[0] > 200 and pixels.shape[1] > 200
  assert pixels[..., :3].std() > 0.01  # something was drawn, not a blank canvas


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
  np.testing.assert_allclose(coords, projection.pca_2d(emb.unit[ids]))
  _assert_png(out)
  assert not list(tmp_path.glob(".*.tmp"))


def test_plot_words_tsne(tmp_path, emb):
  out = tmp_path / "words.png"
  words = ["king", "queen", "man", "woman", "apple", "pear", "plum"]
  coords = plot.plot_words(emb, words, out, method="tsne", perplexity=3.0, steps=300)
  ids = [emb.index[w] for w in words]
  expected = projection.tsne_2d(emb.unit[ids], perplexity=3.0, steps=300)
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


@pytest.mark.slow
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


@pytest.mark.slow
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
