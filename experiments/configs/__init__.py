"""The experiments: one config file per name, ``configs/NAME.py``, whose ``get_config()``
returns an ml_collections ConfigDict (as in the flax examples and big_vision).

A config's ``job`` field says what runs it (``experiments.run.JOBS``): "train" when it is
absent (one training run: the fields are ``w2vjax.TrainConfig``'s), or a study. Training
configs import only w2vjax, so the benchmarks load them too. A file's docstring is its
description in ``python -m experiments.run --list``.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

FOLDER = Path(__file__).resolve().parent


def path(name: str) -> Path:
  return FOLDER / f"{name}.py"


def names() -> list[str]:
  return sorted(p.stem for p in FOLDER.glob("*.py") if not p.stem.startswith("_"))


def description(name: str) -> str:
  """The first paragraph of the config file's docstring, on one line."""
  doc = ast.get_docstring(ast.parse(path(name).read_text())) or ""
  return " ".join(doc.split("\n\n")[0].split())


def load(name: str):
  """The ConfigDict of ``configs/NAME.py`` (what ``--experiment=NAME`` starts from)."""
  return importlib.import_module(f"{__name__}.{name}").get_config()
