"""The methods study: SGNS, CBOW, skip-gram with hierarchical softmax, subword skip-gram,
GloVe, PPMI and PPMI-SVD on wikipedia-en-9m at their registry settings, 3 seeds for the
stochastic ones (about 100 minutes on 2 cores; --config.smoke=true: minutes)."""

from experiments.compare_methods import MethodsStudyConfig


def get_config():
  return MethodsStudyConfig().to_config_dict()
