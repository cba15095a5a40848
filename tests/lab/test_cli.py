"""lstm_lib.lab.cli (python -m lstm_lib.lab): the command line and the committed results.

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

import pytest
import torch

from helpers import SPECIAL_FILES, file_identity, make_special_file
from lstm_lib.lab import cli, experiments, results

ROOT = Path(__file__).resolve().parents[2]
# The lab's results files (results/ also holds the benchmark's, tested in test_bench.py).
RESULTS = sorted(p for p in (ROOT / "results").glob("*.json")
                 if json.loads(p.read_text()).get("schema") == experiments.SCHEMA)
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
    sub = cli.build_parser()._subparsers._group_actions[0].choices[experiment]
    return {s for a in sub._actions for s in a.option_strings}


def keys(d):
    return sorted(d.keys())


def check_schema(data):
    assert data["schema"] == experiments.SCHEMA
    assert data["experiment"] in experiments.EXPERIMENTS
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
    assert cli.main(argv) == 0
    short = json.loads((tmp_path / "short.json").read_text())
    check_schema(short)
    assert keys(short) == keys(data)
    assert keys(short["config"]) == keys(data["config"])
    assert keys(short["runs"][0]) == keys(data["runs"][0])
    assert keys(short["summary"]) == keys(data["summary"])
    for group in data["summary"]:
        assert keys(short["summary"][group]) == keys(data["summary"][group])


# --------------------------------------------------------------------------- the command line

def run_cli(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "lstm_lib.lab", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_writes_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "adding.json"
    args = ["adding", "--T", "6", "--seeds", "2", "--steps", "3", "--hidden", "3",
            "--test-size", "8", "--eval-every", "2", "--out", str(out)]
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    assert "%|" not in r.stderr and "batch/s" not in r.stderr   # no bar when not a terminal
    data = json.loads(out.read_text())
    check_schema(data)
    assert data["argv"] == args
    assert [(run["cell"], run["seed"]) for run in data["runs"]] == \
        [("lstm", 0), ("lstm", 1), ("rnn", 0), ("rnn", 1)]
    before = out.read_text()
    with pytest.raises(SystemExit) as exc:
        cli.main(args)
    assert exc.value.code == 2 and "--force" in capsys.readouterr().err
    assert out.read_text() == before                            # untouched
    assert cli.main(args + ["--force", "--quiet"]) == 0
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
        cli.main(args)
    assert exc.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], lines
    assert not (tmp_path / "x.json").exists()


def test_cli_error_is_one_line_without_traceback(tmp_path):
    """The real entry point: a path under a regular file cannot be written, whoever runs it."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = run_cli("adding", "--out", str(blocker / "x.json"), cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not exist" in lines[0]
    r = run_cli("adding", "--T", "0", "--out", "x.json", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("force", [[], ["--force"]])
@pytest.mark.parametrize("kind", SPECIAL_FILES)
def test_cli_never_replaces_what_is_not_a_regular_file(kind, force, tmp_path, capsys):
    out = make_special_file(tmp_path, kind)
    before = file_identity(out)
    with pytest.raises(SystemExit) as exc:
        cli.main(["adding", "--T", "4", "--steps", "1", "--seeds", "1", "--test-size", "4",
                  "--out", str(out), *force])
    assert exc.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "--out" in lines[0] and "not a regular file" in lines[0], lines
    assert file_identity(out) == before


def test_cli_refuses_a_special_file_that_appears_while_running(tmp_path, capsys, monkeypatch):
    out = tmp_path / "r.json"

    def run_all(args, bar_on):            # the run: meanwhile someone puts a FIFO at --out
        os.mkfifo(out)
        return {}, []
    monkeypatch.setattr(cli, "_run_all", run_all)
    monkeypatch.setattr(cli, "summarize", lambda e, runs: {})
    assert cli.main(["adding", "--out", str(out), "--force", "--quiet"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "not a regular file" in lines[0], lines
    assert out.is_fifo()


# Every numeric option, with a value far outside what a run can use (or below its minimum).
# Each must be refused up front: one line, exit status 2, the flag named, nothing run.
OUT_OF_RANGE = [
    ("copy", "--alphabet", "1"), ("copy", "--alphabet", "1000000"),
    ("adding", "--hidden", "100000"), ("adding", "--batch", "1e8"),
    ("adding", "--batch", "100000000"), ("adding", "--test-size", "1e9"),
    ("adding", "--test-size", "1000000000"), ("copy", "--length", "1000000"),
    ("adding", "--seeds", "1000000"), ("adding", "--T", "10000000"),
    ("adding", "--T", "1"), ("exp4", "--T", "19"), ("copy", "--T", "10000000"),
    ("adding", "--lr", "1e300"), ("adding", "--clip", "1e300"),
    ("adding", "--forget-bias", "1e300"), ("adding", "--forget-bias", "-1e300"),
    ("adding", "--input-bias", "-1e300"), ("exp4", "--input-bias", "1e300"),
    ("adding", "--steps", "1000000000000"), ("adding", "--eval-every", "1000000000000"),
    ("adding", "--stop-mse", "1e300"), ("ablation", "--steps", "1000000000000"),
    ("exp4", "--max-sequences", "1000000000000000"), ("exp4", "--batch", "100000000"),
    ("order", "--epochs", "1000000000"), ("order", "--train-size", "1000000000"),
    ("order", "--hidden", "100000"), ("copy", "--test-size", "1000000000"),
]


@pytest.fixture
def nothing_runs(monkeypatch):
    """Fail the test if an experiment starts."""
    def run_all(args, bar_on):
        pytest.fail("the experiment started")
    monkeypatch.setattr(cli, "_run_all", run_all)


@pytest.mark.parametrize("experiment, flag, value", OUT_OF_RANGE,
                         ids=[f"{e} {f} {v}" for e, f, v in OUT_OF_RANGE])
def test_cli_refuses_out_of_range_settings_up_front(experiment, flag, value, tmp_path, capsys,
                                                   nothing_runs):
    out = tmp_path / "x.json"
    with pytest.raises(SystemExit) as exc:
        cli.main([experiment, f"{flag}={value}", "--out", str(out)])
    assert exc.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"{flag}: " in lines[0], lines
    assert any(f"got {v}" in lines[0] for v in (value, repr(value), repr(float(value)))), lines
    assert not out.exists()


def test_cli_refuses_a_run_too_big_for_the_machine(tmp_path, capsys, nothing_runs):
    """Each setting within its range, together far too much memory: refused, saying how much."""
    out = tmp_path / "x.json"
    with pytest.raises(SystemExit) as exc:
        cli.main(["copy", "--T", "100000", "--batch", "65536", "--out", str(out)])
    assert exc.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "memory" in lines[0] and " GB" in lines[0], lines
    assert "more than half of this machine's" in lines[0]
    assert not out.exists()


def test_cli_memory_limit_is_half_the_machine(tmp_path, capsys, monkeypatch, nothing_runs):
    need = experiments.memory_estimate("adding")
    monkeypatch.setattr(results, "memory_total", lambda: 2 * need - 1)
    with pytest.raises(SystemExit) as exc:
        cli.main(["adding", "--out", str(tmp_path / "x.json")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "would need about" in err
    monkeypatch.setattr(results, "memory_total", lambda: 2 * need + 1)
    with pytest.raises(pytest.fail.Exception, match="the experiment started"):
        cli.main(["adding", "--out", str(tmp_path / "x.json")])


# --------------------------------------------------------------------------- one table of defaults

@pytest.mark.parametrize("experiment", experiments.EXPERIMENTS)
def test_every_flag_defaults_to_the_table(experiment):
    """The parser's defaults are DEFAULTS and SEEDS: the functions and the CLI cannot drift."""
    args = cli.build_parser().parse_args([experiment, "--out", "unused.json"])
    for name, value in experiments.DEFAULTS[experiment].items():
        assert getattr(args, "relevant" if name == "n_relevant" else name) == value, name
    assert args.seeds == experiments.SEEDS[experiment]
