"""Atomic file output: a reader sees the previous complete file or the new one, never half."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from w2vjax.errors import InputError


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = None):
  """Opens a temporary file beside ``path``; renames it over ``path`` on success.

  The temporary file is in the same folder so the final ``os.replace`` is a rename on one
  file system (atomic on POSIX). On an exception the temporary file is removed and
  ``path`` is untouched.
  """
  if mode not in ("w", "wb"):
    raise ValueError(f"atomic_open writes whole files; mode must be 'w' or 'wb', not {mode!r}")
  path = Path(path)
  fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
  try:
    text_encoding = (encoding or "utf-8") if mode == "w" else None
    with os.fdopen(fd, mode, encoding=text_encoding) as f:
      # mkstemp creates the file 0600; give it the mode an ordinary open() would.
      os.chmod(tmp, 0o666 & ~_current_umask())
      yield f
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    with contextlib.suppress(FileNotFoundError):
      os.unlink(tmp)
    raise
  _fsync_dir(path.parent)


def check_output_folder(path: str | os.PathLike) -> None:
  """Fails before the work, not after it, when ``path``'s folder does not exist."""
  folder = Path(path).parent
  if not folder.is_dir():
    raise InputError(f"output folder does not exist: {folder}")


def _fsync_dir(folder: Path) -> None:
  """Makes the rename itself durable; best effort (some file systems refuse)."""
  with contextlib.suppress(OSError):
    fd = os.open(folder, os.O_RDONLY)
    try:
      os.fsync(fd)
    finally:
      os.close(fd)


def _current_umask() -> int:
  # Reading the umask means setting it; another thread could see 0 for an instant.
  mask = os.umask(0)
  os.umask(mask)
  return mask


def write_json(path: str | os.PathLike, value) -> None:
  """Writes ``value`` as indented JSON, atomically."""
  with atomic_open(path, "w") as f:
    json.dump(value, f, indent=2)
    f.write("\n")
