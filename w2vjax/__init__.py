"""w2vjax: skip-gram word2vec in JAX, full softmax and K-sample objectives, evaluated honestly."""

from w2vjax import datasets
from w2vjax.config import TrainConfig
from w2vjax.corpus import Batch, sample_batch
from w2vjax.embeddings import Embeddings
from w2vjax.evaluation import (evaluate, evaluate_analogy, evaluate_classification,
                             evaluate_similarity)
from w2vjax.text import Vocab, tokenize
from w2vjax.training import TrainResult, train

__all__ = [
    "Batch", "Embeddings", "TrainConfig", "TrainResult", "Vocab", "datasets", "evaluate",
    "evaluate_analogy", "evaluate_classification", "evaluate_similarity", "sample_batch",
    "tokenize", "train",
]
__version__ = "0.1.0"
