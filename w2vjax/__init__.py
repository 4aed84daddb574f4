"""w2vjax: word embeddings in JAX (skip-gram, CBOW, hierarchical softmax, subwords, sampled
objectives), trained fast and evaluated honestly.

The names below are imported on first use (PEP 562), so that a process which needs only
the host-side text pipeline (a tokenizing worker of w2vjax.encode) does not import JAX.
"""

import importlib

_EXPORTS = {
    "Batch": "w2vjax.corpus", "sample_batch": "w2vjax.corpus",
    "Embeddings": "w2vjax.embeddings", "TrainConfig": "w2vjax.config",
    "TrainResult": "w2vjax.training", "train": "w2vjax.training",
    "Vocab": "w2vjax.text", "tokenize": "w2vjax.text",
    "evaluate": "w2vjax.evaluation", "evaluate_analogy": "w2vjax.evaluation",
    "evaluate_classification": "w2vjax.evaluation",
    "evaluate_similarity": "w2vjax.evaluation", "use_cpu_devices": "w2vjax.parallel",
}
_SUBMODULES = ("datasets", "evaluation", "methods")

__all__ = sorted([*_EXPORTS, *_SUBMODULES])
__version__ = "0.2.0"


def __getattr__(name: str):
  if name in _EXPORTS:
    return getattr(importlib.import_module(_EXPORTS[name]), name)
  if name in _SUBMODULES:
    return importlib.import_module(f"w2vjax.{name}")
  raise AttributeError(f"module 'w2vjax' has no attribute {name!r}")


def __dir__():
  return __all__
