"""Tables split by rows over 1, 2 and 4 fake CPU devices (--config.shard_tables): bytes
each device holds, measured, for vocabularies up to 5M words, and the largest vocabulary
whose tables fit a per-device budget, found by training.

  python benchmarks/sharded_tables.py [--sizes=100000,1000000,5000000] [--budget_mib=256]
  python benchmarks/sharded_tables.py > docs/scaling/sharded_tables.md  # the page

Runs itself once under XLA_FLAGS=--xla_force_host_platform_device_count=4 (ignored on a
GPU or TPU host). Each (vocabulary, devices) point trains ``--steps`` steps of skip-gram
with negative sampling (SGD: no optimizer state; d = --dim, batch 64) on a synthetic Zipf
corpus, then reads each device's share of the tables from the arrays' addressable shards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from absl import app, flags

from w2vjax.errors import one_line_errors

flags.DEFINE_list("sizes", ["100000", "1000000", "5000000"], "vocabulary sizes to measure")
flags.DEFINE_list("devices", ["1", "2", "4"], "device counts")
flags.DEFINE_integer("dim", 100, "vector dimension")
flags.DEFINE_integer("steps", 4, "training steps per point")
flags.DEFINE_integer("budget_mib", 256, "per-device budget for tables and optimizer state")
flags.DEFINE_integer("bisections", 1, "bisection steps after the doubling overshoots")
FLAGS = flags.FLAGS
ROOT = Path(__file__).resolve().parents[1]
FAKE = "--xla_force_host_platform_device_count=4"
MIB = 2 ** 20


def train_point(vocab_size: int, num_devices: int, cache: dict) -> dict:
  """Trains a few sharded steps at ``vocab_size`` words on ``num_devices`` devices;
  returns the largest per-device bytes of tables and optimizer state, and timings."""
  import jax
  import numpy as np

  from w2vjax import corpus as corpus_lib
  from w2vjax import methods, optim, parallel, placement, profiling, step
  from w2vjax.config import TrainConfig

  cfg = TrainConfig(dim=FLAGS.dim, batch_size=64, optimizer="sgd", learning_rate=0.025,
                    shard_tables=True, steps_per_call=FLAGS.steps)
  if vocab_size not in cache:  # the corpus and method do not depend on the devices
    cache.clear()
    tokens, sentence, vocab = profiling.zipf_corpus(vocab_size, 100_000)
    cache[vocab_size] = (corpus_lib.make_device_corpus(tokens, sentence, vocab.counts,
                                                       cfg.subsample),
                         methods.build(cfg, vocab))
  corpus, method = cache[vocab_size]
  topology = parallel.make_topology(num_devices, "shard_map", True)
  layout = placement.make_placement(topology, method)
  opt = optim.make_optimizer(cfg.optimizer, cfg.learning_rate, 100)
  t = time.perf_counter()
  state = layout.place(step.init_state(cfg, method, opt))
  place_seconds = time.perf_counter() - t
  train_step = step.make_train_step(cfg, method, opt, topology)
  epoch = step.place_epoch(corpus_lib.make_epoch(jax.random.key(1), corpus, 64), topology)
  t = time.perf_counter()
  state, totals = jax.block_until_ready(
      train_step(state, step.zero_totals(topology), epoch, 0, FLAGS.steps))
  seconds = time.perf_counter() - t
  held = layout.table_bytes_per_device(state)
  loss = float(parallel.to_host(totals)["loss_sum"]) / float(parallel.to_host(totals)["pairs"])
  assert np.isfinite(loss)
  return {"bytes": max(held.values()), "devices_holding": len(held),
          "place_s": place_seconds, "train_s": seconds, "loss": loss}


def largest_fitting(num_devices: int, budget: int, cache: dict) -> tuple[int, list]:
  """The largest vocabulary (to 1,000 words) whose measured per-device bytes stay within
  ``budget``: doubling from 65,536 words until a run exceeds it, then bisecting."""
  tried, fits, size = [], 0, 65_536
  while True:
    point = train_point(size, num_devices, cache)
    tried.append((size, point["bytes"]))
    if point["bytes"] > budget:
      break
    fits, size = size, 2 * size
  high = size
  for _ in range(FLAGS.bisections):
    mid = (fits + high) // 2 // 1000 * 1000
    point = train_point(mid, num_devices, cache)
    tried.append((mid, point["bytes"]))
    fits, high = (mid, high) if point["bytes"] <= budget else (fits, mid)
  return fits, tried


def measure() -> None:
  import jax
  assert jax.device_count() >= max(map(int, FLAGS.devices)), jax.devices()
  cache: dict = {}
  print("## Vocabulary to 5M words with sharded tables (4 fake CPU devices)\n")
  print("`python benchmarks/sharded_tables.py > docs/scaling/sharded_tables.md`\n")
  print(f"Tables split by rows (d={FLAGS.dim}, SGD, {FLAGS.steps} steps of batch 64 per "
        f"point), bytes of tables per device measured from addressable shards\n")
  print("| \\|V\\| | devices | tables per device (MiB) | x 1 device | place (s) | "
        "first call (s) |")
  print("|---|---|---|---|---|---|")
  for size in map(int, FLAGS.sizes):
    one = None
    for n in map(int, FLAGS.devices):
      p = train_point(size, n, cache)
      one = one or p["bytes"] * n  # the first count's bytes, as one device would hold
      print(f"| {size:,} | {n} | {p['bytes'] / MIB:,.1f} | {p['bytes'] / one:.3f} | "
            f"{p['place_s']:.1f} | {p['train_s']:.1f} |", flush=True)
  budget = FLAGS.budget_mib * MIB
  print(f"\nLargest vocabulary within {FLAGS.budget_mib} MiB of tables per device "
        "(trained, measured)\n")
  print("| devices | largest \\|V\\| | measured MiB per device | points tried (\\|V\\|: MiB) |")
  print("|---|---|---|---|")
  for n in map(int, FLAGS.devices):
    fits, tried = largest_fitting(n, budget, cache)
    held = dict(tried).get(fits, 0)
    points = ", ".join(f"{v:,}: {b / MIB:.0f}" for v, b in tried)
    print(f"| {n} | {fits:,} | {held / MIB:.1f} | {points} |", flush=True)


def main(argv):
  del argv
  if os.environ.get("XLA_FLAGS", "") != FAKE:
    env = {**os.environ, "XLA_FLAGS": FAKE, "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    if subprocess.run([sys.executable, *sys.argv], cwd=ROOT, env=env).returncode:
      sys.exit(1)  # the child has printed its error
    print(f"\n(benchmark wall time {time.perf_counter() - t:.0f} s)")
    return
  measure()


if __name__ == "__main__":
  app.run(one_line_errors(main, catch=(OSError, ValueError)))
