"""One-step Jacobians, their products, and how gradients scale with the gap (Ch. 1, 2, 5, GRU).

Everything here is per example (one row ``b`` of a batch) and numpy.

Index conventions, the only ones in lstm_lib. A trace from
:mod:`lstm_lib.reference` holds the states ``h[0] ... h[T-1]`` of a run of
T steps (``h[t]`` is h_{t+1} of the book's 1-based notation). We name a
*state* by its index into ``trace.h`` and call the initial state index ``-1``
(so h_{-1} is ``trace.h0``). Step ``s`` (0 <= s < T) maps state ``s-1`` to
state ``s``, and its one-step Jacobian is J_s. A *gap* k counts steps back
from the last state: gap 0 is state T-1 (the book's h_T), gap T is the
initial state. Every array over gaps, here and in the chapters, has one row
per gap, row k for gap k, k = 0..T.

Vanilla RNN::

    J_s         = dh_s / dh_{s-1} = diag(1 - h_s * h_s) W_hh
    dh_T / dh_t = J_T J_{T-1} ... J_{t+1}            (the identity when t = T)

and the bound of Pascanu, Mikolov and Bengio (2013), gamma the activation's
largest slope (1 for tanh)::

    || dh_T / dh_t ||_2 <= (gamma * sigma_max(W_hh))^(T - t)

LSTM, the state being the pair (c_t, h_t); the gates read h_{t-1}, never
c_{t-1}, so the 2n x 2n one-step Jacobian has four blocks::

    [[ dc_t/dc_{t-1}, dc_t/dh_{t-1} ],
     [ dh_t/dc_{t-1}, dh_t/dh_{t-1} ]]

    dc_t/dc_{t-1} = diag(f_t)                                  (the carry line)
    dc_t/dh_{t-1} = diag(c_{t-1} f_t (1 - f_t)) W_hf + diag(c_tilde_t i_t (1 - i_t)) W_hi
                    + diag(i_t (1 - c_tilde_t^2)) W_hc
    dh_t/dc_{t-1} = diag(o_t (1 - tanh^2 c_t)) diag(f_t)
    dh_t/dh_{t-1} = diag(tanh c_t o_t (1 - o_t)) W_ho + diag(o_t (1 - tanh^2 c_t)) dc_t/dh_{t-1}

Along the carry line alone the product over a gap is diagonal,
diag(f_T) ... diag(f_{t+1}) = diag(prod_{s=t+1}^{T} f_s): see
:func:`lstm_carry_product`; for a constant gate f it is f^k, which halves
after :func:`half_life` steps.

GRU, the state being h_t alone (PyTorch's convention
h_t = (1 - z_t) h_tilde_t + z_t h_{t-1}, hn_t = W_hn h_{t-1} + b_hn)::

    dh_t/dh_{t-1} = diag(z_t)                                       (the direct road)
                  + diag((h_{t-1} - h_tilde_t) z_t (1 - z_t)) W_hz                  (via z)
                  + diag((1 - z_t)(1 - h_tilde_t^2)) [diag(r_t) W_hn                (via the candidate)
                                                      + diag(hn_t r_t (1 - r_t)) W_hr]   (via r)

Holding the gates and the candidate fixed leaves diag(z_t) (:func:`gru_carry_jacobian`);
along that road alone the product over a gap is diag(prod z), :func:`gru_carry_product`.

Measuring how a gradient scales with the gap: :func:`gradient_norm_by_gap`
builds an RNN from a recurrent matrix W_hh (plus optional inputs) and returns
||dh_T/dh_{T-k}||_2 for k = 0..K; :func:`singular_value_bound` returns the
bound (gamma sigma_max)^k to draw beside it; :func:`scaled_orthogonal` gives
W_hh = s Q with every singular value equal to s, which shows the three regimes
(s < 1 vanishes, s = 1 holds, s > 1 may explode) cleanly.
"""
from __future__ import annotations

import numpy as np

from .checks import (check_array, check_floating, check_in_range, check_index, check_ndim,
                     check_numpy, check_positive_int)
from .reference import check_gru_trace, check_lstm_trace, check_rnn_trace, rnn_forward


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------

def _check_matrix(W, name: str, n=None):
    check_numpy(W, name)
    check_floating(W, name)
    check_ndim(W, name, (2,), "(n, n): a square matrix")
    if n is None:
        n = W.shape[0]
    return check_array(W, name, (n, n), ("n", "n"))


def spectral_norm(W) -> float:
    """sigma_max(W): the largest singular value, ||W||_2."""
    check_numpy(W, "W")
    check_ndim(W, "W", (2,), "(a matrix)")
    check_array(W, "W")
    return float(np.linalg.norm(W, 2))


def spectral_radius(W) -> float:
    """rho(W) = max |eigenvalue| of a square matrix (never more than sigma_max(W))."""
    _check_matrix(W, "W")
    return float(np.max(np.abs(np.linalg.eigvals(W))))


# ----------------------------------------------------------------------------
# recurrent matrices with a chosen scale
# ----------------------------------------------------------------------------

def scaled_orthogonal(n: int, s: float, seed: int = 0) -> np.ndarray:
    """W = s Q with Q an n x n orthogonal matrix, so every singular value of W is s.

    Q comes from the QR decomposition of a seeded standard Gaussian matrix G,
    G = Q R, with the sign of each column of Q fixed so that diag(R) > 0
    (this makes Q unique, hence reproducible, and uniformly distributed).
    ``s`` must be a finite number >= 0. Returns float64 (n, n).
    """
    n = check_positive_int(n, "n")
    check_in_range(s, "s", low=0.0)
    G = np.random.default_rng(seed).standard_normal((n, n))
    Q, R = np.linalg.qr(G)
    signs = np.sign(np.diag(R))
    signs[signs == 0] = 1.0
    return float(s) * (Q * signs)            # column j of Q times sign(R_jj)


def scaled_gaussian(n: int, sigma_max: float, seed: int = 0) -> np.ndarray:
    """A seeded standard Gaussian n x n matrix rescaled so that its largest singular value is ``sigma_max``.

    Unlike :func:`scaled_orthogonal`, its other singular values spread below
    sigma_max and its spectral radius is much smaller (about half of sigma_max
    for large n), so products of its Jacobians can vanish even when
    sigma_max > 1: "sigma_max > 1" is necessary for explosion, not sufficient.
    """
    n = check_positive_int(n, "n")
    check_in_range(sigma_max, "sigma_max", low=0.0)
    G = np.random.default_rng(seed).standard_normal((n, n))
    return float(sigma_max) * G / np.linalg.norm(G, 2)


# ----------------------------------------------------------------------------
# vanilla RNN
# ----------------------------------------------------------------------------

def rnn_step_jacobian(h_t, W_hh) -> np.ndarray:
    """J_t = dh_t/dh_{t-1} = diag(1 - h_t * h_t) W_hh for one example.

    h_t (n,) is the state *after* the step (tanh' (a_t) = 1 - h_t^2);
    W_hh (n, n). Returns (n, n).
    """
    check_numpy(h_t, "h_t")
    check_floating(h_t, "h_t")
    check_ndim(h_t, "h_t", (1,), "(n,): one example's state")
    n = h_t.shape[0]
    check_array(h_t, "h_t")
    _check_matrix(W_hh, "W_hh", n)
    return (1.0 - h_t * h_t)[:, None] * W_hh


def _rnn_trace_checked(params, trace, b):
    T, B, d, n = check_rnn_trace(params, trace)
    b = check_index(b, "b", 0, B - 1)
    return T, b


def rnn_jacobian_product(params, trace, t: int, T: int, b: int = 0) -> np.ndarray:
    """dh_T/dh_t = J_T J_{T-1} ... J_{t+1} for example ``b`` of an RNN trace.

    ``t`` and ``T`` index states in ``trace.h`` (0-based), with ``t = -1``
    meaning the initial state h0; -1 <= t <= T <= len(trace.h) - 1. Returns
    (n, n); the identity when t == T.
    """
    steps, b = _rnn_trace_checked(params, trace, b)
    T = check_index(T, "T", -1, steps - 1)
    t = check_index(t, "t", -1, T)
    W_hh = params["W_hh"]
    P = np.eye(W_hh.shape[0], dtype=np.result_type(W_hh, trace.h))
    for s in range(T, t, -1):                 # P <- P J_s, from T back to t+1
        P = P @ rnn_step_jacobian(trace.h[s, b], W_hh)
    return P


def rnn_jacobian_norms(params, trace, b: int = 0) -> np.ndarray:
    """||dh_T/dh_{T-k}||_2 for k = 0..T_steps, T the last state of the trace.

    Accumulates from the end backwards, one example (row ``b``): P_0 = I and
    P_k = P_{k-1} J_{T-k+1}, so all gaps cost one pass. Entry k = T_steps is
    the gap to the initial state h0. Returns float64 (T_steps + 1,).
    """
    steps, b = _rnn_trace_checked(params, trace, b)
    W_hh = params["W_hh"]
    P = np.eye(W_hh.shape[0])
    norms = [1.0]
    for s in range(steps - 1, -1, -1):
        P = P @ rnn_step_jacobian(trace.h[s, b], W_hh)
        norms.append(np.linalg.norm(P, 2))
    return np.array(norms, dtype=np.float64)


def gradient_norm_by_gap(W_hh, K: int, W_xh=None, b_h=None, x=None, h0=None) -> np.ndarray:
    """Spectral norm of dh_T/dh_{T-k} for k = 0..K, for an RNN with recurrent matrix W_hh.

    Runs the tanh RNN h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h) for T = K steps
    on one example and returns ``norms`` of shape (K + 1,) with
    ``norms[k] = ||J_T ... J_{T-k+1}||_2`` (norms[0] = 1; norms[K] reaches
    back to the initial state h0).

    Arguments:
      W_hh (n, n)   the recurrent matrix (e.g. :func:`scaled_orthogonal`)
      K             the largest gap, a positive integer (also the run length T)
      W_xh (n, d), x (K, d)  optional inputs, given together; without them the
                    input is zero
      b_h (n,)      optional bias, zeros by default
      h0 (n,)       optional initial state, zeros by default

    With no input, no bias and h0 = 0 every state stays 0, so J_s = W_hh and
    norms[k] = ||W_hh^k||_2: for W_hh = s Q that is exactly s^k, the bound of
    :func:`singular_value_bound` met with equality. Inputs push tanh off its
    linear part (1 - h^2 < 1), which only shrinks the norms.
    """
    params, x, h0 = _one_example_rnn(W_hh, K, W_xh, b_h, x, h0)
    trace = rnn_forward(params, x[:, None, :], h0)
    return rnn_jacobian_norms(params, trace, b=0)


def _one_example_rnn(W_hh, K, W_xh, b_h, x, h0):
    """:func:`gradient_norm_by_gap`'s arguments, checked, as (params, x (K, d), h0 (1, n) or None)."""
    n = _check_matrix(W_hh, "W_hh").shape[0]
    K = check_positive_int(K, "K")
    if (W_xh is None) != (x is None):
        raise ValueError("W_xh and x: give both (an input and its weights) or neither, "
                         f"got W_xh={'None' if W_xh is None else 'an array'} and "
                         f"x={'None' if x is None else 'an array'}")
    if x is None:
        W_xh, x = np.zeros((n, 1)), np.zeros((K, 1))
    else:
        check_floating(check_numpy(W_xh, "W_xh"), "W_xh")
        check_ndim(W_xh, "W_xh", (2,), "(n, d)")
        check_array(W_xh, "W_xh", (n, None), ("n", "d"))
        check_floating(check_numpy(x, "x"), "x")
        check_ndim(x, "x", (2,), "(K, d): one example's inputs, no batch axis")
        check_array(x, "x", (K, W_xh.shape[1]), ("K", "d"))
    if b_h is None:
        b_h = np.zeros(n)
    else:
        check_array(check_numpy(b_h, "b_h"), "b_h", (n,), ("n",))
    if h0 is not None:
        h0 = check_array(check_numpy(h0, "h0"), "h0", (n,), ("n",))[None, :]
    return {"W_xh": W_xh, "W_hh": W_hh, "b_h": b_h}, x, h0


def singular_value_bound(W_hh, K: int, gamma: float = 1.0) -> np.ndarray:
    """(gamma * sigma_max(W_hh))^k for k = 0..K, the bound on ||dh_T/dh_{T-k}||_2.

    ``gamma`` bounds the activation's slope: 1 for tanh (the default), 1/4 for
    the sigmoid. Returns float64 (K + 1,).
    """
    _check_matrix(W_hh, "W_hh")
    K = check_positive_int(K, "K")
    check_in_range(gamma, "gamma", low=0.0)
    rate = gamma * np.linalg.norm(W_hh, 2)
    return rate ** np.arange(K + 1, dtype=np.float64)


# ----------------------------------------------------------------------------
# LSTM
# ----------------------------------------------------------------------------

def lstm_carry_jacobian(f_t) -> np.ndarray:
    """dc_t/dc_{t-1} with h_{t-1} held fixed: exactly diag(f_t). f_t (n,) -> (n, n)."""
    check_numpy(f_t, "f_t")
    check_floating(f_t, "f_t")
    check_ndim(f_t, "f_t", (1,), "(n,): one example's forget gate")
    check_array(f_t, "f_t")
    return np.diag(f_t)


def lstm_carry_product(f) -> np.ndarray:
    """Per-coordinate products of the forget gate over every gap, from the end.

    ``f`` holds forget gates with time first: (T, n) for one example, (T, B, n)
    for a batch (e.g. ``trace.f``), or (T,) for one coordinate. Returns P of
    shape (T + 1, ...) with::

        P[k] = f[T-1] * f[T-2] * ... * f[T-k]     (P[0] = 1)

    that is, in the book's 1-based steps, the diagonal of
    diag(f_T) ... diag(f_{T-k+1}): the factor by which coordinate j of a
    gradient on c_T reaches c_{T-k} along the carry line alone.
    """
    check_numpy(f, "f")
    check_floating(f, "f")
    check_ndim(f, "f", (1, 2, 3), "(T,), (T, n) or (T, B, n): time first")
    check_array(f, "f")
    if f.shape[0] == 0:
        raise ValueError(f"f: expected at least one time step, got shape {f.shape}")
    ones = np.ones((1,) + f.shape[1:], dtype=f.dtype)
    return np.concatenate([ones, np.cumprod(f[::-1], axis=0)], axis=0)


def half_life(f):
    """Memory half-life of a constant forget gate: ln(1/2) / ln(f) steps.

    After that many steps, f**k = 1/2: half of what was stored (and half of
    the carry-line gradient) is left. f must lie in (0, 1]; f = 1 gives inf.
    Accepts a number or a numpy array of numbers.
    """
    arr = np.asarray(f, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0) or np.any(arr > 1):
        raise ValueError(f"f: expected values in (0, 1], got {f!r}")
    with np.errstate(divide="ignore"):
        out = np.where(arr == 1.0, np.inf, np.log(0.5) / np.log(np.where(arr == 1.0, 0.5, arr)))
    return float(out) if np.ndim(out) == 0 else out


def _lstm_trace_checked(params, trace, b):
    T, B, d, n = check_lstm_trace(params, trace)
    b = check_index(b, "b", 0, B - 1)
    return T, b


def _lstm_state_jacobian(params, trace, t, b):
    f, i, c_tilde, o = trace.f[t, b], trace.i[t, b], trace.c_tilde[t, b], trace.o[t, b]
    c_prev = trace.c_prev(t)[b]
    tanh_c = np.tanh(trace.c[t, b])
    dh_dc_t = o * (1.0 - tanh_c ** 2)                  # dh_t/dc_t (diagonal)

    dc_dc = np.diag(f)                                 # the carry line, exactly
    dc_dh = ((c_prev * f * (1.0 - f))[:, None] * params["W_hf"]
             + (c_tilde * i * (1.0 - i))[:, None] * params["W_hi"]
             + (i * (1.0 - c_tilde ** 2))[:, None] * params["W_hc"])
    dh_dc = np.diag(dh_dc_t * f)
    dh_dh = (tanh_c * o * (1.0 - o))[:, None] * params["W_ho"] + dh_dc_t[:, None] * dc_dh
    return np.block([[dc_dc, dc_dh], [dh_dc, dh_dh]])


def lstm_state_jacobian(params, trace, t: int, b: int = 0) -> np.ndarray:
    """d(c_t, h_t)/d(c_{t-1}, h_{t-1}) for example ``b``: the 2n x 2n one-step Jacobian.

    ``t`` is the step (0 <= t < len(trace.h)); at t = 0 the previous state is
    (c0, h0). Blocks, state ordered (c, h)::

        [[dc_t/dc_{t-1}, dc_t/dh_{t-1}],
         [dh_t/dc_{t-1}, dh_t/dh_{t-1}]]

    with the four formulas of the module docstring. The top-left block is
    exactly diag(f_t).
    """
    steps, b = _lstm_trace_checked(params, trace, b)
    t = check_index(t, "t", 0, steps - 1)
    return _lstm_state_jacobian(params, trace, t, b)


def lstm_state_jacobians(params, trace) -> np.ndarray:
    """Every one-step state Jacobian of a trace: J[s, b] = d(c_s, h_s)/d(c_{s-1}, h_{s-1}).

    The trace is checked once; each J[s, b] is :func:`lstm_state_jacobian`
    of step s and example b. Returns (T, B, 2n, 2n).
    """
    T, B, d, n = check_lstm_trace(params, trace)
    return np.stack([np.stack([_lstm_state_jacobian(params, trace, s, b) for b in range(B)])
                     for s in range(T)])


def lstm_state_jacobian_product(params, trace, t: int, T: int, b: int = 0) -> np.ndarray:
    """d(c_T, h_T)/d(c_t, h_t): the product of one-step state Jacobians, 2n x 2n.

    Same index convention as :func:`rnn_jacobian_product`: states are indices
    into the trace, ``t = -1`` is the initial state (c0, h0), and
    -1 <= t <= T <= len(trace.h) - 1. Its top-left n x n block is
    dc_T/dc_t: the carry-line diagonal diag(prod f) plus every path that leaves
    the carry line through h and comes back.
    """
    steps, b = _lstm_trace_checked(params, trace, b)
    T = check_index(T, "T", -1, steps - 1)
    t = check_index(t, "t", -1, T)
    n = trace.h.shape[2]
    P = np.eye(2 * n, dtype=trace.h.dtype)
    for s in range(T, t, -1):
        P = P @ _lstm_state_jacobian(params, trace, s, b)
    return P


# ----------------------------------------------------------------------------
# GRU
# ----------------------------------------------------------------------------

def gru_carry_jacobian(z_t) -> np.ndarray:
    """dh_t/dh_{t-1} with the gates and the candidate held fixed: exactly diag(z_t).

    z_t (n,) is one example's update gate (near 1 keeps). Returns (n, n).
    """
    check_numpy(z_t, "z_t")
    check_floating(z_t, "z_t")
    check_ndim(z_t, "z_t", (1,), "(n,): one example's update gate")
    check_array(z_t, "z_t")
    return np.diag(z_t)


def gru_carry_product(z) -> np.ndarray:
    """Per-coordinate products of the update gate over every gap, from the end.

    ``z`` has time first: (T,), (T, n) or (T, B, n) (e.g. ``trace.z``). Returns
    P of shape (T + 1, ...) with P[k] = z[T-1] * ... * z[T-k] (P[0] = 1): the
    factor by which coordinate j of a gradient on h_T reaches h_{T-k} along
    the direct road alone. The same product as :func:`lstm_carry_product`,
    with the update gate in the forget gate's place.
    """
    check_numpy(z, "z")
    check_floating(z, "z")
    check_ndim(z, "z", (1, 2, 3), "(T,), (T, n) or (T, B, n): time first")
    check_array(z, "z")
    if z.shape[0] == 0:
        raise ValueError(f"z: expected at least one time step, got shape {z.shape}")
    return lstm_carry_product(z)


def _gru_trace_checked(params, trace, b):
    T, B, d, n = check_gru_trace(params, trace)
    b = check_index(b, "b", 0, B - 1)
    return T, b


def _gru_step_jacobian(params, trace, t, b):
    r, z, hn, h_tilde = trace.r[t, b], trace.z[t, b], trace.hn[t, b], trace.h_tilde[t, b]
    h_prev = trace.h_prev(t)[b]
    to_a_n = (1.0 - z) * (1.0 - h_tilde ** 2)            # dh_t / d(candidate pre-activation)
    return (np.diag(z)                                                   # the direct road
            + ((h_prev - h_tilde) * z * (1.0 - z))[:, None] * params["W_hz"]       # via z
            + (to_a_n * r)[:, None] * params["W_hn"]                     # via the candidate
            + (to_a_n * hn * r * (1.0 - r))[:, None] * params["W_hr"])   # via r


def gru_step_jacobian(params, trace, t: int, b: int = 0) -> np.ndarray:
    """dh_t/dh_{t-1} for example ``b`` of a GRU trace: the n x n one-step Jacobian.

    ``t`` is the step (0 <= t < len(trace.h)); at t = 0 the previous state is h0.
    The four terms of the module docstring: diag(z_t), the road through the
    update gate, through the candidate (which reads r_t * hn_t) and through the
    reset gate.
    """
    steps, b = _gru_trace_checked(params, trace, b)
    t = check_index(t, "t", 0, steps - 1)
    return _gru_step_jacobian(params, trace, t, b)


def gru_step_jacobians(params, trace) -> np.ndarray:
    """Every one-step Jacobian of a GRU trace, J[s, b] = dh_s/dh_{s-1}: (T, B, n, n)."""
    T, B, d, n = check_gru_trace(params, trace)
    return np.stack([np.stack([_gru_step_jacobian(params, trace, s, b) for b in range(B)])
                     for s in range(T)])


def gru_jacobian_product(params, trace, t: int, T: int, b: int = 0) -> np.ndarray:
    """dh_T/dh_t = J_T ... J_{t+1} for example ``b`` of a GRU trace, n x n.

    Same index convention as :func:`rnn_jacobian_product` (``t = -1`` is h0).
    """
    steps, b = _gru_trace_checked(params, trace, b)
    T = check_index(T, "T", -1, steps - 1)
    t = check_index(t, "t", -1, T)
    n = trace.h.shape[2]
    P = np.eye(n, dtype=trace.h.dtype)
    for s in range(T, t, -1):
        P = P @ _gru_step_jacobian(params, trace, s, b)
    return P
