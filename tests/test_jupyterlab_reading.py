"""The second half of the notebooks, read in JupyterLab before any kernel runs.

The same check as tests/test_jupyterlab.py's first half, with a JupyterLab server
of its own (the ``lab`` fixture is per module), so that pytest-xdist, which hands
out whole files, runs the two halves side by side.
"""
from __future__ import annotations

import pytest

from test_jupyterlab import FIRST_HALF, NOTEBOOKS, lab, read_before_any_kernel  # noqa: F401  (fixture)
from test_site import browser, site  # noqa: F401  (fixtures)

SECOND_HALF = NOTEBOOKS[len(FIRST_HALF):]


def test_the_halves_cover_every_notebook_once():
    assert sorted(FIRST_HALF + SECOND_HALF) == sorted(NOTEBOOKS) and SECOND_HALF


@pytest.mark.parametrize("notebook", SECOND_HALF)
def test_chapter_reads_before_any_kernel_runs(browser, lab, notebook):  # noqa: F811
    read_before_any_kernel(browser, lab, notebook)
