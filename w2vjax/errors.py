"""Errors that mean "your input or settings are wrong", reported to users in one line."""

from __future__ import annotations

import functools
import sys
from typing import Callable


class InputError(ValueError):
  """A bad setting or bad data: the message names the problem and, if it can, the fix."""


def one_line_errors(main: Callable, catch: tuple = (OSError,)) -> Callable:
  """``main`` for ``absl.app.run`` that reports an ``InputError`` (or an error of a kind
  in ``catch``) as one ``error: ...`` line and exit status 1, not a traceback. Defines
  the flag ``--debug``, which shows the traceback instead."""
  from absl import flags  # only command lines use absl's flags
  if "debug" not in flags.FLAGS:
    flags.DEFINE_bool("debug", False, "show the traceback of an error")

  @functools.wraps(main)
  def reported(argv):
    try:
      return main(argv)
    except (InputError, *catch) as e:
      if flags.FLAGS.is_parsed() and flags.FLAGS.debug:
        raise
      sys.exit(f"error: {e}")
  return reported
