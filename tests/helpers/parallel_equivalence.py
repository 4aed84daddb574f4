"""Run under XLA_FLAGS=--xla_force_host_platform_device_count=4: prints a JSON report.

For each (method, update, devices, parallel) case, trains the same global batches from
the same seed for a few steps and records the final tables, so the parent test can compare
4 devices against 1 and shard_map against pmap.
"""

import json
import sys

import jax
import numpy as np

from w2vjax import corpus as C
from w2vjax import methods, optim, parallel, step
from w2vjax.config import TrainConfig
from w2vjax.text import Vocab


def run(fields, update, num_devices, mode, optimizer="sgd", steps=8):
  rng = np.random.default_rng(0)
  counts = np.sort(rng.integers(5, 200, 60))[::-1].astype(np.int64)
  tokens = rng.choice(60, 4000, p=counts / counts.sum())
  corpus = C.make_device_corpus(tokens, np.arange(4000) // 25, counts, 1e-2)
  cfg = TrainConfig(dim=8, window=3, negatives=4, batch_size=32, update=update,
                    optimizer=optimizer, learning_rate=0.1, context_init="uniform",
                    parallel=mode, sync_every=1, **fields)
  method = methods.build(cfg, Vocab(tuple(f"w{i}" for i in range(60)), counts))
  topology = parallel.make_topology(num_devices, mode)
  opt = optim.make_optimizer(cfg.optimizer, cfg.learning_rate, 100)
  start = step.init_state(cfg, method, opt)
  initial = {name: np.asarray(table) for name, table in start.params.items()}
  state = parallel.replicate(start, topology)
  train_step = step.make_train_step(cfg, method, opt, topology)
  epoch = step.place_epoch(C.make_epoch(jax.random.key(3), corpus, cfg.batch_size), topology)
  totals = step.zero_totals(topology)
  for i in range(0, steps, 4):  # calls of 4 steps: the device loop runs in the test
    state, totals = train_step(state, totals, epoch, i * cfg.batch_size, 4)
  params = parallel.to_host(state.params)
  # How far each table moved from its start: the steps trained every table.
  moved = {name: float(np.abs(table - initial[name]).max()) for name, table in params.items()}
  return {**{name: table.tolist() for name, table in params.items()},
          "loss": float(parallel.to_host(totals)["loss_sum"]), "moved": moved}


PMAP, TWO = (4, "pmap"), (2, "shard_map")
# Each case runs on 1 device and on 4 with shard_map, and on the other (devices, mode)
# pairs its tests compare.
CASES = {  # name -> (method fields, update, optimizer, other runs)
    "softmax/dense/sgd": (dict(objective="softmax"), "dense", "sgd", (PMAP, TWO)),
    "negative_sampling/dense/sgd": (dict(share_negatives=False), "dense", "sgd", (TWO,)),
    "negative_sampling/sparse/sgd": (dict(share_negatives=False), "sparse", "sgd", (PMAP,)),
    "negative_sampling/sparse/adagrad": (dict(share_negatives=False), "sparse", "adagrad",
                                         (PMAP,)),
    "negative_sampling/sparse/sgd/shared": (dict(), "sparse", "sgd", (PMAP,)),
    "cbow_hs/sparse/sgd": (dict(architecture="cbow", objective="hierarchical_softmax"),
                           "sparse", "sgd", (PMAP,)),
}


def main():
  assert jax.device_count() == 4, jax.devices()
  cases = {}
  for name, (fields, update, optimizer, others) in CASES.items():
    for devices, mode in [(1, "shard_map"), (4, "shard_map"), *others]:
      cases[f"{name}/{devices}/{mode}"] = run(fields, update, devices, mode, optimizer)
  json.dump(cases, sys.stdout)


if __name__ == "__main__":
  main()
