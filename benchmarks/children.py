"""The benchmarks' child processes: a child that fails is one error line, its own."""

from __future__ import annotations

import subprocess

from w2vjax.errors import InputError


def run_child(command: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
  """``subprocess.run(command)`` with its output captured as text. A failure raises one
  InputError naming ``what`` and the child's last line of stderr (w2vjax's commands end
  with their ``error: ...`` line; a Python traceback ends with the exception)."""
  proc = subprocess.run(command, capture_output=True, text=True, **kwargs)
  if proc.returncode:
    last = proc.stderr.strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
    raise InputError(f"{what} failed: {last[0].removeprefix('error: ')}")
  return proc
