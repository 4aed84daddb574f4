"""Streaming corpora: the parallel memory-mapped encoding, chunks, and training on them."""

import subprocess
from collections import Counter

import jax
import numpy as np
import pytest

from w2vjax import TrainConfig, checkpoint, chunks, encode, text, train
from w2vjax import corpus as corpus_lib
from w2vjax.data import prepare_data
from w2vjax.errors import InputError
from w2vjax.training import validate

# Windows and classic Mac line ends, an empty line, a blank one, accents, an undecodable
# byte and a line without its end: what read_lines and the block reader must agree on.
AWKWARD = (b"The cat sat.\r\nOn the mat\rcaf\xc3\xa9 don't\n\n   \n"
           b"a b c a b a \xff x\n" + b"one two three two one\n" * 40 + b"last line no end")


def _assert_same_encoding(a: text.EncodedText, b: text.EncodedText) -> None:
  assert a.vocab.words == b.vocab.words
  np.testing.assert_array_equal(a.vocab.counts, b.vocab.counts)
  np.testing.assert_array_equal(a.ids, b.ids)
  np.testing.assert_array_equal(a.line_lengths, b.line_lengths)


@pytest.mark.parametrize("name", ["c.txt", "c.txt.gz"])
def test_sharded_encoding_equals_encode_file(tmp_path, name):
  path = tmp_path / name
  if name.endswith(".gz"):
    import gzip
    path.write_bytes(gzip.compress(AWKWARD))
  else:
    path.write_bytes(AWKWARD)
  # 64-byte blocks: a dozen parts, so the merge and remap across parts are exercised.
  encoded = encode.encode_to(path, tmp_path / "entry", workers=1, block_bytes=64)
  _assert_same_encoding(encoded, text.encode_file(path))
  assert isinstance(encoded.ids, np.memmap)  # read from disk on demand, not held
  assert not list(tmp_path.glob(".*.tmp"))  # the temporary folder was renamed


@pytest.mark.slow
def test_two_workers_encode_what_one_does(tmp_path, topic_corpus):
  path, _ = topic_corpus
  one = encode.encode_to(path, tmp_path / "one", workers=1, block_bytes=4096)
  two = encode.encode_to(path, tmp_path / "two", workers=2, block_bytes=4096)
  _assert_same_encoding(two, one)
  _assert_same_encoding(two, text.encode_file(path))


def test_empty_file_encodes_to_no_tokens(tmp_path):
  (tmp_path / "e.txt").write_text("")
  encoded = encode.load_encoded(tmp_path / "e.txt")
  assert encoded.num_tokens == 0 and len(encoded.vocab) == 0


def test_chunks_end_at_line_ends_unless_a_line_is_longer():
  rng = np.random.default_rng(0)
  lengths = rng.integers(1, 30, 500)
  lengths[100] = 250  # longer than a chunk: cut inside
  cuts = chunks.cut(lengths, 100, block_lines=64)  # blocks of lines: cuts across blocks
  ends = set(np.cumsum(lengths).tolist())
  assert cuts.tokens[0] == 0 and cuts.tokens[-1] == lengths.sum()
  assert np.all(np.diff(cuts.tokens) > 0) and np.all(np.diff(cuts.tokens) <= 100)
  inside = [t for t in cuts.tokens[1:-1] if t not in ends]
  start_100 = int(lengths[:100].sum())
  assert inside and all(start_100 < t < start_100 + 250 for t in inside)
  # Chunks are as full as line ends allow: adding the next line would overflow.
  for a, b in zip(cuts.tokens[:-2], cuts.tokens[1:-1]):
    if b in ends and a in ends:
      next_line = lengths[np.searchsorted(np.cumsum(lengths), b, side="right")]
      assert b - a + next_line > 100


def test_chunks_hold_the_restricted_corpus_with_its_sentences(tmp_path):
  rng = np.random.default_rng(1)
  lines = [" ".join(f"w{w}" for w in rng.zipf(1.5, rng.integers(1, 40)) % 50)
           for _ in range(300)]
  (tmp_path / "z.txt").write_text("\n".join(lines) + "\n")
  encoded = encode.load_encoded(tmp_path / "z.txt")
  vocab = encoded.vocab.truncate(min_count=3)
  ids, sentence = encoded.restrict(vocab)
  cuts = chunks.cut(encoded.line_lengths, 97)
  parts = [chunks.host_chunk(encoded.ids, encoded.line_lengths, cuts, c, len(vocab))
           for c in range(cuts.count)]
  np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), ids)
  # Sentences are numbered within a chunk; the same boundaries as the whole corpus's.
  for (_, s), lo in zip(parts, np.cumsum([0] + [len(p[0]) for p in parts])):
    np.testing.assert_array_equal(np.diff(s) != 0, np.diff(sentence[lo:lo + len(s)]) != 0)


def _centres(data, epoch_key, batch=64):
  """(chunk order, the tokens an epoch visits as centres, in visiting order)."""
  visited = []
  for slot in range(data.parts.count):
    epoch = data.epoch_part(epoch_key, slot, batch)
    kept = int(epoch.num_kept)
    visited.append(np.asarray(epoch.tokens)[np.asarray(epoch.order)[:kept]])
  return chunks.chunk_order(epoch_key, data.parts.count), np.concatenate(visited)


def test_every_centre_once_per_epoch_shuffled_within_and_across_chunks(topic_corpus):
  path, _ = topic_corpus
  cfg = TrainConfig(corpus=str(path), min_count=1, subsample=0, chunk_tokens=5000)
  data = prepare_data(cfg)
  assert data.parts.count == 6  # 30,000 tokens in lines of 20
  assert data.num_tokens == 2 * 5000  # the memory check counts two chunks, not the corpus
  corpus_ids, _ = encode.load_encoded(path).restrict(data.vocab)
  key = jax.random.fold_in(jax.random.key(0), 1)
  order, visited = _centres(data, jax.random.fold_in(key, 0))
  assert Counter(visited.tolist()) == Counter(corpus_ids.tolist())
  assert order.tolist() != list(range(6))
  other_order, _ = _centres(data, jax.random.fold_in(key, 1))
  assert sorted(other_order) == list(range(6)) and other_order.tolist() != order.tolist()
  assert data.steps_per_epoch(64) == 6 * 79  # ceil(5000 / 64) steps per chunk


def test_one_chunk_draws_what_the_whole_corpus_draws(topic_corpus):
  path, _ = topic_corpus
  cfg = TrainConfig(corpus=str(path), min_count=1)
  data = prepare_data(cfg.replace(chunk_tokens=10**9))
  vocab = data.vocab
  ids, sentence = encode.load_encoded(path).restrict(vocab)
  whole = corpus_lib.make_device_corpus(ids, sentence, vocab.counts, cfg.subsample)
  key = jax.random.key(3)
  expected = corpus_lib.make_epoch(key, whole, 64)
  got = data.epoch_part(key, 0, 64)
  for a, b in zip(got, expected):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  assert data.parts.count == 1 and data.corpus is data.corpus  # held, not re-read


def test_padding_is_never_kept():
  corpus = corpus_lib.DeviceCorpus(jax.numpy.arange(8) % 2, jax.numpy.array([0] * 5 + [-1] * 3),
                                   jax.numpy.ones(2))
  _, sentence, kept = corpus_lib.subsample(jax.random.key(0), corpus)
  assert int(kept) == 5 and np.all(np.asarray(sentence)[5:] == -1)


def test_negative_chunk_tokens_is_refused():
  with pytest.raises(InputError, match="chunk_tokens must be >= 0"):
    validate(TrainConfig(chunk_tokens=-1))
  with pytest.raises(InputError, match="tokenize_workers must be >= 0"):
    validate(TrainConfig(tokenize_workers=-2))


def test_older_checkpoints_resume_at_chunk_zero():
  assert checkpoint.Position(**{"epoch": 2, "step_in_epoch": 5, "step": 9}).chunk == 0
  assert "tokenize_workers" in checkpoint.RESUMABLE_CHANGES
  assert "chunk_tokens" not in checkpoint.RESUMABLE_CHANGES


def _topic_purity(emb, topics, topn=5) -> float:
  topic_of = {w: i for i, words in enumerate(topics) for w in words}
  return float(np.mean([topic_of[n] == topic_of[w] for w in topic_of
                        for n, _ in emb.most_similar(w, topn=topn)]))


@pytest.mark.slow
def test_streamed_training_recovers_the_topics(topic_corpus):
  path, topics = topic_corpus
  cfg = TrainConfig(corpus=str(path), dim=16, window=3, min_count=1, subsample=0, epochs=3,
                    batch_size=64, chunk_tokens=4000)
  result = train(cfg, show_progress=False)
  assert _topic_purity(result.embeddings, topics) > 0.95
  assert result.metrics[-1]["words"] == pytest.approx(3 * 30_000)
  # 7 chunks of 4000 tokens (63 steps each) and one of 2000 (32 steps) per epoch.
  assert result.metrics[-1]["step"] == 3 * (7 * 63 + 32)


@pytest.mark.slow
def test_streamed_run_resumes_bit_identically_after_sigkill(tmp_path, seed=5):
  from test_reliability import ROOT, _kill_and_resume, _train_cmd
  from w2vjax import Embeddings
  from w2vjax.datasets import write_topic_corpus
  corpus = tmp_path / "topics.txt"
  write_topic_corpus(corpus, lines=400)
  streamed = ["--config.chunk_tokens=1500", "--config.subsample=1e-3"]  # 6 chunks an epoch
  full = subprocess.run(_train_cmd(corpus, tmp_path / "full") + streamed, cwd=ROOT,
                        capture_output=True, text=True, timeout=600)
  assert full.returncode == 0, full.stderr[-2000:]
  workdir = tmp_path / "wd"
  resumed = _kill_and_resume(_train_cmd(corpus, workdir) + streamed, workdir, seed)
  uninterrupted = Embeddings.load(tmp_path / "full" / "vectors.bin").vectors
  np.testing.assert_array_equal(resumed, uninterrupted)
