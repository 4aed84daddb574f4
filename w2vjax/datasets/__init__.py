"""Data shipped inside the package, so a fresh machine needs neither ../shared nor a network.

The evaluation sets are laid out as in ../shared/data, so either folder can be passed as a
data_dir. All are public data sets:

  text8-1m.txt.gz               first 1M words of Matt Mahoney's text8 (English Wikipedia)
  similarity/EN-*.txt           WS-353 (all/sim/rel), SimLex-999, RG-65, MC-30, MTurk-287,
                                YP-130, VERB-143
  analogy/questions-words.txt   Mikolov et al. (2013), 19,544 questions in 14 sections
  classification/sentence_polarity/rt-polarity.{pos,neg}   Pang and Lee (2005), 10,662 sentences
  classification/movie_reviews.tsv.gz                      Pang and Lee (2004), 2,000 reviews
"""

from __future__ import annotations

import gzip
import importlib.resources
import os
from pathlib import Path

import numpy as np

from w2vjax import io_utils
from w2vjax.errors import InputError

BUNDLED_PREFIX = "bundled:"
CORPORA = {"text8-1m": "text8-1m.txt.gz"}


def data_dir() -> Path:
  # The package is installed as files (pip install / -e), so this is a real folder.
  return Path(str(importlib.resources.files(__name__)))


def resolve_corpus(corpus: str) -> Path:
  """A path for ``bundled:NAME`` or for a corpus file given by path."""
  if corpus.startswith(BUNDLED_PREFIX):
    name = corpus[len(BUNDLED_PREFIX):]
    if name not in CORPORA:
      raise InputError(f"unknown bundled corpus {name!r}; bundled: {', '.join(CORPORA)}")
    return data_dir() / CORPORA[name]
  return Path(corpus).expanduser()


def shared_data_dir() -> Path:
  """The larger data sets that are not bundled: ``$W2VJAX_DATA`` if set, else
  ``../shared/data`` beside the repository (a developer's checkout)."""
  default = Path(__file__).resolve().parents[3] / "shared" / "data"
  return Path(os.environ.get("W2VJAX_DATA", default))


def shared_corpus(name: str) -> str:
  """The path of corpus ``name`` (e.g. "wikipedia-en-9m") in ``shared_data_dir()``."""
  return str(shared_data_dir() / "corpora" / f"{name}.txt.gz")


def similarity_dir() -> Path:
  return data_dir() / "similarity"


def analogy_path() -> Path:
  return data_dir() / "analogy" / "questions-words.txt"


def write_topic_corpus(path: str | Path, lines: int = 1500, words_per_topic: int = 20,
                       line_length: int = 20, seed: int = 0) -> list[list[str]]:
  """Writes a synthetic corpus with planted structure, for tests and demonstrations.

  Two disjoint topic vocabularies; every line draws all its words from one topic, so good
  vectors put each word's nearest neighbours in its own topic. Returns the two topics'
  word lists. The file is gzip-compressed if ``path`` ends in .gz.
  """
  path = Path(path)
  rng = np.random.default_rng(seed)
  topics = [[f"{name}{i}" for i in range(words_per_topic)] for name in ("alpha", "beta")]
  text = "\n".join(
      " ".join(rng.choice(topics[rng.integers(2)], line_length)) for _ in range(lines)) + "\n"
  data = text.encode("utf-8")
  with io_utils.atomic_open(path, "wb") as f:
    f.write(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)
  return topics
