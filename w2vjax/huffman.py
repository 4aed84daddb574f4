"""Hierarchical softmax's Huffman tree, built from word counts as word2vec.c builds it.

A vocabulary of V words gives a binary tree with V leaves and V - 1 inner nodes. Inner
nodes are numbered 0..V-2 in the order the construction creates them, so the root is
V - 2 and the ids index a [V - 1, d] table of node vectors (word2vec.c's syn1).

Word w's path from the root visits inner nodes points[w, 0..n-1] (n = lengths[w];
points[w, 0] is always the root) and takes branch codes[w, j] in {0, 1} at the j-th.
word2vec.c trains node j with f = s(h . syn1[point_j]) and g = (1 - code_j - f) * alpha:
the branch with code 0 has probability s(h.v) and the branch with code 1 has s(-h.v), so

  p(w | h) = prod_j s((1 - 2 code_j) h . v_{points_j}),

with s the logistic function. Since s(x) + s(-x) = 1 at every inner node, these
probabilities sum to 1 over the vocabulary for any h and any node vectors.

``build_tree(counts, max_length=L)`` caps every path at L nodes: the code lengths are the
optimal ones under that cap (Larmore and Hirschberg's package-merge), and the tree is the
canonical code of those lengths, its inner nodes numbered by depth (the root is still
V - 2). A step pads every path to the deepest leaf, so the cap is what a step pays for
(BUILD_NOTES, "A tree no deeper than 17").
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class HuffmanTree(NamedTuple):
  """Per-word paths, padded with 0 past each word's length to L, the deepest leaf's depth."""

  codes: np.ndarray  # int32 [V, L]: the branch (0 or 1) taken at each step from the root
  points: np.ndarray  # int32 [V, L]: the inner node (0..V-2) at each step; root is V-2
  lengths: np.ndarray  # int32 [V]: the number of steps from the root to the word's leaf


def _merge(sorted_counts: list[int]) -> tuple[np.ndarray, np.ndarray]:
  """word2vec.c's two-queue Huffman construction over counts sorted in descending order.

  Nodes 0..V-1 are the leaves (in sorted order) and V..2V-2 the inner nodes in creation
  order. The unmerged leaves form one queue and the inner nodes another; inner nodes are
  created with non-decreasing weights, so the two lightest nodes are always at the
  queues' heads and the merge is O(V). Returns ``(parent, branch)`` over the 2V - 1
  nodes: each node's parent and the code of the branch into it (1 for the second child
  taken, as in word2vec.c); the root's entries are 0.
  """
  num_words = len(sorted_counts)
  # Both queues end in an infinite weight (word2vec.c puts 1e15 past the inner nodes),
  # so a used-up queue or a node not yet created never wins a comparison.
  leaf_weight = sorted_counts[::-1] + [math.inf]
  inner_weight = [math.inf] * num_words
  parent = [0] * (2 * num_words - 1)
  branch = [0] * (2 * num_words - 1)
  heads = {"leaf": 0, "inner": 0}

  def take_lightest() -> tuple[int, float]:
    # A leaf wins only if strictly lighter: word2vec.c's `count[pos1] < count[pos2]`,
    # which decides ties, and so the codes, in favour of the inner node.
    leaf, inner = heads["leaf"], heads["inner"]
    if leaf_weight[leaf] < inner_weight[inner]:
      heads["leaf"] += 1
      return num_words - 1 - leaf, leaf_weight[leaf]
    heads["inner"] += 1
    return num_words + inner, inner_weight[inner]

  for new in range(num_words - 1):
    first, first_weight = take_lightest()
    second, second_weight = take_lightest()
    inner_weight[new] = first_weight + second_weight
    parent[first] = parent[second] = num_words + new
    branch[second] = 1
  return np.array(parent, np.int32), np.array(branch, np.int32)


def _walk_up(parent: np.ndarray, num_words: int) -> tuple[np.ndarray, np.ndarray]:
  """Every leaf's ancestors, all leaves stepping up together: ``(walks, lengths)``.

  ``walks`` [L + 1, V]: row k holds each leaf's ancestor k steps up (the root once it is
  reached); ``lengths`` [V]: each leaf's depth. One whole-vocabulary gather per level
  replaces one Python step per node.
  """
  root = 2 * num_words - 2
  parent = parent.copy()
  parent[root] = root  # so that finished walks stay put
  node = np.arange(num_words, dtype=np.int32)
  walks = [node]
  lengths = np.zeros(num_words, np.int32)
  below_root = node != root
  while below_root.any():
    lengths += below_root
    node = parent[node]
    walks.append(node)
    below_root = node != root
  return np.stack(walks), lengths


def _paths(parent: np.ndarray, branch: np.ndarray, leaf_words: np.ndarray) -> HuffmanTree:
  """Every word's path, given the tree from ``_merge`` and the word at each leaf.

  The walks run from the leaf end, so the leaves are grouped by length and each group's
  walks are written reversed into its words' rows.
  """
  num_words = len(leaf_words)
  walks, leaf_lengths = _walk_up(parent, num_words)
  by_length = np.argsort(leaf_lengths, kind="stable")
  # One transposing copy, so that each leaf's walk is a contiguous row.
  walks = np.ascontiguousarray(walks.T)[by_length]  # [V, L + 1]
  branches = branch[walks[:, :-1]]  # the branch into each node on the walk
  inner_ids = walks[:, 1:] - num_words  # the inner node that branch leaves
  max_length = walks.shape[1] - 1
  codes = np.zeros((num_words, max_length), np.int32)
  points = np.zeros_like(codes)
  bounds = np.searchsorted(leaf_lengths[by_length], np.arange(max_length + 2))
  for length in range(1, max_length + 1):
    group = slice(bounds[length], bounds[length + 1])
    words = leaf_words[by_length[group]]
    codes[words, :length] = branches[group, length - 1::-1]
    points[words, :length] = inner_ids[group, length - 1::-1]
  lengths = np.empty(num_words, np.int32)
  lengths[leaf_words] = leaf_lengths
  return HuffmanTree(codes=codes, points=points, lengths=lengths)


def shortest_cap(num_words: int) -> int:
  """The fewest nodes a path can be capped at in a tree of ``num_words`` leaves."""
  return (num_words - 1).bit_length()


def limited_lengths(ascending_counts: np.ndarray, max_length: int) -> np.ndarray:
  """Package-merge: the code lengths, at most ``max_length``, that minimise
  sum(count * length) over prefix codes, for counts in ascending order (lengths come
  back non-increasing).

  Level ``max_length`` lists the leaves; each level above lists the leaves merged (by
  weight) with the pairs of the level below, packaged. The 2V - 2 lightest items of the
  top level are chosen, and the packages chosen at a level choose twice as many items of
  the level below; a leaf's length is the number of levels whose chosen items hold it.
  The chosen items of a level are its lightest, and those leaves its lightest leaves.
  """
  num_words = len(ascending_counts)
  weights = np.asarray(ascending_counts, np.float64)
  is_leaf_by_level = []
  items = weights
  for _ in range(max_length - 1):
    packages = items[0:len(items) // 2 * 2:2] + items[1:len(items) // 2 * 2:2]
    merged = np.concatenate([weights, packages])
    order = np.argsort(merged, kind="stable")  # leaves first among equal weights
    items = merged[order]
    is_leaf_by_level.append(order < num_words)
  lengths = np.zeros(num_words, np.int64)
  chosen = 2 * num_words - 2
  for is_leaf in [np.ones(num_words, bool), *is_leaf_by_level][::-1]:
    leaves = int(np.count_nonzero(is_leaf[:chosen]))
    lengths[:leaves] += 1
    chosen = 2 * (chosen - leaves)
  return lengths


def _canonical_tree(lengths: np.ndarray, leaf_words: np.ndarray) -> HuffmanTree:
  """The canonical prefix code of non-decreasing ``lengths`` (Kraft sum 1) as a tree: its
  inner nodes are the codes' distinct proper prefixes, numbered by depth with the root
  last (V - 2), and the leaf with the i-th length holds ``leaf_words[i]``."""
  num_words, depth = len(lengths), int(lengths.max())
  # A code is its leaf's place in the code space: the Kraft sum of the shorter-or-equal
  # codes before it, in units of 2^-length (exact, since lengths never decrease).
  spans = np.left_shift(1, depth - lengths.astype(np.int64))
  codes = (np.cumsum(spans) - spans) >> (depth - lengths)
  level = np.arange(depth)
  on_path = level[None, :] < lengths[:, None]
  shift = np.maximum(lengths[:, None] - level[None, :], 0)
  prefixes = codes[:, None] >> shift  # the node at depth j: the code's first j bits
  keys = np.where(on_path, level[None, :] << depth | prefixes, -1)
  unique, node_rank = np.unique(keys, return_inverse=True)
  node_rank = node_rank.reshape(keys.shape) - (unique[0] < 0)
  bits = (codes[:, None] >> np.maximum(shift - 1, 0)) & 1
  points = np.zeros((num_words, depth), np.int32)
  branch = np.zeros_like(points)
  points[leaf_words] = np.where(on_path, num_words - 2 - node_rank, 0)
  branch[leaf_words] = np.where(on_path, bits, 0)
  word_lengths = np.empty(num_words, np.int32)
  word_lengths[leaf_words] = lengths
  return HuffmanTree(codes=branch, points=points, lengths=word_lengths)


def build_tree(counts: np.ndarray, max_length: int = 0) -> HuffmanTree:
  """The Huffman tree of word2vec.c's CreateBinaryTree for integer ``counts`` [V], any order,
  or with ``max_length`` > 0 the optimal tree whose paths have at most that many nodes.

  word2vec.c sorts its vocabulary by descending count first; here words with equal
  counts sort by id (a stable sort), which fixes the tie-breaking, and the rows come back
  in the order of ``counts``. O(V log V) for the sort, O(V) for the merge, O(V L) for
  the paths; O(V L log V) for a capped tree.
  """
  counts = np.asarray(counts)
  if counts.ndim != 1 or len(counts) < 2:
    raise ValueError(f"a Huffman tree needs a 1-D array of at least 2 word counts, "
                     f"got shape {counts.shape}")
  if np.any(counts < 0):
    raise ValueError("word counts must be non-negative")
  if max_length and max_length < shortest_cap(len(counts)):
    raise ValueError(f"no tree of {len(counts)} words has paths of at most {max_length} "
                     f"nodes: it needs {shortest_cap(len(counts))}")
  order = np.argsort(-counts.astype(np.int64), kind="stable")
  if max_length:
    lengths = limited_lengths(counts[order][::-1], max_length)[::-1]
    return _canonical_tree(lengths, leaf_words=order)
  parent, branch = _merge(counts[order].astype(np.int64).tolist())
  return _paths(parent, branch, leaf_words=order)


def path_log_probs(h: jax.Array, node_vectors: jax.Array, codes: jax.Array,
                   points: jax.Array, lengths: jax.Array) -> jax.Array:
  """log p(w | h) for words given by their padded paths (pure, jit-able).

  ``h`` [d], ``node_vectors`` [V - 1, d], ``codes`` and ``points`` [..., L], ``lengths``
  [...]. Returns [...]: the sum over each path's first ``lengths`` steps of
  log s((1 - 2 code_j) h . v_{points_j}); the padding contributes nothing.
  """
  scores = jnp.take(node_vectors, points, axis=0) @ h  # [..., L]
  signed = jnp.where(codes == 0, scores, -scores)
  on_path = jnp.arange(codes.shape[-1]) < jnp.asarray(lengths)[..., None]
  return jnp.sum(jnp.where(on_path, jax.nn.log_sigmoid(signed), 0.0), axis=-1)
