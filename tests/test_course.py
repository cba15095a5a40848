"""course.py: its own help (which creates and installs nothing), unknown commands,
the choice of torch build, the test phases and their exit codes.

No network: the CPU index probe, the device detection and pip are replaced by fakes.
"""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import course  # noqa: E402

COMMANDS = list(course.COMMANDS)


def cli(tmp_path, *args):
    """Run course.py with COURSE_VENV at a directory that must stay absent."""
    venv = tmp_path / "venv-must-not-exist"
    env = {**os.environ, "COURSE_VENV": str(venv)}
    result = subprocess.run([sys.executable, str(ROOT / "course.py"), *args], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=60)
    assert not venv.exists(), f"course.py {' '.join(args)} created the environment"
    return result


# --- help, from the command line ------------------------------------------------------------

@pytest.mark.parametrize("args", [["--help"], ["-h"], ["help"]])
def test_help_lists_every_command_and_exits_0(tmp_path, args):
    r = cli(tmp_path, *args)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: python3.11 course.py COMMAND")
    for name in COMMANDS:
        assert f"\n  {name} " in r.stdout, name
    assert "course.py test -- --help" in r.stdout            # how to reach the tool's own help
    assert r.stderr == ""


def test_no_command_prints_help_and_exits_2(tmp_path):
    r = cli(tmp_path)
    assert r.returncode == 2
    assert r.stdout.startswith("usage: python3.11 course.py COMMAND")


@pytest.mark.parametrize("name", COMMANDS)
@pytest.mark.parametrize("form", ["--help", "-h", "help"])
def test_command_help_is_the_courses_own(tmp_path, name, form):
    r = cli(tmp_path, *(["help", name] if form == "help" else [name, form]))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"usage: python3.11 course.py {name} [ARGS...]")
    assert f"Its own help: python3.11 course.py {name} -- --help" in r.stdout
    assert course.COMMANDS[name].tool in r.stdout


@pytest.mark.parametrize("args", [["biuld"], ["help", "biuld"], ["biuld", "--help"]])
def test_unknown_command_is_named_with_the_list_and_exits_2(tmp_path, args):
    r = cli(tmp_path, *args)
    assert r.returncode == 2
    assert "unknown command 'biuld' (did you mean 'build'?)" in r.stderr
    for name in COMMANDS:
        assert f"\n  {name} " in r.stderr, name


# --- arguments: what goes to the tool -------------------------------------------------------

@pytest.fixture
def recorded(monkeypatch):
    """main() with the environment and the tools replaced: records what the tool would get."""
    calls = []
    monkeypatch.setattr(course, "ensure_env", lambda: 0.0)
    for name in COMMANDS:
        monkeypatch.setattr(course.COMMANDS[name], "run",
                            lambda extra, name=name: calls.append((name, extra)) or 0)
    return calls


@pytest.mark.parametrize("argv, expected", [
    (["test", "-k", "jacobian"], ("test", ["-k", "jacobian"])),
    (["test", "--", "--help"], ("test", ["--help"])),
    (["build", "--", "-h"], ("build", ["-h"])),
    (["unit", "-x", "--help"], ("unit", ["-x", "--help"])),    # not right after the command
    (["lab"], ("lab", [])),
])
def test_arguments_after_the_command_go_to_its_tool(recorded, capsys, argv, expected):
    assert course.main(argv) == 0
    assert recorded == [expected]
    assert f"[course] {argv[0]} finished in" in capsys.readouterr().out


def test_last_line_names_the_setup_time_and_the_exit_code(monkeypatch, capsys):
    monkeypatch.setattr(course, "ensure_env", lambda: 12.0)
    monkeypatch.setattr(course.COMMANDS["build"], "run", lambda extra: 3)
    assert course.main(["build"]) == 3
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("[course] build finished in ")
    assert last.endswith(" s (setup 12 s) with exit code 3")


def test_second_run_does_no_setup_and_says_nothing(tmp_path, monkeypatch, capsys):
    py, stamp = tmp_path / "python", tmp_path / "stamp"
    py.touch()
    stamp.write_text(course.requirements_hash())
    monkeypatch.setattr(course, "PY", py)
    monkeypatch.setattr(course, "STAMP", stamp)
    monkeypatch.setattr(course, "pip_install", lambda *a: pytest.fail("pip ran"))
    assert course.ensure_env() == 0.0
    assert capsys.readouterr().out == ""


def test_setup_reruns_when_the_lock_changes(tmp_path, monkeypatch):
    for name in ("requirements.txt", "requirements.lock", "pyproject.toml"):
        (tmp_path / name).write_text("x==1\n")
    monkeypatch.setattr(course, "ROOT", tmp_path)
    before = course.requirements_hash()
    (tmp_path / "requirements.lock").write_text("x==2\n")
    assert course.requirements_hash() != before


# --- unit and test: the pytest runs ---------------------------------------------------------

def test_unit_leaves_out_nbval_and_the_browser_tests():
    args = course.unit_args([])
    assert args[0] == "tests"
    assert args[args.index("-o") + 1] == "addopts=-p no:cacheprovider -p no:nbval"
    assert args[args.index("-m") + 1] == "not browser"


def test_browser_tests_are_marked_wherever_they_are():
    """The unit run leaves out exactly the tests that need the site or Chromium, file by file or
    inside a file with unit tests (tests/test_lighter.py has both)."""
    files = ["tests/test_lighter.py", "tests/test_site.py", "tests/test_course.py"]
    out = subprocess.run([sys.executable, "-m", "pytest", *course.unit_args([*files, "--collect-only", "-q"])],
                         capture_output=True, text=True, cwd=course.ROOT)
    kept = out.stdout
    assert out.returncode == 0, out.stderr[-2000:]
    assert "test_lighter.py::test_unwrap_only_inside_listings_and_keeps_the_text" in kept
    assert "test_site.py::test_repository_link_only_when_a_url_is_set" in kept
    assert "test_lighter.py::test_listings_keep_their_colours" not in kept
    assert "test_site.py::test_page[" not in kept and "test_site.py::test_internal_links" not in kept


def test_the_long_files_named_first_exist():
    """conftest.py's LONG_FIRST (the order pytest-xdist hands files out) names real files."""
    spec = importlib.util.spec_from_file_location("root_conftest", course.ROOT / "conftest.py")
    root_conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(root_conftest)
    missing = [name for name in root_conftest.LONG_FIRST if not (course.ROOT / name).is_file()]
    assert missing == [] and len(set(root_conftest.LONG_FIRST)) == len(root_conftest.LONG_FIRST)


def test_unit_with_named_files_runs_only_those():
    args = course.unit_args(["tests/test_checks.py::test_x", "-x"])
    assert "tests" not in args
    assert args[-2:] == ["tests/test_checks.py::test_x", "-x"]


def test_arguments_make_one_run_of_exactly_those():
    phases = course.test_phases(["-k", "jacobian"])
    assert len(phases) == 1 and phases[0].args == ["-k", "jacobian"] and not phases[0].env


def test_the_full_test_runs_the_notebooks_again_under_narrowed_kernels():
    narrow = {"ATEN_CPU_CAPABILITY": "default", "OMP_NUM_THREADS": "1"}
    first, second = course.test_phases([], narrow=narrow)
    assert first.env == {} and "book" not in first.args          # everything, this machine's kernels
    assert second.args[-2:] == ["book", "tests/test_kernels.py"]
    assert second.env == {**narrow, "COURSE_KERNELS": "narrowed"}
    assert first.args[:2] == second.args[:2] == ["-n", "auto"]    # in parallel (pytest-xdist)


@pytest.mark.parametrize("codes, expected", [([0], 0), ([1], 1), ([0, 0], 0), ([0, 1], 1),
                                             ([1, 0], 1), ([5, 1], 5), ([0, 2, 1], 2)])
def test_phases_all_run_and_any_failure_fails(codes, expected, capsys):
    phases = [course.Phase(f"phase {i}", []) for i in range(len(codes))]
    ran = []
    code = course.run_phases(phases, runner=lambda ph: ran.append(ph.what) or codes[len(ran) - 1])
    assert code == expected
    assert ran == [p.what for p in phases]                                # a failure stops nothing


# --- which torch ----------------------------------------------------------------------------

def never():
    raise AssertionError("the CPU index was probed")


def test_a_cuda_device_gets_the_pypi_build_without_a_probe():
    choice = course.choose_torch(True, "Linux", never)
    assert choice.index is None and "CUDA" in choice.what


def test_no_cuda_device_and_a_reachable_cpu_index_gets_the_cpu_build():
    choice = course.choose_torch(False, "Linux", lambda: True)
    assert choice.index == "https://download.pytorch.org/whl/cpu"
    assert "CPU build" in choice.what


def test_no_cuda_device_and_an_unreachable_cpu_index_falls_back_to_pypi_and_says_why():
    choice = course.choose_torch(False, "Linux", lambda: False)
    assert choice.index is None
    assert "PyPI" in choice.what and "did not answer" in choice.why


@pytest.mark.parametrize("system", ["Darwin", "Windows"])
def test_macos_and_windows_take_pypi_whose_build_is_already_cpu(system):
    choice = course.choose_torch(False, system, never)
    assert choice.index is None and "CPU build" in choice.why


@pytest.mark.parametrize("present, expected", [
    (set(), False), ({"/proc/driver/nvidia"}, True), ({"/dev/nvidia0"}, True), ({"nvidia-smi"}, True)])
def test_nvidia_device_detection(present, expected):
    found = course.has_nvidia_device(exists=lambda p: p in present,
                                     which=lambda cmd: f"/usr/bin/{cmd}" if cmd in present else None)
    assert found is expected


class FakeResponse:
    def __init__(self, status):
        self.status = status

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("outcome, expected", [
    (FakeResponse(200), True), (FakeResponse(404), False),
    (urllib.error.URLError("Could not resolve host"), False), (TimeoutError(), False)])
def test_the_probe_asks_the_torch_page_with_a_short_timeout(outcome, expected):
    seen = {}

    def opener(request, timeout, context):
        seen.update(url=request.full_url, method=request.get_method(), timeout=timeout)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert course.cpu_index_reachable(opener=opener) is expected
    assert seen == {"url": "https://download.pytorch.org/whl/cpu/torch/", "method": "HEAD",
                    "timeout": course.PROBE_TIMEOUT}
    assert course.PROBE_TIMEOUT <= 5


def test_the_probe_gives_up_on_a_hanging_lookup():
    import threading
    import time
    release = threading.Event()

    def opener(request, timeout, context):
        release.wait(10)               # a name lookup that hangs past the socket's timeout
        raise OSError("late")

    start = time.perf_counter()
    try:
        assert course.cpu_index_reachable(timeout=0.2, opener=opener) is False
        assert time.perf_counter() - start < 2
    finally:
        release.set()


def test_torch_alone_from_the_chosen_index():
    cpu = course.choose_torch(False, "Linux", lambda: True)
    assert course.torch_pip_args(cpu, "2.13.0") == [
        "--no-deps", "torch==2.13.0", "--index-url", "https://download.pytorch.org/whl/cpu"]
    pypi = course.choose_torch(False, "Linux", lambda: False)
    assert course.torch_pip_args(pypi, "2.13.0") == ["--no-deps", "torch==2.13.0"]


@pytest.fixture
def fake_pip(monkeypatch):
    calls = []
    monkeypatch.setattr(course.platform, "system", lambda: "Linux")
    monkeypatch.setattr(course, "installed_version", lambda py, name: "2.13.0+cpu")
    return calls


def test_install_torch_says_which_build_in_one_line(fake_pip, monkeypatch, capsys):
    monkeypatch.setattr(course, "pip_install", lambda py, args: fake_pip.append(args) or 0)
    assert course.install_torch(Path("py"), "2.13.0", cuda=False, probe=lambda: False,
                                step="setup 2/3: ") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("[course] setup 2/3: torch 2.13.0, the PyPI build: no CUDA device here, but "
                      "PyTorch's CPU index (https://download.pytorch.org/whl/cpu) did not answer "
                      f"within {course.PROBE_TIMEOUT:.0f} s")
    assert out[-1] == "[course] torch 2.13.0+cpu installed (a CPU build)"
    assert fake_pip == [["--no-deps", "torch==2.13.0"]]


def test_install_torch_falls_back_to_pypi_when_the_cpu_index_fails(fake_pip, monkeypatch, capsys):
    monkeypatch.setattr(course, "pip_install",
                        lambda py, args: fake_pip.append(args) or (1 if "--index-url" in args else 0))
    assert course.install_torch(Path("py"), "2.13.0", cuda=False, probe=lambda: True) == 0
    assert fake_pip == [course.torch_pip_args(course.choose_torch(False, "Linux", lambda: True), "2.13.0"),
                        ["--no-deps", "torch==2.13.0"]]
    assert "falling back to the PyPI build" in capsys.readouterr().out
