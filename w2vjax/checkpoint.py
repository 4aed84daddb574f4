"""Training checkpoints: the whole TrainState plus where the loop stood, in one atomic file.

A checkpoint holds the tables, the optimizer state, the step, the PRNG key, the loop's
position (epoch, chunk within it and step within that: a chunk's subsampling and order
are a pure function of the seed, the epoch number and the chunk, so they are recomputed,
not stored), the metrics so far and
the config. Resuming from it continues exactly where the run stopped: the same seed gives
the same vectors whether or not the run was interrupted.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import jax
import numpy as np

from w2vjax import io_utils, parallel

FILENAME = "checkpoint.npz"
# Fields that may change between a run and its resumption: they do not affect the vectors.
RESUMABLE_CHANGES = frozenset({"log_every_seconds", "checkpoint_every_seconds", "resume",
                               "eval_restrict_vocab", "cache_dir", "parallel", "tensorboard",
                               "shard_tables", "tokenize_workers"})


@dataclasses.dataclass(frozen=True)
class Position:
  epoch: int  # epochs completed before the current one
  step_in_epoch: int  # steps of the current chunk (the whole epoch, unchunked) applied
  step: int  # steps applied in all
  chunk: int = 0  # chunks of the epoch completed before the current one (older files: 0)


def path_in(workdir: str | os.PathLike) -> Path:
  return Path(workdir) / FILENAME


def save(workdir: str | os.PathLike, state, position: Position, config: dict,
         history: list[dict]) -> None:
  """Writes the checkpoint atomically: a kill leaves the previous one or this one."""
  state = state.replace(key=jax.random.key_data(state.key))
  # The whole value of each array (its shards gathered, or this process's replica), on
  # any device count; placement.Placement.to_host has already cut off any padding rows.
  leaves = parallel.to_host(jax.tree.leaves(state))
  meta = {"position": dataclasses.asdict(position), "config": config, "history": history}
  arrays = {f"leaf_{i}": np.asarray(leaf) for i, leaf in enumerate(leaves)}
  with io_utils.atomic_open(path_in(workdir), "wb") as f:
    np.savez(f, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)


def config_differences(saved: dict, current: dict) -> list[str]:
  """Names of the fields whose change would make resuming wrong."""
  names = (set(saved) | set(current)) - RESUMABLE_CHANGES
  return sorted(n for n in names if saved.get(n) != current.get(n))


def saved_config(workdir: str | os.PathLike) -> dict:
  """The config of the run that wrote the workdir's checkpoint."""
  with np.load(path_in(workdir)) as z:
    return json.loads(bytes(z["meta"]).decode())["config"]


def load(workdir: str | os.PathLike, template) -> tuple[object, Position, list[dict]]:
  """(state shaped like ``template``, position, metrics history)."""
  with np.load(path_in(workdir)) as z:
    meta = json.loads(bytes(z["meta"]).decode())
    leaves = [z[f"leaf_{i}"] for i in range(len(z.files) - 1)]
  template = template.replace(key=jax.random.key_data(template.key))
  treedef = jax.tree.structure(template)
  if treedef.num_leaves != len(leaves):
    raise ValueError(f"{path_in(workdir)} does not match this model's state")
  for saved, expected in zip(leaves, jax.tree.leaves(template)):
    if saved.shape != expected.shape or saved.dtype != expected.dtype:
      raise ValueError(f"a saved array is {saved.dtype}{list(saved.shape)}, this model's is "
                       f"{expected.dtype}{list(expected.shape)} (has the corpus changed?)")
  state = jax.tree.unflatten(treedef, [jax.numpy.asarray(x) for x in leaves])
  state = state.replace(key=jax.random.wrap_key_data(state.key))
  return state, Position(**meta["position"]), meta["history"]
