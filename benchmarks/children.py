"""The benchmarks' child processes: a child that fails is one error line, its own."""

from __future__ import annotations

import subprocess

from w2vjax.errors import InputError


def run_child(command: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
  """``subprocess.run(command)`` with its output captured as text. A failure raises one
  InputError naming ``what`` and the child's last line of stderr (w2vjax's commands end
  with their ``error: ...`` line; a Python traceback ends with the exception)."""
  proc = subprocess.run(command, capture_output=True, text=True, errors="replace", **kwargs)
  if proc.returncode:
    lines = proc.stderr.strip().splitlines()
    # Its own error line, not a warning printed at its exit after it.
    errors = [line for line in lines if line.startswith("error: ")]
    last = (errors or lines or [f"exit code {proc.returncode}"])[-1]
    raise InputError(f"{what} failed: {last.removeprefix('error: ')}")
  return proc
