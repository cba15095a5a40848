"""lstm_lib: the small library behind *LSTM from the gradient up*.

Each module maps to a chapter of the course (see the README). The PyTorch
modules ``LSTM`` and ``RNN`` mirror ``torch.nn.LSTM`` and ``torch.nn.RNN``.
"""
__version__ = "0.1.0"
