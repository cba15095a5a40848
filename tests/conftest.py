import pytest
import torch

# LSTM_LIB_NO_PROGRESS (no progress bars) is set by the conftest.py at the repository's root,
# so that it also holds when pytest runs notebooks alone.


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: one intra-op thread is faster than two on a shared machine.

    Use it in a test module with ``pytestmark = pytest.mark.usefixtures("one_thread")``.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --------------------------------------------------------------- browser tests, marked
# A test that uses the built site or Chromium (the `site`, `browser`, `lab` or `lab_page` fixture of
# tests/test_site.py and tests/test_jupyterlab.py) is marked `browser`, wherever it is:
# `course.py unit` runs `-m "not browser"`, the quick check without them.
BROWSER_FIXTURES = {"site", "browser", "lab", "lab_page"}


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: needs the built site or Chromium (marked by "
                                       "tests/conftest.py from the fixtures the test uses)")


def pytest_collection_modifyitems(items):
    for item in items:
        if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


# --------------------------------------------------------------- the kernels of this run
# course.py test runs nbval twice: with the machine's floating-point kernels and with
# narrowed ones (COURSE_KERNELS=narrowed; see tests/kernels.py). Each run records which
# kernels it used, and says so at the end.
KERNELS_DIR = __import__("pathlib").Path(__file__).resolve().parent.parent / "_build" / "kernels"


def _kernel_label():
    import os
    return os.environ.get("COURSE_KERNELS", "machine")


def pytest_sessionstart(session):
    if hasattr(session.config, "workerinput"):     # an xdist worker: the controller records
        return
    import json

    from kernels import report
    KERNELS_DIR.mkdir(parents=True, exist_ok=True)
    session.config._course_kernels = report()
    (KERNELS_DIR / f"{_kernel_label()}.json").write_text(json.dumps(session.config._course_kernels, indent=1))


def pytest_terminal_summary(terminalreporter, config):
    used = getattr(config, "_course_kernels", None)
    if used:
        terminalreporter.write_line(
            f"kernels ({_kernel_label()}): ATen {used['aten_capability']}, numpy dispatch "
            f"{used['numpy_dispatch'] or ['baseline only']}, OpenBLAS core {used['openblas_core']}, "
            f"torch threads {used['torch_threads']}")
