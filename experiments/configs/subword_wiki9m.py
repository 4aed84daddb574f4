"""Subword skip-gram (fastText: character 3- to 6-grams in 2M hashed buckets) with negative
sampling on wikipedia-en-9m, sgns_wiki9m's data settings; also writes model.npz for
out-of-vocabulary words.

fastText's orientation (the centre's subword mean predicts each context word), which
trains faster than fastText; `--config.share_negatives=true` takes word2vec.c's, whose
vectors were ahead of fastText's on all four sets at 0.64 times its words/s (BUILD_NOTES,
"Subwords in word2vec.c's orientation").
"""

from w2vjax import datasets
from w2vjax.config import TrainConfig


def get_config():
  corpus = datasets.shared_corpus("wikipedia-en-9m")
  return TrainConfig(corpus=corpus, architecture="skipgram",
                     objective="negative_sampling", minn=3, maxn=6, share_negatives=False,
                     buckets=2_000_000).to_config_dict()
