"""lstm_lib.lab: the experiments, the gate statistics and the command line.

The committed results files in results/ are checked for their schema, and
the command that wrote each one is re-run here at tiny sizes: the short run
must write a file with the same structure. Bad arguments must give a one-line
error and a non-zero exit, never a traceback, and never overwrite a file.
"""
import datetime
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lstm_lib import lab, results, tasks
from lstm_lib import train as tr
from lstm_lib.reference import LSTMTrace

ROOT = Path(__file__).resolve().parent.parent
# The lab's results files (results/ also holds the benchmark's, tested in test_bench.py).
RESULTS = sorted(p for p in (ROOT / "results").glob("*.json")
                 if json.loads(p.read_text()).get("schema") == lab.SCHEMA)
torch.set_num_threads(1)

# Settings that only change how long a run takes, and their tiny values.
TINY = {"--seeds": "1", "--steps": "4", "--hidden": "4", "--test-size": "16",
        "--eval-every": "2", "--max-sequences": "48", "--epochs": "1",
        "--train-size": "24", "--batch": "8"}


def tiny_argv(argv, out):
    """The same command with tiny sizes and another output file."""
    argv = [a for a in argv if a not in ("--force", "--quiet")]
    valid = _flags(argv[0])
    for flag, value in TINY.items():
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        elif flag in valid:
            argv += [flag, value]
    argv[argv.index("--out") + 1] = str(out)
    return argv + ["--quiet"]


def _flags(experiment):
    sub = lab.build_parser()._subparsers._group_actions[0].choices[experiment]
    return {s for a in sub._actions for s in a.option_strings}


def keys(d):
    return sorted(d.keys())


def check_schema(data):
    assert data["schema"] == lab.SCHEMA
    assert data["experiment"] in lab.EXPERIMENTS
    assert data["command"] == "python -m lstm_lib.lab " + shlex.join(data["argv"])
    assert data["argv"][0] == data["experiment"]
    assert keys(data["versions"]) == ["lstm_lib", "numpy", "python", "torch"]
    assert all(isinstance(v, str) and v for v in data["versions"].values())
    datetime.datetime.fromisoformat(data["date"])
    assert isinstance(data["machine"]["cores"], int) and data["machine"]["torch_threads"] == 1
    assert data["seconds"] >= 0 and data["cpu_seconds"] >= 0
    assert isinstance(data["machine"]["cpu"], str)
    cfg = data["config"]
    n_groups = len(cfg.get("models", cfg.get("arms", ["lstm"])))
    assert len(data["runs"]) == n_groups * len(cfg["seeds"])
    assert len(data["summary"]) == n_groups
    for group in data["summary"].values():
        for spread in group.values():
            assert keys(spread) == ["max", "median", "min", "n", "of"]
            if spread["n"]:
                assert spread["min"] <= spread["median"] <= spread["max"]


# --------------------------------------------------------------------------- committed results

def test_results_exist():
    assert RESULTS, "no committed results in results/"


@pytest.mark.parametrize("path", RESULTS, ids=[p.name for p in RESULTS])
def test_committed_results(path, tmp_path):
    data = json.loads(path.read_text())
    check_schema(data)
    # the command wrote this very file
    assert Path(data["argv"][data["argv"].index("--out") + 1]).name == path.name
    # re-run it at tiny sizes: same structure
    argv = tiny_argv(data["argv"], tmp_path / "short.json")
    assert lab.main(argv) == 0
    short = json.loads((tmp_path / "short.json").read_text())
    check_schema(short)
    assert keys(short) == keys(data)
    assert keys(short["config"]) == keys(data["config"])
    assert keys(short["runs"][0]) == keys(data["runs"][0])
    assert keys(short["summary"]) == keys(data["summary"])
    for group in data["summary"]:
        assert keys(short["summary"][group]) == keys(data["summary"][group])


# --------------------------------------------------------------------------- the command line

def cli(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "lstm_lib.lab", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_writes_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "adding.json"
    args = ["adding", "--T", "6", "--seeds", "2", "--steps", "3", "--hidden", "3",
            "--test-size", "8", "--eval-every", "2", "--out", str(out)]
    r = cli(*args)
    assert r.returncode == 0, r.stderr
    assert "%|" not in r.stderr and "batch/s" not in r.stderr   # no bar when not a terminal
    data = json.loads(out.read_text())
    check_schema(data)
    assert data["argv"] == args
    assert [(run["cell"], run["seed"]) for run in data["runs"]] == \
        [("lstm", 0), ("lstm", 1), ("rnn", 0), ("rnn", 1)]
    before = out.read_text()
    with pytest.raises(SystemExit) as exc:
        lab.main(args)
    assert exc.value.code == 2 and "--force" in capsys.readouterr().err
    assert out.read_text() == before                            # untouched
    assert lab.main(args + ["--force", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert json.loads(out.read_text())["argv"][-2:] == ["--force", "--quiet"]


@pytest.mark.parametrize("args, needle", [
    (["sum", "--out", "x.json"], "invalid choice: 'sum'"),
    (["adding", "--T", "0", "--out", "x.json"], "--T: expected a positive integer, got '0'"),
    (["adding", "--T", "-3", "--out", "x.json"], "--T"),
    (["copy", "--T", "ten", "--out", "x.json"], "--T"),
    (["exp4", "--T", "12", "--out", "x.json"], "T >= 20"),
    (["adding", "--out", "/no/such/dir/x.json"], "does not exist"),
    (["adding", "--out", "{tmp}"], "is a directory"),
    (["adding", "--out", "{tmp}/ro/x.json"], "cannot write"),
    (["adding", "--models", "lstm,gru", "--out", "x.json"], "--models"),
    (["ablation", "--clip", "none", "--out", "x.json"], "--clip"),
    (["adding"], "--out"),
])
def test_cli_rejects_bad_arguments(args, needle, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "cannot write" in needle:
        # Root ignores permission bits: make the write probe fail as it would for a user.
        def refuse(*a, **k):
            raise PermissionError(13, "Permission denied")
        monkeypatch.setattr(results.tempfile, "NamedTemporaryFile", refuse)
    with pytest.raises(SystemExit) as exc:
        lab.main(args)
    assert exc.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], lines
    assert not (tmp_path / "x.json").exists()


def test_cli_error_is_one_line_without_traceback(tmp_path):
    """The real entry point: a path under a regular file cannot be written, whoever runs it."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = cli("adding", "--out", str(blocker / "x.json"), cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not exist" in lines[0]
    r = cli("adding", "--T", "0", "--out", "x.json", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------- experiments

def test_run_functions_are_deterministic():
    a = lab.run_adding("lstm", T=6, steps=6, hidden=4, test_size=16, eval_every=3)
    b = lab.run_adding("lstm", T=6, steps=6, hidden=4, test_size=16, eval_every=3)
    a.pop("seconds"), b.pop("seconds")
    assert a == b
    assert a["sequences"] == [0, 96, 192] and len(a["test_mse"]) == 3
    assert a["baseline_mse"] == pytest.approx(1 / 6)


def test_run_exp4_counts_the_training_stream():
    r = lab.run_exp4(T=20, hidden=4, batch=8, max_sequences=40, test_size=32)
    assert r["sequences_seen"] == 40 and r["criterion_met"] is False
    assert r["sequences_to_criterion"] is None and 0 <= r["test_wrong"] <= 32


def test_run_order_epochs():
    r = lab.run_order("rnn", hidden=4, batch=10, epochs=2, train_size=25, test_size=20)
    assert r["epochs"] == [0, 1, 2] and len(r["test_accuracy"]) == 3
    assert r["epoch_sequences"] == 25 and r["chance"] == 0.25


def test_summarize_median_and_range():
    runs = [{"cell": "lstm", "sequences_to_mse_0.01": v, "final_test_mse": 0.1,
             "first_grad_norm": 1.0} for v in (300, 100, None, 200)]
    s = lab.summarize("adding", runs)["lstm"]["sequences_to_mse_0.01"]
    assert s == {"median": 200.0, "min": 100.0, "max": 300.0, "n": 3, "of": 4}


# --------------------------------------------------------------------------- gates

def test_lstm_trace_matches_the_module():
    """The reference, fed the module's weights, reproduces the module's h_t."""
    model = tr.make_model("lstm", 2, 5, 1, forget_bias=1.0, seed=2)
    batch = tasks.adding_problem(12, 4, rng=0)
    trace = lab.lstm_trace(model, batch.x)
    h, _ = model.rnn(batch.x)
    assert np.abs(trace.h - h.detach().double().numpy()).max() <= 1e-5
    assert trace.f.shape == (12, 4, 5) and ((trace.f > 0) & (trace.f < 1)).all()


def _synthetic_trace(T=10, B=40, n=3, seed=0):
    """Unit 0 writes v_1 at p_1 and keeps it (f = 1 after p_1, 0.5 before, input gate
    0.9 at the marks, 0.2 elsewhere); unit 1 writes v_1 but forgets it (f = 0.5);
    unit 2 holds noise."""
    g = np.random.default_rng(seed)
    p1 = g.integers(1, T // 2, size=B)
    p2 = p1 + T // 2 - 1
    v1 = g.random(B)
    f = np.full((T, B, n), 0.5)
    i = np.full((T, B, n), 0.2)
    c = g.normal(size=(T, B, n))
    for b in range(B):
        f[p1[b] + 1:, b, 0] = 1.0
        i[[p1[b], p2[b]], b, 0] = 0.9
        c[: p1[b], b, 0] = 0.0
        c[p1[b]:, b, 0] = v1[b]
        c[p1[b] - 1, b, 1] = 0.0
        c[p1[b], b, 1] = v1[b]                   # written, then left to decay
    z = np.zeros((B, n))
    trace = LSTMTrace(x=np.zeros((T, B, 2)), h0=z, c0=z, f=f, i=i, c_tilde=f, o=f, c=c, h=c)
    return trace, np.stack([p1, p2], axis=1), v1


def test_hold_statistics_on_a_known_trace():
    T = 10
    trace, pos, v1 = _synthetic_trace(T=T)
    s = lab.hold_statistics(trace, pos, v1)
    assert s["writers"] == [0, 1] and s["holders"] == [0]
    assert s["write_correlation"][0] == pytest.approx(1.0)
    assert s["final_correlation"][0] == pytest.approx(1.0)
    assert s["retained"][0] == 1.0
    expected = np.median(0.5 ** (T - 1 - pos[:, 0]))          # unit 1: 0.5 per held step
    assert s["retained"][1] == pytest.approx(expected)
    assert s["f_hold_median"][0] == 1.0 and s["f_hold_min"][0] == 1.0
    assert s["f_before_median"][0] == 0.5 and s["f_hold_median"][1] == 0.5
    assert s["i_marked_median"][0] == pytest.approx(0.9)
    assert s["i_unmarked_median"][0] == pytest.approx(0.2)
    assert s["f_min"] == 0.5 and s["n_units"] == 3 and s["n_sequences"] == 40


def test_hold_statistics_checks_shapes():
    trace, pos, v1 = _synthetic_trace()
    with pytest.raises(ValueError, match="positions"):
        lab.hold_statistics(trace, pos[:, :1], v1)
