"""How the cost of training grows: time per million pairs against |V|, K, d and corpus size.

  python benchmarks/scaling.py --out=docs/scaling [--corpus=../shared/data/corpora/wikipedia-en-9m.txt.gz]
      [--config=experiments/configs/quickstart.py --config.FIELD=VALUE]

Steps are timed on a synthetic Zipf corpus (``w2vjax.profiling``) after compilation, one
setting changed at a time from the config (default: quickstart's, d=100, window 5, K=5,
batch 64, negative sampling with noise words shared per window). The corpus-size rows train
one epoch of the bundled text8-1m and of ``--corpus`` and time their start-up (reading
and encoding, vocabulary, first compilation) separately. Writes scaling.md (tables) and
scaling.png into ``--out``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from absl import app, flags
from ml_collections import config_flags

from w2vjax import io_utils, profiling
from w2vjax.config import TrainConfig
from w2vjax.errors import one_line_errors
from w2vjax.plot import new_figure, save_png
from w2vjax.training import train

config_flags.DEFINE_config_file("config", "experiments/configs/quickstart.py",
                                "the base training config; --config.FIELD=VALUE overrides")
flags.DEFINE_string("out", "docs/scaling", "output folder")
flags.DEFINE_string("corpus", "", "a larger corpus for the corpus-size rows (optional)")
flags.DEFINE_integer("steps", 20, "timed steps per full-softmax setting")
flags.DEFINE_integer("sampled_steps", 4096, "timed steps per negative-sampling setting")
FLAGS = flags.FLAGS

VOCAB_SIZES = (10_000, 30_000, 100_000, 300_000, 1_000_000)


def _us_per_kpair(timing: dict) -> float:
  """Microseconds per thousand pairs: the unit that makes objectives comparable."""
  return timing["seconds_per_step"] / timing["pairs_per_step"] * 1e9


def sweep(base: TrainConfig, steps: int, sampled_steps: int) -> dict[str, list[tuple]]:
  """The tables; a negative-sampling step is ~1000 times cheaper, so it gets more steps."""
  def measure(config, vocab):
    n = steps if config.objective == "softmax" else sampled_steps
    return _us_per_kpair(profiling.time_train_step(config, vocab, n))

  tables = {"vocab": [], "negatives": [], "dim": []}
  for vocab in VOCAB_SIZES:
    row = [vocab]
    for objective in ("softmax", "negative_sampling"):
      row.append(measure(base.replace(objective=objective), vocab))
    tables["vocab"].append(tuple(row))
  for k in (1, 2, 5, 10, 20):
    tables["negatives"].append((k, measure(base.replace(negatives=k), 100_000)))
  for dim in (50, 100, 200, 300):
    row = [dim]
    for objective in ("softmax", "negative_sampling"):
      row.append(measure(base.replace(objective=objective, dim=dim), 30_000))
    tables["dim"].append(tuple(row))
  return tables


def corpus_sizes(base: TrainConfig, corpora: list[str]) -> list[tuple]:
  """(corpus, words, start-up s, first run's start-up s, s per million pairs) per corpus."""
  rows = []
  for corpus in corpora:
    cache = tempfile.mkdtemp(prefix="w2vjax-scaling-")
    try:
      config = base.replace(corpus=corpus, epochs=1, cache_dir=cache, log_every_seconds=600)
      t0 = time.perf_counter()
      first = train(config, show_progress=False)
      cold = first.startup_seconds + first.compile_seconds
      warm = train(config, show_progress=False)  # the cache is filled: start-up is reading
      pairs = sum(r["pairs"] for r in warm.metrics)
      rows.append((corpus.rsplit("/", 1)[-1], warm.raw_words, cold,
                   warm.startup_seconds + warm.compile_seconds,
                   warm.train_seconds / pairs * 1e6, time.perf_counter() - t0))
    finally:
      shutil.rmtree(cache, ignore_errors=True)
  return rows


def markdown(base: TrainConfig, tables: dict, corpora: list[tuple]) -> str:
  lines = [f"### Time per thousand pairs against vocabulary size (d={base.dim}, "
           f"K={base.negatives}, batch {base.batch_size})", "",
           "| \\|V\\| | full softmax (us / 1k pairs) | negative sampling (us / 1k pairs) |",
           "|---|---|---|"]
  lines += [f"| {v:,} | {s:,.0f} | {n:,.0f} |" for v, s, n in tables["vocab"]]
  lines += ["", "### Negative sampling against K (|V| = 100,000)", "",
            "| K | us / 1k pairs |", "|---|---|"]
  lines += [f"| {k} | {t:,.0f} |" for k, t in tables["negatives"]]
  lines += ["", "### Against dimension (|V| = 30,000)", "",
            "| d | full softmax | negative sampling |", "|---|---|---|"]
  lines += [f"| {d} | {s:,.0f} | {n:,.0f} |" for d, s, n in tables["dim"]]
  if corpora:
    lines += ["", "### Against corpus size (negative sampling, 1 epoch)", "",
              "| corpus | words | start-up, first run (s) | start-up, cached (s) | "
              "s per million pairs |", "|---|---|---|---|---|"]
    lines += [f"| {c} | {w:,} | {cold:.1f} | {warm:.1f} | {t:.2f} |"
              for c, w, cold, warm, t, _ in corpora]
  return "\n".join(lines) + "\n"


def plot(tables: dict, path: Path) -> None:
  fig = new_figure((13, 3.8))
  ax_v, ax_k, ax_d = fig.subplots(1, 3)
  vocab = np.array(tables["vocab"])
  ax_v.loglog(vocab[:, 0], vocab[:, 1] / 1e3, "o-", label="full softmax")
  ax_v.loglog(vocab[:, 0], vocab[:, 2] / 1e3, "s-", label="negative sampling, K=5")
  ax_v.set_xlabel("|V|")
  ax_v.set_ylabel("ms per thousand pairs")
  ax_v.legend()
  k = np.array(tables["negatives"])
  ax_k.plot(k[:, 0], k[:, 1] / 1e3, "s-", color="C1")
  ax_k.set_xlabel("K (negative sampling, |V| = 100k)")
  dim = np.array(tables["dim"])
  ax_d.semilogy(dim[:, 0], dim[:, 1] / 1e3, "o-", label="full softmax")
  ax_d.semilogy(dim[:, 0], dim[:, 2] / 1e3, "s-", label="negative sampling")
  ax_d.set_xlabel("d (|V| = 30k)")
  ax_d.legend()
  save_png(fig, path)


def main(argv):
  del argv
  out = Path(FLAGS.out)
  out.mkdir(parents=True, exist_ok=True)
  # The tables compare skip-gram's full softmax with its negative sampling, whatever method
  # the base config trains.
  base = TrainConfig.from_dict(FLAGS.config.to_dict()).replace(
      architecture="skipgram", objective="negative_sampling", maxn=0)
  tables = sweep(base, FLAGS.steps, FLAGS.sampled_steps)
  corpora = corpus_sizes(base, ["bundled:text8-1m"] + ([FLAGS.corpus] if FLAGS.corpus else []))
  table = markdown(base, tables, corpora)
  with io_utils.atomic_open(out / "scaling.md", "w") as f:
    f.write(table)
  plot(tables, out / "scaling.png")
  print(table)


if __name__ == "__main__":
  app.run(one_line_errors(main, catch=(OSError, ValueError)))
