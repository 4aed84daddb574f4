"""Evaluates word vectors, or a subword model, on every data set in a folder; prints a table.

  python -m w2vjax.evaluate --vectors=FILE [--data_dir=DIR] [--json=OUT]
  python -m w2vjax.evaluate --model=FILE_OR_WORKDIR [--data_dir=DIR] [--json=OUT]

``--vectors`` reads word2vec text, word2vec binary or headerless GloVe text, or a PPMI
run's sparse rows (vectors.npz: classification is skipped for them). ``--model``
reads a subword model (w2vjax.subwords: a model.npz, or the workdir of a run trained with
subwords): its vocabulary's vectors are evaluated as vectors are, and similarity pairs with
words outside the vocabulary are scored from those words' n-grams instead of skipped.
Every set under the data folder (the sets bundled in the package by default) is evaluated;
one table is printed and optionally JSON keyed by each data set's file name is written. The
functions behind it live in w2vjax.evaluation.
"""

from __future__ import annotations

import time
from pathlib import Path

from absl import app, flags, logging

from w2vjax import io_utils
from w2vjax.embeddings import Embeddings
from w2vjax.errors import InputError, one_line_errors
from w2vjax.evaluation import ANALOGY_METHODS, evaluate, format_table
from w2vjax.ppmi import SparseEmbeddings
from w2vjax.subwords import SubwordModel


def load_source(vectors: str | None, model: str | None):
  """(embeddings, oov_vector or None, a description for the JSON) from the one flag given."""
  if (vectors is None) == (model is None):
    raise InputError("give one of --vectors=FILE and --model=FILE_OR_WORKDIR")
  if vectors is not None:
    # A PPMI run's sparse rows are a .npz file (word2vec's formats hold dense rows only).
    read = SparseEmbeddings.load if Path(vectors).suffix == ".npz" else Embeddings.load
    return read(vectors), None, {"vectors": str(vectors)}
  subword_model = SubwordModel.load(model)
  about = {"model": str(model), "minn": subword_model.minn, "maxn": subword_model.maxn,
           "buckets": subword_model.buckets}
  return subword_model.embeddings(), subword_model.oov_vector, about


def main(argv) -> None:
  del argv
  logging.set_verbosity(logging.WARNING)
  f = flags.FLAGS
  if f.json:
    io_utils.check_output_folder(f.json)
  t0 = time.perf_counter()
  emb, oov_vector, about = load_source(f.vectors, f.model)
  loaded = time.perf_counter()
  results = evaluate(emb, f.data_dir, f.restrict_vocab, not f.skip_classification,
                     "tfidf" if f.tfidf else "mean", tuple(f.analogy_methods), oov_vector)
  done = time.perf_counter()
  source = f.vectors or f.model
  extra = (f" + {about['buckets']} buckets of {about['minn']}-{about['maxn']}-grams"
              if oov_vector else "")
  print(f"{source}: {len(emb)} words x {emb.dim}{extra}; read in {loaded - t0:.1f} s, "
        f"evaluated in {done - loaded:.1f} s")
  print(format_table(results))
  if f.json:
    io_utils.write_json(f.json, {**about, "words": len(emb), "dim": emb.dim, "results": results})


if __name__ == "__main__":
  flags.DEFINE_string("vectors", None, "word2vec text/binary or GloVe text file")
  flags.DEFINE_string("model", None, "subword model: model.npz or a workdir holding one "
                      "(instead of --vectors)")
  flags.DEFINE_string("data_dir", None, "evaluation data folder (default: the bundled sets)")
  flags.DEFINE_string("json", None, "also write the results to this JSON file")
  flags.DEFINE_integer("restrict_vocab", 30000, "analogy answers from this many frequent words")
  flags.DEFINE_bool("tfidf", False, "TF-IDF-weighted averages for classification features")
  flags.DEFINE_bool("skip_classification", False, "skip the classification sets")
  flags.DEFINE_list("analogy_methods", list(ANALOGY_METHODS), "3cosadd and/or 3cosmul")
  app.run(one_line_errors(main, catch=(OSError, ValueError)))
