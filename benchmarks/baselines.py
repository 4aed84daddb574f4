"""The systems w2vjax is measured against: gensim's Word2Vec and fastText (benchmark-only
dependencies, imported inside their runners).

Each runner trains on the tokens w2vjax trains on (``w2vjax.text.tokenize``, one sentence per
line) and returns ``(timings, Embeddings)``: timings hold ``startup_s`` (reading, vocabulary,
initialisation), ``train_s`` (the epochs) and ``words_per_sec`` (corpus words x epochs /
train_s, as gensim counts). Learning rates are each system's own defaults: gensim's alpha
0.025 for skip-gram and CBOW alike (word2vec.c and w2vjax use 0.05 for CBOW), fastText's
0.05.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from w2vjax import text
from w2vjax.embeddings import Embeddings

# gensim ignores words past the 10,000th of a sentence: longer lines are cut into pieces.
GENSIM_MAX_SENTENCE = 10000
GENSIM = {  # name: (architecture, objective), in w2vjax's words
    "gensim": ("skipgram", "negative_sampling"),
    "gensim-cbow": ("cbow", "negative_sampling"),
    "gensim-hs": ("skipgram", "hierarchical_softmax"),
    "gensim-cbow-hs": ("cbow", "hierarchical_softmax"),
}
FASTTEXT = {"fasttext": False, "fasttext-subword": True}  # name: with subwords
SYSTEMS = (*GENSIM, *FASTTEXT)


@dataclasses.dataclass(frozen=True)
class Settings:
  """What every system takes from the training config, and the threads it may use."""

  dim: int
  window: int
  negatives: int
  min_count: int
  subsample: float
  epochs: int
  seed: int
  workers: int
  # fastText-subword's n-grams: fastText's defaults unless the config trains subwords.
  minn: int = 3
  maxn: int = 6
  buckets: int = 2_000_000

  @classmethod
  def from_config(cls, config: dict, seed: int, workers: int) -> Settings:
    subwords = {}
    if config.get("maxn", 0) > 0:  # the subword fields are absent from older configs
      subwords = {"minn": config.get("minn", 3), "maxn": config["maxn"],
                  "buckets": config.get("buckets", 2_000_000)}
    return cls(config["dim"], config["window"], config["negatives"], config["min_count"],
               config["subsample"], config["epochs"], seed, workers, **subwords)


def counterpart(config: dict) -> str | None:
  """The system here that trains the config's method, if one does."""
  method = (config.get("architecture", "skipgram"), config.get("objective", "negative_sampling"))
  if config.get("maxn", 0) > 0:
    return "fasttext-subword" if method == GENSIM["gensim"] else None
  return next((name for name, m in GENSIM.items() if m == method), None)


def run(name: str, corpus: Path, tokenized: Path, words: int, settings: Settings
        ) -> tuple[dict, Embeddings]:
  """Trains system ``name``: gensim reads ``corpus``, fastText the ``words`` tokens of the
  file ``tokenized`` (write_tokenized's)."""
  if name in GENSIM:
    return run_gensim(corpus, *GENSIM[name], settings)
  if name in FASTTEXT:
    return run_fasttext(tokenized, words, FASTTEXT[name], settings)
  raise ValueError(f"unknown system {name!r}; choose from {', '.join(SYSTEMS)}")


def _timings(startup: float, seconds: float, words: int, epochs: int) -> dict:
  return {"startup_s": startup, "train_s": seconds, "words_per_sec": words * epochs / seconds}


def gensim_sentences(corpus: Path) -> list[list[str]]:
  # The same pieces gensim's LineSentence reader would make (text8 is one line).
  return [tokens[i:i + GENSIM_MAX_SENTENCE]
          for tokens in map(text.tokenize, text.read_lines(corpus))
          for i in range(0, len(tokens), GENSIM_MAX_SENTENCE)]


def run_gensim(corpus: Path, architecture: str, objective: str, s: Settings
               ) -> tuple[dict, Embeddings]:
  """gensim's Word2Vec: skip-gram or CBOW (context mean), negative sampling or hierarchical
  softmax. Start-up counts tokenizing the corpus and building the vocabulary."""
  from gensim.models import Word2Vec  # benchmark-only dependency

  if architecture not in ("skipgram", "cbow") or objective not in (
      "negative_sampling", "hierarchical_softmax"):
    raise ValueError(f"gensim trains no {architecture} with {objective}")
  hs = objective == "hierarchical_softmax"
  t0 = time.perf_counter()
  sentences = gensim_sentences(corpus)
  words = sum(map(len, sentences))
  model = Word2Vec(vector_size=s.dim, window=s.window, sg=int(architecture == "skipgram"),
                   cbow_mean=1, hs=int(hs), negative=0 if hs else s.negatives,
                   min_count=s.min_count, sample=s.subsample, workers=s.workers, seed=s.seed)
  model.build_vocab(sentences)
  startup = time.perf_counter() - t0
  t1 = time.perf_counter()
  model.train(sentences, total_examples=len(sentences), epochs=s.epochs)
  seconds = time.perf_counter() - t1
  return (_timings(startup, seconds, words, s.epochs),
          Embeddings(model.wv.index_to_key, model.wv.vectors))


def write_tokenized(corpus: Path, out: Path) -> int:
  """Writes the corpus as fastText is to read it: one sentence per line, its tokens joined
  by spaces (lines without tokens left out, as w2vjax leaves them). Returns the word count."""
  words = 0
  with open(out, "w", encoding="utf-8") as f:
    for tokens in map(text.tokenize, text.read_lines(corpus)):
      if tokens:
        f.write(" ".join(tokens) + "\n")
        words += len(tokens)
  return words


def _train_fasttext(args: dict, seed: int):
  """``fasttext.train_unsupervised(**args)`` with a seed, which its keywords leave out.

  The steps are train_unsupervised's own (fasttext 0.9.2), with the C++ Args' seed set.
  fastText seeds thread i, and block i of the matrix initialisation, with seed + i in a
  std::minstd_rand, which takes 0 for 1: so our seed s becomes 1 + s * threads, which keeps
  the generators of different seeds apart.
  """
  from fasttext import FastText  # benchmark-only dependency

  values = {**args, "seed": 1 + seed * args["thread"]}
  parsed, manual = FastText.read_args((), values, list(values), FastText.unsupervised_default)
  built = FastText._build_args(parsed, manual)
  model = FastText._FastText(args=built)
  FastText.fasttext.train(model.f, built)
  model.set_args(model.f.getArgs())
  return model


def run_fasttext(tokenized: Path, words: int, subwords: bool, s: Settings
                 ) -> tuple[dict, Embeddings]:
  """fastText's skip-gram with negative sampling, with or without character n-grams.

  fastText reads the file and builds its vocabulary and matrices inside the one training
  call, so start-up is timed by an identical call with ``epoch=0``, which returns once the
  model is initialised (no thread then reads a word); the training time is the full call's
  less that. fastText's main thread polls for the end of training every 100 ms, so
  train_s may include up to 0.1 s of waiting.
  """
  args = {"input": str(tokenized), "model": "skipgram", "loss": "ns", "dim": s.dim,
          "ws": s.window, "neg": s.negatives, "minCount": s.min_count, "t": s.subsample,
          "epoch": s.epochs, "thread": s.workers, "verbose": 0}
  if subwords:
    args.update(minn=s.minn, maxn=s.maxn, bucket=s.buckets)
  else:  # no n-gram buckets to allocate either
    args.update(maxn=0, bucket=0)
  t0 = time.perf_counter()
  probe = _train_fasttext({**args, "epoch": 0}, s.seed)
  startup = time.perf_counter() - t0
  del probe  # freed before the real run, so peak memory counts one model
  t1 = time.perf_counter()
  model = _train_fasttext(args, s.seed)
  seconds = time.perf_counter() - t1 - startup
  # A subword model's word vector averages the word's row and its n-grams' rows, as the
  # vectors fastText itself writes out.
  vocabulary = model.get_words()
  vectors = np.stack([model.get_word_vector(w) for w in vocabulary])
  return _timings(startup, seconds, words, s.epochs), Embeddings(vocabulary, vectors)
