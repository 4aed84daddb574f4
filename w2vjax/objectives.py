"""Skip-gram objectives as pure per-example functions, and their batch sums.

Per-example functions take one centre vector ``u_t`` [d] and context-side rows; batch
versions vmap them over the leading pair axis. Losses are summed, not averaged, over a
batch: the gradient of the sum applied with SGD is word2vec's per-pair update, so a
learning rate means what it means in word2vec and gensim.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from w2vjax.corpus import Batch

OBJECTIVES = ("negative_sampling", "softmax")


def full_softmax_loss(u_t: jax.Array, V: jax.Array, c: jax.Array) -> jax.Array:
  """-log softmax(V u_t)[c], through logsumexp so large scores cannot overflow."""
  logits = V @ u_t
  return jax.nn.logsumexp(logits) - logits[c]


def negative_sampling_loss(u_t: jax.Array, v_c: jax.Array, v_negs: jax.Array) -> jax.Array:
  """-log s(u_t.v_c) - sum_i log s(-u_t.v_ci), with log s computed stably."""
  return -jax.nn.log_sigmoid(u_t @ v_c) - jnp.sum(jax.nn.log_sigmoid(-(v_negs @ u_t)))


def softmax_centre_loss(u_t: jax.Array, V: jax.Array, contexts: jax.Array,
                        mask: jax.Array) -> jax.Array:
  """sum_c mask_c * full_softmax_loss(u_t, V, c) over one centre's context slots.

  The logits V u_t depend on the centre word alone, so the O(|V| d) work is done once per
  centre instead of once per pair, and the gradient with respect to the logits is one
  [|V|] vector rather than one per context.
  """
  logits = V @ u_t
  return jnp.sum(mask) * jax.nn.logsumexp(logits) - jnp.sum(mask * logits[contexts])


def pair_losses(objective: str, params: dict, batch: Batch) -> jax.Array:
  """Loss of every pair in the batch [B, C], zero where the mask is zero."""
  u_t = params["u"][batch.targets]
  if objective == "softmax":
    per_centre = jax.vmap(full_softmax_loss, in_axes=(None, None, 0))
    losses = jax.vmap(per_centre, in_axes=(0, None, 0))(u_t, params["v"], batch.contexts)
  elif objective == "negative_sampling":
    per_centre = jax.vmap(negative_sampling_loss, in_axes=(None, 0, 0))
    losses = jax.vmap(per_centre)(u_t, params["v"][batch.contexts], params["v"][batch.negatives])
  else:
    raise ValueError(f"unknown objective {objective!r}; choose one of {OBJECTIVES}")
  return losses * batch.mask


def batch_loss(objective: str, params: dict, batch: Batch) -> jax.Array:
  """The summed loss over the batch's real pairs (what the dense path differentiates)."""
  if objective == "softmax":
    u_t = params["u"][batch.targets]
    return jnp.sum(jax.vmap(softmax_centre_loss, in_axes=(0, None, 0, 0))(
        u_t, params["v"], batch.contexts, batch.mask))
  return jnp.sum(pair_losses(objective, params, batch))
