"""Skip-gram with negative sampling on the bundled text8-1m corpus (about 15 s on 2 cores)."""

from w2vjax.config import TrainConfig


def get_config():
  return TrainConfig(corpus="bundled:text8-1m", epochs=5).to_config_dict()
