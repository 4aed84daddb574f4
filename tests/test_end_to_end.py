"""Whole runs on small corpora: planted structure must be recovered, outputs must appear."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from w2vjax import Embeddings, TrainConfig, train
from w2vjax.progress import Progress

ROOT = Path(__file__).resolve().parents[1]


def _topic_purity(emb: Embeddings, topics, topn=5) -> float:
  topic_of = {w: i for i, words in enumerate(topics) for w in words}
  hits = [topic_of[n] == topic_of[w] for w in topic_of
          for n, _ in emb.most_similar(w, topn=topn)]
  return float(np.mean(hits))


@pytest.mark.parametrize("objective,lr", [("negative_sampling", 0.025), ("softmax", 0.05),
                                          ("nce", 0.025), ("sampled_softmax", 0.025)])
def test_recovers_two_topics(topic_corpus, objective, lr):
  path, topics = topic_corpus
  cfg = TrainConfig(corpus=str(path), objective=objective, dim=16, window=3, negatives=5,
                    min_count=1, subsample=0, epochs=3, batch_size=64, learning_rate=lr)
  result = train(cfg, show_progress=False)
  assert len(result.vocab) == 40
  # Chance is 19/39 (about 0.49); planted topics give near 1.
  assert _topic_purity(result.embeddings, topics) > 0.95
  assert result.metrics[-1]["loss"] < result.metrics[0]["loss"]


def test_same_seed_same_vectors(topic_corpus):
  path, _ = topic_corpus
  cfg = TrainConfig(corpus=str(path), dim=8, window=2, min_count=1, epochs=1, batch_size=64)
  a = train(cfg, show_progress=False).embeddings.vectors
  b = train(cfg, show_progress=False).embeddings.vectors
  c = train(cfg.replace(seed=1), show_progress=False).embeddings.vectors
  np.testing.assert_array_equal(a, b)
  assert not np.allclose(a, c)


def test_progress_prints_plain_lines_when_not_a_terminal():
  stream = io.StringIO()
  progress = Progress(1000, stream=stream)
  progress.report(250, loss=2.5, words_per_sec=1000.0, lr=0.02, epoch=1)
  progress.close()
  line = stream.getvalue().strip()
  assert line.startswith("epoch 1") and "25.0%" in line and "loss 2.5000" in line
  assert "1k words/s" in line and "eta 0:00:00" in line


def _run_cli(*args, cwd=ROOT, timeout=600):
  env = {**os.environ, "PYTHONUNBUFFERED": "1"}
  return subprocess.run([sys.executable, "-m", "experiments.run", *args], cwd=cwd, env=env,
                        capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_launcher_writes_every_output(topic_corpus, tmp_path):
  path, topics = topic_corpus
  workdir = tmp_path / "run"
  proc = _run_cli("--experiment=quickstart", f"--workdir={workdir}",
                  f"--config.corpus={path}", "--config.min_count=1", "--config.dim=16",
                  "--config.epochs=2", "--config.batch_size=64", "--config.log_every_seconds=0")
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert "EN-WS-353-ALL.txt" in proc.stdout and "3cosadd" in proc.stdout
  assert sorted(p.name for p in workdir.iterdir()) == [
      "checkpoint.npz", "config.json", "eval.json", "loss.png", "metrics.jsonl",
      "vectors.bin", "vectors.txt"]
  assert (workdir / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  config = json.loads((workdir / "config.json").read_text())
  assert config["dim"] == 16 and config["epochs"] == 2 and config["corpus"] == str(path)
  records = [json.loads(l) for l in (workdir / "metrics.jsonl").read_text().splitlines()]
  assert records and {"step", "loss", "words_per_sec", "learning_rate", "devices"} <= set(records[0])
  # The launcher splits the CPU into one device per core (TrainConfig.cpu_devices).
  assert records[-1]["devices"] == len(os.sched_getaffinity(0)) and records[-1]["epoch"] == 2
  summary = json.loads((workdir / "eval.json").read_text())
  assert "questions-words.txt" in summary["evaluation"]
  keyed = pytest.importorskip("gensim.models").KeyedVectors
  ours = Embeddings.load(workdir / "vectors.txt")
  for name, binary in (("vectors.txt", False), ("vectors.bin", True)):
    kv = keyed.load_word2vec_format(str(workdir / name), binary=binary)
    assert len(kv) == 40 and kv.vector_size == 16
    assert list(kv.index_to_key) == list(ours.words)  # frequency order, as written
  assert _topic_purity(Embeddings.load(workdir / "vectors.bin"), topics) > 0.9


@pytest.mark.slow
def test_launcher_lists_experiments():
  proc = _run_cli("--list")
  assert proc.returncode == 0
  assert "quickstart" in proc.stdout and "sgns_wiki9m" in proc.stdout
  assert "compare_objectives" in proc.stdout


@pytest.mark.slow
def test_max_steps_is_an_exact_reproducible_budget(topic_corpus, tmp_path):
  path, _ = topic_corpus
  cfg = TrainConfig(corpus=str(path), dim=8, min_count=1, subsample=0, batch_size=16,
                    max_steps=37, learning_rate=0.025, log_every_seconds=0)
  result = train(cfg, workdir=tmp_path / "run", show_progress=False)
  assert result.metrics[-1]["step"] == 37 and result.metrics[-1]["epoch"] == 1
  # The linear decay is planned over the 37 steps: the last step (index 36) is 36/37 of
  # the way from 0.025 to 0.025e-4 (an epochs-based plan would still be near 0.025).
  np.testing.assert_allclose(result.metrics[-1]["learning_rate"],
                             0.025 + (0.025e-4 - 0.025) * 36 / 37, rtol=1e-4)
  again = train(cfg, workdir=tmp_path / "run", show_progress=False)  # finished: no more steps
  assert again.metrics == result.metrics  # restored, wall-clock times included: not retrained
  np.testing.assert_array_equal(again.embeddings.vectors, result.embeddings.vectors)
  # 30,000 tokens in batches of 256 make 118 steps an epoch: 300 steps end in epoch 3.
  # (A smaller rate: 40 words in batches of 256 pile many pairs onto each row.)
  longer = train(cfg.replace(max_steps=300, batch_size=256, learning_rate=0.002),
                 show_progress=False)
  assert longer.metrics[-1]["step"] == 300 and longer.metrics[-1]["epoch"] == 3


@pytest.mark.slow
def test_tensorboard_events_match_the_metrics(topic_corpus, tmp_path):
  pytest.importorskip("tensorboardX")
  from tensorboard_events import read_scalars  # skips where tensorboard is missing
  path, _ = topic_corpus
  cfg = TrainConfig(corpus=str(path), dim=8, min_count=1, epochs=2, batch_size=64,
                    tensorboard=True, log_every_seconds=0)
  result = train(cfg, workdir=tmp_path / "run", show_progress=False)
  scalars = read_scalars(tmp_path / "run" / "tensorboard")
  assert [s for s, _ in scalars["loss"]] == [r["step"] for r in result.metrics]
  np.testing.assert_allclose([v for _, v in scalars["loss"]],
                             [r["loss"] for r in result.metrics], rtol=1e-6)


@pytest.mark.parametrize("args,message", [
    (["--experiment=nope"], "unknown experiment 'nope'"),
    (["--config.nope=1"], "unknown config field 'nope'"),
    (["--config.epochs=abc"], "--config.epochs=abc"),
    (["--config.optimizer=lbfgs"], "unknown optimizer 'lbfgs'"),
    (["--config.dim=0"], "dim must be positive"),
    (["--config.corpus=/no/such/corpus.txt"], "corpus file not found: /no/such/corpus.txt"),
    (["--config=/no/such/config.py"], "config file not found: /no/such/config.py"),
    (["--config=/no/such/config.py", "--config.epochs=2"], "config file not found"),
    (["--config=w2vjax/errors.py"], "w2vjax/errors.py defines no get_config()"),
    (["--config=README.md"], "README.md is not a Python config file"),
    (["surplus"], "unexpected arguments: surplus"),
])
@pytest.mark.slow
def test_launcher_reports_bad_input_in_one_line(args, message, tmp_path):
  proc = _run_cli(*args, f"--workdir={tmp_path / 'run'}")
  assert proc.returncode != 0
  last = proc.stderr.strip().splitlines()[-1]
  assert message in last and "Traceback" not in proc.stderr
