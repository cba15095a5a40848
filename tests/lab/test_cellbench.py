"""lstm_lib.lab.cellbench: the GRU's time per step against the LSTM's, and its results file.

Nothing here asserts on a timing or a ratio (the machine is shared): the tests
check that the command runs at its quick setting, what it records, the
operator counts per step, and the committed results file's schema.
"""
import json
import shlex
from pathlib import Path

import pytest
import torch

from lstm_lib.lab import cellbench as C
from lstm_lib.weights import gru_param_count, lstm_param_count

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "results" / "gru_bench.json"
STATS = {"median", "q1", "q3", "min", "max"}


def check_schema(data, shapes):
    assert data["schema"] == C.SCHEMA
    assert data["command"] == f"python -m {C.PROGRAM} " + shlex.join(data["argv"])
    assert set(data["versions"]) == {"python", "torch", "numpy", "lstm_lib"}
    for key in ("cores", "cpu_model", "load_average_start", "load_average_end"):
        assert key in data["machine"], key
    assert data["settings"]["threads"] == 1 and data["settings"]["dtype"] == "float32"
    assert set(data["ops_per_step"]) == {"lstm", "gru", "rnn"}
    rows = data["results"]
    assert [(r["name"], r["mode"]) for r in rows] == [(s, m) for s in shapes for m in C.MODES]
    for row in rows:
        assert set(row["us_per_step"]) == set(C.MODELS)
        assert all(v > 0 for v in row["us_per_step"].values())
        for r in row["ratios"].values():
            assert set(r) == STATS and r["min"] <= r["q1"] <= r["median"] <= r["q3"] <= r["max"]


def test_quick_run_writes_the_schema(tmp_path):
    out = tmp_path / "cells.json"
    assert C.main(["--quick", "--repeats", "3", "--min-block", "0.001", "--out", str(out),
                   "--quiet"]) == 0
    check_schema(json.loads(out.read_text()), list(C.QUICK))
    with pytest.raises(SystemExit) as exc:                  # never overwritten without --force
        C.main(["--quick", "--out", str(out)])
    assert exc.value.code == 2


def test_equal_gru_hidden_is_the_nearest_count():
    for d, n in [(2, 16), (64, 64), (64, 256), (3, 1)]:
        m = C.equal_gru_hidden(d, n)
        target = lstm_param_count(d, n)
        gap = abs(gru_param_count(d, m) - target)
        assert gap <= abs(gru_param_count(d, m + 1) - target)
        assert m == n or gap <= abs(gru_param_count(d, m - 1) - target)
    assert C.equal_gru_hidden(2, 16) == 19


def test_models_are_the_six_cells_with_one_input_size():
    ms = C.models({"T": 3, "B": 2, "d": 3, "n": 4})
    assert list(ms) == list(C.MODELS)
    assert [type(m).__name__ for m in ms.values()] == ["LSTM", "GRU", "GRU", "RNN", "LSTM", "GRU", "RNN"]
    assert isinstance(ms["torch_gru"], torch.nn.GRU) and ms["gru_equal"].hidden_size == 5


def test_ops_per_step_of_the_fast_loops():
    """One more step costs a fixed number of operators: the fast GRU loop's backward is
    three per step (dG_t, the direct road, the recurrent product), plus the bookkeeping."""
    gru, lstm = C.ops_per_step("gru"), C.ops_per_step("lstm")
    assert gru["forward"] == int(gru["forward"]) and gru["backward"] == int(gru["backward"])
    assert gru["backward"] <= lstm["backward"]


@pytest.mark.skipif(not COMMITTED.exists(), reason="results/gru_bench.json not written yet")
def test_committed_results():
    data = json.loads(COMMITTED.read_text())
    check_schema(data, list(C.SHAPES))
    assert Path(data["argv"][data["argv"].index("--out") + 1]).name == COMMITTED.name
