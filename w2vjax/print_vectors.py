"""Prints the vectors of words read on stdin, as fastText's print-word-vectors does.

  echo "king queen unseenword" | python -m w2vjax.print_vectors --model=WORKDIR_OR_FILE

Words are separated by ASCII whitespace, any number to a line; each gets one line
``word v1 ... vd``, a word outside the vocabulary included (the mean of its n-grams' rows,
zeros if it has none). Values are printed as fastText prints them (C++ ``setprecision(5)``,
which is ``%.5g``), each followed by a space, so the output matches fastText's byte for
byte given the same input table. The model is a model.npz of w2vjax.subwords or a workdir
holding one.
"""

from __future__ import annotations

import os
import sys
from typing import BinaryIO, Iterable

from absl import app, flags

from w2vjax.errors import one_line_errors
from w2vjax.subwords import SubwordModel


def format_vector(word: str, vector) -> bytes:
  """fastText's line: ``word v1 v2 ... vd `` (a space after every value) and a newline."""
  values = "".join(f"{float(x):.5g} " for x in vector)
  return (word + " " + values + "\n").encode("utf-8", "surrogateescape")


def print_vectors(model: SubwordModel, lines: Iterable[bytes], out: BinaryIO) -> int:
  """Writes a line per word of ``lines``; flushes after each input line. Returns the count."""
  count = 0
  for line in lines:
    # bytes.split() splits on ASCII whitespace only, as fastText's `cin >> word` does, and
    # surrogateescape keeps bytes that are not UTF-8 (they hash as the bytes they were).
    for raw in line.split():
      word = raw.decode("utf-8", "surrogateescape")
      out.write(format_vector(word, model.word_vector(word)))
      count += 1
    out.flush()
  return count


def main(argv) -> None:
  if len(argv) > 1:
    sys.exit(f"error: unexpected arguments {' '.join(argv[1:])} (words are read on stdin)")
  model = SubwordModel.load(flags.FLAGS.model)
  try:
    print_vectors(model, sys.stdin.buffer, sys.stdout.buffer)
  except BrokenPipeError:
    # The reader left (``| head``): stop quietly. Output still buffered would fail again
    # at exit, so stdout now points at /dev/null (the recipe of Python's signal docs).
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(1)


if __name__ == "__main__":
  flags.DEFINE_string("model", None, "subword model: model.npz or a workdir holding one",
                      required=True)
  app.run(one_line_errors(main))
