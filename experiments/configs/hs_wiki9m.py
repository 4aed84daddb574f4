"""Skip-gram with hierarchical softmax (a Huffman tree over the vocabulary) on
wikipedia-en-9m, sgns_wiki9m's data settings."""

from w2vjax import datasets
from w2vjax.config import TrainConfig


def get_config():
  corpus = datasets.shared_corpus("wikipedia-en-9m")
  return TrainConfig(corpus=corpus, architecture="skipgram",
                     objective="hierarchical_softmax").to_config_dict()
