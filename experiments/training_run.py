"""One training experiment end to end: train, export, evaluate, plot, summarise."""

from __future__ import annotations

import hashlib
import resource
import sys
from pathlib import Path

import jax
import numpy as np

from w2vjax import io_utils, plot
from w2vjax.config import TrainConfig
from w2vjax.evaluation import evaluate
from w2vjax.training import TrainResult, train


def peak_memory_mb() -> float:
  """Peak resident memory of this process, plus the device's peak if it reports one."""
  rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
  peak = rss_kb / 1024 if sys.platform != "darwin" else rss_kb / 2**20  # macOS: bytes
  stats = jax.local_devices()[0].memory_stats() or {}
  return peak + stats.get("peak_bytes_in_use", 0) / 2**20


def tables_fingerprint(params: dict) -> str:
  """A short hash of both tables: equal on every process of a run, or something is wrong."""
  digest = hashlib.sha256()
  for name in sorted(params):
    digest.update(np.ascontiguousarray(params[name]).tobytes())
  return digest.hexdigest()[:16]


def run(config: TrainConfig, workdir: str | Path, show_progress: bool = True
        ) -> tuple[TrainResult, dict]:
  """Trains with ``config`` and writes every output into ``workdir``.

  Outputs: vectors.txt and vectors.bin, loss.png, and eval.json (the config, timings,
  peak memory, the metrics history and every evaluation score).
  """
  workdir = Path(workdir)
  result = train(config, workdir=workdir, show_progress=show_progress)
  if jax.process_index() != 0:  # in a multi-process run the first process writes
    return result, {}
  result.embeddings.save(workdir / "vectors.txt", binary=False)
  result.embeddings.save(workdir / "vectors.bin", binary=True)
  plot.plot_loss_curve(result.metrics, workdir / "loss.png",
                       title=f"{config.objective} (K={config.negatives})"
                       if config.objective != "softmax" else "full softmax")
  scores = evaluate(result.embeddings, restrict_vocab=config.eval_restrict_vocab)
  summary = {"config": config.to_dict(), "train_seconds": result.train_seconds,
             "startup_seconds": result.startup_seconds,
             "compile_seconds": result.compile_seconds, "words_per_sec": result.words_per_sec,
             "raw_words": result.raw_words, "vocab_size": len(result.vocab),
             "checkpoint_seconds": result.checkpoint_seconds,
             "peak_memory_mb": peak_memory_mb(), "devices": result.devices,
             "metrics": result.metrics, "evaluation": scores}
  io_utils.write_json(workdir / "eval.json", summary)
  return result, scores
