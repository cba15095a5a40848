"""pytest settings shared by the unit tests (tests/) and the notebook tests (book/, nbval).

The library draws a progress bar only where a person waits, and never when
LSTM_LIB_NO_PROGRESS is set. Setting it here, where every pytest run of the
project starts, keeps bars out of the tests and out of the notebooks nbval
executes (its kernels inherit this environment), whether the run is the whole
suite or one notebook (``pytest book/06-lab.ipynb``).
"""
import os

os.environ["LSTM_LIB_NO_PROGRESS"] = "1"
