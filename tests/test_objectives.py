import jax
import jax.numpy as jnp
import numpy as np
import pytest

from w2vjax import objectives
from w2vjax.gradients import logistic_grads


def _np_log_sigmoid(x):
  return -np.logaddexp(0.0, -x)


def _np_softmax_loss(u, V, c):
  logits = V @ u
  return np.logaddexp.reduce(logits) - logits[c]


def _np_ns_loss(u, vc, vn):
  return -_np_log_sigmoid(u @ vc) - np.sum(_np_log_sigmoid(-(vn @ u)))


def test_full_softmax_matches_numpy():
  rng = np.random.default_rng(0)
  u, V = rng.normal(size=8), rng.normal(size=(50, 8))
  for c in (0, 17, 49):
    got = objectives.full_softmax_loss(jnp.asarray(u), jnp.asarray(V), c)
    np.testing.assert_allclose(got, _np_softmax_loss(u, V, c), rtol=1e-5)


def test_negative_sampling_matches_numpy():
  rng = np.random.default_rng(1)
  u, vc, vn = rng.normal(size=8), rng.normal(size=8), rng.normal(size=(5, 8))
  got = objectives.negative_sampling_loss(jnp.asarray(u), jnp.asarray(vc), jnp.asarray(vn))
  np.testing.assert_allclose(got, _np_ns_loss(u, vc, vn), rtol=1e-5)


def test_losses_are_stable_for_large_scores():
  u = jnp.full(4, 30.0)
  V = jnp.stack([jnp.full(4, 30.0), jnp.full(4, -30.0)])
  assert np.isfinite(objectives.full_softmax_loss(u, V, 1))  # logit gap 7200
  np.testing.assert_allclose(objectives.full_softmax_loss(u, V, 1), 7200.0, rtol=1e-6)
  ns = objectives.negative_sampling_loss(u, -V[0], V[0][None])  # both terms ~ -log s(-3600)
  np.testing.assert_allclose(ns, 7200.0, rtol=1e-6)


CASES = {
    "distinct": lambda rng: rng.normal(size=(5, 16)),
    "noise_equals_context": lambda rng: np.concatenate(
        [rng.normal(size=(1, 16))] * 2 + [rng.normal(size=(3, 16))]),
    "repeated_noise": lambda rng: np.concatenate(
        [rng.normal(size=(1, 16)), np.repeat(rng.normal(size=(1, 16)), 4, axis=0)]),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", sorted(CASES))
def test_closed_form_grads_match_autodiff(dtype, case):
  """Rows are gathered from a table by id, so collisions share a row, as in training."""
  rng = np.random.default_rng(3)
  with jax.enable_x64(dtype == np.float64):
    rows = CASES[case](rng)  # row 0: context; rows 1..: noise (possibly repeating ids)
    ids = {"distinct": [0, 1, 2, 3, 4], "noise_equals_context": [0, 0, 1, 2, 3],
           "repeated_noise": [0, 1, 1, 1, 1]}[case]
    table = jnp.asarray(np.stack([rows[ids.index(i)] for i in range(max(ids) + 1)]), dtype)
    u = jnp.asarray(rng.normal(size=16), dtype)
    ids = jnp.asarray(ids)

    def loss(u, table):
      return objectives.negative_sampling_loss(u, table[ids[0]], table[ids[1:]])

    du_auto, dtable_auto = jax.grad(loss, argnums=(0, 1))(u, table)
    positive = jnp.arange(len(ids)) == 0
    _, du, dout = logistic_grads(u[None], table[ids], positive, jnp.ones((1, len(ids)), dtype))
    du = du[0]
    dtable = jnp.zeros_like(table).at[ids].add(dout)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert du.dtype == dtype
    np.testing.assert_allclose(du, du_auto, rtol=tol, atol=tol)
    np.testing.assert_allclose(dtable, dtable_auto, rtol=tol, atol=tol)


def test_closed_form_grads_formulas():
  u, vc, vn = jnp.array([1.0, 2.0]), jnp.array([0.5, -1.0]), jnp.array([[1.0, 0.0]])
  s = jax.nn.sigmoid
  _, du, dout = logistic_grads(u[None], jnp.concatenate([vc[None], vn]),
                               jnp.array([True, False]), jnp.ones((1, 2)))
  np.testing.assert_allclose(du[0], (s(u @ vc) - 1) * vc + s(u @ vn[0]) * vn[0], rtol=1e-6)
  np.testing.assert_allclose(dout[0], (s(u @ vc) - 1) * u, rtol=1e-6)
  np.testing.assert_allclose(dout[1], s(u @ vn[0]) * u, rtol=1e-6)


def test_window_logistic_grads_match_autodiff_of_the_pair_losses():
  # word2vec.c's orientation: each context row of u is scored against the centre's row of v
  # and the K shared noise rows. The closed form must equal jax.grad of the sum of
  # per-pair negative-sampling losses, and empty slots must get no gradient.
  rng = np.random.default_rng(7)
  u_ctx, v_out = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))  # centre + 3 noise rows
  mask = np.array([1.0, 0.0, 1.0, 1.0])

  def summed(u_ctx, v_out):
    per_pair = jax.vmap(objectives.negative_sampling_loss, in_axes=(0, None, None))(
        u_ctx, v_out[0], v_out[1:])
    return jnp.sum(per_pair * mask)

  want_loss = summed(u_ctx, v_out)
  want = jax.grad(summed, argnums=(0, 1))(u_ctx, v_out)
  loss, du, dv = logistic_grads(jnp.asarray(u_ctx), jnp.asarray(v_out),
                                jnp.arange(4) == 0, jnp.asarray(mask)[:, None])
  np.testing.assert_allclose(
      objectives.logistic_loss(u_ctx, v_out, jnp.arange(4) == 0, mask[:, None]), want_loss,
      rtol=1e-5)
  np.testing.assert_allclose(loss, want_loss, rtol=1e-5)
  for got, expected in zip((du, dv), want):
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
  assert np.all(np.asarray(du)[1] == 0)


def test_window_loss_stays_finite_and_exact_for_huge_scores():
  # s(x) underflows float32 below x ~ -104; the loss term is then -x, not log(0).
  u_ctx = jnp.array([[30.0, 0.0]])
  v_out = jnp.array([[-5.0, 0.0], [5.0, 0.0]])  # centre score -150, noise score +150
  loss, du, dv = logistic_grads(u_ctx, v_out, jnp.array([True, False]), jnp.ones((1, 1)))
  np.testing.assert_allclose(loss, 300.0, rtol=1e-6)
  assert np.all(np.isfinite(du)) and np.all(np.isfinite(dv))