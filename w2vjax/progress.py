"""Training progress: a tqdm bar on a terminal, periodic plain log lines otherwise."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


def _fmt_eta(seconds: float) -> str:
  seconds = int(max(0, seconds))
  return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
  """Shows words done out of ``total_words`` with the latest loss, words/s and ETA."""

  def __init__(self, total_words: int, log_every_seconds: float = 10.0, stream=None,
               enabled: bool = True):
    self.stream = stream or sys.stderr
    self.total = total_words
    self.interactive = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
    self.enabled = enabled
    # A bar redraws cheaply; a log line every few seconds would flood a log file.
    self.interval = 1.0 if self.interactive else log_every_seconds
    self.bar = (tqdm(total=total_words, unit="w", unit_scale=True, file=self.stream,
                     dynamic_ncols=True) if self.interactive else None)
    self._shown = 0

  def report(self, words_done: float, loss: float, words_per_sec: float, lr: float,
             epoch: int) -> None:
    if not self.enabled:
      return
    if self.bar is not None:
      self.bar.update(int(words_done) - self._shown)
      self._shown = int(words_done)
      self.bar.set_postfix(epoch=epoch, loss=f"{loss:.4f}", lr=f"{lr:.2e}",
                           wps=f"{words_per_sec / 1e3:.0f}k", refresh=False)
    else:
      eta = (self.total - words_done) / max(words_per_sec, 1e-9)
      print(f"epoch {epoch} {100 * words_done / max(self.total, 1):5.1f}% loss {loss:.4f} "
            f"lr {lr:.2e} {words_per_sec / 1e3:.0f}k words/s eta {_fmt_eta(eta)}",
            file=self.stream, flush=True)

  def close(self) -> None:
    if self.bar is not None:
      self.bar.close()
