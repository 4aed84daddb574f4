"""CBOW (context mean) with negative sampling on wikipedia-en-9m, sgns_wiki9m's data settings,
word2vec.c's CBOW learning rate 0.05, centres visited in shuffled blocks."""

from w2vjax import datasets
from w2vjax.config import TrainConfig


def get_config():
  corpus = datasets.shared_corpus("wikipedia-en-9m")
  # CBOW's step is mostly the gathers and scatter-adds of its context rows, so reading
  # each row's centres in runs of consecutive words (whose windows share those rows)
  # trained 1.2 times as fast as the shuffled order, with the same scores over 3 seeds
  # (BUILD_NOTES, "Centres in shuffled blocks"); centre_order="shuffled" undoes it.
  return TrainConfig(corpus=corpus, architecture="cbow", objective="negative_sampling",
                     centre_order="blocks").to_config_dict()
