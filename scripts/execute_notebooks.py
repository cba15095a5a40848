"""Re-execute the course's notebooks in place, each in a fresh kernel.

    python scripts/execute_notebooks.py              # every notebook in book/
    python scripts/execute_notebooks.py book/01-vanilla-rnn-limits.ipynb

Committed outputs are always what the code produces: run this after any
change to a chapter or to lstm_lib, then commit. nbval (in the test command)
re-executes every notebook and fails if an output differs.

After execution, each Markdown cell's ``{eval}`` values are copied from the
records in the outputs into its ``user_expressions`` metadata, which
jupyterlab-myst shows before any kernel runs (``lstm_lib.viz.prose``); a
notebook whose prose quotes a value it never puts fails here.

Widget state is not stored: live widgets need a kernel, and the website
shows each explorer's kernel-free view instead. Progress bars are off
(LSTM_LIB_NO_PROGRESS, inherited by the kernels), as they are under nbval.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from lstm_lib.viz.prose import link_prose

ROOT = Path(__file__).resolve().parent.parent
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


class ProseError(RuntimeError):
    """The prose quotes values the code does not put (see lstm_lib.viz.prose.link_prose)."""


def execute(path: Path, timeout: int = 600) -> float:
    os.environ["LSTM_LIB_NO_PROGRESS"] = "1"      # the kernel inherits it: no progress bars
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            record_timing=False)
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    problems = link_prose(nb)
    nbformat.write(nb, path)
    if problems:
        raise ProseError(f"{path.name}: " + "; ".join(problems))
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to execute (default: every one in book/)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "book").glob("*.ipynb"))
    total = 0.0
    for path in paths:
        seconds = execute(path.resolve())
        total += seconds
        print(f"{seconds:7.1f} s  {path}")
    print(f"{total:7.1f} s  total for {len(paths)} notebook(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
