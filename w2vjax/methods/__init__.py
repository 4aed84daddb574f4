"""The methods' registry: the one place that turns a config into a ``Method``.

  method = methods.build(config, vocab)

Architectures and objectives combine as follows (``maxn > 0`` adds fastText's subwords):

| architecture | objectives |
|---|---|
| skipgram | negative_sampling, nce, sampled_softmax, softmax, hierarchical_softmax |
| cbow | negative_sampling, hierarchical_softmax |
| skipgram with subwords | negative_sampling, hierarchical_softmax |
| glove | its own (weighted least squares on log counts) |
| ppmi, ppmi_svd | none: solved in closed form from the counts |

skipgram and cbow train on windows of the corpus; glove, ppmi and ppmi_svd on its
co-occurrence counts (``data_kind``).
"""

from __future__ import annotations

import numpy as np

from w2vjax import cooccurrence, huffman, ppmi
from w2vjax.corpus import make_noise_sampler, order_of
from w2vjax.errors import InputError
from w2vjax.methods import cbow, count, glove, sharded_softmax, skipgram, subword
from w2vjax.methods.base import (Method, huffman_path, logistic_window_method, no_model_file,
                                 tables, with_noise)

WINDOW_ARCHITECTURES = ("skipgram", "cbow")
COUNT_ARCHITECTURES = ("glove", "ppmi", "ppmi_svd")
ARCHITECTURES = WINDOW_ARCHITECTURES + COUNT_ARCHITECTURES
OBJECTIVES = ("negative_sampling", "nce", "sampled_softmax", "softmax", "hierarchical_softmax")
NOISE_OBJECTIVES = ("negative_sampling", "nce", "sampled_softmax")
# word2vec.c's skip-gram rate, kept by full softmax, NCE and sampled softmax (the
# objective study's setting).
SKIPGRAM_LEARNING_RATE = 0.025
# Skip-gram's logistic window methods (negative sampling in either orientation,
# hierarchical softmax): fastText's rate, ahead of 0.025 on wikipedia-en-9m and text8-1m
# (BUILD_NOTES, "fastText's skip-gram against w2vjax's: the ablation").
WINDOW_SKIPGRAM_LEARNING_RATE = 0.05
_COMBINATIONS = {
    "skipgram": OBJECTIVES,
    "cbow": ("negative_sampling", "hierarchical_softmax"),
    "subwords": ("negative_sampling", "hierarchical_softmax"),
}

__all__ = ["ARCHITECTURES", "OBJECTIVES", "Method", "build", "cpu_devices", "data_kind",
           "trains_in_copies", "validate"]


def _family(config) -> str:
  return "subwords" if config.maxn > 0 else config.architecture


def data_kind(config) -> str:
  """The kind of data (a key of w2vjax.data.SOURCES) the config's method trains on."""
  return "cooccurrence" if config.architecture in COUNT_ARCHITECTURES else "windows"


def trains_in_copies(config) -> bool:
  """Whether the config's method keeps its quality and speed on CPU devices that each
  train their own copy of the tables, merged now and then (w2vjax.step; BUILD_NOTES, "CPU
  cores as devices"). Not full softmax, whose every step updates every row, so each copy
  would pay for the whole table."""
  return not (config.architecture in WINDOW_ARCHITECTURES and config.objective == "softmax")


def cpu_devices(config) -> int:
  """The JAX devices a launcher splits a CPU host into for ``config``: its
  ``cpu_devices``, or (0) one per core for a method that trains in copies, else 1."""
  return config.cpu_devices or (0 if trains_in_copies(config) else 1)


def _validate_counts(config) -> None:
  choices = {"weighting": cooccurrence.WEIGHTINGS, "svd_solver": ppmi.SVD_SOLVERS}
  for name, allowed in choices.items():
    if getattr(config, name) not in allowed:
      raise InputError(f"unknown {name} {getattr(config, name)!r}; choose one of {allowed}")
  for name in ("cds", "shift", "x_max"):
    if not getattr(config, name) > 0:
      raise InputError(f"{name} must be > 0, got {getattr(config, name)}")
  if config.glove_alpha < 0:
    raise InputError(f"glove_alpha must be >= 0, got {config.glove_alpha}")
  if config.maxn > 0:
    raise InputError(f"subwords (maxn > 0) are trained with architecture=skipgram, "
                     f"not {config.architecture}")
  if config.centre_order != "shuffled":
    raise InputError(f"centre_order={config.centre_order} orders the centre words of "
                     f"skipgram and cbow; {config.architecture} trains on co-occurrence "
                     "counts, so leave it shuffled")


def validate(config) -> None:
  """Raises InputError naming the first setting no method accepts."""
  if config.architecture not in ARCHITECTURES:
    raise InputError(f"unknown architecture {config.architecture!r}; "
                     f"choose one of {ARCHITECTURES}")
  if config.max_code_length < 0:
    raise InputError(f"max_code_length must be >= 0 (0: no cap), got {config.max_code_length}")
  if config.max_code_length and (config.architecture in COUNT_ARCHITECTURES
                                 or config.objective != "hierarchical_softmax"):
    raise InputError("max_code_length caps the paths of hierarchical softmax, which "
                     f"{config.architecture} with {config.objective} does not use: leave it 0")
  if config.architecture in COUNT_ARCHITECTURES:
    return _validate_counts(config)
  if config.objective not in OBJECTIVES:
    raise InputError(f"unknown objective {config.objective!r}; choose one of {OBJECTIVES}")
  family = _family(config)
  if config.objective not in _COMBINATIONS[family]:
    what = "skipgram with subwords" if family == "subwords" else config.architecture
    raise InputError(f"{what} trains with {' or '.join(_COMBINATIONS[family])}, "
                     f"not {config.objective}")
  if config.maxn > 0 and config.architecture != "skipgram":
    raise InputError("subwords (maxn > 0) are trained with architecture=skipgram")
  if config.objective in NOISE_OBJECTIVES and config.negatives < 1:
    raise InputError(f"{config.objective} needs negatives >= 1, got {config.negatives}")
  if config.maxn < 0:
    raise InputError(f"maxn must be >= 0 (0: no subwords), got {config.maxn}")
  if config.maxn > 0:
    if not 1 <= config.minn <= config.maxn:
      raise InputError(f"subwords need 1 <= minn <= maxn, got minn={config.minn}, "
                       f"maxn={config.maxn}")
    if config.buckets <= 0:
      raise InputError(f"subwords need buckets > 0, got {config.buckets}")


def _check_vocabulary(config, vocab_size: int) -> None:
  # Two words make the smallest vocabulary in which a context can be told from noise;
  # fewer words than noise draws or window slots means a corpus too small to learn from.
  negatives = (config.negatives if config.objective in NOISE_OBJECTIVES
               and config.architecture in WINDOW_ARCHITECTURES else 2)
  needed = max(2, config.window, negatives)
  if vocab_size < needed:
    raise InputError(f"vocabulary has {vocab_size} words with min_count={config.min_count}; "
                     f"need at least {needed}: lower min_count or use a larger corpus")
  if config.max_code_length and config.max_code_length < huffman.shortest_cap(vocab_size):
    raise InputError(f"max_code_length={config.max_code_length} is too short for "
                     f"{vocab_size} words: a tree of them needs paths of "
                     f"{huffman.shortest_cap(vocab_size)} nodes")


def _softmax(config, vocab) -> Method:
  size, slots = len(vocab), 2 * config.window
  return Method(
      name="skip-gram, full softmax", data="windows", constants={},
      outputs_per_pair=size, step_floats=3 * size + slots,
      learning_rate=SKIPGRAM_LEARNING_RATE,
      init=tables(size, "v", size, config.dim, config.init_scale, config.context_init),
      loss=skipgram.full_softmax_loss, row_grads=None, embeddings=skipgram.input_vectors,
      save_model=no_model_file, sharded_loss=sharded_softmax.training_loss(size))


def _pairwise(config, vocab) -> Method:
  """NCE and sampled softmax, scored pair by pair with per-pair autodiff."""
  size, k, slots = len(vocab), config.negatives, 2 * config.window
  loss, row_grads = skipgram.pairwise_loss(config.objective)
  return Method(
      name=f"skip-gram, {config.objective} K={k}", data="windows",
      constants={"noise": make_noise_sampler(vocab.counts, config.noise_exponent)},
      negatives=k, noise_per_slot=True, outputs_per_pair=k + 1,
      step_floats=3 * slots * (k + 2) * config.dim, learning_rate=SKIPGRAM_LEARNING_RATE,
      init=tables(size, "v", size, config.dim, config.init_scale, config.context_init),
      loss=loss, row_grads=row_grads, embeddings=skipgram.input_vectors,
      save_model=no_model_file)


def _windows(config, vocab, name: str, encode, noise_per_slot: bool, learning_rate: float,
             input_rows: int, exporters=(skipgram.input_vectors, no_model_file),
             constants: dict | None = None, rows_per_centre: int = 0, input_order=None,
             **fields) -> Method:
  """A logistic window method with negative sampling or hierarchical softmax outputs;
  ``rows_per_centre``: the rows of u its inputs average per centre word, where more than
  one per input (subwords), for the memory estimate; ``input_order``: u's rows as stored
  (``methods.base.tables``)."""
  size = len(vocab)
  if config.objective == "hierarchical_softmax":
    tree = huffman.build_tree(vocab.counts, config.max_code_length)
    output = {"tree": {field: np.asarray(getattr(tree, field), np.int32)
                       for field in ("codes", "points", "lengths")}}
    decode, outputs = huffman_path, tree.codes.shape[1]
    out_table, out_rows, objective = "nodes", size - 1, "hierarchical softmax"
    # Every path crosses the root, the last inner node: by use, the nodes run backwards.
    row_order = {**fields.get("row_order", {}), "nodes": np.arange(size - 2, -1, -1)}
    fields = {**fields, "row_order": row_order, "merged_by_mean": frozenset({"nodes"})}
  else:
    output = {"noise": make_noise_sampler(vocab.counts, config.noise_exponent)}
    decode, outputs = with_noise, config.negatives + 1
    fields = {**fields, "negatives": config.negatives, "noise_per_slot": noise_per_slot}
    out_table, out_rows = "v", size
    objective = f"negative sampling K={config.negatives}"
  embeddings, save_model = exporters
  return logistic_window_method(
      f"{name}, {objective}", encode=encode, decode=decode, data="windows",
      constants={**output, **(constants or {})},
      outputs_per_pair=outputs,
      # Scores, gathered rows and their gradients; an input's averaged rows, their
      # weighted copies and their gradients.
      step_floats=(3 * 2 * config.window * (outputs + 1) + 3 * rows_per_centre) * config.dim,
      learning_rate=learning_rate,
      init=tables(input_rows, out_table, out_rows, config.dim, config.init_scale,
                  config.context_init, input_order),
      embeddings=embeddings, save_model=save_model, **fields)


def build(config, vocab) -> Method:
  """The method ``config`` names, for ``vocab`` (its words and counts)."""
  validate(config)
  _check_vocabulary(config, len(vocab))
  family = _family(config)
  if family == "glove":
    return glove.glove(len(vocab), config.dim, config.x_max, config.glove_alpha,
                       config.add_context)
  if family == "ppmi":
    return count.ppmi_rows(config)
  if family == "ppmi_svd":
    return count.ppmi_svd(config)
  if config.objective == "softmax":
    return _softmax(config, vocab)
  if config.objective in ("nce", "sampled_softmax"):
    return _pairwise(config, vocab)
  if family == "cbow":
    return _windows(config, vocab, "CBOW", cbow.context_mean_inputs, False, cbow.LEARNING_RATE,
                    len(vocab), predictions=cbow.windows)
  # word2vec.c's orientation reads one set of noise words, or one Huffman path, per window
  # (hierarchical softmax has no noise to share); fastText's scores each pair on its own.
  word2vec_orientation = config.share_negatives or config.objective == "hierarchical_softmax"
  if family == "subwords":
    parts = subword.subword_parts(vocab, config.minn, config.maxn, config.buckets,
                                  config.subsample, by_context=word2vec_orientation,
                                  slots=2 * config.window, batch_size=config.batch_size,
                                  order=order_of(config))
    return _windows(config, vocab, f"subword skip-gram ({config.minn}-{config.maxn})",
                    parts.pop("encode"), not word2vec_orientation, subword.LEARNING_RATE,
                    **parts)
  if word2vec_orientation:
    return _windows(config, vocab, "skip-gram", skipgram.context_inputs, False,
                    WINDOW_SKIPGRAM_LEARNING_RATE, len(vocab))
  return _windows(config, vocab, "skip-gram (centre input)", skipgram.centre_word_inputs,
                  True, WINDOW_SKIPGRAM_LEARNING_RATE, len(vocab))
