"""Tokenizer, vocabulary and corpus encoding (host side, NumPy only).

The pipeline reads a text file once, line by line, and produces:
  * a frequency-ordered vocabulary of every word type (count descending, then word), and
  * the corpus as int32 ids into that vocabulary, plus the length of every line.

Because the vocabulary is sorted by count, applying ``min_count`` or ``max_size`` keeps a
prefix of it: a word's id never changes, and filtering the corpus is ``ids < len(vocab)``.
So one cached encoding serves every vocabulary setting. ``encode_file`` is the
one-process reference; ``w2vjax.encode`` produces the same encoding in parallel, into a
memory-mapped cache.
"""

from __future__ import annotations

import array
import contextlib
import dataclasses
import functools
import gzip
import hashlib
import io
import os
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np

from w2vjax import io_utils
from w2vjax.errors import InputError

# Lower-case words of ASCII letters and digits, with inner apostrophes ("don't", "o'neill").
# The same rule as the reference gensim figures in ../shared/data/README.md, so numbers
# are comparable; accented letters split a word, as they do there.
TOKEN_PATTERN = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")
# Bumped whenever tokenization changes, so stale caches are never reused.
TOKENIZER_VERSION = 1
# Text with a larger share of undecodable characters is refused as not text at all.
MAX_UNDECODABLE = 0.05


def tokenize(line: str) -> list[str]:
  """Splits one line of text (text8 or raw Wikipedia) into lower-case word tokens."""
  return TOKEN_PATTERN.findall(line.lower())


@contextlib.contextmanager
def gzip_errors(path: str | os.PathLike):
  """Reports a .gz corpus that cannot be decompressed as one InputError naming it."""
  try:
    yield
  except gzip.BadGzipFile as e:
    raise InputError(f"{path} is not a gzip file, or a damaged one ({e})") from None
  except EOFError:
    raise InputError(f"{path} is a truncated gzip file") from None
  except zlib.error as e:
    raise InputError(f"{path} is a damaged gzip file ({e})") from None


def read_lines(path: str | os.PathLike) -> Iterator[str]:
  """Streams the lines of a .txt or .txt.gz file, decoding UTF-8 with replacement."""
  path = Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"corpus file not found: {path}")
  opener = gzip.open if path.suffix == ".gz" else open
  with opener(path, "rb") as raw:
    with io.TextIOWrapper(raw, encoding="utf-8", errors="replace") as text:
      with gzip_errors(path):
        yield from text


@dataclasses.dataclass(frozen=True)
class Vocab:
  """Words ordered by count (descending), ties broken by the word itself.

  ``words[i]`` has id ``i`` and ``counts[i]`` occurrences in the corpus it was built from.
  """

  words: tuple[str, ...]
  counts: np.ndarray  # int64 [len(words)]

  def __post_init__(self):
    if len(self.words) != len(self.counts):
      raise ValueError("Vocab needs one count per word")

  @classmethod
  def build(
      cls,
      counts: Mapping[str, int],
      min_count: int = 5,
      max_size: int | None = None,
  ) -> Vocab:
    """Keeps words seen at least ``min_count`` times, the ``max_size`` most frequent."""
    kept = sorted(
        ((w, c) for w, c in counts.items() if c >= min_count),
        key=lambda wc: (-wc[1], wc[0]),
    )
    if max_size:
      kept = kept[:max_size]
    return cls(tuple(w for w, _ in kept), np.array([c for _, c in kept], np.int64))

  @classmethod
  def from_tokens(cls, tokens: Iterable[str], min_count: int = 5,
                  max_size: int | None = None) -> Vocab:
    counts: dict[str, int] = {}
    for t in tokens:
      counts[t] = counts.get(t, 0) + 1
    return cls.build(counts, min_count, max_size)

  def truncate(self, min_count: int = 5, max_size: int | None = None) -> Vocab:
    """The prefix that ``build`` with these settings would keep (ordering is preserved)."""
    size = int(np.searchsorted(-self.counts, -min_count, side="right"))
    if max_size:
      size = min(size, max_size)
    return Vocab(self.words[:size], self.counts[:size])

  def __len__(self) -> int:
    return len(self.words)

  def __contains__(self, word: str) -> bool:
    return word in self.index

  @functools.cached_property
  def index(self) -> dict[str, int]:
    return {w: i for i, w in enumerate(self.words)}

  def encode(self, tokens: Iterable[str]) -> np.ndarray:
    """Ids of the in-vocabulary tokens, in order (out-of-vocabulary tokens are dropped)."""
    index = self.index
    return np.array([index[t] for t in tokens if t in index], np.int32)

  def save(self, path: str | os.PathLike) -> None:
    """Writes ``word count`` lines (word2vec's vocabulary format), atomically."""
    with io_utils.atomic_open(path, "w") as f:
      for w, c in zip(self.words, self.counts):
        f.write(f"{w} {c}\n")

  @classmethod
  def load(cls, path: str | os.PathLike) -> Vocab:
    words, counts = [], []
    with open(path, encoding="utf-8") as f:
      for lineno, line in enumerate(f, 1):
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
          raise ValueError(f"{path}:{lineno}: expected 'word count', got {line!r}")
        words.append(parts[0])
        counts.append(int(parts[1]))
    return cls(tuple(words), np.array(counts, np.int64))


@dataclasses.dataclass(frozen=True)
class EncodedText:
  """A whole text file as ids into ``vocab`` (every word type, min_count 1)."""

  vocab: Vocab
  ids: np.ndarray  # int32 [num_tokens]
  line_lengths: np.ndarray  # int64 [num_lines], tokens per non-empty line

  @property
  def num_tokens(self) -> int:
    return len(self.ids)

  def restrict(self, vocab: Vocab) -> tuple[np.ndarray, np.ndarray]:
    """Ids and sentence index of each token kept by a prefix ``vocab`` of ``self.vocab``.

    Dropped words vanish from their sentence, as in word2vec, so windows reach past them.
    """
    if self.vocab.words[: len(vocab)] != vocab.words:
      raise ValueError("vocabulary is not a prefix of the corpus vocabulary")
    sentence = np.repeat(np.arange(len(self.line_lengths), dtype=np.int32), self.line_lengths)
    keep = self.ids < len(vocab)
    return self.ids[keep], sentence[keep]


def encode_file(path: str | os.PathLike) -> EncodedText:
  """Tokenizes a file in one streaming pass and encodes it against its full vocabulary."""
  provisional: dict[str, int] = {}
  counts: list[int] = []
  ids = array.array("i")
  line_lengths = array.array("q")
  chars = undecodable = 0
  for line in read_lines(path):
    chars += len(line)
    undecodable += line.count("\ufffd")
    tokens = tokenize(line)
    if not tokens:
      continue
    for t in tokens:
      i = provisional.get(t)
      if i is None:
        i = provisional[t] = len(counts)
        counts.append(0)
      counts[i] += 1
      ids.append(i)
    line_lengths.append(len(tokens))
  if chars and undecodable > MAX_UNDECODABLE * chars:
    raise InputError(f"{path} does not look like UTF-8 text: {100 * undecodable / chars:.0f}% "
                     "of it does not decode (a binary or compressed file?)")
  vocab = Vocab.build(dict(zip(provisional, counts)), min_count=1)
  rank = np.array([vocab.index[w] for w in provisional], np.int32)  # provisional -> final
  return EncodedText(vocab, rank[np.frombuffer(ids, np.int32)],
                     np.frombuffer(line_lengths, np.int64).copy())


def pack_words(words) -> np.ndarray:
  """Words as one uint8 array (UTF-8, newline-separated): how .npz files here store them."""
  return np.frombuffer("\n".join(words).encode("utf-8"), np.uint8)


def unpack_words(packed: np.ndarray) -> tuple[str, ...]:
  return tuple(bytes(packed).decode("utf-8").split("\n"))


def default_cache_dir() -> Path:
  return Path(os.environ.get("W2VJAX_CACHE", Path.home() / ".cache" / "w2vjax"))


def cache_key(path: Path) -> str:
  stat = path.stat()
  ident = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{TOKENIZER_VERSION}"
  return hashlib.sha256(ident.encode()).hexdigest()[:16]
