"""Tests of hierarchical softmax's Huffman tree (w2vjax.huffman)."""

from __future__ import annotations

import heapq
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from w2vjax import huffman


def _word2vec_c_tree(sorted_counts: np.ndarray) -> tuple[list[list[int]], list[list[int]]]:
  """A line-by-line transliteration of word2vec.c's CreateBinaryTree (counts descending)."""
  vocab_size = len(sorted_counts)
  count = list(sorted_counts) + [10**15] * vocab_size
  binary = [0] * (2 * vocab_size + 1)
  parent_node = [0] * (2 * vocab_size + 1)
  pos1, pos2 = vocab_size - 1, vocab_size
  for a in range(vocab_size - 1):
    mins = []
    for _ in range(2):
      if pos1 >= 0 and count[pos1] < count[pos2]:
        mins.append(pos1)
        pos1 -= 1
      else:
        mins.append(pos2)
        pos2 += 1
    count[vocab_size + a] = count[mins[0]] + count[mins[1]]
    parent_node[mins[0]] = parent_node[mins[1]] = vocab_size + a
    binary[mins[1]] = 1
  codes, points = [], []
  for a in range(vocab_size):
    code, point, b = [], [], a
    while b != 2 * vocab_size - 2:
      code.append(binary[b])
      b = parent_node[b]
      point.append(b - vocab_size)
    codes.append(code[::-1])
    points.append(point[::-1])
  return codes, points


def _optimal_weighted_length(counts: np.ndarray) -> int:
  """sum(count * code length) of any Huffman code: the sum of all merged weights (heapq)."""
  heap = [int(c) for c in counts]
  heapq.heapify(heap)
  total = 0
  while len(heap) > 1:
    merged = heapq.heappop(heap) + heapq.heappop(heap)
    total += merged
    heapq.heappush(heap, merged)
  return total


def _paths_as_lists(tree: huffman.HuffmanTree) -> tuple[list[list[int]], list[list[int]]]:
  codes = [list(row[:n]) for row, n in zip(tree.codes, tree.lengths)]
  points = [list(row[:n]) for row, n in zip(tree.points, tree.lengths)]
  return codes, points


def test_hand_built_tree():
  # word2vec.c on counts [5, 3, 2, 1]; inner nodes are numbered as they are created.
  #   merge 0: leaf 3 (1), then leaf 2 (2, code 1)  -> inner 0 (weight 3)
  #   merge 1: leaf 1 (3) ties inner 0 (3); a leaf goes first only if strictly lighter,
  #            so inner 0, then leaf 1 (code 1)      -> inner 1 (6)
  #   merge 2: leaf 0 (5), then inner 1 (6, code 1) -> inner 2 (11), the root
  # Read from the root: word 0 = [0]; word 1 = [1, 1]; word 2 = [1, 0, 1]; word 3 = [1, 0, 0].
  tree = huffman.build_tree(np.array([5, 3, 2, 1], np.int64))
  np.testing.assert_array_equal(tree.lengths, [1, 2, 3, 3])
  np.testing.assert_array_equal(tree.codes, [[0, 0, 0], [1, 1, 0], [1, 0, 1], [1, 0, 0]])
  np.testing.assert_array_equal(tree.points, [[2, 0, 0], [2, 1, 0], [2, 1, 0], [2, 1, 0]])
  assert tree.codes.dtype == tree.points.dtype == tree.lengths.dtype == np.int32
  # The same counts in another order give the same paths to the same words.
  reordered = huffman.build_tree(np.array([1, 2, 3, 5], np.int64))
  np.testing.assert_array_equal(reordered.codes, tree.codes[::-1])
  np.testing.assert_array_equal(reordered.points, tree.points[::-1])
  np.testing.assert_array_equal(reordered.lengths, tree.lengths[::-1])


def test_equal_counts_break_ties_by_word_id():
  # Counts [1, 1, 1, 1] sort as words 0, 1, 2, 3, so the leaves are taken as 3, 2 -> inner
  # 0; then 1, 0 (leaves win while strictly lighter than inner 0) -> inner 1; then inner
  # 0, inner 1 (code 1) -> the root, inner 2.
  tree = huffman.build_tree(np.ones(4, np.int64))
  np.testing.assert_array_equal(tree.codes, [[1, 1], [1, 0], [0, 1], [0, 0]])
  np.testing.assert_array_equal(tree.points, [[2, 1], [2, 1], [2, 0], [2, 0]])


@pytest.mark.parametrize("seed", range(5))
def test_matches_word2vec_c_and_is_optimal(seed):
  rng = np.random.default_rng(seed)
  num_words = int(rng.integers(2, 300))
  # Few distinct values, so ties between leaves and inner nodes are common.
  counts = rng.integers(1, 20, num_words) if seed % 2 else rng.zipf(1.5, num_words)
  counts = counts.astype(np.int64)
  tree = huffman.build_tree(counts)
  order = np.argsort(-counts, kind="stable")
  expected_codes, expected_points = _word2vec_c_tree(counts[order])
  codes, points = _paths_as_lists(tree)
  assert [codes[w] for w in order] == expected_codes
  assert [points[w] for w in order] == expected_points
  assert int(np.sum(counts * tree.lengths)) == _optimal_weighted_length(counts)
  assert tree.codes.shape == tree.points.shape == (num_words, tree.lengths.max())


@pytest.mark.parametrize("max_length", [0, 9, 12])
def test_paths_form_a_full_prefix_free_tree(max_length):
  rng = np.random.default_rng(7)
  num_words = 500
  counts = rng.zipf(1.4, num_words).astype(np.int64)
  tree = huffman.build_tree(counts, max_length)
  assert tree.codes.shape[1] == tree.lengths.max() <= (max_length or 100)
  codes, points = _paths_as_lists(tree)
  words = sorted("".join(map(str, code)) for code in codes)
  # In sorted order, a code that is a prefix of any other is a prefix of its successor.
  assert all(not b.startswith(a) for a, b in zip(words, words[1:]))
  # A full binary tree: Kraft's sum is exactly 1.
  assert sum(2.0 ** -n for n in tree.lengths) == 1.0
  # Each prefix of a code is one inner node, distinct prefixes are distinct nodes, and
  # the V - 1 inner nodes are exactly 0..V-2, with the root V - 2 first on every path.
  node_of_prefix = {}
  for code, point in zip(codes, points):
    for step, node in enumerate(point):
      assert node_of_prefix.setdefault(tuple(code[:step]), node) == node
  assert sorted(node_of_prefix.values()) == list(range(num_words - 1))
  assert np.all(tree.points[:, 0] == num_words - 2)
  # The padding is zeros.
  beyond = np.arange(tree.codes.shape[1]) >= tree.lengths[:, None]
  assert not tree.codes[beyond].any() and not tree.points[beyond].any()


def _brute_force_limited_cost(counts: np.ndarray, max_length: int) -> int:
  """min sum(count * length) over all code lengths of at most max_length with Kraft's sum
  exactly 1 (every full binary tree's), by enumeration."""
  best = None
  for lengths in itertools.product(range(1, max_length + 1), repeat=len(counts)):
    if sum(2.0 ** -n for n in lengths) == 1.0:
      cost = int(np.dot(counts, lengths))
      best = cost if best is None else min(best, cost)
  return best


@pytest.mark.parametrize("seed", range(6))
def test_capped_tree_is_optimal_under_its_cap(seed):
  rng = np.random.default_rng(seed)
  num_words = int(rng.integers(2, 8))
  counts = rng.zipf(1.6, num_words).astype(np.int64)
  for max_length in range(max(1, int(np.ceil(np.log2(num_words)))), 6):
    lengths = huffman.build_tree(counts, max_length).lengths
    assert lengths.max() <= max_length
    assert int(np.dot(counts, lengths)) == _brute_force_limited_cost(counts, max_length)


def test_a_cap_above_the_huffman_depth_costs_nothing():
  counts = np.random.default_rng(5).zipf(1.3, 2000).astype(np.int64)
  huffman_lengths = huffman.build_tree(counts).lengths
  capped = huffman.build_tree(counts, int(huffman_lengths.max()))
  assert np.dot(counts, capped.lengths) == _optimal_weighted_length(counts)
  # Tighter caps cost more, and the tightest possible one still gives a valid tree.
  tightest = huffman.build_tree(counts, 11)  # 2^11 >= 2000 words
  assert tightest.lengths.max() == 11
  assert np.dot(counts, tightest.lengths) > _optimal_weighted_length(counts)


def test_rejects_a_cap_too_short_for_the_vocabulary():
  with pytest.raises(ValueError, match="no tree of 5 words has paths of at most 2 nodes"):
    huffman.build_tree(np.array([5, 4, 3, 2, 1], np.int64), 2)


@pytest.mark.parametrize("max_length", [0, 9])
def test_more_frequent_words_never_get_longer_codes(max_length):
  rng = np.random.default_rng(3)
  counts = rng.integers(1, 50, 400).astype(np.int64)  # many ties
  lengths = huffman.build_tree(counts, max_length).lengths
  more_frequent = counts[:, None] > counts[None, :]
  assert not np.any(more_frequent & (lengths[:, None] > lengths[None, :]))


def test_two_words():
  tree = huffman.build_tree(np.array([3, 1], np.int64))
  np.testing.assert_array_equal(tree.lengths, [1, 1])
  # The lighter word is taken first (code 0), the heavier second (code 1), at the root 0.
  np.testing.assert_array_equal(tree.codes, [[1], [0]])
  np.testing.assert_array_equal(tree.points, [[0], [0]])


@pytest.mark.parametrize("counts", [[], [7], [[1, 2], [3, 4]]])
def test_rejects_fewer_than_two_words(counts):
  with pytest.raises(ValueError, match="at least 2 word counts"):
    huffman.build_tree(np.array(counts, np.int64))


def test_rejects_negative_counts():
  with pytest.raises(ValueError, match="non-negative"):
    huffman.build_tree(np.array([3, -1, 2], np.int64))


@pytest.mark.parametrize("num_words,max_length", [(2, 0), (3, 0), (17, 0), (1000, 0),
                                                  (17, 5), (1000, 10)])
def test_path_probabilities_sum_to_one(num_words, max_length):
  rng = np.random.default_rng(num_words)
  counts = rng.zipf(1.3, num_words).astype(np.int64)
  tree = huffman.build_tree(counts, max_length)
  log_probs_fn = jax.jit(huffman.path_log_probs)
  with jax.enable_x64(True):
    h = jnp.asarray(rng.normal(size=8))
    node_vectors = jnp.asarray(rng.normal(size=(num_words - 1, 8)))
    log_probs = log_probs_fn(h, node_vectors, tree.codes, tree.points, tree.lengths)
    assert log_probs.dtype == jnp.float64 and log_probs.shape == (num_words,)
    assert abs(float(jnp.sum(jnp.exp(log_probs))) - 1.0) < 1e-12
    if num_words == 1000:  # any leading shape of words gives the same values
      words = rng.integers(0, num_words, (3, 5))
      batched = log_probs_fn(h, node_vectors, tree.codes[words], tree.points[words],
                             tree.lengths[words])
      np.testing.assert_allclose(batched, np.asarray(log_probs)[words], rtol=1e-14)


def test_branch_signs_follow_word2vec_c():
  # With two words, the heavier takes code 1 at the root: p = s(-h.v); the lighter code 0.
  tree = huffman.build_tree(np.array([3, 1], np.int64))
  h = jnp.array([0.5, -1.0, 2.0])
  node_vectors = jnp.array([[1.0, 0.25, 0.75]])
  score = float(h @ node_vectors[0])
  log_probs = jax.jit(huffman.path_log_probs)(h, node_vectors, tree.codes, tree.points,
                                              tree.lengths)
  np.testing.assert_allclose(log_probs, [-np.log1p(np.exp(score)), -np.log1p(np.exp(-score))],
                             rtol=1e-6)
