"""The objective study: full softmax against K-sample objectives, at equal epochs and time.

  python -m experiments.run --experiment=compare_objectives --workdir=runs/compare
  python -m experiments.run --experiment=compare_objectives --config.smoke=true

Trains every member (full softmax; negative sampling at each K in ``negatives``; sampled
softmax and NCE at each K in ``sampled_negatives``) for ``train.epochs`` epochs, then again
for an equal wall-clock budget: each member gets the number of steps its own measured step
rate fits into ``budget_seconds`` (default: the negative-sampling K=5 run's training time),
so the budget runs are reproducible from their configs. Members run one at a time, each in
a fresh process (so its peak memory is its own), under ``workdir/runs/``; a finished member
is not trained again when the study is rerun. Then it times one training step against the
vocabulary size for full softmax and negative sampling on a synthetic Zipf corpus, and
writes results.csv, results.md and three plots into the workdir.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

from experiments import study_plots
from experiments.study_common import run_member, write_csv
from w2vjax import io_utils, methods, profiling
from w2vjax.config import TrainConfig
from w2vjax.errors import InputError

ABBREVIATIONS = {"softmax": "softmax", "hierarchical_softmax": "hs",
                 "negative_sampling": "ns", "nce": "nce", "sampled_softmax": "ssm"}


@dataclasses.dataclass(frozen=True)
class StudyConfig:
  train: TrainConfig  # shared by every member; objective and negatives are set per member
  negatives: tuple[int, ...] = (1, 2, 5, 10, 20)  # K for negative sampling
  sampled_negatives: tuple[int, ...] = (5, 20)  # K for sampled softmax and NCE
  softmax: bool = True
  hierarchical_softmax: bool = True  # the exactly normalised O(log |V|) alternative
  softmax_batch_size: int = 256  # full softmax's fastest batch on 2 CPU cores
  budget_seconds: float = 0.0  # equal wall-clock budget; 0: the ns_k5 run's training time
  timing_vocab_sizes: tuple[int, ...] = (10_000, 30_000, 100_000, 300_000)
  timing_steps: int = 20
  subprocess: bool = True  # each member in its own process (own peak memory)
  smoke: bool = False  # a few-minute version on the bundled corpus, for tests

  def to_dict(self) -> dict:
    return {**dataclasses.asdict(self), "train": self.train.to_dict()}

  def to_config_dict(self):
    """As the ConfigDict that ``experiments/configs/compare_objectives.py`` returns."""
    from ml_collections import config_dict
    return config_dict.ConfigDict({"job": "compare_objectives", **self.to_dict()})

  @classmethod
  def from_dict(cls, values: dict) -> StudyConfig:
    values = dict(values)
    unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
      raise InputError(f"unknown config field(s): {', '.join(unknown)}")
    values["train"] = TrainConfig.from_dict(values.get("train", {}))
    for name in ("negatives", "sampled_negatives", "timing_vocab_sizes"):
      if name in values:
        values[name] = tuple(int(k) for k in values[name])
    return cls(**values)

  def resolved(self) -> StudyConfig:
    """The config with ``smoke`` applied: tiny vocabulary, few members, few steps."""
    if not self.smoke:
      return self
    return dataclasses.replace(
        self, train=self.train.replace(corpus="bundled:text8-1m", max_vocab=2000, dim=32,
                                       epochs=1, eval_restrict_vocab=2000),
        negatives=(2, 5), sampled_negatives=(5,), timing_vocab_sizes=(1000, 4000),
        timing_steps=3, subprocess=False, smoke=False)


def members(study: StudyConfig) -> dict[str, TrainConfig]:
  """Every run of the equal-epochs comparison, by name."""
  runs = {}
  if study.softmax:
    runs["softmax"] = study.train.replace(objective="softmax",
                                          batch_size=study.softmax_batch_size)
  if study.hierarchical_softmax:
    runs["hs"] = study.train.replace(objective="hierarchical_softmax")
  for objective, ks in (("negative_sampling", study.negatives),
                        ("sampled_softmax", study.sampled_negatives),
                        ("nce", study.sampled_negatives)):
    for k in ks:
      runs[f"{ABBREVIATIONS[objective]}_k{k}"] = study.train.replace(objective=objective,
                                                                     negatives=k)
  return runs


def _row(name: str, comparison: str, config: TrainConfig, summary: dict) -> dict:
  scores = summary["evaluation"]
  analogy = scores.get("questions-words.txt", {})
  polarity = scores.get("sentence_polarity", {})
  last = summary["metrics"][-1]
  return {
      "comparison": comparison, "run": name, "objective": config.objective,
      "K": config.negatives if config.objective in methods.NOISE_OBJECTIVES else "",
      "ws353": scores["EN-WS-353-ALL.txt"]["spearman"],
      "simlex999": scores["EN-SIMLEX-999.txt"]["spearman"],
      "analogy_3cosadd": analogy.get("3cosadd", float("nan")),
      "analogy_3cosmul": analogy.get("3cosmul", float("nan")),
      "rt_polarity": polarity.get("accuracy", float("nan")),
      "epochs": last["words"] / summary["raw_words"],
      "train_seconds": summary["train_seconds"],
      "seconds_per_epoch": summary["train_seconds"] * summary["raw_words"] / last["words"],
      "words_per_sec": summary["words_per_sec"],
      "steps": last["step"],
      "final_loss": last["loss"],
      "peak_memory_mb": summary["peak_memory_mb"],
  }


def time_vs_vocab(study: StudyConfig) -> list[dict]:
  """Seconds per step against |V| for full softmax, hierarchical softmax and negative
  sampling (K=5), batch equal."""
  rows = []
  for vocab_size in study.timing_vocab_sizes:
    for objective in ("softmax", "hierarchical_softmax", "negative_sampling"):
      config = study.train.replace(objective=objective, negatives=5)
      timing = profiling.time_train_step(config, vocab_size, study.timing_steps)
      rows.append({"vocab_size": vocab_size, "objective": objective,
                   "batch_size": config.batch_size, **timing})
  return rows


def run_study(study: StudyConfig, workdir: str | Path) -> tuple[list[dict], str]:
  """Runs the whole study into ``workdir``; returns the rows and the markdown table."""
  study = study.resolved()
  if study.train.architecture != "skipgram" or study.train.maxn:
    raise InputError("the objective study compares word-level skip-gram's objectives: "
                     "train.architecture must be skipgram and train.maxn 0, not "
                     f"{study.train.architecture!r} and {study.train.maxn}")
  workdir = Path(workdir)
  (workdir / "runs").mkdir(parents=True, exist_ok=True)
  io_utils.write_json(workdir / "study_config.json", study.to_dict())
  configs = members(study)
  if not configs:
    raise InputError("the study has no members: set softmax=true or give some negatives")
  summaries = {name: run_member(config, workdir / "runs" / name, study.subprocess)
               for name, config in configs.items()}
  reference = summaries.get("ns_k5") or next(iter(summaries.values()))
  budget = study.budget_seconds or reference["train_seconds"]
  rows = [_row(name, "equal_epochs", configs[name], s) for name, s in summaries.items()]
  budget_summaries = {}
  for name, config in configs.items():
    rate = summaries[name]["metrics"][-1]["step"] / summaries[name]["train_seconds"]
    budget_config = config.replace(max_steps=max(1, round(budget * rate)))
    budget_summaries[name] = run_member(budget_config, workdir / "runs" / f"budget_{name}",
                                         study.subprocess)
    rows.append(_row(name, "equal_time", budget_config, budget_summaries[name]))
  timing = time_vs_vocab(study)
  return rows, _write_outputs(workdir, rows, timing, summaries, budget)


COLUMNS = [("run", "run", "{}"), ("K", "K", "{}"), ("ws353", "WS-353", "{:.3f}"),
           ("simlex999", "SimLex-999", "{:.3f}"), ("analogy_3cosadd", "3CosAdd", "{:.1%}"),
           ("analogy_3cosmul", "3CosMul", "{:.1%}"), ("rt_polarity", "rt-polarity", "{:.3f}"),
           ("epochs", "epochs", "{:.2f}"), ("seconds_per_epoch", "s/epoch", "{:.0f}"),
           ("words_per_sec", "words/s", "{:,.0f}"), ("peak_memory_mb", "peak MB", "{:.0f}")]


def markdown_table(rows: list[dict], timing: list[dict], budget: float) -> str:
  out = io.StringIO()
  titles = {"equal_epochs": "Equal epochs",
            "equal_time": f"Equal wall-clock budget ({budget:.0f} s of training each)"}
  for comparison, title in titles.items():
    out.write(f"### {title}\n\n| " + " | ".join(c[1] for c in COLUMNS) + " |\n")
    out.write("|" + "---|" * len(COLUMNS) + "\n")
    for row in (r for r in rows if r["comparison"] == comparison):
      out.write("| " + " | ".join(fmt.format(row[key]) for key, _, fmt in COLUMNS) + " |\n")
    out.write("\n")
  out.write("### Time per training step against vocabulary size\n\n"
            "| vocabulary | full softmax (ms/step) | hierarchical softmax (ms/step) | "
            "negative sampling K=5 (ms/step) |\n|---|---|---|---|\n")
  by_size = {}
  for t in timing:
    by_size.setdefault(t["vocab_size"], {})[t["objective"]] = t["seconds_per_step"] * 1e3
  for size, ms in by_size.items():
    out.write(f"| {size:,} | {ms['softmax']:.2f} | {ms['hierarchical_softmax']:.3f} | "
              f"{ms['negative_sampling']:.3f} |\n")
  return out.getvalue()


def _write_outputs(workdir: Path, rows: list[dict], timing: list[dict], summaries: dict,
                   budget: float) -> str:
  """Writes the CSVs, the markdown table (returned) and the plots."""
  write_csv(workdir / "results.csv", rows)
  write_csv(workdir / "step_time_vs_vocab.csv", timing)
  table = markdown_table(rows, timing, budget)
  with io_utils.atomic_open(workdir / "results.md", "w") as f:
    f.write(table)
  study_plots.plot_quality_vs_k(rows, workdir / "quality_vs_k.png")
  study_plots.plot_loss_vs_time({name: s["metrics"] for name, s in summaries.items()},
                                workdir / "loss_vs_time.png")
  study_plots.plot_step_time_vs_vocab(timing, workdir / "step_time_vs_vocab.png")
  return table
