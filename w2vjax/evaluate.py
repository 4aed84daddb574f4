"""Evaluates a vectors file on every data set in a folder and prints one table.

  python -m w2vjax.evaluate --vectors=FILE [--data_dir=DIR] [--json=OUT]

reads word2vec text, word2vec binary or headerless GloVe text, evaluates the vectors on
every set under the data folder (the sets bundled in the package by default), prints one
table and optionally writes JSON keyed by each data set's file name. The functions behind
it live in w2vjax.evaluation.
"""

from __future__ import annotations

import sys
import time

from absl import app, flags, logging

from w2vjax import io_utils
from w2vjax.embeddings import Embeddings
from w2vjax.errors import InputError
from w2vjax.evaluation import ANALOGY_METHODS, evaluate, format_table


def main(argv) -> None:
  del argv
  logging.set_verbosity(logging.WARNING)
  f = flags.FLAGS
  try:
    t0 = time.perf_counter()
    emb = Embeddings.load(f.vectors)
    loaded = time.perf_counter()
    results = evaluate(emb, f.data_dir, f.restrict_vocab, not f.skip_classification,
                       "tfidf" if f.tfidf else "mean", tuple(f.analogy_methods))
  except (InputError, OSError, ValueError) as e:
    if f.debug:
      raise
    sys.exit(f"error: {e}")
  done = time.perf_counter()
  print(f"{f.vectors}: {len(emb)} words x {emb.dim}; read in {loaded - t0:.1f} s, "
        f"evaluated in {done - loaded:.1f} s")
  print(format_table(results))
  if f.json:
    io_utils.write_json(f.json, {"vectors": str(f.vectors), "words": len(emb), "dim": emb.dim,
                                 "results": results})


if __name__ == "__main__":
  flags.DEFINE_string("vectors", None, "word2vec text/binary or GloVe text file", required=True)
  flags.DEFINE_string("data_dir", None, "evaluation data folder (default: the bundled sets)")
  flags.DEFINE_string("json", None, "also write the results to this JSON file")
  flags.DEFINE_integer("restrict_vocab", 30000, "analogy answers from this many frequent words")
  flags.DEFINE_bool("tfidf", False, "TF-IDF-weighted averages for classification features")
  flags.DEFINE_bool("skip_classification", False, "skip the classification sets")
  flags.DEFINE_list("analogy_methods", list(ANALOGY_METHODS), "3cosadd and/or 3cosmul")
  flags.DEFINE_bool("debug", False, "show the traceback of an error")
  app.run(main)
