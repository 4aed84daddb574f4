"""Where a train step's time goes: XLA's operations, their share, and how busy the cores are.

  python benchmarks/profile_step.py --config=experiments/configs/sgns_wiki9m.py \
      [--config.FIELD=VALUE ...] [--steps=1000] [--top=25] [--json=PATH]

Runs ``--steps`` steps of the config on one device (after compilation) under JAX's
profiler, with XLA:CPU's per-operation trace events switched on, and prints the operations
that ran once or more per step, slowest first: milliseconds in all, microseconds per step
and share of the operations' time. Then the wall time per step and the share of it during
which 0, 1, 2, ... operations ran at once: on a CPU, XLA runs independent operations of a
step (``batch_splits`` parts) on separate cores only as far as its thunk executor finds
them ready together. The operation names are those of the optimized HLO (dump it with
``XLA_FLAGS=--xla_dump_to=DIR --xla_dump_hlo_as_text`` to see what each fuses).
"""

from __future__ import annotations

import collections
import gzip
import json
import os
import tempfile
from pathlib import Path

from absl import app, flags
from ml_collections import config_flags

from w2vjax.errors import InputError, one_line_errors

FLAGS = flags.FLAGS
_NOT_OPERATIONS = ("ThunkExecutor", "Threadpool", "end: ")


def operation_events(trace: dict) -> list[dict]:
  """The complete ("X") events of XLA operations in a Chrome/Perfetto trace."""
  return [e for e in trace["traceEvents"]
          if e.get("ph") == "X" and not e["name"].startswith("$")
          and not any(p in e["name"] for p in _NOT_OPERATIONS)]


def per_step_table(events: list[dict], steps: int) -> list[dict]:
  """Operations that ran at least once per step, slowest first."""
  total, count = collections.Counter(), collections.Counter()
  for e in events:
    total[e["name"]] += e["dur"]
    count[e["name"]] += 1
  rows = [(name, us) for name, us in total.most_common() if count[name] >= steps]
  spent = sum(us for _, us in rows) or 1.0
  return [{"operation": name, "ms": us / 1e3, "us_per_step": us / steps,
           "calls_per_step": count[name] / steps, "share": us / spent} for name, us in rows]


def concurrency(events: list[dict], table: list[dict]) -> dict:
  """Wall microseconds per step and the share of that time with n of the table's
  operations running, over the middle half of the profiled steps (the table's first
  operation runs once per step; the middle half leaves out the calls' edges)."""
  names = {row["operation"] for row in table}
  events = [e for e in events if e["name"] in names]
  starts = sorted(e["ts"] for e in events if e["name"] == table[0]["operation"])
  lo, hi = starts[len(starts) // 4], starts[3 * len(starts) // 4]
  steps = 3 * len(starts) // 4 - len(starts) // 4
  inside = [e for e in events if lo <= e["ts"] < hi]
  edges = sorted([(e["ts"], 1) for e in inside]
                 + [(min(e["ts"] + e["dur"], hi), -1) for e in inside])
  busy, running, last = collections.Counter(), 0, lo
  for t, change in edges:
    busy[running] += t - last
    last, running = t, running + change
  busy[running] += hi - last
  wall = max(hi - lo, 1e-9)
  return {"us_per_step": wall / max(steps, 1),
          "running": {n: busy[n] / wall for n in sorted(busy)}}


def _profile(config, steps: int, log_dir: str) -> dict:
  import jax  # after XLA_FLAGS is set, before the backend starts

  from w2vjax import profiling
  from w2vjax.data import prepare_data
  data = prepare_data(config)
  profiling.time_steps(config, data.corpus, data.vocab, steps)  # compile and warm up
  jax.profiler.start_trace(log_dir, create_perfetto_trace=True)
  try:
    profiling.time_steps(config, data.corpus, data.vocab, steps)
  finally:
    jax.profiler.stop_trace()
  trace_file = next(Path(log_dir).rglob("perfetto_trace.json.gz"))
  with gzip.open(trace_file) as f:
    return json.load(f)


def main(argv):
  if len(argv) > 1:
    raise InputError(f"unexpected arguments: {' '.join(argv[1:])}")
  os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                             + " --xla_cpu_enable_xprof_traceme=true").strip()
  from w2vjax.config import TrainConfig
  config = TrainConfig.from_dict(FLAGS.config.to_dict())
  with tempfile.TemporaryDirectory(prefix="w2vjax-profile-") as log_dir:
    events = operation_events(_profile(config, FLAGS.steps, log_dir))
  # The timed calls run a few more steps than asked (whole calls), and the first call
  # compiles nothing: counting per asked step slightly overstates the per-step figures.
  table = per_step_table(events, FLAGS.steps)
  if not table:
    raise InputError("the trace has no per-operation events: is this XLA:CPU?")
  print(f"{'operation':<40} {'ms':>8} {'us/step':>8} {'share':>6}")
  for row in table[:FLAGS.top]:
    print(f"{row['operation'][:40]:<40} {row['ms']:8.1f} {row['us_per_step']:8.1f} "
          f"{100 * row['share']:5.1f}%")
  spent = sum(row["us_per_step"] for row in table)
  busy = concurrency(events, table)
  shares = ", ".join(f"{n}: {100 * s:.0f}%" for n, s in busy["running"].items())
  print(f"\noperations' time {spent:.0f} us per step; wall {busy['us_per_step']:.0f} us per "
        f"step; share of wall time with n operations running: {shares}")
  if FLAGS.json:
    from w2vjax import io_utils
    io_utils.write_json(FLAGS.json, {"config": config.to_dict(), "steps": FLAGS.steps,
                                     "operations": table, "concurrency": busy})


def _define_flags() -> None:
  config_flags.DEFINE_config_file("config", "experiments/configs/sgns_wiki9m.py",
                                  "training config file; --config.FIELD=VALUE overrides")
  flags.DEFINE_integer("steps", 1000, "profiled steps")
  flags.DEFINE_integer("top", 25, "operations to print")
  flags.DEFINE_string("json", None, "also write the table and the concurrency shares here")


if __name__ == "__main__":
  _define_flags()
  app.run(one_line_errors(main, catch=(OSError, ValueError)))
