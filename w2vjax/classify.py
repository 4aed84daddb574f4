"""Extrinsic evaluation: document features from word vectors and a cross-validated classifier.

Features are the mean of the documents' unit-length word vectors, optionally TF-IDF
weighted. The classifier is L2-regularised logistic regression trained full-batch with
optax; the k folds of a cross-validation train at once, in one jitted call.
"""

from __future__ import annotations

import math
from collections import Counter

import jax
import jax.numpy as jnp
import numpy as np
import optax

from w2vjax.embeddings import Embeddings

WEIGHTINGS = ("mean", "tfidf")


def document_features(emb: Embeddings, documents: list[list[str]], weighting: str = "mean"
                      ) -> tuple[np.ndarray, int]:
  """[N, d] features, and how many documents had no word in the vocabulary (zero rows).

  Words are matched case-insensitively, to their most frequent form (as in evaluate.py).

  TF-IDF weights use document frequencies over ``documents`` themselves; no label is
  involved, so computing them once over all folds leaks nothing about the test labels.
  """
  if weighting not in WEIGHTINGS:
    raise ValueError(f"weighting must be one of {WEIGHTINGS}, not {weighting!r}")
  index = emb.folded_index()
  ids = [[index[w] for w in doc if w in index] for doc in documents]
  idf = None
  if weighting == "tfidf":
    df = Counter(i for doc in ids for i in set(doc))
    idf = {i: math.log(len(ids) / df[i]) + 1.0 for i in df}  # smoothed: never zero
  features = np.zeros((len(ids), emb.dim), np.float32)
  empty = 0
  for row, doc in enumerate(ids):
    if not doc:
      empty += 1
      continue
    counts = Counter(doc)
    words = np.fromiter(counts, np.int64)
    weights = np.array([counts[i] * (idf[i] if idf else 1.0) for i in words], np.float32)
    features[row] = weights @ emb.unit[words] / weights.sum()
  return features, empty


def fold_assignment(num_examples: int, folds: int, seed: int) -> np.ndarray:
  """Fold index of each example: a seeded shuffle cut into ``folds`` near-equal parts."""
  order = np.random.default_rng(seed).permutation(num_examples)
  assignment = np.empty(num_examples, np.int32)
  assignment[order] = np.arange(num_examples) % folds
  return assignment


def _fit_predict_folds(x, y, train_masks, l2: float, steps: int, learning_rate: float):
  """Trains one logistic regression per fold on its masked rows ([folds, N] masks);
  returns each fold's predictions for all rows ([folds, N])."""
  weights = train_masks / jnp.sum(train_masks, axis=1, keepdims=True)  # [F, N]
  mean = weights @ x  # [F, d]
  # One fold at a time: a vmap would hold all folds' [N, d] deviations at once.
  std = jnp.sqrt(jax.lax.map(lambda wm: wm[0] @ (x - wm[1]) ** 2, (weights, mean))) + 1e-6
  # Each fold's model is standardised with its training rows' statistics only. Its
  # weights w live in standardised units, so (x - m) / s @ w = x @ (w / s) - m @ (w / s):
  # all folds' logits are one [N, d] @ [d, F] product, x read once per step, not per fold.
  params = {"w": jnp.zeros_like(mean), "b": jnp.zeros(mean.shape[0])}
  tx = optax.adam(learning_rate)

  def logits(p):
    scaled = p["w"] / std
    return (x @ scaled.T + (p["b"] - jnp.sum(mean * scaled, axis=1))).T  # [F, N]

  def loss(p):  # the folds' losses are separable: the sum's gradient is each fold's
    nll = optax.sigmoid_binary_cross_entropy(logits(p), y[None, :])
    return jnp.sum(weights * nll) + 0.5 * l2 * jnp.sum(p["w"] ** 2)

  def step(carry, _):
    p, s = carry
    updates, s = tx.update(jax.grad(loss)(p), s)
    return (optax.apply_updates(p, updates), s), None

  (params, _), _ = jax.lax.scan(step, (params, tx.init(params)), None, length=steps)
  return logits(params) > 0


_fit_predict_folds = jax.jit(_fit_predict_folds, static_argnums=(4,))


def cross_validate(features: np.ndarray, labels: np.ndarray, folds: int = 10, seed: int = 0,
                   l2: float = 1e-4, steps: int = 500, learning_rate: float = 0.05
                   ) -> np.ndarray:
  """Test accuracy of each fold of a ``folds``-fold cross-validation (host array [folds])."""
  labels = np.asarray(labels, np.float32)
  assignment = fold_assignment(len(labels), folds, seed)
  test_masks = assignment[None, :] == np.arange(folds)[:, None]  # [folds, N]
  predictions = np.asarray(_fit_predict_folds(jnp.asarray(features), jnp.asarray(labels),
                               jnp.asarray(~test_masks, jnp.float32), l2, steps,
                               learning_rate))
  correct = predictions == labels[None, :].astype(bool)
  return (correct * test_masks).sum(axis=1) / test_masks.sum(axis=1)
