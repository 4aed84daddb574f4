"""One training experiment end to end: train, export, evaluate, plot, summarise."""

from __future__ import annotations

import hashlib
import resource
import sys
from pathlib import Path

import jax
import numpy as np
from jax.experimental import multihost_utils

from w2vjax import io_utils, plot
from w2vjax.config import TrainConfig
from w2vjax.evaluation import evaluate, format_table
from w2vjax.training import TrainResult, train


def peak_memory_mb() -> float:
  """Peak resident memory of this process, plus the device's peak if it reports one."""
  rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
  peak = rss_kb / 1024 if sys.platform != "darwin" else rss_kb / 2**20  # macOS: bytes
  stats = jax.local_devices()[0].memory_stats() or {}
  return peak + stats.get("peak_bytes_in_use", 0) / 2**20


def tables_fingerprint(params: dict) -> str:
  """A short hash of every table: equal on every process of a run, or something is wrong."""
  digest = hashlib.sha256()
  for name in sorted(params):
    digest.update(np.ascontiguousarray(params[name]).tobytes())
  return digest.hexdigest()[:16]


def run(config: TrainConfig, workdir: str | Path, show_progress: bool = True
        ) -> tuple[TrainResult, dict]:
  """Trains with ``config`` and writes every output into ``workdir``.

  Outputs: vectors.txt and vectors.bin (sparse PPMI rows: vectors.npz), the method's own
  model file if it has one, loss.png (for trained methods), and eval.json (the config, timings, peak memory, the metrics history and every
  evaluation score).
  """
  workdir = Path(workdir)
  result = train(config, workdir=workdir, show_progress=show_progress)
  if jax.process_index() != 0:  # in a multi-process run the first process writes
    return result, {}
  result.embeddings.export(workdir)
  result.save_model(workdir)
  if result.metrics:  # closed-form methods (PPMI, SVD) train nothing
    plot.plot_loss_curve(result.metrics, workdir / "loss.png", title=result.method.name)
  scores = evaluate(result.embeddings, restrict_vocab=config.eval_restrict_vocab)
  summary = {"config": config.to_dict(), "method": result.method.name,
             "learning_rate": result.learning_rate, "train_seconds": result.train_seconds,
             "startup_seconds": result.startup_seconds,
             "compile_seconds": result.compile_seconds, "words_per_sec": result.words_per_sec,
             "raw_words": result.raw_words, "vocab_size": len(result.vocab),
             "checkpoint_seconds": result.checkpoint_seconds,
             "peak_memory_mb": peak_memory_mb(), "devices": result.devices,
             "metrics": result.metrics, "evaluation": scores}
  io_utils.write_json(workdir / "eval.json", summary)
  return result, scores


def run_training_job(values: dict, workdir: str) -> None:
  """The "train" job of ``experiments.run``: ``values`` are TrainConfig's fields."""
  result, scores = run(TrainConfig.from_dict(values), workdir)
  if jax.process_count() > 1:
    print(f"process {jax.process_index()}/{jax.process_count()}: tables "
          f"{tables_fingerprint(result.params)} on {result.devices} devices", flush=True)
    # The processes leave together, once the first has written the outputs: one that
    # exits early takes the distributed runtime, and the others, down with it.
    multihost_utils.sync_global_devices("w2vjax: outputs written")
    if jax.process_index() != 0:
      return
  # Closed-form methods (no metrics) solve rather than stream words.
  rate = f"{result.words_per_sec / 1e3:.0f}k words/s, " if result.metrics else ""
  print(f"\n{result.method.name}: {len(result.vocab)} words, {rate}"
        f"{result.train_seconds:.0f} s training; outputs in {workdir}")
  print(format_table(scores))
