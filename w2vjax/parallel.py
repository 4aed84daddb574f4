"""Data parallelism over every device: one per-device step, two ways to run it.

The training step is written for one device: it samples its own slice of the global
batch and reduces over the mesh axis ``data`` (``lax.psum`` of dense gradients, an
all-gather of touched rows and their gradients on the row-sparse path), so every replica
applies the same update to its copy of the tables. ``wrap`` runs that step with
``jax.shard_map`` over a 1-D mesh (the default) or with ``jax.pmap``; on one device both
reduce to the plain step.

Across processes (``jax.distributed``), the mesh spans every process's devices; each
process holds its own share of the corpus and its devices sample centre words from it.

With ``shard_tables`` the tables are split by rows over the mesh instead of replicated
(w2vjax.placement), and the step is one program over the global batch that XLA's SPMD
partitioner splits (w2vjax.step); that needs shard_map's mesh and one process.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from w2vjax.errors import InputError

AXIS = "data"
MODES = ("shard_map", "pmap")


@dataclasses.dataclass(frozen=True)
class Topology:
  """The devices a run uses and how they split the work."""

  mesh: Mesh
  mode: str  # shard_map | pmap
  shard_tables: bool = False  # tables split by rows over the mesh, not replicated

  @property
  def num_devices(self) -> int:
    return self.mesh.devices.size

  @property
  def local_devices(self) -> list[jax.Device]:
    return [d for d in self.mesh.devices.flat if d.process_index == jax.process_index()]

  @property
  def on_cpu(self) -> bool:
    return self.mesh.devices.flat[0].platform == "cpu"

  @property
  def num_processes(self) -> int:
    return len({d.process_index for d in self.mesh.devices.flat})


def initialize_distributed(coordinator: str, num_processes: int, process_id: int) -> None:
  """Joins a multi-process run on JAX's own runtime (one call per process, before JAX work)."""
  if num_processes < 1 or not 0 <= process_id < num_processes:
    raise InputError(f"process_id must be in 0..{num_processes - 1}, got {process_id}")
  jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes,
                             process_id=process_id)


def even_parts(total: int, most: int, least: int = 16) -> int:
  """The most parts, up to ``most``, that split ``total`` evenly into parts of at least
  ``least`` (1 if none does)."""
  return max([n for n in range(1, max(1, most) + 1)
              if total % n == 0 and total // n >= least] or [1])


def available_cores() -> int:
  return (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
          else os.cpu_count() or 1)


def use_cpu_devices(count: int = 0, batch_size: int = 0) -> bool:
  """Splits the host's CPU into ``count`` JAX devices (0: one per core this process may
  use, as many as split ``batch_size`` evenly into parts of at least 16 centres), each
  running its operations on one thread; returns whether the split was applied.

  XLA runs a word2vec step's small operations one at a time, so a single CPU device keeps
  one core busy; several devices training their own parts of the batch keep all of them
  busy (see ``TrainConfig.sync_every``). It must run before JAX starts its backends, and
  changes nothing once they have started or when ``XLA_FLAGS`` already sets
  ``--xla_force_host_platform_device_count``. On a GPU or TPU host the accelerator stays
  the default device.
  """
  if count < 0:
    raise InputError(f"cpu_devices must be >= 0, got {count}")
  if "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
    return False
  if not count:
    cores = available_cores()
    count = even_parts(batch_size, cores) if batch_size else cores
  try:
    jax.config.update("jax_num_cpu_devices", count)
  except RuntimeError:  # the backends have started: their device count is fixed
    return False
  return True


def make_topology(num_devices: int = 0, mode: str = "shard_map",
                  shard_tables: bool = False) -> Topology:
  """A 1-D mesh over the first ``num_devices`` devices (0: all of them, every process's)."""
  if mode not in MODES:
    raise InputError(f"unknown parallel {mode!r}; choose one of {MODES}")
  if shard_tables and mode != "shard_map":
    raise InputError(f"shard_tables needs parallel=shard_map, not {mode}: pmap keeps a "
                     "whole copy of every argument on each device")
  if shard_tables and jax.process_count() > 1:
    # Every process would have to sample the same global batch, while each holds its own
    # share of the corpus: not supported.
    raise InputError("shard_tables runs in one process (its devices); a multi-process run "
                     "replicates the tables")
  devices = jax.devices()
  if num_devices < 0 or num_devices > len(devices):
    raise InputError(f"num_devices={num_devices} but {len(devices)} devices are available")
  if jax.process_count() > 1 and num_devices not in (0, len(devices)):
    raise InputError("a multi-process run uses every device: leave num_devices at 0")
  chosen = devices[:num_devices or len(devices)]
  check_device_order(chosen)
  return Topology(Mesh(np.array(chosen), (AXIS,)), mode, shard_tables)


def check_device_order(devices) -> None:
  """Refuses a device list whose processes are not contiguous and equal in size.

  The step finds a device's slice of its process's data from the device's mesh position
  (position modulo the devices per process), so each process's devices must sit in one
  block of equal length. JAX orders ``jax.devices()`` that way; a runtime that did not
  would silently train some centres twice and others never.
  """
  processes = [d.process_index for d in devices]
  order = list(dict.fromkeys(processes))
  per_process = len(devices) // len(order)
  if len(devices) % len(order) or processes != [p for p in order for _ in range(per_process)]:
    raise InputError("the devices of each process are not contiguous and equal in number "
                     f"in jax.devices() (process of each device: {processes}); the data "
                     "split assumes they are")


def agree_any(flags) -> tuple[bool, ...]:
  """Each flag OR-ed over every process of the run (no communication in a 1-process run).

  Decisions that lead to collectives or to leaving the loop (stop on a signal, report and
  check the loss, save) must be taken by all processes at the same step, or one process
  waits forever in a collective the others never enter.
  """
  flags = np.asarray(flags, np.int32)
  if jax.process_count() > 1:
    flags = np.asarray(multihost_utils.process_allgather(flags)).reshape(-1, len(flags)).max(0)
  return tuple(bool(f) for f in flags)


def leave_together(reason: str) -> None:
  """Waits until every process reaches this point (no-op in a 1-process run): one that
  leaves early takes the distributed runtime, and the others, down with it."""
  if jax.process_count() > 1:
    multihost_utils.sync_global_devices(f"w2vjax: {reason}")


def check_batch(batch_size: int, topology: Topology) -> int:
  """The per-device batch: the global batch split evenly, or a one-line error."""
  n = topology.num_devices
  if batch_size % n:
    raise InputError(f"batch_size={batch_size} does not split evenly over {n} devices; "
                     f"use a multiple of {n}")
  return batch_size // n


def replicate(tree, topology: Topology):
  """The same value on every device of the mesh."""
  sharding = NamedSharding(topology.mesh, P())
  if topology.num_processes == 1:
    return jax.device_put(tree, sharding)

  def put(x):
    if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
      return jax.random.wrap_key_data(put(jax.random.key_data(x)))
    return jax.make_array_from_process_local_data(sharding, np.asarray(x))

  return jax.tree.map(put, tree)


def per_device_copies(tree, topology: Topology):
  """Stacks this process's value once per local device, as one array sharded over ``data``.

  Inside the step each device sees its own [1, ...] block: in a multi-process run the
  blocks of different processes differ (each holds its share of the corpus).
  """
  sharding = NamedSharding(topology.mesh, P(AXIS))

  def stack(x):
    blocks = [jax.device_put(x[None], d) for d in topology.local_devices]
    return jax.make_array_from_single_device_arrays(
        (topology.num_devices, *x.shape), sharding, blocks)

  return jax.tree.map(stack, tree)


def to_host(tree):
  """NumPy copies of whole arrays: a sharded array's shards gathered, a replicated one read
  from this process's first copy (other processes' copies are not addressable here)."""
  def host(x):
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
      return np.asarray(x.addressable_data(0))
    return np.asarray(x)

  return jax.tree.map(host, tree)


def wrap(device_step: Callable, topology: Topology, num_replicated: int,
         num_blocked: int) -> Callable:
  """Runs ``device_step(*replicated, *blocked)`` on every device of the mesh, jitted.

  The first ``num_replicated`` arguments (and every output) are replicated; the next
  ``num_blocked`` are ``per_device_copies`` whose leading axis is taken off before the
  step sees them. The first two arguments are donated.
  """
  if topology.mode == "pmap":
    return jax.pmap(device_step, axis_name=AXIS,
                    in_axes=(None,) * num_replicated + (0,) * num_blocked, out_axes=None,
                    devices=list(topology.mesh.devices.flat), donate_argnums=(0, 1))

  def step(*args):
    replicated, blocked = args[:num_replicated], args[num_replicated:]
    return device_step(*replicated, *jax.tree.map(lambda x: x[0], blocked))

  # Replication of the outputs holds by construction (every device applies the same
  # reduced update), but JAX cannot infer it through an all-gather: check_vma=False.
  mapped = jax.shard_map(step, mesh=topology.mesh,
                         in_specs=(P(),) * num_replicated + (P(AXIS),) * num_blocked,
                         out_specs=P(), check_vma=False)
  return jax.jit(mapped, donate_argnums=(0, 1))
