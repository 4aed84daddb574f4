"""Where the train state lives on the mesh: replicated, or its tables split by rows.

With ``topology.shard_tables`` every table of the method (``params``) and every optimizer
state array shaped like a table (AdaGrad's sums, Adam's moments) is split by rows over the
mesh axis, so each device holds 1/n of the rows; everything else (the step, the key,
Adam's count) is replicated. XLA needs rows divisible by the device count, so tables are
padded with rows that no id reaches (the methods only touch rows of real words, n-gram
buckets and tree nodes); ``to_host`` cuts them off again, so checkpoints and exported
vectors have the method's own shapes and a sharded run resumes a replicated one's
checkpoint and vice versa.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from w2vjax import parallel

ROWS = P(parallel.AXIS, None)


class Placement(NamedTuple):
  topology: parallel.Topology
  rows: dict  # table name -> the method's rows (before padding)

  @property
  def sharded(self) -> bool:
    return self.topology.shard_tables

  def padded(self, rows: int) -> int:
    """Rows a table of ``rows`` rows has on the mesh: a multiple of the device count."""
    n = self.topology.num_devices if self.sharded else 1
    return -(-rows // n) * n

  def _map_rows(self, fn, state):
    """``state`` with ``fn(leaf, real rows)`` applied to each table and to each optimizer
    state leaf of the table's shape (optim.sparse_update's row state)."""
    params, opt_state = dict(state.params), dict(state.opt_state)
    for name, rows in self.rows.items():
      shape = state.params[name].shape
      opt_state[name] = jax.tree.map(
          lambda x: fn(x, rows) if getattr(x, "shape", None) == shape else x, opt_state[name])
      params[name] = fn(params[name], rows)
    return state.replace(params=params, opt_state=opt_state)

  def place(self, state):
    """The state on the mesh: replicated, or tables padded and split by rows.

    Each device's block of rows is cut from the host copy and sent to that device alone,
    so no device ever holds a whole table.
    """
    if not self.sharded:
      return parallel.replicate(state, self.topology)
    sharding = NamedSharding(self.topology.mesh, ROWS)

    def split(x, rows):
      host = np.asarray(x)
      shape = (self.padded(rows), *host.shape[1:])

      def block(index):
        start, stop, _ = index[0].indices(shape[0])
        part = host[start:stop]
        return np.pad(part, [(0, stop - start - len(part))] + [(0, 0)] * (host.ndim - 1))

      return jax.make_array_from_callback(shape, sharding, block)

    tables = self._map_rows(split, state)
    return tables.replace(
        step=parallel.replicate(state.step, self.topology),
        key=parallel.replicate(state.key, self.topology))

  def constrain(self, state):
    """Inside the jitted step: keeps the tables split by rows through the device loop."""
    if not self.sharded:
      return state
    sharding = NamedSharding(self.topology.mesh, ROWS)
    return self._map_rows(lambda x, rows: jax.lax.with_sharding_constraint(x, sharding), state)

  def constrain_batch(self, batch):
    """Inside the jitted step: the batch's leading axis split over the devices, so each
    device scores its part of the global batch (data parallel) against the gathered rows."""
    if not self.sharded:
      return batch
    sharding = NamedSharding(self.topology.mesh, P(parallel.AXIS))
    return jax.tree.map(lambda x: jax.lax.with_sharding_constraint(x, sharding), batch)

  def to_host(self, state):
    """The state with NumPy tables and optimizer state of the method's own shapes (the
    shards gathered, the padding cut off); the step and key stay as they are."""
    host = state.replace(params=parallel.to_host(state.params),
                         opt_state=parallel.to_host(state.opt_state))
    return self._map_rows(lambda x, rows: x[:rows], host)

  def table_bytes_per_device(self, state) -> dict:
    """Bytes of tables and optimizer state held by each device, measured from the arrays'
    addressable shards: {device id: bytes}."""
    held: dict = {}
    for leaf in jax.tree.leaves((state.params, state.opt_state)):
      for shard in leaf.addressable_shards:
        held[shard.device.id] = held.get(shard.device.id, 0) + shard.data.nbytes
    return held


def make_placement(topology: parallel.Topology, method) -> Placement:
  """The placement of ``method``'s tables on ``topology`` (shapes from ``method.init``,
  nothing allocated)."""
  shapes = jax.eval_shape(method.init, jax.random.key(0))
  return Placement(topology, {name: x.shape[0] for name, x in shapes.items()})
