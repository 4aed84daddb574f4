"""`import w2vjax`: every public name resolves, and importing the package alone leaves JAX
unimported (a tokenizing worker of w2vjax.encode needs only the text pipeline)."""

import subprocess
import sys


def _run(code: str) -> str:
  return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                        check=True).stdout


def test_importing_the_package_does_not_import_jax():
  assert _run("import sys, w2vjax; print('jax' in sys.modules)").strip() == "False"


def test_every_public_name_resolves_in_a_fresh_interpreter():
  # The README's example reads w2vjax.evaluation.format_table before anything has
  # imported w2vjax.evaluation.
  out = _run("import w2vjax\n"
             "print(callable(w2vjax.evaluation.format_table))\n"
             "print(all(getattr(w2vjax, name) is not None for name in w2vjax.__all__))")
  assert out.split() == ["True", "True"]
