"""Run under XLA_FLAGS=--xla_force_host_platform_device_count=4: prints a JSON report.

For each method, trains the same global batches from the same seed with the tables
replicated on 4 devices and split by rows over 4 devices (shard_tables), and records the
final tables, the loss, and the rows each device holds (read from the arrays' addressable
shards). The vocabulary of 62 words does not divide by 4, so the tables are padded.
"""

import json
import sys

import jax
import numpy as np

from w2vjax import cooccurrence, methods, optim, parallel, placement, step
from w2vjax import corpus as C
from w2vjax.config import TrainConfig
from w2vjax.text import Vocab

SIZE = 62


def _data(cfg, counts, tokens, sentence):
  if methods.data_kind(cfg) == "cooccurrence":
    return cooccurrence.count(tokens, sentence, SIZE, cfg.window, "dynamic", True)
  return C.make_device_corpus(tokens, sentence, counts, 1e-2)


def run(fields, update, shard, optimizer="sgd", steps=8):
  rng = np.random.default_rng(0)
  counts = np.sort(rng.integers(5, 200, SIZE))[::-1].astype(np.int64)
  tokens = rng.choice(SIZE, 4000, p=counts / counts.sum()).astype(np.int32)
  sentence = (np.arange(4000) // 25).astype(np.int32)
  cfg = TrainConfig(dim=8, window=3, negatives=4, batch_size=32, update=update,
                    optimizer=optimizer, learning_rate=0.1, context_init="uniform",
                    shard_tables=shard, sync_every=1, **fields)
  method = methods.build(cfg, Vocab(tuple(f"w{i}" for i in range(SIZE)), counts))
  topology = parallel.make_topology(4, cfg.parallel, shard)
  layout = placement.make_placement(topology, method)
  opt = optim.make_optimizer(cfg.optimizer, cfg.learning_rate, 100)
  start = step.init_state(cfg, method, opt)
  initial = {name: np.asarray(table) for name, table in start.params.items()}
  state = layout.place(start)
  train_step = step.make_train_step(cfg, method, opt, topology)
  data = _data(cfg, counts, tokens, sentence)
  epoch = step.place_epoch(
      step.SOURCES[method.data].make_epoch(jax.random.key(3), data, cfg.batch_size), topology)
  totals = step.zero_totals(topology)
  for i in range(0, steps, 4):  # calls of 4 steps: the device loop runs in the test
    state, totals = train_step(state, totals, epoch, i * cfg.batch_size, 4)
  rows = {name: sorted({s.data.shape[0] for s in table.addressable_shards})
          for name, table in state.params.items()}
  host = layout.to_host(state)
  # How far each table moved from its start: the steps trained every table.
  moved = {name: float(np.abs(np.asarray(table) - initial[name]).max())
           for name, table in host.params.items()}
  return {"tables": {name: table.tolist() for name, table in host.params.items()},
          "moved": moved,
          "loss": float(parallel.to_host(totals)["loss_sum"]), "shard_rows": rows,
          "bytes": layout.table_bytes_per_device(state)}


CASES = {  # name -> (method fields, update, optimizer)
    "negative_sampling/sparse/sgd": (dict(), "sparse", "sgd"),
    "negative_sampling/sparse/adagrad/pairs": (dict(share_negatives=False), "sparse",
                                               "adagrad"),
    "negative_sampling/dense/adam/pairs": (dict(share_negatives=False), "dense", "adam"),
    "cbow_hs/sparse/sgd": (dict(architecture="cbow", objective="hierarchical_softmax"),
                           "sparse", "sgd"),
    "subwords/sparse/sgd": (dict(maxn=4, minn=3, buckets=101, share_negatives=False),
                            "sparse", "sgd"),
    "subwords/sparse/sgd/windows": (dict(maxn=4, minn=3, buckets=101), "sparse", "sgd"),
    "glove/sparse/adagrad": (dict(architecture="glove", subsample=0.0), "sparse", "adagrad"),
    "softmax/dense/sgd": (dict(objective="softmax"), "dense", "sgd"),
}


def main():
  assert jax.device_count() == 4, jax.devices()
  names = sys.argv[1:] or list(CASES)
  report = {}
  for name in names:
    fields, update, optimizer = CASES[name]
    report[name] = {"replicated": run(fields, update, False, optimizer),
                    "sharded": run(fields, update, True, optimizer)}
  json.dump(report, sys.stdout)


if __name__ == "__main__":
  main()
