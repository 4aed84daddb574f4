"""Kills training with SIGKILL at random points, resumes it, and compares the vectors.

  python benchmarks/kill_resume.py [--kills=5] [--workdir=/tmp/w2vjax-kill-resume]

Trains on a synthetic topic corpus (200 epochs, about 2.5 s of training) through the
launcher, with a checkpoint every 0.05 s: once uninterrupted and then once per kill:
start, wait for the first checkpoint, wait a random 0-1.5 s, SIGKILL, run the same command
again to the end. Prints the step each run had
checkpointed when killed and the largest difference from the uninterrupted vectors.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from absl import app, flags

from children import run_child  # beside this script, so on sys.path when it runs as one
from w2vjax import Embeddings
from w2vjax.datasets import write_topic_corpus
from w2vjax.errors import InputError, one_line_errors

FLAGS = flags.FLAGS
ROOT = Path(__file__).resolve().parents[1]


def _command(workdir: Path, corpus: Path) -> list[str]:
  return [sys.executable, "-m", "experiments.run", f"--workdir={workdir}",
          f"--config.corpus={corpus}", "--config.min_count=1", "--config.dim=16",
          "--config.epochs=200", "--config.batch_size=16", "--config.subsample=0",
          "--config.checkpoint_every_seconds=0.05", "--config.log_every_seconds=0.05"]


def main(argv):
  del argv
  base = Path(FLAGS.workdir)
  base.mkdir(parents=True, exist_ok=True)
  corpus = base / "topics.txt"
  write_topic_corpus(corpus, lines=400)
  run_child(_command(base / "full", corpus), "the uninterrupted run", cwd=ROOT)
  full = Embeddings.load(base / "full" / "vectors.bin").vectors
  for seed in range(FLAGS.kills):
    workdir = base / f"kill{seed}"
    proc = subprocess.Popen(_command(workdir, corpus), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    while not (workdir / "checkpoint.npz").exists():
      if proc.poll() is not None:
        raise InputError(f"run {workdir.name} ended (exit code {proc.returncode}) before "
                         "its first checkpoint: nothing to kill")
      time.sleep(0.02)
    time.sleep(random.Random(seed).uniform(0, 1.5))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with np.load(workdir / "checkpoint.npz") as z:
      step = json.loads(bytes(z["meta"]).decode())["position"]["step"]
    run_child(_command(workdir, corpus), f"resuming run {workdir.name}", cwd=ROOT)
    resumed = Embeddings.load(workdir / "vectors.bin").vectors
    print(f"kill {seed}: checkpoint at step {step}; "
          f"max |resumed - uninterrupted| = {np.abs(resumed - full).max():.3g}")


if __name__ == "__main__":
  flags.DEFINE_integer("kills", 5, "how many runs to kill and resume")
  flags.DEFINE_string("workdir", "/tmp/w2vjax-kill-resume", "scratch folder")
  app.run(one_line_errors(main, catch=(OSError, ValueError)))
