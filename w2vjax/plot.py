"""Figures: a run's loss curve, and words' vectors projected to 2-D by PCA or t-SNE.

  python -m w2vjax.plot --vectors=FILE --words=king,queen,man,woman --out=words.png
      [--method=pca|tsne] [--perplexity=5] [--steps=1000] [--seed=0] [--title=...]
  python -m w2vjax.plot --metrics=RUN/metrics.jsonl --out=loss.png [--title=...]

Figures are drawn with matplotlib's object API on an Agg canvas (never pyplot, whose
global state and backend choice would leak into the caller) and written atomically as
PNG; matplotlib is imported only when a figure is drawn. The projections themselves live
in w2vjax.projection.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
from absl import app, flags, logging

from w2vjax import io_utils
from w2vjax.embeddings import Embeddings
from w2vjax.errors import InputError, one_line_errors
from w2vjax.projection import METHODS, project_2d


# ----------------------------------------------------------------------------------------
# Metrics and the loss curve


def load_metrics(path: str | os.PathLike) -> list[dict]:
  """The records of a run's metrics.jsonl, one JSON object a line, in file order."""
  path = Path(path)
  if not path.is_file():
    raise InputError(f"metrics file not found: {path}")
  records = []
  with open(path, encoding="utf-8", errors="replace") as f:
    for lineno, line in enumerate(f, 1):
      if not line.strip():
        continue
      try:
        record = json.loads(line)
      except json.JSONDecodeError as e:
        raise InputError(f"{path}:{lineno}: not JSON ({e.msg}); expected a metrics.jsonl "
                         "written by a training run") from None
      if not isinstance(record, dict):
        raise InputError(f"{path}:{lineno}: expected a JSON object, got "
                         f"{type(record).__name__}")
      records.append(record)
  return records


def _column(history: list[dict], key: str) -> np.ndarray:
  values = []
  for i, record in enumerate(history):
    if not isinstance(record, dict) or key not in record:
      raise InputError(f"metrics record {i + 1} has no {key!r}; expected the records of a "
                       "training run's metrics.jsonl")
    values.append(record[key])
  try:
    return np.asarray(values, np.float64)
  except (TypeError, ValueError):
    raise InputError(f"metrics field {key!r} holds something that is not a number") from None


def plot_loss_curve(history: list[dict], path: str | os.PathLike, title: str = "") -> None:
  """Draws loss against elapsed seconds and against words trained; writes a PNG.

  Both axes because each answers a different question: time shows what a setting costs,
  words compares runs of different speed at the same amount of data.
  """
  io_utils.check_output_folder(path)
  if not history:
    raise InputError("no metrics to plot: the history is empty (did the run report yet?)")
  loss = _column(history, "loss")
  elapsed = _column(history, "elapsed_sec")
  words = _column(history, "words")
  fig = new_figure((10, 4))
  by_time, by_words = fig.subplots(1, 2, sharey=True)
  by_time.plot(elapsed, loss, marker="." if len(loss) < 50 else None)
  by_time.set_xlabel("elapsed seconds")
  by_time.set_ylabel("training loss")
  by_words.plot(words / 1e6, loss, marker="." if len(loss) < 50 else None)
  by_words.set_xlabel("words trained (millions)")
  for ax in (by_time, by_words):
    ax.grid(True, alpha=0.3)
  if title:
    fig.suptitle(title)
  save_png(fig, path)


# ----------------------------------------------------------------------------------------
# Words


def lookup(embeddings: Embeddings, words: list[str]) -> list[int]:
  """Row ids of ``words``: an exact match first, else the package's case-insensitive rule.

  The rule is evaluation's (gensim's ``case_insensitive=True``): a word matches its most
  frequent form in any case. An exact match wins so a vocabulary with both "US" and "us"
  can show either. Embeddings' own lookup (behind ``similarity`` and ``analogy``) is exact
  only, so it would refuse "King" in a vocabulary of "king".
  """
  folded = None
  ids, missing = [], []
  for word in words:
    i = embeddings.index.get(word)
    if i is None:
      if folded is None:
        folded = embeddings.folded_index()
      i = folded.get(word.lower())
    if i is None:
      missing.append(word)
    else:
      ids.append(i)
  if missing:
    raise InputError(f"not in the vocabulary ({len(embeddings)} words): {', '.join(missing)}")
  return ids


def plot_words(embeddings: Embeddings, words: list[str], path: str | os.PathLike,
               method: str = "pca", perplexity: float = 5.0, steps: int = 1000,
               seed: int = 0, title: str = "") -> np.ndarray:
  """Scatters ``words`` by their unit-normalised vectors projected to 2-D; writes a PNG.

  Unit vectors because the package compares words by cosine, so the picture shows the
  geometry the similarities use, not word frequency (which shows in vector length).
  A word asked twice (or in two cases that find one vector) is drawn once. Returns the
  [n, 2] coordinates drawn, in the order of the distinct words.
  """
  io_utils.check_output_folder(path)
  ids = list(dict.fromkeys(lookup(embeddings, list(words))))
  if len(ids) < 2:
    raise InputError(f"need at least 2 distinct words to plot, got {len(ids)}")
  coords = project_2d(embeddings.unit[ids], method, perplexity, steps, seed)
  labels = [embeddings.words[i] for i in ids]
  fig = new_figure((7, 6))
  ax = fig.add_subplot()
  ax.scatter(coords[:, 0], coords[:, 1], s=16)
  for label, (x, y) in zip(labels, coords):
    ax.annotate(label, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=9)
  if method == "pca":
    ax.set_xlabel("principal component 1")
    ax.set_ylabel("principal component 2")
  else:  # t-SNE axes carry no meaning of their own
    ax.set_xticks([])
    ax.set_yticks([])
  ax.margins(0.12)  # room for the labels of the outermost points
  ax.set_aspect("equal", adjustable="datalim")  # distances on the page mean distances
  ax.set_title(title or f"{len(ids)} words, {'PCA' if method == 'pca' else 't-SNE'} of "
                        "unit vectors")
  save_png(fig, path)
  return coords


# ----------------------------------------------------------------------------------------
# Drawing


def new_figure(size: tuple[float, float]):
  """A Figure on its own Agg canvas: no pyplot, no change to the global backend."""
  try:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
  except ImportError:
    raise InputError("plotting needs matplotlib: pip install matplotlib") from None
  fig = Figure(figsize=size, layout="constrained")
  FigureCanvasAgg(fig)
  return fig


def save_png(fig, path: str | os.PathLike) -> None:
  io_utils.check_output_folder(path)
  with io_utils.atomic_open(path, "wb") as f:
    fig.savefig(f, format="png", dpi=120)


# ----------------------------------------------------------------------------------------
# Command line


def _run(f) -> str:
  if not f.out:
    raise InputError("--out is required: the PNG file to write")
  if f.metrics and (f.vectors or f.words):
    raise InputError("give --metrics for a loss curve or --vectors and --words for words, "
                     "not both")
  if f.metrics:
    plot_loss_curve(load_metrics(f.metrics), f.out, f.title)
    return f"wrote the loss curve of {f.metrics} to {f.out}"
  if not f.vectors:
    raise InputError("give --vectors=FILE and --words=w1,w2,... to plot words, or "
                     "--metrics=metrics.jsonl to plot a loss curve")
  words = [w.strip() for w in f.words or [] if w.strip()]
  if len(words) < 2:
    raise InputError(f"--words needs at least 2 words, comma-separated; got {len(words)}")
  if f.method not in METHODS:  # before reading a large vectors file
    raise InputError(f"unknown --method={f.method}; use one of {', '.join(METHODS)}")
  emb = Embeddings.load(f.vectors)
  coords = plot_words(emb, words, f.out, f.method, f.perplexity, f.steps, f.seed, f.title)
  return f"wrote {len(coords)} words ({f.method}) to {f.out}"


def main(argv) -> None:
  if len(argv) > 1:
    sys.exit(f"error: unexpected arguments: {' '.join(argv[1:])}")
  logging.set_verbosity(logging.WARNING)
  print(_run(flags.FLAGS))


if __name__ == "__main__":
  flags.DEFINE_string("vectors", None, "word2vec text/binary or GloVe text file")
  flags.DEFINE_list("words", None, "comma-separated words to plot")
  flags.DEFINE_string("metrics", None, "a run's metrics.jsonl: plot its loss curve instead")
  flags.DEFINE_string("out", None, "the PNG file to write")
  flags.DEFINE_string("method", "pca", "projection to 2-D: pca or tsne")
  flags.DEFINE_float("perplexity", 5.0, "t-SNE perplexity (effective neighbours), < words")
  flags.DEFINE_integer("steps", 1000, "t-SNE gradient steps")
  flags.DEFINE_integer("seed", 0, "t-SNE initialisation seed")
  flags.DEFINE_string("title", "", "figure title")
  app.run(one_line_errors(main, catch=(OSError, ValueError)))
