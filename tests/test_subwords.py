import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest

from w2vjax import subwords
from w2vjax.errors import InputError
from w2vjax.subwords import SubwordModel

# ASCII, accents (2-byte UTF-8), CJK (3 bytes), a 4-byte character, 1 and 2 letters, a long
# word, a repeated n-gram ("ana"), and "<"/">" inside a word.
WORDS = ["hello", "café", "naïve", "日本語", "𝄞clef", "a", "ab", "internationalization",
         "über", "banana", "x><y"]
OOV = ["zebra", "crème", "東京", "q", "</s>"]


@pytest.fixture(scope="module")
def fasttext_model(tmp_path_factory):
  """A tiny fastText skip-gram with fastText's own dictionary: well under a second."""
  fasttext = pytest.importorskip("fasttext")
  fasttext.FastText.eprint = lambda message: None  # its load-time warning
  path = tmp_path_factory.mktemp("fasttext") / "text.txt"
  path.write_text("\n".join(" ".join(WORDS) for _ in range(5)) + "\n", encoding="utf-8")
  return fasttext.train_unsupervised(str(path), model="skipgram", minn=3, maxn=6, bucket=1000,
                                     dim=5, epoch=1, minCount=1, thread=1, verbose=0)


def _model_from(ft) -> SubwordModel:
  return SubwordModel(tuple(ft.get_words()), ft.get_input_matrix(), 3, 6, 1000)


def test_ngrams_and_buckets_equal_fasttexts(fasttext_model):
  ft = fasttext_model
  vocab = ft.get_words()
  assert set(WORDS) < set(vocab) and not set(OOV[:-1]) & set(vocab)
  for word in WORDS + OOV:
    ngrams, ids = ft.get_subwords(word)
    if word in vocab:  # fastText lists the word itself first, as its own id
      assert ngrams[0] == word and ids[0] == vocab.index(word)
      ngrams, ids = ngrams[1:], ids[1:]
    if word == "</s>":
      assert ngrams == []  # fastText gives the end-of-sentence token no n-grams
      continue
    assert subwords.char_ngrams(word, 3, 6) == ngrams, word
    np.testing.assert_array_equal(len(vocab) + subwords.ngram_buckets(word, 3, 6, 1000), ids)


def test_hash_is_fnv1a_with_fasttexts_sign_extension(fasttext_model):
  # The published FNV-1a 32-bit test values, for ASCII.
  assert subwords.hash_fnv1a("") == 0x811C9DC5
  assert subwords.hash_fnv1a("a") == 0xE40C292C
  assert subwords.hash_fnv1a("foobar") == 0xBF9CF968
  # For bytes >= 128 fastText's quirk differs from true FNV-1a; its bucket ids decide.
  nwords = len(fasttext_model.get_words())
  for gram in ("é", "café", "ïve>", "日本", "<𝄞c", "über"):
    assert subwords.hash_fnv1a(gram) % 1000 == fasttext_model.get_subword_id(gram) - nwords


def test_ngram_rules():
  assert subwords.char_ngrams("a", 1, 3) == ["<a", "<a>", "a", "a>"]  # no bare "<" or ">"
  assert subwords.char_ngrams("a", 3, 6) == ["<a>"]  # the whole "<word>" counts
  assert subwords.char_ngrams("é", 2, 2) == ["<é", "é>"]  # characters, not bytes
  assert subwords.ngram_buckets("hello", 3, 0, 0).size == 0  # maxn = 0: no subwords
  with pytest.raises(InputError):
    subwords.ngram_buckets("hello", 3, 6, 0)


def test_ngram_table_matches_word_by_word():
  words = WORDS + ["</s>", "", "<", "\udcff\udc80x"]  # the last: bytes that are not UTF-8
  for minn, maxn in ((3, 6), (1, 2), (2, 2), (4, 3)):
    ids, counts = subwords.ngram_table(words, minn, maxn, 97)
    pad = len(words) + 97
    assert ids.dtype == np.int32 and ids.shape == (len(words), counts.max())
    for i, word in enumerate(words):
      grams = [] if word == "</s>" else subwords.ngram_buckets(word, minn, maxn, 97).tolist()
      assert ids[i, :counts[i]].tolist() == [i] + [len(words) + b for b in grams], word
      assert (ids[i, counts[i]:] == pad).all()
  ids, counts = subwords.ngram_table(words, 3, 0, 0)
  assert ids.shape == (len(words), 1) and (counts == 1).all()


def test_rows_by_use_ranks_rows_by_the_counts_of_the_words_that_hold_them():
  from w2vjax.methods.subword import rows_by_use
  words, counts, buckets = ["banana", "bandana", "x"], np.array([50, 7, 3]), 1000
  table = subwords.ngram_table(words, 3, 4, buckets)
  use = np.zeros(len(words) + buckets)
  for i, word in enumerate(words):  # a word's own row, then one row per n-gram it holds
    use[i] += counts[i]
    for bucket in subwords.ngram_buckets(word, 3, 4, buckets):
      use[len(words) + bucket] += counts[i]
  order = rows_by_use(table, counts, len(words) + buckets)
  assert sorted(order.tolist()) == np.flatnonzero(use).tolist()  # every held row, once
  assert (np.diff(use[order]) <= 0).all()  # most used first
  # "ana" is held twice by "banana" (counted twice) and once by "bandana": 2*50 + 7.
  assert use[len(words) + subwords.hash_fnv1a("ana") % buckets] >= 107


def _packing(words, counts, used, budget, minn=3, maxn=4, buckets=1000):
  from w2vjax.methods.subword import ngram_constants, packed_rows
  table = subwords.ngram_table(words, minn, maxn, buckets)
  constants = ngram_constants(table, np.arange(len(words) + buckets))
  packed = packed_rows(constants, jnp.asarray(counts), jnp.asarray(used), budget)
  return table, [np.asarray(x) for x in packed]


def test_packed_rows_hold_each_used_words_rows_in_turn():
  words = ["banana", "x", "internationalization", "cat"]
  slots_words, used = np.array([2, 0, 3, 1, 0, 2]), np.array([1, 1, 0, 1, 1, 1])
  (ids_table, counts), (ids, slots, weights, fits) = _packing(words, slots_words, used, 200)
  want = [(s, r) for s, w in enumerate(slots_words) if used[s]
          for r in ids_table[w, :counts[w]]]
  filled = weights > 0
  assert fits.all() and filled.sum() == len(want)
  assert list(zip(slots[filled].tolist(), ids[filled].tolist())) == want
  assert (np.diff(slots) >= 0).all()  # sorted, as mean_of_rows' segment sums assume


def test_packed_rows_leave_out_the_last_words_when_the_budget_is_short():
  words = ["banana", "x", "internationalization", "cat"]
  (_, counts), (ids, slots, weights, fits) = _packing(words, np.array([0, 3, 2, 1]),
                                                      np.ones(4), 25)
  need = counts[[0, 3, 2, 1]]
  assert need[0] + need[1] <= 25 < need[0] + need[1] + need[2]
  assert fits.tolist() == [True, True, False, False]  # a prefix: the later words wait
  assert weights.sum() == need[0] + need[1]


def test_distinct_words_list_each_used_word_once_and_where_each_slot_finds_it():
  from w2vjax.methods.subword import distinct_words
  rng = np.random.default_rng(3)
  words, used = rng.integers(0, 9, 40), rng.integers(0, 2, 40)
  distinct, present, sources = (np.asarray(x) for x in distinct_words(
      jnp.asarray(words, jnp.int32), jnp.asarray(used)))
  want = np.unique(words[used > 0])
  np.testing.assert_array_equal(distinct[:len(want)], want)
  assert present.tolist() == [1] * len(want) + [0] * (40 - len(want))
  np.testing.assert_array_equal(distinct[sources][used > 0], words[used > 0])
  assert np.all(sources[used == 0] >= len(want))  # unused slots point past the words


def test_rows_budget_is_ten_deviations_above_the_mean_rows_of_a_kept_token():
  from w2vjax.corpus import subsample_keep_prob
  from w2vjax.methods.subword import rows_budget
  held, word_counts = np.array([3, 9, 14, 30]), np.array([1000, 400, 50, 5])
  budget = rows_budget(held, word_counts, 1e-2)
  weights = word_counts * subsample_keep_prob(word_counts, 1e-2)
  mean = (weights * held).sum() / weights.sum()
  deviation = np.sqrt((weights * (held - mean) ** 2).sum() / weights.sum())
  assert budget(64) == int(np.ceil(64 * mean + 10 * deviation * 8))
  assert budget(1) == 30 < np.ceil(mean + 10 * deviation)  # never past the widest word


def test_word_vectors_equal_fasttexts(fasttext_model):
  ft = fasttext_model
  model = _model_from(ft)
  for word in WORDS + OOV:
    np.testing.assert_allclose(model.word_vector(word), ft.get_word_vector(word), rtol=0,
                               atol=1e-6, err_msg=word)
  emb = model.embeddings()
  assert emb.words == tuple(ft.get_words())
  np.testing.assert_allclose(emb.vectors, [ft.get_word_vector(w) for w in emb.words],
                             rtol=0, atol=1e-6)


def test_word_vector_means_own_row_and_ngram_rows():
  rng = np.random.default_rng(0)
  words = ("cat", "dog")
  model = SubwordModel(words, rng.normal(size=(2 + 50, 4)), 3, 4, 50)
  rows = 2 + subwords.ngram_buckets("cat", 3, 4, 50)
  np.testing.assert_allclose(model.word_vector("cat"),
                             model.input_table[[0, *rows]].mean(axis=0), rtol=1e-6)
  rows = 2 + subwords.ngram_buckets("cats", 3, 4, 50)  # outside: the n-grams alone
  np.testing.assert_allclose(model.word_vector("cats"), model.input_table[rows].mean(axis=0),
                             rtol=1e-6)
  bare = SubwordModel(words, rng.normal(size=(2, 4)), 3, 0, 0)  # maxn = 0: no n-grams
  np.testing.assert_array_equal(bare.word_vector("cow"), np.zeros(4, np.float32))
  assert bare.oov_vector("cow") is None and bare.oov_vector("cat") is not None
  np.testing.assert_allclose(bare.embeddings().vectors, bare.input_table)


def test_save_load_round_trip(tmp_path):
  rng = np.random.default_rng(0)
  words = ("the", "café", "日本語", "\udcffraw")  # the last: a byte that is not UTF-8
  model = SubwordModel(words, rng.normal(size=(4 + 30, 3)), 2, 5, 30)
  model.save(tmp_path / subwords.MODEL_FILENAME)
  for path in (tmp_path / subwords.MODEL_FILENAME, tmp_path):  # the file, or its workdir
    loaded = SubwordModel.load(path)
    assert loaded.words == words
    assert (loaded.minn, loaded.maxn, loaded.buckets) == (2, 5, 30)
    np.testing.assert_array_equal(loaded.input_table, model.input_table)
  assert [p.name for p in tmp_path.iterdir()] == [subwords.MODEL_FILENAME]  # no temp files


def test_load_rejects_what_is_not_a_model(tmp_path):
  (tmp_path / "text.txt").write_text("hello 0.1 0.2\n")
  np.savez(tmp_path / "other.npz", input_table=np.zeros((3, 2)))
  np.savez(tmp_path / "future.npz", format=np.array(subwords.FORMAT), version=np.array(99))
  cases = {tmp_path / "missing.npz": "not found", tmp_path / "text.txt": "not an .npz",
           tmp_path / "other.npz": "marker", tmp_path / "future.npz": "newer",
           tmp_path: "no model.npz"}
  for path, message in cases.items():
    with pytest.raises(InputError, match=message) as caught:
      SubwordModel.load(path)
    assert "\n" not in str(caught.value)


@pytest.mark.slow
def test_print_vectors_command_line(tmp_path):
  rng = np.random.default_rng(0)
  model = SubwordModel(("king", "queen", "café"), rng.normal(size=(3 + 40, 4)), 3, 6, 40)
  model.save(tmp_path / subwords.MODEL_FILENAME)
  command = [sys.executable, "-m", "w2vjax.print_vectors", f"--model={tmp_path}"]
  proc = subprocess.run(command, input="king  unseen\tcafé\n\nqueen\n".encode(),
                        capture_output=True, timeout=120)
  assert proc.returncode == 0, proc.stderr.decode()[-2000:]
  lines = proc.stdout.decode().splitlines()
  assert [line.split()[0] for line in lines] == ["king", "unseen", "café", "queen"]
  for line in lines:
    word, *values = line.split(" ")
    assert values[-1] == "" and len(values) == 5  # fastText ends each value with a space
    expected = [float(f"{x:.5g}") for x in model.word_vector(word)]
    assert [float(v) for v in values[:-1]] == expected
  bad = subprocess.run(command[:-1] + [f"--model={tmp_path / 'nope.npz'}"], input="king\n",
                       capture_output=True, text=True, timeout=120)
  assert bad.returncode != 0
  assert bad.stderr.strip().splitlines()[-1].startswith("error: subword model not found")
