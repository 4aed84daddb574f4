"""The methods study: SGNS, CBOW, skip-gram with hierarchical softmax, subword skip-gram,
GloVe, PPMI and PPMI-SVD on wikipedia-en-9m at their registry settings, 3 seeds for the
stochastic ones (about 140 minutes on 2 cores: seed 0 of every member took 46; --config.smoke=true: under 2 minutes)."""

from experiments.compare_methods import MethodsStudyConfig


def get_config():
  return MethodsStudyConfig().to_config_dict()
