"""Subword skip-gram (fastText: character 3- to 6-grams in 2M hashed buckets) with negative
sampling on wikipedia-en-9m, sgns_wiki9m's data settings; also writes model.npz for
out-of-vocabulary words."""

from w2vjax import datasets
from w2vjax.config import TrainConfig


def get_config():
  corpus = datasets.shared_corpus("wikipedia-en-9m")
  # One CPU device: the n-gram rows are hashed, so the frequent ones are not the block of
  # rows that devices training their own copies merge often, and every merge of all rows
  # would move the 2M-row table (w2vjax.step).
  return TrainConfig(corpus=corpus, architecture="skipgram",
                     objective="negative_sampling", minn=3, maxn=6,
                     buckets=2_000_000, cpu_devices=1).to_config_dict()
