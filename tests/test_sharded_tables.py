"""Tables split by rows over 4 fake CPU devices (--config.shard_tables): the same vectors
as replicated tables, a quarter of the rows on each device, resumable checkpoints.

The device checks run in subprocesses, because the device count is fixed when JAX starts.
"""

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import fake_devices
from test_reliability import assert_went_on_from, saved_history
from w2vjax import TrainConfig, memory, methods
from w2vjax.datasets import write_topic_corpus
from w2vjax.embeddings import Embeddings
from w2vjax.text import Vocab

ROOT = Path(__file__).resolve().parents[1]
FOUR_DEVICES = fake_devices.environment(4)
sys.path.insert(0, str(ROOT / "tests" / "helpers"))
import sharded_tables  # noqa: E402  (the helper's case list)


@pytest.fixture(scope="module")
def equivalence():
  proc = subprocess.run([sys.executable, "tests/helpers/sharded_tables.py"], cwd=ROOT,
                        env=FOUR_DEVICES, capture_output=True, text=True, timeout=1800)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return json.loads(proc.stdout)


@pytest.mark.xdist_group("sharded_equivalence")
@pytest.mark.slow
@pytest.mark.parametrize("case", list(sharded_tables.CASES))
def test_sharded_tables_equal_replicated_ones(equivalence, case):
  replicated, sharded = equivalence[case]["replicated"], equivalence[case]["sharded"]
  assert set(replicated["tables"]) == set(sharded["tables"])
  for name, table in replicated["tables"].items():
    want, got = np.asarray(table), np.asarray(sharded["tables"][name])
    assert want.shape == got.shape  # the padding rows are cut off
    # Row updates are summed in another order on the shards: float32 rounding only.
    assert np.abs(want - got).max() < 1e-5, (case, name)
  assert abs(replicated["loss"] - sharded["loss"]) <= 1e-5 * abs(replicated["loss"])
  # ... and the steps really trained: every table moved from its start.
  assert min(replicated["moved"].values()) > 1e-3 and min(sharded["moved"].values()) > 1e-3


@pytest.mark.xdist_group("sharded_equivalence")
@pytest.mark.slow
@pytest.mark.parametrize("case", list(sharded_tables.CASES))
def test_each_device_holds_a_quarter_of_each_table(equivalence, case):
  replicated, sharded = equivalence[case]["replicated"], equivalence[case]["sharded"]
  for name, table in replicated["tables"].items():
    rows = len(table)
    assert replicated["shard_rows"][name] == [rows]
    assert sharded["shard_rows"][name] == [-(-rows // 4)]  # padded to a multiple of 4
  # Measured from the arrays' addressable shards: a quarter of the bytes, plus padding.
  for device, held in sharded["bytes"].items():
    assert held <= 0.27 * replicated["bytes"][device], (case, device)


def _train_cmd(corpus, workdir, *extra):
  return [sys.executable, "-m", "experiments.run", f"--workdir={workdir}",
          f"--config.corpus={corpus}", "--config.min_count=1", "--config.dim=16",
          "--config.epochs=30", "--config.batch_size=16", "--config.subsample=0",
          "--config.shard_tables=true", "--config.optimizer=adagrad",
          "--config.checkpoint_every_seconds=0.05", "--config.log_every_seconds=0.05", *extra]


@pytest.mark.slow
def test_sharded_run_resumes_to_the_uninterrupted_vectors(tmp_path):
  corpus = tmp_path / "topics.txt"
  write_topic_corpus(corpus, lines=200)
  full = subprocess.run(_train_cmd(corpus, tmp_path / "full"), cwd=ROOT, env=FOUR_DEVICES,
                        capture_output=True, text=True, timeout=900)
  assert full.returncode == 0, full.stderr[-2000:]
  summary = json.loads((tmp_path / "full" / "eval.json").read_text())
  assert summary["devices"] == 4
  workdir = tmp_path / "wd"
  proc = subprocess.Popen(_train_cmd(corpus, workdir), cwd=ROOT, env=FOUR_DEVICES,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.time() + 600
  while not (workdir / "checkpoint.npz").exists() and time.time() < deadline:
    time.sleep(0.02)
  time.sleep(random.Random(5).uniform(0.0, 1.0))
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert not (workdir / "vectors.bin").exists()  # it died in training, not after
  # The checkpoint holds the method's own shapes (gathered, padding cut off).
  with np.load(workdir / "checkpoint.npz") as saved:
    vocab = len(Embeddings.load(tmp_path / "full" / "vectors.bin").words)
    assert {saved[k].shape for k in saved.files if k != "meta"} >= {(vocab, 16)}
  history = saved_history(workdir)
  done = subprocess.run(_train_cmd(corpus, workdir), cwd=ROOT, env=FOUR_DEVICES,
                        capture_output=True, text=True, timeout=900)
  assert done.returncode == 0, done.stderr[-2000:]
  assert_went_on_from(workdir, history)
  np.testing.assert_allclose(Embeddings.load(workdir / "vectors.bin").vectors,
                             Embeddings.load(tmp_path / "full" / "vectors.bin").vectors,
                             rtol=0, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("extra, message", [
    (["--config.parallel=pmap"], "shard_tables needs parallel=shard_map, not pmap"),
])
def test_bad_sharded_setting_gives_one_line(tmp_path, extra, message):
  proc = subprocess.run(
      [sys.executable, "-m", "experiments.run", "--experiment=quickstart",
       f"--workdir={tmp_path}", "--config.shard_tables=true", *extra],
      cwd=ROOT, env=FOUR_DEVICES, capture_output=True, text=True, timeout=300)
  last = proc.stderr.strip().splitlines()[-1]
  assert proc.returncode != 0 and "Traceback" not in proc.stderr
  assert last.startswith("error: ") and message in last, proc.stderr[-1500:]


def test_memory_estimate_counts_a_share_of_the_tables_per_device():
  vocab = Vocab(tuple(f"w{i}" for i in range(1000)), np.arange(1000, 0, -1))
  cfg = TrainConfig(dim=10, optimizer="adagrad")
  method = methods.build(cfg, vocab)
  tables = memory.table_bytes(method)  # u and v: 2 x 1000 x 10 floats
  whole, split = (memory.estimate_bytes(cfg, method, 0, n) for n in (1, 4))
  assert whole - split == 2 * tables - 2 * tables // 4  # tables and AdaGrad's sums
