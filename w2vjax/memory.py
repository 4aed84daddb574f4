"""A run's memory need, estimated before anything is allocated, against what the device has."""

from __future__ import annotations

import os

import jax
import numpy as np

from w2vjax.config import TrainConfig
from w2vjax.errors import InputError

_F32 = 4
_OPTIMIZER_COPIES = {"sgd": 0, "adagrad": 1, "adam": 2}  # state arrays per table


def table_bytes(method) -> int:
  """Bytes of the method's tables, from the shapes its ``init`` would give (nothing is
  allocated)."""
  shapes = jax.eval_shape(method.init, jax.random.key(0))
  return sum(int(np.prod(x.shape)) * x.dtype.itemsize for x in jax.tree.leaves(shapes))


def estimate_bytes(config: TrainConfig, method, num_tokens: int, table_devices: int = 1,
                   merged: bool = False) -> int:
  """Peak bytes of a training step on one device: tables, optimizer state, corpus and step
  temporaries; with the tables split by rows over ``table_devices`` devices
  (``shard_tables``), each holds that share of the tables, their state and gradients;
  ``merged``: devices train their own copies, and keep the tables and state of the last
  merge (``TrainConfig.sync_every``)."""
  tables = -(-table_bytes(method) // table_devices)
  state = _OPTIMIZER_COPIES.get(config.optimizer, 2) * tables
  corpus = 6 * num_tokens * _F32  # corpus, sentence ids, and the epoch's compacted copies
  step = config.batch_size * method.step_floats * _F32
  if method.row_grads is None or config.update == "dense":
    step += tables  # dense gradients of every table
  return (2 if merged else 1) * (tables + state) + corpus + step


def available_bytes(device: jax.Device | None = None) -> int | None:
  """Free memory on ``device`` (host memory for a CPU), or None if it cannot be told."""
  device = device or jax.local_devices()[0]
  stats = device.memory_stats() if hasattr(device, "memory_stats") else None
  if stats and "bytes_limit" in stats:
    return int(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
  if device.platform == "cpu":
    try:
      with open("/proc/meminfo") as f:
        fields = dict(line.split(":", 1) for line in f)
      return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
      return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
  return None


def check_fits(config: TrainConfig, method, num_tokens: int, vocab_size: int,
               available: int | None = None, table_devices: int = 1, merged: bool = False,
               sharing: int = 1) -> None:
  """Raises InputError naming a smaller setting if the run cannot fit the device.

  ``sharing`` devices draw on the same memory (CPU devices share the host's). The hint's
  vocabulary assumes that everything but the corpus grows in proportion to the
  vocabulary, which holds for the tables and for full softmax's logits; 1% is kept spare
  for the terms that do not.
  """
  def need_for(tokens):
    return sharing * estimate_bytes(config, method, tokens, table_devices, merged)

  need = need_for(num_tokens)
  available = available_bytes() if available is None else available
  if available is None or need <= 0.9 * available:
    return
  gib = 2 ** 30
  corpus = need - need_for(0)
  fitting = int(0.99 * vocab_size * (0.9 * available - corpus) / max(need - corpus, 1))
  raise InputError(f"this run needs about {need / gib:.1f} GiB but the device has "
                   f"{available / gib:.1f} GiB free ({vocab_size} words x {config.dim} dims, "
                   f"{method.name}): try --config.max_vocab={max(fitting, 2)}, a smaller "
                   "--config.dim or a smaller --config.batch_size")
