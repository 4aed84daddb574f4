"""Skip-gram with hierarchical softmax (a Huffman tree over the vocabulary) on
wikipedia-en-9m, sgns_wiki9m's data settings."""

from w2vjax import datasets
from w2vjax.config import TrainConfig


def get_config():
  corpus = datasets.shared_data_dir() / "corpora" / "wikipedia-en-9m.txt.gz"
  return TrainConfig(corpus=str(corpus), architecture="skipgram",
                     objective="hierarchical_softmax").to_config_dict()
