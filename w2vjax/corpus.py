"""The corpus on the device and the window batch sampler.

Per epoch, ``make_epoch`` draws the subsampling on the device, compacts the kept tokens
(dropped words vanish, so windows reach past them, as in word2vec) and shuffles the order
in which centre words are visited (on the host: see make_epoch). ``batch_from_bits`` (pure,
jit-able) then cuts the next slice of that order into windows with word2vec's
dynamic window, and draws noise words.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class DeviceCorpus(NamedTuple):
  tokens: jax.Array  # int32 [N] word ids
  sentence: jax.Array  # int32 [N] sentence (line) index, windows never cross sentences; -1 pads
  keep_prob: jax.Array  # float32 [V] subsampling keep probability per word


class NoiseSampler(NamedTuple):
  """Walker's alias table: O(1) exact draws from any distribution over the vocabulary."""

  threshold: jax.Array  # float32 [V]
  alias: jax.Array  # int32 [V]
  log_probs: jax.Array  # float32 [V]: log q(w), for objectives that correct for the noise


class Epoch(NamedTuple):
  tokens: jax.Array  # int32 [N]: the kept tokens first, in corpus order
  sentence: jax.Array  # int32 [N]: their sentence index
  order: jax.Array  # int32 [N padded to a whole number of batches]: centre positions
  num_kept: jax.Array  # int32 []: how many tokens were kept


class Batch(NamedTuple):
  """Windows grouped by centre word: B centres, C = 2 * window context slots.

  The batch axis leads everywhere, so a batch splits across devices along axis 0. Which
  words are inputs and which are predicted is the method's business (w2vjax.methods).
  """

  targets: jax.Array  # int32 [B] centre words
  contexts: jax.Array  # int32 [B, C] context words
  negatives: jax.Array  # int32 [B, S, K] noise words: S sets of K per centre (the method's)
  mask: jax.Array  # float32 [B, C] 1 for a real pair, 0 for an empty slot


def subsample_keep_prob(counts: np.ndarray, sample: float) -> np.ndarray:
  """word2vec's probability of keeping each occurrence of a word.

  With z = count / total, p_keep = (sqrt(z / sample) + 1) * sample / z, clipped to 1
  (word2vec.c and gensim). ``sample <= 0`` keeps every word.
  """
  counts = np.asarray(counts, np.float64)
  if sample <= 0:
    return np.ones(len(counts), np.float32)
  z = counts / counts.sum()
  return np.minimum(1.0, (np.sqrt(z / sample) + 1.0) * sample / z).astype(np.float32)


def noise_distribution(counts: np.ndarray, exponent: float = 0.75) -> np.ndarray:
  """The unigram distribution raised to ``exponent`` and renormalised (float64)."""
  weights = np.asarray(counts, np.float64) ** exponent
  return weights / weights.sum()


def alias_table(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Vose's construction of Walker's alias table for ``probs`` (host side, float64)."""
  n = len(probs)
  scaled = np.asarray(probs, np.float64) * n
  threshold = np.ones(n)
  alias = np.arange(n)
  small = [i for i in range(n) if scaled[i] < 1.0]
  large = [i for i in range(n) if scaled[i] >= 1.0]
  while small and large:
    s, l = small.pop(), large.pop()
    threshold[s], alias[s] = scaled[s], l
    scaled[l] -= 1.0 - scaled[s]
    (small if scaled[l] < 1.0 else large).append(l)
  return threshold.astype(np.float32), alias.astype(np.int32)


def make_noise_sampler(counts: np.ndarray, exponent: float = 0.75) -> NoiseSampler:
  probs = noise_distribution(counts, exponent)
  threshold, alias = alias_table(probs)
  with np.errstate(divide="ignore"):  # a zero count is a word never drawn: log q = -inf
    log_probs = np.log(probs)
  return NoiseSampler(jnp.asarray(threshold), jnp.asarray(alias),
                      jnp.asarray(log_probs, jnp.float32))


def noise_from_bits(sampler: NoiseSampler, bits: jax.Array) -> jax.Array:
  """Word ids drawn with the sampler's distribution from random ``bits`` [..., 2] (uint32).

  The first word picks the alias bucket (modulo |V|: a bias below |V| / 2^32), the second
  flips the bucket's coin with 24 bits of resolution. Integer arithmetic on raw bits costs
  a fraction of jax.random.randint and uniform, which matters at a few pairs per step.
  """
  n = sampler.alias.shape[0]
  bucket = (bits[..., 0] % jnp.uint32(n)).astype(jnp.int32)
  coin = (bits[..., 1] >> 8).astype(jnp.float32) * (2.0 ** -24)
  return jnp.where(coin < sampler.threshold[bucket], bucket, sampler.alias[bucket])


def sample_noise(key: jax.Array, sampler: NoiseSampler, shape: tuple[int, ...]) -> jax.Array:
  """Draws word ids with the sampler's distribution."""
  return noise_from_bits(sampler, jax.random.bits(key, (*shape, 2)))


def make_device_corpus(ids: np.ndarray, sentence: np.ndarray, counts: np.ndarray,
                       sample: float) -> DeviceCorpus:
  return DeviceCorpus(jnp.asarray(ids, jnp.int32), jnp.asarray(sentence, jnp.int32),
                      jnp.asarray(subsample_keep_prob(counts, sample)))


def ceil_div(a: int, b: int) -> int:
  return -(-a // b)


def padded_length(num_tokens: int, batch_size: int) -> int:
  return ceil_div(num_tokens, batch_size) * batch_size


@jax.jit
def subsample(key: jax.Array, corpus: DeviceCorpus) -> tuple[jax.Array, jax.Array, jax.Array]:
  """(tokens, sentence, num_kept): the kept tokens first, in corpus order (on the device)."""
  n = corpus.tokens.shape[0]
  # Sentence -1 marks the padding of a streamed chunk (w2vjax.chunks): never kept.
  keep = ((jax.random.uniform(key, (n,)) < corpus.keep_prob[corpus.tokens])
          & (corpus.sentence >= 0))
  num_kept = jnp.sum(keep, dtype=jnp.int32)
  # Compaction by scatter (O(N)), not by sort: kept token i goes to slot cumsum - 1.
  dest = jnp.where(keep, jnp.cumsum(keep, dtype=jnp.int32) - 1, n)
  tokens = jnp.zeros(n, jnp.int32).at[dest].set(corpus.tokens, mode="drop")
  sentence = jnp.full(n, -1, jnp.int32).at[dest].set(corpus.sentence, mode="drop")
  return tokens, sentence, num_kept


# The order an epoch visits its centre words in: "shuffled", a random permutation;
# "corpus", word2vec.c's, gensim's and fastText's: each row of a batch reads its own
# stretch of the corpus in order, as each of their threads does; "blocks", the epoch's
# blocks of consecutive kept words in random order, each block read by one row of the
# batch over as many steps. Consecutive windows of a row share most of their words, so
# their rows are still in the cache, as in corpus order, while no row stays with one
# stretch of text (BUILD_NOTES: "Centres in shuffled blocks"); "runs", the epoch's runs of
# consecutive kept words in random order, each step taking whole runs, so the windows of
# a step's neighbouring centres overlap and subword skip-gram in word2vec.c's orientation
# reads each of their words' rows once (BUILD_NOTES: "Centres in runs of neighbours").
CENTRE_ORDERS = ("shuffled", "corpus", "blocks", "runs")
# The kept words a block or a run holds unless ``Order.length`` says otherwise.
DEFAULT_LENGTHS = {"blocks": 64, "runs": 4}


class Order(NamedTuple):
  """How an epoch visits its centre words: ``kind`` (one of ``CENTRE_ORDERS``) and, for
  "blocks" and "runs", the consecutive kept words a block or run holds (0: the kind's
  ``DEFAULT_LENGTHS``)."""

  kind: str = "shuffled"
  length: int = 0

  @property
  def span(self) -> int:
    """The kept words of a block or run (0 for orders that have neither)."""
    return self.length or DEFAULT_LENGTHS.get(self.kind, 0)


def order_of(config) -> Order:
  """A ``TrainConfig``'s visiting order (its ``centre_order`` and ``centre_run``)."""
  return Order(config.centre_order, config.centre_run)


def make_epoch(key: jax.Array, corpus: DeviceCorpus, batch_size: int,
               order: Order = Order()) -> Epoch:
  """Subsamples the corpus and orders its kept centre words for one epoch
  (``visiting_order``).

  The subsampling runs on the device; the shuffle is NumPy's permutation on the host,
  seeded from ``key``: a random permutation by sorting N random keys took 2.5 s per epoch
  of wikipedia-en-9m on the CPU backend, NumPy's 0.19 s.
  """
  k_keep, k_order = jax.random.split(key)
  tokens, sentence, num_kept = subsample(k_keep, corpus)
  n, kept = corpus.tokens.shape[0], int(num_kept)
  rng = np.random.default_rng(np.asarray(jax.random.key_data(k_order)))
  # Past num_kept the order is padding: those centres are masked out.
  positions = np.zeros(padded_length(n, batch_size), np.int32)
  positions[:kept] = visiting_order(kept, batch_size, order, rng)
  return Epoch(tokens, sentence, jax.device_put(positions, tokens.sharding), num_kept)


def visiting_order(kept: int, batch_size: int, order: Order, rng: np.random.Generator
                   ) -> np.ndarray:
  """The positions 0..kept-1 of the kept centres, in the order the steps take them,
  ``batch_size`` a step: shuffled; ("corpus") row i of step t at i * L + t for
  L = kept // batch_size, then the last kept % batch_size positions in order; or
  ("blocks") row i of step g * S + j at s + j, s the start of the (g * batch_size + i)-th
  block of S = ``order.span`` positions in a random order of the blocks, then the
  positions of the blocks too few to fill a group, and of the last kept % S, shuffled; or
  ("runs") the runs of R = ``order.span`` consecutive positions in a random order, then
  the last kept % R in order."""
  size = order.span
  if order.kind == "shuffled":
    return rng.permutation(kept)
  if order.kind == "runs":
    starts = rng.permutation(kept // size) * size
    runs = (starts[:, None] + np.arange(size)).reshape(-1)
    return np.concatenate([runs, np.arange(len(runs), kept)])
  if order.kind == "corpus":
    length = kept // batch_size
    streams = np.arange(batch_size * length).reshape(batch_size, length).T.reshape(-1)
    return np.concatenate([streams, np.arange(batch_size * length, kept)])
  starts = rng.permutation(kept // size) * size
  grouped = len(starts) // batch_size * batch_size
  reads = np.arange(size)[:, None]
  groups = (starts[:grouped].reshape(-1, 1, batch_size) + reads).reshape(-1)
  rest = np.concatenate([(starts[grouped:] + reads).reshape(-1),
                         np.arange(len(starts) * size, kept)])
  return np.concatenate([groups, rng.permutation(rest)])


def context_positions(centres: int, slots: int, order: Order) -> int:
  """The most distinct corpus positions that the ``slots`` context slots of ``centres``
  consecutive centres of a visiting order cover: all of them, but for "runs", whose
  centres come R = ``order.span`` neighbours at a time, each run's windows overlap: a
  run covers at most R + slots positions, and ``centres`` rows meet at most
  ceil(centres / R) + 1 runs (one more where they start inside a run)."""
  if order.kind != "runs":
    return centres * slots
  size = order.span
  runs = -(-centres // size) + (centres % size != 0)
  return min(centres * slots, runs * (size + slots))


def bits_per_centre(window: int, noise_shape: tuple[int, int] = (0, 0)) -> int:
  """Random 32-bit words a centre word consumes: one for its window, two per noise draw."""
  return 1 + 2 * noise_shape[0] * noise_shape[1]


def step_bits(key: jax.Array, step: jax.Array, batch_size: int, width: int) -> jax.Array:
  """The random words [batch_size, width] of global step ``step``: a function of the run's
  key and the step alone, so that neither the number of steps per jitted call nor the
  number of devices (each takes its rows of the global batch) changes a draw."""
  return jax.random.bits(jax.random.fold_in(key, step), (batch_size, width))


def sample_batch(key: jax.Array, epoch: Epoch, start: jax.Array, *, batch_size: int,
                 window: int, noise_shape: tuple[int, int] = (0, 0),
                 noise: NoiseSampler | None = None, weights: str = "linear") -> Batch:
  """Pairs for the centre words ``epoch.order[start : start + batch_size]``, drawn with
  ``key`` (see ``batch_from_bits``)."""
  bits = jax.random.bits(key, (batch_size, bits_per_centre(window, noise_shape)))
  return batch_from_bits(bits, epoch, start, window=window, noise_shape=noise_shape,
                         noise=noise, weights=weights)


# How often a context at distance d <= m trains: "linear" (m - d + 1) / m, word2vec's and
# fastText's dynamic window; "harmonic" 1 / d, the weighting GloVe gives its counts.
WINDOW_WEIGHTS = ("linear", "harmonic")


def window_thresholds(window: int, weights: str = "linear") -> np.ndarray:
  """T_2..T_m such that b = 1 + #{d : u >= T_d}, for u uniform on 0..65535, reaches distance
  d with probability P(b >= d) = 1 - T_d / 65536: (m - d + 1) / m or 1 / d (rounded up to a
  65536th, so "linear" is word2vec's b = 1 + floor(u m / 65536) exactly)."""
  d = np.arange(2, window + 1, dtype=np.int64)
  denominator = {"linear": np.full_like(d, window), "harmonic": d}[weights]
  return -(-65536 * (d - 1) // denominator)


def reduced_window(word: jax.Array, window: int, weights: str = "linear") -> jax.Array:
  """The dynamic window b in 1..``window`` from a random 32-bit ``word`` (its high 16
  bits): uniform for "linear" weights (word2vec), P(b >= d) = 1/d for "harmonic"."""
  high = (word >> 16).astype(jnp.int32)
  thresholds = jnp.asarray(window_thresholds(window, weights), jnp.int32)
  return 1 + jnp.sum(high[..., None] >= thresholds, axis=-1, dtype=jnp.int32)


def batch_from_bits(bits: jax.Array, epoch: Epoch, start: jax.Array, *, window: int,
                    noise_shape: tuple[int, int] = (0, 0),
                    noise: NoiseSampler | None = None, dynamic: bool = True,
                    weights: str = "linear") -> Batch:
  """Pairs for the centre words ``epoch.order[start : start + B]``, B = ``bits.shape[0]``.

  ``bits`` [B, >= bits_per_centre(...)] are the centres' random words (uint32). Each
  centre word draws its effective window b from 1..window (``reduced_window`` with
  ``weights``: word2vec's dynamic window, which weights near contexts more;
  ``dynamic=False``: b = window, for a step that drew one b for all its centres) and
  pairs with every kept word at distance <= b in the same sentence. Slots beyond b, the
  corpus or the sentence have mask 0. Each centre draws ``noise_shape`` = (S, K) noise
  words from ``noise`` (negatives [B, S, K]): S = 1 is one set shared by the window,
  S = 2 * window one set per pair.

  A centre's draws come from its own row of ``bits``, so rows i..j of a batch equal the
  batch of those rows: devices that each take their rows of a global batch's bits get
  exactly the pairs and noise words of a one-device run.
  """
  batch_size = bits.shape[0]
  n = epoch.tokens.shape[0]
  index = start + jnp.arange(batch_size)
  pos = jax.lax.dynamic_slice(epoch.order, (start,), (batch_size,))
  centre_ok = index < epoch.num_kept
  b = (reduced_window(bits[:, 0], window, weights) if dynamic
       else jnp.full(batch_size, window))
  draws = noise_shape[0] * noise_shape[1]
  if draws:
    negs = noise_from_bits(noise, bits[:, 1:1 + 2 * draws].reshape(batch_size, *noise_shape, 2))
  else:
    negs = jnp.zeros((batch_size, *noise_shape), jnp.int32)
  offsets = jnp.concatenate([jnp.arange(-window, 0), jnp.arange(1, window + 1)])
  ctx_pos = pos[:, None] + offsets[None, :]
  ctx_safe = jnp.clip(ctx_pos, 0, n - 1)
  mask = (centre_ok[:, None]
          & (jnp.abs(offsets)[None, :] <= b[:, None])
          & (ctx_pos >= 0) & (ctx_pos < epoch.num_kept)
          & (epoch.sentence[ctx_safe] == epoch.sentence[pos][:, None]))
  return Batch(epoch.tokens[pos], epoch.tokens[ctx_safe], negs, mask.astype(jnp.float32))
