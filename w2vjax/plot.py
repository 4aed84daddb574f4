"""Figures: a run's loss curve, and words' vectors projected to 2-D by PCA or t-SNE.

  python -m w2vjax.plot --vectors=FILE --words=king,queen,man,woman --out=words.png
      [--method=pca|tsne] [--perplexity=5] [--steps=1000] [--seed=0] [--title=...]
  python -m w2vjax.plot --metrics=RUN/metrics.jsonl --out=loss.png [--title=...]

Figures are drawn with matplotlib's object API on an Agg canvas (never pyplot, whose
global state and backend choice would leak into the caller) and written atomically as
PNG. matplotlib is imported only when a figure is drawn, so the projections work without
it. The t-SNE is exact (every pair of points), for up to a few hundred points.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags, logging

from w2vjax import io_utils
from w2vjax.embeddings import Embeddings
from w2vjax.errors import InputError

METHODS = ("pca", "tsne")


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
  _check_out(path)
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
# Projections to 2-D


def _as_points(X, least: int = 2) -> np.ndarray:
  X = np.asarray(X, np.float64)
  if X.ndim != 2 or X.shape[0] < least:
    raise InputError(f"expected a [points, dim] array of at least {least} points, got shape "
                     f"{X.shape}")
  if not np.all(np.isfinite(X)):
    raise InputError("the points hold NaN or infinite values")
  return X


def pca_2d(X: np.ndarray) -> np.ndarray:
  """Coordinates of the rows of X on their top two principal components, [n, 2].

  Each component's sign is fixed so that its largest loading is positive (as scikit-learn
  does), so the same data always gives the same picture. Data of rank below 2 gets a zero
  second coordinate.
  """
  X = _as_points(X)
  centred = X - X.mean(axis=0)
  _, _, vt = np.linalg.svd(centred, full_matrices=False)
  components = vt[:2]
  signs = np.sign(components[np.arange(len(components)),
                              np.argmax(np.abs(components), axis=1)])
  components = components * np.where(signs == 0, 1.0, signs)[:, None]
  coords = centred @ components.T
  if coords.shape[1] < 2:
    coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
  return coords


def _conditional_p(d2: jax.Array, perplexity: float, iterations: int = 100) -> jax.Array:
  """Row i: p(j|i) from a Gaussian around point i whose width gives the perplexity.

  All rows are searched at once: beta = 1/(2 sigma^2) doubles (or halves) until the entropy
  is bracketed, then bisects. Distances are shifted by each row's nearest neighbour first,
  which leaves p(.|i) unchanged but keeps the exponentials from underflowing.
  """
  n = d2.shape[0]
  off = ~jnp.eye(n, dtype=bool)
  d2 = d2 - jnp.min(jnp.where(off, d2, jnp.inf), axis=1, keepdims=True)
  target = jnp.log(perplexity)

  def conditional(beta):
    p = jax.nn.softmax(jnp.where(off, -beta[:, None] * d2, -jnp.inf), axis=1)
    entropy = -jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0), axis=1)
    return p, entropy

  def search(_, state):
    beta, lo, hi = state
    _, entropy = conditional(beta)
    too_wide = entropy > target  # too many effective neighbours: narrow the Gaussian
    lo = jnp.where(too_wide, beta, lo)
    hi = jnp.where(too_wide, hi, beta)
    beta = jnp.where(jnp.isinf(hi), 2 * beta, (lo + hi) / 2)
    return beta, lo, hi

  ones = jnp.ones(n, d2.dtype)
  beta, _, _ = jax.lax.fori_loop(0, iterations, search, (ones, 0 * ones, jnp.inf * ones))
  return conditional(beta)[0]


def _student_t(y: jax.Array):
  """Pairwise differences and the kernel (1 + |yi - yj|^2)^-1, zero on the diagonal."""
  diff = y[:, None, :] - y[None, :, :]
  off = 1.0 - jnp.eye(y.shape[0], dtype=y.dtype)
  return diff, off / (1.0 + jnp.sum(diff ** 2, axis=-1))


def _kl(y: jax.Array, p: jax.Array) -> jax.Array:
  """KL(P || Q) of a layout y: the cost t-SNE minimises (used to check _kl_grad)."""
  _, kernel = _student_t(y)
  q = jnp.maximum(kernel / jnp.sum(kernel), 1e-12)
  return jnp.sum(p * jnp.log(p / q))


def _kl_grad(y: jax.Array, p: jax.Array) -> jax.Array:
  """dKL/dy_i = 4 sum_j (p_ij - q_ij)(y_i - y_j)(1 + |y_i - y_j|^2)^-1, in closed form.

  Cheaper than differentiating _kl and the paper's formula; with an exaggerated P (whose
  sum is not 1) it is the update every implementation uses rather than a true gradient.
  """
  diff, kernel = _student_t(y)
  q = jnp.maximum(kernel / jnp.sum(kernel), 1e-12)
  return 4.0 * jnp.sum(((p - q) * kernel)[:, :, None] * diff, axis=1)


@functools.partial(jax.jit, static_argnames=("steps", "exaggeration_steps"))
def _tsne(x, key, perplexity, learning_rate, exaggeration, steps: int,
          exaggeration_steps: int):
  n = x.shape[0]
  d2 = jnp.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)
  # Scale distances to mean 1 so the bandwidth search starts near its answer; the
  # perplexity, not the scale, decides P.
  d2 = d2 / jnp.maximum(jnp.sum(d2) / (n * (n - 1)), 1e-12)
  p_cond = _conditional_p(d2, perplexity)
  p = jnp.maximum((p_cond + p_cond.T) / (2 * n), 1e-12)

  def step(i, state):
    y, update, gains = state
    early = i < exaggeration_steps
    grad = _kl_grad(y, jnp.where(early, exaggeration, 1.0) * p)
    # Per-coordinate gains (Jacobs' delta-bar-delta), as in the paper's own code: grow
    # while the gradient keeps its direction, shrink when it flips.
    gains = jnp.maximum(jnp.where(update * grad < 0, gains + 0.2, gains * 0.8), 0.01)
    update = jnp.where(early, 0.5, 0.8) * update - learning_rate * gains * grad
    y = y + update
    return y - jnp.mean(y, axis=0), update, gains

  y0 = 1e-4 * jax.random.normal(key, (n, 2), x.dtype)
  zeros = jnp.zeros_like(y0)
  y, _, _ = jax.lax.fori_loop(0, steps, step, (y0, zeros, jnp.ones_like(y0)))
  return y


def tsne_2d(X: np.ndarray, perplexity: float = 5.0, steps: int = 1000, seed: int = 0,
            learning_rate: float | None = None, exaggeration: float = 12.0,
            exaggeration_steps: int = 250) -> np.ndarray:
  """Exact t-SNE (van der Maaten and Hinton, 2008) of the rows of X to 2-D, [n, 2].

  Gaussian neighbourhoods with a per-point bandwidth found by binary search to match
  ``perplexity`` (the effective number of neighbours), symmetrised; a Student-t kernel in
  2-D; KL(P||Q) descended with momentum (0.5, then 0.8) and per-coordinate gains, with P
  multiplied by ``exaggeration`` for the first ``exaggeration_steps`` steps so clusters
  form before they spread. ``learning_rate`` defaults to max(n / exaggeration / 4, 50),
  scikit-learn's "auto". O(n^2) time and memory a step: meant for up to a few hundred
  points. The same X and seed give the same coordinates.
  """
  X = _as_points(X)
  n = X.shape[0]
  if not 1 <= perplexity < n:
    raise InputError(f"t-SNE perplexity must be at least 1 and less than the number of "
                     f"points ({n}), got {perplexity:g}; pass a smaller --perplexity or "
                     "more words")
  if steps < 1 or not 0 <= exaggeration_steps <= steps:
    raise InputError(f"t-SNE needs steps >= 1 and 0 <= exaggeration_steps <= steps, got "
                     f"{steps} and {exaggeration_steps}")
  if learning_rate is None:
    learning_rate = max(n / exaggeration / 4, 50.0)
  y = _tsne(jnp.asarray(X, jnp.float32), jax.random.PRNGKey(seed), float(perplexity),
            float(learning_rate), float(exaggeration), steps=int(steps),
            exaggeration_steps=int(exaggeration_steps))
  return np.asarray(y, np.float64)


# ----------------------------------------------------------------------------------------
# Words


def lookup(embeddings: Embeddings, words: list[str]) -> list[int]:
  """Row ids of ``words``: an exact match first, else the package's case-insensitive rule.

  The rule is evaluation's (gensim's ``case_insensitive=True``): a word matches its most
  frequent form in any case. An exact match wins so a vocabulary with both "US" and "us"
  can show either.
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
  _check_out(path)
  if method not in METHODS:
    raise InputError(f"unknown projection method {method!r}; use one of {', '.join(METHODS)}")
  ids = list(dict.fromkeys(lookup(embeddings, list(words))))
  if len(ids) < 2:
    raise InputError(f"need at least 2 distinct words to plot, got {len(ids)}")
  points = embeddings.unit[ids]
  if method == "pca":
    coords = pca_2d(points)
  else:
    coords = tsne_2d(points, perplexity=perplexity, steps=steps, seed=seed)
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


def _check_out(path: str | os.PathLike) -> None:
  """Fails before the work, not after it, when the PNG could not be written."""
  folder = Path(path).parent
  if not folder.is_dir():
    raise InputError(f"output folder does not exist: {folder}")


def save_png(fig, path: str | os.PathLike) -> None:
  _check_out(path)
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
  f = flags.FLAGS
  try:
    message = _run(f)
  except (InputError, OSError, ValueError) as e:
    if f.debug:
      raise
    sys.exit(f"error: {e}")
  print(message)


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
  flags.DEFINE_bool("debug", False, "show the traceback of an error")
  app.run(main)
