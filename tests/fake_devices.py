"""Environments for subprocesses that start JAX with a given number of fake CPU devices.

The device count is added to the XLA flags the tests run with (tests/conftest.py), not
put in their place; it is fixed when JAX starts, hence the subprocesses.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_COUNT_FLAG = "--xla_force_host_platform_device_count"


def environment(count: int) -> dict:
  """This environment with ``count`` fake CPU devices (1: no fake count), the repository
  importable."""
  flags = [f for f in os.environ.get("XLA_FLAGS", "").split() if _COUNT_FLAG not in f]
  if count > 1:
    flags.append(f"{_COUNT_FLAG}={count}")
  return {**os.environ, "PYTHONPATH": str(ROOT), "XLA_FLAGS": " ".join(flags)}
