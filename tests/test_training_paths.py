"""The dense and row-sparse update paths, the model's initialisation, the train step."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from w2vjax import corpus as C
from w2vjax import data, methods, optim, parallel, step
from w2vjax.config import TrainConfig
from w2vjax.errors import InputError
from w2vjax.text import Vocab


def _method(cfg, vocab_size=5000):
  counts = np.arange(vocab_size, 0, -1, dtype=np.int64) + 5
  return methods.build(cfg, Vocab(tuple(f"w{i}" for i in range(vocab_size)), counts))


def test_init_matches_word2vec():
  params = _method(TrainConfig(dim=50)).init(jax.random.key(0))
  u, v = np.asarray(params["u"]), np.asarray(params["v"])
  assert u.shape == v.shape == (5000, 50)
  assert np.abs(u).max() <= 0.5 / 50
  assert abs(u.std() - (1 / 50) / np.sqrt(12)) < 2e-4  # U(-a, a) has std a / sqrt(3)
  assert not v.any()
  v2 = np.asarray(_method(TrainConfig(dim=10, context_init="uniform"), 100)
                  .init(jax.random.key(0))["v"])
  assert np.abs(v2).max() <= 0.05 and v2.std() > 0.01


def test_tables_follow_the_method():
  hs = _method(TrainConfig(dim=4, objective="hierarchical_softmax"), 100).init(jax.random.key(0))
  assert hs["u"].shape == (100, 4) and hs["nodes"].shape == (99, 4) and "v" not in hs
  sub = _method(TrainConfig(dim=4, maxn=5, buckets=70), 100).init(jax.random.key(0))
  assert sub["u"].shape == (170, 4) and sub["v"].shape == (100, 4)


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
  return step.place_epoch(epoch, parallel.make_topology(1))


def _small_problem():
  rng = np.random.default_rng(0)
  counts = np.sort(rng.integers(5, 200, 40))[::-1].astype(np.int64)
  tokens = rng.choice(40, 3000, p=counts / counts.sum())
  corpus = C.make_device_corpus(tokens, np.arange(3000) // 25, counts, 1e-2)
  words = ("the", "of", "and", "in", "to", "was", "is", "for", "on", "as", "by", "with",
           "he", "at", "from", "his", "an", "were", "are", "which", "this", "also", "be",
           "or", "has", "had", "first", "one", "their", "its", "new", "after", "who",
           "they", "two", "her", "she", "been", "other", "when")
  return corpus, Vocab(words, counts)


def _start(cfg, vocab, total_steps=100):
  """(method, optimizer, replicated state, train_step) of ``cfg`` on ``vocab``."""
  method = methods.build(cfg, vocab)
  opt = optim.make_optimizer(cfg.optimizer, cfg.learning_rate or method.learning_rate,
                             total_steps, cfg.lr_schedule)
  state = parallel.replicate(step.init_state(cfg, method, opt), parallel.make_topology(1))
  return method, opt, state, step.make_train_step(cfg, method, opt)


# Every method that has row gradients equal to the gradient of its loss (inputs of one row).
EXACT = [dict(objective=o, share_negatives=s) for o, s in (
    ("negative_sampling", False), ("nce", False), ("sampled_softmax", False),
    ("negative_sampling", True), ("hierarchical_softmax", True))]


@pytest.mark.parametrize("fields,optimizer", [(f, "sgd") for f in EXACT] + [
    (EXACT[2], "adagrad"), (EXACT[3], "adagrad")],
    ids=lambda x: x if isinstance(x, str) else f"{x['objective']}-{x['share_negatives']}")
def test_dense_and_sparse_paths_train_identically(fields, optimizer):
  # The dense path is jax.grad of the batch loss; the sparse path is the closed form
  # (logistic methods) or per-pair autodiff (NCE, sampled softmax), scattered into rows.
  corpus, vocab = _small_problem()
  results = {}
  for update in ("dense", "sparse"):
    cfg = TrainConfig(dim=8, window=3, negatives=4, batch_size=32, optimizer=optimizer,
                      learning_rate=0.2 if optimizer == "sgd" and fields["objective"] in (
                          "negative_sampling", "hierarchical_softmax") else 0.05, update=update,
                      context_init="uniform", **fields)
    _, _, state, train_step = _start(cfg, vocab)
    initial = jax.device_get(state.params)
    epoch = _placed(C.make_epoch(jax.random.key(5), corpus, cfg.batch_size))
    losses = []
    for i in range(20):
      state, totals = train_step(state, step.zero_totals(), epoch, i * cfg.batch_size, 1)
      losses.append(float(totals["loss_sum"]) / int(totals["pairs"]))  # mean per pair
    results[update] = (jax.device_get(state.params), losses)
  (pd, ld), (ps, ls) = results["dense"], results["sparse"]
  np.testing.assert_allclose(ls, ld, rtol=1e-5)
  for name in pd:
    # float32 sums in other orders, over 20 steps at rate 0.2: about 1e-6 apart near 0.
    np.testing.assert_allclose(ps[name], pd[name], rtol=1e-4, atol=1e-5)
    # Both tables moved: the test would not pass for frozen tables.
    assert np.abs(pd[name] - initial[name]).max() > 1e-2


def test_update_mode_rules():
  def mode(**fields):
    cfg = TrainConfig(**fields)
    return step.resolve_update(cfg, _method(cfg, 100))
  assert mode() == "sparse"
  assert mode(objective="softmax") == "dense"
  assert mode(objective="nce") == mode(objective="sampled_softmax") == "sparse"
  assert mode(objective="hierarchical_softmax", architecture="cbow") == "sparse"
  assert mode(update="dense") == "dense"
  with pytest.raises(InputError, match="update=sparse needs a method with row gradients"):
    mode(objective="softmax", update="sparse")


def test_train_step_donates_state():
  corpus, vocab = _small_problem()
  cfg = TrainConfig(dim=8, window=2, negatives=2, batch_size=16)
  _, _, state, train_step = _start(cfg, vocab, 10)
  epoch = _placed(C.make_epoch(jax.random.key(0), corpus, cfg.batch_size))
  new_state, totals = train_step(state, step.zero_totals(), epoch, 0, 3)
  assert state.params["u"].is_deleted()
  assert int(new_state.step) == 3
  assert float(totals["pairs"]) > 0 and float(totals["loss_sum"]) > 0


@pytest.mark.parametrize("shared", [False, True])
def test_steps_per_call_do_not_change_the_result(shared):
  # Step n draws from the run's key folded with n: one call of 6 steps, calls of 4 and 2,
  # and 6 calls of 1 train the same tables.
  corpus, vocab = _small_problem()
  cfg = TrainConfig(dim=8, window=3, negatives=3, batch_size=16, share_negatives=shared,
                    context_init="uniform", learning_rate=0.1)
  epoch = _placed(C.make_epoch(jax.random.key(1), corpus, cfg.batch_size))
  tables = []
  method, opt, _, train_step = _start(cfg, vocab, 10)
  for calls in ([6], [4, 2], [1] * 6):
    state = parallel.replicate(step.init_state(cfg, method, opt), parallel.make_topology(1))
    initial, totals, start = jax.device_get(state.params), step.zero_totals(), 0
    for count in calls:
      state, totals = train_step(state, totals, epoch, start * cfg.batch_size, count)
      start += count
    assert int(state.step) == 6
    tables.append(jax.device_get(state.params))
  for other in tables[1:]:
    for name in ("u", "v"):
      np.testing.assert_allclose(other[name], tables[0][name], rtol=1e-6, atol=1e-7)
  assert np.abs(tables[0]["v"] - initial["v"]).max() > 1e-2  # the steps really trained


@pytest.mark.parametrize("fields", [
    dict(share_negatives=False), dict(window_draw="step"),
    dict(architecture="cbow", objective="hierarchical_softmax")],
    ids=["pairs", "windows", "cbow-hs"])
def test_batch_splits_compute_the_same_steps(fields):
  # The parts only change how XLA schedules the work (concurrently on CPU cores): the rows,
  # their gradients and their order are those of one part.
  corpus, vocab = _small_problem()
  epoch = _placed(C.make_epoch(jax.random.key(4), corpus, 32))
  tables = {}
  for splits in (1, 2, 4):
    cfg = TrainConfig(dim=8, window=3, negatives=3, batch_size=32, context_init="uniform",
                      batch_splits=splits, optimizer="adagrad", learning_rate=0.1, **fields)
    _, _, state, train_step = _start(cfg, vocab, 10)
    initial = jax.device_get(state.params)
    state, _ = train_step(state, step.zero_totals(), epoch, 0, 5)
    tables[splits] = jax.device_get(state.params)
    assert all(np.abs(tables[splits][n] - initial[n]).max() > 1e-3 for n in initial)
  for splits in (2, 4):
    for name in tables[1]:
      np.testing.assert_allclose(tables[splits][name], tables[1][name], rtol=1e-6, atol=1e-7)


def test_batch_splits_must_divide_the_device_batch():
  with pytest.raises(ValueError, match="batch_splits=3 does not divide"):
    step.batch_splits(TrainConfig(batch_size=32, batch_splits=3), parallel.make_topology(1))
  # Automatic: a divisor of the batch with parts of at least 16 centres.
  auto = step.batch_splits(TrainConfig(batch_size=48), parallel.make_topology(1))
  assert 48 % auto == 0 and 48 // auto >= 16


@pytest.mark.parametrize("shared, draw", [(False, "step"), (True, "step"), (True, "centre")])
def test_sparse_adam_moves_only_rows_of_real_pairs(shared, draw):
  corpus, vocab = _small_problem()
  cfg = TrainConfig(dim=4, window=3, negatives=2, batch_size=16, optimizer="adam",
                    learning_rate=0.01, lr_schedule="constant", context_init="uniform",
                    share_negatives=shared, window_draw=draw)
  method, opt, state, train_step = _start(cfg, vocab, 10)
  before = jax.device_get(state.params)
  raw_epoch = C.make_epoch(jax.random.key(2), corpus, cfg.batch_size)
  epoch = _placed(raw_epoch)
  # The draws the step will make, and the batch they choose.
  bits = C.step_bits(state.key, state.step, 16, C.bits_per_centre(3, method.noise_shape(3)))
  choose, makers = data.SOURCES["windows"].batch_makers(cfg, method)
  batch = makers[int(choose(bits))](bits, raw_epoch, 0, method.constants)
  params, opt_state = jax.device_put(jax.device_get((state.params, state.opt_state)))
  _, updates = method.row_grads(params, method.constants, batch)
  expected, _ = optim.sparse_updates(opt, params, opt_state, updates)
  batch = jax.device_get(batch)
  state, _ = train_step(state, step.zero_totals(), epoch, 0, 1)
  after = jax.device_get(state.params)
  for name in after:  # the step trains the chosen batch, its row updates padded or not
    np.testing.assert_allclose(after[name], expected[name], rtol=1e-6, atol=1e-8)
  # Adam's first step from zero moments, by hand: each entry moves by lr g / (|g| + eps),
  # g the entry's gradient of the batch loss (jax.grad, not the row gradients).
  grads = jax.device_get(jax.grad(method.loss)(params, method.constants, batch))
  for name in after:
    g = grads[name]
    np.testing.assert_allclose(after[name], before[name] - 0.01 * g / (np.abs(g) + 1e-8),
                               rtol=1e-5, atol=1e-7)
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
