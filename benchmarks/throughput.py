"""gensim and w2vjax trained back to back with the same settings, on the same machine.

  python benchmarks/throughput.py --corpus=../shared/data/corpora/wikipedia-en-9m.txt.gz

Both read the same tokens (w2vjax's tokenizer, one sentence per line) and use d=100,
window 5, K=5, min_count 5, sample 1e-3. words/s is corpus words x epochs / training
seconds, the way gensim counts; start-up (reading, vocabulary, compilation for w2vjax's
first step is inside training) is shown separately. gensim is a benchmark-only dependency.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time

from absl import app, flags

from w2vjax import Embeddings, TrainConfig, text, train
from w2vjax.evaluation import evaluate

FLAGS = flags.FLAGS


def _scores(emb: Embeddings) -> dict:
  r = evaluate(emb)
  return {"ws353": r["EN-WS-353-ALL.txt"]["spearman"],
          "simlex": r["EN-SIMLEX-999.txt"]["spearman"],
          "analogy": r["questions-words.txt"]["3cosadd"]}


def run_gensim(path: str, epochs: int, workers: int) -> dict:
  from gensim.models import Word2Vec  # benchmark-only dependency

  t0 = time.perf_counter()
  # gensim ignores words past the 10,000th of a sentence; cut long lines (text8 is one
  # line) into 10,000-word pieces, as its LineSentence reader does.
  sentences = [tokens[i:i + 10000]
               for tokens in map(text.tokenize, text.read_lines(path))
               for i in range(0, len(tokens), 10000)]
  words = sum(map(len, sentences))
  model = Word2Vec(vector_size=100, window=5, negative=5, min_count=5, sample=1e-3, sg=1,
                   workers=workers, seed=0)
  model.build_vocab(sentences)
  startup = time.perf_counter() - t0
  t1 = time.perf_counter()
  model.train(sentences, total_examples=len(sentences), epochs=epochs)
  seconds = time.perf_counter() - t1
  emb = Embeddings(model.wv.index_to_key, model.wv.vectors)
  return {"startup_s": startup, "train_s": seconds, "words_per_sec": words * epochs / seconds,
          **_scores(emb)}


def run_w2vjax(path: str, epochs: int, batch_size: int, share_negatives: bool = False) -> dict:
  config = TrainConfig(corpus=path, dim=100, window=5, negatives=5, min_count=5,
                       subsample=1e-3, epochs=epochs, batch_size=batch_size,
                       share_negatives=share_negatives, log_every_seconds=60)
  result = train(config)
  return {"startup_s": result.startup_seconds, "train_s": result.train_seconds,
          "words_per_sec": result.words_per_sec, **_scores(result.embeddings)}


def _with_peak_memory(fn, args) -> dict:
  result = fn(*args)
  return {**result, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv):
  del argv
  path = os.path.expanduser(FLAGS.corpus)
  text.load_encoded(path)  # tokenize once into the cache so w2vjax's start-up is a cache read
  rows = {}
  # Each system runs in a fresh process, so that its peak memory is its own.
  with multiprocessing.get_context("spawn").Pool(1, maxtasksperchild=1) as pool:
    for name in FLAGS.systems:
      if name == "gensim":
        job = (run_gensim, (path, FLAGS.epochs, FLAGS.workers))
      else:
        job = (run_w2vjax, (path, FLAGS.epochs, FLAGS.batch_size, FLAGS.share_negatives))
      rows[name] = pool.apply(_with_peak_memory, job)
      print(f"{name}: {rows[name]}", flush=True)
  print(f"\ncorpus {path}, {FLAGS.epochs} epochs, w2vjax batch {FLAGS.batch_size}, "
        f"share_negatives={FLAGS.share_negatives}")
  print(f"{'system':<8} {'words/s':>10} {'train s':>8} {'start s':>8} {'peak MB':>8} "
        f"{'WS-353':>7} {'SimLex':>7} {'analogy':>8}")
  for name, r in rows.items():
    print(f"{name:<8} {r['words_per_sec'] / 1e3:9.0f}k {r['train_s']:8.1f} {r['startup_s']:8.1f} "
          f"{r['peak_mb']:8.0f} {r['ws353']:7.3f} {r['simlex']:7.3f} {100 * r['analogy']:7.1f}%")
  if {"gensim", "w2vjax"} <= rows.keys():
    ratio = rows["w2vjax"]["words_per_sec"] / rows["gensim"]["words_per_sec"]
    print(f"w2vjax / gensim words/s: {ratio:.2f}")


if __name__ == "__main__":
  flags.DEFINE_string("corpus", "../shared/data/corpora/wikipedia-en-9m.txt.gz", "corpus file")
  flags.DEFINE_integer("epochs", 5, "epochs for both systems")
  flags.DEFINE_integer("workers", 2, "gensim worker threads")
  flags.DEFINE_integer("batch_size", 32, "w2vjax centre words per step")
  flags.DEFINE_bool("share_negatives", False, "w2vjax: one noise set per centre word")
  flags.DEFINE_list("systems", ["gensim", "w2vjax"], "which systems to run, in order")
  app.run(main)
