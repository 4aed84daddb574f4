"""Skip-gram (Mikolov et al. 2013): a word and the words around it predict each other.

Two orientations of the same pairs:
- word2vec.c's: each context word's input row (or its subword mean, w2vjax.methods.
  subword) predicts the centre word. With negative
  sampling the window's K noise words are shared by its pairs (one [2m, K + 1] product per
  window), and hierarchical softmax walks the centre's Huffman path once per window.
- fastText's: the centre's input row (or its subword mean) predicts each context word,
  with K noise words per pair.
Full softmax, NCE and sampled softmax keep the centre as input and draw noise per pair, as
their papers define them.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from w2vjax import objectives
from w2vjax.corpus import Batch
from w2vjax.embeddings import Embeddings
from w2vjax.methods.base import Inputs, masked_mean, padded_inputs


def context_inputs(params: dict, constants: dict, batch: Batch) -> Inputs:
  """word2vec.c's orientation: every context word's u row predicts the centre word."""
  ids = batch.contexts[:, :, None]
  return padded_inputs("u", params["u"][batch.contexts], ids, jnp.ones(ids.shape, jnp.float32),
                       batch.targets[:, None], batch.mask[:, :, None])


def centre_inputs(params: dict, ids: jax.Array, weights: jax.Array, batch: Batch) -> Inputs:
  """fastText's orientation: the mean of the rows ``ids`` [B, R] (weights [B, R]) of each
  centre word predicts every context word."""
  vectors = masked_mean(params["u"], ids, weights)
  return padded_inputs("u", vectors[:, None], ids[:, None], weights[:, None], batch.contexts,
                       batch.mask[:, None, :])


def centre_word_inputs(params: dict, constants: dict, batch: Batch) -> Inputs:
  ids = batch.targets[:, None]
  return centre_inputs(params, ids, jnp.ones(ids.shape, jnp.float32), batch)


def input_vectors(params: dict, vocab) -> Embeddings:
  """The u rows of the vocabulary's words, as word2vec exports them."""
  return Embeddings(vocab.words, params["u"][:len(vocab)])


def pairwise_loss(objective: str):
  """``(loss, row_grads)`` of a K-sample objective scored pair by pair in fastText's
  orientation (u[centre] against v[context] and K noise words per pair), differentiating
  the pair loss with respect to the gathered rows."""
  def pair_terms(params, constants, batch):
    pair_fn = objectives.sampled_pair_loss(objective, constants["noise"].log_probs)
    centres, slots = batch.contexts.shape
    pair_targets = jnp.repeat(batch.targets, slots)
    contexts = batch.contexts.reshape(-1)
    negatives = batch.negatives.reshape(centres * slots, -1)
    rows = (params["u"][pair_targets], params["v"][contexts], params["v"][negatives])
    return pair_fn, rows, contexts, negatives, batch.mask.reshape(-1)

  def loss(params, constants, batch):
    pair_fn, rows, contexts, negatives, mask = pair_terms(params, constants, batch)
    return jnp.sum(mask * jax.vmap(pair_fn)(*rows, contexts, negatives))

  def row_grads(params, constants, batch):
    pair_fn, rows, contexts, negatives, mask = pair_terms(params, constants, batch)
    losses, (du, dv_c, dv_negs) = jax.vmap(jax.value_and_grad(pair_fn, argnums=(0, 1, 2)))(
        *rows, contexts, negatives)
    centres, slots = batch.contexts.shape
    size, dim = params["u"].shape
    # A centre's pairs all touch its one u row: sum them first and scatter B rows, not B * C.
    du_rows = (du * mask[:, None]).reshape(centres, slots, dim).sum(axis=1)
    u_rows = jnp.where(batch.mask.any(axis=1), batch.targets, size)
    pair_ok = mask > 0
    v_rows = jnp.concatenate([jnp.where(pair_ok, contexts, size),
                              jnp.where(pair_ok[:, None], negatives, size).reshape(-1)])
    v_grads = jnp.concatenate([dv_c * mask[:, None],
                               (dv_negs * mask[:, None, None]).reshape(-1, dim)])
    return jnp.sum(losses * mask), {"u": (u_rows, du_rows), "v": (v_rows, v_grads)}

  return loss, row_grads


def full_softmax_loss(params: dict, constants: dict, batch: Batch) -> jax.Array:
  """-log softmax(V u_t)[c] summed over the batch's pairs, the logits computed once per
  centre word (objectives.softmax_centre_loss)."""
  per_centre = jax.vmap(objectives.softmax_centre_loss, in_axes=(0, None, 0, 0))
  return jnp.sum(per_centre(params["u"][batch.targets], params["v"], batch.contexts,
                            batch.mask))
