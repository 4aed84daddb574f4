import importlib.util
from pathlib import Path

import pytest

from w2vjax.datasets import write_topic_corpus


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
  """Each test encodes corpora into its own cache, never the user's ~/.cache."""
  monkeypatch.setenv("W2VJAX_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def topic_corpus(tmp_path):
  path = tmp_path / "topics.txt.gz"
  return path, write_topic_corpus(path)


@pytest.fixture(scope="session")
def load_benchmark():
  """``load_benchmark(name)``: benchmarks/NAME.py as a module (a benchmark defines its
  flags only when it runs as a script, so importing it defines none)."""
  def load(name):
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
  return load
