"""Subword skip-gram (fastText: character 3- to 6-grams in 2M hashed buckets) with negative
sampling on wikipedia-en-9m, sgns_wiki9m's data settings; also writes model.npz for
out-of-vocabulary words.

word2vec.c's orientation (each context word's subword mean predicts the centre, against
the window's shared noise words), with the centres in runs of 4 neighbours, so that a
step reads each distinct context word's rows once: faster than fastText, ahead of it on
WS-353 and analogies, and 0.001 and 0.002 behind on SimLex-999 and rt-polarity (BUILD_NOTES,
"Centres in runs of neighbours"). `--config.centre_order=shuffled` is 0.64 times
fastText's speed and ahead on all four; `--config.share_negatives=false` takes
fastText's orientation, 1.6 times its speed and 0.008 to 0.012 behind on
SimLex-999.
"""

from w2vjax import datasets
from w2vjax.config import TrainConfig


def get_config():
  corpus = datasets.shared_corpus("wikipedia-en-9m")
  return TrainConfig(corpus=corpus, architecture="skipgram",
                     objective="negative_sampling", minn=3, maxn=6, centre_order="runs",
                     buckets=2_000_000).to_config_dict()
