"""Time per training step on a real corpus, for comparing settings of the step itself.

  python benchmarks/step_time.py --config=experiments/configs/sgns_wiki9m.py \
      --config.batch_size=32 --config.share_negatives=false [--steps=20000] [--repeats=3]

Times ``--steps`` steps of the config (after compilation) on one device, ``--repeats``
times, and prints microseconds per step and the words/s that rate gives over an epoch
(raw corpus words / steps per epoch / seconds per step; no epoch preparation, reporting
or evaluation, so a full run is somewhat slower). Compare settings by running it once per
setting with ``--config.FIELD=VALUE`` overrides.
"""

from __future__ import annotations

from absl import app, flags
from ml_collections import config_flags

from w2vjax import profiling
from w2vjax.config import TrainConfig
from w2vjax.data import prepare_data
from w2vjax.errors import one_line_errors

config_flags.DEFINE_config_file("config", "experiments/configs/sgns_wiki9m.py",
                                "training config file; --config.FIELD=VALUE overrides")
flags.DEFINE_integer("steps", 20000, "timed steps")
flags.DEFINE_integer("repeats", 3, "timings")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  config = TrainConfig.from_dict(FLAGS.config.to_dict())
  data = prepare_data(config)
  words_per_step = data.raw_words / data.steps_per_epoch(config.batch_size)
  for _ in range(FLAGS.repeats):
    timing = profiling.time_steps(config, data.corpus, data.vocab, FLAGS.steps)
    us = timing["seconds_per_step"] * 1e6
    print(f"{us:7.1f} us/step  {words_per_step / timing['seconds_per_step'] / 1e3:6.0f}k "
          "words/s", flush=True)


if __name__ == "__main__":
  app.run(one_line_errors(main, catch=(OSError, ValueError)))
