"""lstm_lib.lab.bench: the benchmark command, its results file and the committed results.

Nothing here asserts on a timing or a ratio: the benchmark is not a CI gate.
The tests check that the command runs (at a tiny, quick setting), that it
writes the schema the book reads, and that results/bench.json records how,
where and when it was made.

The benchmark was ``python -m lstm_lib.bench`` until the lab got a package of
its own; it is now ``python -m lstm_lib.lab.bench``. results/bench.json keeps
the command that really wrote it: ``RENAMED`` maps that old program name to
the new one, and the committed command is re-run under its new name.
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

from helpers import SPECIAL_FILES, file_identity, make_special_file
from lstm_lib.lab import bench, experiments, results, tasks

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "results" / "bench.json"
STATS = ("median", "q1", "q3", "min", "max")
PROGRAM = "python -m lstm_lib.lab.bench"
RENAMED = {"python -m lstm_lib.bench": PROGRAM}      # the benchmark's name before lstm_lib.lab


def program(command):
    """The program a results file's command ran, under its current name."""
    for old, new in RENAMED.items():
        if command.startswith(old + " "):
            return new
    return command[:len(PROGRAM)]


def run_cli(*argv, env=None):
    return subprocess.run([sys.executable, "-m", "lstm_lib.lab.bench", *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def check_stats(stats, repeats):
    assert set(stats) == set(STATS) | {"per_repeat"}
    per = stats["per_repeat"]
    assert len(per) == repeats and all(v > 0 for v in per)
    assert stats["min"] <= stats["q1"] <= stats["median"] <= stats["q3"] <= stats["max"]
    assert stats["median"] == pytest.approx(float(np.median(per)), rel=1e-3)
    assert stats["min"] == pytest.approx(min(per)) and stats["max"] == pytest.approx(max(per))


def check_schema(data):
    """Everything the appendix and Chapter 4 read, and the record of the run."""
    assert data["schema"] == bench.SCHEMA
    assert program(data["command"]) == PROGRAM
    assert data["command"].endswith(" " + shlex.join(data["argv"]))
    assert set(data["versions"]) == {"python", "torch", "numpy", "lstm_lib"}
    assert all(isinstance(v, str) and v for v in data["versions"].values())
    date = datetime.datetime.fromisoformat(data["date"])
    assert date.tzinfo is not None
    machine = data["machine"]
    for key in ("cores", "cpu_model", "platform", "arch", "torch_default_threads",
                "threads_measured", "load_average_start", "load_average_end"):
        assert key in machine, key
    assert machine["cores"] >= 1 and machine["cpu_model"]
    assert all(t >= 1 for t in machine["threads_measured"])
    settings = data["settings"]
    assert settings["dtype"] == "float32" and settings["modes"] == list(bench.MODES)
    assert settings["bench_shape"] == bench.BENCH_SHAPE
    assert data["seconds"] > 0
    ops = data["ops_per_step"]
    assert set(ops) == {"ours", "readable"}
    rows = data["results"]
    assert rows
    for row in rows:
        assert row["mode"] in bench.MODES
        assert row["threads"] in machine["threads_measured"]
        assert {"ours", "torch"} <= set(row["ms"]) and all(v > 0 for v in row["ms"].values())
        check_stats(row["ratio"], row["repeats"])
        for other in ("readable", "products"):
            if other in row["ms"]:
                check_stats(row[f"ratio_{other}"], row["repeats"])
    # the summary holds the benchmark shape's numbers, copied from its rows
    head = {(r["mode"], r["threads"]): r for r in rows if r["group"] == "benchmark"}
    assert head
    for (mode, threads), row in head.items():
        key = f"bench_{mode}_ratio_{threads}t"
        assert data["summary"][key] == row["ratio"]["median"]
        assert data["summary"][f"bench_{mode}_ratio_q1_{threads}t"] == row["ratio"]["q1"]
        assert data["summary"][f"bench_{mode}_ours_ms_{threads}t"] == row["ms"]["ours"]


# --- the command -----------------------------------------------------------------------

def test_quick_run_writes_the_schema(tmp_path):
    out = tmp_path / "bench.json"
    argv = ["--quick", "--threads", "1", "--repeats", "3", "--min-block", "0.002",
            "--out", str(out)]
    proc = run_cli(*argv)
    assert proc.returncode == 0, proc.stderr
    assert "%|" not in proc.stderr                  # no progress bar when not on a terminal
    assert f"wrote {out}" in proc.stdout
    data = json.loads(out.read_text())
    check_schema(data)
    assert data["argv"] == argv and data["settings"]["quick"] is True
    assert data["machine"]["threads_measured"] == [1]
    assert [(r["group"], r["mode"]) for r in data["results"]] == [
        ("benchmark", "fwd"), ("benchmark", "fwd_bwd")]
    row = data["results"][0]
    assert (row["T"], row["B"], row["d"], row["n"]) == tuple(bench.QUICK_SHAPE.values())
    assert set(row["ms"]) == {"ours", "torch", "readable", "products"}


def cli_error(capsys, *argv):
    """Run main() in this process; return (exit status, stderr lines)."""
    with pytest.raises(SystemExit) as exc:
        bench.main(list(argv))
    return exc.value.code, capsys.readouterr().err.strip().splitlines()


def test_refuses_to_overwrite_and_rejects_bad_arguments(tmp_path, capsys):
    out = tmp_path / "bench.json"
    out.write_text("keep me")
    code, err = cli_error(capsys, "--quick", "--out", str(out))
    assert code == 2
    assert err == [f"python -m lstm_lib.lab.bench: error: --out: {out} exists; "
                   f"pass --force to overwrite it"]
    assert out.read_text() == "keep me"
    other = str(tmp_path / "x.json")
    for bad, msg in [(["--threads", "0"], "--threads: expected a comma-separated list"),
                     (["--threads", "a,b"], "--threads: expected a comma-separated list"),
                     (["--repeats", "-3"], "--repeats: expected an integer in [1, 1000], got '-3'"),
                     (["--min-block", "nan"], "--min-block: expected a number in (0, 60]"),
                     (["--wait-idle", "0"], "--wait-idle: expected a positive number")]:
        code, err = cli_error(capsys, "--quick", *bad, "--out", other)
        assert code == 2 and len(err) == 1 and msg in err[0], err
    code, err = cli_error(capsys, "--quick", "--out", str(tmp_path / "missing" / "b.json"))
    assert code == 2 and "does not exist" in err[0]
    code, err = cli_error(capsys, "--quick")
    assert code == 2 and "--out" in err[-1]
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize("force", [[], ["--force"]])
@pytest.mark.parametrize("kind", SPECIAL_FILES)
def test_never_replaces_what_is_not_a_regular_file(kind, force, tmp_path, capsys):
    out = make_special_file(tmp_path, kind)
    before = file_identity(out)
    code, err = cli_error(capsys, "--quick", "--out", str(out), *force)
    assert code == 2 and len(err) == 1 and "not a regular file" in err[0], err
    assert file_identity(out) == before


def test_threads_are_checked_before_anything_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(bench, "measure", lambda *a, **k: pytest.fail("the benchmark started"))
    cores = len(os.sched_getaffinity(0))
    out = str(tmp_path / "x.json")
    for bad, msg in [("2,,1", "--threads: expected a comma-separated list of positive integers, "
                              "got '2,,1'"),
                     (",1", "--threads: expected a comma-separated list"),
                     ("1,", "--threads: expected a comma-separated list"),
                     ("1,1", "--threads: each thread count once, got '1,1'"),
                     ("1000", f"--threads: at most {cores} (the CPU cores this process may "
                              f"use), got 1000"),
                     (f"1,{cores + 1}", f"--threads: at most {cores}")]:
        code, err = cli_error(capsys, "--quick", "--threads", bad, "--out", out)
        assert code == 2 and len(err) == 1 and msg in err[0], (bad, err)
    for bad, msg in [(["--repeats", "100000"], "--repeats: expected an integer in [1, 1000]"),
                     (["--min-block", "1e9"], "--min-block: expected a number in (0, 60]"),
                     (["--wait-max", "1e12"], "--wait-max: expected a number in (0, 86400]")]:
        code, err = cli_error(capsys, "--quick", *bad, "--out", out)
        assert code == 2 and len(err) == 1 and msg in err[0], (bad, err)
    assert not (tmp_path / "x.json").exists()


def test_ctrl_c_while_waiting_for_an_idle_machine(tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(bench.time, "sleep", interrupted)
    monkeypatch.setattr(results, "load_average", lambda: [9.0, 9.0, 9.0])
    out = tmp_path / "x.json"
    assert bench.main(["--quick", "--wait-idle", "0.5", "--out", str(out)]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "python -m lstm_lib.lab.bench: interrupted; nothing written"
    assert not out.exists()


def test_ctrl_c_while_waiting_real_signal(tmp_path):
    """The real program, a real SIGINT while it waits: one line, status 130, no traceback."""
    import signal
    import time
    out = tmp_path / "x.json"
    # SIGINT as at a terminal: a process started in the background by a shell without
    # job control inherits SIGINT ignored, and Python then installs no handler for it
    proc = subprocess.Popen([sys.executable, "-m", "lstm_lib.lab.bench", "--quick",
                             "--wait-idle", "1e-9", "--wait-max", "120", "--out", str(out)],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = proc.stderr.readline()         # "load average ... waiting (0 s so far)"
        assert "waiting" in first, first
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=60)  # a test that fails, never one that hangs
        code = proc.returncode
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130 and "Traceback" not in rest, rest
    assert rest.strip().splitlines()[-1] == "python -m lstm_lib.lab.bench: interrupted; nothing written"
    assert not out.exists()


def test_wait_for_idle_returns_at_once_or_after_the_limit(monkeypatch):
    monkeypatch.setattr(results, "load_average", lambda: [0.1, 0.2, 0.3])
    assert bench.wait_for_idle(0.8, 10, poll=0.01, say=lambda m: None) == 0.0
    monkeypatch.setattr(results, "load_average", lambda: [5.0, 5.0, 5.0])
    said = []
    waited = bench.wait_for_idle(0.8, 0.05, poll=0.01, say=said.append)
    assert waited >= 0.05 and said and "load average 5.00" in said[0]


# --- what is measured ----------------------------------------------------------------------

def test_full_plan_covers_the_issue():
    points = bench.plan(threads=(2, 1), repeats=15)
    shapes = bench.lab_shapes()
    groups = {(p["group"], p["threads"]) for p in points}
    assert {("benchmark", 2), ("benchmark", 1), ("large", 2), ("large", 1)} <= groups
    head = [p for p in points if p["group"] == "benchmark"]
    assert all((p["T"], p["B"], p["d"], p["n"]) == (100, 64, 64, 64) for p in head)
    assert all({"readable", "products"} <= set(p["models"]) and p["repeats"] >= 21 for p in head)
    lab = {(p["name"], p["threads"]) for p in points if p["group"] == "lab"}
    assert lab == {(name, t) for name in shapes for t in (2, 1)}
    for p in points:
        if p["group"] == "lab":
            assert {k: p[k] for k in "TBdn"} == shapes[p["name"]]
    for axis, values in bench.SWEEPS.items():
        sweep = [p for p in points if p["group"] == f"sweep_{axis}"]
        assert [p[axis] for p in sweep] == values
    assert any(p["input_grad"] for p in points)


def test_lab_shapes_follow_the_lab():
    """The lab's shapes come from the lab's table of defaults and its tasks' inputs."""
    shapes = bench.lab_shapes()
    assert list(shapes) == list(bench.LAB_TASKS)
    for shape in shapes.values():
        assert set(shape) == {"T", "B", "d", "n"}
        assert all(isinstance(v, int) and v > 0 for v in shape.values())
    for task, shape in shapes.items():
        defaults = experiments.DEFAULTS[task]
        assert (shape["B"], shape["n"]) == (defaults["batch"], defaults["hidden"])
    a = experiments.DEFAULTS["adding"]
    x = tasks.adding_problem(a["T"], 3, 0).x
    assert (shapes["adding"]["T"], shapes["adding"]["d"]) == (x.shape[0], x.shape[-1])
    e = experiments.DEFAULTS["exp4"]
    assert shapes["exp4"]["T"] == e["T"] + e["T"] // 10
    longest = max(tasks.temporal_order(64, seed).x.shape[0] for seed in range(3))
    assert longest <= shapes["order"]["T"] <= longest + 10


def test_ops_per_step_counts_the_loops():
    """One more step adds 7 operators forward and 5 backward on the fast path,
    against 19 and 29 for the readable loop under autograd (deterministic counts)."""
    assert bench.ops_per_step(fast=True) == {"forward": 7.0, "backward": 5.0}
    readable = bench.ops_per_step(fast=False)
    assert readable["forward"] > 2 * 7 and readable["backward"] > 4 * 5
    assert bench.ops_per_step(fast=True, n=16, B=2) == {"forward": 7.0, "backward": 5.0}


def test_torch_kernel_names_finds_the_fused_kernel():
    names = bench.torch_kernel_names()
    assert names and all(n.startswith("aten::") for n in names)


# --- the committed results file -----------------------------------------------------------

@pytest.mark.skipif(not COMMITTED.exists(), reason="results/bench.json not written yet")
def test_committed_command_reruns_under_its_current_name(tmp_path):
    """The command that wrote results/bench.json, at the quick setting, under its new name."""
    data = json.loads(COMMITTED.read_text())
    assert data["command"].startswith("python -m lstm_lib.bench ")      # the record stays honest
    argv = list(data["argv"])
    argv[argv.index("--out") + 1] = str(tmp_path / "bench.json")
    argv += ["--quick", "--threads", "1", "--repeats", "2", "--min-block", "0.002", "--quiet"]
    proc = run_cli(*argv)
    assert proc.returncode == 0, proc.stderr
    short = json.loads((tmp_path / "bench.json").read_text())
    check_schema(short)
    assert short["command"] == f"{PROGRAM} " + shlex.join(argv)
    assert sorted(short) == sorted(data) and sorted(short["settings"]) == sorted(data["settings"])


@pytest.mark.skipif(not COMMITTED.exists(), reason="results/bench.json not written yet")
def test_committed_results_file():
    data = json.loads(COMMITTED.read_text())
    check_schema(data)
    assert data["settings"]["quick"] is False
    assert "--quick" not in data["argv"]
    assert Path(data["argv"][data["argv"].index("--out") + 1]).name == "bench.json"
    threads = data["machine"]["threads_measured"]
    rows = data["results"]
    groups = {r["group"] for r in rows}
    assert {"benchmark", "benchmark_input_grad", "lab", "large"} <= groups
    assert {f"sweep_{a}" for a in bench.SWEEPS} <= groups
    for mode in bench.MODES:
        for t in threads:
            assert f"bench_{mode}_ratio_{t}t" in data["summary"]
            assert f"bench_{mode}_readable_ratio_{t}t" in data["summary"]
            assert f"bench_{mode}_products_ratio_{t}t" in data["summary"]
            assert f"n{bench.LARGE_HIDDEN}_{mode}_ratio_{t}t" in data["summary"]
            for name in bench.LAB_TASKS:
                assert f"lab_{name}_{mode}_ratio_{t}t" in data["summary"]
    lab_rows = {r["name"]: (r["T"], r["B"], r["d"], r["n"]) for r in rows if r["group"] == "lab"}
    assert lab_rows == {k: tuple(v.values()) for k, v in data["settings"]["lab_shapes"].items()}
    assert data["ops_per_step"]["ours"] == bench.ops_per_step(fast=True)


# --- the attention sweep (Chapter 9) --------------------------------------------------------

ATTENTION_COMMITTED = ROOT / "results" / "attention_sweep.json"


def check_attention_schema(data):
    assert data["schema"] == bench.SCHEMA_ATTENTION
    assert program(data["command"]) == PROGRAM and "--sweep attention" in data["command"]
    machine = data["machine"]
    for key in ("cores", "cpu_model", "threads_measured", "load_average_start",
                "load_average_end"):
        assert key in machine, key
    settings = data["settings"]
    assert set(settings["models"]) == set(bench.ATTENTION_MODELS)
    sweep = settings["sweep"]
    rows = data["results"]
    assert len(rows) == len(sweep["T"]) * len(machine["threads_measured"]) * len(bench.MODES)
    for row in rows:
        assert (row["B"], row["d"], row["n"]) == (sweep["B"], sweep["n"], sweep["n"])
        assert set(row["ms"]) == set(bench.ATTENTION_MODELS)
        assert len(row["load_average"]) == 3
        check_stats(row["ratio"], row["repeats"])
        check_stats(row["ratio_attention"], row["repeats"])
        key = f"{row['mode']}_attention_vs_ours_T{row['T']}_{row['threads']}t"
        per = np.asarray(row["ratio_attention"]["per_repeat"]) / np.asarray(
            row["ratio"]["per_repeat"])
        # summary and per-repeat ratios are stored to 4 decimals: allow for both roundings
        assert data["summary"][key] == pytest.approx(float(np.median(per)), rel=5e-3, abs=1e-4)
        assert data["summary"][f"{row['mode']}_attention_T{row['T']}_{row['threads']}t"] == \
            row["ratio_attention"]["median"]
    # the operator counts: lstm_lib.LSTM's grow with T, attention's and torch.nn.LSTM's do not
    ops = data["ops"]
    assert ops["ours"]["32"]["forward"] > ops["ours"]["16"]["forward"]
    assert ops["attention"]["32"] == ops["attention"]["16"]
    assert ops["torch"]["32"] == ops["torch"]["16"]


def test_attention_sweep_quick(tmp_path):
    out = tmp_path / "att.json"
    argv = ["--sweep", "attention", "--quick", "--threads", "1", "--repeats", "3",
            "--min-block", "0.002", "--out", str(out)]
    proc = run_cli(*argv)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    check_attention_schema(data)
    assert [r["T"] for r in data["results"]] == [T for T in bench.ATTENTION_QUICK["T"]
                                                 for _ in bench.MODES]
    assert "attention" in proc.stdout


def test_attention_plan_and_ops():
    points = bench.attention_plan(threads=(2, 1), repeats=7)
    assert [p["T"] for p in points] == bench.ATTENTION_SWEEP["T"] * 2
    assert all(p["models"] == bench.ATTENTION_MODELS and p["d"] == p["n"] for p in points)
    ours = [bench.ops_by_length("ours", T) for T in (10, 20)]
    att = [bench.ops_by_length("attention", T) for T in (10, 20)]
    assert (ours[1]["forward"] - ours[0]["forward"]) / 10 == bench.ops_per_step()["forward"]
    assert att[0] == att[1]
    with pytest.raises(ValueError, match="d must equal n"):
        bench.measure(dict(group="x", name="x", T=3, B=2, d=3, n=4, threads=1, repeats=1,
                           models=bench.ATTENTION_MODELS, input_grad=False), "fwd")


def test_committed_attention_sweep():
    data = json.loads(ATTENTION_COMMITTED.read_text())
    check_attention_schema(data)
    assert data["settings"]["quick"] is False and data["settings"]["sweep"] == bench.ATTENTION_SWEEP
    assert Path(data["argv"][data["argv"].index("--out") + 1]).name == ATTENTION_COMMITTED.name
    assert data["ops"]["attention"]["16"] == bench.ops_by_length("attention", 16)
