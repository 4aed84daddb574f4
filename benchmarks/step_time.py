"""Time per training step on a real corpus, for comparing settings of the step itself.

  python benchmarks/step_time.py --corpus=../shared/data/corpora/wikipedia-en-9m.txt.gz \
      --w2vjax=batch_size=32,share_negatives=false [--steps=20000] [--repeats=3]

Times ``--steps`` steps of each setting (after compilation) on one device, ``--repeats``
times, and prints microseconds per step and the words/s that rate gives over an epoch
(raw corpus words / steps per epoch / seconds per step; no epoch preparation, reporting
or evaluation, so a full run is somewhat slower). Several ``--w2vjax`` flags compare
several settings in one run.
"""

from __future__ import annotations

import os

from absl import app, flags

from w2vjax import profiling, training
from w2vjax.config import TrainConfig, parse_overrides

flags.DEFINE_string("corpus", "../shared/data/corpora/wikipedia-en-9m.txt.gz", "corpus file")
flags.DEFINE_multi_string("w2vjax", [""], "TrainConfig overrides, FIELD=VALUE,...; repeatable")
flags.DEFINE_integer("steps", 20000, "timed steps per setting")
flags.DEFINE_integer("repeats", 3, "timings per setting")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  for text in FLAGS.w2vjax:
    config = TrainConfig(corpus=os.path.expanduser(FLAGS.corpus), **parse_overrides(text))
    data = training.prepare_data(config)
    words_per_step = data.raw_words / data.steps_per_epoch(config.batch_size)
    for _ in range(FLAGS.repeats):
      timing = profiling.time_steps(config, data.corpus, data.noise, len(data.vocab),
                                    FLAGS.steps)
      us = timing["seconds_per_step"] * 1e6
      print(f"{text or 'defaults':<45} {us:7.1f} us/step  "
            f"{words_per_step / timing['seconds_per_step'] / 1e3:6.0f}k words/s", flush=True)


if __name__ == "__main__":
  app.run(main)
