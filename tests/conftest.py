import importlib.util
import os
import tempfile
from pathlib import Path

import jax
import pytest

from w2vjax.datasets import write_topic_corpus

# Compiling dominates the suite's time: most tests train for a second or two, some steps
# compile again and again (a run and its resume, one small config in many tests). So the
# test processes, and the runs they start (which inherit the environment), share JAX's
# persistent compilation cache, and XLA:CPU compiles at LLVM level 1, not 2: a quarter less
# compile time, and the quickstart trains as fast (30 s either way here) to the same
# vectors. Compiled code is read back from the cache as it was written.
_JAX_CACHE = {
    "jax_compilation_cache_dir": str(Path(tempfile.gettempdir())
                                     / f"w2vjax-tests-jax-cache-{os.getuid()}"),
    "jax_persistent_cache_min_compile_time_secs": 0.0,
    "jax_persistent_cache_min_entry_size_bytes": 0,
}
_XLA_OPTIMIZATION = "--xla_backend_optimization_level"


def pytest_configure(config):
  for name, value in _JAX_CACHE.items():
    os.environ[name.upper()] = str(value)
    jax.config.update(name, value)
  flags = os.environ.get("XLA_FLAGS", "")
  if _XLA_OPTIMIZATION not in flags:  # no backend has started yet: it reads them at start
    os.environ["XLA_FLAGS"] = f"{flags} {_XLA_OPTIMIZATION}=1".strip()


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
