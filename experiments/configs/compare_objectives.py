"""The objective study: full softmax against hierarchical softmax, negative sampling (K=1..20),
sampled softmax and NCE (K=5, 20) on wikipedia-en-9m, 30k words, at equal epochs and equal
time (about 75 minutes on 2 cores; --config.smoke=true: minutes)."""

from experiments.compare_objectives import StudyConfig
from w2vjax import datasets
from w2vjax.config import TrainConfig


def get_config():
  corpus = datasets.shared_corpus("wikipedia-en-9m")
  # Every K-sample objective draws its noise per pair, as its paper defines it; batch 32
  # and one learning rate for every objective (word2vec.c's 0.025), as when the committed
  # results were measured.
  train = TrainConfig(corpus=corpus, max_vocab=30000, epochs=1, batch_size=32,
                      share_negatives=False, learning_rate=0.025, log_every_seconds=5.0)
  return StudyConfig(train=train).to_config_dict()
