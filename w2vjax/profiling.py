"""Timing a training step on a synthetic corpus: how its cost grows with |V|, K, d, B.

The corpus is drawn from a Zipf law over the vocabulary, so every size is measured on the
same kind of data and no corpus file is needed.
"""

from __future__ import annotations

import time

import jax
import numpy as np

from w2vjax import corpus as corpus_lib
from w2vjax import methods, optim, parallel, step, training
from w2vjax.config import TrainConfig
from w2vjax.data import SOURCES
from w2vjax.text import Vocab


def zipf_corpus(vocab_size: int, num_tokens: int, seed: int = 0,
                sentence_length: int = 1000) -> tuple[np.ndarray, np.ndarray, Vocab]:
  """(token ids, sentence ids, vocabulary) of a corpus whose word frequencies follow 1/rank."""
  rng = np.random.default_rng(seed)
  weights = 1.0 / np.arange(1, vocab_size + 1)
  tokens = rng.choice(vocab_size, num_tokens, p=weights / weights.sum()).astype(np.int32)
  # Every word counts at least once, as in a vocabulary built from a larger corpus.
  counts = np.bincount(tokens, minlength=vocab_size).astype(np.int64) + 1
  vocab = Vocab(tuple(f"w{i}" for i in range(vocab_size)), counts)
  return tokens, np.arange(num_tokens, dtype=np.int32) // sentence_length, vocab


def time_train_step(config: TrainConfig, vocab_size: int, num_steps: int = 20,
                    num_tokens: int = 200_000, seed: int = 0) -> dict:
  """Mean seconds per ``config`` train step with ``vocab_size`` words on a Zipf corpus of
  ``num_tokens`` tokens, after compilation (see ``time_steps``)."""
  tokens, sentence, vocab = zipf_corpus(vocab_size, num_tokens, seed)
  device_corpus = corpus_lib.make_device_corpus(tokens, sentence, vocab.counts,
                                                config.subsample)
  return time_steps(config, device_corpus, vocab, num_steps, seed)


def time_steps(config: TrainConfig, device_corpus, vocab: Vocab, num_steps: int,
               seed: int = 0) -> dict:
  """Mean seconds per ``config`` train step on ``device_corpus`` (``TrainingData.corpus``
  of the method's kind of data), after compilation.

  Steps run in calls as long as training makes them (``step.steps_per_call``), so at
  least one call's worth is timed. Returns seconds_per_step, pairs_per_step and
  compile_seconds (the first call).
  """
  training.validate(config)
  method = methods.build(config, vocab)
  opt = optim.make_optimizer(config.optimizer, training.learning_rate(config, method),
                             10 * num_steps, config.lr_schedule, config.final_lr_ratio)
  topology = parallel.make_topology(1, config.parallel)
  state = parallel.replicate(step.init_state(config, method, opt), topology)
  train_step = step.make_train_step(config, method, opt, topology)
  epoch = SOURCES[method.data].make_epoch(jax.random.key(seed), device_corpus,
                                          config.batch_size, corpus_lib.order_of(config))
  batches = max(1, int(epoch.num_kept) // config.batch_size)
  epoch = step.place_epoch(epoch, topology)
  t0 = time.perf_counter()
  state, totals = train_step(state, step.zero_totals(topology), epoch, 0, 1)
  jax.block_until_ready(totals)
  compile_seconds = time.perf_counter() - t0
  call = min(step.steps_per_call(config, method), batches)
  calls = corpus_lib.ceil_div(num_steps, call)
  totals = step.zero_totals(topology)
  t0 = time.perf_counter()
  for i in range(calls):
    start = (i * call) % max(1, batches - call + 1)  # new centres while the epoch lasts
    state, totals = train_step(state, totals, epoch, start * config.batch_size, call)
  jax.block_until_ready((state, totals))
  seconds = (time.perf_counter() - t0) / (calls * call)
  return {"seconds_per_step": seconds, "pairs_per_step": float(totals["pairs"]) / (calls * call),
          "compile_seconds": compile_seconds}
