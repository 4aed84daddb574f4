"""benchmarks/accelerator.py's CPU path at a tiny size: every section measured and written."""

from __future__ import annotations

import gzip
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import jax
import pytest

from w2vjax import datasets

ROOT = Path(__file__).resolve().parents[1]


def _head_of_text8(path: Path, chars: int = 1_200_000) -> None:
  """About 200k words of text8-1m (one line): enough real words for the evaluation sets,
  few enough for an epoch in a second."""
  with gzip.open(datasets.resolve_corpus("bundled:text8-1m"), "rt") as f:
    text = f.read(chars)
  path.write_text(text[:text.rfind(" ")] + "\n")


@pytest.mark.slow
def test_accelerator_benchmark_measures_every_section(tmp_path):
  corpus, out = tmp_path / "text8-head.txt", tmp_path / "accelerator.json"
  _head_of_text8(corpus)
  proc = subprocess.run(
      [sys.executable, "benchmarks/accelerator.py", f"--out={out}", f"--corpus={corpus}",
       "--max_vocab=2000", "--batch_sizes=64,256", "--lr_reference_batch=128",
       "--vocab_sizes=1000,4000",
       "--softmax_steps=20", "--methods=cbow_wiki9m,glove_wiki9m,no_such_config",
       "--method_batch_size=256", "--steps=20"],
      cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, capture_output=True, text=True,
      timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]
  report = json.loads(out.read_text())
  assert report["device"]["platform"] == "cpu" and report["device"]["jax_version"]
  assert report["sweep"]["lr_scaling"] == "linear" and report["sweep"]["epochs"] == 1

  sweep = {row["batch_size"]: row for row in report["sweep"]["rows"]}
  assert sorted(sweep) == [64, 256]
  for row in sweep.values():
    assert row["status"] == "ok" and row["words_per_sec"] > 0
    assert all(math.isfinite(row[k]) for k in ("ws353", "simlex", "analogy"))
  # The config's rate up to the reference batch (128), then in inverse proportion.
  assert sweep[64]["learning_rate"] == report["sweep"]["base_learning_rate"]
  assert sweep[256]["learning_rate"] == pytest.approx(sweep[64]["learning_rate"] / 2)

  softmax = {row["vocab_size"]: row for row in report["softmax"]["rows"]}
  assert all(row["status"] == "ok" for row in softmax.values())
  # Scoring every word, the step grows about in proportion to |V| (4x here); 1.5x is slack
  # for a busy machine.
  assert softmax[4000]["ms_per_step"] > 1.5 * softmax[1000]["ms_per_step"]

  members = {row["name"]: row for row in report["methods"]["rows"]}
  assert members["cbow_wiki9m"]["status"] == "ok" and members["cbow_wiki9m"]["words_per_sec"] > 0
  assert members["glove_wiki9m"]["status"] == "ok" and members["glove_wiki9m"]["words_per_sec"] > 0
  assert members["no_such_config"]["status"] == "error"
  assert "sgns batch     64:" in proc.stdout and "wrote" in proc.stdout


@pytest.fixture(scope="module")
def accelerator(load_benchmark):
  return load_benchmark("accelerator")


def test_memory_refusal_is_recorded_as_does_not_fit(accelerator, monkeypatch):
  monkeypatch.setattr(accelerator.memory, "available_bytes", lambda device=None: 2 ** 20)
  config = accelerator.TrainConfig(objective="softmax", batch_size=64)
  row = accelerator.guarded(accelerator.Budget(60),
                            lambda: accelerator.softmax_step(config, 10_000, steps=1))
  assert row["status"] == "does not fit" and "max_vocab" in row["reason"]


def _raise(error):
  raise error


@pytest.mark.parametrize("error,status", [
    (jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 4 GiB"),
     "out of memory"),
    (FloatingPointError("loss became nan by step 3"), "diverged"),
    (KeyError("glove"), "error"),
])
def test_failures_are_recorded_not_fatal(accelerator, error, status):
  row = accelerator.guarded(accelerator.Budget(60), lambda: _raise(error), catch=(KeyError,))
  assert row["status"] == status
  with pytest.raises(ValueError):
    accelerator.guarded(accelerator.Budget(60), lambda: _raise(ValueError("a bug")))
  assert accelerator.guarded(accelerator.Budget(0), lambda: {})["status"] == "skipped"
