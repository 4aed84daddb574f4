"""The skip-gram model: two embedding tables, u (target/input) and v (context/output)."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

CONTEXT_INITS = ("zeros", "uniform")


def _uniform(scale: float):
  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -scale, scale)
  return init


class SkipGram(nn.Module):
  """Params {'u': [V, d], 'v': [V, d]}; calling it scores (target, context) pairs.

  word2vec initialises u uniformly in +-0.5/d and v to zeros: with v = 0 every first
  gradient on u is zero, so u moves only once v has learned something, which keeps the
  early, noisy updates from scrambling the random but distinct u vectors.
  """

  vocab_size: int
  dim: int
  init_scale: float = 0.5  # u ~ U(-init_scale/d, init_scale/d)
  context_init: str = "zeros"  # or "uniform", the same distribution as u

  def setup(self):
    if self.context_init not in CONTEXT_INITS:
      raise ValueError(f"context_init must be one of {CONTEXT_INITS}, not {self.context_init!r}")
    u_init = _uniform(self.init_scale / self.dim)
    v_init = nn.initializers.zeros if self.context_init == "zeros" else u_init
    self.u = self.param("u", u_init, (self.vocab_size, self.dim))
    self.v = self.param("v", v_init, (self.vocab_size, self.dim))

  def __call__(self, targets: jax.Array, contexts: jax.Array) -> jax.Array:
    """u_t . v_c for each pair [P]."""
    return jnp.sum(self.u[targets] * self.v[contexts], axis=-1)


def init_params(key: jax.Array, vocab_size: int, dim: int, init_scale: float = 0.5,
                context_init: str = "zeros") -> dict:
  model = SkipGram(vocab_size, dim, init_scale, context_init)
  dummy = jnp.zeros((1,), jnp.int32)
  return dict(model.init(key, dummy, dummy)["params"])
