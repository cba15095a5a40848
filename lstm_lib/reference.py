"""The numpy reference: a vanilla tanh RNN and an LSTM, forward and backward.

This is the code the chapters teach with (Chapters 1-4). It is written to be
read beside the equations of the notation page, not to be fast: one loop over
time, one line per equation, every intermediate kept.

Layout (time-major and batched, rows are examples, as in PyTorch)::

    x      (T, B, d)     inputs x_1 ... x_T
    h0, c0 (B, n)        initial states h_0, c_0 (zeros when omitted)
    h, c   (T, B, n)     h[t] is h_{t+1} in the 1-based notation of the book

The reference always wants a batch axis. One sequence of shape (T, d) is
passed as ``x[:, None, :]`` (B = 1) with states of shape (1, n); an unbatched
input raises a ValueError that says so, rather than guessing.

Parameters are plain dicts with the notation's names::

    RNN:  W_xh (n, d), W_hh (n, n), b_h (n,)
    LSTM: W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xc, W_hc, b_c, W_xo, W_ho, b_o
          W_x* (n, d), W_h* (n, n), b_* (n,)      (c is the candidate c_tilde;
                                                   PyTorch calls it g)

Vanilla RNN::

    a_t = W_xh x_t + W_hh h_{t-1} + b_h        (pre-activation)
    h_t = tanh(a_t)

LSTM (sigma is the logistic sigmoid, * the element-wise product)::

    f_t       = sigma(W_xf x_t + W_hf h_{t-1} + b_f)    forget gate (near 1 = keep)
    i_t       = sigma(W_xi x_t + W_hi h_{t-1} + b_i)    input gate
    c_tilde_t = tanh (W_xc x_t + W_hc h_{t-1} + b_c)    candidate
    o_t       = sigma(W_xo x_t + W_ho h_{t-1} + b_o)    output gate
    c_t       = f_t * c_{t-1} + i_t * c_tilde_t         the additive update
    h_t       = o_t * tanh(c_t)

In batch form every ``W v`` above is ``V @ W.T`` with V of shape (B, ·).
The gates are always listed in PyTorch's fused order i, f, g, o, named
i, f, c, o here (``LSTM_GATES``).

After the backward pass: :func:`clip_by_norm`, gradient clipping on the
global norm (Pascanu, Mikolov and Bengio, 2013).

Arrays are numpy; float64 is the intended dtype. float32 is accepted and
kept: the results have the dtype numpy's promotion gives for the inputs
(all float32 in, float32 out). Nothing else is: float16, integers, bools
and complex numbers are refused with a TypeError naming the argument (the
sigmoid and ``logit`` also take ints and bools, as numbers). Every public function validates its inputs
with :mod:`lstm_lib.checks` first, then computes; nothing is broadcast silently.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .checks import (check_array, check_finite, check_floating, check_in_range, check_ndim,
                     check_numpy, check_positive_int, check_shape)

RNN_PARAM_NAMES = ("W_xh", "W_hh", "b_h")
"""The RNN's parameter names, in the order they are drawn by ``init_rnn_params``."""

LSTM_GATES = ("i", "f", "c", "o")
"""The LSTM's gate letters, in PyTorch's fused order (i, f, g, o); ``c`` is the candidate."""

LSTM_PARAM_NAMES = tuple(name for g in LSTM_GATES
                         for name in (f"W_x{g}", f"W_h{g}", f"b_{g}"))
"""W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xc, W_hc, b_c, W_xo, W_ho, b_o."""


# ----------------------------------------------------------------------------
# the sigmoid and its inverse
# ----------------------------------------------------------------------------

def sigmoid(z):
    """The logistic sigmoid sigma(z) = 1 / (1 + exp(-z)), numerically stable.

    Never calls ``exp`` on a large positive number: for z >= 0 it uses
    1 / (1 + e^{-z}), for z < 0 the equal form e^{z} / (1 + e^{z}). Keeps the
    dtype of a floating input (float32 stays float32); integers and bools
    become float64. Anything else (None, strings, complex numbers, float16)
    is refused with a TypeError naming ``z``.
    """
    z = _real(z, "z")
    e = np.exp(-np.abs(z))              # in (0, 1]: never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype)


def _real(z, name: str) -> np.ndarray:
    """``z`` as a numpy array of real numbers: float32 and float64 kept, ints and bools
    made float64; None, strings, objects, complex numbers and float16 refused (TypeError)."""
    if z is None or isinstance(z, (str, bytes)):
        raise TypeError(f"{name}: expected a real number or an array of them, "
                        f"got {type(z).__name__}")
    try:
        arr = np.asarray(z)
    except (ValueError, TypeError) as e:     # a ragged list, say
        raise TypeError(f"{name}: expected a real number or an array of them, "
                        f"got a {type(z).__name__} numpy cannot read as one ({e})") from None
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    if arr.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name}: expected real numbers (float32 or float64, or integers), "
                        f"got dtype {arr.dtype}")
    return arr


def logit(p):
    """The inverse of the sigmoid: ln(p / (1 - p)), element-wise, for p in [0, 1].

    The ends map to -inf (p = 0) and +inf (p = 1): sigma reaches neither. A
    caller that needs a finite pre-activation clips the result where it calls,
    e.g. ``np.clip(logit(p), -40, 40)`` (sigma(40) == 1.0 in float64).
    Returns a float for a number, else a float64 array.
    """
    arr = _real(p, "p").astype(np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr > 1):
        raise ValueError(f"p: expected values in [0, 1], got {p!r}")
    with np.errstate(divide="ignore"):
        z = np.log(arr) - np.log1p(-arr)
    return float(z) if z.ndim == 0 else z


# ----------------------------------------------------------------------------
# parameters: shapes, checks, initialisation
# ----------------------------------------------------------------------------

def rnn_param_shapes(input_size: int, hidden_size: int) -> dict:
    """Expected shapes of the RNN parameters: W_xh (n, d), W_hh (n, n), b_h (n,)."""
    d = check_positive_int(input_size, "input_size")
    n = check_positive_int(hidden_size, "hidden_size")
    return {"W_xh": (n, d), "W_hh": (n, n), "b_h": (n,)}


def lstm_param_shapes(input_size: int, hidden_size: int) -> dict:
    """Expected shapes of the 12 LSTM parameters: W_x* (n, d), W_h* (n, n), b_* (n,)."""
    d = check_positive_int(input_size, "input_size")
    n = check_positive_int(hidden_size, "hidden_size")
    return {name: shape for g in LSTM_GATES
            for name, shape in ((f"W_x{g}", (n, d)), (f"W_h{g}", (n, n)), (f"b_{g}", (n,)))}


def check_rnn_params(params) -> tuple:
    """Validate an RNN parameter dict; return ``(input_size, hidden_size)``.

    Raises TypeError for a non-dict or a non-floating array, ValueError for
    missing or unexpected keys, a wrong shape, or a NaN/inf entry.
    """
    return _check_params(params, RNN_PARAM_NAMES, "RNN", "W_xh")


def check_lstm_params(params) -> tuple:
    """Validate an LSTM parameter dict; return ``(input_size, hidden_size)``."""
    return _check_params(params, LSTM_PARAM_NAMES, "LSTM", "W_xi")


def _check_params(params, names, kind: str, first: str):
    """Validate a parameter dict and return (input_size d, hidden_size n).

    ``first`` is the input weight whose shape (n, d) defines the sizes; every
    other parameter must then have exactly its expected shape.
    """
    if not isinstance(params, Mapping):
        raise TypeError(f"params: expected a dict of {kind} parameters "
                        f"{', '.join(names)}, got {type(params).__name__}")
    missing = [k for k in names if k not in params]
    extra = sorted(str(k) for k in params if k not in names)
    if missing or extra:
        parts = ([f"missing {missing}"] if missing else []) + \
                ([f"unexpected {extra}"] if extra else [])
        raise ValueError(f"params: {' and '.join(parts)}; an {kind} needs exactly "
                         f"{', '.join(names)}")
    W = check_numpy(params[first], f"params['{first}']")
    check_floating(W, f"params['{first}']")
    check_ndim(W, f"params['{first}']", (2,), "(hidden_size n, input_size d)")
    n, d = W.shape
    if n == 0 or d == 0:
        raise ValueError(f"params['{first}']: expected shape (n, d) with n >= 1 and "
                         f"d >= 1, got {W.shape}")
    shapes = (rnn_param_shapes if kind == "RNN" else lstm_param_shapes)(d, n)
    for key in names:
        axes = ("n", "d") if key.startswith("W_x") else ("n", "n") if key.startswith("W_h") \
            else ("n",)
        check_array(check_numpy(params[key], f"params['{key}']"), f"params['{key}']",
                    shapes[key], axes)
    return d, n


def _check_seed(seed) -> int:
    """A seed for ``np.random.default_rng``: a non-negative integer (bools refused)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed: expected a non-negative integer, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    return int(seed)


def init_rnn_params(input_size: int, hidden_size: int, seed: int = 0, scale=None) -> dict:
    """Random RNN parameters drawn like PyTorch: every entry from U(-k, k).

    ``k = 1/sqrt(n)`` (n = hidden_size) unless ``scale`` is given, in which case
    ``k = scale``. PyTorch keeps two bias vectors; the reference keeps one,
    ``b_h``, drawn like one of them. Seeded: the same arguments give the same
    arrays (float64), drawn in the order W_xh, W_hh, b_h.
    """
    d = check_positive_int(input_size, "input_size")
    n = check_positive_int(hidden_size, "hidden_size")
    k = 1.0 / np.sqrt(n) if scale is None else check_in_range(scale, "scale", low=0.0)
    rng = np.random.default_rng(_check_seed(seed))
    shapes = rnn_param_shapes(d, n)
    return {name: rng.uniform(-k, k, size=shapes[name]) for name in RNN_PARAM_NAMES}


def init_lstm_params(input_size: int, hidden_size: int, seed: int = 0,
                     forget_bias=None) -> dict:
    """Random LSTM parameters drawn like PyTorch: every entry from U(-1/sqrt(n), 1/sqrt(n)).

    With ``forget_bias`` set, ``b_f`` is that constant in every coordinate, so
    f_t starts near sigma(forget_bias) (spread by the random weights). Every
    other parameter is the same array as without ``forget_bias`` (b_f is drawn
    and then overwritten, so the random stream does not shift). Seeded;
    float64; drawn in the order of ``LSTM_PARAM_NAMES``.
    """
    d = check_positive_int(input_size, "input_size")
    n = check_positive_int(hidden_size, "hidden_size")
    if forget_bias is not None:
        check_in_range(forget_bias, "forget_bias")
    k = 1.0 / np.sqrt(n)
    rng = np.random.default_rng(_check_seed(seed))
    shapes = lstm_param_shapes(d, n)
    params = {name: rng.uniform(-k, k, size=shapes[name]) for name in LSTM_PARAM_NAMES}
    if forget_bias is not None:
        params["b_f"] = np.full(n, float(forget_bias))
    return params


# ----------------------------------------------------------------------------
# inputs, states and traces: checks
# ----------------------------------------------------------------------------

def check_state(s, name: str, B: int, n: int, dtype=np.float64):
    """An optional (B, n) state or gradient: zeros of ``dtype`` when None, else validated."""
    if s is None:
        return np.zeros((B, n), dtype=dtype)
    return check_array(check_numpy(s, name), name, (B, n), ("B", "n"))


def _check_sequence(x, d: int):
    """x: numpy, floating, (T, B, d) with T, B >= 1, finite. Returns (T, B)."""
    check_floating(check_numpy(x, "x"), "x")
    check_ndim(x, "x", (3,), "(T, B, d): time-major and batched; for one sequence of "
               "shape (T, d) pass x[:, None, :]")
    check_shape(x, "x", (None, None, d), ("T", "B", "d"))
    T, B, _ = x.shape
    if T == 0 or B == 0:
        raise ValueError(f"x: expected at least one time step and one example "
                         f"(T >= 1, B >= 1), got shape {x.shape}")
    check_array(x, "x")
    return T, B


def _check_step(x_t, d: int, n: int, **states):
    """One step's input x_t (B, d) and its previous states, each (B, n)."""
    check_floating(check_numpy(x_t, "x_t"), "x_t")
    check_ndim(x_t, "x_t", (2,), "(B, d): one time step of a batch")
    check_array(x_t, "x_t", (None, d), ("B", "d"))
    for name, s in states.items():
        check_state(s, name, x_t.shape[0], n)


def check_rnn_trace(params, trace) -> tuple:
    """Validate an RNN parameter dict and an :class:`RNNTrace` of it; return (T, B, d, n)."""
    return _check_trace(params, trace, RNNTrace, check_rnn_params, ("h0", "a", "h"))


def check_lstm_trace(params, trace) -> tuple:
    """Validate an LSTM parameter dict and an :class:`LSTMTrace` of it; return (T, B, d, n)."""
    return _check_trace(params, trace, LSTMTrace, check_lstm_params,
                        ("h0", "c0", "f", "i", "c_tilde", "o", "c", "h"))


def _check_trace(params, trace, cls, params_check, fields):
    if not isinstance(trace, cls):
        raise TypeError(f"trace: expected a {cls.__name__} from the forward pass, "
                        f"got {type(trace).__name__}")
    d, n = params_check(params)
    check_numpy(trace.x, "trace.x")
    check_ndim(trace.x, "trace.x", (3,), "(T, B, d)")
    check_shape(trace.x, "trace.x", (None, None, d), ("T", "B", "d"))
    T, B, _ = trace.x.shape
    for name in fields:
        value = check_numpy(getattr(trace, name), f"trace.{name}")
        if name in ("h0", "c0"):
            check_shape(value, f"trace.{name}", (B, n), ("B", "n"))
        else:
            check_shape(value, f"trace.{name}", (T, B, n), ("T", "B", "n"))
    return T, B, d, n


def _check_trace_values(trace, fields):
    """A trace the backward pass will use: every array floating (float32/float64), of the
    dtype of ``trace.h`` (x may differ), and finite. Shapes are checked before."""
    dtype = check_floating(trace.h, "trace.h").dtype
    for name in ("x",) + tuple(fields):
        value = check_floating(getattr(trace, name), f"trace.{name}")
        if name != "x" and value.dtype != dtype:
            raise TypeError(f"trace.{name}: expected dtype {dtype} (trace.h's dtype), "
                            f"got {value.dtype}")
        check_finite(value, f"trace.{name}")


def _check_upstream(dh, dh_T, dc_T, T, B, n, has_c: bool):
    """The loss's gradients for a backward pass: at least one, each validated."""
    if dh is None and dh_T is None and dc_T is None:
        wanted = "dh (T, B, n), dh_T (B, n)" + (" or dc_T (B, n)" if has_c else "")
        raise ValueError(f"no upstream gradient: give at least one of {wanted}; "
                         "with none every gradient is zero")
    if dh is not None:
        check_array(check_numpy(dh, "dh"), "dh", (T, B, n), ("T", "B", "n"))
    for name, g in (("dh_T", dh_T), ("dc_T", dc_T)):
        if g is not None:
            check_state(g, name, B, n)


def _dtype(*arrays):
    return np.result_type(*[a for a in arrays if a is not None])


# ----------------------------------------------------------------------------
# vanilla RNN
# ----------------------------------------------------------------------------

@dataclass(eq=False)
class RNNTrace:
    """Everything the RNN forward pass computed, kept for BPTT and for plots.

    x (T, B, d) inputs; h0 (B, n) initial state; a (T, B, n) pre-activations
    a_t = W_xh x_t + W_hh h_{t-1} + b_h; h (T, B, n) hidden states h_t = tanh(a_t).
    Index t of ``a`` and ``h`` is step t+1 of the book's 1-based notation.
    """
    x: np.ndarray
    h0: np.ndarray
    a: np.ndarray
    h: np.ndarray

    def h_prev(self, t: int) -> np.ndarray:
        """The state step t read: h0 when t == 0, else h[t-1]. Shape (B, n)."""
        return self.h0 if t == 0 else self.h[t - 1]


def rnn_step(params, x_t, h_prev) -> dict:
    """One RNN step: a_t = W_xh x_t + W_hh h_{t-1} + b_h, h_t = tanh(a_t).

    x_t (B, d), h_prev (B, n). Returns ``{"a": a_t, "h": h_t}``, each (B, n).
    """
    d, n = check_rnn_params(params)
    _check_step(x_t, d, n, h_prev=h_prev)
    a = x_t @ params["W_xh"].T + h_prev @ params["W_hh"].T + params["b_h"]
    return {"a": a, "h": np.tanh(a)}


def rnn_forward(params, x, h0=None) -> RNNTrace:
    """Run the tanh RNN over a whole sequence and keep every intermediate.

    x (T, B, d); h0 (B, n), zeros if None. For t = 1..T::

        a_t = W_xh x_t + W_hh h_{t-1} + b_h
        h_t = tanh(a_t)

    Returns an :class:`RNNTrace` with a and h of shape (T, B, n).
    """
    d, n = check_rnn_params(params)
    T, B = _check_sequence(x, d)
    dtype = _dtype(x, h0, *params.values())
    h0 = check_state(h0, "h0", B, n, dtype)
    h_prev = h0
    W_xh, W_hh, b_h = params["W_xh"], params["W_hh"], params["b_h"]
    a = np.empty((T, B, n), dtype=dtype)
    h = np.empty((T, B, n), dtype=dtype)
    for t in range(T):
        a[t] = x[t] @ W_xh.T + h_prev @ W_hh.T + b_h
        h[t] = np.tanh(a[t])
        h_prev = h[t]
    return RNNTrace(x=x, h0=h0, a=a, h=h)


def rnn_backward(params, trace: RNNTrace, dh=None, dh_T=None) -> dict:
    """Backpropagation through time for the tanh RNN, written out by hand.

    The loss L is given through its upstream gradients: ``dh`` (T, B, n) holds
    dL/dh_t reaching each h_t directly (from an output layer, say), and
    ``dh_T`` (B, n) an extra gradient on the final state h_T. Either may be
    None (zero), not both. Walking back from t = T to 1, with delta the total
    gradient on h_t (direct part plus what flows back from step t+1)::

        delta_t    = dh_t + W_hh^T g_{t+1}            (at t = T: dh_T + the final-state dh_T)
        g_t        = delta_t * (1 - h_t^2)            dL/da_t, since tanh' = 1 - tanh^2
        dL/dW_xh  += g_t x_t^T      dL/dW_hh += g_t h_{t-1}^T      dL/db_h += g_t
        dL/dx_t    = W_xh^T g_t

    and dL/dh_0 = W_hh^T g_1. Gradients are summed over the batch.

    Returns a dict with keys W_xh, W_hh, b_h (shapes of the parameters),
    h0 (B, n) and x (T, B, d).
    """
    T, B, d, n = check_rnn_trace(params, trace)
    _check_trace_values(trace, ("h0", "a", "h"))
    _check_upstream(dh, dh_T, None, T, B, n, has_c=False)
    W_xh, W_hh = params["W_xh"], params["W_hh"]
    dtype = _dtype(trace.h, trace.x, dh, dh_T, *params.values())
    grads = {name: np.zeros_like(params[name], dtype=dtype) for name in RNN_PARAM_NAMES}
    dx = np.zeros(trace.x.shape, dtype=dtype)
    # gradient arriving at h_t from step t+1; at the last step, from dh_T
    dh_next = np.zeros((B, n), dtype=dtype) if dh_T is None else dh_T.astype(dtype)
    for t in reversed(range(T)):
        delta = dh_next if dh is None else dh[t] + dh_next   # dL/dh_t, total
        g = delta * (1.0 - trace.h[t] ** 2)                  # dL/da_t
        grads["W_xh"] += g.T @ trace.x[t]
        grads["W_hh"] += g.T @ trace.h_prev(t)
        grads["b_h"] += g.sum(axis=0)
        dx[t] = g @ W_xh
        dh_next = g @ W_hh                                   # dL/dh_{t-1} via step t
    grads["h0"] = dh_next
    grads["x"] = dx
    return grads


# ----------------------------------------------------------------------------
# LSTM
# ----------------------------------------------------------------------------

@dataclass(eq=False)
class LSTMTrace:
    """Everything the LSTM forward pass computed, kept for BPTT and for plots.

    x (T, B, d) inputs; h0, c0 (B, n) initial states; and, each (T, B, n):
    the gates f, i, o, the candidate c_tilde, the cell state c and the hidden
    state h. Index t is step t+1 of the book's 1-based notation.
    """
    x: np.ndarray
    h0: np.ndarray
    c0: np.ndarray
    f: np.ndarray
    i: np.ndarray
    c_tilde: np.ndarray
    o: np.ndarray
    c: np.ndarray
    h: np.ndarray

    def h_prev(self, t: int) -> np.ndarray:
        """The hidden state step t read: h0 when t == 0, else h[t-1]. Shape (B, n)."""
        return self.h0 if t == 0 else self.h[t - 1]

    def c_prev(self, t: int) -> np.ndarray:
        """The cell state step t carried in: c0 when t == 0, else c[t-1]. Shape (B, n)."""
        return self.c0 if t == 0 else self.c[t - 1]


def _lstm_step(params, x_t, h_prev, c_prev) -> dict:
    """One LSTM step without input checks (the equations, line by line)."""
    p = params

    def pre(g):   # W_xg x_t + W_hg h_{t-1} + b_g, batch form
        return x_t @ p[f"W_x{g}"].T + h_prev @ p[f"W_h{g}"].T + p[f"b_{g}"]

    f = sigmoid(pre("f"))                  # forget gate: near 1 keeps c_{t-1}
    i = sigmoid(pre("i"))                  # input gate: how much candidate to write
    c_tilde = np.tanh(pre("c"))            # candidate (PyTorch's g)
    o = sigmoid(pre("o"))                  # output gate
    c = f * c_prev + i * c_tilde           # the additive update of the cell state
    h = o * np.tanh(c)
    return {"f": f, "i": i, "c_tilde": c_tilde, "o": o, "c": c, "h": h}


def lstm_step(params, x_t, h_prev, c_prev) -> dict:
    """One LSTM step on a batch::

        f_t       = sigma(W_xf x_t + W_hf h_{t-1} + b_f)
        i_t       = sigma(W_xi x_t + W_hi h_{t-1} + b_i)
        c_tilde_t = tanh (W_xc x_t + W_hc h_{t-1} + b_c)
        o_t       = sigma(W_xo x_t + W_ho h_{t-1} + b_o)
        c_t       = f_t * c_{t-1} + i_t * c_tilde_t
        h_t       = o_t * tanh(c_t)

    x_t (B, d), h_prev and c_prev (B, n). Returns a dict with keys
    f, i, c_tilde, o, c, h, each (B, n).
    """
    d, n = check_lstm_params(params)
    _check_step(x_t, d, n, h_prev=h_prev, c_prev=c_prev)
    return _lstm_step(params, x_t, h_prev, c_prev)


def lstm_forward(params, x, h0=None, c0=None) -> LSTMTrace:
    """Run the LSTM over a whole sequence and keep every intermediate.

    x (T, B, d); h0, c0 (B, n), zeros if None. Applies :func:`lstm_step`'s
    equations for t = 1..T and returns an :class:`LSTMTrace` with f, i,
    c_tilde, o, c, h, each of shape (T, B, n).
    """
    d, n = check_lstm_params(params)
    T, B = _check_sequence(x, d)
    dtype = _dtype(x, h0, c0, *params.values())
    h0 = check_state(h0, "h0", B, n, dtype)
    c0 = check_state(c0, "c0", B, n, dtype)
    out = {k: np.empty((T, B, n), dtype=dtype)
           for k in ("f", "i", "c_tilde", "o", "c", "h")}
    h_prev, c_prev = h0, c0
    for t in range(T):
        step = _lstm_step(params, x[t], h_prev, c_prev)
        for k, v in step.items():
            out[k][t] = v
        h_prev, c_prev = out["h"][t], out["c"][t]
    return LSTMTrace(x=x, h0=h0, c0=c0, **out)


def lstm_backward(params, trace: LSTMTrace, dh=None, dh_T=None, dc_T=None) -> dict:
    """Backpropagation through time for the LSTM, written out by hand.

    Upstream gradients: ``dh`` (T, B, n) is dL/dh_t reaching each h_t directly;
    ``dh_T`` and ``dc_T`` (B, n) are extra gradients on the final states h_T
    and c_T. Any of them may be None (zero), not all three.

    Walking back from t = T to 1, with delta_h and delta_c the total gradients
    on h_t and c_t (direct part plus what flows back from step t+1)::

        delta_c  += delta_h * o_t * (1 - tanh^2 c_t)      through h_t = o_t * tanh(c_t)
        do        = delta_h * tanh c_t
        df        = delta_c * c_{t-1}      di = delta_c * c_tilde_t
        dc_tilde  = delta_c * i_t
        dz_f = df * f (1 - f)   dz_i = di * i (1 - i)   dz_o = do * o (1 - o)
        dz_c = dc_tilde * (1 - c_tilde^2)                 (gate pre-activations)
        dL/dW_xg += dz_g^T x_t    dL/dW_hg += dz_g^T h_{t-1}    dL/db_g += dz_g
        dL/dx_t   = sum_g W_xg^T dz_g
        delta_h(t-1) = dh_{t-1} + sum_g W_hg^T dz_g     (through the four gates)
        delta_c(t-1) = delta_c * f_t                    (the carry line: exactly diag(f_t))

    Returns a dict with the 12 parameter gradients (keys of LSTM_PARAM_NAMES,
    summed over the batch), h0 and c0 (B, n), and x (T, B, d).
    """
    T, B, d, n = check_lstm_trace(params, trace)
    _check_trace_values(trace, ("h0", "c0", "f", "i", "c_tilde", "o", "c", "h"))
    _check_upstream(dh, dh_T, dc_T, T, B, n, has_c=True)
    dtype = _dtype(trace.h, trace.x, dh, dh_T, dc_T, *params.values())
    grads = {name: np.zeros_like(params[name], dtype=dtype) for name in LSTM_PARAM_NAMES}
    dx = np.zeros(trace.x.shape, dtype=dtype)
    dh_next = np.zeros((B, n), dtype=dtype) if dh_T is None else dh_T.astype(dtype)
    dc_next = np.zeros((B, n), dtype=dtype) if dc_T is None else dc_T.astype(dtype)
    for t in reversed(range(T)):
        f, i, c_tilde, o = trace.f[t], trace.i[t], trace.c_tilde[t], trace.o[t]
        c_prev, h_prev, x_t = trace.c_prev(t), trace.h_prev(t), trace.x[t]
        tanh_c = np.tanh(trace.c[t])

        delta_h = dh_next if dh is None else dh[t] + dh_next      # dL/dh_t, total
        delta_c = dc_next + delta_h * o * (1.0 - tanh_c ** 2)     # dL/dc_t, total

        dz = {                                                    # dL/d(pre-activation)
            "f": delta_c * c_prev * f * (1.0 - f),
            "i": delta_c * c_tilde * i * (1.0 - i),
            "c": delta_c * i * (1.0 - c_tilde ** 2),
            "o": delta_h * tanh_c * o * (1.0 - o),
        }
        dh_prev = np.zeros((B, n), dtype=dtype)
        for g in LSTM_GATES:
            grads[f"W_x{g}"] += dz[g].T @ x_t
            grads[f"W_h{g}"] += dz[g].T @ h_prev
            grads[f"b_{g}"] += dz[g].sum(axis=0)
            dx[t] += dz[g] @ params[f"W_x{g}"]
            dh_prev += dz[g] @ params[f"W_h{g}"]
        dh_next = dh_prev
        dc_next = delta_c * f                                     # the carry line
    grads["h0"] = dh_next
    grads["c0"] = dc_next
    grads["x"] = dx
    return grads


# ----------------------------------------------------------------------------
# after the backward pass: clipping by the global norm
# ----------------------------------------------------------------------------

def global_norm(grads) -> float:
    """||g||_2 of all gradients at once: sqrt of the sum of every squared entry.

    ``grads`` is a dict of numpy arrays (e.g. {W_xh, W_hh, b_h}) or a list of
    them; the norm treats them as one long vector g.
    """
    _, arrays = _grad_items(grads)
    return float(math.sqrt(sum(float(np.sum(np.square(a, dtype=np.float64))) for a in arrays)))


def clip_by_norm(grads, max_norm: float, eps: float = 0.0):
    """Gradient clipping on the global norm: if ||g||_2 > tau, g <- tau g / ||g||_2.

    ``grads``: a dict or a list of numpy arrays, clipped together (one norm
    over all of them, so the direction of g is kept). ``max_norm`` is tau > 0.
    Returns new arrays in a container of the same kind (dict with the same
    keys, or list); the input is not modified.

    The scale applied is min(1, tau / (||g||_2 + eps)). With eps = 0 (the
    default) a clipped gradient has norm exactly tau. PyTorch's
    ``torch.nn.utils.clip_grad_norm_`` uses eps = 1e-6; pass it to reproduce
    PyTorch bit for bit.
    """
    keys, arrays = _grad_items(grads)
    check_in_range(max_norm, "max_norm", low=0.0, inclusive=False)
    check_in_range(eps, "eps", low=0.0)
    total = global_norm(arrays)
    denom = total + float(eps)
    coef = 1.0 if denom == 0.0 else min(1.0, float(max_norm) / denom)
    clipped = [a * coef for a in arrays]
    if keys is None:
        return clipped
    return dict(zip(keys, clipped))


def _grad_items(grads):
    """(keys or None, list of arrays) from a dict or a sequence of gradient arrays."""
    if isinstance(grads, Mapping):
        keys = list(grads)
        arrays = [grads[k] for k in keys]
        names = [f"grads[{k!r}]" for k in keys]
    elif isinstance(grads, (list, tuple)):
        keys = None
        arrays = list(grads)
        names = [f"grads[{j}]" for j in range(len(arrays))]
    else:
        raise TypeError(f"grads: expected a dict or a list of numpy arrays, "
                        f"got {type(grads).__name__}")
    if not arrays:
        raise ValueError("grads: expected at least one gradient array, got none")
    for a, name in zip(arrays, names):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{name}: expected a numpy array, got {type(a).__name__}")
        check_array(a, name)
    return keys, arrays
