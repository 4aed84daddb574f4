"""Closed-form gradients of binary logistic losses (what word2vec.c and fastText compute by hand).

Negative sampling and hierarchical softmax both score an input vector h against output
rows v_k with a label y_k: the loss is -log s(h.v_k) where y_k = 1 (the context word; the
branch whose code is 0) and -log s(-h.v_k) where y_k = 0 (a noise word; the other branch).
With s the logistic function, s' = s(1-s) and 1 - s(x) = s(-x), the gradient with respect
to the score is g = s(h.v) - y, so

  dL/dh   = sum_k g_k v_k,        dL/dv_k = g_k h.

Each occurrence contributes its own term, so the gradients stay exact when a noise word
equals the context word or repeats: the row-sparse update sums the rows' gradients
(scatter-add), just as autodiff through the gathers would.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def logistic_grads(inputs: jax.Array, outputs: jax.Array, positive: jax.Array,
                   mask: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Every input row against every output row of one window.

  ``inputs`` [H, d], ``outputs`` [O, d], ``positive`` [O] or [H, O] (label 1),
  ``mask`` [H, O] (or broadcastable: 1 where the pair (h, k) is scored). Returns
  ``(loss, dL/dinputs [H, d], dL/doutputs [O, d])``, the loss summed over the mask. The
  scores are one [H, O] matrix product: word2vec.c's skip-gram scores each context word's
  input against the centre and K shared noise words (H = 2m, O = K + 1), so a set of noise
  words shared by a window still gives 2m x K distinct noise scores.
  """
  scores = inputs @ outputs.T  # [H, O]
  # s(signed) is the probability of the right label: its log is the loss, and it gives g
  # without computing a second logistic function.
  signed = jnp.where(positive, scores, -scores)
  p_right = jax.nn.sigmoid(signed)
  # -log s(x) = -x to float32 precision where s(x) underflows.
  loss_terms = jnp.where(p_right > 1e-30, -jnp.log(jnp.maximum(p_right, 1e-30)), -signed)
  mask = jnp.broadcast_to(mask, scores.shape)
  loss = jnp.sum(mask * loss_terms)
  g = mask * jnp.where(positive, p_right - 1.0, 1.0 - p_right)
  # An elementwise product summed over inputs compiles to faster CPU code than the
  # transposed matrix product g.T @ inputs (measured 91 vs 124 us per 32-window step).
  d_outputs = jnp.sum(g[:, :, None] * inputs[:, None, :], axis=0)
  return loss, g @ outputs, d_outputs
