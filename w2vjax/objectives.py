"""Objectives as pure per-example functions: the methods (w2vjax.methods) batch them.

Per-example functions take one input vector ``u_t`` [d] and output-side rows.

The K-sample objectives score a pair (t, c) against K noise words drawn from q
(unigram^0.75):

- negative sampling (Mikolov et al. 2013): logistic loss on the raw scores u_t.v;
- noise-contrastive estimation (Gutmann and Hyvarinen 2010; Mnih and Teh 2012): the same
  logistic loss on scores shifted by log(K q(w)), which makes exp(u_t.v_w) a
  self-normalised estimate of p(w | t); negative sampling is NCE with log(K q) = 0;
- sampled softmax (Bengio and Senecal 2008; Jean et al. 2015): a softmax over the true
  context and the K noise words, noise logits corrected by -log(K q(w)) and noise words
  equal to the context ("accidental hits") removed. Then sum_i exp(s_i) / (K q_i)
  estimates the partition function without the context's own term, so the loss and its
  gradient tend to full softmax's as K grows. The context's logit is left uncorrected:
  subtracting log(K q(c)) from it too (as some libraries do) shifts the loss by that
  growing amount and keeps its gradient away from full softmax's.

Losses are summed, not averaged, over a batch: the gradient of the sum applied with SGD is word2vec's per-pair update, so a
learning rate means what it means in word2vec and gensim.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp


def full_softmax_loss(u_t: jax.Array, V: jax.Array, c: jax.Array) -> jax.Array:
  """-log softmax(V u_t)[c], through logsumexp so large scores cannot overflow."""
  logits = V @ u_t
  return jax.nn.logsumexp(logits) - logits[c]


def logistic_loss(inputs: jax.Array, outputs: jax.Array, positive: jax.Array,
                  mask: jax.Array) -> jax.Array:
  """sum over the mask of -log s(h.v) where ``positive``, else -log s(-h.v), for every input
  row h [H, d] against every output row v [O, d] (negative sampling's and hierarchical
  softmax's loss; ``gradients.logistic_grads`` gives its gradients in closed form)."""
  scores = inputs @ outputs.T
  return -jnp.sum(mask * jax.nn.log_sigmoid(jnp.where(positive, scores, -scores)))


def negative_sampling_loss(u_t: jax.Array, v_c: jax.Array, v_negs: jax.Array) -> jax.Array:
  """-log s(u_t.v_c) - sum_i log s(-u_t.v_ci), with log s computed stably."""
  return -jax.nn.log_sigmoid(u_t @ v_c) - jnp.sum(jax.nn.log_sigmoid(-(v_negs @ u_t)))


def nce_loss(u_t: jax.Array, v_c: jax.Array, v_negs: jax.Array, log_kq_c: jax.Array,
             log_kq_negs: jax.Array) -> jax.Array:
  """-log s(u_t.v_c - log Kq(c)) - sum_i log s(-(u_t.v_ci - log Kq(ci)))."""
  return (-jax.nn.log_sigmoid(u_t @ v_c - log_kq_c)
          - jnp.sum(jax.nn.log_sigmoid(-(v_negs @ u_t - log_kq_negs))))


def sampled_softmax_loss(u_t: jax.Array, v_c: jax.Array, v_negs: jax.Array,
                         log_kq_negs: jax.Array, hits: jax.Array) -> jax.Array:
  """-log of the context's softmax probability among itself and the K corrected noise words.

  ``hits[i]`` is true where noise word i is the context itself; those draws are removed.
  """
  true_logit = u_t @ v_c
  noise_logits = jnp.where(hits, -jnp.inf, v_negs @ u_t - log_kq_negs)
  return jax.nn.logsumexp(jnp.concatenate([true_logit[None], noise_logits])) - true_logit


def _negative_sampling_pair(log_noise: jax.Array | None) -> Callable:
  return lambda u_t, v_c, v_negs, c, negs: negative_sampling_loss(u_t, v_c, v_negs)


def _log_k(negs: jax.Array) -> jax.Array:
  return jnp.log(jnp.float32(negs.shape[-1]))


def _nce_pair(log_noise: jax.Array) -> Callable:
  def loss(u_t, v_c, v_negs, c, negs):
    log_k = _log_k(negs)
    return nce_loss(u_t, v_c, v_negs, log_noise[c] + log_k, log_noise[negs] + log_k)
  return loss


def _sampled_softmax_pair(log_noise: jax.Array) -> Callable:
  def loss(u_t, v_c, v_negs, c, negs):
    return sampled_softmax_loss(u_t, v_c, v_negs, log_noise[negs] + _log_k(negs), negs == c)
  return loss


# Each K-sample objective's pair loss, built from log q(w) [V] of the noise distribution.
PAIR_LOSSES = {"negative_sampling": _negative_sampling_pair, "nce": _nce_pair,
               "sampled_softmax": _sampled_softmax_pair}


def sampled_pair_loss(objective: str, log_noise: jax.Array | None) -> Callable:
  """One K-sample objective (a key of ``PAIR_LOSSES``) as ``loss(u_t, v_c, v_negs, c, negs)``
  for a single pair.

  Rows come first so that both update paths differentiate the same function with respect
  to them; the ids ``c`` [] and ``negs`` [K] look up log q(w) in ``log_noise`` [V].
  """
  if objective not in PAIR_LOSSES:
    raise ValueError(f"unknown K-sample objective {objective!r}")
  return PAIR_LOSSES[objective](log_noise)


def softmax_centre_loss(u_t: jax.Array, V: jax.Array, contexts: jax.Array,
                        mask: jax.Array) -> jax.Array:
  """sum_c mask_c * full_softmax_loss(u_t, V, c) over one centre's context slots.

  The logits V u_t depend on the centre word alone, so the O(|V| d) work is done once per
  centre instead of once per pair, and the gradient with respect to the logits is one
  [|V|] vector rather than one per context.
  """
  logits = V @ u_t
  return jnp.sum(mask) * jax.nn.logsumexp(logits) - jnp.sum(mask * logits[contexts])
