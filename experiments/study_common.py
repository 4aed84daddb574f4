"""What the studies share: running a member once (cached in its workdir, in a fresh
process of its own) and writing rows as CSV."""

from __future__ import annotations

import csv
import json
import multiprocessing
import sys
from pathlib import Path

from experiments import training_run
from w2vjax import io_utils, training
from w2vjax.config import TrainConfig
from w2vjax.errors import InputError


def run_member(config: TrainConfig, workdir: Path, isolate: bool) -> dict:
  """Trains and evaluates one member unless its workdir already holds the results."""
  summary_path = workdir / "eval.json"
  if summary_path.is_file():
    summary = json.loads(summary_path.read_text())
    if summary.get("config") == config.to_dict():
      return summary
  training.validate(config)  # a bad member fails now, not in its process
  if isolate:
    receiver, sender = multiprocessing.Pipe(duplex=False)
    process = multiprocessing.get_context("spawn").Process(
        target=_run_reporting_errors, args=(sender, config, workdir))
    process.start()
    sender.close()
    with receiver:
      try:
        problem = receiver.recv()  # until the process sends its error or ends
      except EOFError:
        problem = None
    process.join()
    if process.exitcode != 0:
      raise InputError(f"study member {workdir.name}: "
                       f"{problem or f'its process ended with exit code {process.exitcode}'}")
  else:
    training_run.run(config, workdir, show_progress=False)
  return json.loads(summary_path.read_text())


def _run_reporting_errors(sender, config: TrainConfig, workdir: Path) -> None:
  """A member's process: sends a user error's one line to the study, not a traceback."""
  try:
    training_run.run(config, workdir, show_progress=False)
  except (InputError, OSError, FloatingPointError) as e:
    sender.send(str(e))
    sys.exit(1)


def write_csv(path: Path, rows: list[dict]) -> None:
  """``rows`` (dicts with the same keys) as a CSV file, written atomically."""
  with io_utils.atomic_open(path, "w") as f:
    writer = csv.DictWriter(f, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
