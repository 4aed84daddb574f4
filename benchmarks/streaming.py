"""Streaming corpora: encoding throughput and peak memory against corpus size.

  python benchmarks/streaming.py --tokens=25000000,250000000 [--workdir=/tmp/w2vjax-streaming]
      [--chunk_tokens=2000000] [--max_steps=3000] [--batch_size=1024] [--workers=1,2]

For each size, writes a synthetic Zipf corpus of that many tokens (``--vocab`` word types
with frequencies 1/rank, lines of 1-40 words), encodes it into the memory-mapped cache
with each worker count (tokens/s, each in a fresh process), then trains on it streamed in
chunks of ``--chunk_tokens`` in a fresh process and reports that process's peak resident
memory (ru_maxrss). ``--max_steps=0`` trains one whole epoch; otherwise that many steps
(with the default batch of 1024 and chunks of 2M tokens, about ten chunks). Prints a
markdown table; ``--json`` also writes the figures.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from absl import app, flags

from children import run_child  # beside this script, so on sys.path when it runs as one
from w2vjax import io_utils
from w2vjax.errors import one_line_errors

FLAGS = flags.FLAGS
ROOT = Path(__file__).resolve().parents[1]


def write_zipf_corpus(path: Path, num_tokens: int, vocab: int, seed: int = 0,
                      block: int = 1 << 20) -> None:
  """``num_tokens`` words drawn with frequency 1/rank from ``vocab`` types ("w0", "w1",
  ...), in lines of 1-40 words, written a block at a time."""
  rng = np.random.default_rng(seed)
  cdf = np.cumsum(1.0 / np.arange(1, vocab + 1))
  cdf /= cdf[-1]
  spaced = np.array([f"w{i} " for i in range(vocab)], dtype=object)
  ended = np.array([f"w{i}\n" for i in range(vocab)], dtype=object)
  left = 0  # words left in the current line
  with open(path, "w", encoding="utf-8") as f:
    for start in range(0, num_tokens, block):
      n = min(block, num_tokens - start)
      ids = np.minimum(np.searchsorted(cdf, rng.random(n)), vocab - 1)
      last = np.zeros(n, bool)
      i = left
      while i < n:
        last[i] = True
        i += int(rng.integers(1, 41))
      left = i - n
      if start + n == num_tokens:
        last[-1] = True
      f.write("".join(np.where(last, ended[ids], spaced[ids])))


def _child(code: str) -> dict:
  """Runs ``code`` (which prints one JSON line) in a fresh Python process."""
  proc = run_child([sys.executable, "-c", code], "a measured child process", cwd=ROOT)
  return json.loads(proc.stdout.strip().splitlines()[-1])


ENCODE = """
import json, resource, time
from w2vjax import encode
if __name__ == "__main__":
  t = time.perf_counter()
  e = encode.encode_to({corpus!r}, {entry!r}, workers={workers})
  seconds = time.perf_counter() - t
  print(json.dumps({{"tokens": e.num_tokens, "seconds": seconds, "vocab": len(e.vocab),
                    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

TRAIN = """
import json, resource, time
from w2vjax import TrainConfig, train
if __name__ == "__main__":
  config = TrainConfig(corpus={corpus!r}, cache_dir={cache!r}, chunk_tokens={chunk},
                       max_steps={steps}, epochs=1, batch_size={batch}, min_count=5,
                       log_every_seconds=600)
  t = time.perf_counter()
  r = train(config, show_progress=False)
  print(json.dumps({{"seconds": time.perf_counter() - t, "startup": r.startup_seconds,
                    "steps": r.metrics[-1]["step"], "words": r.metrics[-1]["words"],
                    "words_per_sec": r.words_per_sec,
                    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def _ints(values: list[str]) -> list[int]:
  return [int(v) for v in values]


def measure(num_tokens: int, workdir: Path) -> dict:
  """Writes, encodes (per worker count) and trains on a corpus of ``num_tokens``."""
  folder = workdir / f"{num_tokens}"
  folder.mkdir(parents=True, exist_ok=True)
  corpus = folder / "zipf.txt"
  t = time.perf_counter()
  write_zipf_corpus(corpus, num_tokens, FLAGS.vocab)
  row = {"tokens": num_tokens, "write_seconds": time.perf_counter() - t,
         "bytes": corpus.stat().st_size, "encode": {}}
  cache = folder / "cache"
  first_workers = _ints(FLAGS.workers)[0]
  for workers in _ints(FLAGS.workers):
    entry = folder / f"encoded-{workers}"
    row["encode"][workers] = _child(ENCODE.format(corpus=str(corpus), entry=str(entry),
                                                  workers=workers))
    print(f"{num_tokens:,} tokens, {workers} worker(s): {row['encode'][workers]}", flush=True)
    if workers == first_workers:  # the training run's cache: the entry, under its name
      from w2vjax import encode
      target = encode.entry_path(corpus, cache)
      target.parent.mkdir(parents=True, exist_ok=True)
      entry.rename(target)
    else:
      shutil.rmtree(entry)
  for chunk in _ints(FLAGS.chunk_tokens):
    trained = _child(TRAIN.format(corpus=str(corpus), cache=str(cache), chunk=chunk,
                                  steps=FLAGS.max_steps, batch=FLAGS.batch_size))
    row.setdefault("train", {})[chunk] = trained
    print(f"{num_tokens:,} tokens, chunk_tokens={chunk}: {trained}", flush=True)
  if not FLAGS.keep:
    shutil.rmtree(folder)
  return row


def markdown(rows: list[dict]) -> str:
  workers = _ints(FLAGS.workers)
  lines = ["| tokens | corpus MB | " + " | ".join(f"encode, {w} worker(s) (M tokens/s)"
                                                 for w in workers)
           + " | chunk_tokens | steps trained | words trained | peak RSS (MiB) |",
           "|---|---|" + "---|" * len(workers) + "---|---|---|---|"]
  for r in rows:
    rates = " | ".join(f"{r['encode'][w]['tokens'] / r['encode'][w]['seconds'] / 1e6:.2f}"
                       for w in workers)
    for chunk, t in r["train"].items():
      lines.append(f"| {r['tokens']:,} | {r['bytes'] / 1e6:,.0f} | {rates} | {chunk:,} | "
                   f"{t['steps']:,} | {t['words']:,.0f} | {t['peak_rss_mib']:,.0f} |")
  return "\n".join(lines) + "\n"


def main(argv):
  del argv
  workdir = Path(FLAGS.workdir)
  if FLAGS.json:
    io_utils.check_output_folder(FLAGS.json)
  rows = [measure(n, workdir) for n in _ints(FLAGS.tokens)]
  table = markdown(rows)
  print(table)
  if FLAGS.json:
    io_utils.write_json(FLAGS.json, rows)


if __name__ == "__main__":
  flags.DEFINE_list("tokens", ["25000000", "250000000"], "corpus sizes")
  flags.DEFINE_integer("vocab", 100_000, "word types of the synthetic corpus")
  flags.DEFINE_list("workers", ["1", "2"], "tokenize_workers to time")
  flags.DEFINE_list("chunk_tokens", ["2000000"], "chunk sizes to train with (0: unchunked)")
  flags.DEFINE_integer("max_steps", 3000, "steps to train; 0: one whole epoch")
  flags.DEFINE_integer("batch_size", 1024, "centre words per step")
  flags.DEFINE_string("workdir", "/tmp/w2vjax-streaming", "scratch folder")
  flags.DEFINE_string("json", "", "also write the figures here")
  flags.DEFINE_bool("keep", False, "keep the corpora and caches")
  app.run(one_line_errors(main, catch=(OSError, ValueError)))
