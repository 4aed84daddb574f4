"""Skip-gram with negative sampling on wikipedia-en-9m, gensim's defaults (d 100, window 5,
K 5, min_count 5, sample 1e-3, 5 epochs)."""

from w2vjax import datasets
from w2vjax.config import TrainConfig


def get_config():
  corpus = datasets.shared_corpus("wikipedia-en-9m")
  return TrainConfig(corpus=corpus, dim=100, window=5, negatives=5, min_count=5,
                     subsample=1e-3, epochs=5).to_config_dict()
