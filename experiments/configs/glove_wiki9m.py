"""GloVe on wikipedia-en-9m: d 100, min_count 5, GloVe's own window (10 words each side,
weighted 1/d, symmetric), x_max 10 and alpha 0.75 (glove's demo.sh for a small corpus),
AdaGrad at 0.2 for 10 epochs, output w + c."""

from w2vjax import datasets
from w2vjax.config import TrainConfig


def get_config():
  # Measured on this corpus, 3 epochs (BUILD_NOTES, "GloVe"): x_max 100 at AdaGrad 0.05
  # gave WS-353 0.165 and analogy 2.1%, x_max 10 at 0.05 0.248 and 6.1%, x_max 10 at 0.2
  # 0.325 and 31.2%, at 0.5 0.380 and 27.5%.
  corpus = datasets.shared_corpus("wikipedia-en-9m")
  return TrainConfig(corpus=corpus, architecture="glove", dim=100, min_count=5, window=10,
                     weighting="harmonic", symmetric=True, subsample=0.0, x_max=10.0,
                     glove_alpha=0.75, optimizer="adagrad", learning_rate=0.2,
                     lr_schedule="constant", batch_size=4096, epochs=10).to_config_dict()
