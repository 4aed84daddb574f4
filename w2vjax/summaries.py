"""Optional TensorBoard scalars: a writer of event files over tensorboardX.

tensorboardX is an optional extra (``pip install 'w2vjax[tensorboard]'``), imported only
when a writer is made, so the package runs without it. TensorBoard stores a scalar as
float32. The library writes events and never reads them: TensorBoard does, and the tests
check what was written with TensorBoard's own reader.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from w2vjax.errors import InputError


def _require_tensorboardx() -> None:
  try:
    import tensorboardX  # noqa: F401
  except ImportError:
    raise InputError("--config.tensorboard=true needs tensorboardX: "
                     "pip install 'w2vjax[tensorboard]'") from None


class TensorBoardWriter:
  """Writes named scalars at training steps into an event file under ``logdir``.

  Writes go straight to the file, one event a step, and ``flush`` puts them on disk:
  tensorboardX's ``SummaryWriter`` queues events for a background thread that its
  ``flush()`` does not drain, so what a run reported could be missing when it checkpoints
  or is killed. Names become TensorBoard tags: characters other than letters, digits and
  ``_-/.`` turn into ``_``.

  ``purge_step``, for a run resumed from a checkpoint at that step, tells TensorBoard to
  drop what the interrupted run wrote at that step or later, so the curves show each step
  once.
  """

  def __init__(self, logdir: str | os.PathLike, purge_step: int | None = None):
    _require_tensorboardx()
    from tensorboardX.event_file_writer import EventsWriter
    from tensorboardX.proto.event_pb2 import Event, SessionLog
    from tensorboardX.proto.summary_pb2 import Summary
    from tensorboardX.summary import scalar  # cleans a tag as add_scalar does
    self._event, self._summary, self._scalar = Event, Summary, scalar
    self.logdir = Path(logdir)
    self.logdir.mkdir(parents=True, exist_ok=True)
    # The file is named by the second and the host and opened truncating, so a writer
    # reopened within the same second (a quick resume) would erase the first one's
    # events; nanoseconds keep the names distinct and in time order.
    self._writer = EventsWriter(str(self.logdir / "events"),
                                f".{time.time_ns()}.{os.getpid()}")
    if purge_step is not None:
      self._writer.write_event(Event(wall_time=time.time(), step=int(purge_step),
                                     session_log=SessionLog(status=SessionLog.START)))
    self._closed = False

  def write_scalars(self, step: int, scalars: dict[str, float]) -> None:
    """One point per name at ``step``: loss, learning rate, words/s, ..."""
    if self._closed:
      raise ValueError(f"TensorBoardWriter for {self.logdir} is closed")
    summary = self._summary(value=[self._scalar(name, float(x)).value[0]
                                   for name, x in scalars.items()])
    self._writer.write_event(self._event(wall_time=time.time(), step=int(step),
                                         summary=summary))

  def flush(self) -> None:
    """Puts everything written so far on disk (and fsyncs it)."""
    if not self._closed:
      self._writer.flush()

  def close(self) -> None:
    if not self._closed:
      self._closed = True
      self._writer.close()

  def __enter__(self):
    return self

  def __exit__(self, *exc) -> None:
    self.close()
