"""Full softmax with the output table split by rows over the devices.

For vocabularies whose output table is too large for one device. Tested against the
one-device loss and its gradients (tests/helpers/sharded_softmax.py); the training loop does
not shard tables yet, so no method uses it.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P

from w2vjax.parallel import AXIS, Topology


def vocab_sharded_softmax_loss(topology: Topology) -> Callable:
  """``loss(u, v, targets, contexts, mask)``: full softmax with v split by rows over devices.

  For vocabularies whose context table is too large for one device: ``v`` [V, d] is
  sharded by rows (V divisible by the device count), so each device computes the logits
  of its own slice of the vocabulary, and the log-partition function is a distributed
  logsumexp: the global max of the logits (``pmax``, no gradient: the shift cancels), then
  the ``psum`` of each slice's sum of shifted exponentials. The context's logit comes from
  the device that holds its row. Returns the summed loss of the masked pairs; it is
  differentiable, and its gradient with respect to ``v`` stays sharded.
  """
  def device_loss(u, v_rows, targets, contexts, mask):
    rows = v_rows.shape[0]
    logits = u[targets] @ v_rows.T  # [B, V / n]
    shift = jax.lax.pmax(jax.lax.stop_gradient(logits.max(axis=1)), AXIS)
    partition = jax.lax.psum(jnp.exp(logits - shift[:, None]).sum(axis=1), AXIS)
    log_partition = jnp.log(partition) + shift  # [B]
    local = contexts - jax.lax.axis_index(AXIS) * rows
    here = (local >= 0) & (local < rows)
    picked = jnp.take_along_axis(logits, jnp.clip(local, 0, rows - 1), axis=1)
    context_logits = jax.lax.psum(jnp.where(here, picked, 0.0), AXIS)  # [B, C]
    return jnp.sum(mask.sum(axis=1) * log_partition) - jnp.sum(mask * context_logits)

  return jax.shard_map(device_loss, mesh=topology.mesh,
                       in_specs=(P(), P(AXIS), P(), P(), P()), out_specs=P())
