"""A run's memory need, estimated before anything is allocated, against what the device has."""

from __future__ import annotations

import os

import jax

from w2vjax.config import TrainConfig
from w2vjax.errors import InputError

_F32 = 4
_OPTIMIZER_COPIES = {"sgd": 0, "adagrad": 1, "adam": 2}  # state arrays per table


def estimate_bytes(config: TrainConfig, vocab_size: int, num_tokens: int) -> int:
  """Peak bytes of a training step: tables, optimizer state, corpus and step temporaries."""
  tables = 2 * vocab_size * config.dim * _F32
  state = _OPTIMIZER_COPIES.get(config.optimizer, 2) * tables
  corpus = 6 * num_tokens * _F32  # corpus, sentence ids, and the epoch's compacted copies
  centres, slots = config.batch_size, 2 * config.window
  if config.objective == "softmax":
    # Logits, their softmax and its gradient per centre, plus dense table gradients.
    step = 3 * centres * vocab_size * _F32 + tables
  else:
    step = 3 * centres * slots * (config.negatives + 2) * config.dim * _F32
    if config.update == "dense":
      step += tables
  return tables + state + corpus + step


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


def check_fits(config: TrainConfig, vocab_size: int, num_tokens: int,
               available: int | None = None) -> None:
  """Raises InputError naming a smaller setting if the run cannot fit the device."""
  need = estimate_bytes(config, vocab_size, num_tokens)
  available = available_bytes() if available is None else available
  if available is None or need <= 0.9 * available:
    return
  gib = 2 ** 30
  if config.objective == "softmax":
    # The estimate is linear in the vocabulary: solve it for the largest that fits.
    fixed = estimate_bytes(config, 0, num_tokens)
    per_word = estimate_bytes(config, 1, num_tokens) - fixed
    fitting = int(0.9 * available - fixed) // max(per_word, 1)
    hint = (f"full softmax grows with |V| x batch: try --config.max_vocab={max(fitting, 2)} "
            f"or a smaller --config.batch_size")
  else:
    hint = "try a smaller --config.dim or --config.max_vocab"
  raise InputError(f"this run needs about {need / gib:.1f} GiB but the device has "
                   f"{available / gib:.1f} GiB free ({vocab_size} words x {config.dim} dims, "
                   f"{config.objective}): {hint}")
