import importlib
import sys

import numpy as np
import pytest

from w2vjax.errors import InputError
from w2vjax.summaries import TensorBoardWriter


def _importable(name):
  try:
    importlib.import_module(name)
  except ImportError:
    return False
  return True


# tensorboardX is an optional extra: the writer tests need it (and tensorboard, a test
# extra, to read back what was written).
needs_tensorboardx = pytest.mark.skipif(not _importable("tensorboardX"),
                                        reason="tensorboardX is not installed")


def _float32(x):
  """What TensorBoard keeps of a scalar: the nearest float32."""
  return float(np.float32(x))


@needs_tensorboardx
def test_scalars_round_trip(tmp_path):
  from tensorboard_events import read_scalars
  logdir = tmp_path / "tb"
  written = {"loss": [], "learning_rate": [], "train/words_per_sec": []}
  with TensorBoardWriter(logdir) as writer:
    for step in (0, 7, 100, 2**40):
      scalars = {"loss": 4.0 / (step + 1) + 0.1, "learning_rate": np.float32(0.025),
                 "train/words_per_sec": 123_456.5 + step}
      writer.write_scalars(step, scalars)
      for name, value in scalars.items():
        written[name].append((step, _float32(value)))
    writer.flush()
    assert read_scalars(logdir) == written  # flushed: readable while still open
  assert read_scalars(logdir) == written
  assert len(list(logdir.glob("*tfevents*"))) == 1
  with pytest.raises(ValueError, match="closed"):
    writer.write_scalars(1, {"loss": 1.0})


@needs_tensorboardx
def test_resumed_run_purges_steps_after_its_checkpoint(tmp_path):
  from tensorboard_events import read_scalars
  with TensorBoardWriter(tmp_path) as first:
    for step in range(5):
      first.write_scalars(step, {"loss": 10.0 + step})
  # Resumed from a checkpoint at step 3, in the same second: a second file, nothing lost.
  # Its first report comes at step 4, so only the purge marker, not TensorBoard's own
  # out-of-order check, drops the dead run's steps 3 and 4.
  with TensorBoardWriter(tmp_path, purge_step=3) as second:
    for step in (4, 5):
      second.write_scalars(step, {"loss": 20.0 + step})
  assert len(list(tmp_path.glob("*tfevents*"))) == 2
  assert read_scalars(tmp_path) == {"loss": [(0, 10.0), (1, 11.0), (2, 12.0), (4, 24.0),
                                             (5, 25.0)]}


def test_missing_tensorboardx_is_one_clear_error(tmp_path, monkeypatch):
  monkeypatch.setitem(sys.modules, "tensorboardX", None)  # makes the import fail
  with pytest.raises(InputError) as e:
    TensorBoardWriter(tmp_path / "tb")
  assert str(e.value) == ("--config.tensorboard=true needs tensorboardX: "
                          "pip install 'w2vjax[tensorboard]'")
  assert not (tmp_path / "tb").exists()
