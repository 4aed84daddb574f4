"""Optional TensorBoard scalars: a writer over tensorboardX, and a reader of event files.

tensorboardX is an optional extra (``pip install 'w2vjax[tensorboard]'``), imported only
when a writer or the reader is made, so the package runs without it. TensorBoard stores a
scalar as float32; ``read_scalars`` returns exactly what was stored.
"""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

from w2vjax.errors import InputError

_INSTALL = "pip install 'w2vjax[tensorboard]'"


def _require_tensorboardx(purpose: str) -> None:
  try:
    import tensorboardX  # noqa: F401
  except ImportError:
    raise InputError(f"{purpose} needs tensorboardX: {_INSTALL}") from None


class TensorBoardWriter:
  """Writes named scalars at training steps into an event file under ``logdir``.

  Writes go straight to the file, one event a step, and ``flush`` puts them on disk:
  tensorboardX's ``SummaryWriter`` queues events for a background thread that its
  ``flush()`` does not drain, so what a run reported could be missing when it checkpoints
  or is killed. Names become TensorBoard tags: characters other than letters, digits and
  ``_-/.`` turn into ``_``.

  ``purge_step``, for a run resumed from a checkpoint at that step, tells TensorBoard (and
  ``read_scalars``) to drop what the interrupted run wrote at that step or later, so the
  curves show each step once.
  """

  def __init__(self, logdir: str | os.PathLike, purge_step: int | None = None):
    _require_tensorboardx("--config.tensorboard=true")
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


def _masked_crc(data: bytes) -> int:
  from tensorboardX.crc32c import crc32c
  crc = crc32c(data) & 0xFFFFFFFF
  return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _records(path: Path):
  """The payloads of a TFRecord file: [uint64 length][uint32 masked crc of the length]
  [data][uint32 masked crc of the data], little-endian.

  A record cut short at the end is what a killed writer leaves; like TensorBoard, reading
  stops there. A checksum that does not match is corruption, and says where.
  """
  data = path.read_bytes()
  pos = 0
  while pos + 12 <= len(data):
    header = data[pos:pos + 8]
    (length,), (length_crc,) = struct.unpack("<Q", header), struct.unpack(
        "<I", data[pos + 8:pos + 12])
    if _masked_crc(header) != length_crc:
      raise InputError(f"{path}: corrupt event record at byte {pos} (length checksum)")
    end = pos + 12 + length + 4
    if end > len(data):
      return
    payload = data[pos + 12:pos + 12 + length]
    (data_crc,) = struct.unpack("<I", data[end - 4:end])
    if _masked_crc(payload) != data_crc:
      raise InputError(f"{path}: corrupt event record at byte {pos} (data checksum)")
    yield payload
    pos = end


def read_scalars(logdir: str | os.PathLike) -> dict[str, list[tuple[int, float]]]:
  """Every scalar in the event files directly under ``logdir``: name -> [(step, value)].

  Files are read in name order (time order, as TensorBoard reads them) and points in the
  order written. A purge marker (a writer made with ``purge_step``) drops the points
  already read at that step or later, as TensorBoard does.
  """
  _require_tensorboardx("reading TensorBoard events")
  from google.protobuf.message import DecodeError
  from tensorboardX.proto.event_pb2 import Event, SessionLog
  logdir = Path(logdir)
  if not logdir.is_dir():
    raise InputError(f"TensorBoard log folder not found: {logdir}")
  scalars: dict[str, list[tuple[int, float]]] = {}
  for path in sorted(logdir.glob("*tfevents*")):
    for payload in _records(path):
      event = Event()
      try:
        event.ParseFromString(payload)
      except DecodeError as e:
        raise InputError(f"{path}: an event record is not an Event ({e})") from None
      if event.HasField("session_log") and event.session_log.status == SessionLog.START:
        for name, points in scalars.items():
          scalars[name] = [(s, v) for s, v in points if s < event.step]
      if not event.HasField("summary"):
        continue
      for value in event.summary.value:
        if value.HasField("simple_value"):
          scalars.setdefault(value.tag, []).append((int(event.step), float(value.simple_value)))
  return scalars
