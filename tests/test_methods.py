"""The methods' registry and the methods themselves: losses against NumPy and the Huffman
tree, closed-form row gradients against jax.grad, and whole runs that recover topics."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from w2vjax import TrainConfig, methods, subwords, train
from w2vjax.corpus import Batch
from w2vjax.errors import InputError
from w2vjax.huffman import path_log_probs
from w2vjax.methods import subword as subword_method
from w2vjax.text import Vocab

WORDS = ("the", "cat", "sat", "on", "mat", "dog", "ran", "far", "away", "home", "big", "red")


def _vocab():
  return Vocab(WORDS, np.array([90, 50, 40, 33, 20, 18, 12, 9, 7, 5, 3, 2], np.int64))


def _batch(rng, method, centres=4, window=2):
  slots = 2 * window
  size = len(WORDS)
  return Batch(jnp.asarray(rng.integers(0, size, centres)),
               jnp.asarray(rng.integers(0, size, (centres, slots))),
               jnp.asarray(rng.integers(0, size, (centres, *method.noise_shape(window)))),
               jnp.asarray(rng.integers(0, 2, (centres, slots)), jnp.float32).at[0].set(1.0))


def _random_params(method, seed=0):
  params = method.init(jax.random.key(seed))
  keys = jax.random.split(jax.random.key(seed + 1), len(params))
  return {name: 0.3 * jax.random.normal(k, table.shape)
          for k, (name, table) in zip(keys, sorted(params.items()))}


def _scattered(params, updates):
  return {name: jnp.zeros_like(params[name]).at[rows].add(grads, mode="drop")
          for name, (rows, grads) in updates.items()}


def _sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


CONFIGS = {
    "sg-ns-windows": dict(),
    "sg-ns-pairs": dict(share_negatives=False),
    "sg-hs": dict(objective="hierarchical_softmax"),
    "sg-nce": dict(objective="nce"),
    "sg-sampled-softmax": dict(objective="sampled_softmax"),
    "cbow-ns": dict(architecture="cbow"),
    "cbow-hs": dict(architecture="cbow", objective="hierarchical_softmax"),
    "cbow-hs-capped": dict(architecture="cbow", objective="hierarchical_softmax",
                           max_code_length=4),
    "subword-ns": dict(maxn=4, buckets=50),
    "subword-ns-centre": dict(maxn=4, buckets=50, share_negatives=False),
    "subword-ns-runs": dict(maxn=4, buckets=50, centre_order="runs"),
    "subword-hs": dict(maxn=4, buckets=50, objective="hierarchical_softmax"),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_row_gradients_match_autodiff(name):
  # Inputs that average several rows (CBOW's contexts, a word's subwords) give each row the
  # mean's whole gradient, as word2vec.c and fastText do, in both update paths.
  cfg = TrainConfig(dim=6, window=2, negatives=3, **CONFIGS[name])
  method = methods.build(cfg, _vocab())
  rng = np.random.default_rng(0)
  params, batch = _random_params(method), _batch(rng, method)
  loss, updates = method.row_grads(params, method.constants, batch)
  want_loss, want = jax.value_and_grad(method.loss)(params, method.constants, batch)
  np.testing.assert_allclose(loss, want_loss, rtol=1e-5)
  got = _scattered(params, updates)
  assert set(got) == set(want)
  for table in want:
    np.testing.assert_allclose(got[table], want[table], rtol=1e-4, atol=1e-6)
    assert np.abs(np.asarray(want[table])).max() > 1e-3  # every table is really trained


def test_cbow_rows_get_the_whole_gradient_of_the_mean():
  # word2vec.c adds neu1e to every context row: n times the exact gradient of the mean.
  cfg = TrainConfig(dim=6, window=2, negatives=3, architecture="cbow")
  method = methods.build(cfg, _vocab())
  params, batch = _random_params(method), _batch(np.random.default_rng(5), method)
  batch = batch._replace(contexts=jnp.array([[1, 2, 3, 4]] * 4), mask=jnp.ones((4, 4)))
  _, updates = method.row_grads(params, method.constants, batch)

  def exact_loss(u):
    h = u[batch.contexts].mean(axis=1)
    ids = jnp.concatenate([batch.targets[:, None], batch.negatives[:, 0]], 1)
    scores = jnp.einsum("bd,bkd->bk", h, params["v"][ids])
    signs = jnp.where(jnp.arange(scores.shape[1]) == 0, 1.0, -1.0)
    scored = (signs > 0) | (ids != batch.targets[:, None])  # no noise word is its target
    return -jnp.sum(scored * jax.nn.log_sigmoid(signs * scores))

  exact = jax.grad(exact_loss)(params["u"])
  np.testing.assert_allclose(_scattered(params, updates)["u"], 4 * exact, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", ["sg-ns-windows", "sg-ns-pairs", "cbow-ns"])
def test_a_noise_word_equal_to_its_target_is_not_scored(name):
  # word2vec.c and gensim skip such a draw rather than push the target away from the input
  # that predicts it: noise words that all equal their targets leave the positive terms.
  cfg = TrainConfig(dim=6, window=2, negatives=3, **CONFIGS[name])
  method = methods.build(cfg, _vocab())
  batch = _batch(np.random.default_rng(2), method)
  batch = batch._replace(targets=batch.targets % 10, contexts=batch.contexts % 10)
  params = _random_params(method)
  params = {**params, "v": params["v"].at[11].set(0.0)}  # word 11, in no pair, scores 0

  def loss(negatives):
    return method.loss(params, method.constants, batch._replace(negatives=negatives))

  # Each of the K noise terms of a prediction costs log 2 when the noise word is word 11.
  terms = cfg.negatives * method.predictions(batch)
  positives = loss(jnp.full(batch.negatives.shape, 11)) - np.log(2.0) * terms
  targets = batch.contexts[:, :, None] if name == "sg-ns-pairs" else batch.targets[:, None, None]
  np.testing.assert_allclose(loss(jnp.broadcast_to(targets, batch.negatives.shape)),
                             positives, rtol=1e-5)
  assert loss(jnp.broadcast_to(targets, batch.negatives.shape)) < loss(
      jnp.full(batch.negatives.shape, 11))


def test_cbow_loss_matches_numpy():
  cfg = TrainConfig(dim=5, window=2, negatives=2, architecture="cbow")
  method = methods.build(cfg, _vocab())
  params = _random_params(method)
  batch = _batch(np.random.default_rng(1), method)
  u, v = (np.asarray(params[t], np.float64) for t in ("u", "v"))
  t, c, n, m = (np.asarray(x) for x in batch)
  assert (n[:, 0] == t[:, None]).any()  # the skipped draws below are exercised
  want = 0.0
  for i in range(len(t)):
    if m[i].sum() == 0:
      continue
    h = (m[i][:, None] * u[c[i]]).sum(0) / m[i].sum()  # the mean, not the sum
    noise = n[i, 0][n[i, 0] != t[i]]  # word2vec.c skips a noise word equal to the target
    want -= np.log(_sigmoid(h @ v[t[i]])) + np.log(_sigmoid(-(v[noise] @ h))).sum()
  np.testing.assert_allclose(method.loss(params, method.constants, batch), want, rtol=1e-5)


def test_skipgram_hs_loss_is_minus_log_probability_under_the_tree():
  # word2vec.c's orientation: each context word's input predicts the centre along its path.
  cfg = TrainConfig(dim=5, window=1, objective="hierarchical_softmax")
  method = methods.build(cfg, _vocab())
  params = _random_params(method, 3)
  tree = method.constants["tree"]
  batch = Batch(jnp.array([4]), jnp.array([[7, 2]]), jnp.zeros((1, 0, 0), jnp.int32),
                jnp.array([[1.0, 1.0]]))
  want = -sum(path_log_probs(params["u"][c], params["nodes"], tree["codes"][4],
                             tree["points"][4], tree["lengths"][4]) for c in (7, 2))
  np.testing.assert_allclose(method.loss(params, method.constants, batch), want, rtol=1e-5)
  # A normalised model: the centre's probabilities over the vocabulary sum to one.
  everything = path_log_probs(params["u"][7], params["nodes"], tree["codes"],
                              tree["points"], tree["lengths"])
  np.testing.assert_allclose(np.exp(np.asarray(everything, np.float64)).sum(), 1.0, rtol=1e-5)


def _rows(vocab, word, minn, maxn, buckets):
  """A word's rows of u in fastText's order: its own, then its n-grams' buckets."""
  return [vocab.index[word]] + [len(vocab) + b for b in
                                subwords.ngram_buckets(word, minn, maxn, buckets)]


def _stored_at(method, vocab, minn, maxn, buckets):
  """Where the method's u stores each row that a word holds, read off its n-gram ids,
  checked to be one place per row."""
  stored = np.asarray(method.constants["ngrams"])
  place = {}
  for i, word in enumerate(vocab.words):
    for row, at in zip(_rows(vocab, word, minn, maxn, buckets), stored[i]):
      assert place.setdefault(row, int(at)) == at
  return place


def test_subword_rows_are_stored_by_use_and_the_order_changes_no_vector(monkeypatch):
  # u stores the rows words hold first, most used first (a row's use: the summed counts
  # of the words holding it), then the others; trained and exported, the vectors are
  # those of u in fastText's order of rows.
  cfg, vocab = TrainConfig(dim=4, minn=3, maxn=4, buckets=37), _vocab()
  method = methods.build(cfg, vocab)
  place = _stored_at(method, vocab, 3, 4, 37)
  use = {}
  for word, count in zip(vocab.words, vocab.counts):
    for row in _rows(vocab, word, 3, 4, 37):  # a row a word holds twice, twice
      use[row] = use.get(row, 0) + count
  assert sorted(place.values()) == list(range(len(place)))
  by_place = [use[row] for row in sorted(place, key=place.get)]
  assert by_place == sorted(by_place, reverse=True) and by_place[0] > by_place[-1]
  assert list(place) != sorted(place, key=place.get)  # not fastText's order
  monkeypatch.setattr(subword_method, "stored_order",
                      lambda used, rows: np.arange(rows, dtype=np.int32))
  in_order = methods.build(cfg, vocab)
  trained, initial = [], method.embeddings(method.init(jax.random.key(0)), vocab).vectors
  for m in (method, in_order):
    params = m.init(jax.random.key(0))
    for step in range(4):
      loss, updates = m.row_grads(params, m.constants, _batch(np.random.default_rng(step), m))
      params = {name: params[name].at[rows].add(-0.5 * grads, mode="drop")
                for name, (rows, grads) in updates.items()}
    trained.append(m.embeddings(jax.device_get(params), vocab).vectors)
  np.testing.assert_allclose(trained[0], trained[1], rtol=1e-6, atol=1e-7)
  assert np.abs(trained[0] - initial).max() > 1e-3  # the steps moved the vectors


def test_subword_embeddings_are_means_of_word_and_ngram_rows():
  cfg = TrainConfig(dim=4, minn=3, maxn=4, buckets=37)
  vocab = _vocab()
  method = methods.build(cfg, vocab)
  params = jax.device_get(_random_params(method))
  emb = method.embeddings(params, vocab)
  place = _stored_at(method, vocab, 3, 4, 37)
  rows = [place[row] for row in _rows(vocab, "mat", 3, 4, 37)]
  np.testing.assert_allclose(emb["mat"], np.asarray(params["u"])[rows].mean(0), rtol=1e-5)
  assert len(rows) == 1 + len("<mat>") - 2 + len("<mat>") - 3  # 3-grams and 4-grams


def _subword_inputs(params, place, vocab, words, minn, maxn, buckets):
  u = np.asarray(params["u"], np.float64)
  return np.stack([u[[place[row] for row in _rows(vocab, vocab.words[i], minn, maxn,
                                                  buckets)]].mean(0) for i in words])


def test_subword_words_in_several_slots_share_one_mean():
  # With centre_order=runs a word in several context slots of a step is one mean, read
  # and updated once: the same loss and row gradients as a mean per slot, from fewer rows.
  fields = dict(dim=6, window=2, negatives=3, maxn=4, buckets=50)
  each, shared = (methods.build(TrainConfig(centre_order=order, **fields), _vocab())
                  for order in ("shuffled", "runs"))
  params = _random_params(each)
  batch = _batch(np.random.default_rng(4), each, centres=16)  # 64 slots, 12 words
  loss, updates = each.row_grads(params, each.constants, batch)
  shared_loss, shared_updates = shared.row_grads(params, shared.constants, batch)
  np.testing.assert_allclose(shared_loss, loss, rtol=1e-5)
  got, want = _scattered(params, shared_updates), _scattered(params, updates)
  for table in want:
    np.testing.assert_allclose(got[table], want[table], rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(jax.grad(shared.loss)(params, shared.constants, batch)["u"],
                             got["u"], rtol=1e-4, atol=1e-6)
  rows, held = len(_vocab()) + 50, np.asarray(shared.constants["ngram_counts"])
  read = lambda ups: int(np.sum(np.asarray(ups["u"][0]) < rows))
  used = np.asarray(batch.contexts)[np.asarray(batch.mask) > 0]
  assert read(updates) == held[used].sum()  # each slot's rows
  assert read(shared_updates) == held[np.unique(used)].sum()  # each word's rows, once


@pytest.mark.parametrize("shared", [True, False])
def test_subword_loss_matches_numpy(shared):
  # word2vec.c's orientation (shared): each context word's subword mean predicts the centre
  # against the window's noise words; fastText's: the centre's mean predicts each context
  # word against its own K noise words.
  cfg = TrainConfig(dim=5, window=2, negatives=2, minn=2, maxn=4, buckets=41,
                    share_negatives=shared)
  vocab = _vocab()
  method = methods.build(cfg, vocab)
  params = _random_params(method)
  batch = _batch(np.random.default_rng(2), method, centres=6)
  place = _stored_at(method, vocab, 2, 4, 41)
  v = np.asarray(params["v"], np.float64)
  t, c, n, m = (np.asarray(x) for x in batch)
  want = 0.0
  for i in range(len(t)):
    for j in np.flatnonzero(m[i]):
      if shared:
        h = _subword_inputs(params, place, vocab, [c[i, j]], 2, 4, 41)[0]
        target, noise = t[i], n[i, 0]
      else:
        h = _subword_inputs(params, place, vocab, [t[i]], 2, 4, 41)[0]
        target, noise = c[i, j], n[i, j]
      noise = noise[noise != target]
      want -= np.log(_sigmoid(h @ v[target])) + np.log(_sigmoid(-(v[noise] @ h))).sum()
  np.testing.assert_allclose(method.loss(params, method.constants, batch), want, rtol=1e-5)


@pytest.mark.parametrize("fields,message", [
    (dict(architecture="lsa"), "unknown architecture 'lsa'"),
    (dict(architecture="glove", weighting="linear"), "unknown weighting 'linear'"),
    (dict(architecture="ppmi_svd", svd_solver="lapack"), "unknown svd_solver 'lapack'"),
    (dict(architecture="ppmi", cds=0.0), "cds must be > 0, got 0.0"),
    (dict(architecture="glove", maxn=6), "subwords .maxn > 0. are trained with architecture=skipgram, not glove"),
    (dict(architecture="glove", centre_order="blocks"), "centre_order=blocks orders the centre "
                                                         "words of skipgram and cbow; glove"),
    (dict(objective="hierarchical"), "unknown objective 'hierarchical'"),
    (dict(architecture="cbow", objective="softmax"), "cbow trains with negative_sampling or "
                                                     "hierarchical_softmax, not softmax"),
    (dict(maxn=6, objective="nce"), "skipgram with subwords trains with"),
    (dict(maxn=2, minn=3), "subwords need 1 <= minn <= maxn, got minn=3, maxn=2"),
    (dict(maxn=6, buckets=0), "subwords need buckets > 0, got 0"),
    (dict(maxn=6, architecture="cbow"), r"subwords \(maxn > 0\) are trained with architecture=skipgram"),
    (dict(negatives=0), "negative_sampling needs negatives >= 1"),
    (dict(objective="hierarchical_softmax", max_code_length=-1),
     r"max_code_length must be >= 0 \(0: no cap\), got -1"),
    (dict(max_code_length=17), "max_code_length caps the paths of hierarchical softmax, "
                               "which skipgram with negative_sampling does not use"),
    (dict(architecture="glove", max_code_length=17), "which glove with"),
    (dict(objective="hierarchical_softmax", max_code_length=3),
     "max_code_length=3 is too short for 12 words: a tree of them needs paths of 4 nodes"),
])
def test_bad_method_settings_are_named(fields, message):
  with pytest.raises(InputError, match=message):
    methods.build(TrainConfig(**fields), _vocab())


def test_vocabulary_smaller_than_k_is_refused():
  with pytest.raises(InputError, match="vocabulary has 12 words .* need at least 20"):
    methods.build(TrainConfig(negatives=20), _vocab())


@pytest.mark.parametrize("fields, copies", [
    (dict(), True), (dict(architecture="cbow"), True), (dict(share_negatives=False), True),
    (dict(architecture="glove"), True), (dict(objective="hierarchical_softmax"), True),
    (dict(architecture="cbow", objective="hierarchical_softmax"), True),
    (dict(objective="softmax"), False), (dict(maxn=6), True)])
def test_methods_that_do_not_train_in_copies_keep_one_cpu_device(fields, copies):
  from types import SimpleNamespace

  from w2vjax import step
  config = TrainConfig(**fields)
  assert methods.trains_in_copies(config) == copies
  assert methods.cpu_devices(config) == (0 if copies else 1)
  assert methods.cpu_devices(config.replace(cpu_devices=3)) == 3  # the user's choice stands
  # Split anyway (a notebook's use_cpu_devices): the devices then train synchronously.
  two_cpus = SimpleNamespace(num_devices=2, shard_tables=False, on_cpu=True)
  assert step.sync_every(config, two_cpus) == (step.CPU_SYNC_EVERY if copies else 1)


def _topic_purity(emb, topics, topn=5):
  topic_of = {w: i for i, words in enumerate(topics) for w in words}
  return float(np.mean([topic_of[n] == topic_of[w] for w in topic_of
                        for n, _ in emb.most_similar(w, topn=topn)]))


@pytest.mark.parametrize("name", ["sg-hs", "cbow-ns", "cbow-hs", "subword-ns",
                                  "subword-ns-runs"])
def test_new_methods_recover_two_topics(topic_corpus, name):
  path, topics = topic_corpus
  # 64 centres of a 40-word vocabulary repeat each word's rows: a step sums many updates
  # that fastText would apply one by one, so the subwords' default rate of 0.05 is too high.
  cfg = TrainConfig(corpus=str(path), dim=16, window=3, negatives=5, min_count=1,
                    subsample=0, epochs=3, batch_size=64, learning_rate=0.025,
                    **{**CONFIGS[name], "buckets": 1000})
  result = train(cfg, show_progress=False)
  # Chance is 19/39 (about 0.49); planted topics give near 1.
  assert _topic_purity(result.embeddings, topics) > 0.95
  assert result.metrics[-1]["loss"] < result.metrics[0]["loss"]
