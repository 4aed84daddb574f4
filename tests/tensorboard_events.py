"""Reads back the scalars of TensorBoard event files, for tests of what was written.

Reading goes through the ``tensorboard`` package's own loader (a test extra), so a test
checks what TensorBoard itself would show. Importing this module skips the test that does
so when ``tensorboard`` is not installed.
"""

from __future__ import annotations

import os

import pytest

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator")


def read_scalars(logdir: str | os.PathLike) -> dict[str, list[tuple[int, float]]]:
  """Every scalar TensorBoard finds under ``logdir``: name -> [(step, value)], by step.

  Size guidance 0 keeps every point: TensorBoard's default samples scalars down to 10,000
  a tag. What a resumed run's purge step drops is dropped here too.
  """
  accumulator = event_accumulator.EventAccumulator(
      str(logdir), size_guidance={event_accumulator.SCALARS: 0})
  accumulator.Reload()
  return {tag: [(event.step, event.value) for event in accumulator.Scalars(tag)]
          for tag in accumulator.Tags()[event_accumulator.SCALARS]}
