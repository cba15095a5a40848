"""Chapter 1: why vanilla RNNs forget.

The chapter measures how the gradient of a tanh RNN,

    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h),

scales with the time gap k = T - t. The Jacobian machinery lives in
:mod:`lstm_lib.jacobians` (one-step Jacobians J_s = diag(1 - h_s^2) W_hh,
their products dh_T/dh_t = J_T ... J_{t+1}, the bound
||dh_T/dh_t||_2 <= sigma_max(W_hh)^(T-t)) and the RNN itself in
:mod:`lstm_lib.reference`, with gradient clipping on the global norm
(``reference.global_norm``, ``reference.clip_by_norm``; Pascanu, Mikolov and
Bengio, 2013). This module holds what only Chapter 1 computes:

* the scalar intuition: ``repeated_factor`` (0.95^k and 1.05^k) and the
  ``knife_edge_band`` of scales that keep a gradient within a factor of 2;
* ``tanh_slope``, the factor 1 - h^2 that tanh puts on every path through h;
* ``measure_gaps``: run one RNN with a given W_hh on seeded inputs and return
  ||dh_T/dh_{T-k}||_2 for every gap k, next to the bound sigma_max^k and the
  tanh slopes of the run;
* ``gaussian_vs_orthogonal``: the same sigma_max > 1 in two matrices, one
  whose gradient explodes and one whose gradient vanishes;
* ``normal_twin`` and ``commutator_norm``: the looseness of the bound for one
  matrix repeated is non-normality (a normal matrix with the same singular
  values meets the bound);
* ``chunked_input_gradients``: truncated backpropagation through time, the
  carried state detached between chunks, and what reaches each input;
* ``exploding_gradients``, a case that needs clipping;
* ``two_jobs_tradeoff``: a louder present (larger |h_t|) means a weaker path
  back to the past, because both go through the same slope 1 - h_t^2;
* the chapter's explorer: ``sigma_max_view``, a pure function of the slider
  value sigma_max (``Explorer(sigma_max_view)`` shows it).

Runs are one example (batch B = 1) of INPUT_SIZE inputs and HIDDEN_SIZE
units, for GAP steps. Inputs are seeded: x_t has independent N(0, s_in^2)
entries, s_in the ``input_scale``; W_xh is drawn like PyTorch's
U(-1/sqrt(n), 1/sqrt(n)); b_h = 0 and h_0 = 0. Small inputs keep tanh on its
near-linear part (slope 1 - h^2 close to 1); large inputs saturate it.
"""
from __future__ import annotations

import numpy as np
import torch

from ..checks import check_array, check_in_range, check_ndim, check_positive_int
from ..jacobians import (rnn_jacobian_norms, scaled_gaussian, scaled_orthogonal,
                         singular_value_bound, spectral_norm, spectral_radius)
from ..reference import (RNN_PARAM_NAMES, check_rnn_params, global_norm, init_rnn_params,
                         rnn_backward, rnn_forward)
from ..viz.explorer import Control, Panel, Series, View, sliders

INPUT_SIZE = 4          # d
HIDDEN_SIZE = 64        # n
GAP = 50                # K: the run length and the largest gap measured
SMALL_INPUT = 1e-3      # input scale that keeps tanh near-linear
LARGE_INPUT = 3.0       # input scale that saturates tanh

#: The explorer's grid of sigma_max values: 0.50, 0.55, ..., 1.50 (21 values).
SIGMA_GRID = tuple(round(0.5 + 0.05 * j, 2) for j in range(21))


# ------------------------------------------------------------ the intuition

def repeated_factor(rate: float, K: int) -> np.ndarray:
    """rate**k for k = 0..K: a signal multiplied by the same factor once per step.

    The one-dimensional, linear picture of backpropagation through time: with
    a per-step scale of 0.95 the signal after K = 50 steps is 0.95**50; with
    1.05 it is 1.05**50. Returns float64 (K + 1,).
    """
    check_in_range(rate, "rate", low=0.0)
    K = check_positive_int(K, "K")
    return float(rate) ** np.arange(K + 1, dtype=np.float64)


def knife_edge_band(k: int, factor: float = 2.0) -> tuple:
    """The per-step scales r with factor**-1 <= r**k <= factor: (factor**(-1/k), factor**(1/k)).

    A gradient that is multiplied by r at each of k steps stays within a
    factor ``factor`` of its size only if r lies in this band, which shrinks
    towards the single point r = 1 as k grows.
    """
    k = check_positive_int(k, "k")
    check_in_range(factor, "factor", low=1.0, high=None)
    if factor == 1.0:
        return 1.0, 1.0
    return float(factor) ** (-1.0 / k), float(factor) ** (1.0 / k)


def tanh_slope(h):
    """tanh'(a) written with h = tanh(a): 1 - h * h, element-wise.

    It is 1 at h = 0 and falls towards 0 as |h| approaches 1 (saturation).
    Every path through h_t, from the past and from the present input, is
    scaled by it. Accepts a number or a numpy array.
    """
    arr = np.asarray(h, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(np.abs(arr) > 1.0):
        raise ValueError(f"h: expected values of tanh, in [-1, 1], got {h!r}")
    out = 1.0 - arr * arr
    return float(out) if np.ndim(out) == 0 else out


# --------------------------------------------------------- measured gradients

def rnn_inputs(K: int = GAP, input_scale: float = SMALL_INPUT, input_size: int = INPUT_SIZE,
               hidden_size: int = HIDDEN_SIZE, seed: int = 0) -> tuple:
    """Seeded input weights and inputs for one example: (W_xh (n, d), x (K, 1, d)).

    W_xh is drawn like PyTorch (U(-1/sqrt(n), 1/sqrt(n)), via
    ``reference.init_rnn_params``); x has independent N(0, input_scale^2)
    entries. The same seed gives the same arrays whatever the input_scale, so
    runs at different scales differ only in the size of the inputs.
    """
    K = check_positive_int(K, "K")
    check_in_range(input_scale, "input_scale", low=0.0)
    W_xh = init_rnn_params(input_size, hidden_size, seed=seed)["W_xh"]
    x = float(input_scale) * np.random.default_rng(seed + 1).standard_normal((K, 1, input_size))
    return W_xh, x


def measure_gaps(W_hh, K: int = GAP, input_scale: float = SMALL_INPUT,
                 input_size: int = INPUT_SIZE, seed: int = 0) -> dict:
    """Run a tanh RNN with recurrent matrix W_hh and measure the gradient at every gap.

    The RNN has W_xh and x from :func:`rnn_inputs`, b_h = 0 and h_0 = 0, and
    runs K steps. Returns a dict:

      params  the RNN parameters {W_xh, W_hh, b_h}
      trace   the ``reference.RNNTrace`` of the run (h has shape (K, 1, n))
      k       (K + 1,)  gaps 0..K
      norm    (K + 1,)  ||dh_T/dh_{T-k}||_2 (``jacobians.rnn_jacobian_norms``);
                        norm[K] reaches back to h_0
      bound   (K + 1,)  sigma_max(W_hh)^k, the upper bound on norm
      slope   (K, n)    tanh slopes 1 - h_t^2 of every step and unit
      mean_slope        their mean (1: linear; near 0: saturated)
    """
    check_ndim(W_hh, "W_hh", (2,), "(n, n): the recurrent matrix")
    n = check_array(W_hh, "W_hh").shape[0]
    W_xh, x = rnn_inputs(K, input_scale, input_size, n, seed)
    params = {"W_xh": W_xh, "W_hh": W_hh, "b_h": np.zeros(n)}
    trace = rnn_forward(params, x)
    slope = tanh_slope(trace.h[:, 0, :])
    return {
        "params": params,
        "trace": trace,
        "k": np.arange(K + 1),
        "norm": rnn_jacobian_norms(params, trace),
        "bound": singular_value_bound(W_hh, K),
        "slope": slope,
        "mean_slope": float(np.mean(slope)),
    }


def regimes(scales=(0.95, 1.0, 1.05), K: int = GAP, input_scale: float = SMALL_INPUT,
            hidden_size: int = HIDDEN_SIZE, seed: int = 0) -> dict:
    """:func:`measure_gaps` for W_hh = s Q at each s in ``scales`` (one Q for all).

    Q is ``scaled_orthogonal(hidden_size, 1, seed)``, so every singular value
    of s Q is s and the bound is s^k. Returns {s: measure_gaps(...)}.
    """
    out = {}
    for s in scales:
        check_in_range(s, "s", low=0.0)
        out[s] = measure_gaps(scaled_orthogonal(hidden_size, s, seed=seed), K,
                              input_scale, seed=seed)
    return out


def gaussian_vs_orthogonal(sigma_max: float = 1.1, hidden_size: int = HIDDEN_SIZE,
                           K: int = GAP, input_scale: float = SMALL_INPUT, seed: int = 0) -> dict:
    """Two recurrent matrices with the same largest singular value sigma_max.

    ``orthogonal`` is sigma_max Q: every singular value is sigma_max and every
    eigenvalue has modulus sigma_max. ``gaussian`` is a standard Gaussian
    matrix rescaled to that sigma_max: its other singular values spread below
    it, and its eigenvalues fill a disc of radius well under sigma_max. Both
    are run by :func:`measure_gaps` on the same inputs. Returns a dict with,
    for each name in ("orthogonal", "gaussian"):

      W, run (the measure_gaps dict), sigma_max, radius (spectral radius),
      eigenvalues (n,) complex, singular_values (n,)
    """
    check_in_range(sigma_max, "sigma_max", low=0.0)
    mats = {"orthogonal": scaled_orthogonal(hidden_size, sigma_max, seed=seed),
            "gaussian": scaled_gaussian(hidden_size, sigma_max, seed=seed)}
    out = {}
    for name, W in mats.items():
        out[name] = {
            "W": W,
            "run": measure_gaps(W, K, input_scale, seed=seed),
            "sigma_max": spectral_norm(W),
            "radius": spectral_radius(W),
            "eigenvalues": np.linalg.eigvals(W),
            "singular_values": np.linalg.svd(W, compute_uv=False),
        }
    return out


def normal_twin(W) -> np.ndarray:
    """A normal matrix with the singular values of W: U diag(sigma) U^T, from W = U diag(sigma) V^T.

    It is symmetric, so it commutes with its transpose, its eigenvalues are the
    singular values of W, and ||N^k||_2 = sigma_max(W)^k for every k: the bound
    sigma_max^k is met. What W does differently over k steps comes from W not
    being normal (V is not U).
    """
    W = check_array(W, "W", (None, None))
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"W: expected a square matrix, got shape {W.shape}")
    U, sig, _ = np.linalg.svd(W)
    return (U * sig) @ U.T


def commutator_norm(W) -> float:
    """||W W^T - W^T W||_2 / ||W||_2^2: zero exactly when W is normal."""
    W = check_array(W, "W", (None, None))
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"W: expected a square matrix, got shape {W.shape}")
    return float(np.linalg.norm(W @ W.T - W.T @ W, 2) / spectral_norm(W) ** 2)


# ------------------------------------------------------------ truncated BPTT

def chunked_input_gradients(params, x, chunk: int, v=None) -> np.ndarray:
    """||dL/dx_t||_2 for every step, with L = v . h_T and the carried state detached
    every ``chunk`` steps, as training code does when it runs a long sequence in chunks.

    The forward pass runs all T steps; at the start of each chunk the state
    carried in keeps its value but leaves the autograd graph (``detach``), so
    backward stops there. ``chunk >= T`` is full backpropagation through time.
    params: the reference RNN's dict; x (T, B, d); v (B, n), ones if None.
    Returns an array of shape (T,), gradients summed over the batch.
    """
    d, n = check_rnn_params(params)
    x = check_array(x, "x", (None, None, d), ("T", "B", "d"))
    chunk = check_positive_int(chunk, "chunk")
    T, B = x.shape[:2]
    v = np.ones((B, n)) if v is None else check_array(v, "v", (B, n))
    f64 = torch.float64
    W_xh, W_hh, b_h = (torch.tensor(params[k], dtype=f64)
                       for k in ("W_xh", "W_hh", "b_h"))
    xs = torch.tensor(x, dtype=f64, requires_grad=True)
    h = torch.zeros(B, n, dtype=f64)
    for t in range(T):
        if t % chunk == 0:
            h = h.detach()     # same value, no path back to earlier chunks
        h = torch.tanh(xs[t] @ W_xh.T + h @ W_hh.T + b_h)
    loss = (h * torch.tensor(v, dtype=f64)).sum()     # L = v . h_T
    loss.backward()
    return xs.grad.pow(2).sum(dim=(1, 2)).sqrt().numpy()


# ------------------------------------------------------------ exploding gradients

def exploding_gradients(s: float = 2.0, lengths=tuple(range(5, 51, 5)), batch: int = 16,
                        input_scale: float = 1.0, hidden_size: int = HIDDEN_SIZE,
                        input_size: int = INPUT_SIZE, seed: int = 0) -> dict:
    """Parameter gradients of a tanh RNN with W_hh = s Q, for sequences of several lengths.

    The RNN: W_xh and b_h drawn like PyTorch (``init_rnn_params``), W_hh =
    ``scaled_orthogonal(n, s)``. The data: ``batch`` sequences with N(0,
    input_scale^2) inputs; a sequence of length T is the first T steps of the
    longest one. The loss reads the final state only:

        L = (1/B) sum_b v_b . h_T^(b),    v_b a fixed random unit vector,

    so dL/dh_T = v / B, and ``reference.rnn_backward`` gives the gradients.
    Returns a dict: params (the RNN), T (lengths,), grads (one dict
    {W_xh, W_hh, b_h} per length) and norm (the global norm of each).
    """
    s = check_in_range(s, "s", low=0.0)
    batch = check_positive_int(batch, "batch")
    lengths = [check_positive_int(T, "lengths") for T in lengths]
    if not lengths:
        raise ValueError("lengths: expected at least one sequence length, got none")
    params = init_rnn_params(input_size, hidden_size, seed=seed)
    params["W_hh"] = scaled_orthogonal(hidden_size, s, seed=seed)
    rng = np.random.default_rng(seed + 1)
    x_all = float(input_scale) * rng.standard_normal((max(lengths), batch, input_size))
    v = rng.standard_normal((batch, hidden_size))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    grads, norms = [], []
    for T in lengths:
        trace = rnn_forward(params, x_all[:T])
        g = rnn_backward(params, trace, dh_T=v / batch)
        g = {name: g[name] for name in RNN_PARAM_NAMES}
        grads.append(g)
        norms.append(global_norm(g))
    return {"params": params, "T": np.array(lengths), "grads": grads, "norm": np.array(norms)}


# ------------------------------------------------------------ one vector, two jobs

def two_jobs_tradeoff(input_scales, s: float = 1.0, K: int = GAP,
                      hidden_size: int = HIDDEN_SIZE, seed: int = 0) -> dict:
    """How loudly h_t speaks about its inputs, against how much gradient reaches h_0.

    For each input scale, :func:`measure_gaps` runs W_hh = s Q (s = 1: the
    recurrent matrix itself neither shrinks nor grows anything). Returns a
    dict of (len(input_scales),) arrays:

      input_scale
      mean_abs_h   mean |h_t| over steps and units (how far h_t moves off 0
                   to encode the inputs; the output layer reads this)
      mean_slope   mean tanh slope 1 - h_t^2
      memory       ||dh_T/dh_0||_2 over the whole run (K steps)
    """
    scales = np.asarray(input_scales, dtype=np.float64).ravel()
    if scales.size == 0:
        raise ValueError("input_scales: expected at least one value, got none")
    W_hh = scaled_orthogonal(hidden_size, s, seed=seed)
    mean_abs_h, mean_slope, memory = [], [], []
    for scale in scales:
        run = measure_gaps(W_hh, K, float(scale), seed=seed)
        mean_abs_h.append(float(np.mean(np.abs(run["trace"].h))))
        mean_slope.append(run["mean_slope"])
        memory.append(float(run["norm"][-1]))
    return {"input_scale": scales, "mean_abs_h": np.array(mean_abs_h),
            "mean_slope": np.array(mean_slope), "memory": np.array(memory)}


# ------------------------------------------------------------------ explorer

FLOOR = 1e-17            # values below this are drawn at it (log axis)
YLIM = (1e-16, 1e10)     # fixed axis, so frames compare by eye


def sigma_max_frame(sigma_max: float) -> dict:
    """The data of one explorer frame (see :func:`sigma_max_view`).

    Returns {"k", "bound", "orthogonal_small", "gaussian_small",
    "orthogonal_large", "gaussian_large", "slope_small", "slope_large"}:
    gradient norms ||dh_T/dh_{T-k}||_2 for W_hh = sigma_max Q and for the
    Gaussian with the same sigma_max, with small and with large inputs, and
    the mean tanh slope of each orthogonal run.
    """
    check_in_range(sigma_max, "sigma_max", low=0.0)
    W_orth = scaled_orthogonal(HIDDEN_SIZE, sigma_max)
    W_gauss = scaled_gaussian(HIDDEN_SIZE, sigma_max)
    out = {}
    for tag, scale in (("small", SMALL_INPUT), ("large", LARGE_INPUT)):
        orth = measure_gaps(W_orth, GAP, scale)
        gauss = measure_gaps(W_gauss, GAP, scale)
        out[f"orthogonal_{tag}"] = orth["norm"]
        out[f"gaussian_{tag}"] = gauss["norm"]
        out[f"slope_{tag}"] = orth["mean_slope"]
        out["k"] = orth["k"]
        out["bound"] = orth["bound"]
    return out


@sliders(Control("sigma_max", "largest singular value σ_max of W_hh", SIGMA_GRID,
                 initial=1.0, fmt="{:.2f}"))
def sigma_max_view(sigma_max: float):
    """Explorer frame: the gradient norm against the gap k for one value of sigma_max.

    Left panel, small inputs (tanh near-linear as long as sigma_max <= 1;
    above 1 even small inputs are amplified until tanh saturates); right
    panel, large inputs (tanh saturated). Each panel title gives the mean tanh
    slope 1 - h^2 of the orthogonal run. Each shows ||dh_T/dh_{T-k}||_2 for W_hh = sigma_max Q
    (every singular value sigma_max), for a Gaussian W_hh with the same
    sigma_max, and the bound sigma_max^k, on a log axis from 1e-16 to 1e10
    (smaller values are drawn at 1e-17, below the axis).
    """
    d = sigma_max_frame(sigma_max)
    k = d["k"]

    def panel(tag, title):
        return Panel(
            [Series(k, np.maximum(d[f"orthogonal_{tag}"], FLOOR), "σ_max·Q (orthogonal)",
                    style="solid", marker="o", color=0),
             Series(k, np.maximum(d[f"gaussian_{tag}"], FLOOR), "Gaussian, same σ_max",
                    style="dashed", marker="s", color=1),
             Series(k, np.maximum(d["bound"], FLOOR), "bound σ_max^k",
                    style="dotted", color=6)],
            title=title, xlabel="gap k", ylabel="‖∂h_T/∂h_(T−k)‖₂", logy=True,
            ylim=YLIM, hlines=((1.0, "1"),))

    left = panel("small", f"Small inputs (mean tanh slope {d['slope_small']:.2f})")
    right = panel("large", f"Large inputs (mean tanh slope {d['slope_large']:.2f})")
    K = GAP
    text = (f"σ_max = {sigma_max:.2f}: over k = {K} steps the bound is {d['bound'][-1]:.3g}. "
            f"With small inputs (mean tanh slope {d['slope_small']:.2f}) the orthogonal "
            f"W_hh gives {d['orthogonal_small'][-1]:.3g} "
            f"and the Gaussian {d['gaussian_small'][-1]:.3g}; with large inputs "
            f"(mean tanh slope {d['slope_large']:.2f}) the orthogonal W_hh gives "
            f"{d['orthogonal_large'][-1]:.3g}.")
    return View([left, right], text)
