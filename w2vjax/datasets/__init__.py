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

import importlib.resources
from pathlib import Path

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


def similarity_dir() -> Path:
  return data_dir() / "similarity"


def analogy_path() -> Path:
  return data_dir() / "analogy" / "questions-words.txt"
