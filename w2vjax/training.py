"""Training: the host loop over epochs and their parts (a streamed corpus's chunks), with
checkpoints, reports, signals and resume.

``train(config)`` prepares the data (w2vjax.data), builds the method the config names
(w2vjax.methods) and its train step (w2vjax.step), and runs the epochs. Nothing here
depends on which method is trained.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import signal
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import jax
import numpy as np
from jax.experimental import multihost_utils

from w2vjax import checkpoint, io_utils, memory, methods, optim, parallel, placement
from w2vjax import corpus as corpus_lib
from w2vjax.config import TrainConfig
from w2vjax.data import WINDOW_DRAWS, TrainingData, prepare_data
from w2vjax.embeddings import Embeddings
from w2vjax.errors import InputError
from w2vjax.methods.base import CONTEXT_INITS
from w2vjax.reporting import Reporter
from w2vjax.step import (TrainState, init_state, make_train_step, place_epoch,
                         resolve_update, steps_per_call, sync_every, zero_totals)


@dataclasses.dataclass
class TrainResult:
  config: TrainConfig
  vocab: object  # text.Vocab
  method: methods.Method
  params: dict
  embeddings: Embeddings
  metrics: list[dict]
  startup_seconds: float  # reading, vocabulary, device transfer
  train_seconds: float  # the epochs, after compilation
  words_per_sec: float  # raw_words * epochs / train_seconds
  checkpoint_seconds: float = 0.0  # time spent saving checkpoints, within train_seconds
  compile_seconds: float = 0.0  # compiling the train step, before train_seconds start
  raw_words: int = 0  # corpus words per epoch, as words/s counts them
  devices: int = 1
  learning_rate: float = 0.0  # the one trained with: the config's or the method's default

  def save_model(self, workdir: str | Path) -> None:
    """Writes the method's own model file into ``workdir``, if it has one (subwords)."""
    self.method.save_model(self.params, self.vocab, workdir)


def validate(config: TrainConfig) -> None:
  """Raises InputError naming the first impossible setting."""
  methods.validate(config)
  choices = {"optimizer": optim.OPTIMIZERS, "lr_schedule": optim.SCHEDULES,
             "context_init": CONTEXT_INITS, "window_draw": WINDOW_DRAWS,
             "window_weights": corpus_lib.WINDOW_WEIGHTS,
             "centre_order": corpus_lib.CENTRE_ORDERS}
  for name, allowed in choices.items():
    if getattr(config, name) not in allowed:
      raise InputError(f"unknown {name} {getattr(config, name)!r}; choose one of {allowed}")
  for name in ("epochs", "dim", "window", "batch_size", "min_count"):
    if getattr(config, name) <= 0:
      raise InputError(f"{name} must be positive, got {getattr(config, name)}")
  for name in ("subsample", "max_vocab", "max_steps", "steps_per_call", "batch_splits",
               "learning_rate", "chunk_tokens", "tokenize_workers", "sync_every",
               "sync_rows", "cpu_devices", "centre_run"):
    if getattr(config, name) < 0:
      raise InputError(f"{name} must be >= 0, got {getattr(config, name)}")
  if config.centre_run and config.centre_order not in corpus_lib.DEFAULT_LENGTHS:
    raise InputError(f"centre_run sets the length of centre_order=runs or blocks; "
                     f"centre_order={config.centre_order} has neither")


def learning_rate(config: TrainConfig, method: methods.Method) -> float:
  """The config's learning rate, or (0) the method's default."""
  return config.learning_rate or method.learning_rate


class Interrupted(Exception):
  """Training stopped on SIGINT or SIGTERM after saving a checkpoint."""


@contextlib.contextmanager
def _stop_requests():
  """Turns SIGINT and SIGTERM into a flag that the loop checks between steps."""
  requested: list[int] = []
  if threading.current_thread() is not threading.main_thread():
    yield requested  # signal handlers can only be installed from the main thread
    return
  previous = {sig: signal.signal(sig, lambda signum, _: requested.append(signum))
              for sig in (signal.SIGINT, signal.SIGTERM)}
  try:
    yield requested
  finally:
    for sig, handler in previous.items():
      signal.signal(sig, handler)


# Fields whose default changed after checkpoints were written without them: the value
# that reproduces how those runs trained.
_EARLIER_DEFAULTS = {"window_draw": "centre"}


def _comparable(config: dict, rate: float) -> dict:
  """A config as saved, with fields it predates at the values that reproduce the older
  behaviour, and the learning rate resolved: 0 means the method's default."""
  config = {**TrainConfig().to_dict(), **_EARLIER_DEFAULTS, **config}
  return {**config, "learning_rate": config["learning_rate"] or rate}


def _restore(workdir: Path, state: TrainState, config: TrainConfig, rate: float):
  """The checkpointed state, position and history, if the workdir's run is this one."""
  try:
    saved = _comparable(checkpoint.saved_config(workdir), rate)
    differences = checkpoint.config_differences(saved, _comparable(config.to_dict(), rate))
    if not differences:
      return checkpoint.load(workdir, state)
  except (ValueError, KeyError, OSError, zipfile.BadZipFile) as e:
    raise InputError(f"cannot resume from {checkpoint.path_in(workdir)} ({e}); "
                     "use a fresh workdir or --config.resume=false") from None
  changes = ", ".join(f"{n}: {saved.get(n)!r} -> {getattr(config, n, None)!r}"
                      for n in differences)
  raise InputError(f"{workdir} holds a run with another config ({changes}); use a fresh "
                   "workdir, or --config.resume=false to start over there")


def _prepare_workdir(workdir: Path, state: TrainState, config: TrainConfig, writer: bool,
                     rate: float):
  """Creates the workdir, resumes from its checkpoint if allowed, records the config.

  Every process of a multi-process run resumes from the checkpoint (on a shared file
  system); only the ``writer`` changes the workdir.
  """
  if writer:
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in workdir.glob(".*.tmp"):  # left by a run killed in the middle of a write
      stale.unlink()
  position, history = checkpoint.Position(0, 0, 0), []
  if config.resume and checkpoint.path_in(workdir).is_file():
    state, position, history = _restore(workdir, state, config, rate)
  if writer:
    io_utils.write_json(workdir / "config.json", config.to_dict())
  return state, position, history


def _steps_in_part(kept: int, process_batch: int) -> int:
  """Steps that visit every kept item; the most any process needs, so all stay in step."""
  if jax.process_count() > 1:
    kept = int(np.max(multihost_utils.process_allgather(np.int64(kept))))
  return max(1, corpus_lib.ceil_div(kept, process_batch))


def _slots(position: checkpoint.Position, num_epochs: int, parts: int) -> Iterator[tuple]:
  """(epoch, slot) of every part still to train, from ``position`` on."""
  for epoch in range(position.epoch, num_epochs):
    yield from ((epoch, slot) for slot in range(position.chunk if epoch == position.epoch
                                                else 0, parts))


def _prefetched(items: Iterator) -> Iterator:
  """The items of ``items``, each next one computed in a background thread while the
  caller works on the current one (a streamed chunk is read, moved to the device,
  subsampled and shuffled while the previous one trains). Closing this generator waits
  for the item in preparation, which is then dropped."""
  end = object()
  with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="w2vjax-prefetch") as pool:
    pending = pool.submit(next, items, end)
    while (item := pending.result()) is not end:
      pending = pool.submit(next, items, end)
      yield item


@dataclasses.dataclass
class _Loop:
  """What the host loop holds over a run: the pieces fixed at its start, and its
  bookkeeping between calls (running totals, saves and their cost, compilation)."""

  config: TrainConfig
  data: TrainingData
  opt: optim.Optimizer
  reporter: Reporter
  workdir: Path | None  # None on every process but the first: only it writes checkpoints
  layout: placement.Placement
  train_step: Callable
  call_steps: int
  process_batch: int
  total_steps: int
  # Several CPU devices share one thread pool: with steps dispatched ahead, devices blocked
  # in a collective can starve the device that must join them (XLA's rendezvous then
  # aborts after 40 s). Waiting for each call on multi-device CPU avoids it.
  wait_each_call: bool
  totals: dict
  last_save: float
  save_seconds: float = 0.0
  compile_seconds: float | None = None

  def compile(self, state: TrainState, epoch, prepared_since: float) -> TrainState:
    """A call of zero steps compiles the step (the step count is traced, so every later
    call reuses it): compilation is start-up, preparing the first part is training."""
    epoch_seconds, t = time.perf_counter() - prepared_since, time.perf_counter()
    state, self.totals = jax.block_until_ready(self.train_step(state, self.totals, epoch, 0, 0))
    self.compile_seconds = time.perf_counter() - t
    self.reporter.restart_clock(epoch_seconds)
    return state

  def run_part(self, state: TrainState, epoch, epoch_key: jax.Array,
               start: checkpoint.Position, num_steps: int, last_part: bool, stop
               ) -> tuple[TrainState, int, bool]:
    """Trains one prepared part from ``start`` (its epoch, slot, first step in the part and
    the global step); returns the state, the global step and whether the run is done."""
    i, step = start.step_in_epoch, start.step
    while i < num_steps:
      count = min(self.call_steps, num_steps - i,
                  self.total_steps - step if self.config.max_steps else num_steps)
      state, self.totals = self.train_step(state, self.totals, epoch, i * self.process_batch,
                                           count)
      if self.wait_each_call:
        jax.block_until_ready(self.totals)
      step, i = step + count, i + count
      finished = step == self.config.max_steps or (i == num_steps and last_part)
      # The stop flag is read once: a signal between two reads would skip the save.
      self.after_call(state, checkpoint.Position(start.epoch, i, step, start.chunk),
                      epoch_key, num_steps, finished, bool(stop))
      if finished:
        return state, step, True
    return state, step, False

  def after_call(self, state, position: checkpoint.Position, epoch_key: jax.Array,
                 num_steps: int, finished: bool, stopping: bool) -> None:
    """Reports (before saving: a NaN loss stops the run before it reaches a checkpoint)
    and saves a checkpoint when one is due; raises Interrupted on a stop request."""
    config, reporter = self.config, self.reporter
    timer = time.perf_counter() - self.last_save >= config.checkpoint_every_seconds
    # Every process must report (and check the loss), save and stop at the same call.
    stopping, timer, due = parallel.agree_any((stopping, timer, reporter.due()))
    epoch, i, step = position.epoch, position.step_in_epoch, position.step
    if stopping or finished or timer or due or i == num_steps:
      words = (self.data.raw_words * epoch
               + self.data.words_done(epoch_key, position.chunk, i / num_steps))
      reporter.report(self.totals, step, epoch + 1, words, float(self.opt.schedule(step - 1)))
      self.totals = zero_totals(self.layout.topology)
    if stopping or finished or timer:  # a save point on every process; only the first writes
      t = time.perf_counter()
      if self.workdir is not None:
        checkpoint.save(self.workdir, self.layout.to_host(state), position, config.to_dict(),
                        reporter.history)
      self.last_save = time.perf_counter()
      self.save_seconds += self.last_save - t
    if stopping:
      parallel.leave_together("stopped by signal")  # the first process saves before anyone exits
      where = f"; checkpoint saved in {self.workdir}: run the same command to resume"
      raise Interrupted(f"stopped by signal at step {step}" + (where if self.workdir else ""))


def _run_epochs(config: TrainConfig, data: TrainingData, method: methods.Method,
                opt: optim.Optimizer, state: TrainState, position: checkpoint.Position,
                reporter: Reporter, workdir: Path | None, layout: placement.Placement
                ) -> tuple[TrainState, float, float]:
  """The loop from ``position`` to the last epoch; returns the state, the seconds spent
  saving checkpoints and the seconds spent compiling.

  ``workdir`` is None on every process but the first: only it writes checkpoints.
  """
  topology = layout.topology
  num_epochs, total_steps = data.plan(config)
  process_batch = config.batch_size // topology.num_processes
  wait_each_call = topology.num_devices > 1 and topology.on_cpu
  loop = _Loop(config, data, opt, reporter, workdir, layout,
               make_train_step(config, method, opt, topology, total_steps),
               steps_per_call(config, method, topology, total_steps),
               process_batch, total_steps, wait_each_call, zero_totals(topology),
               time.perf_counter())
  epoch_key = jax.random.fold_in(jax.random.key(config.seed), 1)
  parts = data.parts.count

  def prepare(slot: tuple[int, int]):
    key = jax.random.fold_in(epoch_key, slot[0])
    epoch = data.epoch_part(key, slot[1], process_batch,
                             corpus_lib.order_of(config))
    return slot, key, int(epoch.num_kept), place_epoch(epoch, topology)

  prepared = (prepare(slot) for slot in _slots(position, num_epochs, parts))
  if parts > 1 and not wait_each_call:
    # (On multi-device CPU the preparation would compete for the devices' thread pool.)
    prepared = _prefetched(prepared)
  step, t = position.step, time.perf_counter()
  with _stop_requests() as stop, contextlib.closing(prepared):
    for (epoch_index, slot), key, kept, epoch in prepared:
      if config.max_steps and step >= total_steps:
        break
      num_steps = _steps_in_part(kept, process_batch)
      if loop.compile_seconds is None:
        state = loop.compile(state, epoch, t)
      resumed = (epoch_index, slot) == (position.epoch, position.chunk)
      start = checkpoint.Position(epoch_index, position.step_in_epoch if resumed else 0,
                                  step, slot)
      last_part = slot + 1 == parts and epoch_index + 1 == num_epochs
      state, step, finished = loop.run_part(state, epoch, key, start, num_steps, last_part,
                                            stop)
      if finished:  # before the next part is prepared, which would be wasted
        break
  return state, loop.save_seconds, loop.compile_seconds or 0.0


def _solve(config: TrainConfig, data: TrainingData, method: methods.Method,
           workdir: str | Path | None, startup: float) -> TrainResult:
  """A closed-form method's result: nothing to train, checkpoint or resume."""
  if workdir is not None and jax.process_index() == 0:
    Path(workdir).mkdir(parents=True, exist_ok=True)
    io_utils.write_json(Path(workdir) / "config.json", config.to_dict())
  t = time.perf_counter()
  params = method.solve(data.corpus)
  seconds = time.perf_counter() - t
  return TrainResult(config, data.vocab, method, params, method.embeddings(params, data.vocab),
                     [], startup, seconds, data.raw_words / max(seconds, 1e-9),
                     raw_words=data.raw_words)


def train(config: TrainConfig, *, workdir: str | Path | None = None,
          data: TrainingData | None = None, show_progress: bool = True) -> TrainResult:
  """Trains the method ``config`` names (w2vjax.methods) on its corpus.

  With a ``workdir``, the config goes to ``workdir/config.json``, metrics to
  ``workdir/metrics.jsonl``, and a checkpoint (``checkpoint.npz``) is saved every
  ``checkpoint_every_seconds``, at the end, and on SIGINT/SIGTERM (then Interrupted is
  raised); if the workdir holds a checkpoint of the same config and ``config.resume`` is
  set, training continues from it.
  """
  validate(config)
  t0 = time.perf_counter()
  topology = parallel.make_topology(config.num_devices, config.parallel, config.shard_tables)
  parallel.check_batch(config.batch_size, topology)
  data = data or prepare_data(config)
  method = methods.build(config, data.vocab)
  if data.kind != method.data:
    raise ValueError(f"{method.name} trains on {method.data} data, not {data.kind}")
  if method.solve is not None:
    return _solve(config, data, method, workdir, time.perf_counter() - t0)
  resolve_update(config, method)
  layout = placement.make_placement(topology, method)
  memory.check_fits(config, method, data.num_tokens, len(data.vocab),
                    table_devices=topology.num_devices if config.shard_tables else 1,
                    merged=sync_every(config, topology) > 1,
                    sharing=len(topology.local_devices) if topology.on_cpu else 1)
  _, total_steps = data.plan(config)
  rate = learning_rate(config, method)
  opt = optim.make_optimizer(config.optimizer, rate, total_steps, config.lr_schedule,
                             config.final_lr_ratio)
  state = init_state(config, method, opt)
  position, history = checkpoint.Position(0, 0, 0), []
  writer = jax.process_index() == 0  # in a multi-process run only the first one writes
  if workdir is not None:
    workdir = Path(workdir)
    state, position, history = _prepare_workdir(workdir, state, config, writer, rate)
  state = layout.place(state)
  startup = time.perf_counter() - t0
  total_words = data.raw_words * total_steps / data.steps_per_epoch(config.batch_size)
  own_workdir = workdir if writer else None
  reporter = Reporter(total_words, config.log_every_seconds, own_workdir,
                      show_progress and writer, history, topology.num_devices,
                      config.tensorboard)
  try:
    state, save_seconds, compile_seconds = _run_epochs(
        config, data, method, opt, state, position, reporter, own_workdir, layout)
    params = layout.to_host(state).params
  finally:
    reporter.close()
  seconds = time.perf_counter() - reporter.start
  return TrainResult(config, data.vocab, method, params, method.embeddings(params, data.vocab),
                     reporter.history, startup, seconds, reporter.trained_words() / seconds,
                     save_seconds, compile_seconds, data.raw_words, topology.num_devices, rate)
