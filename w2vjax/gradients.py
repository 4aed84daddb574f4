"""Closed-form gradients of the negative-sampling loss (what word2vec.c computes by hand).

For L = -log s(u.v_c) - sum_i log s(-u.v_i), with s the logistic function, s' = s(1-s)
and 1 - s(x) = s(-x):

  dL/du   = (s(u.v_c) - 1) v_c + sum_i s(u.v_i) v_i                        (a)
  dL/dv_c = (s(u.v_c) - 1) u                                              (b)
  dL/dv_j = s(u.v_j) u        for each noise word j                       (c)

(a) holds term by term, so it stays exact when a noise word equals the context word or
repeats: each occurrence contributes its own term, and the row-sparse update sums the
rows' gradients (scatter-add), just as autodiff through the gathers would.
"""

from __future__ import annotations

import jax


def negative_sampling_grads(u_t: jax.Array, v_c: jax.Array, v_negs: jax.Array
                            ) -> tuple[jax.Array, jax.Array, jax.Array]:
  """(dL/du_t [d], dL/dv_c [d], dL/dv_negs [K, d]) for one pair."""
  pos_coef = jax.nn.sigmoid(u_t @ v_c) - 1.0  # scalar, in (-1, 0)
  neg_coef = jax.nn.sigmoid(v_negs @ u_t)  # [K], in (0, 1)
  du_t = pos_coef * v_c + neg_coef @ v_negs
  return du_t, pos_coef * u_t, neg_coef[:, None] * u_t[None, :]


def shared_negative_sampling_grads(u_t: jax.Array, v_c: jax.Array, v_negs: jax.Array,
                                   mask: jax.Array):
  """One centre's pairs with K noise words shared by all of them (BlazingText's sharing).

  ``v_c`` [C, d] are the context rows, ``v_negs`` [K, d] the shared noise rows and
  ``mask`` [C] marks real pairs. The summed loss of the n = sum(mask) pairs is
  sum_c mask_c (-log s(u.v_c)) + n sum_i (-log s(-u.v_i)): a noise score u.v_i depends on
  the centre only, so it is computed once, and (a)-(c) become

    dL/du   = sum_c mask_c (s(u.v_c) - 1) v_c + n sum_i s(u.v_i) v_i
    dL/dv_c = mask_c (s(u.v_c) - 1) u,      dL/dv_i = n s(u.v_i) u.

  Returns (loss, dL/du [d], dL/dv_c [C, d], dL/dv_negs [K, d]).
  """
  pos, neg = v_c @ u_t, v_negs @ u_t
  pairs = mask.sum()
  loss = -(mask @ jax.nn.log_sigmoid(pos)) - pairs * jax.nn.log_sigmoid(-neg).sum()
  pos_coef = mask * (jax.nn.sigmoid(pos) - 1.0)  # [C]
  neg_coef = pairs * jax.nn.sigmoid(neg)  # [K]
  du_t = pos_coef @ v_c + neg_coef @ v_negs
  return loss, du_t, pos_coef[:, None] * u_t[None, :], neg_coef[:, None] * u_t[None, :]
