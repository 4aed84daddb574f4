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
from w2vjax.config import TrainConfig
from w2vjax.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"


def test_members_cover_every_objective_and_k():
  names = list(members(StudyConfig(train=TrainConfig())))
  assert names == ["softmax", "hs", "ns_k1", "ns_k2", "ns_k5", "ns_k10", "ns_k20", "ssm_k5",
                   "ssm_k20", "nce_k5", "nce_k20"]


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
    assert 0 <= row["analogy_3cosadd"] <= 1 and 0.5 <= row["rt_polarity"] <= 1
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


def test_methods_summary_is_mean_and_sd_over_seeds_with_gaps_for_missing_scores():
  from experiments.compare_methods import markdown_table, summarise
  rows = [{"run": f"a{s}", "member": "a", "method": "A", "seed": s, "ws:spearman": v,
           "sentence_polarity:accuracy": 0.6, "end_to_end_seconds": 10.0,
           "train_seconds": 8.0, "peak_memory_mb": 100.0} for s, v in ((0, 0.5), (1, 0.7))]
  rows.append({"run": "b0", "member": "b", "method": "B", "seed": 0, "ws:spearman": 0.4,
               "end_to_end_seconds": 1.0, "train_seconds": 0.5, "peak_memory_mb": 50.0})
  summary = summarise(rows)
  assert summary[0]["ws:spearman:mean"] == pytest.approx(0.6)
  assert summary[0]["ws:spearman:sd"] == pytest.approx(0.1414, abs=1e-4)
  assert summary[1]["runs"] == 1 and np.isnan(summary[1]["sentence_polarity:accuracy:mean"])
  table = markdown_table(summary)
  assert "| A | 2 | 0.600 ± 0.141 | 0.600 ± 0.000 | 10 ± 0 |" in table
  assert "| B | 1 | 0.400 | - | 1 |" in table


@pytest.mark.slow
def test_smoke_methods_study_trains_every_method(tmp_path):
  from experiments.compare_methods import MEMBERS, MethodsStudyConfig, run_study
  summary, table = run_study(MethodsStudyConfig(smoke=True, subprocess=False), tmp_path)
  assert [s["member"] for s in summary] == list(MEMBERS)
  for entry in summary:
    # Random vectors score about 0; on 1M words the smoke members reach 0.29-0.61.
    assert entry["EN-WS-353-ALL.txt:spearman:mean"] > 0.2, entry["method"]
    assert entry["end_to_end_seconds:mean"] > 0 and entry["peak_memory_mb:mean"] > 0
  assert "| PPMI (cds 0.75, shift 1) | 1 |" in table
  assert (tmp_path / "results.md").read_text() == table
  with open(tmp_path / "results.csv") as f:
    assert len(list(csv.DictReader(f))) == len(MEMBERS)
  for name in ("quality_by_method.png", "quality_vs_time.png"):
    assert (tmp_path / name).read_bytes()[:8] == PNG
