"""lstm_lib.lab.progress: a bar when asked for, none with LSTM_LIB_NO_PROGRESS."""
from lstm_lib.lab import progress


def test_a_bar_when_asked_and_allowed(monkeypatch):
    monkeypatch.delenv(progress.QUIET_ENV, raising=False)
    bar = progress.progress_bar(10, "x")
    assert bar is not None and bar.total == 10
    bar.close()
    assert progress.progress_bar(10, "x", enabled=False) is None


def test_no_bar_with_the_environment_variable(monkeypatch):
    monkeypatch.setenv(progress.QUIET_ENV, "1")
    assert progress.progress_bar(10, "x") is None


def test_the_test_runner_itself_sets_no_policy(monkeypatch):
    """Only LSTM_LIB_NO_PROGRESS counts: neither CI nor pytest's own variable is read."""
    monkeypatch.delenv(progress.QUIET_ENV, raising=False)
    monkeypatch.setenv("CI", "1")
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "x")
    bar = progress.progress_bar(3, "x")
    assert bar is not None
    bar.close()


def test_the_tests_run_without_bars():
    import os
    assert os.environ.get(progress.QUIET_ENV) == "1"         # set by the root conftest.py
