"""words/s of one training epoch on 1, 2 and 4 devices (fake CPU devices unless real ones).

  python benchmarks/devices.py [--experiment=quickstart] [--fake_devices=4] [--parallel=shard_map]

Each device count runs in its own process with
XLA_FLAGS=--xla_force_host_platform_device_count=FAKE (ignored on a GPU or TPU host),
--config.num_devices=N and one epoch; the same global batch and seed throughout.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from absl import app, flags

from children import run_child  # beside this script, so on sys.path when it runs as one
from w2vjax.errors import one_line_errors

flags.DEFINE_string("experiment", "quickstart", "registered experiment to time")
flags.DEFINE_integer("fake_devices", 4, "fake CPU devices to create")
flags.DEFINE_list("devices", ["1", "2", "4"], "device counts to time")
flags.DEFINE_string("parallel", "shard_map", "shard_map or pmap")
flags.DEFINE_integer("epochs", 1, "epochs per run")
FLAGS = flags.FLAGS
ROOT = Path(__file__).resolve().parents[1]


def main(argv):
  del argv
  env = {**os.environ,
         "XLA_FLAGS": f"--xla_force_host_platform_device_count={FLAGS.fake_devices}"}
  print(f"{'devices':>7} {'words/s':>10} {'train s':>8} {'WS-353':>7}")
  for n in map(int, FLAGS.devices):
    with tempfile.TemporaryDirectory() as workdir:
      run_child([sys.executable, "-m", "experiments.run", f"--experiment={FLAGS.experiment}",
                 f"--workdir={workdir}", f"--config.num_devices={n}",
                 f"--config.parallel={FLAGS.parallel}", f"--config.epochs={FLAGS.epochs}",
                 "--config.log_every_seconds=600"], f"the run on {n} devices", cwd=ROOT,
                env=env)
      summary = json.loads((Path(workdir) / "eval.json").read_text())
    ws = summary["evaluation"]["EN-WS-353-ALL.txt"]["spearman"]
    print(f"{n:>7} {summary['words_per_sec']:>10,.0f} {summary['train_seconds']:>8.1f} "
          f"{ws:>7.3f}", flush=True)


if __name__ == "__main__":
  app.run(one_line_errors(main, catch=(OSError, ValueError)))
