"""Sampled softmax (log-Q corrected) and NCE: NumPy references, gradients, limits."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from w2vjax import objectives
from w2vjax.corpus import make_noise_sampler, noise_distribution, sample_noise


def _np_log_sigmoid(x):
  return -np.logaddexp(0.0, -x)


def _problem(seed=0, vocab=40, dim=6):
  rng = np.random.default_rng(seed)
  u = rng.normal(size=dim) * 0.7
  V = rng.normal(size=(vocab, dim)) * 0.7
  counts = rng.integers(1, 1000, vocab)
  return u, V, np.log(noise_distribution(counts))


def test_nce_matches_numpy():
  u, V, log_q = _problem()
  c, negs = 3, np.array([5, 3, 9, 9, 0])
  log_k = np.log(len(negs))
  want = (-_np_log_sigmoid(u @ V[c] - log_q[c] - log_k)
          - np.sum(_np_log_sigmoid(-(V[negs] @ u - log_q[negs] - log_k))))
  loss = objectives.sampled_pair_loss("nce", jnp.asarray(log_q, jnp.float32))
  got = loss(jnp.asarray(u), jnp.asarray(V[c]), jnp.asarray(V[negs]), c, jnp.asarray(negs))
  np.testing.assert_allclose(got, want, rtol=1e-5)


def test_nce_with_zero_shift_is_negative_sampling():
  u, V, _ = _problem(1)
  args = jnp.asarray(u), jnp.asarray(V[2]), jnp.asarray(V[[4, 5, 6]])
  np.testing.assert_allclose(objectives.nce_loss(*args, 0.0, jnp.zeros(3)),
                             objectives.negative_sampling_loss(*args), rtol=1e-6)


def test_sampled_softmax_matches_numpy_and_removes_accidental_hits():
  u, V, log_q = _problem(2)
  c, negs = 7, np.array([1, 7, 2, 2])  # one accidental hit (7), one repeat (2)
  log_k = np.log(len(negs))
  kept = negs[negs != c]
  logits = np.concatenate([[u @ V[c]], V[kept] @ u - log_q[kept] - log_k])
  want = np.logaddexp.reduce(logits) - u @ V[c]
  loss = objectives.sampled_pair_loss("sampled_softmax", jnp.asarray(log_q, jnp.float32))
  got = loss(jnp.asarray(u), jnp.asarray(V[c]), jnp.asarray(V[negs]), c, jnp.asarray(negs))
  np.testing.assert_allclose(got, want, rtol=1e-5)


@pytest.mark.parametrize("objective", ["nce", "sampled_softmax"])
def test_gradients_match_finite_differences(objective):
  u, V, log_q = _problem(3)
  with jax.enable_x64(True):
    negs = jnp.asarray([1, 2, 3, 2])
    loss = objectives.sampled_pair_loss(objective, jnp.asarray(log_q))
    args = (jnp.asarray(u), jnp.asarray(V[0]), jnp.asarray(V[np.asarray(negs)]))
    grads = jax.grad(loss, argnums=(0, 1, 2))(*args, 0, negs)
    eps = 1e-6
    for arg_index, grad in enumerate(grads):
      flat = np.asarray(args[arg_index]).reshape(-1)
      for j in range(0, flat.size, 5):
        bumped = [np.asarray(a).copy() for a in args]
        bumped[arg_index].reshape(-1)[j] += eps
        up = loss(*map(jnp.asarray, bumped), 0, negs)
        bumped[arg_index].reshape(-1)[j] -= 2 * eps
        down = loss(*map(jnp.asarray, bumped), 0, negs)
        np.testing.assert_allclose(np.asarray(grad).reshape(-1)[j], (up - down) / (2 * eps),
                                   rtol=1e-5, atol=1e-8)


def _sampled_softmax_error(num_samples, seeds=256):
  """Mean |loss - full| and |grad_u - full grad_u| over draws of ``num_samples`` noise words."""
  u, V, _ = _problem(4, vocab=50)
  counts = np.random.default_rng(4).integers(1, 1000, 50)
  sampler = make_noise_sampler(counts)
  loss = objectives.sampled_pair_loss("sampled_softmax", sampler.log_probs)
  u, V = jnp.asarray(u, jnp.float32), jnp.asarray(V, jnp.float32)
  full_loss, full_grad = jax.value_and_grad(objectives.full_softmax_loss)(u, V, 11)

  def errors(seed):
    negs = sample_noise(jax.random.key(seed), sampler, (num_samples,))
    value, grad = jax.value_and_grad(loss)(u, V[11], V[negs], 11, negs)
    return jnp.abs(value - full_loss), jnp.linalg.norm(grad - full_grad)

  loss_errors, grad_errors = jax.jit(jax.vmap(errors))(jnp.arange(seeds))
  return float(loss_errors.mean()), float(grad_errors.mean())


def test_sampled_softmax_tends_to_full_softmax_as_k_grows():
  # The corrected noise terms estimate the partition function (without the context's
  # term) with relative variance O(1/K). Over 256 draws the mean errors are 0.75 / 0.45 /
  # 0.044 (loss) and 1.26 / 0.63 / 0.060 (gradient) at K = 5 / 50 / 5000, with a standard
  # error of 0.002 at K = 5000; the bounds leave five of those.
  errors = {k: _sampled_softmax_error(k) for k in (5, 50, 5000)}
  assert errors[50][0] < errors[5][0] and 5 * errors[5000][0] < errors[50][0], errors
  assert errors[50][1] < errors[5][1] and 5 * errors[5000][1] < errors[50][1], errors
  assert errors[5000][0] < 0.055, errors  # stated tolerance at K = 100 |V|
  assert errors[5000][1] < 0.075, errors


def test_nce_expected_gradient_vanishes_at_the_true_distribution():
  # NCE's fixed point: when exp(s_w) = p(w) for every w, the expected gradient with respect
  # to every score is zero (Gutmann and Hyvarinen 2010). Exact expectation, no sampling:
  # E[d/ds_w] = -p(w) s(-D_w) + K q(w) s(D_w) with D_w = s_w - log K q(w).
  rng = np.random.default_rng(5)
  p = rng.dirichlet(np.ones(30))
  log_q = np.log(noise_distribution(rng.integers(1, 100, 30)))
  k = 5
  scores = jnp.asarray(np.log(p))

  def expected_loss(s):
    shift = s - log_q - np.log(k)
    return (-jnp.sum(p * jax.nn.log_sigmoid(shift))
            - k * jnp.sum(np.exp(log_q) * jax.nn.log_sigmoid(-shift)))

  np.testing.assert_allclose(jax.grad(expected_loss)(scores), 0.0, atol=1e-6)
  # The library's loss has the same fixed point: with K copies of one noise word w, a
  # pair's loss is -log s(D_c) - K log s(-D_w), so its mean over c ~ p and w ~ q is the
  # expectation above.
  loss = objectives.sampled_pair_loss("nce", jnp.asarray(log_q, jnp.float32))

  def library_expectation(v):
    def pair(c, w):
      return loss(jnp.ones(1), v[c], v[jnp.full(k, w)], c, jnp.full(k, w))
    ids = jnp.arange(30)
    table = jax.vmap(lambda c: jax.vmap(lambda w: pair(c, w))(ids))(ids)  # [c, w]
    return jnp.sum(jnp.asarray(p)[:, None] * jnp.exp(jnp.asarray(log_q))[None] * table)

  v_true = scores[:, None].astype(jnp.float32)
  np.testing.assert_allclose(library_expectation(v_true), expected_loss(scores), rtol=1e-5)
  np.testing.assert_allclose(jax.grad(library_expectation)(v_true), 0.0, atol=1e-5)
  assert np.abs(jax.grad(library_expectation)(v_true + 0.3)).max() > 1e-2  # not flat
  # ... and the per-pair function is the summand of that expectation.
  u = jnp.ones(1)
  v = scores[:, None]  # scores s_w = u . v_w
  c, negs = 4, jnp.asarray([0, 1, 2, 3, 4])
  want = (-jax.nn.log_sigmoid(scores[c] - log_q[c] - np.log(k))
          - jnp.sum(jax.nn.log_sigmoid(-(scores[negs] - log_q[negs] - np.log(k)))))
  np.testing.assert_allclose(loss(u, v[c], v[negs], c, negs), want, rtol=1e-5)
