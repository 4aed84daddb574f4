"""The train step: built once from a method, an optimizer and a topology, then jitted.

``make_train_step`` returns ``train_step(state, totals, epoch_blocks, start, num_steps)``,
which runs ``num_steps`` steps in a loop on the device. It knows nothing of any method: it
cuts batches from the method's kind of data (``data.SOURCES``), asks the method for its
loss gradients (dense) or its touched rows and their gradients (row-sparse), and applies
them with optax.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np

from w2vjax import corpus as corpus_lib
from w2vjax import methods, optim, parallel, placement
from w2vjax.config import TrainConfig
from w2vjax.data import SOURCES
from w2vjax.errors import InputError
from w2vjax.methods import Method

UPDATE_MODES = ("auto", "dense", "sparse")
BITS_CHUNK = 16  # steps whose random draws are generated together


@flax.struct.dataclass
class TrainState:
  step: jax.Array  # int32 []
  params: dict  # the method's tables, e.g. {'u': [V, d], 'v': [V, d]}
  opt_state: dict  # per table
  key: jax.Array  # PRNG key for the next step; split, never reused


def init_state(config: TrainConfig, method: Method, opt: optim.Optimizer) -> TrainState:
  init_key, step_key = jax.random.split(jax.random.key(config.seed))
  params = method.init(init_key)
  return TrainState(jnp.zeros((), jnp.int32), params, optim.init_state(opt, params), step_key)


def resolve_update(config: TrainConfig, method: Method) -> str:
  if config.update not in UPDATE_MODES:
    raise InputError(f"unknown update {config.update!r}; choose one of {UPDATE_MODES}")
  if config.update == "auto":
    return "dense" if method.row_grads is None else "sparse"
  if config.update == "sparse" and method.row_grads is None:
    raise InputError(f"update=sparse needs a method with row gradients; {method.name} "
                     "touches every output row, so use update=dense")
  return config.update


def row_grads_in_parts(method: Method, params: dict, constants: dict,
                       batch, parts: int = 1):
  """``method.row_grads`` of a batch computed in ``parts`` independent parts.

  The parts have no data dependence between them, so XLA's CPU runtime runs them on
  separate cores (one part of 64 centres leaves a second core idle); their rows and
  gradients, concatenated, are those of one part, in the same order.
  """
  def concatenate(*pieces):
    return jnp.concatenate(pieces)

  results = [method.row_grads(params, constants, type(batch)(*part))
             for part in zip(*(jnp.split(x, parts) for x in batch))]
  losses, updates = zip(*results)
  return sum(losses), jax.tree.map(concatenate, *updates)


CPU_SYNC_EVERY = 512  # steps between merges of CPU devices' frequent rows (sync_every)
# With devices' own copies every other row merges once per this many merges of the
# frequent rows at most, and at least about ROTATIONS_PER_RUN times a run: a slice of
# those rows at each merge, in turn (``_merged``).
ROTATION_MERGES_MAX = 32
ROTATIONS_PER_RUN = 40
# A call ends with the merge of every row, which costs about 0.13 s on 2 CPU devices (two
# 25 MB tables); the slices in turn keep each row's merges as frequent in calls this many
# times longer.
ROTATIONS_PER_CALL = 4


def sync_every(config: TrainConfig, topology: parallel.Topology) -> int:
  """Steps each device trains its own copy of the frequent rows between merges: 1 (every
  step, synchronous) on one device and with tables split by rows; ``config.sync_every``,
  or (0) ``CPU_SYNC_EVERY`` on CPU devices for a method that trains in copies
  (``methods.trains_in_copies``) and 1 elsewhere."""
  if topology.num_devices == 1 or topology.shard_tables:
    return 1
  if config.sync_every:
    return config.sync_every
  return CPU_SYNC_EVERY if topology.on_cpu and methods.trains_in_copies(config) else 1


def row_rotation(config: TrainConfig, topology: parallel.Topology | None,
                 total_steps: int) -> int:
  """Merges of the frequent rows between two merges of any other row, where devices train
  their own copies: about 1/ROTATIONS_PER_RUN of the run's ``total_steps``, from 1 to
  ROTATION_MERGES_MAX merges (0: no copies, or no run length given, and the other rows
  merge only at the end of each call). Rows merged too rarely lose quality in a short run
  (text8-1m: BUILD_NOTES)."""
  interval = sync_every(config, topology) if topology is not None else 1
  if interval == 1 or not total_steps:
    return 0
  merges = corpus_lib.ceil_div(total_steps, ROTATIONS_PER_RUN * interval)
  return min(merges, ROTATION_MERGES_MAX)


def steps_per_call(config: TrainConfig, method: Method,
                   topology: parallel.Topology | None = None, total_steps: int = 0) -> int:
  """Steps one jitted call runs: ``config.steps_per_call``, or (0) where devices train
  their own copies ROTATIONS_PER_CALL times the steps in which every row merges once
  (``row_rotation``); else about 2^22 scored (pair, output row) products per call, at
  most 256 steps.

  A call that runs many steps in a loop on the device costs one dispatch for all of them,
  which is most of the cost of a small step; a full-softmax step scores every word, so it
  gets a call of its own and the loop stays responsive to reports and signals.
  """
  if config.steps_per_call:
    return config.steps_per_call
  rotation = row_rotation(config, topology, max(total_steps, 1))
  if rotation:
    return sync_every(config, topology) * rotation * ROTATIONS_PER_CALL
  products = config.batch_size * 2 * config.window * method.outputs_per_pair
  return int(np.clip(2**22 // products, 1, 256))


def batch_splits(config: TrainConfig, topology: parallel.Topology) -> int:
  """Independent parts a device's row-sparse batch is computed in: ``config.batch_splits``,
  or (0) one per CPU core available to each local device, keeping parts of at least 16
  centres, and 1 on an accelerator (where one large batched operation is fastest)."""
  device_batch = config.batch_size // topology.num_devices
  if config.batch_splits:
    if device_batch % config.batch_splits:
      raise InputError(f"batch_splits={config.batch_splits} does not divide the per-device "
                       f"batch of {device_batch} centres")
    return config.batch_splits
  if not topology.on_cpu:
    return 1
  return parallel.even_parts(device_batch,
                             parallel.available_cores() // len(topology.local_devices))


def _collectives(config: TrainConfig, topology: parallel.Topology):
  """(psum, all_gather) over the mesh; identities on one device, where each would still
  cost a few us of a 70 us step on a CPU, with sharded tables, where the step is one
  program over the global batch, and where devices train their own copies (``_merged``)."""
  if sync_every(config, topology) > 1 or topology.num_devices == 1 or topology.shard_tables:
    return (lambda x: x), (lambda x: x)
  return (functools.partial(jax.lax.psum, axis_name=parallel.AXIS),
          functools.partial(jax.lax.all_gather, axis_name=parallel.AXIS, tiled=True))


def _own_part(config: TrainConfig, topology: parallel.Topology) -> Callable:
  """``own_part(bits, start) -> (bits, start)``: the draws and first centre of the part of
  the global batch this program trains.

  Replicated tables: each device's rows of the global batch's draws, and its slice of its
  process's part of the global batch. Sharded tables: the whole global batch, whose
  leading axis the step then splits over the devices (``Placement.constrain_batch``).
  """
  if topology.shard_tables:
    return lambda bits, start: (bits, start)
  device_batch = parallel.check_batch(config.batch_size, topology)
  local_count = len(topology.local_devices)

  def own_part(bits, start):
    device = jax.lax.axis_index(parallel.AXIS)
    return (jax.lax.dynamic_slice_in_dim(bits, device * device_batch, device_batch),
            start + (device % local_count) * device_batch)

  return own_part


def _loss(method: Method, topology: parallel.Topology) -> Callable:
  """The method's loss, or its own loss for tables split by rows where it has one."""
  if topology.shard_tables and method.sharded_loss is not None:
    return method.sharded_loss(topology)
  return method.loss


def make_train_step(config: TrainConfig, method: Method, opt: optim.Optimizer,
                    topology: parallel.Topology | None = None,
                    total_steps: int = 0) -> Callable:
  """Builds ``train_step(state, totals, epoch_blocks, start, num_steps) -> (state, totals)``.

  Runs ``num_steps`` steps (a traced count: any number, one compilation) of the global
  batch ``config.batch_size``, split evenly over the topology's devices (default: one
  device), in a loop on the device. ``epoch_blocks`` is ``place_epoch(epoch, topology)``;
  step i trains the centres from ``start + i * process_batch`` of this process's epoch
  order. Step n's random draws come from ``state.key`` folded with n, so they do not
  depend on how steps are split into calls. ``totals`` holds running sums of the loss and
  of the pairs trained (see ``zero_totals``). The state and totals are donated: the tables
  are updated in place, not copied. Pass them placed on the topology
  (``placement.make_placement(topology, method).place``): other placements are resharded
  at every call.

  With replicated tables the step is written for one device and run on each (``parallel.
  wrap``). With ``topology.shard_tables`` it is one program over the global batch, jitted
  with the tables split by rows and the batch split over the devices: XLA's SPMD
  partitioner turns a row gather into local gathers of each device's own rows and an
  all-reduce, and a row update into each device updating the rows it owns (the routing
  to the owners); no table is ever gathered whole. Devices that train their own copies
  merge them as ``row_rotation`` plans for a run of ``total_steps``.
  """
  topology = topology or parallel.make_topology(1, config.parallel)
  parallel.check_batch(config.batch_size, topology)
  one_step = _one_step(config, method, opt, topology)
  device_steps = _device_steps(config, method, one_step,
                               config.batch_size // topology.num_processes)
  if sync_every(config, topology) > 1:
    device_steps = _merged(device_steps, method, sync_every(config, topology),
                           config.sync_rows, config.batch_size // topology.num_processes,
                           topology.num_devices,
                           row_rotation(config, topology, total_steps))
  if topology.shard_tables:
    # Inputs keep the placement they arrive with (tables split, the rest replicated).
    wrapped = jax.jit(device_steps, donate_argnums=(0, 1))
  else:
    wrapped = parallel.wrap(device_steps, topology, num_replicated=5, num_blocked=1)
  constants = parallel.replicate(method.constants, topology)
  return lambda state, totals, epoch_blocks, start, num_steps: wrapped(
      state, totals, constants, np.int32(start), np.int32(num_steps), epoch_blocks)


def _one_of(index: jax.Array, branches: list, params: dict, dense: bool):
  """``branches[index](params)`` for a traced ``index``: ``lax.switch``, the row-sparse
  branches' updates padded to the most rows any of them touches (rows past a table's end,
  which the update drops). One branch is called as it is."""
  if len(branches) == 1:
    return branches[0](params)
  if not dense:
    touched = [jax.eval_shape(branch, params)[1] for branch in branches]
    longest = {name: max(rows[name][0].shape[0] for rows in touched) for name in touched[0]}

    def padded(branch, params):
      loss, updates, predictions = branch(params)
      def pad(name, rows, grads):
        extra = longest[name] - rows.shape[0]
        return (jnp.pad(rows, (0, extra), constant_values=params[name].shape[0]),
                jnp.pad(grads, ((0, extra), (0, 0))))
      return loss, {name: pad(name, *pair) for name, pair in updates.items()}, predictions

    branches = [functools.partial(padded, branch) for branch in branches]
  return jax.lax.switch(index, branches, params)


def _one_step(config: TrainConfig, method: Method, opt: optim.Optimizer,
              topology: parallel.Topology) -> Callable:
  """``one_step(state, totals, constants, start, bits, epoch) -> (state, totals)``: one
  step of the global batch, of which this program computes its part (``_own_part``).

  The data source may offer batches of several shapes (one per reduced window: ``data.
  DataSource.batch_makers``); the step computes the one its draws choose, so that a window
  of 2 slots costs 2 slots, not 2 * ``config.window`` mostly empty ones.
  """
  dense = resolve_update(config, method) == "dense"
  choose, makers = SOURCES[method.data].batch_makers(config, method)
  loss_and_grad = jax.value_and_grad(_loss(method, topology))
  psum, all_gather = _collectives(config, topology)
  splits = 1 if topology.shard_tables else batch_splits(config, topology)
  own_part = _own_part(config, topology)
  layout = placement.make_placement(topology, method)

  def gradients(make, constants, bits, first, epoch, params):
    """(loss, the gradients or the touched rows and theirs, predictions) of a batch."""
    batch = layout.constrain_batch(make(bits, epoch, first, constants))
    if dense:
      loss, grads = loss_and_grad(params, constants, batch)
    else:
      loss, grads = row_grads_in_parts(method, params, constants, batch, splits)
    return loss, grads, method.predictions(batch)

  def one_step(state: TrainState, totals: dict, constants: dict, start: jax.Array,
               bits: jax.Array, epoch):
    which = choose(bits)  # from the global batch's draws: every device makes the same choice
    bits, first = own_part(bits, start)
    branches = [functools.partial(gradients, make, constants, bits, first, epoch)
                for make in makers]
    loss, grads, predictions = _one_of(which, branches, state.params, dense)
    if dense:
      loss, grads = psum((loss, grads))
      params, opt_state = optim.dense_update(opt, state.params, state.opt_state, grads)
    else:
      # Every replica applies the touched rows of the whole global batch (with sharded
      # tables, each device the rows it owns).
      loss, grads = psum(loss), all_gather(grads)
      params, opt_state = optim.sparse_updates(opt, state.params, state.opt_state, grads)
    # Running sums stay on the device; the host reads them once per report, because
    # fetching (or stacking) one tiny array per step costs more than the step itself.
    totals = {"loss_sum": totals["loss_sum"] + loss,
              "pairs": totals["pairs"] + psum(predictions)}
    return layout.constrain(TrainState(state.step + 1, params, opt_state, state.key)), totals

  return one_step


def _device_steps(config: TrainConfig, method: Method, one_step: Callable,
                  process_batch: int) -> Callable:
  """``device_steps(state, totals, constants, start, num_steps, epoch)``: ``num_steps``
  calls of ``one_step`` in a loop on the device, step i from centre ``start + i *
  process_batch``, with the random draws of step n a function of the key and n alone."""
  width = SOURCES[method.data].bits_per_item(config, method)

  def device_steps(state, totals, constants, start, num_steps, epoch):
    # The draws of BITS_CHUNK steps at a time, in one vectorised call: a step of the
    # defaults took 109 us against 113 us with its draws generated inside the step.
    def chunk(c, carry):
      state = carry[0]
      steps = state.step + jnp.arange(BITS_CHUNK)
      bits = jax.vmap(corpus_lib.step_bits, (None, 0, None, None))(
          state.key, steps, config.batch_size, width)
      first = c * BITS_CHUNK
      return jax.lax.fori_loop(
          0, jnp.minimum(BITS_CHUNK, num_steps - first),
          lambda i, carry: one_step(*carry, constants, start + (first + i) * process_batch,
                                    bits[i], epoch), carry)

    return jax.lax.fori_loop(0, (num_steps + BITS_CHUNK - 1) // BITS_CHUNK, chunk,
                             (state, totals))

  return device_steps


def merge_changes(start: jax.Array, local: jax.Array, agree: int = 0,
                  mean: bool = False) -> jax.Array:
  """An array after each device changed its own copy of ``start``: ``start`` plus the sum
  of the copies' changes (each device's updates applied on every device, late, as
  word2vec's threads apply each other's), times ``agreement_scale`` over ``agree`` devices
  where that is over 2 (on 2 devices its factor is always 1). With ``mean``, ``start``
  plus the mean of the changes instead. Call inside the mesh."""
  change = local - start
  total = jax.lax.psum(change, parallel.AXIS)
  if mean:
    return start + total / jax.lax.axis_size(parallel.AXIS)
  if agree > 2:
    total = total * agreement_scale(change, total, agree).reshape(
        -1, *[1] * (change.ndim - 1))
  return start + total


def agreement_scale(changes: jax.Array, total: jax.Array, num_devices: int) -> jax.Array:
  """Per row of this device's ``changes`` [rows, ...] and their ``total`` over the
  devices (their psum), the factor that turns that sum into the merged change:
  min(1, sum_i |c_i|^2 / |sum_i c_i|^2), but at least 2 / n on n devices.

  1 where the copies moved a row in unrelated directions (their changes add up, as
  word2vec's threads' updates do); it falls towards 1/n where n copies moved a row alike.
  A frequent row that each copy brought to the same place is then overshot by at most
  twice its change (the plain sum overshot it n times over and diverged on 4 devices),
  while a row that each copy moved the same way without reaching its place, which looks
  the same, keeps at least 2/n of the sum: on 2 devices the sum, which measured best.
  Call inside the mesh.
  """
  axes = tuple(range(1, changes.ndim))
  own = jax.lax.psum(jnp.sum(changes * changes, axis=axes), parallel.AXIS)
  summed = jnp.sum(total * total, axis=axes)
  scale = own / jnp.maximum(summed, jnp.finfo(changes.dtype).tiny)
  return jnp.clip(scale, min(1.0, 2 / num_devices), 1.0)


def _merge_rows(tables: dict, start: dict, rows: dict, agree: int,
                by_mean: frozenset = frozenset()) -> tuple[dict, dict]:
  """``tables`` (name -> its table and optimizer state) with the ``rows[name]`` slice of
  each table-shaped array merged against ``start`` (those rows at the last merge) by
  ``merge_changes`` over ``agree`` devices, or by the mean for the tables ``by_mean``
  names; returns the tables and the merged rows.

  The start of the rows is carried, not sliced from the tables: a slice of a loop-carried
  table written back into it made XLA copy the whole table at every merge.
  """
  def per_table(name, fn, *trees):  # an optimizer's step count is left as it is
    return jax.tree.map(lambda x, *r: fn(x, rows[name], *r) if jnp.ndim(x) else x, *trees)

  merged = {name: per_table(
      name, lambda x, which, s, mean=name in by_mean: merge_changes(s, x[which], agree, mean),
      tables[name], start[name]) for name in tables}
  tables = {name: per_table(name, _put_rows, tables[name], merged[name]) for name in tables}
  return tables, merged


def _merge_turn(tables: dict, start: dict, rows: dict, turn: jax.Array, rotation: int
                ) -> tuple[dict, dict]:
  """``_merge_rows`` by the sum of the ``turn``-th (traced) of ``rotation`` equal slices of
  each table's ``rows``; ``start`` holds all of ``rows`` as of their last merge and comes
  back with the slice's merged values. The last slice ends at the last row, so it can
  merge some of the rows of the one before again, which their updated start makes exact.
  """
  def per_table(name):
    which = rows[name]
    count = which.stop - which.start if isinstance(which, slice) else len(which)
    size = corpus_lib.ceil_div(count, rotation)
    if not size:
      return tables[name], start[name]
    offset = jnp.minimum(turn * size, count - size)
    if isinstance(which, slice):
      first = which.start + offset
      take = lambda x: jax.lax.dynamic_slice_in_dim(x, first, size)
      put = lambda x, rows: jax.lax.dynamic_update_slice_in_dim(x, rows, first, 0)
    else:
      ids = jax.lax.dynamic_slice_in_dim(jnp.asarray(which), offset, size)
      take = lambda x: x[ids]
      put = lambda x, rows: _put_rows(x, ids, rows)

    def merge(x, old):
      if not jnp.ndim(x):  # an optimizer's step count is left as it is
        return x, old
      local = take(x)
      change = local - jax.lax.dynamic_slice_in_dim(old, offset, size)
      # The start plus every copy's change, summed as the first device's rows plus the
      # others' changes, so that the all-reduce's own output is what both writes take:
      # merge_changes' start + sum, fused into each write, made XLA copy a whole table.
      first_device = jax.lax.axis_index(parallel.AXIS) == 0
      merged = jax.lax.psum(jnp.where(first_device, local, change), parallel.AXIS)
      return put(x, merged), jax.lax.dynamic_update_slice_in_dim(old, merged, offset, 0)

    leaves, tree = jax.tree.flatten(tables[name])
    pairs = [merge(x, old) for x, old in zip(leaves, tree.flatten_up_to(start[name]))]
    return tuple(jax.tree.unflatten(tree, side) for side in zip(*pairs))

  merged = {name: per_table(name) for name in tables}
  return ({name: m[0] for name, m in merged.items()},
          {name: m[1] for name, m in merged.items()})


def _as_block(rows: np.ndarray) -> slice | np.ndarray:
  """Distinct row ids as a slice where they make one block, in whatever order (word ids
  in frequency order; a Huffman tree's nodes, root first, are the table backwards): a
  slice's merge reads and writes the block in place, where ids are gathered and
  scattered; a row's merge is its own either way."""
  if not rows.size:
    return slice(0, 0)
  if int(rows.max()) - int(rows.min()) + 1 == rows.size:
    return slice(int(rows.min()), int(rows.max()) + 1)
  return rows


def _put_rows(table: jax.Array, which: slice | np.ndarray | jax.Array, rows: jax.Array
              ) -> jax.Array:
  """``table`` with ``rows`` written at ``which``: a block of rows, or distinct row ids."""
  if isinstance(which, slice):
    return jax.lax.dynamic_update_slice_in_dim(table, rows, which.start, 0)
  return table.at[which].set(rows, unique_indices=True)


def _merged(device_steps: Callable, method: Method, every: int, hot_rows: int,
            process_batch: int, num_devices: int, rotation: int = 0) -> Callable:
  """``device_steps`` on each device's own copy of the tables, merged by adding up the
  copies' changes: the ``hot_rows`` most often updated rows of each table (the first, as
  word ids are frequency ranks, or the first of ``method.row_order``) every ``every``
  steps, with 1/``rotation`` of every other row in turn (none if 0), and all rows at the
  end of the call (rows left out of a table's ``row_order`` never change, so they are
  not merged).

  A frequent word's row takes many updates between merges, and the sum of several copies'
  changes then overshoots (measured: BUILD_NOTES), so those few rows merge often (a
  Huffman tree's nodes near the root, which every copy moves alike, by the mean of the
  changes: ``method.merged_by_mean``); a rare word's row changes by a few updates that add
  up exactly however late they are merged.
  The running totals are summed. A small all-reduce per ``every`` steps and one of the
  tables per call, instead of an all-gather of the touched rows at every step (each
  collective costs milliseconds on a CPU); the slices in turn let a call run several
  times the steps between two merges of a row, so that the call's merge of the tables
  (about 0.13 s on 2 CPU devices) is paid less often.
  """
  def split(name: str, table: jax.Array) -> tuple[slice | np.ndarray, slice | np.ndarray]:
    """(the rows merged every ``every`` steps, the others: in turn and at the call's end)."""
    order = method.row_order.get(name, np.arange(table.shape[0]))
    return _as_block(order[:hot_rows]), _as_block(order[hot_rows:])

  def merged_steps(state, totals, constants, start, num_steps, epoch):
    parts = {name: split(name, t) for name, t in state.params.items()}
    hot, cold = ({name: p[i] for name, p in parts.items()} for i in (0, 1))

    def by_table(state):
      return {name: (state.params[name], state.opt_state[name]) for name in state.params}

    def rows(tables, which):
      return {name: jax.tree.map(lambda x: x[which[name]] if jnp.ndim(x) else x, tree)
              for name, tree in tables.items()}

    def with_tables(state, tables):
      return state.replace(params={n: t[0] for n, t in tables.items()},
                           opt_state={n: t[1] for n, t in tables.items()})

    at_call = by_table(state)

    def segment(k, carry):
      state, totals, hot_start, cold_start = carry
      first = k * every
      state, totals = device_steps(state, totals, constants, start + first * process_batch,
                                   jnp.minimum(every, num_steps - first), epoch)
      tables, hot_start = _merge_rows(by_table(state), hot_start, hot, num_devices,
                                      method.merged_by_mean)
      if rotation:
        tables, cold_start = _merge_turn(tables, cold_start, cold, k % rotation, rotation)
      return with_tables(state, tables), totals, hot_start, cold_start

    state, local_totals, _, cold_start = jax.lax.fori_loop(
        0, (num_steps + every - 1) // every, segment,
        (state, totals, rows(at_call, hot), rows(at_call, cold)))
    tables, _ = _merge_rows(by_table(state), cold_start, cold, agree=0)
    return with_tables(state, tables), jax.tree.map(merge_changes, totals, local_totals)

  return merged_steps


def place_epoch(epoch, topology: parallel.Topology):
  """This process's epoch as the train step takes it: one copy per local device, or (with
  sharded tables, where the step is one program) one replicated copy."""
  if topology.shard_tables:
    return parallel.replicate(epoch, topology)
  return parallel.per_device_copies(epoch, topology)


def zero_totals(topology: parallel.Topology | None = None) -> dict:
  """Empty running sums, replicated on ``topology`` (default: one device)."""
  zeros = {"loss_sum": jnp.zeros((), jnp.float32), "pairs": jnp.zeros((), jnp.int32)}
  return parallel.replicate(zeros, topology or parallel.make_topology(1))
