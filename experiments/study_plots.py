"""The studies' figures: the objective study's quality vs K, loss vs time and step time vs
|V|; the methods study's quality per method and quality against time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from w2vjax.plot import new_figure, save_png

FAMILIES = {"negative_sampling": ("negative sampling", "C0", "o"),
            "nce": ("NCE", "C1", "s"), "sampled_softmax": ("sampled softmax", "C2", "^")}
# Objectives without K, drawn as levels across the K axis.
LEVELS = {"softmax": ("full softmax", "k", "--"),
          "hierarchical_softmax": ("hierarchical softmax", "C3", ":")}
METRICS = (("ws353", "WS-353 (Spearman)"), ("simlex999", "SimLex-999 (Spearman)"),
           ("analogy_3cosadd", "analogy 3CosAdd"), ("rt_polarity", "rt-polarity accuracy"))


def plot_quality_vs_k(rows: list[dict], path: str | Path) -> None:
  """One panel per metric and comparison; K-sample families as lines, the normalised
  objectives (full and hierarchical softmax) as levels."""
  comparisons = (("equal_epochs", "equal epochs"), ("equal_time", "equal time"))
  fig = new_figure((4 * len(METRICS), 6.5))
  axes = fig.subplots(len(comparisons), len(METRICS), squeeze=False)
  for r, (comparison, label) in enumerate(comparisons):
    chosen = [row for row in rows if row["comparison"] == comparison]
    for c, (key, title) in enumerate(METRICS):
      ax = axes[r, c]
      for objective, (name, color, marker) in FAMILIES.items():
        points = sorted((row["K"], row[key]) for row in chosen if row["objective"] == objective)
        if points:
          ax.plot(*zip(*points), marker=marker, color=color, label=name)
      for row in chosen:
        if row["objective"] in LEVELS:
          name, color, style = LEVELS[row["objective"]]
          ax.axhline(row[key], color=color, linestyle=style, label=name)
      ax.set_xscale("log")
      ax.set_xlabel("K (noise words per pair)")
      ax.set_title(f"{title}, {label}", fontsize=9)
  axes[0, 0].legend(fontsize=8)
  save_png(fig, path)


def plot_loss_vs_time(histories: dict[str, list[dict]], path: str | Path) -> None:
  """Training loss against wall-clock seconds, one panel per objective family.

  The objectives' losses are on different scales (a |V|-way cross-entropy against K+1
  binary ones), so each family gets its own axis; within a family, K is the colour.
  """
  families = {}
  for name, history in histories.items():
    families.setdefault(name.rsplit("_k", 1)[0], []).append((name, history))
  fig = new_figure((4.2 * len(families), 3.6))
  axes = np.atleast_1d(fig.subplots(1, len(families)))
  for ax, (family, runs) in zip(axes, families.items()):
    for name, history in runs:
      ax.plot([r["elapsed_sec"] for r in history], [r["loss"] for r in history],
              marker=".", label=name)
    ax.set_xlabel("wall-clock seconds")
    ax.set_ylabel("training loss per pair")
    ax.set_title(family)
    ax.legend(fontsize=8)
  save_png(fig, path)


def plot_step_time_vs_vocab(timing: list[dict], path: str | Path) -> None:
  """Milliseconds per step against |V| (log-log): O(|V|) for softmax, O(log |V|) for
  hierarchical softmax, flat for K samples."""
  fig = new_figure((5.5, 4))
  ax = fig.subplots()
  for objective, label in (("softmax", "full softmax"),
                           ("hierarchical_softmax", "hierarchical softmax"),
                           ("negative_sampling", "negative sampling, K=5")):
    points = [(t["vocab_size"], t["seconds_per_step"] * 1e3) for t in timing
              if t["objective"] == objective]
    if points:
      ax.plot(*zip(*points), marker="o", label=label)
  ax.set_xscale("log")
  ax.set_yscale("log")
  ax.set_xlabel("vocabulary size |V|")
  ax.set_ylabel("ms per training step")
  batch = timing[0]["batch_size"]
  ax.set_title(f"one step, {batch} centre words", fontsize=10)
  ax.legend()
  save_png(fig, path)


def _headline(summary: list[dict], dataset: str, metric: str):
  """(means, sds) of one score per method; NaN where a method has none."""
  key = f"{dataset}:{metric}" if metric else dataset
  return (np.array([s.get(f"{key}:mean", np.nan) for s in summary]),
          np.nan_to_num([s.get(f"{key}:sd", 0.0) for s in summary]))


def plot_quality_by_method(summary: list[dict], headline, path: str | Path) -> None:
  """One panel per headline score: each method's mean with its sd over seeds."""
  fig = new_figure((4 * len(headline), 3.8))
  axes = np.atleast_1d(fig.subplots(1, len(headline)))
  names = [s["method"] for s in summary]
  for ax, (dataset, metric, title) in zip(axes, headline):
    means, sds = _headline(summary, dataset, metric)
    ax.barh(range(len(names)), np.nan_to_num(means), xerr=sds, color="C0", alpha=0.8)
    for i in np.flatnonzero(np.isnan(means)):  # no bar is not a score of 0
      ax.text(0, i, " n/a", va="center", fontsize=8)
    ax.set_yticks(range(len(names)), names if ax is axes[0] else [""] * len(names),
                  fontsize=8)
    ax.invert_yaxis()  # the members in the study's order, top down
    ax.set_title(title, fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
  save_png(fig, path)


def plot_quality_vs_time(summary: list[dict], headline, path: str | Path) -> None:
  """Each headline score against end-to-end seconds (log): what a method's quality costs."""
  fig = new_figure((4 * len(headline), 4.4))
  axes = np.atleast_1d(fig.subplots(1, len(headline)))
  from matplotlib import ticker  # as w2vjax.plot, matplotlib only once a figure is drawn
  seconds, seconds_sd = _headline(summary, "end_to_end_seconds", "")
  for ax, (dataset, metric, title) in zip(axes, headline):
    means, sds = _headline(summary, dataset, metric)
    for i, entry in enumerate(summary):
      if not np.isnan(means[i]):
        ax.errorbar(seconds[i], means[i], xerr=seconds_sd[i], yerr=sds[i], marker="o",
                    color=f"C{i % 10}", label=entry["method"])
    ax.set_xscale("log")
    # Plain numbers: the default writes a narrow range's minor ticks as 3x10^0.
    ax.xaxis.set_major_formatter(ticker.LogFormatter())
    ax.xaxis.set_minor_formatter(ticker.LogFormatter(labelOnlyBase=False))
    ax.set_xlabel("end-to-end seconds")
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
  fullest = max(axes, key=lambda ax: len(ax.get_legend_handles_labels()[1]))
  fig.legend(*fullest.get_legend_handles_labels(), loc="outside lower center", ncols=4,
             fontsize=8)
  save_png(fig, path)
