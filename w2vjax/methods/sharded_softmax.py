"""Full softmax with the output table split by rows over the devices.

For vocabularies whose output table is too large for one device: with
``--config.shard_tables=true`` the full-softmax method trains with ``training_loss``
(its ``Method.sharded_loss``). Tested against the one-device loss and its gradients
(tests/helpers/sharded_softmax.py) and in training against replicated tables
(tests/test_sharded_tables.py).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P

from w2vjax.parallel import AXIS, Topology


def vocab_sharded_softmax_loss(topology: Topology, size: int | None = None) -> Callable:
  """``loss(inputs, v, contexts, mask)``: full softmax with v split by rows over devices.

  ``inputs`` [B, d] are the centre words' input vectors (the rows ``u[targets]``: the
  caller gathers them, so u itself may be sharded too), ``contexts`` and ``mask`` [B, C].
  ``v`` [V', d] is sharded by rows (V' divisible by the device count); rows from ``size``
  on (default: none) are padding and take no part in the softmax. Each device computes
  the logits of its own slice of the vocabulary, and the log-partition function is a
  distributed logsumexp: the global max of the logits (``pmax``, no gradient: the shift
  cancels), then the ``psum`` of each slice's sum of shifted exponentials. The context's
  logit comes from the device that holds its row. Returns the summed loss of the masked
  pairs; it is differentiable, and its gradient with respect to ``v`` stays sharded.
  """
  def device_loss(inputs, v_rows, contexts, mask):
    rows = v_rows.shape[0]
    first = jax.lax.axis_index(AXIS) * rows
    logits = inputs @ v_rows.T  # [B, V / n]
    if size is not None:
      logits = jnp.where(first + jnp.arange(rows) < size, logits, -jnp.inf)
    shift = jax.lax.pmax(jax.lax.stop_gradient(logits.max(axis=1)), AXIS)
    partition = jax.lax.psum(jnp.exp(logits - shift[:, None]).sum(axis=1), AXIS)
    log_partition = jnp.log(partition) + shift  # [B]
    local = contexts - first
    here = (local >= 0) & (local < rows)
    picked = jnp.take_along_axis(logits, jnp.clip(local, 0, rows - 1), axis=1)
    context_logits = jax.lax.psum(jnp.where(here, picked, 0.0), AXIS)  # [B, C]
    return jnp.sum(mask.sum(axis=1) * log_partition) - jnp.sum(mask * context_logits)

  return jax.shard_map(device_loss, mesh=topology.mesh,
                       in_specs=(P(), P(AXIS), P(), P()), out_specs=P())


def training_loss(size: int) -> Callable:
  """``Method.sharded_loss`` of full softmax over a vocabulary of ``size`` words:
  ``topology -> loss(params, constants, batch)``, equal to skipgram.full_softmax_loss."""
  def for_topology(topology: Topology) -> Callable:
    sharded = vocab_sharded_softmax_loss(topology, size)

    def loss(params, constants, batch):
      return sharded(params["u"][batch.targets], params["v"], batch.contexts, batch.mask)

    return loss

  return for_topology
