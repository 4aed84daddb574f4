"""CBOW (Mikolov et al. 2013): the mean of the context words' vectors predicts the centre.

The mean, not the sum (gensim's cbow_mean=1, word2vec.c's default). As in word2vec.c and
gensim, every context word receives the whole gradient of the mean (``neu1e``), not 1/n
of it (``base.masked_mean``): n times the exact gradient of the mean for a window of n
context words, which is what the reference implementations train with.
"""

from __future__ import annotations

import jax.numpy as jnp

from w2vjax.corpus import Batch
from w2vjax.methods.base import Inputs, masked_mean, padded_inputs

LEARNING_RATE = 0.05  # word2vec.c's default for CBOW


def context_mean_inputs(params: dict, constants: dict, batch: Batch) -> Inputs:
  vectors = masked_mean(params["u"], batch.contexts, batch.mask)
  has_context = (batch.mask.sum(axis=1) > 0).astype(jnp.float32)
  return padded_inputs("u", vectors[:, None], batch.contexts[:, None], batch.mask[:, None],
                       batch.targets[:, None], has_context[:, None, None])


def windows(batch: Batch):
  """CBOW's predictions in a batch: one per window with a context word."""
  return jnp.sum(batch.mask.sum(axis=1) > 0, dtype=jnp.int32)
