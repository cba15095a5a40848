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
