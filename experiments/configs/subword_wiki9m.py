"""Subword skip-gram (fastText: character 3- to 6-grams in 2M hashed buckets) with negative
sampling on wikipedia-en-9m, sgns_wiki9m's data settings; also writes model.npz for
out-of-vocabulary words."""

from w2vjax import datasets
from w2vjax.config import TrainConfig


def get_config():
  corpus = datasets.shared_corpus("wikipedia-en-9m")
  return TrainConfig(corpus=corpus, architecture="skipgram",
                     objective="negative_sampling", minn=3, maxn=6,
                     buckets=2_000_000).to_config_dict()
