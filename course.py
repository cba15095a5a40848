#!/usr/bin/env python3
"""The course's commands. Needs only Python 3.11: the commands make their own environment.

`python3.11 course.py help` lists the commands; `python3.11 course.py help COMMAND`
says what one does. The environment is .venv beside this file (or $COURSE_VENV):
the first command creates it and installs requirements.lock into it, every
package at an exact version; later commands reinstall only when
requirements.txt, requirements.lock or pyproject.toml change.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("COURSE_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".course-requirements"
LOCK = ROOT / "requirements.lock"
SETUP_VERSION = "2"                      # bump when the way of setting up changes
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PROBE_TIMEOUT = 3.0                      # seconds for the CPU index to answer
USAGE = "python3.11 course.py"
HELP_FLAGS = ("-h", "--help")


def say(msg: str) -> None:
    print(f"[course] {msg}", flush=True)


def run(cmd, env=None, **kw) -> int:
    say(" ".join(str(c) for c in cmd))
    return subprocess.call([str(c) for c in cmd], cwd=kw.pop("cwd", ROOT),
                           env=None if env is None else {**os.environ, **env}, **kw)


# --- the commands -----------------------------------------------------------------------------

@dataclass
class Phase:
    """One pytest run of a test command: what it checks, its arguments, extra environment."""
    what: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)


def narrowed_kernels() -> dict[str, str]:
    """The environment of the second test phase: narrower CPU kernels (tests/kernels.py)."""
    out = subprocess.run([str(PY), str(ROOT / "tests" / "kernels.py"), "--narrow"],
                         capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        sys.exit(f"[course] tests/kernels.py failed:\n{out.stderr}")
    return json.loads(out.stdout)


# pytest-xdist: one notebook or test file per worker, handed out in collection order
# (--no-loadscope-reorder: not "most tests first"), which conftest.py makes longest first.
# One worker per core: twice as many did not shorten the run (2 cores: 618 and 622 s
# against 632 s for the first phase).
PARALLEL = ["-n", "auto", "--dist", "loadfile", "--no-loadscope-reorder"]


def test_phases(extra, narrow=None) -> list[Phase]:
    """The phases of `course.py test`, run in order; each one a separate pytest run.

    pyproject.toml's settings apply: tests/ and book/, nbval on every notebook.
    1. everything, with this machine's floating-point kernels;
    2. every notebook again under narrowed kernels (ATen, numpy, OpenBLAS, MKL and
       oneDNN on narrower instruction sets, one thread), standing in for another
       CPU: the committed outputs must come out the same on any machine. Each
       phase records the kernels it used (tests/kernels.py) and the second
       checks that it used other ones.
    With arguments (`course.py test tests/test_x.py -x`), one run of exactly those.
    """
    if extra:
        return [Phase("pytest " + " ".join(extra), list(extra))]
    narrow = narrowed_kernels() if narrow is None else narrow
    return [Phase("unit tests, every notebook (nbval), browser tests: this machine's kernels",
                  [*PARALLEL]),
            Phase("every notebook again (nbval) under narrowed CPU kernels",
                  [*PARALLEL, "book", "tests/test_kernels.py"],
                  env={**narrow, "COURSE_KERNELS": "narrowed"})]


def unit_args(extra) -> list[str]:
    """pytest arguments for `course.py unit`: tests/ without nbval and the browser tests.

    tests/conftest.py marks `browser` every test that needs the built site or Chromium.
    """
    named = any((ROOT / a.split("::")[0]).exists() for a in extra if not a.startswith("-"))
    return [*([] if named else ["tests"]),
            "-o", "addopts=-p no:cacheprovider -p no:nbval",   # pyproject's addopts add --nbval
            "-m", "not browser", *extra]


def run_phases(phases: list[Phase], runner=None) -> int:
    """Run every phase (a failing one does not stop the next); the first non-zero code wins."""
    runner = runner or (lambda ph: run([PY, "-m", "pytest", *ph.args], env=ph.env or None))
    codes = []
    for number, phase in enumerate(phases, 1):
        if len(phases) > 1:
            say(f"test phase {number}/{len(phases)}: {phase.what}")
        codes.append(runner(phase))
    if len(phases) > 1:
        say("test phases: " + "; ".join(f"{p.what}: exit code {c}" for p, c in zip(phases, codes)))
    return next((c for c in codes if c), 0)


def build(extra) -> int:
    shutil.rmtree(ROOT / "_build" / ".doctrees", ignore_errors=True)
    return run([BIN / "jupyter-book", "build", ".", "-W", "-n", "--keep-going", *extra])


def test(extra) -> int:
    return run_phases(test_phases(extra))


def unit(extra) -> int:
    return run_phases([Phase("unit tests", unit_args(extra))])


def execute(extra) -> int:
    return run([PY, ROOT / "scripts" / "execute_notebooks.py", *extra])


def timings(extra) -> int:
    return run([PY, ROOT / "scripts" / "timings.py", *extra])


LAB_OVERRIDES = {
    # no "get notified about Jupyter news?" pop-up over the first chapter
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}


def lab(extra) -> int:
    """JupyterLab on book/, without the news pop-up (a setting kept inside the environment)."""
    overrides = VENV / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    overrides.parent.mkdir(parents=True, exist_ok=True)
    overrides.write_text(json.dumps(LAB_OVERRIDES, indent=1) + "\n")
    return run([BIN / "jupyter", "lab", "book/", *extra])


@dataclass
class Command:
    run: object
    summary: str
    details: str
    tool: str                  # what the arguments go to


COMMANDS = {
    "build": Command(build, "build the website into _build/html (strict: a warning fails it)", """\
Builds the website into _build/html from the notebooks' committed outputs (the
notebooks are not executed; `course.py execute` refreshes the outputs). Strict:
any Sphinx warning, or a broken reference, fails the build. Open
_build/html/index.html in a browser: the site works offline and from disk.""",
                     "jupyter-book build . -W -n --keep-going"),
    "test": Command(test, "run every test: unit tests, every notebook (nbval), browser tests", """\
Runs every test: the unit tests in tests/, every notebook in book/ (nbval
re-executes each one and fails where an output differs from the committed
one) and the browser tests of the built site and of JupyterLab (they need
Chromium: /usr/bin/chromium or $COURSE_CHROMIUM; without it they are skipped,
unless COURSE_REQUIRE_BROWSER=1). Then every notebook again under narrowed CPU
kernels, standing in for another machine (tests/kernels.py): committed outputs
must come out the same anywhere. Tests run in parallel (pytest-xdist). The exit
code is non-zero if any phase fails. With arguments, one pytest run of exactly
those: python3.11 course.py test tests/test_explorer.py -x""",
                    "pytest (pyproject.toml's settings: tests/ and book/, with --nbval)"),
    "unit": Command(unit, "run the unit tests only (no notebooks, no browser): the quick check", """\
Runs the unit tests in tests/, without nbval (the notebooks) and without the
browser tests (tests/test_site.py, tests/test_jupyterlab*.py): the quick check
while working on lstm_lib. Name files to run only those:
python3.11 course.py unit tests/test_fast.py -x""",
                    "pytest tests -o addopts='-p no:cacheprovider -p no:nbval' "
                    "--ignore=tests/test_site.py --ignore=tests/test_jupyterlab*.py"),
    "execute": Command(execute, "re-execute the notebooks in place (then commit the outputs)", """\
Re-executes every notebook in book/ in place, each in a fresh kernel (or only
the notebooks named after the command). Run it after changing a chapter or
lstm_lib, then commit the outputs: the test command fails where a committed
output differs from what the code produces.""",
                       "scripts/execute_notebooks.py"),
    "timings": Command(timings, "time each notebook, the site build (and, with --tests, the test command)", """\
Times each notebook's execution (on copies: the committed notebooks are not
touched) and the site build; with --tests, the whole test command too.""",
                       "scripts/timings.py"),
    "lab": Command(lab, "open JupyterLab on the chapters", """\
Opens JupyterLab on book/: open a chapter and run all cells; the sliders are
live there.""",
                   "jupyter lab book/"),
}


def command_rows() -> str:
    width = max(map(len, COMMANDS))
    rows = [f"  {name:<{width}}  {c.summary}" for name, c in COMMANDS.items()]
    rows.append(f"  {'help':<{width}}  this text; `help COMMAND` (or `COMMAND --help`) says what a command does")
    return "\n".join(rows)


def usage() -> str:
    return f"""\
usage: {USAGE} COMMAND [ARGS...]

The course's commands. They need only Python 3.11: the first one creates the
environment ({_shown(VENV)}) and installs every package pinned in
requirements.lock (a few minutes, with progress); later ones start at once.

commands:
{command_rows()}

ARGS go to the tool the command runs: `{USAGE} test -k jacobian`.
Right after the command, --help/-h is this course's help for it; for the
tool's own help put `--` first: `{USAGE} test -- --help`.
With no command, this text is printed and the exit code is 2; with an
unknown one, too. Help creates and installs nothing.
"""


def command_help(name: str) -> str:
    c = COMMANDS[name]
    return f"""\
usage: {USAGE} {name} [ARGS...]

{c.details}

ARGS go to: {c.tool}
Its own help: {USAGE} {name} -- --help
The first command of all sets up the environment ({_shown(VENV)}); see `{USAGE} help`.
"""


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def unknown(name: str) -> int:
    close = difflib.get_close_matches(name, [*COMMANDS, "help"], n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    print(f"course.py: unknown command '{name}'{hint}\n\ncommands:\n{command_rows()}\n\n"
          f"More: {USAGE} help", file=sys.stderr)
    return 2


# --- the environment --------------------------------------------------------------------------

def has_nvidia_device(exists=os.path.exists, which=shutil.which) -> bool:
    """The cheap signs of an NVIDIA GPU: its driver, its device node, or nvidia-smi."""
    return exists("/proc/driver/nvidia") or exists("/dev/nvidia0") or which("nvidia-smi") is not None


def cpu_index_reachable(url: str = TORCH_CPU_INDEX, timeout: float = PROBE_TIMEOUT,
                        opener=None) -> bool:
    """Does PyTorch's CPU index answer (its torch page) within `timeout` seconds?

    The request runs in a thread that is given up on after `timeout`, since a
    hanging name lookup is not bound by the socket's timeout.
    """
    import ssl
    import threading
    import urllib.request
    opener = opener or urllib.request.urlopen
    cafile = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE")
    answers = []

    def attempt():
        try:
            context = ssl.create_default_context(
                cafile=cafile if cafile and os.path.exists(cafile) else None)
            with opener(urllib.request.Request(f"{url}/torch/", method="HEAD"),
                        timeout=timeout, context=context) as response:
                answers.append(response.status < 400)
        except Exception:         # no DNS, refused, timed out, TLS or HTTP error: not usable
            answers.append(False)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answers and answers[0])


@dataclass(frozen=True)
class TorchChoice:
    index: str | None          # pip's --index-url for torch; None: the ordinary index (PyPI)
    what: str
    why: str


def choose_torch(has_cuda: bool, system: str, probe) -> TorchChoice:
    """Which build of the pinned torch to install. `probe()` is called only when it matters.

    On Linux, PyPI's torch is a CUDA build of several GB; with no NVIDIA device
    the CPU build from PyTorch's CPU index does the same work at a fraction of
    the size. On macOS and Windows, PyPI's build is already a CPU build.
    """
    if has_cuda:
        return TorchChoice(None, "the PyPI build (with CUDA)", "an NVIDIA device is present")
    if system != "Linux":
        return TorchChoice(None, "the PyPI build", f"on {system} it is a CPU build")
    if probe():
        return TorchChoice(TORCH_CPU_INDEX, "the CPU build from PyTorch's CPU index",
                           "no CUDA device here")
    return TorchChoice(None, "the PyPI build",
                       f"no CUDA device here, but PyTorch's CPU index ({TORCH_CPU_INDEX}) "
                       f"did not answer within {PROBE_TIMEOUT:.0f} s")


def torch_pip_args(choice: TorchChoice, version: str) -> list[str]:
    """torch alone (its dependencies come from the lock, at the locked versions)."""
    return ["--no-deps", f"torch=={version}",
            *(["--index-url", choice.index] if choice.index else [])]


def pip_install(py: Path, args, env=None) -> int:
    return run([py, "-m", "pip", "install", "--disable-pip-version-check", *args], env=env)


def installed_version(py: Path, name: str) -> str | None:
    out = subprocess.run([str(py), "-c", "import sys; from importlib import metadata\n"
                          "try: print(metadata.version(sys.argv[1]))\n"
                          "except metadata.PackageNotFoundError: pass", name],
                         capture_output=True, text=True)
    return out.stdout.strip() or None


def install_torch(py: Path, version: str, cuda: bool | None = None, probe=cpu_index_reachable,
                  step: str = "") -> int:
    """Install torch==version, the build choose_torch picks, and say which in one line."""
    cuda = has_nvidia_device() if cuda is None else cuda
    choice = choose_torch(cuda, platform.system(), probe)
    say(f"{step}torch {version}, {choice.what}: {choice.why}")
    code = pip_install(py, torch_pip_args(choice, version))
    if code != 0 and choice.index:
        choice = TorchChoice(None, "the PyPI build", "the CPU index failed while installing")
        say(f"torch {version}: falling back to {choice.what} ({choice.why})")
        code = pip_install(py, torch_pip_args(choice, version))
    if code == 0:
        got = installed_version(py, "torch") or "?"
        kind = ("a CPU build" if got.endswith("+cpu") or choice.index or platform.system() != "Linux"
                else "a CUDA build" if platform.machine() in ("x86_64", "AMD64") else "PyPI's build")
        say(f"torch {got} installed ({kind})")
    return code


def requirements_hash() -> str:
    h = hashlib.sha256(SETUP_VERSION.encode())
    for name in ("requirements.txt", "requirements.lock", "pyproject.toml"):
        path = ROOT / name
        h.update(path.read_bytes() if path.exists() else b"")
    return h.hexdigest()


def _scripts():
    sys.path.insert(0, str(ROOT / "scripts"))
    import lock
    return lock


def ensure_env() -> float:
    """Create the environment and make it exactly requirements.lock; seconds spent (0: nothing to do)."""
    if sys.version_info[:2] != (3, 11):
        say(f"warning: the course is pinned and tested on Python 3.11; this is "
            f"{sys.version.split()[0]}")
    want = requirements_hash()
    if PY.exists() and STAMP.exists() and STAMP.read_text() == want:
        return 0.0
    start = time.perf_counter()
    lock = _scripts()
    if not LOCK.exists():
        sys.exit("[course] requirements.lock is missing: run `python3.11 scripts/lock.py`")
    pins = lock.read_pins(LOCK)
    if PY.exists():
        say(f"setup 1/3: updating the environment {VENV} (requirements or pyproject.toml changed)")
    else:
        say(f"setup 1/3: creating the environment {VENV} (the first time takes a few minutes)")
        import venv
        venv.EnvBuilder(with_pip=True).create(VENV)
    if "pip" in pins and installed_version(PY, "pip") != pins["pip"].version:
        if pip_install(PY, ["-q", f"pip=={pins['pip'].version}"]) != 0:
            sys.exit("[course] could not install the locked pip: see the messages above")

    torch = pins["torch"].version
    have = installed_version(PY, "torch")
    if have and lock.public(have) == torch:
        say(f"setup 2/3: torch {have} is installed")
    elif install_torch(PY, torch, step="setup 2/3: ") != 0:
        sys.exit("[course] installing torch failed: see the messages above")

    say(f"setup 3/3: {len(pins)} pinned packages from requirements.lock, then lstm_lib (editable)")
    if (pip_install(PY, ["-r", LOCK]) != 0
            or pip_install(PY, ["-q", "--no-deps", "--no-build-isolation", "-e", ROOT],
                           env={"PYTHONWARNINGS": "ignore"}) != 0):   # setuptools' advice to developers
        sys.exit("[course] pip install failed: see the messages above")
    site = subprocess.run([str(PY), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = lock.not_locked(lock.environment([site]), pins)
    if stale:
        say(f"removing {len(stale)} package(s) that requirements.lock no longer lists: "
            f"{', '.join(stale)}")
        if run([PY, "-m", "pip", "uninstall", "-y", "-q", *stale]) != 0:
            sys.exit("[course] pip uninstall failed: see the messages above")
    STAMP.write_text(want)
    seconds = time.perf_counter() - start
    say(f"setup done in {seconds:.0f} s: {VENV} holds the {len(pins)} locked packages and lstm_lib")
    return seconds


# --- the command line -------------------------------------------------------------------------

def main(argv) -> int:
    if not argv:
        print(usage())
        return 2
    name, rest = argv[0], list(argv[1:])
    if name in HELP_FLAGS or name == "help":
        if name == "help" and rest:
            if rest[0] not in COMMANDS:
                return unknown(rest[0])
            print(command_help(rest[0]))
        else:
            print(usage())
        return 0
    if name not in COMMANDS:
        return unknown(name)
    if rest and rest[0] in HELP_FLAGS:
        print(command_help(name))
        return 0
    if rest and rest[0] == "--":
        rest = rest[1:]
    start = time.perf_counter()
    try:
        setup = ensure_env()
        code = COMMANDS[name].run(rest)
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    setup_note = f" (setup {setup:.0f} s)" if setup else ""
    say(f"{name} finished in {time.perf_counter() - start:.0f} s{setup_note} with exit code {code}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
