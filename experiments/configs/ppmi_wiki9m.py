"""Sparse PPMI rows on wikipedia-en-9m: window 5 (uniform weights, symmetric), min_count 5,
context distribution smoothing 0.75, no shift; evaluated as |V|-dimensional sparse vectors."""

from w2vjax import datasets
from w2vjax.config import TrainConfig


def get_config():
  corpus = datasets.shared_corpus("wikipedia-en-9m")
  return TrainConfig(corpus=corpus, architecture="ppmi", min_count=5, window=5,
                     weighting="uniform", symmetric=True, subsample=0.0, cds=0.75,
                     shift=1.0).to_config_dict()
