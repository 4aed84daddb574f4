"""Embeddings: word vectors with queries, and word2vec text/binary (and GloVe) files."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from w2vjax import io_utils


@dataclasses.dataclass
class Embeddings:
  """``vectors[i]`` is the vector of ``words[i]``; words are in frequency order."""

  words: tuple[str, ...]
  vectors: np.ndarray  # float32 [V, d]

  def __post_init__(self):
    self.words = tuple(self.words)
    self.vectors = np.asarray(self.vectors, np.float32)
    if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.words):
      raise ValueError(f"{len(self.words)} words but vectors of shape {self.vectors.shape}")
    self.index = {w: i for i, w in enumerate(self.words)}
    self._unit = None

  def __len__(self) -> int:
    return len(self.words)

  def __contains__(self, word: str) -> bool:
    return word in self.index

  def __getitem__(self, word: str) -> np.ndarray:
    return self.vectors[self.index[word]]

  @property
  def dim(self) -> int:
    return self.vectors.shape[1]

  @property
  def unit(self) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero)."""
    if self._unit is None:
      norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
      self._unit = self.vectors / np.maximum(norms, 1e-12)
    return self._unit

  def folded_index(self, limit: int | None = None) -> dict[str, int]:
    """Lower-cased word -> id of its most frequent form, among the first ``limit`` words.

    Evaluation matches words through this, as gensim's evaluators do by default
    (``case_insensitive=True``), so "Paris" in a question finds "paris" or "Paris",
    whichever is more frequent.
    """
    index: dict[str, int] = {}
    for i, w in enumerate(self.words[:limit] if limit else self.words):
      index.setdefault(w.lower(), i)
    return index

  def _ids(self, words: list[str]) -> list[int]:
    missing = [w for w in words if w not in self.index]
    if missing:
      raise KeyError(f"not in vocabulary: {', '.join(missing)}")
    return [self.index[w] for w in words]

  def most_similar(self, word_or_vector, topn: int = 10, exclude=()) -> list[tuple[str, float]]:
    """The ``topn`` words of highest cosine similarity to a word or a vector."""
    if isinstance(word_or_vector, str):
      exclude = set(exclude) | {word_or_vector}
      query = self.unit[self._ids([word_or_vector])[0]]
    else:
      query = np.asarray(word_or_vector, np.float32)
      query = query / max(np.linalg.norm(query), 1e-12)
    scores = self.unit @ query
    skip = [self.index[w] for w in exclude if w in self.index]
    scores[skip] = -np.inf
    top = np.argsort(-scores)[:topn]
    return [(self.words[i], float(scores[i])) for i in top]

  def analogy(self, a: str, b: str, c: str, topn: int = 1) -> list[tuple[str, float]]:
    """a : b :: c : ?  by 3CosAdd (the word nearest b - a + c), excluding a, b and c."""
    ia, ib, ic = self._ids([a, b, c])
    query = self.unit[ib] - self.unit[ia] + self.unit[ic]
    return self.most_similar(query, topn, exclude=(a, b, c))

  def similarity(self, w1: str, w2: str) -> float:
    i, j = self._ids([w1, w2])
    return float(self.unit[i] @ self.unit[j])

  def save(self, path: str | os.PathLike, binary: bool | None = None,
           header: bool = True) -> None:
    """word2vec format (binary for a .bin path unless ``binary`` says), written atomically.

    ``header=False`` writes text without the "count dim" line: GloVe's format.
    """
    path = Path(path)
    binary = path.suffix == ".bin" if binary is None else binary
    if binary and not header:
      raise ValueError("the binary format always has a header")
    with io_utils.atomic_open(path, "wb") as f:
      if header:
        f.write(f"{len(self.words)} {self.dim}\n".encode())
      if binary:
        rows = self.vectors.astype("<f4")
        for word, row in zip(self.words, rows):
          f.write(word.encode("utf-8") + b" " + row.tobytes() + b"\n")
      else:
        for word, row in zip(self.words, self.vectors):
          f.write(_text_entry(word, row))

  def export(self, workdir: str | os.PathLike) -> None:
    """A run's vector files: vectors.txt and vectors.bin (word2vec text and binary)."""
    self.save(Path(workdir) / "vectors.txt", binary=False)
    self.save(Path(workdir) / "vectors.bin", binary=True)

  @classmethod
  def load(cls, path: str | os.PathLike) -> Embeddings:
    """Reads word2vec text, word2vec binary or headerless GloVe text, by inspection."""
    path = Path(path)
    if not path.is_file():
      raise FileNotFoundError(f"vectors file not found: {path}")
    with open(path, "rb") as f:
      first = f.readline()
      parts = first.split()
      has_header = len(parts) == 2 and all(p.isdigit() for p in parts)
      if not has_header:
        f.seek(0)
        return _read_text(f, path, None, None)
      count, dim = int(parts[0]), int(parts[1])
      start = f.tell()
      # A text entry is one whole line of a word and dim numbers; a binary entry's raw
      # float bytes almost never decode and split into exactly that.
      binary = not _is_text_entry(f.readline(), dim)
      f.seek(start)
      return (_read_binary if binary else _read_text)(f, path, count, dim)


def _text_entry(word: str, row: np.ndarray) -> bytes:
  # Six significant digits, as word2vec.c writes: a relative error of at most 5e-7.
  return (word + " " + " ".join(f"{x:.6g}" for x in row) + "\n").encode("utf-8")


def _is_text_entry(line: bytes, dim: int) -> bool:
  try:
    fields = line.decode("utf-8").split()
    [float(x) for x in fields[1:]]
  except (UnicodeDecodeError, ValueError):
    return False
  return len(fields) == dim + 1


def _read_binary(f, path: Path, count: int, dim: int) -> Embeddings:
  row_bytes = 4 * dim
  left = path.stat().st_size - f.tell()
  if left < count * (row_bytes + 2):  # each entry: a word, a space and its floats
    raise ValueError(f"{path}: its header promises {count} vectors of {dim} floats, "
                     f"more than its {left:,} bytes after the header can hold")
  words, vectors = [], np.empty((count, dim), np.float32)
  for i in range(count):
    word = bytearray()
    while True:
      ch = f.read(1)
      if not ch:
        raise ValueError(f"{path}: file ends inside entry {i + 1} of {count}")
      if ch == b" ":
        break
      if ch != b"\n":  # word2vec.c writes a newline after each vector; gensim may not
        word += ch
    raw = f.read(row_bytes)
    if len(raw) != row_bytes:
      raise ValueError(f"{path}: file ends inside the vector of entry {i + 1} of {count}")
    words.append(word.decode("utf-8", errors="replace"))
    vectors[i] = np.frombuffer(raw, "<f4")
  return Embeddings(tuple(words), vectors)


def _read_text(f, path: Path, count: int | None, dim: int | None) -> Embeddings:
  words, rows = [], []
  for lineno, raw in enumerate(f, 2 if count is not None else 1):
    parts = raw.decode("utf-8", errors="replace").rstrip("\n").split(" ")
    parts = [p for p in parts if p]
    if not parts:
      continue
    if dim is None:
      dim = len(parts) - 1
    if len(parts) != dim + 1:
      raise ValueError(f"{path}:{lineno}: expected a word and {dim} numbers, "
                       f"got {len(parts) - 1} fields")
    try:
      rows.append(np.array(parts[1:], np.float32))
    except ValueError:
      raise ValueError(f"{path}:{lineno}: a vector holds something that is not a number") from None
    words.append(parts[0])
  if count is not None and len(words) != count:
    raise ValueError(f"{path}: header says {count} words, file has {len(words)}")
  if not words:
    raise ValueError(f"{path}: no vectors in file")
  return Embeddings(tuple(words), np.stack(rows))
