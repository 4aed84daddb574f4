"""Every named experiment in one place: name -> (description, config).

A config is a TrainConfig (one training run) or a StudyConfig (the objective study, which
trains many runs); `python -m experiments.run --list` prints them all.

Corpora that are not bundled are read from the shared data folder: ``$W2VJAX_DATA`` if
set, else ``../shared/data`` beside the repository.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from experiments.compare_objectives import StudyConfig
from w2vjax.config import TrainConfig


@dataclasses.dataclass(frozen=True)
class Experiment:
  name: str
  description: str
  config: TrainConfig | StudyConfig


def shared_data_dir() -> Path:
  default = Path(__file__).resolve().parents[1].parent / "shared" / "data"
  return Path(os.environ.get("W2VJAX_DATA", default))


def _experiments() -> dict[str, Experiment]:
  wiki9m = str(shared_data_dir() / "corpora" / "wikipedia-en-9m.txt.gz")
  sgns = TrainConfig(corpus=wiki9m, dim=100, window=5, negatives=5, min_count=5,
                     subsample=1e-3, epochs=5)
  return {e.name: e for e in [
      Experiment("quickstart", "SGNS on the bundled text8-1m corpus (about 15 s on 2 cores)",
                 TrainConfig(epochs=5)),
      Experiment("sgns_wiki9m", "SGNS on wikipedia-en-9m with gensim's defaults "
                 "(d=100, window 5, K=5, min_count 5, sample 1e-3, 5 epochs)", sgns),
      Experiment("softmax_wiki9m_30k", "full softmax on wikipedia-en-9m, vocabulary capped "
                 "at 30,000 words, 1 epoch", sgns.replace(
                     objective="softmax", max_vocab=30000, epochs=1, batch_size=256)),
      Experiment("compare_objectives", "the study: full softmax vs negative sampling "
                 "(K=1..20), sampled softmax and NCE (K=5, 20) on wikipedia-en-9m, 30k words, "
                 "at equal epochs and equal time (70 minutes on 2 cores; "
                 "--config.smoke=true: minutes)",
                 # Every K-sample objective draws its noise per pair, as its paper
                 # defines it; batch 32 as when the committed results were measured.
                 StudyConfig(train=sgns.replace(max_vocab=30000, epochs=1, batch_size=32,
                                                share_negatives=False,
                                                log_every_seconds=5.0))),
  ]}


def names() -> list[str]:
  return list(_experiments())


def get(name: str) -> Experiment:
  experiments = _experiments()
  if name not in experiments:
    raise KeyError(f"unknown experiment {name!r}; known: {', '.join(experiments)}")
  return experiments[name]
