"""The dense and row-sparse update paths, the model's initialisation, the train step."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from w2vjax import corpus as C
from w2vjax import optim, parallel, training
from w2vjax.config import TrainConfig
from w2vjax.model import SkipGram, init_params


def test_init_matches_word2vec():
  params = init_params(jax.random.key(0), 5000, 50)
  u, v = np.asarray(params["u"]), np.asarray(params["v"])
  assert u.shape == v.shape == (5000, 50)
  assert np.abs(u).max() <= 0.5 / 50
  assert abs(u.std() - (1 / 50) / np.sqrt(12)) < 2e-4  # U(-a, a) has std a / sqrt(3)
  assert not v.any()
  v2 = np.asarray(init_params(jax.random.key(0), 100, 10, 0.5, "uniform")["v"])
  assert np.abs(v2).max() <= 0.05 and v2.std() > 0.01


def test_model_scores_pairs():
  model = SkipGram(10, 4, context_init="uniform")
  variables = model.init(jax.random.key(0), jnp.zeros(1, jnp.int32), jnp.zeros(1, jnp.int32))
  p = variables["params"]
  got = model.apply(variables, jnp.array([1, 2]), jnp.array([3, 3]))
  np.testing.assert_allclose(got, [p["u"][1] @ p["v"][3], p["u"][2] @ p["v"][3]], rtol=1e-6)


@pytest.mark.parametrize("name", ["sgd", "adagrad"])
def test_sparse_update_with_duplicates_equals_dense(name):
  rng = np.random.default_rng(0)
  table = jnp.asarray(rng.normal(size=(12, 3)), jnp.float32)
  opt = optim.make_optimizer(name, 0.1, 10)
  rows = jnp.array([3, 7, 3, 0, 3, 11])
  grads = jnp.asarray(rng.normal(size=(6, 3)), jnp.float32)
  dense_grad = jnp.zeros_like(table).at[rows].add(grads)
  state_d = state_s = opt.tx.init(table)
  t_dense, t_sparse = table, table
  for _ in range(3):
    upd, state_d = opt.tx.update(dense_grad, state_d, t_dense)
    t_dense = t_dense + upd
    t_sparse, state_s = optim.sparse_update(opt, t_sparse, state_s, rows, grads)
  np.testing.assert_allclose(t_sparse, t_dense, rtol=1e-6, atol=1e-7)
  untouched = np.setdiff1d(np.arange(12), np.asarray(rows))
  np.testing.assert_array_equal(np.asarray(t_sparse)[untouched], np.asarray(table)[untouched])


def test_lazy_adam_leaves_untouched_rows():
  table = jnp.ones((5, 2))
  opt = optim.make_optimizer("adam", 0.1, 10, "constant")
  t, s = optim.sparse_update(opt, table, opt.tx.init(table), jnp.array([1, 1]),
                             jnp.ones((2, 2)))
  t, s = optim.sparse_update(opt, t, s, jnp.array([2]), jnp.ones((1, 2)))
  assert np.all(np.asarray(t)[[0, 3, 4]] == 1.0)
  np.testing.assert_allclose(np.asarray(t)[1], 1 - 0.1, rtol=1e-5)  # Adam's first step is lr


def test_linear_schedule_decays_like_word2vec():
  lr = optim.learning_rate_schedule(0.025, 100, "linear", 1e-4)
  np.testing.assert_allclose([lr(0), lr(50), lr(100), lr(500)],
                             [0.025, 0.025 * (1 + 1e-4) / 2, 2.5e-6, 2.5e-6], rtol=1e-5)


def _placed(epoch):
  return training.place_epoch(epoch, parallel.make_topology(1))


def _small_problem(objective="negative_sampling"):
  rng = np.random.default_rng(0)
  counts = np.sort(rng.integers(5, 200, 40))[::-1].astype(np.int64)
  tokens = rng.choice(40, 3000, p=counts / counts.sum())
  corpus = C.make_device_corpus(tokens, np.arange(3000) // 25, counts, 1e-2)
  noise = C.make_noise_sampler(counts)
  return corpus, noise


@pytest.mark.parametrize("objective,optimizer,shared", [
    ("negative_sampling", "sgd", False), ("negative_sampling", "adagrad", False),
    ("nce", "sgd", False), ("sampled_softmax", "sgd", False),
    ("sampled_softmax", "adagrad", False), ("negative_sampling", "sgd", True),
    ("negative_sampling", "adagrad", True)])
def test_dense_and_sparse_paths_train_identically(objective, optimizer, shared):
  # The dense path is jax.grad of the batch loss; the sparse path is the closed form
  # (negative sampling) or per-pair autodiff (the others), scattered into touched rows.
  corpus, noise = _small_problem()
  results = {}
  for update in ("dense", "sparse"):
    cfg = TrainConfig(dim=8, window=3, negatives=4, batch_size=32, optimizer=optimizer,
                      learning_rate=0.2 if (optimizer, objective) == ("sgd", "negative_sampling")
                      else 0.05, update=update, context_init="uniform", objective=objective,
                      share_negatives=shared)
    opt = optim.make_optimizer(cfg.optimizer, cfg.learning_rate, 100)
    state = parallel.replicate(training.init_state(cfg, 40, opt), parallel.make_topology(1))
    initial = jax.device_get(state.params)
    step = training.make_train_step(cfg, opt, noise)
    epoch = _placed(C.make_epoch(jax.random.key(5), corpus, cfg.batch_size))
    losses = []
    for i in range(20):
      state, totals = step(state, training.zero_totals(), epoch, i * cfg.batch_size, 1)
      losses.append(float(totals["loss_sum"]) / int(totals["pairs"]))  # mean per pair
    results[update] = (jax.device_get(state.params), losses)
  (pd, ld), (ps, ls) = results["dense"], results["sparse"]
  np.testing.assert_allclose(ls, ld, rtol=1e-5)
  for name in ("u", "v"):
    np.testing.assert_allclose(ps[name], pd[name], rtol=1e-4, atol=1e-6)
    # Both tables moved: the test would not pass for frozen tables.
    assert np.abs(pd[name] - initial[name]).max() > 1e-2


def test_update_mode_rules():
  assert training.resolve_update(TrainConfig()) == "sparse"
  assert training.resolve_update(TrainConfig(objective="softmax")) == "dense"
  assert training.resolve_update(TrainConfig(objective="nce")) == "sparse"
  assert training.resolve_update(TrainConfig(objective="sampled_softmax")) == "sparse"
  with pytest.raises(ValueError, match="update=sparse needs a sampled objective"):
    training.resolve_update(TrainConfig(objective="softmax", update="sparse"))


def test_train_step_donates_state():
  corpus, noise = _small_problem()
  cfg = TrainConfig(dim=8, window=2, negatives=2, batch_size=16)
  opt = optim.make_optimizer("sgd", 0.025, 10)
  state = parallel.replicate(training.init_state(cfg, 40, opt), parallel.make_topology(1))
  step = training.make_train_step(cfg, opt, noise)
  epoch = _placed(C.make_epoch(jax.random.key(0), corpus, cfg.batch_size))
  new_state, totals = step(state, training.zero_totals(), epoch, 0, 3)
  assert state.params["u"].is_deleted()
  assert int(new_state.step) == 3
  assert float(totals["pairs"]) > 0 and float(totals["loss_sum"]) > 0


@pytest.mark.parametrize("shared", [False, True])
def test_steps_per_call_do_not_change_the_result(shared):
  # Step n draws from the run's key folded with n: one call of 6 steps, calls of 4 and 2,
  # and 6 calls of 1 train the same tables.
  corpus, noise = _small_problem()
  cfg = TrainConfig(dim=8, window=3, negatives=3, batch_size=16, share_negatives=shared,
                    context_init="uniform")
  opt = optim.make_optimizer("sgd", 0.1, 10)
  epoch = _placed(C.make_epoch(jax.random.key(1), corpus, cfg.batch_size))
  tables, initial = [], jax.device_get(training.init_state(cfg, 40, opt).params)
  for calls in ([6], [4, 2], [1] * 6):
    state = parallel.replicate(training.init_state(cfg, 40, opt), parallel.make_topology(1))
    step, totals, start = training.make_train_step(cfg, opt, noise), training.zero_totals(), 0
    for count in calls:
      state, totals = step(state, totals, epoch, start * cfg.batch_size, count)
      start += count
    assert int(state.step) == 6
    tables.append(jax.device_get(state.params))
  for other in tables[1:]:
    for name in ("u", "v"):
      np.testing.assert_allclose(other[name], tables[0][name], rtol=1e-6, atol=1e-7)
  assert np.abs(tables[0]["v"] - initial["v"]).max() > 1e-2  # the steps really trained


@pytest.mark.parametrize("shared", [False, True])
def test_batch_splits_compute_the_same_steps(shared):
  # The parts only change how XLA schedules the work (concurrently on CPU cores): the rows,
  # their gradients and their order are those of one part.
  corpus, noise = _small_problem()
  epoch = _placed(C.make_epoch(jax.random.key(4), corpus, 32))
  tables = {}
  for splits in (1, 2, 4):
    cfg = TrainConfig(dim=8, window=3, negatives=3, batch_size=32, share_negatives=shared,
                      context_init="uniform", batch_splits=splits, optimizer="adagrad",
                      learning_rate=0.1)
    opt = optim.make_optimizer(cfg.optimizer, cfg.learning_rate, 10)
    state = parallel.replicate(training.init_state(cfg, 40, opt), parallel.make_topology(1))
    state, _ = training.make_train_step(cfg, opt, noise)(
        state, training.zero_totals(), epoch, 0, 5)
    tables[splits] = jax.device_get(state.params)
  for splits in (2, 4):
    for name in ("u", "v"):
      np.testing.assert_allclose(tables[splits][name], tables[1][name], rtol=1e-6, atol=1e-7)


def test_batch_splits_must_divide_the_device_batch():
  with pytest.raises(ValueError, match="batch_splits=3 does not divide"):
    training.batch_splits(TrainConfig(batch_size=32, batch_splits=3), parallel.make_topology(1))
  # Automatic: a divisor of the batch with parts of at least 16 centres.
  auto = training.batch_splits(TrainConfig(batch_size=48), parallel.make_topology(1))
  assert 48 % auto == 0 and 48 // auto >= 16


@pytest.mark.parametrize("shared", [False, True])
def test_sparse_adam_moves_only_rows_of_real_pairs(shared):
  corpus, noise = _small_problem()
  cfg = TrainConfig(dim=4, window=3, negatives=2, batch_size=16, optimizer="adam",
                    learning_rate=0.01, lr_schedule="constant", context_init="uniform",
                    share_negatives=shared)
  opt = optim.make_optimizer("adam", 0.01, 10, "constant")
  state = parallel.replicate(training.init_state(cfg, 40, opt), parallel.make_topology(1))
  before = jax.device_get(state.params)
  step = training.make_train_step(cfg, opt, noise)
  raw_epoch = C.make_epoch(jax.random.key(2), corpus, cfg.batch_size)
  epoch = _placed(raw_epoch)
  # The draws the step will make.
  bits = C.step_bits(state.key, state.step, 16, C.bits_per_centre(3, 2, shared))
  batch = jax.device_get(C.batch_from_bits(bits, raw_epoch, 0, window=3, negatives=2,
                                           noise=noise, share_negatives=shared))
  state, _ = step(state, training.zero_totals(), epoch, 0, 1)
  after = jax.device_get(state.params)
  real = batch.mask > 0
  windows = real.any(axis=1)
  if shared:  # word2vec.c's orientation: contexts are inputs, centre and noise outputs
    touched_u = set(batch.contexts[real].tolist())
    touched_v = set(batch.targets[windows].tolist()) | set(batch.negatives[windows].ravel().tolist())
  else:
    touched_u = set(batch.targets[windows].tolist())
    touched_v = set(batch.contexts[real].tolist()) | set(batch.negatives[real].ravel().tolist())
  moved_u = set(np.flatnonzero(np.any(after["u"] != before["u"], axis=1)).tolist())
  moved_v = set(np.flatnonzero(np.any(after["v"] != before["v"], axis=1)).tolist())
  assert moved_u == touched_u and moved_v == touched_v
  assert len(touched_v) < 40  # some rows are untouched, so the check has teeth
