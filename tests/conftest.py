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
