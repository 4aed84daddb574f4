import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from w2vjax import corpus as C


def test_keep_prob_formula():
  counts = np.array([100_000, 10_000, 1_000, 10], np.int64)
  sample = 1e-3
  z = counts / counts.sum()
  expected = np.minimum(1, (np.sqrt(z / sample) + 1) * sample / z)
  np.testing.assert_allclose(C.subsample_keep_prob(counts, sample), expected, rtol=1e-6)
  assert C.subsample_keep_prob(counts, 1e-3)[-1] == 1.0  # rare words always kept
  # A word with frequency z = 4 * sample: (sqrt(4) + 1) / 4 = 0.75; z = 9 * sample: 4/9.
  counts = np.array([4, 9, 987], np.int64)  # total 1000, so z = count / 1000
  np.testing.assert_allclose(C.subsample_keep_prob(counts, 1e-3)[:2], [0.75, 4 / 9], rtol=1e-6)
  np.testing.assert_array_equal(C.subsample_keep_prob(counts, 0), 1.0)


def test_alias_sampler_matches_unigram_power():
  rng = np.random.default_rng(0)
  counts = rng.zipf(1.3, 300).astype(np.int64)
  sampler = C.make_noise_sampler(counts, exponent=0.75)
  n = 400_000
  draws = np.asarray(C.sample_noise(jax.random.key(1), sampler, (n,)))
  freq = np.bincount(draws, minlength=len(counts)) / n
  target = counts ** 0.75 / np.sum(counts ** 0.75)
  # Total variation of the empirical distribution; its expected size with n draws over
  # 300 outcomes is about 0.01, so 0.02 fails for any real bias.
  assert 0.5 * np.abs(freq - target).sum() < 0.02
  # And a chi-square goodness-of-fit on the words with enough expected draws.
  big = target * n >= 20
  observed = np.append(freq[big] * n, freq[~big].sum() * n)
  expected = np.append(target[big] * n, target[~big].sum() * n)
  assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_noise_exponent_is_configurable():
  counts = np.array([1000, 10], np.int64)
  draws = np.asarray(C.sample_noise(jax.random.key(0), C.make_noise_sampler(counts, 1.0),
                                    (200_000,)))
  assert abs(np.mean(draws == 1) - 10 / 1010) < 0.002


def _epoch(tokens, sentence, keep_prob, batch_size, seed=0, order=C.Order()):
  corpus = C.DeviceCorpus(jnp.asarray(tokens, jnp.int32), jnp.asarray(sentence, jnp.int32),
                          jnp.asarray(keep_prob, jnp.float32))
  return C.make_epoch(jax.random.key(seed), corpus, batch_size, order)


def test_subsampling_rate_matches_keep_prob():
  tokens = np.repeat([0, 1, 2], [60_000, 30_000, 10_000])
  keep = np.array([0.2, 0.5, 1.0])
  epoch = _epoch(tokens, np.zeros_like(tokens), keep, 64)
  kept = np.asarray(epoch.tokens[: int(epoch.num_kept)])
  rates = np.bincount(kept, minlength=3) / np.array([60_000, 30_000, 10_000])
  # Binomial standard error is at most 0.003 here; 0.015 is five of them.
  np.testing.assert_allclose(rates, keep, atol=0.015)
  # Kept tokens stay in corpus order (so windows are over the subsampled corpus).
  assert np.all(np.diff(kept) >= 0)


def test_epoch_visits_every_kept_token_once():
  tokens = np.arange(1000) % 7
  epoch = _epoch(tokens, np.zeros_like(tokens), np.full(7, 0.6), 64)
  n = int(epoch.num_kept)
  order = np.asarray(epoch.order)
  assert len(order) % 64 == 0 and len(order) >= 1000
  assert sorted(order[:n].tolist()) == list(range(n))
  assert order[:n].tolist() != list(range(n))  # shuffled


def test_corpus_order_gives_each_batch_row_its_own_stretch():
  # word2vec.c's threads: row i of consecutive steps reads consecutive kept words.
  tokens = np.arange(1000) % 7
  epoch = _epoch(tokens, np.zeros_like(tokens), np.full(7, 0.6), 64, order=C.Order("corpus"))
  n = int(epoch.num_kept)
  order = np.asarray(epoch.order)
  assert sorted(order[:n].tolist()) == list(range(n))  # every kept word once
  length = n // 64
  by_row = order[:64 * length].reshape(length, 64).T
  np.testing.assert_array_equal(by_row, np.arange(64 * length).reshape(64, length))
  np.testing.assert_array_equal(order[64 * length:n], np.arange(64 * length, n))


def test_blocks_order_gives_each_batch_row_shuffled_runs_of_consecutive_words():
  # Row i of steps g*S .. g*S + S-1 reads one block of S consecutive kept words; the
  # blocks come in a random order; every kept word is visited once.
  tokens = np.arange(40_000) % 11
  epoch = _epoch(tokens, np.zeros_like(tokens), np.full(11, 0.8), 16, order=C.Order("blocks"))
  n, size = int(epoch.num_kept), C.DEFAULT_LENGTHS["blocks"]
  order = np.asarray(epoch.order)
  assert sorted(order[:n].tolist()) == list(range(n))
  groups = (n // size) // 16
  runs = order[:groups * size * 16].reshape(groups, size, 16).transpose(0, 2, 1)
  runs = runs.reshape(-1, size)  # one block per row of each group, in its steps' order
  np.testing.assert_array_equal(runs - runs[:, :1], np.broadcast_to(np.arange(size), runs.shape))
  assert np.all(runs[:, 0] % size == 0)
  starts = runs[:, 0] // size
  # A random order of the blocks: its rank correlation with the corpus order is about
  # N(0, 1/sqrt(blocks)) (blocks = 500 here, so a standard error of 0.045).
  assert abs(stats.spearmanr(starts, np.arange(len(starts))).statistic) < 0.25
  other = _epoch(tokens, np.zeros_like(tokens), np.full(11, 0.8), 16, seed=1,
                 order=C.Order("blocks"))
  assert not np.array_equal(np.asarray(other.order), order)


@pytest.mark.parametrize("length", [0, 3])
def test_runs_order_visits_shuffled_runs_of_neighbouring_words_in_each_step(length):
  # Each run's entries of the order are neighbouring kept words (4 of them by default);
  # the runs come in a random order; every kept word is visited once.
  tokens = np.arange(40_000) % 11
  epoch = _epoch(tokens, np.zeros_like(tokens), np.full(11, 0.8), 16,
                 order=C.Order("runs", length))
  n, size = int(epoch.num_kept), length or 4
  order = np.asarray(epoch.order)
  assert sorted(order[:n].tolist()) == list(range(n))
  runs = order[:n // size * size].reshape(-1, size)
  np.testing.assert_array_equal(runs - runs[:, :1], np.broadcast_to(np.arange(size), runs.shape))
  assert np.all(runs[:, 0] % size == 0)
  # A random order of the runs: rank correlation about N(0, 1/sqrt(runs)), runs > 4,000.
  assert abs(stats.spearmanr(runs[:, 0], np.arange(len(runs))).statistic) < 0.1


@pytest.mark.parametrize("centres,length", [(6, 0), (8, 0), (12, 0), (32, 0), (8, 3), (9, 3)])
def test_context_positions_bound_the_positions_a_share_of_a_batch_reads(centres, length):
  # A device takes `centres` consecutive rows of the global batch (two devices here): the
  # distinct corpus positions its context slots read never exceed context_positions, and
  # a share of whole runs that lie apart reads them all.
  window, devices = 5, 2
  tokens = np.arange(20_000) % 13
  runs = C.Order("runs", length)
  epoch = _epoch(tokens, np.zeros_like(tokens), np.full(13, 0.9), centres * devices,
                 order=runs)
  order = np.asarray(epoch.order)
  bound = C.context_positions(centres, 2 * window, runs)
  offsets = np.concatenate([np.arange(-window, 0), np.arange(1, window + 1)])
  most = max(len(np.unique(order[start:start + centres, None] + offsets))
             for start in range(0, int(epoch.num_kept) - centres, centres))
  assert most <= bound < centres * 2 * window
  assert centres % runs.span or most == bound
  # Shuffled centres share no positions to speak of: every slot counts.
  assert C.context_positions(centres, 2 * window, C.Order()) == centres * 2 * window


def _batch(window=5, batch_size=512, num_tokens=5000, sentence_len=None, seed=0,
           weights="linear"):
  tokens = np.arange(num_tokens) % 97
  sentence = (np.arange(num_tokens) // sentence_len) if sentence_len else np.zeros(num_tokens)
  epoch = _epoch(tokens, sentence, np.ones(97), batch_size)
  noise = C.make_noise_sampler(np.ones(97, np.int64))
  batch = C.sample_batch(jax.random.key(seed), epoch, 0, batch_size=batch_size, window=window,
                         noise_shape=(2 * window, 3), noise=noise, weights=weights)
  return epoch, jax.device_get(batch)


def test_batch_shapes_and_pairs_within_window():
  window, batch_size = 5, 512
  epoch, batch = _batch(window, batch_size)
  assert batch.targets.shape == (batch_size,)
  assert batch.contexts.shape == batch.mask.shape == (batch_size, 2 * window)
  assert batch.negatives.shape == (batch_size, 2 * window, 3)
  # tokens are position % 97, so a pair's distance is recoverable from the ids.
  t, c = batch.targets[:, None], batch.contexts
  mask = batch.mask.astype(bool)
  dist = np.abs(((c - t + 48) % 97) - 48)
  assert np.all(dist[mask] >= 1) and np.all(dist[mask] <= window)


def _draw_probabilities(window, weights):
  """P(b = d), d = 1..window, of the reduced window under ``weights``."""
  d = np.arange(1, window + 2)
  at_least = {"linear": (window - d + 1) / window, "harmonic": 1 / d}[weights]
  at_least[-1] = 0
  return at_least[:-1] - at_least[1:]


def test_reduced_window_is_word2vecs_or_harmonic():
  # Every value of the 16 bits the draw reads: "linear" must be word2vec.c's formula
  # exactly, and "harmonic" reach distance d with probability 1/d to a 65536th.
  high = np.arange(65536, dtype=np.uint32)
  for window in range(1, 11):
    linear = np.asarray(C.reduced_window(jnp.asarray(high << 16), window))
    np.testing.assert_array_equal(linear, 1 + ((high.astype(np.int64) * window) >> 16))
    harmonic = np.asarray(C.reduced_window(jnp.asarray(high << 16), window, "harmonic"))
    reach = np.array([(harmonic >= d).mean() for d in range(1, window + 1)])
    np.testing.assert_allclose(reach, 1 / np.arange(1, window + 1), atol=1 / 65536)


@pytest.mark.parametrize("weights", ["linear", "harmonic"])
def test_dynamic_window_draws_each_reach_with_its_weight(weights):
  window, batch_size = 5, 4096
  epoch, batch = _batch(window, batch_size, num_tokens=100_000, weights=weights)
  mask = batch.mask.astype(bool)
  pos = np.asarray(epoch.order[:batch_size])
  interior = (pos >= window) & (pos < 100_000 - window)
  b = mask[interior].sum(axis=1) // 2  # an interior centre has 2b pairs
  assert set(np.unique(b)) <= set(range(1, window + 1))
  counts = np.bincount(b, minlength=window + 1)[1:]
  expected = _draw_probabilities(window, weights) * counts.sum()
  assert stats.chisquare(counts, expected).pvalue > 1e-3
  # Both sides of the centre get the same b.
  left, right = mask[interior, :window].sum(1), mask[interior, window:].sum(1)
  np.testing.assert_array_equal(left, right)


def test_windows_never_cross_sentences():
  epoch, batch = _batch(window=5, batch_size=512, num_tokens=5000, sentence_len=7)
  sentence = np.arange(5000) // 7
  pos = np.asarray(epoch.order[:512])
  ctx = (pos[:, None] + np.concatenate([np.arange(-5, 0), np.arange(1, 6)])[None])
  mask = batch.mask.astype(bool)
  assert np.all(sentence[ctx[mask]] == np.repeat(sentence[pos], mask.sum(1)))
  assert mask.sum() > 0


def test_last_batch_is_masked_past_the_epoch():
  tokens = np.arange(100) % 5
  epoch = _epoch(tokens, np.zeros(100), np.ones(5), 64)
  noise = C.make_noise_sampler(np.ones(5, np.int64))
  batch = C.sample_batch(jax.random.key(0), epoch, 64, batch_size=64, window=2,
                         noise_shape=(4, 1), noise=noise)
  mask = np.asarray(batch.mask)
  assert mask[:36].sum() > 0 and mask[36:].sum() == 0


def test_sample_batch_is_a_pure_function_of_the_key():
  _, a = _batch(seed=3)
  _, b = _batch(seed=3)
  _, c = _batch(seed=4)
  for x, y in zip(a, b):
    np.testing.assert_array_equal(x, y)
  assert not np.array_equal(a.negatives, c.negatives)


@pytest.mark.parametrize("shared", [False, True])
def test_rows_of_a_batch_are_the_batch_of_those_rows(shared):
  # What data parallelism relies on: a device that takes rows 16..31 of the global batch's
  # random words and centres 16..31 gets exactly those rows of the one-device batch.
  tokens = np.arange(2000) % 31
  epoch = _epoch(tokens, np.arange(2000) // 50, np.full(31, 0.8), 64)
  noise = C.make_noise_sampler(np.arange(1, 32, dtype=np.int64))
  noise_shape = (1 if shared else 6, 2)
  bits = jax.random.bits(jax.random.key(9), (64, C.bits_per_centre(3, noise_shape)))
  sample = functools.partial(C.batch_from_bits, window=3, noise_shape=noise_shape,
                             noise=noise)
  whole = jax.device_get(sample(bits, epoch, 0))
  part = jax.device_get(sample(bits[16:32], epoch, 16))
  for x, y in zip(whole, part):
    np.testing.assert_array_equal(x[16:32], y)
  assert whole.negatives.shape == (64, 1 if shared else 6, 2)


@pytest.mark.parametrize("weights", ["linear", "harmonic"])
def test_a_step_drawn_window_trains_each_distance_as_drawn_per_centre(weights):
  # window_draw="step": one reduced window b per step, a batch of 2b slots. A context at
  # distance d must still be trained with the per-centre draw's probability: (m - d + 1)
  # / m for word2vec's weights, 1 / d for harmonic ones.
  from w2vjax.config import TrainConfig
  from w2vjax.data import SOURCES
  window, batch_size, steps, sets = 5, 8, 3000, 10  # a set of noise words per slot
  method = type("NoiseOnly", (), {"noise_shape": lambda self, window: (2 * window, 3)})()
  config = TrainConfig(window=window, window_weights=weights, window_draw="step")
  choose, makers = SOURCES["windows"].batch_makers(config, method)
  assert len(makers) == window
  epoch = _epoch(np.arange(5000) % 97, np.zeros(5000), np.ones(97), batch_size)
  noise = C.make_noise_sampler(np.ones(97, np.int64))
  width = C.bits_per_centre(window, (sets, 3))
  all_bits = jax.random.bits(jax.random.key(3), (steps, batch_size, width))
  chosen = np.asarray(jax.vmap(choose)(all_bits))
  expected = _draw_probabilities(window, weights) * steps
  assert stats.chisquare(np.bincount(chosen, minlength=window), expected).pvalue > 1e-3
  trained = np.zeros(window + 1)
  for b in range(1, window + 1):
    bits = all_bits[chosen == b - 1]
    batch = jax.device_get(jax.jit(jax.vmap(makers[b - 1], (0, None, None, None)))(
        bits, epoch, 2 * batch_size, {"noise": noise}))
    assert batch.contexts.shape[1:] == batch.mask.shape[1:] == (batch_size, 2 * b)
    assert batch.negatives.shape[1:] == (batch_size, 2 * b, 3)
    dist = np.abs(((batch.contexts - batch.targets[..., None] + 48) % 97) - 48)
    offsets = np.abs(np.r_[-b:0, 1:b + 1])
    assert np.all((dist == offsets) | (batch.mask == 0)) and batch.mask.mean() > 0.9
    trained[1:b + 1] += len(bits)
  # Each step is a Bernoulli(p_d) trial for distance d: standard error <= 0.0092.
  reach = np.cumsum(_draw_probabilities(window, weights)[::-1])[::-1]
  np.testing.assert_allclose(trained[1:] / steps, reach, atol=0.04)
