"""Co-occurrence counting against a Python reference, its cache, and the entries' epochs."""

import jax
import numpy as np
import pytest
import scipy.sparse

from w2vjax import TrainConfig, chunks, cooccurrence, encode
from w2vjax.data import prepare_data


def _reference(ids, sentence, size, window, weighting, symmetric):
  """Pair by pair, as GloVe's cooccur.c walks the corpus."""
  weights = cooccurrence.distance_weights(window, weighting)
  x = np.zeros((size, size), np.float64)
  for i in range(len(ids)):
    for d in range(1, window + 1):
      j = i - d
      if j < 0 or sentence[j] != sentence[i]:
        break
      x[ids[i], ids[j]] += weights[d - 1]
      if symmetric:
        x[ids[j], ids[i]] += weights[d - 1]
  return x


@pytest.mark.parametrize("weighting", cooccurrence.WEIGHTINGS)
@pytest.mark.parametrize("symmetric", [True, False])
def test_counts_match_a_pair_by_pair_reference(weighting, symmetric):
  rng = np.random.default_rng(0)
  ids = rng.integers(0, 9, 500).astype(np.int32)
  sentence = np.sort(rng.integers(0, 40, 500)).astype(np.int32)
  # Chunks of 37 tokens: pairs that straddle a chunk boundary are counted once.
  got = cooccurrence.count(ids, sentence, 9, 4, weighting, symmetric, chunk_tokens=37)
  want = _reference(ids, sentence, 9, 4, weighting, symmetric)
  np.testing.assert_allclose(got.toarray(), want, rtol=1e-5)
  assert np.allclose(got.toarray(), got.toarray().T) == symmetric


def test_distance_weights():
  np.testing.assert_allclose(cooccurrence.distance_weights(4, "dynamic"), [1, .75, .5, .25])
  np.testing.assert_allclose(cooccurrence.distance_weights(3, "harmonic"), [1, 1 / 2, 1 / 3])
  with pytest.raises(ValueError, match="unknown weighting"):
    cooccurrence.distance_weights(3, "cubic")


def test_subsampling_before_counting_keeps_the_expected_share():
  rng = np.random.default_rng(1)
  ids = rng.integers(0, 2, 200_000).astype(np.int32)
  keep = np.array([0.25, 1.0], np.float32)
  kept, _ = cooccurrence.subsample_tokens(ids, np.zeros_like(ids), keep, seed=3)
  share = np.mean(kept == 0) / np.mean(kept == 1)
  # Half the tokens are word 0, kept with p 0.25: 0.25 of word 0 per word 1 (sd 0.0015).
  assert abs(share - 0.25) < 0.01


def test_counts_are_cached_per_setting(tmp_path, topic_corpus):
  path, _ = topic_corpus
  config = TrainConfig(corpus=str(path), architecture="glove", min_count=1, window=3,
                       cache_dir=str(tmp_path / "c"))
  first = prepare_data(config)
  assert len(list((tmp_path / "c").glob("cooccurrence.*.npz"))) == 1
  again = prepare_data(config)
  assert (first.corpus != again.corpus).nnz == 0
  prepare_data(config.replace(weighting="harmonic"))
  assert len(list((tmp_path / "c").glob("cooccurrence.*.npz"))) == 2
  assert first.kind == "cooccurrence" and first.expected_kept == first.corpus.nnz


def test_an_epoch_visits_every_entry_once_in_shuffled_order():
  matrix = scipy.sparse.random(30, 30, density=0.2, format="csr", random_state=0,
                               dtype=np.float32)
  epoch = cooccurrence.make_epoch(jax.random.key(0), matrix, process_batch=16)
  n = int(epoch.num_kept)
  assert n == matrix.nnz and epoch.rows.shape[0] % 16 == 0
  rebuilt = scipy.sparse.coo_matrix((np.asarray(epoch.counts[:n]), (
      np.asarray(epoch.rows[:n]), np.asarray(epoch.cols[:n]))), shape=(30, 30))
  np.testing.assert_array_equal(rebuilt.toarray(), matrix.toarray())
  assert not np.all(np.diff(np.asarray(epoch.rows[:n])) >= 0)  # shuffled, not row order
  last = cooccurrence.batch_from_bits(np.zeros((16, 1), np.uint32), epoch,
                                      epoch.rows.shape[0] - 16)
  assert float(last.mask.sum()) == n - (epoch.rows.shape[0] - 16)


def test_a_streamed_corpus_is_counted_chunk_by_chunk_to_the_same_counts(tmp_path,
                                                                       topic_corpus):
  path, _ = topic_corpus
  config = TrainConfig(corpus=str(path), architecture="glove", min_count=1, window=3,
                       subsample=0.0, cache_dir=str(tmp_path / "c"))
  whole = prepare_data(config).corpus
  streamed_config = config.replace(chunk_tokens=200)
  encoded = encode.load_encoded(path, str(tmp_path / "c"))
  assert chunks.cut(encoded.line_lengths, 200).count > 10
  streamed = prepare_data(streamed_config).corpus
  # Chunks end at line ends, and no window crosses a line: the counts are the same.
  assert streamed.nnz == whole.nnz and abs(streamed - whole).max() < 1e-4
  # With subsampling, the chunks draw their own tokens: a count of its own in the cache.
  prepare_data(config.replace(subsample=1e-3))
  prepare_data(streamed_config.replace(subsample=1e-3))
  assert len(list((tmp_path / "c").glob("cooccurrence.*.npz"))) == 3
