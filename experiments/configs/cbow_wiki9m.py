"""CBOW (context mean) with negative sampling on wikipedia-en-9m, sgns_wiki9m's data settings,
word2vec.c's CBOW learning rate 0.05."""

from w2vjax import datasets
from w2vjax.config import TrainConfig


def get_config():
  corpus = datasets.shared_corpus("wikipedia-en-9m")
  return TrainConfig(corpus=corpus, architecture="cbow",
                     objective="negative_sampling").to_config_dict()
