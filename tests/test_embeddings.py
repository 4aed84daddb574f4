import numpy as np
import pytest

from w2vjax import Embeddings


@pytest.fixture
def emb():
  rng = np.random.default_rng(0)
  words = ("the", "king", "queen", "man", "woman", "café", "x'y")
  return Embeddings(words, rng.normal(size=(len(words), 6)).astype(np.float32))


@pytest.mark.parametrize("name,binary,header", [("v.txt", False, True), ("v.bin", True, True),
                                               ("glove.txt", False, False)])
def test_round_trip(tmp_path, emb, name, binary, header):
  emb.save(tmp_path / name, header=header)
  assert (tmp_path / name).read_bytes().startswith(b"7 6\n") == header
  loaded = Embeddings.load(tmp_path / name)
  assert loaded.words == emb.words
  np.testing.assert_allclose(loaded.vectors, emb.vectors, rtol=0 if binary else 1e-5)


@pytest.mark.parametrize("name,binary", [("v.txt", False), ("v.bin", True)])
def test_gensim_reads_our_files(tmp_path, emb, name, binary):
  keyed = pytest.importorskip("gensim.models").KeyedVectors
  emb.save(tmp_path / name)
  kv = keyed.load_word2vec_format(str(tmp_path / name), binary=binary)
  assert list(kv.index_to_key) == list(emb.words)  # frequency order preserved
  np.testing.assert_allclose(kv.vectors, emb.vectors, rtol=1e-5)


@pytest.mark.parametrize("binary", [False, True])
def test_we_read_gensim_files(tmp_path, emb, binary):
  keyed = pytest.importorskip("gensim.models").KeyedVectors
  kv = keyed(vector_size=emb.dim)
  kv.add_vectors(list(emb.words), emb.vectors)
  kv.save_word2vec_format(str(tmp_path / "g.out"), binary=binary)
  loaded = Embeddings.load(tmp_path / "g.out")
  assert loaded.words == emb.words
  np.testing.assert_allclose(loaded.vectors, emb.vectors, rtol=1e-5)


def test_headerless_glove_text(tmp_path):
  (tmp_path / "glove.txt").write_text("the 0.1 0.2 0.3\ncat -1 0 2.5\n")
  loaded = Embeddings.load(tmp_path / "glove.txt")
  assert loaded.words == ("the", "cat") and loaded.dim == 3
  np.testing.assert_allclose(loaded["cat"], [-1, 0, 2.5])


def test_malformed_text_is_reported_with_line(tmp_path):
  (tmp_path / "bad.txt").write_text("2 3\nthe 0.1 0.2 0.3\ncat 1 2\n")
  with pytest.raises(ValueError, match="bad.txt:3"):
    Embeddings.load(tmp_path / "bad.txt")


def test_save_is_atomic_on_failure(tmp_path, emb, monkeypatch):
  from w2vjax import embeddings
  path = tmp_path / "v.txt"
  emb.save(path)
  before = path.read_bytes()
  calls = []

  def failing_entry(word, row):
    calls.append(word)
    if len(calls) == 3:
      raise OSError("disk full")
    return b"partial line\n"

  monkeypatch.setattr(embeddings, "_text_entry", failing_entry)
  with pytest.raises(OSError, match="disk full"):
    emb.save(path)
  assert len(calls) == 3  # it failed mid-write, after writing two entries to the temp file
  assert path.read_bytes() == before
  assert [p.name for p in tmp_path.iterdir()] == ["v.txt"]  # no temporary left behind


@pytest.mark.parametrize("binary", [False, True])
def test_full_width_vectors_round_trip(tmp_path, binary):
  """300-d text lines are long: format detection must read a whole line, not a prefix."""
  rng = np.random.default_rng(5)
  wide = Embeddings(tuple(f"w{i}" for i in range(50)), rng.normal(size=(50, 300)))
  wide.save(tmp_path / "wide.out", binary=binary)
  loaded = Embeddings.load(tmp_path / "wide.out")
  assert loaded.words == wide.words
  np.testing.assert_allclose(loaded.vectors, wide.vectors, rtol=1e-5, atol=1e-6)


def test_a_binary_header_promising_more_than_the_file_holds_is_refused_before_reading(
    tmp_path, emb):
  emb.save(tmp_path / "v.bin", binary=True)
  body = (tmp_path / "v.bin").read_bytes().split(b"\n", 1)[1]
  (tmp_path / "big.bin").write_bytes(f"1000000000 {emb.dim}\n".encode() + body)
  with pytest.raises(ValueError, match="header promises 1000000000 vectors"):
    Embeddings.load(tmp_path / "big.bin")
  (tmp_path / "exact.bin").write_bytes(f"{len(emb)} {emb.dim}\n".encode() + body)
  assert Embeddings.load(tmp_path / "exact.bin").words == emb.words


def test_queries():
  words = ("a", "b", "c", "d", "e")
  vectors = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0.1], [0, 1, 1], [-1, 0, 0]], np.float32)
  emb = Embeddings(words, vectors)
  assert emb.most_similar("a", topn=2)[0][0] == "c"
  assert emb.most_similar("a", topn=4)[-1][0] == "e"
  np.testing.assert_allclose(emb.similarity("a", "e"), -1.0, rtol=1e-6)
  # man : king :: woman : ?  with king = man + royal, queen = woman + royal.
  man, woman, royal = np.eye(4)[0], np.eye(4)[1], np.eye(4)[2]
  e2 = Embeddings(("man", "woman", "king", "queen", "prince"),
                  np.stack([man, woman, man + royal, woman + royal, man + royal + 0.3 * np.eye(4)[3]]))
  assert e2.analogy("man", "king", "woman")[0][0] == "queen"
  with pytest.raises(KeyError, match="not in vocabulary: nope"):
    e2.analogy("man", "king", "nope")
