"""Training: TrainState, the jitted train_step, and the epoch loop."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import signal
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils

from w2vjax import (checkpoint, datasets, io_utils, memory, objectives, optim, parallel,
                    summaries, text)
from w2vjax import corpus as corpus_lib
from w2vjax.config import TrainConfig
from w2vjax.embeddings import Embeddings
from w2vjax.errors import InputError
from w2vjax.gradients import negative_sampling_grads, window_negative_sampling_grads
from w2vjax.model import CONTEXT_INITS, init_params
from w2vjax.objectives import SAMPLED_OBJECTIVES
from w2vjax.progress import Progress

UPDATE_MODES = ("auto", "dense", "sparse")
BITS_CHUNK = 16  # steps whose random draws are generated together


@flax.struct.dataclass
class TrainState:
  step: jax.Array  # int32 []
  params: dict  # {'u': [V, d], 'v': [V, d]}
  opt_state: dict  # per table
  key: jax.Array  # PRNG key for the next step; split, never reused


@dataclasses.dataclass(frozen=True)
class TrainingData:
  """Everything the loop needs from the corpus, already on the device."""

  vocab: text.Vocab
  corpus: corpus_lib.DeviceCorpus
  noise: corpus_lib.NoiseSampler | None
  raw_words: int  # corpus words before min_count: what words/s counts, as gensim does
  expected_kept: float  # expected tokens per epoch after subsampling

  def steps_per_epoch(self, batch_size: int) -> int:
    return max(1, corpus_lib.ceil_div(round(self.expected_kept), batch_size))

  def plan(self, config: TrainConfig) -> tuple[int, int]:
    """(epochs to iterate, total steps) for ``config``: its epochs, or its max_steps."""
    per_epoch = self.steps_per_epoch(config.batch_size)
    if config.max_steps:
      # Epoch lengths vary with subsampling; a spare epoch makes sure max_steps is reached.
      return corpus_lib.ceil_div(config.max_steps, per_epoch) + 1, config.max_steps
    return config.epochs, config.epochs * per_epoch


@dataclasses.dataclass
class TrainResult:
  config: TrainConfig
  vocab: text.Vocab
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


def resolve_update(config: TrainConfig) -> str:
  if config.update not in UPDATE_MODES:
    raise InputError(f"unknown update {config.update!r}; choose one of {UPDATE_MODES}")
  if config.update == "auto":
    return "sparse" if config.objective in SAMPLED_OBJECTIVES else "dense"
  if config.update == "sparse" and config.objective not in SAMPLED_OBJECTIVES:
    raise InputError(f"update=sparse needs a sampled objective; {config.objective} "
                     "touches every row of v, so use update=dense")
  return config.update


def validate(config: TrainConfig) -> None:
  """Raises InputError naming the first impossible setting."""
  choices = {"objective": objectives.OBJECTIVES, "optimizer": optim.OPTIMIZERS,
             "lr_schedule": optim.SCHEDULES, "context_init": CONTEXT_INITS}
  for name, allowed in choices.items():
    if getattr(config, name) not in allowed:
      raise InputError(f"unknown {name} {getattr(config, name)!r}; choose one of {allowed}")
  positive = ("epochs", "dim", "window", "batch_size", "min_count")
  for name in positive:
    if getattr(config, name) <= 0:
      raise InputError(f"{name} must be positive, got {getattr(config, name)}")
  if config.objective in SAMPLED_OBJECTIVES and config.negatives < 1:
    raise InputError(f"{config.objective} needs negatives >= 1, got {config.negatives}")
  for name in ("subsample", "max_vocab", "max_steps", "steps_per_call", "batch_splits"):
    if getattr(config, name) < 0:
      raise InputError(f"{name} must be >= 0, got {getattr(config, name)}")
  if config.learning_rate <= 0:
    raise InputError(f"learning_rate must be positive, got {config.learning_rate}")
  resolve_update(config)


def process_share(ids: np.ndarray, sentence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """This process's contiguous, equal share of the corpus (all of it in a 1-process run).

  Equal lengths keep the processes' epochs in step; the last few tokens of a corpus that
  does not divide are dropped, and a sentence cut at a share boundary loses its windows
  across the cut.
  """
  count, index = jax.process_count(), jax.process_index()
  size = len(ids) // count
  return ids[index * size:(index + 1) * size], sentence[index * size:(index + 1) * size]


def prepare_data(config: TrainConfig) -> TrainingData:
  """Reads (or loads the cached encoding of) the corpus and puts this process's share on
  its device."""
  encoded = text.load_encoded(datasets.resolve_corpus(config.corpus), config.cache_dir or None)
  if encoded.num_tokens == 0:
    raise InputError(f"corpus {config.corpus} holds no words")
  vocab = encoded.vocab.truncate(config.min_count, config.max_vocab or None)
  # Two words make the smallest vocabulary in which a context can be told from noise;
  # fewer words than noise draws or window slots means a corpus too small to learn from.
  needed = max(2, config.window,
               config.negatives if config.objective in SAMPLED_OBJECTIVES else 2)
  if len(vocab) < needed:
    raise InputError(f"vocabulary has {len(vocab)} words with min_count={config.min_count}; "
                     f"need at least {needed}: lower min_count or use a larger corpus")
  ids, sentence = process_share(*encoded.restrict(vocab))
  memory.check_fits(config, len(vocab), len(ids))
  device_corpus = corpus_lib.make_device_corpus(ids, sentence, vocab.counts, config.subsample)
  keep = corpus_lib.subsample_keep_prob(vocab.counts, config.subsample)
  noise = (corpus_lib.make_noise_sampler(vocab.counts, config.noise_exponent)
           if config.objective in SAMPLED_OBJECTIVES else None)
  # Both are global counts: every process plans the same number of steps.
  return TrainingData(vocab, device_corpus, noise, encoded.num_tokens,
                      float(np.dot(vocab.counts, keep)))


def pair_loss_and_grads(objective: str, log_noise: jax.Array | None) -> Callable:
  """``f(u_t, v_c, v_negs, c, negs) -> (loss, (du_t, dv_c, dv_negs))`` for one pair.

  Negative sampling uses its closed-form gradients (word2vec's); the other K-sample
  objectives differentiate their pair loss with respect to the gathered rows.
  """
  if objective == "negative_sampling":
    return lambda u_t, v_c, v_negs, c, negs: (
        objectives.negative_sampling_loss(u_t, v_c, v_negs),
        negative_sampling_grads(u_t, v_c, v_negs))
  return jax.value_and_grad(objectives.sampled_pair_loss(objective, log_noise),
                            argnums=(0, 1, 2))


def sampled_row_grads(pair_fn: Callable, params: dict, batch: corpus_lib.Batch):
  """``(loss, (u_rows, u_grads), (v_rows, v_grads))`` of a K-sample objective's batch: the
  touched rows and their gradients, for ``optim.sparse_update``.

  ``pair_fn`` is ``pair_loss_and_grads(...)``. Rows of empty slots are out of range.
  """
  centres, slots = batch.contexts.shape
  dim = params["u"].shape[1]
  # One vmap over the flattened pairs compiles to faster CPU code than vmap(vmap(...))
  # over [B, C] (measured 1.6 vs 2.2 ms per step at B=256 on text8-1m).
  pair_targets = jnp.repeat(batch.targets, slots)
  contexts = batch.contexts.reshape(-1)
  negatives = batch.negatives.reshape(centres * slots, -1)
  mask = batch.mask.reshape(-1, 1)
  u_t, v_c, v_negs = params["u"][pair_targets], params["v"][contexts], params["v"][negatives]
  losses, (du_t, dv_c, dv_negs) = jax.vmap(pair_fn)(u_t, v_c, v_negs, contexts, negatives)
  loss = jnp.sum(losses * mask[:, 0])
  # A centre's pairs all touch its one u row: sum them first and scatter B rows, not B * C.
  du_rows = (du_t * mask).reshape(centres, slots, dim).sum(axis=1)
  # Empty slots go to an out-of-range row, which the update drops: with zero gradients
  # they would change nothing under SGD, but Adam's momentum would still move them.
  vocab_size = params["u"].shape[0]
  u_rows = jnp.where(batch.mask.any(axis=1), batch.targets, vocab_size)
  pair_ok = mask[:, 0] > 0
  v_rows = jnp.concatenate([jnp.where(pair_ok, contexts, vocab_size),
                            jnp.where(pair_ok[:, None], negatives, vocab_size).reshape(-1)])
  v_grads = jnp.concatenate([dv_c * mask, (dv_negs * mask[:, :, None]).reshape(-1, dim)])
  return loss, (u_rows, du_rows), (v_rows, v_grads)


def shared_negatives_row_grads(params: dict, batch: corpus_lib.Batch):
  """``sampled_row_grads`` of negative sampling when a window's pairs share their noise words.

  In word2vec.c's orientation (``gradients.window_negative_sampling_grads``): a window
  touches its context words' u rows and K + 1 rows of v (its centre and noise words), and
  its scores are one small matrix product.
  """
  vocab_size = params["u"].shape[0]
  outputs = jnp.concatenate([batch.targets[:, None], batch.negatives[:, 0]], axis=1)
  loss, du_ctx, dv_out = jax.vmap(window_negative_sampling_grads)(
      params["u"][batch.contexts], params["v"][outputs], batch.mask)
  u_rows = jnp.where(batch.mask > 0, batch.contexts, vocab_size).reshape(-1)
  v_rows = jnp.where(batch.mask.any(axis=1, keepdims=True), outputs, vocab_size).reshape(-1)
  dim = params["u"].shape[1]
  return jnp.sum(loss), (u_rows, du_ctx.reshape(-1, dim)), (v_rows, dv_out.reshape(-1, dim))


def batch_row_grads(config: TrainConfig, pair_fn: Callable | None, params: dict,
                    batch: corpus_lib.Batch, parts: int = 1):
  """``(loss, (u_rows, u_grads), (v_rows, v_grads))`` of a K-sample batch, computed in
  ``parts`` independent parts.

  The parts have no data dependence between them, so XLA's CPU runtime runs them on
  separate cores (one part of 64 centres leaves a second core idle); their rows and
  gradients, concatenated, are those of one part, in the same order.
  """
  def concatenate(*pieces):
    return jnp.concatenate(pieces)

  grads = []
  for part in zip(*(jnp.split(x, parts) for x in batch)):
    part = corpus_lib.Batch(*part)
    grads.append(shared_negatives_row_grads(params, part) if config.shares_negatives
                 else sampled_row_grads(pair_fn, params, part))
  losses, u_updates, v_updates = zip(*grads)
  return (sum(losses), jax.tree.map(concatenate, *u_updates),
          jax.tree.map(concatenate, *v_updates))


def steps_per_call(config: TrainConfig, vocab_size: int) -> int:
  """Steps one jitted call runs: ``config.steps_per_call``, or (0) about 2^22 scored
  (pair, output row) products per call, at most 256 steps.

  A call that runs many steps in a loop on the device costs one dispatch for all of them,
  which is most of the cost of a small negative-sampling step; a full-softmax step scores
  every word, so it gets a call of its own and the loop stays responsive to reports and
  signals.
  """
  if config.steps_per_call:
    return config.steps_per_call
  rows = vocab_size if config.objective == "softmax" else config.negatives + 1
  return int(np.clip(2**22 // (config.batch_size * 2 * config.window * rows), 1, 256))


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
  if topology.mesh.devices.flat[0].platform != "cpu":
    return 1
  cores = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
           else os.cpu_count() or 1) // len(topology.local_devices)
  return max([s for s in range(1, max(1, cores) + 1)
              if device_batch % s == 0 and device_batch // s >= 16] or [1])


def make_train_step(config: TrainConfig, opt: optim.Optimizer,
                    noise: corpus_lib.NoiseSampler | None,
                    topology: parallel.Topology | None = None) -> Callable:
  """Builds ``train_step(state, totals, epoch_blocks, start, num_steps) -> (state, totals)``.

  Runs ``num_steps`` steps (a traced count: any number, one compilation) of the global
  batch ``config.batch_size``, split evenly over the topology's devices (default: one
  device), in a loop on the device. ``epoch_blocks`` is ``place_epoch(epoch, topology)``;
  step i trains the centres from ``start + i * process_batch`` of this process's epoch
  order. Step n's random draws come from ``state.key`` folded with n, so they do not
  depend on how steps are split into calls. ``totals`` holds running sums of the loss and
  of the pairs trained (see ``zero_totals``). The state and totals are donated: the tables
  are updated in place, not copied. Pass them replicated on the topology
  (``parallel.replicate``): other placements are resharded at every call.
  """
  topology = topology or parallel.make_topology(1, config.parallel)
  mode = resolve_update(config)
  sampled = config.objective in SAMPLED_OBJECTIVES
  device_batch = parallel.check_batch(config.batch_size, topology)
  process_batch = config.batch_size // topology.num_processes
  local_count = len(topology.local_devices)
  negatives = config.negatives if sampled else 0
  width = corpus_lib.bits_per_centre(config.window, negatives, config.shares_negatives)
  sample = functools.partial(corpus_lib.batch_from_bits, window=config.window,
                             negatives=negatives, noise=noise,
                             share_negatives=config.shares_negatives)
  log_noise = noise.log_probs if sampled else None
  loss_and_grad = jax.value_and_grad(
      lambda params, batch: objectives.batch_loss(config.objective, params, batch, log_noise))
  pair_fn = pair_loss_and_grads(config.objective, log_noise) if sampled else None
  # On one device the collectives are identities; left in, each still costs a few us of
  # a 70 us step on a CPU.
  if topology.num_devices > 1:
    psum = functools.partial(jax.lax.psum, axis_name=parallel.AXIS)
    all_gather = functools.partial(jax.lax.all_gather, axis_name=parallel.AXIS, tiled=True)
  else:
    psum = all_gather = lambda x: x

  splits = batch_splits(config, topology)

  def one_step(state: TrainState, totals: dict, start: jax.Array, bits: jax.Array,
               epoch: corpus_lib.Epoch):
    # This device's rows of the global batch's draws, and its slice of its process's part
    # of the global batch.
    device = jax.lax.axis_index(parallel.AXIS)
    bits = jax.lax.dynamic_slice_in_dim(bits, device * device_batch, device_batch)
    batch = sample(bits, epoch, start + (device % local_count) * device_batch)
    if mode == "dense":
      loss, grads = psum(loss_and_grad(state.params, batch))
      params, opt_state = optim.dense_update(opt, state.params, state.opt_state, grads)
    else:
      loss, u_update, v_update = batch_row_grads(config, pair_fn, state.params, batch, splits)
      # Every replica applies the touched rows of the whole global batch.
      loss, updates = psum(loss), all_gather({"u": u_update, "v": v_update})
      params, opt_state = optim.sparse_updates(opt, state.params, state.opt_state, updates)
    # Running sums stay on the device; the host reads them once per report, because
    # fetching (or stacking) one tiny array per step costs more than the step itself.
    pairs = psum(jnp.sum(batch.mask, dtype=jnp.int32))
    totals = {"loss_sum": totals["loss_sum"] + loss, "pairs": totals["pairs"] + pairs}
    return TrainState(state.step + 1, params, opt_state, state.key), totals

  def device_steps(state, totals, start, num_steps, epoch):
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
          lambda i, carry: one_step(*carry, start + (first + i) * process_batch, bits[i],
                                    epoch), carry)

    return jax.lax.fori_loop(0, (num_steps + BITS_CHUNK - 1) // BITS_CHUNK, chunk,
                             (state, totals))

  wrapped = parallel.wrap(device_steps, topology, num_replicated=4, num_blocked=1)
  return lambda state, totals, epoch_blocks, start, num_steps: wrapped(
      state, totals, np.int32(start), np.int32(num_steps), epoch_blocks)


def place_epoch(epoch: corpus_lib.Epoch, topology: parallel.Topology) -> corpus_lib.Epoch:
  """This process's epoch, one copy per local device, as the train step takes it."""
  return parallel.per_device_copies(epoch, topology)


def zero_totals(topology: parallel.Topology | None = None) -> dict:
  """Empty running sums, replicated on ``topology`` (default: one device)."""
  zeros = {"loss_sum": jnp.zeros((), jnp.float32), "pairs": jnp.zeros((), jnp.int32)}
  return parallel.replicate(zeros, topology or parallel.make_topology(1))


def init_state(config: TrainConfig, vocab_size: int, opt: optim.Optimizer) -> TrainState:
  init_key, step_key = jax.random.split(jax.random.key(config.seed))
  params = init_params(init_key, vocab_size, config.dim, config.init_scale, config.context_init)
  return TrainState(jnp.zeros((), jnp.int32), params, optim.init_state(opt, params), step_key)


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


class _Reporter:
  """Turns the device's running totals into metrics.jsonl records and progress.

  Steps are dispatched asynchronously and reading a value waits for the device, so the
  loop reads the totals once per reporting interval (and at the end of each epoch).
  metrics.jsonl is rewritten atomically from the history at each report, so after a kill
  it matches the checkpoint it resumes from.
  """

  def __init__(self, config: TrainConfig, total_words: float, workdir: Path | None,
               show_progress: bool, history: list[dict], devices: int = 1):
    self.config = config
    self.devices = devices
    self.progress = Progress(total_words, config.log_every_seconds, enabled=show_progress)
    self.path = Path(workdir) / "metrics.jsonl" if workdir is not None else None
    self.tensorboard = None
    if config.tensorboard and workdir is not None:
      # A resumed run replaces whatever the killed run logged after its checkpoint.
      self.tensorboard = summaries.TensorBoardWriter(
          Path(workdir) / "tensorboard", purge_step=history[-1]["step"] + 1 if history else None)
    self.history = list(history)
    self.start = self.last_time = time.perf_counter()
    self.start_words = self.last_words = history[-1]["words"] if history else 0.0
    self.elapsed_before = history[-1]["elapsed_sec"] if history else 0.0

  def restart_clock(self, already: float = 0.0) -> None:
    """Restarts the words/s clock as if ``already`` seconds of training had passed (after
    compilation, which is start-up)."""
    self.start = self.last_time = time.perf_counter() - already

  def due(self) -> bool:
    return time.perf_counter() - self.last_time >= self.progress.interval

  def report(self, totals: dict, step: int, epoch: int, words: float, lr: float) -> None:
    """Records the metrics summed since the last report (``totals``, read from the device)."""
    totals = parallel.to_host(totals)
    now = time.perf_counter()
    pairs = int(totals["pairs"])
    record = {"step": step, "epoch": epoch, "loss": float(totals["loss_sum"]) / max(pairs, 1),
              "pairs": pairs, "learning_rate": lr, "words": words,
              "words_per_sec": (words - self.last_words) / (now - self.last_time),
              "devices": self.devices, "elapsed_sec": self.elapsed_before + now - self.start}
    self.last_time, self.last_words = now, words
    if not np.isfinite(record["loss"]):
      raise FloatingPointError(
          f"loss became {record['loss']} by step {step}; the learning rate "
          f"({self.config.learning_rate}) is probably too high for {self.config.optimizer}")
    self.history.append(record)
    if self.path is not None:
      with io_utils.atomic_open(self.path, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in self.history)
    if self.tensorboard is not None:
      self.tensorboard.write_scalars(step, {name: record[name] for name in (
          "loss", "learning_rate", "words_per_sec", "words", "elapsed_sec")})
      self.tensorboard.flush()  # reports are seconds apart: keep the events readable live
    self.progress.report(words, record["loss"], record["words_per_sec"],
                         record["learning_rate"], epoch)

  def trained_words(self) -> float:
    """Words trained since this reporter started (a resumed run counts from its resume)."""
    return (self.history[-1]["words"] if self.history else 0.0) - self.start_words

  def close(self) -> None:
    self.progress.close()
    if self.tensorboard is not None:
      self.tensorboard.close()


def _restore(workdir: Path, state: TrainState, config: TrainConfig):
  """The checkpointed state, position and history, if the workdir's run is this one."""
  try:
    differences = checkpoint.config_differences(checkpoint.saved_config(workdir),
                                                config.to_dict())
    if not differences:
      return checkpoint.load(workdir, state)
  except (ValueError, KeyError, OSError, zipfile.BadZipFile) as e:
    raise InputError(f"cannot resume from {checkpoint.path_in(workdir)} ({e}); "
                     "use a fresh workdir or --config.resume=false") from None
  saved = checkpoint.saved_config(workdir)
  changes = ", ".join(f"{n}: {saved.get(n)!r} -> {getattr(config, n, None)!r}"
                      for n in differences)
  raise InputError(f"{workdir} holds a run with another config ({changes}); use a fresh "
                   "workdir, or --config.resume=false to start over there")


def _prepare_workdir(workdir: Path, state: TrainState, config: TrainConfig, writer: bool):
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
    state, position, history = _restore(workdir, state, config)
  if writer:
    io_utils.write_json(workdir / "config.json", config.to_dict())
  return state, position, history


def _steps_in_epoch(epoch: corpus_lib.Epoch, process_batch: int) -> int:
  """Steps that visit every kept centre; the most any process needs, so all stay in step."""
  kept = int(epoch.num_kept)
  if jax.process_count() > 1:
    kept = int(np.max(multihost_utils.process_allgather(np.int64(kept))))
  return max(1, corpus_lib.ceil_div(kept, process_batch))


def _run_epochs(config: TrainConfig, data: TrainingData, opt: optim.Optimizer,
                state: TrainState, position: checkpoint.Position, reporter: _Reporter,
                workdir: Path | None, topology: parallel.Topology
                ) -> tuple[TrainState, float, float]:
  """The loop from ``position`` to the last epoch; returns the state, the seconds spent
  saving checkpoints and the seconds spent compiling.

  ``workdir`` is None on every process but the first: only it writes checkpoints.
  """
  train_step = make_train_step(config, opt, data.noise, topology)
  call_steps = steps_per_call(config, len(data.vocab))
  epoch_key = jax.random.fold_in(jax.random.key(config.seed), 1)
  num_epochs, total_steps = data.plan(config)
  process_batch = config.batch_size // topology.num_processes
  # Several CPU devices share one thread pool: with steps dispatched ahead, devices blocked
  # in a collective can starve the device that must join them (XLA's rendezvous then
  # aborts after 40 s). Waiting for each call on multi-device CPU avoids it.
  wait_each_call = topology.num_devices > 1 and topology.mesh.devices.flat[0].platform == "cpu"
  step, totals = position.step, zero_totals(topology)
  last_save, save_seconds, compile_seconds = time.perf_counter(), 0.0, None
  with _stop_requests() as stop:
    for epoch_index in range(position.epoch, num_epochs):
      if config.max_steps and step >= total_steps:
        break
      t = time.perf_counter()
      epoch = corpus_lib.make_epoch(jax.random.fold_in(epoch_key, epoch_index),
                                    data.corpus, process_batch)
      num_steps = _steps_in_epoch(epoch, process_batch)
      epoch = place_epoch(epoch, topology)
      if compile_seconds is None:
        # A call of zero steps compiles the step (the step count is traced, so every later
        # call reuses it): compilation is start-up, preparing the epoch is training.
        epoch_seconds, t = time.perf_counter() - t, time.perf_counter()
        state, totals = jax.block_until_ready(train_step(state, totals, epoch, 0, 0))
        compile_seconds = time.perf_counter() - t
        reporter.restart_clock(epoch_seconds)
      i = position.step_in_epoch if epoch_index == position.epoch else 0
      while i < num_steps:
        count = min(call_steps, num_steps - i,
                    total_steps - step if config.max_steps else num_steps)
        state, totals = train_step(state, totals, epoch, i * process_batch, count)
        if wait_each_call:
          jax.block_until_ready(totals)
        step, i = step + count, i + count
        finished = (step == config.max_steps
                    or i == num_steps and epoch_index + 1 == num_epochs)
        stopping = bool(stop)  # read once: a signal between two reads would skip the save
        save = workdir is not None and (
            stopping or finished
            or time.perf_counter() - last_save >= config.checkpoint_every_seconds)
        if save or finished or i == num_steps or reporter.due():
          # Reported before saving: a NaN loss stops the run before it reaches a checkpoint.
          words = data.raw_words * (epoch_index + i / num_steps)
          reporter.report(totals, step, epoch_index + 1, words, float(opt.schedule(step - 1)))
          totals = zero_totals(topology)
        if save:
          t = time.perf_counter()
          checkpoint.save(workdir, state, checkpoint.Position(epoch_index, i, step),
                          config.to_dict(), reporter.history)
          last_save = time.perf_counter()
          save_seconds += last_save - t
        if stopping:
          where = f"; checkpoint saved in {workdir}: run the same command to resume"
          raise Interrupted(f"stopped by signal at step {step}" + (where if workdir else ""))
        if finished:
          break
  return state, save_seconds, compile_seconds or 0.0


def train(config: TrainConfig, *, workdir: str | Path | None = None,
          data: TrainingData | None = None, show_progress: bool = True) -> TrainResult:
  """Trains skip-gram vectors.

  With a ``workdir``, the config goes to ``workdir/config.json``, metrics to
  ``workdir/metrics.jsonl``, and a checkpoint (``checkpoint.npz``) is saved every
  ``checkpoint_every_seconds``, at the end, and on SIGINT/SIGTERM (then Interrupted is
  raised); if the workdir holds a checkpoint of the same config and ``config.resume`` is
  set, training continues from it.
  """
  validate(config)
  t0 = time.perf_counter()
  topology = parallel.make_topology(config.num_devices, config.parallel)
  parallel.check_batch(config.batch_size, topology)
  data = data or prepare_data(config)
  _, total_steps = data.plan(config)
  opt = optim.make_optimizer(config.optimizer, config.learning_rate, total_steps,
                             config.lr_schedule, config.final_lr_ratio)
  state = init_state(config, len(data.vocab), opt)
  position, history = checkpoint.Position(0, 0, 0), []
  writer = jax.process_index() == 0  # in a multi-process run only the first one writes
  if workdir is not None:
    workdir = Path(workdir)
    state, position, history = _prepare_workdir(workdir, state, config, writer)
  state = parallel.replicate(state, topology)
  startup = time.perf_counter() - t0
  total_words = data.raw_words * total_steps / data.steps_per_epoch(config.batch_size)
  own_workdir = workdir if writer else None
  reporter = _Reporter(config, total_words, own_workdir, show_progress and writer, history,
                       topology.num_devices)
  try:
    state, save_seconds, compile_seconds = _run_epochs(config, data, opt, state, position,
                                                       reporter, own_workdir, topology)
    params = parallel.to_host(state.params)
  finally:
    reporter.close()
  seconds = time.perf_counter() - reporter.start
  return TrainResult(config, data.vocab, params,
                     Embeddings(data.vocab.words, np.asarray(params["u"], np.float32)),
                     reporter.history, startup, seconds, reporter.trained_words() / seconds,
                     save_seconds, compile_seconds, data.raw_words, topology.num_devices)
