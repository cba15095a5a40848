"""pytest settings shared by the unit tests (tests/) and the notebook tests (book/, nbval).

The library draws a progress bar only where a person waits, and never when
LSTM_LIB_NO_PROGRESS is set. Setting it here, where every pytest run of the
project starts, keeps bars out of the tests and out of the notebooks nbval
executes (its kernels inherit this environment), whether the run is the whole
suite or one notebook (``pytest book/06-lab.ipynb``).
"""
import os
from pathlib import Path

os.environ["LSTM_LIB_NO_PROGRESS"] = "1"


# The longest test files first. The test command's pytest-xdist (--dist loadfile
# --no-loadscope-reorder, course.py) hands out whole files in collection order as workers
# become free; a long file handed out last runs alone at the end while the others wait.
# Measured durations, longest first: the site's page checks, JupyterLab's suite (a
# server, every notebook opened, a Run All), the clickable cell in the browser, the lab
# notebook's training cells; then the other notebooks, then the rest, in their order.
# tests/test_course.py checks the names.
LONG_FIRST = (
    "tests/test_site.py", "tests/test_jupyterlab.py", "tests/test_cell.py", "book/06-lab.ipynb",
    "book/05-lstm-gradients.ipynb", "tests/lab/test_bench.py", "tests/lab/test_experiments.py",
    "book/07-char-lstm.ipynb", "book/appendix-overstatements.ipynb",
)


def pytest_collection_modifyitems(session, config, items):
    root = Path(str(config.rootpath))
    rank = {name: k for k, name in enumerate(LONG_FIRST)}

    def key(item):
        path = Path(str(item.fspath))
        name = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        # then the other notebooks (10-20 s each), then the many short test files, so that
        # what is handed out last is short
        return rank.get(name, len(rank) + (0 if path.suffix == ".ipynb" else 1))
    items.sort(key=key)          # stable: tests keep their order within a file
