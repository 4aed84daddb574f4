"""GloVe: its loss against a NumPy evaluation of J, closed-form row gradients against
jax.grad, and training through the shared loop (dense = sparse, topics, resume)."""

import jax
import jax.numpy as jnp
import numpy as np

from w2vjax import TrainConfig, methods, optim, train
from w2vjax.cooccurrence import Cooccurrences
from w2vjax.text import Vocab

SIZE, DIM = 12, 6


def _method(**fields):
  vocab = Vocab(tuple(f"w{i}" for i in range(SIZE)), np.arange(SIZE, 0, -1) * 10)
  return methods.build(TrainConfig(architecture="glove", dim=DIM, **fields), vocab)


def _batch(rng, n=40):
  counts = rng.gamma(0.5, 60.0, n).astype(np.float32) + 0.1
  mask = np.ones(n, np.float32)
  mask[-3:] = 0.0  # padding entries
  return Cooccurrences(jnp.asarray(rng.integers(0, SIZE, n), jnp.int32),
                       jnp.asarray(rng.integers(0, SIZE, n), jnp.int32),
                       jnp.asarray(counts), jnp.asarray(mask))


def _params(method, seed=0):
  params = method.init(jax.random.key(seed))
  return {k: v * 40.0 for k, v in params.items()}  # away from the tiny initial values


def test_loss_is_half_of_j_evaluated_in_numpy():
  method, rng = _method(x_max=50.0, glove_alpha=0.75), np.random.default_rng(0)
  batch, params = _batch(rng), _params(_method())
  p = {k: np.asarray(v, np.float64) for k, v in params.items()}
  i, j, x, m = (np.asarray(a) for a in batch)
  f = np.minimum(1.0, (x / 50.0) ** 0.75)
  inner = (p["w"][i] * p["c"][j]).sum(1) + p["bw"][i, 0] + p["bc"][j, 0] - np.log(x)
  j_value = np.sum(m * f * inner ** 2)
  np.testing.assert_allclose(float(method.loss(params, {}, batch)), 0.5 * j_value, rtol=1e-5)


def test_row_gradients_match_autodiff():
  method, rng = _method(), np.random.default_rng(1)
  batch, params = _batch(rng), _params(method)
  loss, updates = method.row_grads(params, {}, batch)
  want = jax.grad(method.loss)(params, {}, batch)
  np.testing.assert_allclose(float(loss), float(method.loss(params, {}, batch)), rtol=1e-5)
  for name, (rows, grads) in updates.items():
    got = jnp.zeros_like(params[name]).at[rows].add(grads, mode="drop")
    np.testing.assert_allclose(got, want[name], rtol=1e-4, atol=1e-6)


def test_exports_word_plus_context_vectors():
  params = _params(_method())
  vocab = Vocab(tuple(f"w{i}" for i in range(SIZE)), np.arange(SIZE, 0, -1) * 10)
  both = _method().embeddings(params, vocab).vectors
  words = _method(add_context=False).embeddings(params, vocab).vectors
  np.testing.assert_allclose(both, params["w"] + params["c"], rtol=1e-6)
  np.testing.assert_allclose(words, params["w"], rtol=1e-6)


def test_unique_rows_sum_duplicates_like_jnp_unique():
  rows = jnp.asarray([5, 2, 5, 9, 2, 2, 12, 0], jnp.int32)  # 12: out of range (size 10)
  grads = jnp.arange(8.0)[:, None] * jnp.ones((1, 3))
  unique, inverse = optim.unique_rows(rows, 10)
  summed = jax.ops.segment_sum(grads, inverse, num_segments=8)
  dense = jnp.zeros((10, 3)).at[unique].add(summed, mode="drop")
  np.testing.assert_array_equal(dense, jnp.zeros((10, 3)).at[rows].add(grads, mode="drop"))
  assert sorted(int(u) for u in unique if u < 10) == [0, 2, 5, 9]


def _glove_config(path, **fields):
  return TrainConfig(corpus=str(path), architecture="glove", dim=16, window=3, min_count=1,
                     subsample=0, optimizer="adagrad", learning_rate=0.05,
                     lr_schedule="constant", batch_size=64, epochs=15, **fields)


def test_dense_and_sparse_updates_train_identically(topic_corpus):
  path, _ = topic_corpus
  cfg = _glove_config(path, max_steps=30)
  dense = train(cfg.replace(update="dense"), show_progress=False)
  sparse = train(cfg.replace(update="sparse"), show_progress=False)
  np.testing.assert_allclose(dense.embeddings.vectors, sparse.embeddings.vectors, atol=1e-5)


def test_glove_recovers_two_topics_and_resumes(topic_corpus, tmp_path):
  path, topics = topic_corpus
  cfg = _glove_config(path)
  result = train(cfg, workdir=tmp_path, show_progress=False)
  topic_of = {w: i for i, words in enumerate(topics) for w in words}
  purity = np.mean([topic_of[n] == topic_of[w] for w in topic_of
                    for n, _ in result.embeddings.most_similar(w, topn=5)])
  assert purity > 0.95  # chance: about 0.49
  assert result.metrics[-1]["loss"] < 0.5 * result.metrics[0]["loss"]
  again = train(cfg, workdir=tmp_path, show_progress=False)  # resumes the finished run
  np.testing.assert_array_equal(again.embeddings.vectors, result.embeddings.vectors)
  assert again.metrics == result.metrics  # restored, wall-clock times included
