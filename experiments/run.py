"""Launches a named experiment: train, export the vectors, evaluate, print the table.

  python -m experiments.run --experiment=quickstart --workdir=runs/quickstart \
      [--config.epochs=10 --config.dim=200 ...]
  python -m experiments.run --list

The workdir receives config.json, metrics.jsonl, vectors.txt, vectors.bin (word2vec text
and binary formats, frequency-ordered) and eval.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jax
from absl import app, flags, logging
from jax.experimental import multihost_utils
from ml_collections import config_dict, config_flags

from experiments import registry
from experiments.compare_objectives import StudyConfig, run_study
from experiments.training_run import run, tables_fingerprint
from w2vjax import parallel
from w2vjax.errors import InputError
from w2vjax.evaluation import format_table
from w2vjax.training import Interrupted

FLAGS = flags.FLAGS


def _flag_value(argv: list[str], name: str, default: str) -> str:
  for i, arg in enumerate(argv):
    if arg.startswith(f"--{name}="):
      return arg.split("=", 1)[1]
    if arg == f"--{name}" and i + 1 < len(argv):
      return argv[i + 1]
  return default


def _parse_flags(argv: list[str]) -> list[str]:
  """Defines --config from the chosen experiment, so --config.FIELD overrides its values."""
  flags.DEFINE_string("experiment", "quickstart", "experiment name (see --list)")
  flags.DEFINE_string("workdir", None, "output folder (default runs/EXPERIMENT)")
  flags.DEFINE_bool("list", False, "list the experiments and exit")
  flags.DEFINE_bool("debug", False, "show the traceback of an error")
  flags.DEFINE_string("coordinator", None, "HOST:PORT of process 0, for a multi-process run "
                      "on jax.distributed (give every process the same value)")
  flags.DEFINE_integer("num_processes", 1, "processes in a multi-process run")
  flags.DEFINE_integer("process_id", 0, "this process's index, 0..num_processes-1")
  name = _flag_value(argv, "experiment", "quickstart")
  try:
    base = registry.get(name).config
  except KeyError as e:
    sys.exit(f"error: {e.args[0]}")
  try:
    # ml_collections applies the --config.FIELD overrides while defining the flag.
    config_flags.DEFINE_config_dict(
        "config", config_dict.ConfigDict(base.to_dict()),
        "training config; override fields with --config.FIELD=VALUE")
    return FLAGS(argv)
  except (AttributeError, KeyError) as e:  # ml_collections' word for an unknown field
    field = str(e).strip("\"'")
    sys.exit(f"error: unknown config field {field!r}; fields: {', '.join(base.to_dict())}")
  except flags.Error as e:
    sys.exit(f"error: {e}")


def main(argv: list[str]) -> None:
  logging.set_verbosity(logging.WARNING)  # JAX's start-up INFO lines are noise here
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  if FLAGS.list:
    for name in registry.names():
      print(f"{name:<22} {registry.get(name).description}")
    return
  experiment = registry.get(FLAGS.experiment)
  workdir = Path(FLAGS.workdir or Path("runs") / FLAGS.experiment)
  try:
    if FLAGS.coordinator:
      parallel.initialize_distributed(FLAGS.coordinator, FLAGS.num_processes, FLAGS.process_id)
    config = type(experiment.config).from_dict(FLAGS.config.to_dict())
    if isinstance(config, StudyConfig):
      rows, table = run_study(config, workdir)
      print(f"\n{FLAGS.experiment}: {len(rows)} rows; outputs in {workdir}\n\n{table}")
      return
    result, scores = run(config, workdir)
    if jax.process_count() > 1:
      print(f"process {jax.process_index()}/{jax.process_count()}: tables "
            f"{tables_fingerprint(result.params)} on {result.devices} devices", flush=True)
      # The processes leave together, once the first has written the outputs: one that
      # exits early takes the distributed runtime, and the others, down with it.
      multihost_utils.sync_global_devices("w2vjax: outputs written")
      if jax.process_index() != 0:
        return
  except Interrupted as e:
    print(e, file=sys.stderr)
    sys.exit(130)
  except (InputError, OSError, FloatingPointError) as e:
    if FLAGS.debug:
      raise
    sys.exit(f"error: {e}")
  print(f"\n{FLAGS.experiment}: {len(result.vocab)} words, {result.words_per_sec / 1e3:.0f}k "
        f"words/s, {result.train_seconds:.0f} s training; outputs in {workdir}")
  print(format_table(scores))


if __name__ == "__main__":
  app.run(main, flags_parser=_parse_flags)
