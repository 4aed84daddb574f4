"""benchmarks/profile_step.py's reading of a trace: per-step operation times and how many
operations ran at once, on hand-built trace events."""

import pytest


@pytest.fixture(scope="module")
def profile_step(load_benchmark):
  return load_benchmark("profile_step")


def _event(name, ts, dur, tid=1):
  return {"ph": "X", "name": name, "ts": ts, "dur": dur, "tid": tid}


def _steps(count):
  """Steps of 100 us: "scatter" alone (0-20), "dot.a" and "dot.b" side by side on two
  threads (20-60), then nothing (60-100); plus events that are not operations."""
  events = [_event("$python frame", 0, 10 ** 6), _event("ThunkExecutor::Execute", 0, 10 ** 6),
            _event("compile pass", 5, 50)]
  for i in range(count):
    t = 100 * i
    events += [_event("scatter", t, 20), _event("dot.a", t + 20, 40, tid=1),
               _event("dot.b", t + 20, 40, tid=2), _event("end: dot.a", t + 60, 1)]
  return {"traceEvents": events + [{"ph": "M", "name": "thread_name"}]}


def test_per_step_table_keeps_operations_of_every_step(profile_step):
  events = profile_step.operation_events(_steps(8))
  assert {e["name"] for e in events} == {"scatter", "dot.a", "dot.b", "compile pass"}
  table = profile_step.per_step_table(events, steps=8)
  assert [row["operation"] for row in table] == ["dot.a", "dot.b", "scatter"]
  assert table[0]["us_per_step"] == pytest.approx(40.0)
  assert table[2]["calls_per_step"] == pytest.approx(1.0)
  assert sum(row["share"] for row in table) == pytest.approx(1.0)
  assert table[2]["share"] == pytest.approx(20 / 100)


def test_concurrency_shares_of_wall_time(profile_step):
  events = profile_step.operation_events(_steps(8))
  table = profile_step.per_step_table(events, steps=8)
  busy = profile_step.concurrency(events, sorted(table, key=lambda r: r["operation"] != "scatter"))
  assert busy["us_per_step"] == pytest.approx(100.0)
  assert busy["running"] == pytest.approx({0: 0.4, 1: 0.2, 2: 0.4})
