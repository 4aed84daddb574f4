import gzip
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
  """Each test encodes corpora into its own cache, never the user's ~/.cache."""
  monkeypatch.setenv("W2VJAX_CACHE", str(tmp_path / "cache"))


def write_topic_corpus(path: Path, lines: int = 1500, words_per_topic: int = 20,
                       line_length: int = 20, seed: int = 0) -> list[list[str]]:
  """Two disjoint topic vocabularies; every line draws all its words from one topic.

  Returns the two topics' word lists. The file is gzip-compressed if ``path`` ends in .gz.
  """
  rng = np.random.default_rng(seed)
  topics = [[f"{name}{i}" for i in range(words_per_topic)] for name in ("alpha", "beta")]
  text = "\n".join(
      " ".join(rng.choice(topics[rng.integers(2)], line_length)) for _ in range(lines)) + "\n"
  if path.suffix == ".gz":
    with gzip.open(path, "wt", encoding="utf-8") as f:
      f.write(text)
  else:
    path.write_text(text, encoding="utf-8")
  return topics


@pytest.fixture
def topic_corpus(tmp_path):
  path = tmp_path / "topics.txt.gz"
  return path, write_topic_corpus(path)
