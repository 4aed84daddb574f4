"""Skip-gram with full softmax on wikipedia-en-9m, vocabulary capped at 30,000 words, 1 epoch
(about 30 minutes on 2 cores)."""

from w2vjax import datasets
from w2vjax.config import TrainConfig


def get_config():
  corpus = datasets.shared_corpus("wikipedia-en-9m")
  return TrainConfig(corpus=corpus, objective="softmax", max_vocab=30000, epochs=1,
                     batch_size=256).to_config_dict()
