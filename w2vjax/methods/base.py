"""What every method is: a named set of pure functions, and the pieces methods share.

A ``Method`` is to training what optax's ``GradientTransformation`` is to an optimizer:
the training loop, checkpoints, reporting, the parallel wrappers and the memory check call
its functions and never ask which method they hold. The registry (``methods.build``) is
the one place that turns a config into a method.

Most methods here are *logistic window methods*: each centre word's window gives a few
input vectors (``Inputs``: one per context word for word2vec.c's skip-gram, with or
without subwords, the context mean for CBOW, the centre's for fastText's), each of which is scored
against output rows (``Outputs``: the predicted word and its noise words for negative
sampling, the inner nodes of its Huffman path for hierarchical softmax) with binary
logistic losses. ``logistic_window_method`` assembles such a method from an input encoder
and an output layer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from w2vjax import objectives
from w2vjax.corpus import Batch
from w2vjax.embeddings import Embeddings
from w2vjax.gradients import logistic_grads


class Method(NamedTuple):
  """One word-embedding method.

  ``constants`` are device arrays the step reads but never changes (the noise sampler under
  "noise", a Huffman tree, n-gram ids); they are passed to ``loss`` and ``row_grads``.
  ``negatives`` K: the noise words of a set (0: the method draws none); each centre word
  draws one set shared by its window, or with ``noise_per_slot`` one per context slot
  (``noise_shape``).
  ``row_grads(params, constants, batch)`` returns ``(loss, {table: (rows, grads)})``, the
  touched rows (ids past the table's end are dropped) and their gradients, for the
  row-sparse update; None means the method touches every row (dense updates only).
  ``loss`` is the summed loss of a batch, which the dense update differentiates.
  ``embeddings(params, vocab)`` and ``save_model(params, vocab, workdir)`` take host arrays.
  ``sharded_loss(topology)``, where not None, is the loss to train with when the tables are
  split by rows over ``topology``'s mesh (w2vjax.placement), for a loss that would
  otherwise read a whole table on every device (full softmax); it sees tables padded to a
  multiple of the device count. ``solve(corpus) -> params``, where not None, computes the parameters in closed form from
  the prepared data (the count matrix of PPMI and its SVD) instead of training them.
  """

  name: str
  # What the method trains on (a key of w2vjax.data.SOURCES): "windows" of the corpus, or
  # "cooccurrence" counts.
  data: str
  constants: dict
  outputs_per_pair: int  # output rows scored per (input, predicted word): sizes a call
  step_floats: int  # float temporaries per centre word in a step: the memory estimate
  learning_rate: float  # the method's default learning rate (config.learning_rate = 0)
  init: Callable[[jax.Array], dict]
  loss: Callable[[dict, dict, Batch], jax.Array]
  row_grads: Callable | None
  embeddings: Callable[[dict, object], Embeddings]
  save_model: Callable[[dict, object, object], None]
  # Predictions the loss sums over in a batch (pairs; windows for CBOW): the reported
  # loss is per prediction.
  predictions: Callable[[Batch], jax.Array] = lambda batch: jnp.sum(batch.mask, dtype=jnp.int32)
  solve: Callable | None = None
  sharded_loss: Callable | None = None
  # Tables whose rows are not all in order of use or not all updated, each mapped to the
  # rows a step can update, most often updated first (a Huffman tree's inner nodes: the
  # root, the last row, first; a subword u, stored by use: its rows that some word holds).
  # The other tables' rows are in that order already: word ids are frequency ranks.
  # Devices that train their own copies merge the first rows most often, and rows left
  # out never (w2vjax.step).
  row_order: dict = {}
  negatives: int = 0
  noise_per_slot: bool = False
  # Tables whose most used rows every copy moves alike (a Huffman tree's nodes near the
  # root, on every word's path): copies merge those rows by the mean of their changes,
  # not the sum, which overshot them (w2vjax.step; BUILD_NOTES).
  merged_by_mean: frozenset = frozenset()

  def noise_shape(self, window: int) -> tuple[int, int]:
    """(S, K): the S sets of K noise words each centre word of a batch of ``window`` draws
    (2 * window sets with ``noise_per_slot``, so a narrower window draws fewer)."""
    if not self.negatives:
      return (0, 0)
    return (2 * window if self.noise_per_slot else 1, self.negatives)


CONTEXT_INITS = ("zeros", "uniform")


def no_model_file(params: dict, vocab, workdir) -> None:
  """``save_model`` of methods whose exported vectors are the whole model."""


def uniform(key: jax.Array, shape: tuple[int, int], scale: float) -> jax.Array:
  """word2vec's input initialisation: U(-scale/d, +scale/d)."""
  return jax.random.uniform(key, shape, jnp.float32, -scale / shape[1], scale / shape[1])


def output_table(key: jax.Array, shape: tuple[int, int], context_init: str, scale: float):
  """word2vec's zeros for output rows, or the input's uniform distribution.

  With zero output rows every first input gradient is zero, so the input vectors move only
  once the outputs have learned something, which keeps the early, noisy updates from
  scrambling the random but distinct input vectors.
  """
  return jnp.zeros(shape, jnp.float32) if context_init == "zeros" else uniform(key, shape, scale)


def tables(input_rows: int, output_name: str, output_rows: int, dim: int, init_scale: float,
           context_init: str, input_order=None) -> Callable[[jax.Array], dict]:
  """``init(key)`` of the input table u and one output table (``output_name``): "v" with a
  row per word, or "nodes" with a row per inner node of a Huffman tree. ``input_order``
  (None: in order) lists u's rows in the order the table stores them; each row starts
  from the values it would have in order, so the order changes no vector."""
  def init(key):
    k_u, k_out = jax.random.split(key)
    u = uniform(k_u, (input_rows, dim), init_scale)
    return {"u": u if input_order is None else u[input_order],
            output_name: output_table(k_out, (output_rows, dim), context_init, init_scale)}
  return init


class Inputs(NamedTuple):
  """A batch's input vectors and where their gradients go.

  ``vectors`` [B, H, d] are means of rows of the table ``table``: the rows ``ids`` [N],
  each in mean ``slots`` [N] with weight ``weights`` [N] (0 or 1; 0 pads). Input i is
  mean ``sources[i]`` (``sources`` [B * H]), so inputs that are the same word share one
  mean and its rows are read and updated once; None: input i is mean i. ``targets``
  [B, T] are the words the inputs predict and ``pairs`` [B, H, T] marks which input
  predicts which target.
  """

  table: str
  vectors: jax.Array
  ids: jax.Array
  slots: jax.Array
  weights: jax.Array
  targets: jax.Array
  pairs: jax.Array
  sources: jax.Array | None = None


def padded_inputs(table: str, vectors: jax.Array, ids: jax.Array, weights: jax.Array,
                  targets: jax.Array, pairs: jax.Array) -> Inputs:
  """``Inputs`` whose rows are padded to one length: ``ids`` and ``weights`` [B, H, R]."""
  b, h, r = ids.shape
  return Inputs(table, vectors, ids.reshape(-1), jnp.repeat(jnp.arange(b * h), r),
                weights.reshape(-1), targets, pairs)


class Outputs(NamedTuple):
  """Output rows for each target: ``ids`` [B, T, O] of table ``table``, ``positive``
  [B, T, O] (or broadcastable) where the label is 1, ``mask`` [B, T, O] (or broadcastable)."""

  table: str
  ids: jax.Array
  positive: jax.Array
  mask: jax.Array


def _mean_with_sum_gradient(total: jax.Array, size: jax.Array) -> jax.Array:
  """total / max(1, size) whose gradient is the sum's: every averaged row receives the
  mean's whole gradient (word2vec.c's CBOW and fastText's update), not 1/n of it. So the
  dense update (jax.grad of the loss) trains what the closed-form row gradients train."""
  mean = total / jnp.maximum(size, 1.0)
  return jax.lax.stop_gradient(mean) + total - jax.lax.stop_gradient(total)


def masked_mean(table: jax.Array, ids: jax.Array, weights: jax.Array) -> jax.Array:
  """sum_r w_r table[ids_r] / max(1, sum_r w_r) over the last axis of ``ids``, with the
  sum's gradient (``_mean_with_sum_gradient``)."""
  total = jnp.einsum("...r,...rd->...d", weights, table[ids])
  return _mean_with_sum_gradient(total, weights.sum(-1, keepdims=True))


def mean_of_rows(table: jax.Array, ids: jax.Array, slots: jax.Array, weights: jax.Array,
                 count: int) -> jax.Array:
  """``masked_mean`` of rows packed one after another: the [count, d] means of the rows
  ``ids`` [N] weighted by ``weights`` [N], each row in the mean of ``slots`` [N]
  (nondecreasing)."""
  total = jax.ops.segment_sum(weights[:, None] * table[ids], slots, count,
                              indices_are_sorted=True)
  size = jax.ops.segment_sum(weights, slots, count, indices_are_sorted=True)
  return _mean_with_sum_gradient(total, size[:, None])


def _scored(params: dict, inputs: Inputs, outputs: Outputs):
  """Per window: input vectors [B, H, d], output vectors [B, T*O, d], labels and mask."""
  b, t, o = outputs.ids.shape
  positive = jnp.broadcast_to(outputs.positive, (b, t, o)).reshape(b, t * o)
  out_mask = jnp.broadcast_to(outputs.mask, (b, t, o))
  mask = (inputs.pairs[:, :, :, None] * out_mask[:, None]).reshape(b, -1, t * o)
  vectors = params[outputs.table][outputs.ids.reshape(b, t * o)]
  return inputs.vectors, vectors, positive, mask


def _per_mean(sources: jax.Array | None, d_inputs: jax.Array, scored: jax.Array):
  """Each mean's gradient (the sum of its inputs') and whether any of its inputs is
  scored, from the inputs' [B * H, d] and [B * H] (``Inputs.sources``)."""
  if sources is None:
    return d_inputs, scored
  count = sources.shape[0]
  return (jax.ops.segment_sum(d_inputs, sources, count),
          jax.ops.segment_sum(scored.astype(jnp.int32), sources, count) > 0)


def logistic_window_method(name: str, *, encode: Callable, decode: Callable,
                           **fields) -> Method:
  """A method whose windows are scored with binary logistic losses.

  ``encode(params, constants, batch) -> Inputs`` and ``decode(constants, batch, targets)
  -> Outputs``. The closed-form row gradients equal ``jax.grad(loss)``: every row of an
  input mean receives the mean's whole gradient (``masked_mean``).
  """
  def gathered(params, constants, batch):
    inputs = encode(params, constants, batch)
    return inputs, decode(constants, batch, inputs.targets)

  def loss(params, constants, batch):
    inputs, outputs = gathered(params, constants, batch)
    return jnp.sum(jax.vmap(objectives.logistic_loss)(*_scored(params, inputs, outputs)))

  def row_grads(params, constants, batch):
    inputs, outputs = gathered(params, constants, batch)
    h, out, positive, mask = _scored(params, inputs, outputs)
    losses, d_in, d_out = jax.vmap(logistic_grads)(h, out, positive, mask)
    in_size, out_size = params[inputs.table].shape[0], params[outputs.table].shape[0]
    d_means, scored = _per_mean(inputs.sources, d_in.reshape(-1, d_in.shape[-1]),
                                (mask.sum(-1) > 0).reshape(-1))
    used = (inputs.weights > 0) & scored[inputs.slots]
    in_rows = jnp.where(used, inputs.ids, in_size)
    in_grads = d_means[inputs.slots]
    out_rows = jnp.where(mask.sum(1) > 0, outputs.ids.reshape(mask.shape[0], -1), out_size)
    updates = {inputs.table: (in_rows, in_grads),
               outputs.table: (out_rows.reshape(-1), d_out.reshape(-1, d_out.shape[-1]))}
    return jnp.sum(losses), updates

  return Method(name=name, loss=loss, row_grads=row_grads, **fields)


def with_noise(constants: dict, batch: Batch, targets: jax.Array) -> Outputs:
  """Negative sampling's output rows: each target, then its K noise words
  (``batch.negatives`` [B, T, K]), labelled 1 and 0. A noise word that is its own target
  is not scored: word2vec.c and gensim skip it (fastText draws another), rather than push
  the target away from the input that should predict it."""
  ids = jnp.concatenate([targets[:, :, None], batch.negatives], axis=2)
  positive = (jnp.arange(ids.shape[2]) == 0)[None, None]
  return Outputs("v", ids, positive, (positive | (ids != targets[:, :, None])).astype(
      jnp.float32))


def huffman_path(constants: dict, batch: Batch, targets: jax.Array) -> Outputs:
  """Hierarchical softmax's output rows: the inner nodes on each target's Huffman path,
  with the branch taken at each (word2vec.c: p(branch) = s(h.v) where the code is 0)."""
  tree = constants["tree"]
  depth = tree["points"].shape[1]
  mask = (jnp.arange(depth) < tree["lengths"][targets][..., None]).astype(jnp.float32)
  return Outputs("nodes", tree["points"][targets], tree["codes"][targets] == 0, mask)
