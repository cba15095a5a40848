"""A trained LSTM's gates, read through the numpy reference (the lab chapter).

``lstm_lib.modules.LSTM`` returns h and c, not the gates. The numpy
reference exposes every one: :func:`lstm_trace` copies a trained module's
weights out (``weights.lstm_params_from_torch``) and runs
``reference.lstm_forward``; :func:`hold_statistics` then asks, unit by unit,
which ones write the adding problem's first marked value and keep it, and
:func:`gate_saturation` counts how often each gate sits near 0 or near 1.
"""
from __future__ import annotations

import numpy as np
import torch

from ..reference import lstm_forward
from ..weights import lstm_params_from_torch
from . import train as tr

__all__ = ["lstm_trace", "hold_statistics", "gate_saturation"]


def lstm_trace(model, x):
    """Every gate of a trained LSTM on inputs x (T, B, d), via the numpy reference.

    model: a :class:`lstm_lib.lab.train.SequenceModel` with an LSTM, or an LSTM module
    (first layer). Returns ``reference.LSTMTrace`` (float64) with f, i, c_tilde, o,
    c, h of shape (T, B, n).
    """
    rnn = model.rnn if isinstance(model, tr.SequenceModel) else model
    params = lstm_params_from_torch(rnn, layer=0)
    return lstm_forward(params, x.detach().to(torch.float64).numpy())


def _corr(a, v):
    """Pearson correlation of each column of a (B, n) with v (B,); 0 for a constant column."""
    a = a - a.mean(0)
    v = v - v.mean()
    denom = np.sqrt((a ** 2).sum(0) * (v ** 2).sum())
    return np.where(denom > 0, (a * v[:, None]).sum(0) / np.where(denom > 0, denom, 1), 0.0)


def hold_statistics(trace, positions, values, write_threshold=0.5, hold_threshold=0.5):
    """What each unit's gates do with the first marked value of the adding problem.

    trace: the LSTMTrace of a batch of B adding-problem sequences; positions (B, 2):
    the marked steps p_1 < p_2 (0-based); values (B,): the first marked value v_1.

    A unit *writes* v_1 if the jump of its cell state at p_1, c_{p_1} - c_{p_1 - 1},
    correlates with v_1 across the batch with |r| >= ``write_threshold``. What it
    keeps of that write at the end is the carry-line factor prod_{t > p_1} f_t
    (Chapter 2); a writer *holds* v_1 if the median of that product over the batch
    is at least ``hold_threshold``.

    Returns a dict of per-unit lists (index j = unit): "write_correlation",
    "final_correlation" (c_T with v_1), "retained" (median carry-line product over
    the hold window p_1 < t <= T), "f_hold_median", "f_hold_min", "f_before_median"
    (steps t < p_1, before anything is stored), "i_marked_median" (input gate at p_1
    and p_2) and "i_unmarked_median"; plus "writers" and "holders" (unit indices),
    "f_min" (smallest forget gate anywhere) and "n_units", "n_sequences".
    """
    f, i, c = trace.f, trace.i, trace.c
    T, B, n = f.shape
    positions = np.asarray(positions)
    v1 = np.asarray(values, dtype=np.float64)
    if positions.shape != (B, 2) or v1.shape != (B,):
        raise ValueError(f"positions, values: expected shapes ({B}, 2) and ({B},), "
                         f"got {positions.shape} and {v1.shape}")
    rows = np.arange(B)
    p1, p2 = positions[:, 0], positions[:, 1]
    c_before = np.where((p1 > 0)[:, None], c[np.maximum(p1 - 1, 0), rows], trace.c0)
    write = _corr(c[p1, rows] - c_before, v1)                 # (n,)
    final = _corr(c[-1], v1)
    steps = np.arange(T)[:, None]
    hold = steps > p1[None, :]                                # (T, B): the hold window
    before = steps < p1[None, :]
    marked = np.zeros((T, B), dtype=bool)
    marked[p1, rows] = True
    marked[p2, rows] = True
    log_f = np.log(f)
    retained = np.median(np.exp((log_f * hold[:, :, None]).sum(0)), axis=0)   # (n,)
    writers = [int(j) for j in np.flatnonzero(np.abs(write) >= write_threshold)]
    holders = [j for j in writers if retained[j] >= hold_threshold]
    return {
        "n_units": int(n), "n_sequences": int(B),
        "write_threshold": write_threshold, "hold_threshold": hold_threshold,
        "write_correlation": write.tolist(), "final_correlation": final.tolist(),
        "retained": retained.tolist(),
        "f_hold_median": np.median(f[hold], axis=0).tolist(),
        "f_hold_min": f[hold].min(axis=0).tolist(),
        "f_before_median": (np.median(f[before], axis=0).tolist() if before.any()
                            else [float("nan")] * n),
        "i_marked_median": np.median(i[marked], axis=0).tolist(),
        "i_unmarked_median": np.median(i[~marked], axis=0).tolist(),
        "writers": writers, "holders": holders, "f_min": float(f.min()),
    }


def gate_saturation(trace, mask=None, low=0.1, high=0.9) -> dict:
    """How often each unit's gates are saturated, after the idea of Karpathy, Johnson and Fei-Fei (2015).

    A gate is *left-saturated* at a step where its value is below ``low`` (nearly
    shut) and *right-saturated* where it is above ``high`` (nearly open).
    trace: an LSTMTrace, gates (T, B, n); mask: boolean (T, B), the positions to
    count (all when None). Returns {"f", "i", "o"}: each {"left": (n,), "right":
    (n,)} fractions of the counted positions, as lists.
    """
    if not 0 < low < high < 1:
        raise ValueError(f"low, high: expected 0 < low < high < 1, got {low!r} and {high!r}")
    T, B, n = trace.f.shape
    mask = np.ones((T, B), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if mask.shape != (T, B):
        raise ValueError(f"mask: expected shape (T={T}, B={B}), got {mask.shape}")
    if not mask.any():
        raise ValueError("mask: expected at least one position to count, got none")
    out = {}
    for name in ("f", "i", "o"):
        g = getattr(trace, name)[mask]                      # (P, n)
        out[name] = {"left": (g < low).mean(0).tolist(), "right": (g > high).mean(0).tolist()}
    return out
