"""Streaming a corpus in chunks: where an epoch's chunks are cut, and each chunk's tokens.

A corpus held as memory-mapped arrays (w2vjax.encode) is cut into chunks of about
``chunk_tokens`` tokens at line ends, so windows lose nothing at a cut; only a line longer
than a chunk is cut inside (its windows across that cut are lost, as at a process-share
boundary). Each epoch visits the chunks in an order drawn from its key; each chunk is
subsampled and its centre order shuffled on its own (corpus.make_epoch), so every kept
centre word is visited once per epoch, in an order shuffled across and within chunks.
With one chunk, the draws are exactly those of the whole corpus held in memory.

Everything here reads a block of lines or one chunk at a time, never the corpus.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np

BLOCK_LINES = 1 << 20  # line lengths read at a time when cutting
# Folded into an epoch's key to draw its chunk order (chunk keys fold in the chunk index).
ORDER_STREAM = 2**31 - 1


class Cuts(NamedTuple):
  """Chunk c holds tokens ``tokens[c] : tokens[c + 1]``; ``lines[c]`` is the line holding
  token ``tokens[c]`` (the number of lines at the end) and ``line_starts[c]`` its first
  token."""

  tokens: np.ndarray  # int64 [C + 1]
  lines: np.ndarray  # int64 [C + 1]
  line_starts: np.ndarray  # int64 [C + 1]

  @property
  def count(self) -> int:
    return len(self.tokens) - 1

  def sizes(self) -> np.ndarray:
    return np.diff(self.tokens)


def read(array: np.ndarray, start: int, stop: int) -> np.ndarray:
  """``array[start:stop]`` as an array of its own; from a memory-mapped array by reading
  its file, because pages touched through a map count in the process's resident memory
  until the kernel reclaims them: a pass over the corpus would grow it with the corpus."""
  stop = min(stop, len(array))
  if not isinstance(array, np.memmap) or array.filename is None or stop <= start:
    return np.array(array[start:stop])
  return np.fromfile(array.filename, array.dtype, stop - start,
                     offset=array.offset + start * array.dtype.itemsize)


def cut(line_lengths: np.ndarray, chunk_tokens: int, block_lines: int = BLOCK_LINES) -> Cuts:
  """Chunks of at most ``chunk_tokens`` tokens (0: one chunk), each ending at the last
  line end that fits, or inside a line longer than a chunk."""
  # offset: the tokens before the block; at the end, all of them.
  tokens, lines, starts, offset = [0], [0], [0], 0
  for first in range(0, len(line_lengths), block_lines):
    # ends[k]: the token offset after k lines of the block.
    ends = offset + np.concatenate(
        [[0], np.cumsum(read(line_lengths, first, first + block_lines), dtype=np.int64)])
    while chunk_tokens > 0 and tokens[-1] + chunk_tokens < ends[-1]:
      limit = tokens[-1] + chunk_tokens
      k = int(np.searchsorted(ends, limit, side="right")) - 1
      # The last line end within the limit, unless the chunk would then be empty.
      tokens.append(int(ends[k]) if ends[k] > tokens[-1] else limit)
      lines.append(first + k)
      starts.append(int(ends[k]))
    offset = int(ends[-1])
  tokens.append(offset)
  lines.append(len(line_lengths))
  starts.append(offset)
  return Cuts(np.array(tokens, np.int64), np.array(lines, np.int64),
              np.array(starts, np.int64))


def host_chunk(ids: np.ndarray, line_lengths: np.ndarray, cuts: Cuts, chunk: int,
               vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
  """Chunk ``chunk``'s in-vocabulary ids and their sentence index within the chunk,
  read from the (memory-mapped) corpus; as ``EncodedText.restrict`` for one chunk."""
  start, end = int(cuts.tokens[chunk]), int(cuts.tokens[chunk + 1])
  first, last = int(cuts.lines[chunk]), int(cuts.lines[chunk + 1])
  lengths = read(line_lengths, first, last + 1)  # the last line may be cut inside
  sentence = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)
  offset = start - int(cuts.line_starts[chunk])
  sentence = sentence[offset:offset + end - start]
  chunk_ids = read(ids, start, end)
  keep = chunk_ids < vocab_size
  return chunk_ids[keep], sentence[keep]


def chunk_order(epoch_key: jax.Array, count: int) -> np.ndarray:
  """The order in which an epoch visits the chunks: a permutation drawn from its key."""
  if count == 1:
    return np.zeros(1, np.int64)
  key = jax.random.fold_in(epoch_key, ORDER_STREAM)
  return np.random.default_rng(np.asarray(jax.random.key_data(key))).permutation(count)


def chunk_key(epoch_key: jax.Array, chunk: int, count: int) -> jax.Array:
  """The key of one chunk's subsampling and centre order: the epoch's key itself for a
  single chunk, so an unchunked run draws what it always drew."""
  return epoch_key if count == 1 else jax.random.fold_in(epoch_key, chunk)


def pad(values: np.ndarray, size: int, fill: int) -> np.ndarray:
  """``values`` padded with ``fill`` to ``size``: every chunk has one shape, so the train
  step compiles once."""
  out = np.full(size, fill, values.dtype)
  out[:len(values)] = values
  return out
