"""The methods study: count-based against predict-based vectors on one corpus, one
evaluation and one table of time and memory.

  python -m experiments.run --experiment=compare_methods --workdir=runs/compare_methods
  python -m experiments.run --experiment=compare_methods --config.smoke=true

Runs each member (a registry config: ``experiments/configs/NAME.py``, at its own settings)
once per seed, or once if it is deterministic given its counts (PPMI, PPMI-SVD), each in a
fresh process (its peak memory is its own) under ``workdir/runs/NAME_seedS``; a finished
run is not repeated when the study is rerun. Runs share the encoded-corpus and count
caches unless ``fresh_cache`` gives each its own, empty one (then every end-to-end time
starts from raw text). Then
writes results.csv (one row per run), summary.csv and results.md (per method, every
evaluation set's mean and standard deviation over seeds, end-to-end and training seconds,
peak memory) and two plots: quality_by_method.png and quality_vs_time.png.
"""

from __future__ import annotations

import dataclasses
import io
import shutil
from pathlib import Path

import numpy as np

from experiments import configs, study_plots
from experiments.study_common import run_member, write_csv
from w2vjax import io_utils
from w2vjax.config import TrainConfig
from w2vjax.errors import InputError

MEMBERS = ("sgns_wiki9m", "cbow_wiki9m", "hs_wiki9m", "subword_wiki9m", "glove_wiki9m",
           "ppmi_wiki9m", "svd_wiki9m")
HEADLINE = (("EN-WS-353-ALL.txt", "spearman", "WS-353"),
            ("EN-SIMLEX-999.txt", "spearman", "SimLex-999"),
            ("questions-words.txt", "3cosadd", "analogy 3CosAdd"),
            ("sentence_polarity", "accuracy", "rt-polarity"))
ID_COLUMNS = ("run", "member", "method", "seed")
COST_COLUMNS = ("end_to_end_seconds", "train_seconds", "peak_memory_mb")


@dataclasses.dataclass(frozen=True)
class MethodsStudyConfig:
  members: tuple[str, ...] = MEMBERS
  seeds: tuple[int, ...] = (0, 1, 2)
  deterministic: tuple[str, ...] = ("ppmi_wiki9m", "svd_wiki9m")  # one run each
  subprocess: bool = True  # each run in its own process (own peak memory)
  # true: each run gets an empty cache of its own (deleted afterwards), so its end-to-end
  # time includes reading, encoding and counting the corpus (about 25 s more per run on
  # wikipedia-en-9m). false: runs share the user's cache as separate runs would, so times
  # leave out the encoding and, for a count method whose counts exist (SVD after PPMI),
  # the counting.
  fresh_cache: bool = False
  smoke: bool = False  # a one-to-two-minute version on the bundled corpus, for tests

  def to_dict(self) -> dict:
    return dataclasses.asdict(self)

  def to_config_dict(self):
    """As the ConfigDict that ``experiments/configs/compare_methods.py`` returns."""
    from ml_collections import config_dict
    return config_dict.ConfigDict({"job": "compare_methods", **self.to_dict()})

  @classmethod
  def from_dict(cls, values: dict) -> MethodsStudyConfig:
    unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
      raise InputError(f"unknown config field(s): {', '.join(unknown)}")
    values = dict(values)
    for name in ("members", "deterministic"):
      if name in values:
        values[name] = tuple(str(m) for m in values[name])
    if "seeds" in values:
      values["seeds"] = tuple(int(s) for s in values["seeds"])
    return cls(**values)

  def resolved(self) -> MethodsStudyConfig:
    """The config with ``smoke`` applied: one seed, in this process (so peak MB is the
    study's running peak); ``runs`` shrinks each member (``smoke`` stays set for it)."""
    if not self.smoke:
      return self
    return dataclasses.replace(self, seeds=self.seeds[:1], subprocess=False)


def _smoke(config: TrainConfig) -> TrainConfig:
  """A member shrunk to the bundled corpus: 2,000 words, 32 dimensions, one pass (GloVe,
  which learns slowly, three)."""
  return config.replace(corpus="bundled:text8-1m", max_vocab=2000, dim=32,
                        epochs=3 if config.architecture == "glove" else 1,
                        buckets=min(config.buckets, 50_000), eval_restrict_vocab=2000)


def runs(study: MethodsStudyConfig) -> dict[str, tuple[str, TrainConfig]]:
  """Every run of the study: its name -> (member, config)."""
  unknown = sorted(set(study.members) - set(configs.names()))
  if unknown or not study.members:
    raise InputError(f"unknown study member(s) {unknown or '(none)'}; known: "
                     f"{', '.join(configs.names())}")
  if not study.seeds:
    raise InputError("the study has no seeds: give at least one")
  out = {}
  for member in study.members:
    base = TrainConfig.from_dict(configs.load(member).to_dict())
    for seed in study.seeds[:1] if member in study.deterministic else study.seeds:
      config = base.replace(seed=seed)
      out[f"{member}_seed{seed}"] = (member, _smoke(config) if study.smoke else config)
  return out


def _row(name: str, member: str, summary: dict) -> dict:
  row = {"run": name, "member": member, "method": summary["method"],
         "seed": summary["config"]["seed"]}
  for dataset, scores in summary["evaluation"].items():
    for metric in ("spearman", "3cosadd", "3cosmul", "accuracy"):
      if metric in scores:
        row[f"{dataset}:{metric}"] = scores[metric]
  # The loop's clock, carried over a resume (train_seconds counts from the resume only);
  # closed-form methods have no metrics.
  metrics = summary["metrics"]
  train = metrics[-1]["elapsed_sec"] if metrics else summary["train_seconds"]
  row["end_to_end_seconds"] = summary["startup_seconds"] + summary["compile_seconds"] + train
  row["train_seconds"] = train
  row["peak_memory_mb"] = summary["peak_memory_mb"]
  return row


def _uniform(rows: list[dict]) -> list[dict]:
  """The rows with every column any of them has (NaN where a run has no such score, e.g.
  classification for sparse PPMI rows): names, then scores, then time and memory."""
  scores = dict.fromkeys(c for r in rows for c in r if c not in ID_COLUMNS + COST_COLUMNS)
  columns = [*ID_COLUMNS, *scores, *COST_COLUMNS]
  return [{c: row.get(c, float("nan")) for c in columns} for row in rows]


def summarise(rows: list[dict]) -> list[dict]:
  """Per member: each column's mean and standard deviation over its runs (NaN where its
  runs have no such score). A member run once, like the deterministic ones, gets sd 0,
  which the table leaves out."""
  rows = _uniform(rows)
  columns = [c for c in rows[0] if c not in ID_COLUMNS]
  out = []
  for member in dict.fromkeys(r["member"] for r in rows):
    chosen = [r for r in rows if r["member"] == member]
    entry = {"member": member, "method": chosen[0]["method"], "runs": len(chosen)}
    for column in columns:
      values = np.array([r[column] for r in chosen], np.float64)
      entry[f"{column}:mean"] = float(np.mean(values))
      entry[f"{column}:sd"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    out.append(entry)
  return out


LABELS = {"questions-words.txt:3cosadd": "analogy 3CosAdd",
          "questions-words.txt:3cosmul": "analogy 3CosMul",
          "sentence_polarity:accuracy": "rt-polarity", "end_to_end_seconds": "end to end (s)",
          "train_seconds": "training (s)", "peak_memory_mb": "peak MB"}
CAPTION = ("Mean ± sd over seeds; a method run once (deterministic given its counts) shows "
           "its score alone, and - marks a score it has none of. Similarity: Spearman; "
           "analogy: accuracy; classification: cross-validated accuracy. End to end: reading, "
           "vocabulary, counting, compiling and training, without the evaluation.\n\n")


def _label(column: str) -> str:
  """A column's header: "EN-WS-353-ALL.txt:spearman" -> "WS-353-ALL"."""
  return LABELS.get(column) or column.split(":")[0].removeprefix("EN-").split(".")[0]


def markdown_table(summary: list[dict]) -> str:
  """Per method: every evaluation set as mean ± sd, then time and memory."""
  columns = [c[:-len(":mean")] for c in summary[0] if c.endswith(":mean")]
  out = io.StringIO()
  out.write(CAPTION + "| method | runs | " + " | ".join(map(_label, columns)) + " |\n")
  out.write("|" + "---|" * (len(columns) + 2) + "\n")
  for entry in summary:
    cells = [_mean_sd(entry, c, _format(c)) for c in columns]
    out.write(f"| {entry['method']} | {entry['runs']} | " + " | ".join(cells) + " |\n")
  return out.getvalue()


def _format(column: str) -> str:
  if "3cos" in column:
    return "{:.1%}"
  if column.endswith("seconds"):
    return "{:.1f}"
  return "{:.0f}" if column == "peak_memory_mb" else "{:.3f}"


def _mean_sd(entry: dict, column: str, fmt: str) -> str:
  mean, sd = entry[f"{column}:mean"], entry[f"{column}:sd"]
  if np.isnan(mean):
    return "-"
  return fmt.format(mean) + (f" ± {fmt.format(sd)}" if entry["runs"] > 1 else "")


def _run(study: MethodsStudyConfig, config: TrainConfig, run_dir: Path) -> dict:
  """``run_member``, in an empty cache of its own if ``study.fresh_cache``."""
  if not study.fresh_cache:
    return run_member(config, run_dir, study.subprocess)
  cache = run_dir / "cache"
  shutil.rmtree(cache, ignore_errors=True)  # left warm by a run that was killed
  try:
    return run_member(config.replace(cache_dir=str(cache)), run_dir, study.subprocess)
  finally:
    shutil.rmtree(cache, ignore_errors=True)


def run_study(study: MethodsStudyConfig, workdir: str | Path) -> tuple[list[dict], str]:
  """Runs the whole study into ``workdir``; returns the per-method summary and the table."""
  study = study.resolved()
  workdir = Path(workdir)
  (workdir / "runs").mkdir(parents=True, exist_ok=True)
  io_utils.write_json(workdir / "study_config.json", study.to_dict())
  rows = _uniform([_row(name, member, _run(study, config, workdir / "runs" / name))
                   for name, (member, config) in runs(study).items()])
  summary = summarise(rows)
  table = markdown_table(summary)
  write_csv(workdir / "results.csv", rows)
  write_csv(workdir / "summary.csv", summary)
  with io_utils.atomic_open(workdir / "results.md", "w") as f:
    f.write(table)
  study_plots.plot_quality_by_method(summary, HEADLINE, workdir / "quality_by_method.png")
  study_plots.plot_quality_vs_time(summary, HEADLINE, workdir / "quality_vs_time.png")
  return summary, table
