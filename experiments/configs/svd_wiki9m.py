"""PPMI-SVD on wikipedia-en-9m: ppmi_wiki9m's counts and PPMI, truncated to d 100 by SVD,
word vectors U S^0.5 plus context vectors V S^0.5 (w + c)."""

from w2vjax import datasets
from w2vjax.config import TrainConfig


def get_config():
  corpus = datasets.shared_corpus("wikipedia-en-9m")
  return TrainConfig(corpus=corpus, architecture="ppmi_svd", dim=100, min_count=5, window=5,
                     weighting="uniform", symmetric=True, subsample=0.0, cds=0.75,
                     shift=1.0, eig_p=0.5, add_context=True,
                     svd_solver="scipy").to_config_dict()
