"""The one progress-bar policy of the lab, its loop and its command lines.

A bar is drawn only when its caller asks for one (``train(..., progress=...)``,
a command line on a terminal without ``--quiet``), and never when the
environment variable ``LSTM_LIB_NO_PROGRESS`` is set: re-executed notebooks
(scripts/execute_notebooks.py) and the tests set it, so stored outputs carry
no bar. The library does not guess from its surroundings beyond that.
"""
from __future__ import annotations

import os

QUIET_ENV = "LSTM_LIB_NO_PROGRESS"


def progress_bar(total, desc, unit="batch", enabled=True):
    """A tqdm bar for a person waiting (a notebook widget or a terminal line), or None
    when not ``enabled`` or when ``LSTM_LIB_NO_PROGRESS`` is set."""
    if not enabled or os.environ.get(QUIET_ENV):
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)
