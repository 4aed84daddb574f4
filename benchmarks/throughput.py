"""gensim and w2vjax trained back to back with the same settings, on the same machine.

  python benchmarks/throughput.py --corpus=../shared/data/corpora/wikipedia-en-9m.txt.gz

Both read the same tokens (w2vjax's tokenizer, one sentence per line) and use d=100,
window 5, K=5, min_count 5, sample 1e-3; w2vjax uses its defaults for everything else
(batch, shared negatives, steps per call). words/s is corpus words x epochs / training
seconds, the way gensim counts; start-up (reading, vocabulary, and w2vjax's compilation) is
shown separately. ``--seeds=0,1,2`` trains each system once per seed and prints every run
and the mean. gensim is a benchmark-only dependency.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time

from absl import app, flags

from w2vjax import Embeddings, TrainConfig, text, train
from w2vjax.config import parse_overrides
from w2vjax.evaluation import evaluate

FLAGS = flags.FLAGS


def _scores(emb: Embeddings) -> dict:
  r = evaluate(emb)
  return {"ws353": r["EN-WS-353-ALL.txt"]["spearman"],
          "simlex": r["EN-SIMLEX-999.txt"]["spearman"],
          "analogy": r["questions-words.txt"]["3cosadd"]}


def run_gensim(path: str, epochs: int, workers: int, seed: int) -> dict:
  from gensim.models import Word2Vec  # benchmark-only dependency

  t0 = time.perf_counter()
  # gensim ignores words past the 10,000th of a sentence; cut long lines (text8 is one
  # line) into 10,000-word pieces, as its LineSentence reader does.
  sentences = [tokens[i:i + 10000]
               for tokens in map(text.tokenize, text.read_lines(path))
               for i in range(0, len(tokens), 10000)]
  words = sum(map(len, sentences))
  model = Word2Vec(vector_size=100, window=5, negative=5, min_count=5, sample=1e-3, sg=1,
                   workers=workers, seed=seed)
  model.build_vocab(sentences)
  startup = time.perf_counter() - t0
  t1 = time.perf_counter()
  model.train(sentences, total_examples=len(sentences), epochs=epochs)
  seconds = time.perf_counter() - t1
  emb = Embeddings(model.wv.index_to_key, model.wv.vectors)
  return {"startup_s": startup, "train_s": seconds, "words_per_sec": words * epochs / seconds,
          **_scores(emb)}


def run_w2vjax(path: str, epochs: int, seed: int, overrides: dict) -> dict:
  settings = dict(corpus=path, dim=100, window=5, negatives=5, min_count=5, subsample=1e-3,
                  epochs=epochs, seed=seed, log_every_seconds=60)
  config = TrainConfig(**{**settings, **overrides})  # --w2vjax may change any of them
  result = train(config)
  return {"startup_s": result.startup_seconds + result.compile_seconds,
          "train_s": result.train_seconds, "words_per_sec": result.words_per_sec,
          **_scores(result.embeddings)}


def _with_peak_memory(fn, args) -> dict:
  result = fn(*args)
  return {**result, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _row(name: str, r: dict) -> str:
  return (f"{name:<10} {r['words_per_sec'] / 1e3:9.0f}k {r['train_s']:8.1f} {r['startup_s']:8.1f} "
          f"{r['peak_mb']:8.0f} {r['ws353']:7.3f} {r['simlex']:7.3f} {100 * r['analogy']:7.1f}%")


def main(argv):
  del argv
  path = os.path.expanduser(FLAGS.corpus)
  text.load_encoded(path)  # tokenize once into the cache so w2vjax's start-up is a cache read
  overrides = parse_overrides(",".join(FLAGS.w2vjax))
  runs = {name: [] for name in FLAGS.systems}
  # Each run is a fresh process, so that its peak memory is its own.
  with multiprocessing.get_context("spawn").Pool(1, maxtasksperchild=1) as pool:
    for seed in map(int, FLAGS.seeds):
      for name in FLAGS.systems:
        if name == "gensim":
          job = (run_gensim, (path, FLAGS.epochs, FLAGS.workers, seed))
        else:
          job = (run_w2vjax, (path, FLAGS.epochs, seed, overrides))
        runs[name].append(pool.apply(_with_peak_memory, job))
        print(f"{name} seed {seed}: {runs[name][-1]}", flush=True)
  print(f"\ncorpus {path}, {FLAGS.epochs} epochs, seeds {FLAGS.seeds}, "
        f"w2vjax defaults{' with ' + str(overrides) if overrides else ''}")
  print(f"{'system':<10} {'words/s':>10} {'train s':>8} {'start s':>8} {'peak MB':>8} "
        f"{'WS-353':>7} {'SimLex':>7} {'analogy':>8}")
  means = {}
  for name, results in runs.items():
    for seed, r in zip(FLAGS.seeds, results):
      print(_row(f"{name} s{seed}" if len(results) > 1 else name, r))
    means[name] = {k: sum(r[k] for r in results) / len(results) for k in results[0]}
    if len(results) > 1:
      print(_row(f"{name} mean", means[name]))
  if {"gensim", "w2vjax"} <= means.keys():
    ratio = means["w2vjax"]["words_per_sec"] / means["gensim"]["words_per_sec"]
    print(f"w2vjax / gensim words/s: {ratio:.2f}")


if __name__ == "__main__":
  flags.DEFINE_string("corpus", "../shared/data/corpora/wikipedia-en-9m.txt.gz", "corpus file")
  flags.DEFINE_integer("epochs", 5, "epochs for both systems")
  flags.DEFINE_integer("workers", 2, "gensim worker threads")
  flags.DEFINE_list("seeds", ["0"], "one run of each system per seed")
  flags.DEFINE_list("w2vjax", [], "w2vjax TrainConfig overrides, e.g. batch_size=32,"
                    "share_negatives=false")
  flags.DEFINE_list("systems", ["gensim", "w2vjax"], "which systems to run, in order")
  app.run(main)
