"""lstm_lib: the small library behind *LSTM from the gradient up*.

Each module maps to a chapter of the course (see the README's table). The
PyTorch modules ``LSTM`` and ``RNN`` mirror ``torch.nn.LSTM`` and
``torch.nn.RNN``: same arguments, shapes, returned states and state_dict keys.
"""
from .modules import LSTM, RNN

__all__ = ["LSTM", "RNN"]
__version__ = "0.1.0"
