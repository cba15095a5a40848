"""The course's commands. Needs only Python 3.11; it creates its own environment.

    python3.11 course.py build      build the website into _build/html (strict: warnings are errors)
    python3.11 course.py test       run every test: unit tests, every notebook (nbval), browser tests
    python3.11 course.py execute    re-execute every notebook in place (then commit the outputs)
    python3.11 course.py timings    time each notebook, the test command and the build
    python3.11 course.py lab        open JupyterLab on the chapters

The first call creates a virtual environment in .venv (or in $COURSE_VENV)
and installs requirements.txt into it; later calls reinstall only when
requirements.txt or pyproject.toml change. Extra arguments after the
command go to the tool it runs (e.g. `course.py test -k jacobian`).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("COURSE_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".course-requirements"


def say(msg: str) -> None:
    print(f"[course] {msg}", flush=True)


def run(cmd, **kw) -> int:
    say(" ".join(str(c) for c in cmd))
    return subprocess.call([str(c) for c in cmd], cwd=kw.pop("cwd", ROOT), **kw)


def requirements_hash() -> str:
    h = hashlib.sha256()
    for name in ("requirements.txt", "pyproject.toml"):
        h.update((ROOT / name).read_bytes())
    return h.hexdigest()


def ensure_env() -> None:
    """Create .venv and install the pinned requirements if they changed."""
    if sys.version_info[:2] != (3, 11):
        say(f"warning: the course is pinned and tested on Python 3.11; this is "
            f"{sys.version.split()[0]}")
    if not PY.exists():
        say(f"creating the environment {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    want = requirements_hash()
    if STAMP.exists() and STAMP.read_text() == want:
        return
    say("installing requirements.txt (the first time takes a few minutes)")
    if run([PY, "-m", "pip", "install", "--disable-pip-version-check", "-q",
            "-r", ROOT / "requirements.txt"]) != 0:
        sys.exit("[course] pip install failed: see the messages above")
    STAMP.write_text(want)


def build(extra) -> int:
    """Strict build from the committed outputs (notebooks are not executed)."""
    shutil.rmtree(ROOT / "_build" / ".doctrees", ignore_errors=True)
    return run([BIN / "jupyter-book", "build", ".", "-W", "-n", "--keep-going", *extra])


def test(extra) -> int:
    """Unit tests, nbval on every notebook in book/, and the browser tests."""
    return run([PY, "-m", "pytest", *extra])


def execute(extra) -> int:
    return run([PY, ROOT / "scripts" / "execute_notebooks.py", *extra])


def timings(extra) -> int:
    return run([PY, ROOT / "scripts" / "timings.py", *extra])


def lab(extra) -> int:
    return run([BIN / "jupyter", "lab", "book/", *extra])


COMMANDS = {"build": build, "test": test, "execute": execute, "timings": timings, "lab": lab}


def main(argv) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    ensure_env()
    start = time.perf_counter()
    code = COMMANDS[argv[0]](argv[1:])
    say(f"{argv[0]} finished in {time.perf_counter() - start:.0f} s with exit code {code}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
