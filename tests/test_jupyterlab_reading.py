"""The second half of the notebooks, read in JupyterLab before any kernel runs.

The same check as tests/test_jupyterlab.py's first half, with a JupyterLab server
of its own (the ``lab`` fixture is per module), so that pytest-xdist, which hands
out whole files, runs the two halves side by side.
"""
from __future__ import annotations

import pytest

from test_jupyterlab import FIRST_HALF, NOTEBOOKS, _check_prose, _open, lab  # noqa: F401  (fixture)
from test_site import browser, ensure_site, site  # noqa: F401  (fixtures)

SECOND_HALF = NOTEBOOKS[len(FIRST_HALF):]


def test_the_halves_cover_every_notebook_once():
    assert sorted(FIRST_HALF + SECOND_HALF) == sorted(NOTEBOOKS) and SECOND_HALF


@pytest.mark.parametrize("notebook", SECOND_HALF)
def test_chapter_reads_before_any_kernel_runs(browser, lab, notebook):  # noqa: F811
    ensure_site()
    page = _open(browser, lab, notebook)
    try:
        _check_prose(page, notebook, "stored outputs, no kernel")
    finally:
        page.close()
