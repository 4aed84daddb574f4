"""Errors that mean "your input or settings are wrong", reported to users in one line."""


class InputError(ValueError):
  """A bad setting or bad data: the message names the problem and, if it can, the fix."""
