"""Bad input, interruptions and resumption: clear errors, no half-written files, same vectors."""

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

from w2vjax import Embeddings, TrainConfig, memory, methods, parallel, train
from w2vjax.datasets import write_topic_corpus
from w2vjax.errors import InputError
from w2vjax.text import Vocab

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args, module="experiments.run", timeout=600):
  env = {**os.environ, "PYTHONUNBUFFERED": "1"}
  return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=timeout)


def _make_bad_files(tmp: Path) -> None:
  (tmp / "empty.txt").write_text("")
  (tmp / "punct.txt").write_text("... !!! ???\n")
  (tmp / "binary.bin").write_bytes(bytes(random.Random(0).randrange(256) for _ in range(50000)))
  (tmp / "fake.gz").write_text("plain text, not gzip\n")
  (tmp / "tiny.txt").write_text("one two one two one two\n")
  (tmp / "a_file").write_text("x")
  (tmp / "ok.txt").write_text((" ".join(f"word{i}" for i in range(10)) + " ") * 50 + "\n")
  (tmp / "vec_dim.txt").write_text("2 3\nthe 0.1 0.2 0.3\ncat 1 2\n")
  (tmp / "vec_header.txt").write_text("2 three\nthe 0.1 0.2 0.3\n")
  (tmp / "vec_junk.txt").write_bytes(b"\x00\x01\x02 garbage \xff\xfe\n\x03\x04\n")
  (tmp / "vec_empty.txt").write_text("")


RUN, EVALUATE = "experiments.run", "w2vjax.evaluate"
WD = "--workdir={tmp}/wd"
OK = "--config.corpus={tmp}/ok.txt"
# name -> (arguments, with {tmp} for the test's folder; module; what the last line must say)
BAD_INPUTS = {
    "missing corpus": (["--config.corpus={tmp}/nope.txt", WD], RUN, "corpus file not found"),
    "empty corpus": (["--config.corpus={tmp}/empty.txt", WD], RUN, "holds no words"),
    "no words in corpus": (["--config.corpus={tmp}/punct.txt", WD], RUN, "holds no words"),
    "binary corpus": (["--config.corpus={tmp}/binary.bin", WD], RUN, "does not look like UTF-8"),
    "not gzip": (["--config.corpus={tmp}/fake.gz", WD], RUN, "is not a gzip file"),
    "vocab smaller than K": (["--config.corpus={tmp}/tiny.txt", "--config.min_count=1",
                              "--config.negatives=5", WD], RUN, "vocabulary has 2 words"),
    "vocab empty after min_count": ([OK, "--config.min_count=1000", WD], RUN,
                                    "vocabulary has 0 words"),
    "unknown experiment": (["--experiment=nope", WD], RUN, "unknown experiment 'nope'"),
    "unknown field": (["--config.epoks=3", WD], RUN, "unknown config field 'epoks'"),
    "mistyped value": (["--config.epochs=three", WD], RUN, "--config.epochs=three"),
    "epochs <= 0": ([OK, "--config.epochs=0", WD], RUN, "epochs must be positive"),
    "dim <= 0": ([OK, "--config.dim=-1", WD], RUN, "dim must be positive"),
    "negatives < 1": ([OK, "--config.negatives=0", WD], RUN, "needs negatives >= 1"),
    "window < 1": ([OK, "--config.window=0", WD], RUN, "window must be positive"),
    "sample < 0": ([OK, "--config.subsample=-0.1", WD], RUN, "subsample must be >= 0"),
    "batch_size <= 0": ([OK, "--config.batch_size=0", WD], RUN, "batch_size must be positive"),
    "batch_splits not dividing": ([OK, "--config.batch_splits=3", WD], RUN,
                                  "batch_splits=3 does not divide"),
    "steps_per_call < 0": ([OK, "--config.steps_per_call=-1", WD], RUN,
                           "steps_per_call must be >= 0"),
    "sync_every < 0": ([OK, "--config.sync_every=-1", WD], RUN, "sync_every must be >= 0"),
    "cpu_devices < 0": ([OK, "--config.cpu_devices=-2", WD], RUN, "cpu_devices must be >= 0"),
    "unknown objective": ([OK, "--config.objective=hs", WD], RUN, "unknown objective 'hs'"),
    "unknown window_draw": ([OK, "--config.window_draw=pair", WD], RUN,
                            "unknown window_draw 'pair'"),
    "unknown window_weights": ([OK, "--config.window_weights=gaussian", WD], RUN,
                               "unknown window_weights 'gaussian'"),
    "unknown centre_order": ([OK, "--config.centre_order=sorted", WD], RUN,
                             "unknown centre_order 'sorted'"),
    "centre_run without runs": ([OK, "--config.centre_run=8", WD], RUN,
                                "centre_order=shuffled has neither"),
    "minn > maxn": ([OK, "--config.maxn=2", "--config.minn=3", WD], RUN,
                    "subwords need 1 <= minn <= maxn, got minn=3, maxn=2"),
    "buckets 0": ([OK, "--config.maxn=6", "--config.buckets=0", WD], RUN,
                  "subwords need buckets > 0, got 0"),
    "cbow with full softmax": ([OK, "--config.architecture=cbow", "--config.objective=softmax",
                                WD], RUN, "cbow trains with negative_sampling or"),
    "not a model file": (["--model={tmp}/ok.txt"], EVALUATE, "not a w2vjax subword model"),
    "workdir not writable": ([OK, "--workdir={tmp}/a_file/sub"], RUN, "a_file"),
    "vectors wrong dimension": (["--vectors={tmp}/vec_dim.txt"], EVALUATE, "vec_dim.txt:3"),
    "vectors bad header": (["--vectors={tmp}/vec_header.txt"], EVALUATE, "vec_header.txt"),
    "vectors junk": (["--vectors={tmp}/vec_junk.txt"], EVALUATE, "vec_junk.txt"),
    "vectors empty": (["--vectors={tmp}/vec_empty.txt"], EVALUATE, "no vectors in file"),
    "vectors missing": (["--vectors={tmp}/nope.bin"], EVALUATE, "vectors file not found"),
    "nan loss": ([OK, "--config.min_count=1", "--config.learning_rate=1e30", "--config.dim=8",
                  WD], RUN, "learning rate"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_gives_one_clear_line(tmp_path, name):
  _make_bad_files(tmp_path)
  args, module, message = BAD_INPUTS[name]
  proc = _cli(*(a.format(tmp=tmp_path) for a in args), module=module)
  assert proc.returncode != 0, proc.stdout[-500:]
  last = proc.stderr.strip().splitlines()[-1]
  assert message in last, proc.stderr[-1500:]
  assert "Traceback" not in proc.stderr
  assert last.startswith("error: ")


@pytest.mark.slow
def test_sigkill_during_export_leaves_the_previous_file(tmp_path):
  target = tmp_path / "vectors.txt"
  Embeddings(("old",), np.ones((1, 3))).save(target)
  before = target.read_bytes()
  script = ("import numpy as np, sys; from w2vjax import Embeddings; "
            "Embeddings(tuple(f'w{i}' for i in range(200000)), np.ones((200000, 300)))"
            ".save(sys.argv[1])")
  proc = subprocess.Popen([sys.executable, "-c", script, str(target)], cwd=ROOT)
  deadline = time.time() + 120
  while not list(tmp_path.glob(".vectors.txt.*.tmp")) and time.time() < deadline:
    time.sleep(0.01)
  time.sleep(0.2)  # well inside the write: 200,000 lines of 300 numbers take seconds
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert proc.returncode == -signal.SIGKILL
  assert target.read_bytes() == before  # the previous complete file, never half a new one
  assert list(tmp_path.glob(".vectors.txt.*.tmp"))  # the partial temporary is what remains


@pytest.mark.slow
def test_debug_flag_shows_the_traceback(tmp_path):
  proc = _cli(f"--config.corpus={tmp_path / 'nope.txt'}", f"--workdir={tmp_path / 'wd'}",
              "--debug")
  assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_malformed_evaluation_lines_are_skipped_and_reported(tmp_path):
  from w2vjax.evaluation import evaluate_similarity, format_table
  emb = Embeddings(("a", "b", "c"), np.eye(3))
  (tmp_path / "s.txt").write_text("a\tb\t1\nbroken\na\tc\tnot-a-number\nb\tc\t2\n")
  r = evaluate_similarity(emb, tmp_path / "s.txt")
  assert r["pairs"] == 2 and r["malformed"] == 2
  assert "2 malformed lines skipped" in format_table({"s.txt": r})


def _zipf_vocab(size):
  return Vocab(tuple(f"w{i}" for i in range(size)), np.arange(size, 0, -1) + 10)


def test_memory_check_names_a_smaller_setting():
  cfg = TrainConfig(objective="softmax", batch_size=256, dim=100)
  method = methods.build(cfg, _zipf_vocab(1_000_000))
  with pytest.raises(InputError, match=r"needs about .* GiB .*--config.max_vocab=(\d+)") as e:
    memory.check_fits(cfg, method, 10_000_000, 1_000_000, available=2 ** 30)
  fitting = int(re.search(r"max_vocab=(\d+)", str(e.value)).group(1))
  # The suggested vocabulary fits in the same memory, and one twice as large does not.
  for size, fits in ((fitting, True), (2 * fitting, False)):
    need = memory.estimate_bytes(cfg, methods.build(cfg, _zipf_vocab(size)), 10_000_000)
    assert (need <= 0.9 * 2 ** 30) == fits
  big = memory.estimate_bytes(cfg, method, 0)
  assert big > 2 * 1_000_000 * 100 * 4 + 3 * 256 * 1_000_000 * 4 - 1  # tables + logits


def test_memory_estimate_counts_every_table_of_the_method():
  vocab, cfg = _zipf_vocab(1000), TrainConfig(dim=10, optimizer="adagrad")
  words_only = memory.table_bytes(methods.build(cfg, vocab))
  assert words_only == 2 * 1000 * 10 * 4
  subword = methods.build(cfg.replace(maxn=6, buckets=5000), vocab)
  assert memory.table_bytes(subword) == (1000 + 5000 + 1000) * 10 * 4


def test_memory_estimate_counts_the_rows_subword_inputs_average():
  # A subword input averages many rows of u: word2vec.c's orientation packs a step's
  # window rows (rows_budget), fastText's pads each centre's rows to the widest word.
  from w2vjax import subwords
  from w2vjax.methods.subword import rows_budget
  vocab, cfg = _zipf_vocab(1000), TrainConfig(dim=10, batch_size=64, window=5)
  words = methods.build(cfg, vocab).step_floats
  held = subwords.ngram_table(list(vocab.words), 3, 6, 5000)[1]
  packed = rows_budget(held, vocab.counts, cfg.subsample)(10 * 64) / 64
  for share, rows in ((True, packed), (False, held.max())):
    method = methods.build(cfg.replace(maxn=6, buckets=5000, share_negatives=share), vocab)
    assert method.step_floats - words == 3 * int(np.ceil(rows)) * 10


def test_memory_check_counts_devices_own_copies_on_one_host():
  vocab, cfg = _zipf_vocab(1000), TrainConfig(dim=10, optimizer="adagrad")
  method = methods.build(cfg, vocab)
  tables = memory.table_bytes(method)
  # Each device keeps the tables and their Adagrad sums as of the last merge.
  assert (memory.estimate_bytes(cfg, method, 0, merged=True)
          - memory.estimate_bytes(cfg, method, 0)) == 2 * tables
  need = memory.estimate_bytes(cfg, method, 0, merged=True)
  memory.check_fits(cfg, method, 0, 1000, available=int(need / 0.8), merged=True)
  with pytest.raises(InputError, match="needs about"):  # 2 CPU devices share the host's
    memory.check_fits(cfg, method, 0, 1000, available=int(need / 0.8), merged=True,
                      sharing=2)


# Interruption and resumption -----------------------------------------------------------

def _train_cmd(corpus, workdir, every="0.05"):
  return [sys.executable, "-m", "experiments.run", f"--workdir={workdir}",
          f"--config.corpus={corpus}", "--config.min_count=1", "--config.dim=16",
          "--config.epochs=200", "--config.batch_size=16", "--config.subsample=0",
          f"--config.checkpoint_every_seconds={every}", "--config.log_every_seconds=0.05"]


@pytest.fixture(scope="module")
def resume_corpus(tmp_path_factory):
  path = tmp_path_factory.mktemp("corpus") / "topics.txt"
  write_topic_corpus(path, lines=400)
  return path


@pytest.fixture(scope="module")
def uninterrupted(resume_corpus, tmp_path_factory):
  workdir = tmp_path_factory.mktemp("full")
  proc = subprocess.run(_train_cmd(resume_corpus, workdir), cwd=ROOT, capture_output=True,
                        text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-2000:]
  return Embeddings.load(workdir / "vectors.bin").vectors


def _kill_and_resume(cmd, workdir, seed):
  """Runs ``cmd``, kills it with SIGKILL at a random point after its first checkpoint,
  runs it again to the end and returns the vectors it wrote."""
  proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.time() + 300
  while not (workdir / "checkpoint.npz").exists() and time.time() < deadline:
    time.sleep(0.02)
  # A random point of the training, which lasts about 2.5 s after its first checkpoint.
  time.sleep(random.Random(seed).uniform(0.0, 1.5))
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert not (workdir / "vectors.bin").exists()  # it died in training, not after
  saved = saved_history(workdir)
  done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert done.returncode == 0, done.stderr[-2000:]
  assert not list(workdir.glob(".*.tmp"))  # no temporary left behind
  assert_went_on_from(workdir, saved)
  return Embeddings.load(workdir / "vectors.bin").vectors


def saved_history(workdir):
  """The metrics history in an interrupted run's checkpoint, which must hold steps."""
  with np.load(workdir / "checkpoint.npz") as z:
    saved = json.loads(bytes(z["meta"]).decode())["history"]
  assert saved and saved[-1]["step"] > 0
  return saved


def assert_went_on_from(workdir, saved):
  """The run in ``workdir`` resumed from the checkpoint that held ``saved``: those
  records, wall-clock times included, open its history (a run started over would have
  timed them anew), and it trained further."""
  history = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
  assert history[:len(saved)] == saved and len(history) > len(saved)


@pytest.mark.xdist_group("uninterrupted")
@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_then_resume_gives_the_same_vectors(resume_corpus, uninterrupted, tmp_path, seed):
  workdir = tmp_path / "wd"
  resumed = _kill_and_resume(_train_cmd(resume_corpus, workdir), workdir, seed)
  np.testing.assert_allclose(resumed, uninterrupted, rtol=0, atol=1e-6)


@pytest.mark.slow
def test_glove_resumes_bit_identically_after_sigkill(resume_corpus, tmp_path):
  # GloVe trains through the same loop: its entries' epoch order and AdaGrad state resume.
  glove = ["--config.architecture=glove", "--config.optimizer=adagrad",
           "--config.learning_rate=0.05", "--config.lr_schedule=constant",
           "--config.epochs=400", "--config.window=3"]
  full = subprocess.run(_train_cmd(resume_corpus, tmp_path / "full") + glove, cwd=ROOT,
                        capture_output=True, text=True, timeout=600)
  assert full.returncode == 0, full.stderr[-2000:]
  workdir = tmp_path / "wd"
  resumed = _kill_and_resume(_train_cmd(resume_corpus, workdir) + glove, workdir, seed=4)
  uninterrupted = Embeddings.load(tmp_path / "full" / "vectors.bin").vectors
  np.testing.assert_allclose(resumed, uninterrupted, rtol=0, atol=1e-6)


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_and_says_how_to_resume(resume_corpus, tmp_path):
  workdir = tmp_path / "wd"
  proc = subprocess.Popen(_train_cmd(resume_corpus, workdir, every="1000"), cwd=ROOT,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
  deadline = time.time() + 300
  while not (workdir / "metrics.jsonl").exists() and time.time() < deadline:
    time.sleep(0.02)
  proc.send_signal(signal.SIGTERM)
  _, err = proc.communicate(timeout=300)
  assert proc.returncode == 130
  assert "run the same command to resume" in err.strip().splitlines()[-1]
  assert (workdir / "checkpoint.npz").exists() and not (workdir / "vectors.bin").exists()


@pytest.mark.slow
def test_incompatible_workdir_is_refused_and_resume_false_starts_over(resume_corpus, tmp_path):
  cfg = TrainConfig(corpus=str(resume_corpus), min_count=1, dim=8, epochs=1, batch_size=32)
  train(cfg, workdir=tmp_path, show_progress=False)
  with pytest.raises(InputError, match=r"another config \(dim: 8 -> 12"):
    train(cfg.replace(dim=12), workdir=tmp_path, show_progress=False)
  result = train(cfg.replace(dim=12, resume=False), workdir=tmp_path, show_progress=False)
  assert result.embeddings.dim == 12


@pytest.mark.slow
def test_finished_run_resumes_to_the_same_vectors(resume_corpus, tmp_path):
  cfg = TrainConfig(corpus=str(resume_corpus), min_count=1, dim=8, epochs=1, batch_size=32)
  first = train(cfg, workdir=tmp_path, show_progress=False)
  again = train(cfg.replace(log_every_seconds=1.0), workdir=tmp_path, show_progress=False)
  np.testing.assert_array_equal(first.embeddings.vectors, again.embeddings.vectors)
  assert first.checkpoint_seconds > 0
  # Restored, not trained again: the history keeps the first run's wall-clock times.
  assert again.metrics == first.metrics


@pytest.mark.slow
def test_unreadable_checkpoint_is_reported(resume_corpus, tmp_path):
  cfg = TrainConfig(corpus=str(resume_corpus), min_count=1, dim=8, epochs=1, batch_size=32)
  (tmp_path / "checkpoint.npz").write_bytes(b"not a zip file")
  with pytest.raises(InputError, match="cannot resume from .*checkpoint.npz"):
    train(cfg, workdir=tmp_path, show_progress=False)


def test_devices_of_a_process_out_of_order_are_refused():
  def devices(*processes):
    return [types.SimpleNamespace(process_index=p) for p in processes]

  parallel.check_device_order(devices(0, 0, 1, 1))
  parallel.check_device_order(devices(1, 1, 0, 0))  # any order of whole blocks
  for bad in [(0, 1, 0, 1), (0, 0, 0, 1)]:
    with pytest.raises(InputError, match="not contiguous and equal in number"):
      parallel.check_device_order(devices(*bad))
