"""w2vjax against gensim and fastText, trained back to back on the same tokens and machine.

  python benchmarks/throughput.py --config=experiments/configs/sgns_wiki9m.py \
      [--config.FIELD=VALUE ...] [--systems=gensim,fasttext,w2vjax] [--seeds=0,1,2] \
      [--workers=2] [--json=PATH]

Run from the repository root. w2vjax trains the training config as it is (its ``job`` field
dropped, reports every 60 s so that reporting costs nothing), on the config's
``cpu_devices`` as the launcher does (on a CPU: one device per core by default). The other systems
(benchmarks/baselines.py) take the config's dim, window, negatives, min_count, subsample,
epochs and seed, and ``--workers`` threads; every other field is w2vjax's alone, and each
keeps its own default learning rate (gensim 0.025 for skip-gram and CBOW alike, fastText
0.05). ``--seeds`` overrides the config's seed: one run of every system per seed.

Systems: gensim, gensim-cbow (context mean), gensim-hs, gensim-cbow-hs (hierarchical softmax
without negative sampling), fasttext (skip-gram without subwords), fasttext-subword
(n-grams of 3-6 characters in 2M buckets, or the config's when it trains subwords) and
w2vjax. The default, ``auto``, is the system that trains the config's method, then w2vjax.

All read the same tokens: w2vjax's tokenizer, one sentence per line. gensim gets lines cut
into 10,000-word pieces (it ignores words past those); fastText reads a temporary file of
the tokens, written once before any run, and cuts lines into 1,024-token pieces itself.
words/s is corpus words x epochs / training seconds, the way gensim counts. Every run but
the first starts after ``--rest_seconds`` idle seconds, whatever its system. Start-up is
shown apart and is not the same work everywhere: gensim tokenizes and builds its
vocabulary; w2vjax reads its cache (filled here beforehand), builds its vocabulary and
compiles; fastText reads the tokenized file, builds its vocabulary and initialises its
matrices, timed by a second call with epoch=0 (baselines.run_fasttext). Each run is a fresh
process; peak MB is its peak resident memory after training, before evaluation. Scores:
WS-353 and SimLex-999 (Spearman), analogies (3CosAdd among the config's
eval_restrict_vocab words) and rt-polarity accuracy (10-fold logistic regression on mean
vectors).
"""

from __future__ import annotations

import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from absl import app, flags
from ml_collections import config_flags

import baselines  # beside this script, so on sys.path when it runs as one
from w2vjax import Embeddings, TrainConfig, datasets, encode, io_utils, methods, parallel, train
from w2vjax.errors import InputError, one_line_errors
from w2vjax.evaluation import evaluate

FLAGS = flags.FLAGS
W2VJAX = "w2vjax"
# This machine's cores run a job started right after another one slower than the same job
# started after a rest (BUILD_NOTES, "A rest between benchmark runs"): every run but the
# first waits.
REST_SECONDS = 90.0
METRICS = ("words_per_sec", "train_s", "startup_s", "peak_mb", "ws353", "simlex", "analogy",
           "polarity")


def _scores(emb: Embeddings, restrict_vocab: int) -> dict:
  r = evaluate(emb, restrict_vocab=restrict_vocab, analogy_methods=("3cosadd",))
  return {"ws353": r["EN-WS-353-ALL.txt"]["spearman"],
          "simlex": r["EN-SIMLEX-999.txt"]["spearman"],
          "analogy": r["questions-words.txt"]["3cosadd"],
          "polarity": r["sentence_polarity"]["accuracy"]}


def run_w2vjax(fields: dict) -> tuple[dict, Embeddings]:
  # A fresh process, JAX not started: split the CPU as the launcher does.
  config = TrainConfig.from_dict({**fields, "log_every_seconds": 60})
  parallel.use_cpu_devices(methods.cpu_devices(config), config.batch_size)
  result = train(config)
  return ({"startup_s": result.startup_seconds + result.compile_seconds,
           "train_s": result.train_seconds, "words_per_sec": result.words_per_sec},
          result.embeddings)


def _measured(fn, args: tuple, restrict_vocab: int) -> dict:
  """One run in this (fresh) process: its timings, peak memory, then its scores."""
  timings, emb = fn(*args)
  peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  return {**timings, "peak_mb": peak_mb, **_scores(emb, restrict_vocab)}


def _training_fields(config) -> dict:
  fields = config.to_dict()
  job = fields.pop("job", "train")
  if job != "train":
    raise InputError(f"the config runs job {job!r}, not one training run")
  TrainConfig.from_dict(fields)  # unknown fields fail now, not after the other systems
  return fields


def _systems(names: list[str], config: dict) -> list[str]:
  if names == ["auto"]:
    match = baselines.counterpart(config)
    return [match, W2VJAX] if match else [W2VJAX]
  unknown = set(names) - {*baselines.SYSTEMS, W2VJAX}
  if unknown:
    raise InputError(f"unknown systems {sorted(unknown)}; choose from auto or "
                     f"{', '.join([*baselines.SYSTEMS, W2VJAX])}")
  return names


def _run_all(config: dict, corpus: Path, systems: list[str], seeds: list[int]) -> dict:
  """Every system once per seed, each in a fresh process so that its peak memory is its own."""
  runs = {name: [] for name in systems}
  with tempfile.TemporaryDirectory(prefix="w2vjax-throughput-") as tmp:
    tokenized, words = Path(tmp) / "tokens.txt", 0
    if any(name in baselines.FASTTEXT for name in systems):
      words = baselines.write_tokenized(corpus, tokenized)
    with multiprocessing.get_context("spawn").Pool(1, maxtasksperchild=1) as pool:
      for index, (seed, name) in enumerate((s, n) for s in seeds for n in systems):
        if index:
          time.sleep(FLAGS.rest_seconds)
        if name == W2VJAX:
          job = (run_w2vjax, ({**config, "seed": seed},))
        else:
          settings = baselines.Settings.from_config(config, seed, FLAGS.workers)
          job = (baselines.run, (name, corpus, tokenized, words, settings))
        result = pool.apply(_measured, (*job, config.get("eval_restrict_vocab", 30000)))
        runs[name].append({"seed": seed, **result})
        print(_row(f"{name} s{seed}", result), flush=True)
  return runs


def _summary(results: list[dict]) -> dict:
  """Mean over seeds, and the sample standard deviation when there are two or more."""
  values = {k: np.array([r[k] for r in results], float) for k in METRICS}
  summary = {"mean": {k: float(v.mean()) for k, v in values.items()}}
  if len(results) > 1:
    summary["std"] = {k: float(v.std(ddof=1)) for k, v in values.items()}
  return summary


HEADER = (f"{'system':<22} {'words/s':>10} {'train s':>8} {'start s':>8} {'peak MB':>8} "
          f"{'WS-353':>7} {'SimLex':>7} {'analogy':>8} {'polarity':>8}")


def _row(label: str, r: dict) -> str:
  return (f"{label:<22} {r['words_per_sec'] / 1e3:9.0f}k {r['train_s']:8.1f} "
          f"{r['startup_s']:8.1f} {r['peak_mb']:8.0f} {r['ws353']:7.3f} {r['simlex']:7.3f} "
          f"{100 * r['analogy']:7.1f}% {100 * r['polarity']:7.1f}%")


def _method(config: dict) -> str:
  name = " ".join((config.get("architecture", "skipgram"),
                   config.get("objective", "negative_sampling")))
  return name + (" with subwords" if config.get("maxn", 0) > 0 else "")


def _report(config: dict, corpus: Path, seeds: list[int], runs: dict) -> dict:
  """Prints the table and returns everything in it, for --json."""
  summaries = {name: _summary(results) for name, results in runs.items()}
  print(f"\ncorpus {corpus}, {config['epochs']} epochs, seeds {seeds}, {FLAGS.workers} "
        f"workers; w2vjax trains {_method(config)} "
        f"(its counterpart here: {baselines.counterpart(config) or 'none'})")
  print(HEADER)
  for name, results in runs.items():
    for r in results:
      print(_row(f"{name} s{r['seed']}", r))
    if len(results) > 1:
      print(_row(f"{name} mean", summaries[name]["mean"]))
      print(_row(f"{name} std", summaries[name]["std"]))
  ratios = {}
  if W2VJAX in runs:
    ours = summaries[W2VJAX]["mean"]["words_per_sec"]
    for name in runs.keys() - {W2VJAX}:
      ratios[name] = ours / summaries[name]["mean"]["words_per_sec"]
    for name in (n for n in runs if n in ratios):
      print(f"w2vjax / {name} words/s: {ratios[name]:.2f}")
  return {"config": config, "corpus": str(corpus), "workers": FLAGS.workers, "seeds": seeds,
          "runs": runs, "summaries": summaries, "w2vjax_words_per_sec_ratio": ratios}


def main(argv):
  if len(argv) > 1:
    raise InputError(f"unexpected arguments: {' '.join(argv[1:])}")
  config = _training_fields(FLAGS.config)
  corpus = datasets.resolve_corpus(config["corpus"])
  if not all(s.isdigit() for s in FLAGS.seeds):
    raise InputError(f"--seeds takes whole numbers, got {','.join(FLAGS.seeds)}")
  seeds = [int(s) for s in FLAGS.seeds] or [config["seed"]]
  systems = _systems(FLAGS.systems, config)
  if config.get("max_vocab", 0) and set(systems) - {W2VJAX}:
    print(f"note: max_vocab={config['max_vocab']} caps w2vjax's vocabulary only")
  # Tokenize once into the cache, so that w2vjax's start-up is a cache read.
  encode.load_encoded(corpus, config.get("cache_dir") or None)
  runs = _run_all(config, corpus, systems, seeds)
  report = _report(config, corpus, seeds, runs)
  if FLAGS.json:
    io_utils.write_json(FLAGS.json, report)


def _define_flags() -> None:
  config_flags.DEFINE_config_file("config", "experiments/configs/sgns_wiki9m.py",
                                  "training config file; --config.FIELD=VALUE overrides")
  flags.DEFINE_list("systems", ["auto"], "systems to run, in order: auto or any of "
                    f"{', '.join([*baselines.SYSTEMS, W2VJAX])}")
  flags.DEFINE_list("seeds", [], "one run of each system per seed (default: the config's)")
  flags.DEFINE_integer("workers", 2, "threads of gensim and fastText")
  flags.DEFINE_string("json", None, "also write every run and the summaries here as JSON")
  flags.DEFINE_float("rest_seconds", REST_SECONDS, "idle seconds before every run but the "
                     "first, so that no run starts on cores the run before kept busy")


if __name__ == "__main__":
  _define_flags()
  app.run(one_line_errors(main, catch=(OSError, ValueError)))
