"""The encoded-corpus cache: a text file tokenized in parallel into memory-mapped arrays.

``load_encoded(path)`` returns the same EncodedText as ``text.encode_file(path)`` (same
vocabulary, same ids, same line lengths), but its ``ids`` and ``line_lengths`` are .npy
files opened with ``mmap_mode="r"``: a training run reads the chunks it needs and the
operating system pages the rest in and out, so host memory does not grow with the corpus.

Encoding runs in two passes over blocks of whole lines. Pass 1: worker processes each
tokenize a block against a local vocabulary (ids in order of first appearance) and write
the block's local ids and line lengths to a part file; the parent merges the blocks'
counts. Pass 2: the parent orders the merged counts into the global Vocab (count
descending, then word: ``Vocab.build``) and remaps each part's local ids into one .npy
file. Either pass holds a few blocks at a time, never the corpus.
"""

from __future__ import annotations

import collections
import concurrent.futures
import gzip
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from w2vjax import text
from w2vjax.errors import InputError

BLOCK_BYTES = 8 << 20  # text per block: a few tens of MB of a worker's memory
ENTRY_FILES = ("vocab.npz", "ids.npy", "line_lengths.npy")


def read_blocks(path: str | os.PathLike, block_bytes: int = BLOCK_BYTES) -> Iterator[bytes]:
  """The raw bytes of a .txt or .txt.gz file in blocks of about ``block_bytes`` that end
  at a newline, so no line (and no UTF-8 character) is split between two blocks."""
  path = Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"corpus file not found: {path}")
  opener = gzip.open if path.suffix == ".gz" else open
  with opener(path, "rb") as f, text.gzip_errors(path):
    while block := f.read(block_bytes):
      yield block + (f.readline() if not block.endswith(b"\n") else b"")


def block_lines(block: bytes) -> list[str]:
  """The lines of a block as ``text.read_lines`` yields them (universal newlines, UTF-8
  with replacement), without their line ends."""
  decoded = block.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
  lines = decoded.split("\n")
  if lines[-1] == "":  # the block's last line end, not an empty line after it
    lines.pop()
  return lines


def tokenize_block(block: bytes, part: str) -> tuple[list[str], np.ndarray, int, int, int, int]:
  """Tokenizes one block into the part file ``part`` (local ids, line lengths, words).

  Returns (local words in order of first appearance, their counts, tokens, lines,
  characters, undecodable characters). Runs in a worker process: a module-level function
  of picklable arguments, so the spawn start method can call it.
  """
  tokens, lengths, chars, undecodable = [], [], 0, 0
  for line in block_lines(block):
    chars += len(line) + 1
    undecodable += line.count("\ufffd")
    found = text.tokenize(line)
    if found:
      tokens += found
      lengths.append(len(found))
  local = {w: i for i, w in enumerate(dict.fromkeys(tokens))}
  ids = np.fromiter(map(local.__getitem__, tokens), np.int32, len(tokens))
  counts = np.bincount(ids, minlength=len(local)).astype(np.int64)
  words = list(local)
  np.savez(part, ids=ids, line_lengths=np.array(lengths, np.int64),
           words=text.pack_words(words))
  return words, counts, len(tokens), len(lengths), chars, undecodable


def resolve_workers(workers: int, path: Path) -> int:
  """``workers``, or (0) one for a file of a few blocks (starting a process costs more
  than it saves there) and otherwise one per available core, at most 4."""
  if workers:
    return workers
  if path.stat().st_size < 4 * BLOCK_BYTES:
    return 1
  cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
  return max(1, min(4, cores or 1))


def _tokenized_blocks(path: Path, folder: Path, workers: int, block_bytes: int) -> Iterator:
  """``tokenize_block``'s results per block, in file order, from ``workers`` processes.

  At most two blocks per worker are in flight, so the reader never runs ahead of the
  workers by more than that (an unbounded map would read the whole file into memory).
  """
  blocks = enumerate(read_blocks(path, block_bytes))
  if workers == 1:
    yield from (tokenize_block(b, str(folder / f"part{i}.npz")) for i, b in blocks)
    return
  context = multiprocessing.get_context("spawn")  # fork is unsafe once JAX has threads
  with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
    pending = collections.deque()
    for i, block in blocks:
      pending.append(pool.submit(tokenize_block, block, str(folder / f"part{i}.npz")))
      if len(pending) >= 2 * workers:
        yield pending.popleft().result()
    while pending:
      yield pending.popleft().result()


def _merge_counts(path: Path, folder: Path, workers: int, block_bytes: int
                  ) -> tuple[text.Vocab, np.ndarray]:
  """Pass 1: (the global vocabulary, [tokens, lines, parts]), checking that the file is
  text."""
  counts: dict[str, int] = {}
  totals = np.zeros(5, np.int64)  # tokens, lines, parts, characters, undecodable ones
  for words, block_counts, *sizes in _tokenized_blocks(path, folder, workers, block_bytes):
    for w, k in zip(words, block_counts.tolist()):
      counts[w] = counts.get(w, 0) + k
    totals += [sizes[0], sizes[1], 1, sizes[2], sizes[3]]
  chars, undecodable = totals[3:]
  if chars and undecodable > text.MAX_UNDECODABLE * chars:
    raise InputError(f"{path} does not look like UTF-8 text: {100 * undecodable / chars:.0f}% "
                     "of it does not decode (a binary or compressed file?)")
  return text.Vocab.build(counts, min_count=1), totals[:3]


def _npy_writer(path: Path, dtype, length: int):
  """An open .npy file of ``length`` items of ``dtype`` whose data the caller appends.

  Written through a file, not a writable memory map: pages written through a map count in
  the process's resident memory, so the corpus would."""
  f = open(path, "wb")
  np.lib.format.write_array_header_1_0(f, {"descr": np.lib.format.dtype_to_descr(
      np.dtype(dtype)), "fortran_order": False, "shape": (length,)})
  return f


def _write_global_ids(folder: Path, vocab: text.Vocab, num_tokens: int, num_lines: int,
                      parts: int) -> None:
  """Pass 2: each part's local ids remapped to global ids, appended to ids.npy, and its
  line lengths to line_lengths.npy; the part files are deleted as they are consumed."""
  index = vocab.index
  with (_npy_writer(folder / "ids.npy", np.int32, num_tokens) as ids,
        _npy_writer(folder / "line_lengths.npy", np.int64, num_lines) as lengths):
    for i in range(parts):
      part = folder / f"part{i}.npz"
      with np.load(part) as z:
        words = text.unpack_words(z["words"]) if len(z["ids"]) else ()
        rank = np.fromiter(map(index.__getitem__, words), np.int32, len(words))
        ids.write(rank[z["ids"]].astype(np.int32).tobytes())
        lengths.write(z["line_lengths"].astype(np.int64).tobytes())
      part.unlink()
  np.savez(folder / "vocab.npz", counts=vocab.counts, words=text.pack_words(vocab.words))


def _load_array(path: Path) -> np.ndarray:
  try:
    return np.load(path, mmap_mode="r")
  except ValueError:  # an empty array: there is nothing to map (mmap refuses length 0)
    return np.load(path)


def open_entry(folder: Path) -> text.EncodedText:
  """The EncodedText of a cache entry, its ids and line lengths memory-mapped."""
  with np.load(folder / "vocab.npz") as z:
    words = text.unpack_words(z["words"]) if len(z["counts"]) else ()
    vocab = text.Vocab(words, z["counts"])
  return text.EncodedText(vocab, _load_array(folder / "ids.npy"),
                          _load_array(folder / "line_lengths.npy"))


def encode_to(path: str | os.PathLike, entry: str | os.PathLike, workers: int = 1,
              block_bytes: int = BLOCK_BYTES) -> text.EncodedText:
  """Encodes ``path`` into the cache entry folder ``entry`` (written under a temporary
  name and renamed: a killed run leaves no half-written entry) and opens it."""
  path, entry = Path(path), Path(entry)
  entry.parent.mkdir(parents=True, exist_ok=True)
  folder = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", suffix=".tmp", dir=entry.parent))
  try:
    vocab, (num_tokens, num_lines, parts) = _merge_counts(path, folder, workers, block_bytes)
    _write_global_ids(folder, vocab, int(num_tokens), int(num_lines), int(parts))
    try:
      os.rename(folder, entry)
    except OSError:  # another run wrote the same entry first: its files are the same
      if not entry.is_dir():
        raise
  finally:
    shutil.rmtree(folder, ignore_errors=True)
  return open_entry(entry)


def entry_path(path: Path, cache_dir: str | os.PathLike | None = None) -> Path:
  """The cache entry of ``path``, keyed by its path, size and mtime (text.cache_key)."""
  return Path(cache_dir or text.default_cache_dir()) / f"{path.name}.{text.cache_key(path)}"


def load_encoded(path: str | os.PathLike, cache_dir: str | os.PathLike | None = None,
                 workers: int = 0) -> text.EncodedText:
  """``text.encode_file(path)`` through the cache, encoding with ``workers`` processes
  (0: ``resolve_workers``) on a miss.

  The cache lives in ``cache_dir`` (default ``$W2VJAX_CACHE`` or ~/.cache/w2vjax), not
  next to the corpus, because corpora often sit on read-only or shared storage.
  """
  path = Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"corpus file not found: {path}")
  entry = entry_path(path, cache_dir)
  if all((entry / name).is_file() for name in ENTRY_FILES):
    return open_entry(entry)
  return encode_to(path, entry, resolve_workers(workers, path))
