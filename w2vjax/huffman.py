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


def build_tree(counts: np.ndarray) -> HuffmanTree:
  """The Huffman tree of word2vec.c's CreateBinaryTree for integer ``counts`` [V], any order.

  word2vec.c sorts its vocabulary by descending count first; here words with equal
  counts sort by id (a stable sort), which fixes the tie-breaking, and the rows come back
  in the order of ``counts``. O(V log V) for the sort, O(V) for the merge, O(V L) for
  the paths.
  """
  counts = np.asarray(counts)
  if counts.ndim != 1 or len(counts) < 2:
    raise ValueError(f"a Huffman tree needs a 1-D array of at least 2 word counts, "
                     f"got shape {counts.shape}")
  if np.any(counts < 0):
    raise ValueError("word counts must be non-negative")
  order = np.argsort(-counts.astype(np.int64), kind="stable")
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
