"""GloVe (Pennington et al. 2014): word and context vectors fit the log co-occurrence counts.

  J = sum_ij f(X_ij) (w_i . c_j + b_i + b~_j - log X_ij)^2,  f(x) = min(1, (x / x_max)^alpha)

over the non-zero entries of X. The loss is J / 2, the cost glove.c reports and
differentiates. Train it with ``optimizer="adagrad"``; glove.c's rate 0.05 is the default,
though on wikipedia-en-9m 0.2 learned far faster (experiments/configs/glove_wiki9m.py).
Each entry touches one row of each table, so the row gradients are closed form:
with g = f(X_ij) (w_i . c_j + b_i + b~_j - log X_ij),

  dL/dw_i = g c_j,  dL/dc_j = g w_i,  dL/db_i = dL/db~_j = g.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from w2vjax.cooccurrence import Cooccurrences
from w2vjax.embeddings import Embeddings
from w2vjax.methods.base import Method, no_model_file

LEARNING_RATE = 0.05  # glove.c's eta, with AdaGrad


def init(size: int, dim: int):
  """glove.c's initialisation: every weight and bias uniform in [-0.5 / d, 0.5 / d]."""
  def tables(key):
    shapes = {"w": (size, dim), "c": (size, dim), "bw": (size, 1), "bc": (size, 1)}
    keys = jax.random.split(key, len(shapes))
    return {name: jax.random.uniform(k, shape, jnp.float32, -0.5 / dim, 0.5 / dim)
            for k, (name, shape) in zip(keys, shapes.items())}
  return tables


def _residuals(params: dict, batch: Cooccurrences, x_max: float, alpha: float):
  """(f(X_ij) masked, w_i . c_j + b_i + b~_j - log X_ij) for the batch's entries."""
  w, c = params["w"][batch.rows], params["c"][batch.cols]
  counts = jnp.maximum(batch.counts, 1e-30)  # padding entries count 0; their weight is 0
  diff = (jnp.sum(w * c, axis=-1) + params["bw"][batch.rows, 0] + params["bc"][batch.cols, 0]
          - jnp.log(counts))
  weight = jnp.minimum(1.0, (counts / x_max) ** alpha) * batch.mask
  return weight, diff, w, c


def glove(size: int, dim: int, x_max: float, alpha: float, add_context: bool) -> Method:
  def loss(params, constants, batch):
    weight, diff, _, _ = _residuals(params, batch, x_max, alpha)
    return 0.5 * jnp.sum(weight * diff * diff)

  def row_grads(params, constants, batch):
    weight, diff, w, c = _residuals(params, batch, x_max, alpha)
    g = weight * diff
    rows = jnp.where(batch.mask > 0, batch.rows, size)
    cols = jnp.where(batch.mask > 0, batch.cols, size)
    updates = {"w": (rows, g[:, None] * c), "c": (cols, g[:, None] * w),
               "bw": (rows, g[:, None]), "bc": (cols, g[:, None])}
    return 0.5 * jnp.sum(g * diff), updates

  def embeddings(params, vocab) -> Embeddings:
    # glove.c's -model 2 (its default output): word plus context vectors.
    vectors = params["w"] + params["c"] if add_context else params["w"]
    return Embeddings(vocab.words, vectors[:len(vocab)])

  return Method(
      name="GloVe" + (" (w + c)" if add_context else ""), data="cooccurrence", constants={},
      outputs_per_pair=1, step_floats=4 * dim,
      learning_rate=LEARNING_RATE, init=init(size, dim), loss=loss, row_grads=row_grads,
      embeddings=embeddings, save_model=no_model_file)
