"""Run under XLA_FLAGS=--xla_force_host_platform_device_count=4: prints a JSON report.

For each (objective, update, devices, parallel) case, trains the same global batches from
the same seed for a few steps and records the final tables, so the parent test can compare
4 devices against 1 and shard_map against pmap.
"""

import json
import sys

import jax
import numpy as np

from w2vjax import corpus as C
from w2vjax import optim, parallel, training
from w2vjax.config import TrainConfig


def run(objective, update, num_devices, mode, optimizer="sgd", shared=False, steps=8):
  rng = np.random.default_rng(0)
  counts = np.sort(rng.integers(5, 200, 60))[::-1].astype(np.int64)
  tokens = rng.choice(60, 4000, p=counts / counts.sum())
  corpus = C.make_device_corpus(tokens, np.arange(4000) // 25, counts, 1e-2)
  noise = C.make_noise_sampler(counts)
  cfg = TrainConfig(dim=8, window=3, negatives=4, batch_size=32, objective=objective,
                    update=update, optimizer=optimizer, learning_rate=0.1,
                    context_init="uniform", parallel=mode, share_negatives=shared)
  topology = parallel.make_topology(num_devices, mode)
  opt = optim.make_optimizer(cfg.optimizer, cfg.learning_rate, 100)
  state = parallel.replicate(training.init_state(cfg, 60, opt), topology)
  step = training.make_train_step(cfg, opt, noise, topology)
  epoch = training.place_epoch(C.make_epoch(jax.random.key(3), corpus, cfg.batch_size),
                               topology)
  totals = training.zero_totals(topology)
  for i in range(0, steps, 4):  # calls of 4 steps: the device loop runs in the test
    state, totals = step(state, totals, epoch, i * cfg.batch_size, 4)
  params = parallel.to_host(state.params)
  return {"u": params["u"].tolist(), "v": params["v"].tolist(),
          "loss": float(parallel.to_host(totals)["loss_sum"])}


def main():
  assert jax.device_count() == 4, jax.devices()
  cases = {}
  for objective, update, optimizer, shared in [("softmax", "dense", "sgd", False),
                                               ("negative_sampling", "dense", "sgd", False),
                                               ("negative_sampling", "sparse", "sgd", False),
                                               ("negative_sampling", "sparse", "adagrad", False),
                                               ("negative_sampling", "sparse", "sgd", True)]:
    for devices, mode in [(1, "shard_map"), (4, "shard_map"), (4, "pmap"), (2, "shard_map")]:
      name = f"{objective}/{update}/{optimizer}" + ("/shared" if shared else "")
      cases[f"{name}/{devices}/{mode}"] = run(objective, update, devices, mode, optimizer, shared)
  json.dump(cases, sys.stdout)


if __name__ == "__main__":
  main()
