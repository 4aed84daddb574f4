"""fastText's subword n-grams (Bojanowski et al. 2017) and a model of word plus n-gram rows.

This reproduces the Dictionary of fastText 0.9 (src/dictionary.cc) exactly, so a model
trained here and one trained by fastText compose word vectors the same way:

* a word is wrapped as ``<word>``; its n-grams are the substrings of ``minn`` to ``maxn``
  UTF-8 characters (a continuation byte never starts one), listed by start character, then
  by length; a 1-character n-gram that is the ``<`` or the ``>`` is left out, and the whole
  ``<word>`` is an n-gram like any other when its length is within range;
* an n-gram's bucket is its 32-bit FNV-1a hash modulo ``buckets``, with fastText's quirk
  that each byte is sign-extended (``uint32_t(int8_t(byte))``) before the xor;
* ``maxn == 0`` means no subwords, and the end-of-sentence token ``</s>`` never has any.

Words are ``str``; bytes that are not UTF-8 travel as lone surrogates (Python's
``surrogateescape``) and hash as the original bytes.
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from pathlib import Path

import numpy as np
from scipy import sparse

from w2vjax import io_utils
from w2vjax.embeddings import Embeddings
from w2vjax.errors import InputError

MODEL_FILENAME = "model.npz"
FORMAT = "w2vjax-subword-model"
VERSION = 1
EOS = "</s>"  # fastText's end-of-sentence token: its own row only, no n-grams

FNV_OFFSET = 2166136261
FNV_PRIME = 16777619


def _utf8(word: str) -> bytes:
  return word.encode("utf-8", "surrogateescape")


def hash_fnv1a(word: str) -> int:
  """fastText's 32-bit FNV-1a of the UTF-8 bytes, bytes >= 128 sign-extended first."""
  h = FNV_OFFSET
  for byte in _utf8(word):
    h ^= (byte | 0xFFFFFF00) if byte >= 0x80 else byte  # uint32_t(int8_t(byte))
    h = (h * FNV_PRIME) & 0xFFFFFFFF
  return h


def _check_range(minn: int, maxn: int, buckets: int) -> None:
  if maxn < 0 or minn < 0:
    raise InputError(f"n-gram lengths must be >= 0, got minn={minn}, maxn={maxn}")
  if maxn > 0 and buckets <= 0:
    raise InputError(f"subwords (maxn > 0) need buckets > 0, got {buckets}")


def char_ngrams(word: str, minn: int, maxn: int) -> list[str]:
  """The n-grams of ``<word>`` in fastText's order: its computeSubwords, on UTF-8 bytes."""
  _check_range(minn, maxn, 1)
  data = _utf8("<" + word + ">")
  ngrams = []
  for i in range(len(data)):
    if data[i] & 0xC0 == 0x80:
      continue
    j, n = i, 1
    while j < len(data) and n <= maxn:
      j += 1
      while j < len(data) and data[j] & 0xC0 == 0x80:
        j += 1
      if n >= minn and not (n == 1 and (i == 0 or j == len(data))):
        ngrams.append(data[i:j].decode("utf-8", "surrogateescape"))
      n += 1
  return ngrams


def ngram_buckets(word: str, minn: int, maxn: int, buckets: int) -> np.ndarray:
  """``hash % buckets`` of each n-gram of ``word`` (fastText's ids are nwords + these)."""
  _check_range(minn, maxn, buckets)
  if maxn == 0:
    return np.zeros(0, np.int64)
  return np.array([hash_fnv1a(g) % buckets for g in char_ngrams(word, minn, maxn)], np.int64)


def _subword_buckets(word: str, minn: int, maxn: int, buckets: int) -> np.ndarray:
  """A word's buckets as fastText's getSubwords has them: none for ``</s>``."""
  if word == EOS:
    return np.zeros(0, np.int64)
  return ngram_buckets(word, minn, maxn, buckets)


def ngram_table(words, minn: int, maxn: int, buckets: int) -> tuple[np.ndarray, np.ndarray]:
  """Every word's rows of one input table: ``ids`` [V, W] int32 and ``counts`` [V] int32.

  Row i lists ``i`` (the word's own row), then ``V + bucket`` of each of its n-grams in
  fastText's order, then the pad id ``V + buckets`` (one past the last row of the
  ``V + buckets``-row table: gather with ``mode='clip'`` and mask by ``counts``, or mask
  first). ``counts[i]`` is the number of real entries, so at least 1.

  Vectorised over all n-grams of all words at once: FNV-1a folds bytes left to right, so
  the n-grams that start at one character are hashed together, one character per step.
  """
  _check_range(minn, maxn, buckets)
  words = list(words)
  vocab = len(words)
  if vocab + buckets >= 2**31:
    raise InputError(f"{vocab} words + {buckets} buckets do not fit int32 ids")
  word_of, bucket = _all_ngram_buckets(words, minn, maxn, buckets)
  per_word = np.bincount(word_of, minlength=vocab)
  counts = (1 + per_word).astype(np.int32)
  width = int(counts.max()) if vocab else 1
  ids = np.full((vocab, width), vocab + buckets, np.int32)
  ids[:, 0] = np.arange(vocab, dtype=np.int32)
  # word_of is sorted, so an n-gram's column is 1 + its rank within its word.
  starts = np.concatenate([[0], np.cumsum(per_word)[:-1]]) if vocab else per_word
  column = 1 + np.arange(len(word_of)) - starts[word_of]
  ids[word_of, column] = vocab + bucket
  return ids, counts


def _all_ngram_buckets(words: list[str], minn: int, maxn: int, buckets: int
                       ) -> tuple[np.ndarray, np.ndarray]:
  """(word index, bucket) of every n-gram of every word, by word, then fastText's order."""
  eos = [i for i, w in enumerate(words) if w == EOS]
  if maxn == 0 or not words or len(eos) == len(words):
    return np.zeros(0, np.int64), np.zeros(0, np.int64)
  data, char_start, char_len, word_of_char, pos, length = _characters(words)
  hashes = np.full(len(char_start), FNV_OFFSET, np.uint32)
  ends = pos + np.arange(maxn)[:, None] < length  # [n - 1, char]: n-gram exists
  keys, word_of, found = [], [], []
  for n in range(1, maxn + 1):
    live = np.flatnonzero(ends[n - 1])
    last = live + n - 1  # index of the n-th character, in the same word
    # Up to 4 bytes in UTF-8; more where stray continuation bytes trail a character.
    for b in range(int(char_len.max())):
      more = char_len[last] > b
      byte = data[char_start[last[more]] + b].astype(np.uint32)
      byte = np.where(byte >= 0x80, byte | np.uint32(0xFFFFFF00), byte)
      hashes[live[more]] = (hashes[live[more]] ^ byte) * np.uint32(FNV_PRIME)
    if n < minn:
      continue
    keep = live
    if n == 1:  # fastText leaves out the bare "<" and ">"
      keep = live[(pos[live] != 0) & (pos[live] != length[live] - 1)]
    keys.append(keep * (maxn + 1) + n)
    word_of.append(word_of_char[keep])
    found.append(hashes[keep] % np.uint32(buckets))
  if not keys:
    return np.zeros(0, np.int64), np.zeros(0, np.int64)
  order = np.argsort(np.concatenate(keys), kind="stable")
  word_of = np.concatenate(word_of)[order]
  bucket = np.concatenate(found)[order].astype(np.int64)
  keep = ~np.isin(word_of, eos)
  return word_of[keep], bucket[keep]


def _characters(words: list[str]):
  """The bytes of ``<w0><w1>...`` and, per character: its first byte, its byte length,
  its word, its position in ``<word>`` and the character length of that ``<word>``."""
  encoded = [_utf8("<" + w + ">") for w in words]
  data = np.frombuffer(b"".join(encoded), np.uint8)
  is_start = (data & 0xC0) != 0x80
  char_start = np.flatnonzero(is_start)
  char_len = np.diff(np.append(char_start, len(data)))
  # Each "<word>" begins with "<", a character start, so no character spans two words.
  byte_first = np.cumsum([0] + [len(e) for e in encoded[:-1]])
  chars_per_word = np.add.reduceat(is_start.astype(np.int64), byte_first)
  word_of_char = np.repeat(np.arange(len(words)), chars_per_word)
  char_first = np.cumsum(np.append(0, chars_per_word[:-1]))
  pos = np.arange(len(char_start)) - char_first[word_of_char]
  return data, char_start, char_len, word_of_char, pos, chars_per_word[word_of_char]


@dataclasses.dataclass
class SubwordModel:
  """fastText's input side: ``input_table`` holds the words' rows, then the buckets' rows.

  A word's vector is the mean of its rows (fastText's getWordVector): its own row and its
  n-grams' rows for a word in ``words``, only the n-grams' rows for any other word.
  """

  words: tuple[str, ...]  # frequency order
  input_table: np.ndarray  # float32 [V + buckets, d]
  minn: int
  maxn: int
  buckets: int

  def __post_init__(self):
    self.words = tuple(self.words)
    self.input_table = np.asarray(self.input_table, np.float32)
    self.minn, self.maxn, self.buckets = int(self.minn), int(self.maxn), int(self.buckets)
    _check_range(self.minn, self.maxn, self.buckets)
    rows = len(self.words) + self.buckets
    if self.input_table.ndim != 2 or self.input_table.shape[0] != rows:
      raise ValueError(f"{len(self.words)} words and {self.buckets} buckets need {rows} rows, "
                       f"got an input table of shape {self.input_table.shape}")
    self.index = {w: i for i, w in enumerate(self.words)}

  @property
  def dim(self) -> int:
    return self.input_table.shape[1]

  def rows(self, word: str) -> np.ndarray:
    """The rows of ``input_table`` whose mean is ``word``'s vector (fastText's getSubwords)."""
    own = [self.index[word]] if word in self.index else []
    ngrams = len(self.words) + _subword_buckets(word, self.minn, self.maxn, self.buckets)
    return np.concatenate([np.array(own, np.int64), ngrams])

  def word_vector(self, word: str) -> np.ndarray:
    """fastText's vector of any word: the mean of its rows, zeros if it has none."""
    rows = self.rows(word)
    if not len(rows):
      return np.zeros(self.dim, np.float32)
    # fastText adds the rows in order, then scales by the float 1/n.
    return self.input_table[rows].sum(axis=0) * np.float32(1.0 / len(rows))

  def oov_vector(self, word: str) -> np.ndarray | None:
    """``word_vector``, or None where it would be zeros for want of rows (an evaluation's
    ``oov_vector``: a word outside the vocabulary with no n-grams has no vector)."""
    rows = self.rows(word)
    return self.word_vector(word) if len(rows) else None

  def embeddings(self, table: tuple[np.ndarray, np.ndarray] | None = None) -> Embeddings:
    """The vocabulary's word vectors, composed as ``word_vector`` composes them, from
    ``ngram_table``'s (ids, counts) for the vocabulary (computed if not given)."""
    ids, counts = table or ngram_table(self.words, self.minn, self.maxn, self.buckets)
    # One sparse [V, V + buckets] product: a [V, W, d] gather would not fit for 70k words.
    mask = np.arange(ids.shape[1])[None, :] < counts[:, None]
    indptr = np.concatenate([[0], np.cumsum(counts)])
    sums = sparse.csr_matrix((np.ones(int(indptr[-1]), np.float32), ids[mask], indptr),
                             shape=(len(self.words), self.input_table.shape[0])) @ self.input_table
    scale = (1.0 / counts).astype(np.float32)
    return Embeddings(self.words, np.asarray(sums, np.float32) * scale[:, None])

  def save(self, path: str | os.PathLike) -> None:
    """One ``.npz`` file, written atomically; words as UTF-8 bytes with offsets."""
    encoded = [_utf8(w) for w in self.words]
    with io_utils.atomic_open(path, "wb") as f:
      np.savez(f, format=np.array(FORMAT), version=np.array(VERSION),
               words_utf8=np.frombuffer(b"".join(encoded), np.uint8),
               word_offsets=np.cumsum([0] + [len(e) for e in encoded], dtype=np.int64),
               input_table=self.input_table, minn=np.array(self.minn),
               maxn=np.array(self.maxn), buckets=np.array(self.buckets))

  @classmethod
  def load(cls, path: str | os.PathLike) -> SubwordModel:
    """Reads a file written by ``save``, or ``MODEL_FILENAME`` in a workdir."""
    path = Path(path)
    if path.is_dir():
      if not (path / MODEL_FILENAME).is_file():
        raise InputError(f"no {MODEL_FILENAME} in {path} (a run trained with subwords, "
                         "maxn > 0, writes one)")
      path = path / MODEL_FILENAME
    if not path.is_file():
      raise InputError(f"subword model not found: {path}")
    if not zipfile.is_zipfile(path):
      raise InputError(f"{path}: not a w2vjax subword model (not an .npz file)")
    try:
      with np.load(path, allow_pickle=False) as z:
        fields = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
      raise InputError(f"{path}: not a w2vjax subword model ({e})") from None
    return _from_fields(path, fields)


def _from_fields(path: Path, fields: dict) -> SubwordModel:
  marker = fields.get("format")
  if marker is None or marker.dtype.kind != "U" or marker.item() != FORMAT:
    raise InputError(f"{path}: not a w2vjax subword model (no {FORMAT!r} marker)")
  try:
    version = int(fields["version"])
    if version > VERSION:
      raise InputError(f"{path}: subword model format version {version} is newer than this "
                       f"w2vjax reads ({VERSION}); upgrade w2vjax")
    raw, offsets = fields["words_utf8"].tobytes(), fields["word_offsets"]
    words = tuple(raw[a:b].decode("utf-8", "surrogateescape")
                  for a, b in zip(offsets[:-1], offsets[1:]))
    return SubwordModel(words, fields["input_table"], int(fields["minn"]),
                        int(fields["maxn"]), int(fields["buckets"]))
  except InputError:
    raise
  except (KeyError, ValueError, TypeError) as e:
    raise InputError(f"{path}: a damaged w2vjax subword model ({type(e).__name__}: {e})"
                     ) from None
