"""The objective study, smoke-sized: every member trains, the table and plots appear."""

import csv
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments import configs
from experiments.compare_objectives import StudyConfig, members, run_study
from experiments import study_common
from experiments.study_common import run_member
from w2vjax.config import TrainConfig
from w2vjax.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"


def test_members_cover_every_objective_and_k():
  names = list(members(StudyConfig(train=TrainConfig())))
  assert names == ["softmax", "hs", "ns_k1", "ns_k2", "ns_k5", "ns_k10", "ns_k20", "ssm_k5",
                   "ssm_k20", "nce_k5", "nce_k20"]


def test_a_member_failing_in_its_own_process_names_its_problem(tmp_path):
  missing = tmp_path / "no_such_corpus.txt"
  with pytest.raises(InputError, match=f"^study member ns_k5: corpus file not found: {missing}"):
    run_member(TrainConfig(corpus=str(missing)), tmp_path / "runs" / "ns_k5", isolate=True)


def test_a_member_with_a_bad_setting_fails_before_its_process_starts(tmp_path, monkeypatch):
  def no_process(*args, **kwargs):
    raise AssertionError("a process started for a member that cannot train")
  monkeypatch.setattr(study_common.multiprocessing, "get_context", no_process)
  with pytest.raises(InputError, match="negatives"):
    run_member(TrainConfig(negatives=0), tmp_path / "runs" / "bad", isolate=True)
  assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("change", [{"architecture": "cbow"}, {"architecture": "ppmi"},
                                    {"maxn": 6}])
def test_the_objective_study_refuses_other_methods(tmp_path, change):
  study = StudyConfig(train=TrainConfig().replace(**change), subprocess=False)
  with pytest.raises(InputError, match="compares word-level skip-gram's objectives"):
    run_study(study, tmp_path)
  assert not (tmp_path / "runs").exists()


def test_study_config_round_trips_and_rejects_unknown_fields():
  study = StudyConfig(train=TrainConfig(dim=7), negatives=(3,))
  assert StudyConfig.from_dict(study.to_dict()) == study
  with pytest.raises(InputError, match="unknown config field"):
    StudyConfig.from_dict({**study.to_dict(), "bogus": 1})


@pytest.mark.slow
def test_smoke_study_writes_table_and_plots(tmp_path):
  # The config file's study (per-pair noise, batch 32), smoke-sized.
  values = configs.load("compare_objectives").to_dict()
  assert values.pop("job") == "compare_objectives"
  study = dataclasses.replace(StudyConfig.from_dict(values), smoke=True)
  rows, table = run_study(study, tmp_path)
  runs = {r["run"] for r in rows}
  assert runs == {"softmax", "hs", "ns_k2", "ns_k5", "ssm_k5", "nce_k5"}
  assert sorted(r["comparison"] for r in rows) == ["equal_epochs"] * 6 + ["equal_time"] * 6
  for row in rows:
    # Every member learns in an epoch: random vectors score about 0 on WS-353 (smoke reaches
    # 0.26-0.43). In the equal-time runs the slow members get a fraction of an epoch.
    if row["comparison"] == "equal_epochs" or row["run"].startswith("ns_"):
      assert row["ws353"] > 0.15, row
    # ... and answers analogies random vectors almost never do (smoke: 2.0%-5.9% at equal
    # epochs; random vectors about 0.05%).
    if row["comparison"] == "equal_epochs":
      assert row["analogy_3cosadd"] > 0.01, row
    assert 0.5 <= row["rt_polarity"] <= 1
    assert row["peak_memory_mb"] > 0 and row["words_per_sec"] > 0
  for row in (r for r in rows if r["comparison"] == "equal_epochs"):
    assert row["epochs"] == pytest.approx(1.0)
  # A budget run trains exactly the steps its config asks for.
  for name in runs:
    summary = json.loads((tmp_path / "runs" / f"budget_{name}" / "eval.json").read_text())
    assert summary["metrics"][-1]["step"] == summary["config"]["max_steps"] > 0
  with open(tmp_path / "results.csv") as f:
    assert len(list(csv.DictReader(f))) == 12
  assert "### Equal epochs" in table and "| softmax |" in table
  assert (tmp_path / "results.md").read_text() == table
  for name in ("quality_vs_k.png", "loss_vs_time.png", "step_time_vs_vocab.png"):
    assert (tmp_path / name).read_bytes()[:8] == PNG
  # A rerun reuses every finished member instead of training it again.
  stamp = (tmp_path / "runs" / "ns_k5" / "eval.json").stat().st_mtime_ns
  again, _ = run_study(study, tmp_path)
  assert (tmp_path / "runs" / "ns_k5" / "eval.json").stat().st_mtime_ns == stamp
  assert [r["ws353"] for r in again] == [r["ws353"] for r in rows]


@pytest.mark.slow
def test_study_launcher_takes_nested_overrides_and_rejects_unknown_fields(tmp_path):
  # A nested training field and a tuple reach the study's config (checked without
  # training: no softmax, no hierarchical softmax and no negatives leave the study empty).
  proc = subprocess.run(
      [sys.executable, "-m", "experiments.run", "--experiment=compare_objectives",
       "--config.train.dim=7", "--config.softmax=false",
       "--config.hierarchical_softmax=false", "--config.negatives=()",
       "--config.sampled_negatives=()", f"--workdir={tmp_path}"],
      cwd=ROOT, capture_output=True, text=True, env=dict(os.environ), timeout=300)
  assert proc.returncode != 0 and "Traceback" not in proc.stderr
  assert "the study has no members" in proc.stderr.strip().splitlines()[-1]
  saved = json.loads((tmp_path / "study_config.json").read_text())
  assert saved["train"]["dim"] == 7 and saved["negatives"] == []
  proc = subprocess.run(
      [sys.executable, "-m", "experiments.run", "--experiment=compare_objectives",
       "--config.bogus=1", f"--workdir={tmp_path}"],
      cwd=ROOT, capture_output=True, text=True, env=dict(os.environ), timeout=300)
  assert proc.returncode != 0 and "Traceback" not in proc.stderr
  assert "unknown config field 'bogus'" in proc.stderr.strip().splitlines()[-1]


# The methods study ----------------------------------------------------------------------

def test_methods_study_runs_each_seed_of_stochastic_members_once_per_seed():
  from experiments.compare_methods import MethodsStudyConfig, runs
  study = MethodsStudyConfig(members=("sgns_wiki9m", "svd_wiki9m"), seeds=(4, 7))
  assert {n: c.seed for n, (_, c) in runs(study).items()} == {
      "sgns_wiki9m_seed4": 4, "sgns_wiki9m_seed7": 7, "svd_wiki9m_seed4": 4}
  with pytest.raises(InputError, match="unknown study member"):
    runs(MethodsStudyConfig(members=("word2vec",)))
  with pytest.raises(InputError, match="no seeds"):
    runs(MethodsStudyConfig(seeds=()))


def test_methods_study_config_round_trips_and_smoke_is_one_seed_in_process():
  from experiments.compare_methods import MEMBERS, MethodsStudyConfig, runs
  values = configs.load("compare_methods").to_dict()
  assert values.pop("job") == "compare_methods"
  study = MethodsStudyConfig.from_dict(values)
  assert study == MethodsStudyConfig() and study.members == MEMBERS
  with pytest.raises(InputError, match="unknown config field"):
    MethodsStudyConfig.from_dict({**values, "bogus": 1})
  smoke = dataclasses.replace(study, smoke=True).resolved()
  assert smoke.seeds == (0,) and not smoke.subprocess
  smoke_runs = runs(smoke)
  assert list(smoke_runs) == [f"{m}_seed0" for m in MEMBERS]
  for member, config in smoke_runs.values():
    assert config.corpus == "bundled:text8-1m" and config.max_vocab == 2000
    assert config.epochs == (3 if member == "glove_wiki9m" else 1)


def _fake_eval(method: str, seed: int, ws353: float, polarity: bool = True) -> dict:
  """An eval.json as experiments/training_run.py writes it, cut to what the study reads."""
  evaluation = {"EN-WS-353-ALL.txt": {"spearman": ws353, "pairs": 300},
                "EN-RW-STANFORD.txt": {"spearman": ws353 / 2, "pairs": 1500},
                "questions-words.txt": {"3cosadd": ws353 / 10, "3cosmul": ws353 / 9}}
  if polarity:  # sparse PPMI rows have no classification score
    evaluation["sentence_polarity"] = {"accuracy": 0.6 + seed / 100, "folds": 10}
  return {"method": method, "config": {"seed": seed}, "startup_seconds": 1.0,
          "compile_seconds": 2.0, "train_seconds": 7.0 + seed, "peak_memory_mb": 100.0,
          "metrics": [], "evaluation": evaluation}


def test_methods_summary_is_mean_and_sd_over_seeds_with_gaps_for_missing_scores(tmp_path):
  from experiments import study_plots
  from experiments.compare_methods import HEADLINE, _row, markdown_table, summarise
  # The deterministic member first: the scores it lacks still get columns.
  rows = [_row("ppmi_seed0", "ppmi", _fake_eval("PPMI", 0, 0.4, polarity=False))]
  rows += [_row(f"sgns_seed{s}", "sgns", _fake_eval("SGNS", s, v))
           for s, v in ((0, 0.5), (1, 0.7))]
  summary = summarise(rows)
  assert [(e["member"], e["runs"]) for e in summary] == [("ppmi", 1), ("sgns", 2)]
  ppmi, sgns = summary
  assert sgns["EN-WS-353-ALL.txt:spearman:mean"] == pytest.approx(0.6)
  assert sgns["EN-WS-353-ALL.txt:spearman:sd"] == pytest.approx(0.1414, abs=1e-4)
  assert sgns["end_to_end_seconds:mean"] == pytest.approx(10.5)  # startup+compile+train
  assert sgns["train_seconds:sd"] == pytest.approx(0.7071, abs=1e-4)
  assert np.isnan(ppmi["sentence_polarity:accuracy:mean"])
  assert ppmi["EN-WS-353-ALL.txt:spearman:sd"] == 0.0  # one run: sd 0, not shown
  table = markdown_table(summary)
  assert table.startswith("Mean ± sd over seeds")
  assert ("| method | runs | WS-353-ALL | RW-STANFORD | analogy 3CosAdd | analogy 3CosMul | "
          "rt-polarity | end to end (s) | training (s) | peak MB |") in table
  assert "| PPMI | 1 | 0.400 | 0.200 | 4.0% | 4.4% | - | 10.0 | 7.0 | 100 |" in table
  assert ("| SGNS | 2 | 0.600 ± 0.141 | 0.300 ± 0.071 | 6.0% ± 1.4% | 6.7% ± 1.6% | "
          "0.605 ± 0.007 | 10.5 ± 0.7 | 7.5 ± 0.7 | 100 ± 0 |") in table
  # A run resumed after it finished reports the resume's seconds; its metrics keep the
  # loop's clock, which the study reads.
  resumed = {**_fake_eval("SGNS", 2, 0.6), "train_seconds": 0.5,
             "metrics": [{"elapsed_sec": 40.0}, {"elapsed_sec": 90.0}]}
  assert _row("sgns_seed2", "sgns", resumed)["train_seconds"] == 90.0
  study_plots.plot_quality_by_method(summary, HEADLINE, tmp_path / "by_method.png")
  study_plots.plot_quality_vs_time(summary, HEADLINE, tmp_path / "vs_time.png")
  for name in ("by_method.png", "vs_time.png"):
    assert (tmp_path / name).read_bytes()[:8] == PNG


@pytest.mark.slow
def test_smoke_methods_study_trains_every_method(tmp_path):
  # About 75 s on 2 CPU cores: seven members, one seed, in this process.
  from experiments.compare_methods import MEMBERS, MethodsStudyConfig, run_study
  summary, table = run_study(MethodsStudyConfig(smoke=True), tmp_path)
  assert [s["member"] for s in summary] == list(MEMBERS)
  # Random vectors score about 0 on WS-353 (sd 0.12 on the 73 pairs in 2,000 words) and 0.05%
  # on the 540 analogies; the smoke members reach 0.25-0.61 and 2.8-28%, SGNS 0.35 and 3.1%.
  for entry in summary:
    assert entry["EN-WS-353-ALL.txt:spearman:mean"] > 0.15, entry["method"]
    assert entry["questions-words.txt:3cosadd:mean"] > 0.01, entry["method"]
    assert entry["end_to_end_seconds:mean"] > 0 and entry["peak_memory_mb:mean"] > 0
  sgns = summary[MEMBERS.index("sgns_wiki9m")]
  assert sgns["EN-WS-353-ALL.txt:spearman:mean"] > 0.25
  for entry in summary:  # sparse PPMI rows have no classification score
    polarity = entry["sentence_polarity:accuracy:mean"]
    assert np.isnan(polarity) if entry["member"] == "ppmi_wiki9m" else polarity > 0.55
  assert table.startswith("Mean ± sd over seeds") and "| analogy 3CosMul |" in table
  assert "| PPMI (cds 0.75, shift 1) | 1 |" in table
  assert (tmp_path / "results.md").read_text() == table
  with open(tmp_path / "results.csv") as f:
    assert [r["member"] for r in csv.DictReader(f)] == list(MEMBERS)
  with open(tmp_path / "summary.csv") as f:
    assert len(list(csv.DictReader(f))) == len(MEMBERS)
  for name in ("quality_by_method.png", "quality_vs_time.png"):
    assert (tmp_path / name).read_bytes()[:8] == PNG
  # Every run counted in an empty cache of its own, gone once it finished.
  assert not list((tmp_path / "runs").glob("*/cache"))
