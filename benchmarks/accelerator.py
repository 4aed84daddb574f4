"""Accelerator readiness: speed and quality of the word2vec family on whatever JAX sees.

  python benchmarks/accelerator.py --out=accelerator.json [--sections=sweep,softmax,methods] \
      [--batch_sizes=64,256,1024,4096,16384] [--epochs=1] [--lr_scaling=linear] \
      [--vocab_sizes=10000,100000,300000,1000000] [--method_batch_size=4096] \
      [--time_budget_s=360] [--corpus=PATH --max_vocab=N]

On a GPU or TPU host: install jax for the accelerator (e.g. ``pip install -e .
"jax[cuda12]"``), put wikipedia-en-9m.txt.gz in ``../shared/data/corpora`` (or point
``$W2VJAX_DATA`` at a folder holding ``corpora/``) and run the first line from the
repository root. JAX picks the accelerator, the CPU when there is none; nothing here or in
the step names a platform. Everything runs on one device. Measured, in this order:

1. ``sweep``: sgns_wiki9m (``--config``) trained ``--epochs`` epochs at each of
   ``--batch_sizes`` centre words per step, the data prepared once and shared by every
   run (``TrainingData`` depends on the corpus settings only, not on the batch): words/s
   of the run (``train()``'s, after compilation, epoch preparation included) and quality
   (WS-353 and SimLex-999 Spearman, analogies by 3CosAdd among eval_restrict_vocab words).
2. ``softmax``: full softmax's step time against |V| (``--vocab_sizes``) on the synthetic
   Zipf corpus (``w2vjax.profiling``). Each size first meets the memory check that training
   makes (``w2vjax.memory``): a refusal is recorded as "does not fit", a failed allocation
   on the device as "out of memory", and the next size is tried.
3. ``methods``: the other methods' configs (``--methods``) timed step by step at
   ``--method_batch_size``, as words/s the way benchmarks/step_time.py gives it (raw words
   per epoch / steps per epoch / seconds per step; GloVe's items are co-occurrence
   entries). A config that fails to load or run is recorded with its error.

The learning rate (``--lr_scaling``, ``--lr_reference_batch`` R): at batch B the sweep
trains at the config's rate x min(1, R / B) ** p, p = 0 (none), 1/2 (sqrt) or 1 (linear,
the default, with R = 1024). A step sums its pairs' gradients, so a row met c times in a
batch moves by c terms computed from the same stale values. A rare row is met about once
a batch at any size and learns as much per epoch at any batch; a frequent row (a noise
word above all: about B K p_noise(w) terms a step) takes a step B / 64 times batch 64's,
and past some size the loss diverges. A lower rate steadies the frequent rows but slows
every rare row's learning per epoch by as much, so the default keeps the rate while it
is stable and beyond R holds the frequent rows' step at batch R's. Measured on the CPU
(1 epoch, WS-353): text8-1m at rate 0.025 gave 0.212 at batch 64, 0.202 at 1024, 0.171 at
2048 and diverged at 4096, where 0.0125 gave 0.143, 0.00625 0.052 and sqrt(64 / B)'s
0.0031 0.034; wikipedia-en-9m, linear with R = 2048, 0.262 at 4096 and 0.080 at 16384.
Those were measured at 0.025; skip-gram's default is now 0.05, so R = 1024 keeps the
frequent rows' step beyond R (rate x R) where 0.025 x 2048 put it.
A global rate cannot undo a per-row effect (scaling each row's summed gradient down by
its count in the batch, in the step, could). A non-finite loss is recorded as "diverged".

Speed was built into the step, not tuned here: ``steps_per_call`` steps run in one jitted
call (a while loop on the device, no host sync per step, the epoch's order the only
per-epoch transfer), scatter-adds sum duplicate rows, and ``batch_splits`` is 1 off the
CPU. Sized for under 8 minutes on one H100: wiki9m keeps about 7.3M centres an epoch, so
batch 64 is about 114k steps (35-115 s at 0.3-1 ms a step, mostly kernel launches) and
each larger batch a fraction of that; the rest is reading the corpus (about 15 s, once),
compilation (seconds a setting), evaluation and GloVe's co-occurrence count on the host
(last, as it is the least known). A measurement not started within ``--time_budget_s``
(6 minutes, leaving room for the one running then) is recorded as skipped. Each one is
printed as it ends and the JSON rewritten (atomically), so a run cut short keeps what it
measured.
"""

from __future__ import annotations

import functools
import importlib.util
import time
from pathlib import Path

import jax
from absl import app, flags
from ml_collections import config_flags

from w2vjax import io_utils, memory, methods, profiling, training
from w2vjax.config import TrainConfig
from w2vjax.data import TrainingData, prepare_data
from w2vjax.errors import InputError, one_line_errors
from w2vjax.evaluation import evaluate

FLAGS = flags.FLAGS
ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("sweep", "softmax", "methods")
LR_SCALING = {"none": 0.0, "sqrt": 0.5, "linear": 1.0}  # rate x min(1, R / B) ** p
SOFTMAX_TOKENS = 200_000  # the Zipf corpus's length (profiling.time_train_step's default)
# What prepare_data reads from a config for "windows" data (w2vjax.data._windows).
WINDOW_DATA_FIELDS = ("corpus", "cache_dir", "min_count", "max_vocab", "subsample")
FLAG_NAMES = ("sections", "corpus", "max_vocab", "epochs", "batch_sizes", "lr_scaling",
              "lr_reference_batch", "vocab_sizes", "softmax_batch_size", "softmax_steps",
              "methods", "method_batch_size", "steps", "time_budget_s")


class Budget:
  """Wall-clock time for starting measurements; one started in time runs to its end."""

  def __init__(self, seconds: float):
    self.seconds, self.start = seconds, time.perf_counter()

  def elapsed(self) -> float:
    return time.perf_counter() - self.start

  def spent(self) -> bool:
    return self.elapsed() >= self.seconds


def _first_line(error: Exception) -> str:
  lines = str(error).strip().splitlines()  # XLA's allocation failures go on for pages
  return f"{type(error).__name__}: {lines[0] if lines else ''}"


def guarded(budget: Budget, measure, catch: tuple = ()) -> dict:
  """``measure()``'s fields with status "ok" unless it says otherwise, or why there are
  none: "skipped" (budget spent), "out of memory", "diverged", or "error" for the
  exception types in ``catch``; anything else propagates."""
  if budget.spent():
    return {"status": "skipped", "reason": f"time budget of {budget.seconds:.0f} s spent"}
  try:
    return {"status": "ok", **measure()}
  except Exception as e:
    text = str(e)
    if isinstance(e, jax.errors.JaxRuntimeError) and (
        "RESOURCE_EXHAUSTED" in text or "out of memory" in text.lower()):
      return {"status": "out of memory", "reason": _first_line(e)}
    if isinstance(e, FloatingPointError):  # training's check of a non-finite loss
      return {"status": "diverged", "reason": text}
    if isinstance(e, catch):
      return {"status": "error", "reason": _first_line(e)}
    raise


class Recorder:
  """The JSON report, rewritten after every measurement so that a run cut short keeps it."""

  def __init__(self, path: str, report: dict):
    self.path, self.report = path, report
    io_utils.write_json(self.path, self.report)

  def section(self, name: str, settings: dict) -> None:
    self.report[name] = {**settings, "rows": []}
    io_utils.write_json(self.path, self.report)

  def add(self, name: str, label: str, row: dict, describe) -> None:
    """Records ``row`` and prints ``label: describe(row)``, or its status if not "ok"."""
    self.report[name]["rows"].append(row)
    io_utils.write_json(self.path, self.report)
    what = describe(row) if row["status"] == "ok" else f"{row['status']} ({row['reason']})"
    print(f"{label}: {what}", flush=True)

  def finish(self, elapsed: float) -> None:
    self.report["elapsed_s"] = elapsed
    io_utils.write_json(self.path, self.report)
    print(f"{elapsed:.0f} s; wrote {self.path}", flush=True)


def device_info() -> dict:
  device = jax.devices()[0]
  return {"platform": device.platform, "device_kind": device.device_kind,
          "device_count": jax.device_count(), "jax_version": jax.__version__,
          "free_bytes": memory.available_bytes(device)}


def load_config(name: str, overrides: dict) -> TrainConfig:
  """experiments/configs/NAME.py as a TrainConfig with ``overrides``; loaded by path, as
  config_flags loads --config, since experiments/ is not on a script's path."""
  spec = importlib.util.spec_from_file_location(f"config_{name}",
                                                ROOT / "experiments" / "configs" / f"{name}.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return TrainConfig.from_dict(module.get_config().to_dict()).replace(**overrides)


def train_and_score(config: TrainConfig, data: TrainingData) -> dict:
  """One training run on the shared data: its words/s and its quality."""
  result = training.train(config, data=data, show_progress=False)
  scores = evaluate(result.embeddings, restrict_vocab=config.eval_restrict_vocab,
                    classification=False, analogy_methods=("3cosadd",))
  return {"words_per_sec": result.words_per_sec, "train_s": result.train_seconds,
          "compile_s": result.compile_seconds, "steps": data.plan(config)[1],
          "final_loss": result.metrics[-1]["loss"],
          "ws353": scores["EN-WS-353-ALL.txt"]["spearman"],
          "simlex": scores["EN-SIMLEX-999.txt"]["spearman"],
          "analogy": scores["questions-words.txt"]["3cosadd"]}


def sweep(recorder: Recorder, budget: Budget, base: TrainConfig, data: TrainingData,
          batch_sizes: list[int], lr_scaling: str, reference: int) -> None:
  rate = training.learning_rate(base, methods.build(base, data.vocab))
  recorder.section("sweep", {
      "config": base.to_dict(), "lr_scaling": lr_scaling, "base_learning_rate": rate,
      "lr_reference_batch": reference, "epochs": base.epochs, "raw_words": data.raw_words,
      "vocab_size": len(data.vocab)})
  for batch in batch_sizes:
    lr = rate * min(1.0, reference / batch) ** LR_SCALING[lr_scaling]
    config = base.replace(batch_size=batch, learning_rate=lr)
    row = {"batch_size": batch, "learning_rate": lr,
           **guarded(budget, functools.partial(train_and_score, config, data))}
    recorder.add("sweep", f"sgns batch {batch:>6}", row, lambda r: (
        f"{r['words_per_sec'] / 1e3:9.0f}k words/s  lr {r['learning_rate']:.5f}  WS-353 "
        f"{r['ws353']:.3f}  SimLex {r['simlex']:.3f}  analogy {100 * r['analogy']:4.1f}%  "
        f"({r['train_s']:.1f} s, {r['steps']} steps)"))


def softmax_step(config: TrainConfig, vocab_size: int, steps: int) -> dict:
  """Full softmax's step time at ``vocab_size`` words, if training's memory check passes."""
  _, _, vocab = profiling.zipf_corpus(vocab_size, SOFTMAX_TOKENS)
  try:
    memory.check_fits(config, methods.build(config, vocab), SOFTMAX_TOKENS, vocab_size)
  except InputError as e:
    return {"status": "does not fit", "reason": str(e)}
  timing = profiling.time_train_step(config, vocab_size, steps, SOFTMAX_TOKENS)
  return {"ms_per_step": timing["seconds_per_step"] * 1e3,
          "pairs_per_step": timing["pairs_per_step"], "compile_s": timing["compile_seconds"]}


def softmax_sizes(recorder: Recorder, budget: Budget, base: TrainConfig,
                  vocab_sizes: list[int], batch_size: int, steps: int) -> None:
  config = base.replace(architecture="skipgram", objective="softmax", maxn=0,
                        batch_size=batch_size)
  recorder.section("softmax", {"batch_size": batch_size, "steps": steps, "dim": config.dim,
                               "window": config.window, "num_tokens": SOFTMAX_TOKENS})
  for size in vocab_sizes:
    row = {"vocab_size": size,
           **guarded(budget, functools.partial(softmax_step, config, size, steps))}
    recorder.add("softmax", f"softmax |V| {size:>9,}", row,
                 lambda r: f"{r['ms_per_step']:9.2f} ms/step")


def method_step(name: str, overrides: dict, steps: int, cache: dict) -> dict:
  """Step time of config ``name``'s method, as words/s over an epoch (step_time.py's rate)."""
  config = load_config(name, overrides)
  data = shared_data(config, cache)
  timing = profiling.time_steps(config, data.corpus, data.vocab, steps)
  seconds = timing["seconds_per_step"]
  return {"words_per_sec": data.raw_words / data.steps_per_epoch(config.batch_size) / seconds,
          "us_per_step": seconds * 1e6, "compile_s": timing["compile_seconds"],
          "data": data.kind, "vocab_size": len(data.vocab), "config": config.to_dict()}


def shared_data(config: TrainConfig, cache: dict) -> TrainingData:
  """Prepared once per corpus setting for window methods; co-occurrence data is not shared."""
  kind = methods.data_kind(config)
  key = ((kind, *(getattr(config, f) for f in WINDOW_DATA_FIELDS)) if kind == "windows"
         else (kind, repr(config)))
  if key not in cache:
    cache[key] = prepare_data(config)
  return cache[key]


def other_methods(recorder: Recorder, budget: Budget, names: list[str], overrides: dict,
                  batch_size: int, steps: int, cache: dict) -> None:
  recorder.section("methods", {"batch_size": batch_size, "steps": steps})
  overrides = {**overrides, "batch_size": batch_size}
  for name in names:
    # A config being written as this runs may fail to load or to train: noted, not fatal.
    measure = functools.partial(method_step, name, overrides, steps, cache)
    row = {"name": name, **guarded(budget, measure, catch=(Exception,))}
    recorder.add("methods", f"{name:>18}", row, lambda r: (
        f"{r['words_per_sec'] / 1e3:9.0f}k words/s  {r['us_per_step']:9.1f} us/step"))


def _ints(name: str) -> list[int]:
  try:
    return [int(v) for v in FLAGS[name].value]
  except ValueError:
    raise InputError(f"--{name} takes whole numbers, got {FLAGS[name].value}") from None


def _settings() -> dict:
  """The flags as the report records them, checked before anything is measured."""
  unknown = set(FLAGS.sections) - set(SECTIONS)
  if unknown:
    raise InputError(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")
  return {**{name: FLAGS[name].value for name in FLAG_NAMES},
          "batch_sizes": _ints("batch_sizes"), "vocab_sizes": _ints("vocab_sizes")}


def main(argv):
  if len(argv) > 1:
    raise InputError(f"unexpected arguments: {' '.join(argv[1:])}")
  settings, budget = _settings(), Budget(FLAGS.time_budget_s)
  overrides = {k: v for k, v in (("corpus", FLAGS.corpus), ("max_vocab", FLAGS.max_vocab))
               if v not in (None, "")}
  # One device throughout, and reports only at the end of an epoch (each one syncs).
  base = TrainConfig.from_dict(FLAGS.config.to_dict()).replace(
      epochs=FLAGS.epochs, num_devices=1, log_every_seconds=600, **overrides)
  device = device_info()
  print(f"{device['platform']} ({device['device_kind']}), jax {device['jax_version']}",
        flush=True)
  recorder = Recorder(FLAGS.out, {"device": device, "flags": settings})
  cache = {}
  if "sweep" in FLAGS.sections:
    sweep(recorder, budget, base, shared_data(base, cache), settings["batch_sizes"],
          FLAGS.lr_scaling, FLAGS.lr_reference_batch)
  if "softmax" in FLAGS.sections:
    softmax_sizes(recorder, budget, base, settings["vocab_sizes"], FLAGS.softmax_batch_size,
                  FLAGS.softmax_steps)
  if "methods" in FLAGS.sections:
    other_methods(recorder, budget, FLAGS.methods, overrides, FLAGS.method_batch_size,
                  FLAGS.steps, cache)
  recorder.finish(budget.elapsed())


def _define_flags() -> None:
  config_flags.DEFINE_config_file("config", "experiments/configs/sgns_wiki9m.py",
                                  "the sweep's config; --config.FIELD=VALUE overrides")
  flags.DEFINE_string("out", "accelerator.json", "the JSON report")
  flags.DEFINE_list("sections", list(SECTIONS), f"what to measure, of {', '.join(SECTIONS)}")
  flags.DEFINE_string("corpus", "", "every config's corpus instead of its own (quick checks)")
  flags.DEFINE_integer("max_vocab", None, "every config's max_vocab instead of its own")
  flags.DEFINE_integer("epochs", 1, "epochs of each sweep run")
  flags.DEFINE_list("batch_sizes", ["64", "256", "1024", "4096", "16384"],
                    "the sweep's batch sizes (centre words per step)")
  flags.DEFINE_enum("lr_scaling", "linear", list(LR_SCALING),
                    "the sweep's rate at batch B: the config's x min(1, R / B) ** (0, 1/2, 1)")
  flags.DEFINE_integer("lr_reference_batch", 1024,
                       "R: the largest batch trained at the config's rate (see the docstring)")
  flags.DEFINE_list("vocab_sizes", ["10000", "100000", "300000", "1000000"],
                    "full softmax's vocabulary sizes")
  flags.DEFINE_integer("softmax_batch_size", 256, "full softmax's batch (centre words)")
  flags.DEFINE_integer("softmax_steps", 20, "timed steps per vocabulary size")
  flags.DEFINE_list("methods", ["cbow_wiki9m", "hs_wiki9m", "cbow_hs_wiki9m",
                                "subword_wiki9m", "glove_wiki9m"],
                    "configs (experiments/configs/NAME.py) timed step by step")
  flags.DEFINE_integer("method_batch_size", 4096, "the methods' batch size")
  flags.DEFINE_integer("steps", 1000, "timed steps per method")
  flags.DEFINE_float("time_budget_s", 360.0, "start no measurement after this many seconds")


if __name__ == "__main__":
  _define_flags()
  app.run(one_line_errors(main, catch=(OSError, ValueError)))
