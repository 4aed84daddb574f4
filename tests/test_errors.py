"""One line for a user's error at a command line, whatever program reports it."""

import sys

import pytest

from w2vjax.errors import InputError, one_line_errors


def test_a_command_line_reports_a_user_error_as_one_line():
  def main(argv):
    raise InputError(f"bad input {argv[1]}")
  with pytest.raises(SystemExit) as exit_:
    one_line_errors(main)(["prog", "x"])
  assert exit_.value.code == "error: bad input x"  # sys.exit prints it, status 1
  with pytest.raises(SystemExit, match="^error: disk full$"):
    one_line_errors(lambda argv: (_ for _ in ()).throw(OSError("disk full")))([])


def test_other_errors_keep_their_traceback():
  def main(argv):
    raise KeyError("a bug")
  with pytest.raises(KeyError):
    one_line_errors(main)([])
  with pytest.raises(ValueError):  # ValueError is the caller's to catch, not by default
    one_line_errors(lambda argv: int("x"))([])
  with pytest.raises(SystemExit, match="^error: invalid literal"):
    one_line_errors(lambda argv: int("x"), catch=(ValueError,))([])


def test_a_benchmark_child_that_fails_is_its_own_error_line(load_benchmark):
  children = load_benchmark("children")
  with pytest.raises(InputError, match="^the child failed: boom$"):
    children.run_child([sys.executable, "-c", "import sys; sys.exit('error: boom')"],
                       "the child")
  with pytest.raises(InputError, match="^the child failed: exit code 3$"):
    children.run_child([sys.executable, "-c", "import sys; sys.exit(3)"], "the child")
  with pytest.raises(InputError, match="^the child failed: boom$"):  # not the later warning
    children.run_child([sys.executable, "-c", "import sys; print('error: boom', file=sys.stderr);"
                        " print('a warning at exit', file=sys.stderr); sys.exit(1)"], "the child")
  assert children.run_child([sys.executable, "-c", "print('ok')"], "the child").stdout == "ok\n"
