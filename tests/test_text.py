import gzip
from collections import Counter

import numpy as np
import pytest

from w2vjax import encode, text
from w2vjax.text import Vocab


def test_tokenize_text8_line():
  assert text.tokenize("anarchism originated as a term of abuse first used") == [
      "anarchism", "originated", "as", "a", "term", "of", "abuse", "first", "used"]


def test_tokenize_raw_wikipedia():
  line = ('Jarred Shaw (born September 28, 1990) is an American player; he didn\'t sign '
          'for "Trouville" in O\'Neill\'s 2019–20 season.')
  assert text.tokenize(line) == [
      "jarred", "shaw", "born", "september", "28", "1990", "is", "an", "american", "player",
      "he", "didn't", "sign", "for", "trouville", "in", "o'neill's", "2019", "20", "season"]


def test_tokenize_apostrophes_only_inside_words():
  assert text.tokenize("'quoted' rock'n'roll dogs' x'") == ["quoted", "rock'n'roll", "dogs", "x"]


@pytest.mark.parametrize("name", ["c.txt", "c.txt.gz"])
def test_read_lines_plain_and_gzip(tmp_path, name):
  path = tmp_path / name
  data = "first line\nsecond café\n"
  if name.endswith(".gz"):
    with gzip.open(path, "wt", encoding="utf-8") as f:
      f.write(data)
  else:
    path.write_text(data, encoding="utf-8")
  assert list(text.read_lines(path)) == ["first line\n", "second café\n"]


def _damaged_gzip(path, damage: str):
  words = " ".join(f"w{i % 997}" for i in range(200_000)).encode()
  data = bytearray(gzip.compress(words))
  if damage == "deflate":  # the first block's header overwritten: zlib fails
    data[10:74] = b"\xff" * 64
  elif damage == "crc":  # the trailer's checksum: every byte decompresses, then it fails
    data[-8] ^= 0xFF
  else:  # cut short
    data = data[:len(data) // 2]
  path.write_bytes(bytes(data))
  return path


@pytest.mark.parametrize("damage, message", [("deflate", "damaged gzip file"),
                                             ("crc", "not a gzip file, or a damaged one"),
                                             ("cut", "truncated gzip file")])
def test_a_damaged_gzip_corpus_is_one_input_error(tmp_path, damage, message):
  path = _damaged_gzip(tmp_path / "c.txt.gz", damage)
  with pytest.raises(text.InputError, match=f"^{path} .*{message}"):
    list(text.read_lines(path))
  with pytest.raises(text.InputError, match=f"^{path} .*{message}"):
    list(encode.read_blocks(path, block_bytes=4096))


def test_read_lines_missing_file(tmp_path):
  with pytest.raises(FileNotFoundError, match="corpus file not found"):
    list(text.read_lines(tmp_path / "nope.txt"))


def test_vocab_order_min_count_and_max_size():
  counts = {"b": 5, "a": 5, "c": 9, "d": 1, "e": 4}
  v = Vocab.build(counts, min_count=2)
  assert v.words == ("c", "a", "b", "e")  # count descending, ties by word
  assert v.counts.tolist() == [9, 5, 5, 4]
  assert Vocab.build(counts, min_count=2, max_size=2).words == ("c", "a")
  assert Vocab.build(counts, min_count=5).words == ("c", "a", "b")


def test_truncate_equals_build():
  rng = np.random.default_rng(0)
  counts = {f"w{i}": int(c) for i, c in enumerate(rng.zipf(1.5, 500))}
  full = Vocab.build(counts, min_count=1)
  for min_count, max_size in [(1, None), (2, None), (5, None), (3, 40), (1, 7)]:
    got, want = full.truncate(min_count, max_size), Vocab.build(counts, min_count, max_size)
    assert got.words == want.words
    assert got.counts.tolist() == want.counts.tolist()


def test_vocab_save_load_round_trip(tmp_path):
  v = Vocab.build({"x": 3, "y'all": 7, "z": 3}, min_count=1)
  v.save(tmp_path / "vocab.txt")
  loaded = Vocab.load(tmp_path / "vocab.txt")
  assert loaded.words == v.words and loaded.counts.tolist() == v.counts.tolist()
  assert loaded.index["y'all"] == 0


def test_vocab_load_rejects_malformed(tmp_path):
  (tmp_path / "bad.txt").write_text("word 3\nbroken\n")
  with pytest.raises(ValueError, match="bad.txt:2"):
    Vocab.load(tmp_path / "bad.txt")


def test_encode_file_matches_naive_encoding(tmp_path):
  lines = ["The cat sat on the mat.", "", "A dog; the DOG! cat's toy", "the end"]
  (tmp_path / "c.txt").write_text("\n".join(lines) + "\n")
  enc = text.encode_file(tmp_path / "c.txt")
  tokens = [t for line in lines for t in text.tokenize(line)]
  expected = Vocab.build(Counter(tokens), min_count=1)
  assert enc.vocab.words == expected.words
  assert [enc.vocab.words[i] for i in enc.ids] == tokens
  assert enc.line_lengths.tolist() == [6, 6, 2]  # the empty line holds no sentence


def test_restrict_drops_rare_words_and_keeps_sentences(tmp_path):
  (tmp_path / "c.txt").write_text("a a b rare\nb a other\n")
  enc = text.encode_file(tmp_path / "c.txt")
  vocab = enc.vocab.truncate(min_count=2)
  ids, sentence = enc.restrict(vocab)
  assert [vocab.words[i] for i in ids] == ["a", "a", "b", "b", "a"]
  assert sentence.tolist() == [0, 0, 0, 1, 1]


def test_load_encoded_caches(tmp_path, monkeypatch):
  (tmp_path / "c.txt").write_text("one two two three three three\n")
  first = encode.load_encoded(tmp_path / "c.txt")

  def fail(*_):
    raise AssertionError("re-tokenized although a cached encoding exists")

  monkeypatch.setattr(encode, "encode_to", fail)
  second = encode.load_encoded(tmp_path / "c.txt")
  assert second.vocab.words == first.vocab.words == ("three", "two", "one")
  np.testing.assert_array_equal(second.ids, first.ids)
  np.testing.assert_array_equal(second.line_lengths, first.line_lengths)


def test_cache_invalidated_when_file_changes(tmp_path):
  path = tmp_path / "c.txt"
  path.write_text("one two two\n")
  assert encode.load_encoded(path).num_tokens == 3
  path.write_text("one two two three four\n")
  assert encode.load_encoded(path).num_tokens == 5


def test_vocab_from_tokens_and_encode():
  v = Vocab.from_tokens(["b", "a", "b", "c", "b", "a"], min_count=2)
  assert v.words == ("b", "a") and v.counts.tolist() == [3, 2]
  assert "a" in v and "c" not in v
  np.testing.assert_array_equal(v.encode(["a", "c", "b", "a"]), [1, 0, 1])
