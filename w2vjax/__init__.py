"""w2vjax: word embeddings in JAX (skip-gram, CBOW, hierarchical softmax, subwords, sampled
objectives), trained fast and evaluated honestly."""

from w2vjax import datasets, methods
from w2vjax.config import TrainConfig
from w2vjax.corpus import Batch, sample_batch
from w2vjax.embeddings import Embeddings
from w2vjax.evaluation import (evaluate, evaluate_analogy, evaluate_classification,
                               evaluate_similarity)
from w2vjax.text import Vocab, tokenize
from w2vjax.training import TrainResult, train

__all__ = [
    "Batch", "Embeddings", "TrainConfig", "TrainResult", "Vocab", "datasets", "evaluate",
    "evaluate_analogy", "evaluate_classification", "evaluate_similarity", "methods",
    "sample_batch", "tokenize", "train",
]
__version__ = "0.2.0"
