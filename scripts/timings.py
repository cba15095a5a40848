"""Time the course: each notebook's execution, the site build and the test command.

    python scripts/timings.py            # notebooks and the build
    python scripts/timings.py --tests    # also the whole test command (several minutes)

Notebooks are executed on temporary copies, so the committed ones are untouched.
Targets (2 CPU cores): every chapter <= 30 s, the lab <= 90 s, the build from
committed outputs <= 60 s, the full test command <= 8 min.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execute_notebooks import execute  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def timed(cmd) -> tuple[float, int]:
    start = time.perf_counter()
    code = subprocess.call(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, code


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", action="store_true", help="also time the full test command")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for nb in sorted((ROOT / "book").glob("*.ipynb")):
            copy = Path(tmp) / nb.name
            shutil.copy(nb, copy)
            # execute next to the original, so relative paths resolve as in the book
            target = nb.parent / f".timing-{nb.name}"
            shutil.copy(copy, target)
            try:
                rows.append((f"notebook {nb.name}", execute(target), 0))
            finally:
                target.unlink(missing_ok=True)
        out = Path(tmp) / "site"
        seconds, code = timed([str(BIN / "jupyter-book"), "build", ".", "-W", "-n", "--keep-going",
                               "--path-output", str(out)])
        rows.append(("site build (strict, from committed outputs)", seconds, code))
    if args.tests:
        seconds, code = timed([sys.executable, "-m", "pytest", "-q"])
        rows.append(("test command (unit + nbval + browser)", seconds, code))
    print(f"{'seconds':>8}  {'exit':>4}  what   (machine: {os.cpu_count()} cores)")
    for what, seconds, code in rows:
        print(f"{seconds:8.1f}  {code:4d}  {what}")
    return max(code for _, _, code in rows)


if __name__ == "__main__":
    sys.exit(main())
