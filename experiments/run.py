"""Launches a named experiment: train, export the vectors, evaluate, print the table.

  python -m experiments.run --experiment=quickstart --workdir=runs/quickstart \
      [--config.epochs=10 --config.dim=200 ...]
  python -m experiments.run --config=experiments/configs/cbow_wiki9m.py --workdir=runs/cbow
  python -m experiments.run --list

``--experiment=NAME`` selects ``experiments/configs/NAME.py``; ``--config.FIELD=VALUE``
overrides its fields. A training run's workdir receives config.json, metrics.jsonl,
vectors.txt, vectors.bin (word2vec text and binary formats, frequency-ordered), eval.json
and loss.png (and model.npz for subword vectors).
"""

from __future__ import annotations

import sys
from pathlib import Path

from absl import app, flags, logging
from ml_collections import config_flags

from experiments import configs
from experiments import compare_methods
from experiments.compare_objectives import StudyConfig, run_study
from experiments.training_run import run_training_job
from w2vjax import methods, parallel
from w2vjax.config import TrainConfig
from w2vjax.errors import InputError, one_line_errors
from w2vjax.training import Interrupted

FLAGS = flags.FLAGS


def _study_job(values: dict, workdir: str) -> None:
  rows, table = run_study(StudyConfig.from_dict(values), workdir)
  print(f"\n{len(rows)} rows; outputs in {workdir}\n\n{table}")


def _methods_study_job(values: dict, workdir: str) -> None:
  _, table = compare_methods.run_study(compare_methods.MethodsStudyConfig.from_dict(values),
                                       workdir)
  print(f"\noutputs in {workdir}\n\n{table}")


JOBS = {"train": run_training_job, "compare_objectives": _study_job,
        "compare_methods": _methods_study_job}


def _flag_value(argv: list[str], name: str, default: str) -> str:
  for i, arg in enumerate(argv):
    if arg.startswith(f"--{name}="):
      return arg.split("=", 1)[1]
    if arg == f"--{name}" and i + 1 < len(argv):
      return argv[i + 1]
  return default


def _parse_flags(argv: list[str]) -> list[str]:
  """Defines --config as the chosen experiment's config file, so --config.FIELD overrides
  its values."""
  flags.DEFINE_string("experiment", "quickstart", "experiment name (see --list)")
  flags.DEFINE_string("workdir", None, "output folder (default runs/EXPERIMENT)")
  flags.DEFINE_bool("list", False, "list the experiments and exit")
  flags.DEFINE_string("coordinator", None, "HOST:PORT of process 0, for a multi-process run "
                      "on jax.distributed (give every process the same value)")
  flags.DEFINE_integer("num_processes", 1, "processes in a multi-process run")
  flags.DEFINE_integer("process_id", 0, "this process's index, 0..num_processes-1")
  name = _flag_value(argv, "experiment", "quickstart")
  if name not in configs.names():
    sys.exit(f"error: unknown experiment {name!r}; known: {', '.join(configs.names())}")
  config_file = _flag_value(argv, "config", str(configs.path(name)))
  if not Path(config_file.split(":", 1)[0]).is_file():  # FILE:ARG passes ARG to get_config
    sys.exit(f"error: config file not found: {config_file}")
  try:
    # Defining the flag loads the file and applies the --config.FIELD overrides.
    config_flags.DEFINE_config_file("config", str(configs.path(name)),
                                    "config file; override fields with --config.FIELD=VALUE")
    return FLAGS(argv)
  except SyntaxError as e:
    sys.exit(f"error: {config_file} is not a Python config file ({e.msg}, line {e.lineno})")
  except (AttributeError, KeyError) as e:  # ml_collections' word for an unknown field
    if "get_config" in str(e):
      sys.exit(f"error: {config_file} defines no get_config()")
    field = str(e).strip("\"'")
    sys.exit(f"error: unknown config field {field!r}; the fields are those of {config_file}")
  except flags.Error as e:
    sys.exit(f"error: {str(e).splitlines()[0]}")


def main(argv: list[str]) -> None:
  logging.set_verbosity(logging.WARNING)  # JAX's start-up INFO lines are noise here
  if len(argv) > 1:
    raise InputError(f"unexpected arguments: {' '.join(argv[1:])}")
  if FLAGS.list:
    for name in configs.names():
      print(f"{name:<22} {configs.description(name)}")
    return
  values = FLAGS.config.to_dict()
  job = values.pop("job", "train")
  config_file = Path(config_flags.get_config_filename(FLAGS["config"]))
  workdir = FLAGS.workdir or f"runs/{config_file.stem}"
  if job not in JOBS:
    raise InputError(f"unknown job {job!r} in the config; known: {', '.join(JOBS)}")
  if FLAGS.coordinator:
    parallel.initialize_distributed(FLAGS.coordinator, FLAGS.num_processes, FLAGS.process_id)
  elif "cpu_devices" in values:  # a training config: one process, so split its cores
    parallel.use_cpu_devices(methods.cpu_devices(TrainConfig.from_dict(values)),
                             values["batch_size"])
  try:
    JOBS[job](values, workdir)
  except Interrupted as e:
    print(e, file=sys.stderr)
    sys.exit(130)


if __name__ == "__main__":
  app.run(one_line_errors(main, catch=(OSError, FloatingPointError)),
          flags_parser=_parse_flags)
