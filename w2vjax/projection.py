"""Projections of points to 2-D for a picture: PCA, and an exact t-SNE written in JAX.

The t-SNE is exact (every pair of points, O(n^2) a step), for up to a few hundred points;
both projections give the same coordinates for the same input (and seed).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from w2vjax.errors import InputError

METHODS = ("pca", "tsne")


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
            exaggeration_steps: int | None = None) -> np.ndarray:
  """Exact t-SNE (van der Maaten and Hinton, 2008) of the rows of X to 2-D, [n, 2].

  Gaussian neighbourhoods with a per-point bandwidth found by binary search to match
  ``perplexity`` (the effective number of neighbours), symmetrised; a Student-t kernel in
  2-D; KL(P||Q) descended with momentum (0.5, then 0.8) and per-coordinate gains, with P
  multiplied by ``exaggeration`` for the first ``exaggeration_steps`` steps (default: 250,
  scikit-learn's, or every step of fewer) so clusters form before they spread.
  ``learning_rate`` defaults to max(n / exaggeration / 4, 50), scikit-learn's "auto". O(n^2) time and memory a step: meant for up to a few hundred
  points. The same X and seed give the same coordinates.
  """
  X = _as_points(X)
  n = X.shape[0]
  if not 1 <= perplexity < n:
    raise InputError(f"t-SNE perplexity must be at least 1 and less than the number of "
                     f"points ({n}), got {perplexity:g}; pass a smaller --perplexity or "
                     "more words")
  if exaggeration_steps is None:
    exaggeration_steps = min(250, steps)
  if steps < 1 or not 0 <= exaggeration_steps <= steps:
    raise InputError(f"t-SNE needs steps >= 1 and 0 <= exaggeration_steps <= steps, got "
                     f"{steps} and {exaggeration_steps}")
  if learning_rate is None:
    learning_rate = max(n / exaggeration / 4, 50.0)
  y = _tsne(jnp.asarray(X, jnp.float32), jax.random.PRNGKey(seed), float(perplexity),
            float(learning_rate), float(exaggeration), steps=int(steps),
            exaggeration_steps=int(exaggeration_steps))
  return np.asarray(y, np.float64)


def project_2d(X: np.ndarray, method: str = "pca", perplexity: float = 5.0,
               steps: int = 1000, seed: int = 0) -> np.ndarray:
  """The rows of X in 2-D by ``method``, one of METHODS; the other options are t-SNE's."""
  if method == "pca":
    return pca_2d(X)
  if method == "tsne":
    return tsne_2d(X, perplexity=perplexity, steps=steps, seed=seed)
  raise InputError(f"unknown projection method {method!r}; use one of {', '.join(METHODS)}")
