"""What the studies share: running a member once (cached in its workdir, in a fresh
process of its own) and writing rows as CSV."""

from __future__ import annotations

import csv
import json
import multiprocessing
from pathlib import Path

from experiments import training_run
from w2vjax import io_utils
from w2vjax.config import TrainConfig
from w2vjax.errors import InputError


def run_member(config: TrainConfig, workdir: Path, isolate: bool) -> dict:
  """Trains and evaluates one member unless its workdir already holds the results."""
  summary_path = workdir / "eval.json"
  if summary_path.is_file():
    summary = json.loads(summary_path.read_text())
    if summary.get("config") == config.to_dict():
      return summary
  if isolate:
    process = multiprocessing.get_context("spawn").Process(
        target=training_run.run, args=(config, workdir), kwargs={"show_progress": False})
    process.start()
    process.join()
    if process.exitcode != 0:
      raise InputError(f"study member {workdir.name} failed (exit code {process.exitcode}); "
                       f"see {workdir}")
  else:
    training_run.run(config, workdir, show_progress=False)
  return json.loads(summary_path.read_text())


def write_csv(path: Path, rows: list[dict]) -> None:
  """``rows`` (dicts with the same keys) as a CSV file, written atomically."""
  with io_utils.atomic_open(path, "w") as f:
    writer = csv.DictWriter(f, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
