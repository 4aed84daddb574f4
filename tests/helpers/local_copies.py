"""Run under XLA_FLAGS=--xla_force_host_platform_device_count=4: prints a JSON report.

Checks the merge of devices' own copies of the tables (TrainConfig.sync_every > 1): the
merge rule against NumPy, and training with it on 4 devices against the synchronous path.
"""

import json
import sys

import jax
import numpy as np
from jax.sharding import PartitionSpec as P

from w2vjax import corpus as C
from w2vjax import methods, optim, parallel, step
from w2vjax.config import TrainConfig
from w2vjax.text import Vocab


def merge_errors() -> dict:
  """``step.merge_changes`` and ``step.agreement_scale`` on 4 devices against the rules
  written out in NumPy."""
  rng = np.random.default_rng(1)
  start = rng.normal(size=(12, 3)).astype(np.float32)
  local = np.repeat(start[None], 4, axis=0)
  for device in range(4):  # each device changes its own random set of rows
    rows = rng.random(12) < 0.5
    local[device, rows] += rng.normal(size=(rows.sum(), 3)).astype(np.float32)
  local[:, 0] = start[0] + 1.0  # a row every copy moved alike
  change = local - start
  total = change.sum(0)
  scale = np.clip((change ** 2).sum((0, 2)) / np.maximum((total ** 2).sum(1), 1e-30), 0.5, 1)
  assert np.isclose(scale[0], 0.5)  # ... moves twice as far as one copy did, not 4 times
  topology = parallel.make_topology(4)

  def on_devices(fn):
    return np.asarray(jax.jit(jax.shard_map(fn, mesh=topology.mesh,
                                            in_specs=(P(), P(parallel.AXIS)), out_specs=P(),
                                            check_vma=False))(start, local))

  merged = on_devices(lambda s, l: step.merge_changes(s, l[0]))
  scales = on_devices(lambda s, l: step.agreement_scale(
      l[0] - s, jax.lax.psum(l[0] - s, parallel.AXIS), 4))
  agreed = on_devices(lambda s, l: step.merge_changes(s, l[0], agree=4))
  averaged = on_devices(lambda s, l: step.merge_changes(s, l[0], agree=4, mean=True))
  return {"sum": float(np.abs(merged - (start + total)).max()),
          "mean": float(np.abs(averaged - (start + total / 4)).max()),
          "agreement": max(float(np.abs(scales - scale).max()),
                           float(np.abs(agreed - (start + scale[:, None] * total)).max()))}


def turn_errors() -> dict:
  """``step._merge_turn`` on 4 devices against NumPy: the turn's slice of the rows (a block
  or an index set; the last slice moved back to end at the last row) takes the start plus
  every copy's change, each device keeps its own other rows, and the start is updated
  for the slice alone."""
  rng = np.random.default_rng(2)
  start = rng.normal(size=(12, 3)).astype(np.float32)
  local = start + rng.normal(size=(4, 12, 3)).astype(np.float32)
  topology = parallel.make_topology(4)
  errors = {}
  for kind, which in (("block", slice(2, 12)), ("ids", rng.permutation(12)[:10])):
    order = np.arange(12)[which]
    for turn in range(3):  # 10 rows in 3 slices of 4: rows 0-3, 4-7 and 6-9 of ``order``
      def fn(rows_start, copies, which=which, turn=turn):
        tables, new_start = step._merge_turn({"u": (copies[0], ())}, {"u": (rows_start, ())},
                                             {"u": which}, turn, 3)
        return tables["u"][0][None], new_start["u"][0][None]
      tables, new_start = (np.asarray(x) for x in jax.jit(jax.shard_map(
          fn, mesh=topology.mesh, in_specs=(P(), P(parallel.AXIS)),
          out_specs=(P(parallel.AXIS), P(parallel.AXIS)), check_vma=False))(
              start[order], local))
      merged_rows = order[min(turn * 4, 6):][:4]
      want = local.copy()
      want[:, merged_rows] = start[merged_rows] + (local[:, merged_rows] - start[merged_rows]).sum(0)
      want_start = start[order].copy()
      want_start[min(turn * 4, 6):][:4] = want[0, merged_rows]
      errors[f"{kind}/{turn}"] = max(float(np.abs(tables - want).max()),
                                     float(np.abs(new_start - want_start[None]).max()))
  return errors


def train(sync_every: int, num_devices: int, calls: int = 3, steps: int = 8,
          sync_rows: int = 20, total_steps: int = 0, **fields) -> dict:
  rng = np.random.default_rng(0)
  counts = np.sort(rng.integers(5, 200, 60))[::-1].astype(np.int64)
  tokens = rng.choice(60, 4000, p=counts / counts.sum())
  corpus = C.make_device_corpus(tokens, np.arange(4000) // 25, counts, 1e-2)
  cfg = TrainConfig(dim=8, window=3, negatives=4, batch_size=32, learning_rate=0.1,
                    context_init="uniform", sync_every=sync_every, sync_rows=sync_rows,
                    **fields)
  method = methods.build(cfg, Vocab(tuple(f"w{i}" for i in range(60)), counts))
  topology = parallel.make_topology(num_devices)
  opt = optim.make_optimizer(cfg.optimizer, cfg.learning_rate, 100)
  state = parallel.replicate(step.init_state(cfg, method, opt), topology)
  train_step = step.make_train_step(cfg, method, opt, topology, total_steps)
  epoch = step.place_epoch(C.make_epoch(jax.random.key(3), corpus, cfg.batch_size), topology)
  totals, spread = step.zero_totals(topology), 0.0
  for i in range(calls):
    state, totals = train_step(state, totals, epoch, i * steps * cfg.batch_size, steps)
    for table in state.params.values():  # every device's copy, after each merge
      copies = [np.asarray(shard.data) for shard in table.addressable_shards]
      spread = max(spread, max(float(np.abs(c - copies[0]).max()) for c in copies))
  return {"tables": {k: v.tolist() for k, v in parallel.to_host(state.params).items()},
          "pairs": int(parallel.to_host(totals)["pairs"]), "spread": spread}


HS = {"objective": "hierarchical_softmax"}
# Subwords: u's rows are merged in the order of their use (an index set, not a block).
SUBWORDS = {"minn": 2, "maxn": 3, "buckets": 50}
ROTATED = 480


def main():
  assert jax.device_count() == 4, jax.devices()
  # 20 frequent rows of 60 merge every 4 steps, the others at the end of each call of 8.
  json.dump({"merge_errors": merge_errors(), "local": train(4, 4), "local_again": train(4, 4),
             "synchronous": train(1, 4), "one_device": train(4, 1),
             # Calls of one step: every copy takes one step from the same tables, so the
             # sum of their changes (every row merged at the call's end: no frequent rows)
             # is the synchronous step.
             "local_one_step": train(4, 4, calls=12, steps=1, sync_rows=0),
             "synchronous_one_step": train(1, 4, calls=12, steps=1),
             "hs_local_one_step": train(4, 4, calls=12, steps=1, sync_rows=0, **HS),
             "hs_synchronous_one_step": train(1, 4, calls=12, steps=1, **HS),
             # The tree's 20 nodes nearest the root merge by the copies' mean.
             "hs_start": train(4, 2, calls=0, **HS),
             "hs_local_step": train(4, 2, calls=1, steps=1, **HS),
             "hs_synchronous_step": train(1, 2, calls=1, steps=1, **HS),
             # On 2 devices the frequent rows' merge is the plain sum too (the agreement
             # factor's floor is 2/n): the rows merged after the step, here an index
             # set, and those merged at the call's end make the synchronous step.
             "subword_local_one_step": train(4, 2, calls=12, steps=1, **SUBWORDS),
             "subword_synchronous_one_step": train(1, 2, calls=12, steps=1, **SUBWORDS),
             "subword_local": train(4, 4, **SUBWORDS),
             # Every other row merged a third at a time with the frequent rows (a run of
             # 480 steps merges every row once per 3 merges: step.row_rotation).
             "turn_errors": turn_errors(),
             "rotated": train(4, 4, total_steps=ROTATED),
             "rotated_again": train(4, 4, total_steps=ROTATED),
             "rotated_one_step": train(4, 4, calls=12, steps=1, sync_rows=0,
                                       total_steps=ROTATED),
             "hs_rotated_one_step": train(4, 4, calls=12, steps=1, sync_rows=0,
                                          total_steps=ROTATED, **HS),
             "subword_rotated_one_step": train(4, 2, calls=12, steps=1, total_steps=ROTATED,
                                               **SUBWORDS)}, sys.stdout)


if __name__ == "__main__":
  main()
