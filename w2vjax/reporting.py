"""Turning the device's running totals into metrics.jsonl records, TensorBoard and progress."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from w2vjax import io_utils, parallel, summaries
from w2vjax.progress import Progress


class Reporter:
  """Records metrics from the running totals that the train step keeps on the device.

  Steps are dispatched asynchronously and reading a value waits for the device, so the
  loop reads the totals once per reporting interval (and at the end of each epoch).
  metrics.jsonl is rewritten atomically from the history at each report, so after a kill
  it matches the checkpoint it resumes from.
  """

  def __init__(self, total_words: float, log_every_seconds: float, workdir: Path | None,
               show_progress: bool, history: list[dict], devices: int = 1,
               tensorboard: bool = False):
    self.devices = devices
    self.progress = Progress(total_words, log_every_seconds, enabled=show_progress)
    self.path = Path(workdir) / "metrics.jsonl" if workdir is not None else None
    self.tensorboard = None
    if tensorboard and workdir is not None:
      # A resumed run replaces whatever the killed run logged after its checkpoint.
      self.tensorboard = summaries.TensorBoardWriter(
          Path(workdir) / "tensorboard", purge_step=history[-1]["step"] + 1 if history else None)
    self.history = list(history)
    self.start = self.last_time = time.perf_counter()
    self.start_words = self.last_words = history[-1]["words"] if history else 0.0
    self.elapsed_before = history[-1]["elapsed_sec"] if history else 0.0

  def restart_clock(self, already: float = 0.0) -> None:
    """Restarts the words/s clock as if ``already`` seconds of training had passed (after
    compilation, which is start-up)."""
    self.start = self.last_time = time.perf_counter() - already

  def due(self) -> bool:
    return time.perf_counter() - self.last_time >= self.progress.interval

  def report(self, totals: dict, step: int, epoch: int, words: float, lr: float) -> None:
    """Records the metrics summed since the last report (``totals``, read from the device).

    Raises FloatingPointError on a loss that is not finite.
    """
    totals = parallel.to_host(totals)
    now = time.perf_counter()
    pairs = int(totals["pairs"])
    record = {"step": step, "epoch": epoch, "loss": float(totals["loss_sum"]) / max(pairs, 1),
              "pairs": pairs, "learning_rate": lr, "words": words,
              "words_per_sec": (words - self.last_words) / (now - self.last_time),
              "devices": self.devices, "elapsed_sec": self.elapsed_before + now - self.start}
    self.last_time, self.last_words = now, words
    # The loss is summed over every device, so all processes see the same value; agreeing
    # still makes sure that none raises while another goes on into the next collective.
    if parallel.agree_any((not np.isfinite(record["loss"]),))[0]:
      raise FloatingPointError(f"loss became {record['loss']} by step {step}; the learning "
                               f"rate ({lr:g} now) is probably too high")
    self.history.append(record)
    if self.path is not None:
      with io_utils.atomic_open(self.path, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in self.history)
    if self.tensorboard is not None:
      self.tensorboard.write_scalars(step, {name: record[name] for name in (
          "loss", "learning_rate", "words_per_sec", "words", "elapsed_sec")})
      self.tensorboard.flush()  # reports are seconds apart: keep the events readable live
    self.progress.report(words, record["loss"], record["words_per_sec"],
                         record["learning_rate"], epoch)

  def trained_words(self) -> float:
    """Words trained since this reporter started (a resumed run counts from its resume)."""
    return (self.history[-1]["words"] if self.history else 0.0) - self.start_words

  def close(self) -> None:
    self.progress.close()
    if self.tensorboard is not None:
      self.tensorboard.close()
