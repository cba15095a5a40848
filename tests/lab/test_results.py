"""lstm_lib.lab.results: what a results file records, and the command lines' shared rules."""
import argparse
import datetime
import json
import os
import shlex
from pathlib import Path

import pytest

from helpers import SPECIAL_FILES, file_identity, make_special_file
from lstm_lib.lab import results as R

RESULTS = Path(__file__).resolve().parents[2] / "results"     # the repository's committed files


def test_environment_records_command_versions_date_machine():
    argv = ["adding", "--T", "200", "--out", "a file.json"]
    env = R.environment("lstm_lib.lab", argv)
    assert env["command"] == "python -m lstm_lib.lab " + shlex.join(argv)
    assert shlex.split(env["command"])[3:] == argv          # the command re-parses to argv
    assert env["argv"] == argv and env["argv"] is not argv
    assert sorted(env["versions"]) == ["lstm_lib", "numpy", "python", "torch"]
    assert all(isinstance(v, str) and v for v in env["versions"].values())
    date = datetime.datetime.fromisoformat(env["date"])
    assert date.tzinfo is not None
    assert env["machine"]["cores"] == os.cpu_count()
    assert isinstance(R.cpu_model(), str) and R.cpu_model()


def test_load_average_is_three_numbers_or_none():
    load = R.load_average()
    assert load is None or (len(load) == 3 and all(v >= 0 for v in load))


def test_parser_error_is_one_line_and_status_2(capsys):
    p = R.Parser(prog="prog")
    p.add_argument("--n", type=R.positive_int, required=True)
    with pytest.raises(SystemExit) as exc:
        p.parse_args(["--n", "0"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("prog: error:") and "positive integer" in err


@pytest.mark.parametrize("text", ["0", "-3", "1.5", "x", ""])
def test_positive_int_rejects(text):
    with pytest.raises(argparse.ArgumentTypeError, match="positive integer"):
        R.positive_int(text)


@pytest.mark.parametrize("text", ["0", "-1e-3", "nan", "inf", "x"])
def test_positive_float_rejects(text):
    with pytest.raises(argparse.ArgumentTypeError, match="positive number"):
        R.positive_float(text)


def test_positive_types_accept():
    assert R.positive_int("7") == 7 and R.positive_float("0.25") == 0.25


def _out_error(tmp_path, path, force, capsys):
    with pytest.raises(SystemExit) as exc:
        R.check_out(R.Parser(prog="prog"), path, force)
    assert exc.value.code == 2
    return capsys.readouterr().err


def test_check_out_rules(tmp_path, capsys):
    existing = tmp_path / "r.json"
    existing.write_text("{}")
    assert "--force" in _out_error(tmp_path, existing, False, capsys)
    R.check_out(R.Parser(prog="prog"), existing, True)                 # allowed with --force
    assert "is a directory" in _out_error(tmp_path, tmp_path, True, capsys)
    assert "does not exist" in _out_error(tmp_path, tmp_path / "no" / "r.json", False, capsys)
    R.check_out(R.Parser(prog="prog"), tmp_path / "new.json", False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]    # the probe left nothing


def test_check_out_unwritable_directory(tmp_path, capsys, monkeypatch):
    # Simulate a directory the user cannot write in (root can write in a chmod 500 one).
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(R.tempfile, "NamedTemporaryFile", refuse)
    err = _out_error(tmp_path, tmp_path / "r.json", False, capsys)
    assert "cannot write in" in err and "Permission denied" in err and err.count("\n") == 1


def test_write_json_replaces_whole_file(tmp_path):
    path = tmp_path / "r.json"
    R.write_json(path, {"a": [1, 2]})
    R.write_json(path, {"b": 3})
    assert json.loads(path.read_text()) == {"b": 3}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]          # no temporary file left


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("kind", SPECIAL_FILES)
def test_check_out_refuses_what_is_not_a_regular_file(tmp_path, capsys, kind, force):
    """A device, FIFO or socket (or a link to one) is never replaced, whatever --force says."""
    path = make_special_file(tmp_path, kind)
    before = file_identity(path)
    err = _out_error(tmp_path, path, force, capsys)
    assert err.count("\n") == 1 and err.startswith("prog: error: --out: ")
    assert str(path) in err and "not a regular file" in err
    assert ("FIFO" if "fifo" in kind else "socket") in err
    assert ("symbolic link" in err) == kind.startswith("symlink")
    assert file_identity(path) == before


@pytest.mark.parametrize("kind", SPECIAL_FILES)
def test_write_json_refuses_what_is_not_a_regular_file(tmp_path, kind):
    path = make_special_file(tmp_path, kind)
    before = file_identity(path)
    with pytest.raises(ValueError, match=r"^path: .* not a regular file"):
        R.write_json(path, {"a": 1})
    assert file_identity(path) == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]   # nothing left behind


def test_write_json_through_a_link_to_a_regular_file(tmp_path):
    """A symbolic link to a regular file stays a link; the file it names gets the new content."""
    target = tmp_path / "real.json"
    target.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    R.check_out(R.Parser(prog="prog"), link, True)
    R.write_json(link, {"b": 2})
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text()) == {"b": 2}


def test_write_json_ignores_a_planted_temporary_file(tmp_path):
    """The temporary file is created afresh (O_EXCL): a link planted at a guessable name
    beside the target is never written through."""
    path = tmp_path / "r.json"
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (tmp_path / f".{path.name}.tmp").symlink_to(victim)
    R.write_json(path, {"c": 3})
    assert json.loads(path.read_text()) == {"c": 3}
    assert victim.read_text() == "keep me"


def test_load_results_reads_the_committed_files():
    paths = sorted(RESULTS.glob("*.json"))
    assert "bench.json" in [p.name for p in paths]
    for path in paths:
        for given in (path, str(path)):                       # a Path or a string
            data = R.load_results(given)
            assert data["schema"].startswith(("lstm_lib.lab/", "lstm_lib.bench/",
                                              "lstm_lib.cellbench/", "lstm_lib.bench.attention/",
                                              "lstm_lib.chapters."))
            assert data["command"].startswith("python -m lstm_lib.")


def test_load_results_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no-such.json"):
        R.load_results(tmp_path / "no-such.json")


def test_the_library_does_not_know_where_results_live():
    assert not hasattr(R, "RESULTS_DIR")
