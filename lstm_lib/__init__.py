"""lstm_lib: the small library behind *LSTM from the gradient up*.

The core, in this folder, is the LSTM a learner came for, readable in one
sitting; it imports numpy, torch and the standard library only:

    checks      input validation with messages that name what was expected
    reference   numpy RNN, LSTM and GRU: forward with every intermediate, BPTT by hand
    jacobians   one-step Jacobians, their products, the gap conventions
    weights     fused <-> per-gate weights, parameter counts, initialisations
    modules     LSTM, RNN and GRU, drop-in replacements for torch.nn's three
    fast        the LSTM's and the GRU's time loops with hand-written backward passes

Around it, three rooms: ``lstm_lib.chapters`` (each chapter's measurements
and explorers), ``lstm_lib.lab`` (tasks, training, experiments, command
lines) and ``lstm_lib.viz`` (explorers, plotting style, diagrams).

``LSTM``, ``RNN`` and ``GRU`` are loaded on first use, so that ``import
lstm_lib.reference`` (numpy only) does not import torch.
"""

__all__ = ["LSTM", "RNN", "GRU"]
__version__ = "0.1.0"


def __getattr__(name):
    if name in __all__:
        from . import modules
        return getattr(modules, name)
    raise AttributeError(f"module 'lstm_lib' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
