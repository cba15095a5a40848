"""requirements.lock: it agrees with requirements.txt, and the running environment is exactly it.

The lock is made by scripts/lock.py; when these tests fail after a change of
requirements.txt, re-run `python3.11 scripts/lock.py` and then any course.py
command (it re-syncs the environment to the lock).
"""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import lock  # noqa: E402

LOCKED = lock.read_pins(lock.LOCK)
DIRECT = lock.read_pins(lock.REQUIREMENTS)
FIX = ("after changing requirements.txt: python3.11 scripts/lock.py, then any "
       "python3.11 course.py command re-syncs the environment")


def test_every_direct_pin_is_in_the_lock_at_its_version():
    assert DIRECT, "requirements.txt has no pins"
    assert lock.disagreements(DIRECT, LOCKED) == [], FIX


def test_the_projects_dependencies_are_locked():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert lock.canonical(project["name"]) == lock.PROJECT
    names = [lock._NAME.match(d)[1] for d in project["dependencies"]]
    assert [n for n in names if lock.canonical(n) not in LOCKED] == []


def test_the_lock_pins_the_installers_and_no_build_specific_package():
    assert {"pip", "setuptools", "wheel"} <= set(LOCKED)
    assert "+" not in LOCKED["torch"].version                      # the build is per machine
    assert not [k for k in LOCKED if lock.TORCH_BUILD_EXTRAS.match(k)]
    assert lock.PROJECT not in LOCKED


def test_the_lock_is_what_the_script_writes():
    """Sorted, one exact pin a line, direct pins marked: a hand edit shows up here."""
    def pin_lines(text):
        return [line for line in text.splitlines() if not line.startswith("#")]

    assert pin_lines(lock.LOCK.read_text()) == pin_lines(lock.render(LOCKED, DIRECT))


def test_the_environment_is_exactly_the_lock():
    """Every installed distribution is locked at its version (torch without its local
    label), every locked one is installed; only the platform's extras are exempt."""
    problems = lock.compare(lock.environment(), LOCKED)
    assert problems == [], "\n".join([*problems, FIX])


def test_the_environment_is_consistent():
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the checks themselves, on made-up environments -----------------------------------------

def pins(**versions):
    return {lock.canonical(k): lock.Pin(k, v) for k, v in versions.items()}


def dists(*specs):
    """('name', 'version', [requirements...]) -> environment."""
    return {lock.canonical(s[0]): lock.Dist(s[0], s[1], list(s[2]) if len(s) > 2 else [])
            for s in specs}


CUDA_TORCH = ("torch", "2.13.0", ["filelock", 'nvidia-cudnn-cu12==9.1; platform_system == "Linux"',
                                  'triton==3.5; platform_machine == "x86_64"', 'opt-einsum; extra == "x"'])


def test_torch_is_compared_without_its_local_label_and_nothing_else_is():
    env = dists(("torch", "2.13.0+cpu"), ("numpy", "2.4.6+local"))
    assert lock.compare(env, pins(torch="2.13.0", numpy="2.4.6")) == [
        "numpy 2.4.6+local is installed; requirements.lock pins 2.4.6"]


def test_torchs_cuda_libraries_are_exempt_with_what_they_need():
    env = dists(CUDA_TORCH, ("filelock", "3.0"), ("nvidia-cudnn-cu12", "9.1", ["nvidia-cublas-cu12"]),
                ("nvidia-cublas-cu12", "12.8"), ("triton", "3.5"), ("opt-einsum", "3.4"))
    assert lock.compare(env, pins(torch="2.13.0", filelock="3.0")) == [
        "opt-einsum 3.4 is installed but not in requirements.lock"]       # an extra is no platform


def test_a_platform_only_dependency_is_exempt_but_a_locked_one_is_still_checked():
    env = dists(("tqdm", "4.70.1", ['colorama; platform_system == "Windows"']), ("colorama", "0.4"),
                ("ipython", "9.0", ['pexpect>4.3; sys_platform != "win32"']), ("pexpect", "4.8"))
    assert lock.compare(env, pins(tqdm="4.70.1", ipython="9.0", pexpect="4.9")) == [
        "pexpect 4.8 is installed; requirements.lock pins 4.9"]


def test_unlocked_missing_and_wrong_versions_are_named_and_the_project_is_not():
    env = dists(("numpy", "2.4.5"), ("stray", "1.0"), ("lstm_lib", "0.1.0"))
    assert lock.compare(env, pins(numpy="2.4.6", sphinx="7.4.7")) == [
        "numpy 2.4.5 is installed; requirements.lock pins 2.4.6",
        "stray 1.0 is installed but not in requirements.lock",
        "sphinx==7.4.7 is in requirements.lock but not installed"]
    assert lock.not_locked(env, pins(numpy="2.4.6")) == ["stray"]


def test_freeze_leaves_out_the_project_torchs_label_and_its_cuda_build():
    env = dists(CUDA_TORCH, ("filelock", "3.0"), ("nvidia-cudnn-cu12", "9.1"), ("triton", "3.5"),
                ("lstm-lib", "0.1.0"), ("pexpect", "4.9"))
    frozen = lock.freeze(env)
    assert {k: p.version for k, p in frozen.items()} == {"torch": "2.13.0", "filelock": "3.0",
                                                         "pexpect": "4.9"}


def test_disagreements_name_both_versions():
    assert lock.disagreements(pins(Sphinx="7.4.7", pytest="9.2.0"), pins(sphinx="7.4.6")) == [
        "pytest==9.2.0 (requirements.txt) is not in requirements.lock",
        "Sphinx: requirements.txt pins 7.4.7, requirements.lock 7.4.6"]


def test_read_pins_takes_exact_pins_and_refuses_ranges(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("# comment\n-e .\nJinja2==3.1.6\nbleach[css]==6.4.0  # why\n\n")
    assert lock.read_pins(good) == {"jinja2": lock.Pin("Jinja2", "3.1.6"),
                                    "bleach": lock.Pin("bleach", "6.4.0")}
    bad = tmp_path / "bad.txt"
    bad.write_text("numpy>=2\n")
    with pytest.raises(ValueError, match="bad.txt:1: not an exact pin"):
        lock.read_pins(bad)
