"""Chapter 3: the gates, one at a time.

The four parts of an LSTM step that read the input x_t and the previous
hidden state h_{t-1} (sigma is the logistic sigmoid)::

    f_t       = sigma(W_xf x_t + W_hf h_{t-1} + b_f)    forget gate, in (0, 1): near 1 keeps c_{t-1}
    i_t       = sigma(W_xi x_t + W_hi h_{t-1} + b_i)    input gate, in (0, 1): how much to write
    c_tilde_t = tanh (W_xc x_t + W_hc h_{t-1} + b_c)    candidate, in (-1, 1): what to write
    o_t       = sigma(W_xo x_t + W_ho h_{t-1} + b_o)    output gate, in (0, 1): how much to show

The step itself (``lstm_lib.reference.lstm_step`` / ``lstm_forward``) then
computes c_t = f_t * c_{t-1} + i_t * c_tilde_t and h_t = o_t * tanh(c_t).
This module never re-implements that step: everything here runs through the
reference. It adds three things the chapter needs.

1. ``gate_preactivation``: one gate's pre-activation z = W_x* x_t + W_h* h_{t-1} + b_*,
   so that a gate can be studied on its own; and ``worked_example``, small
   hand-picked numbers for the chapter's worked example.
2. A hand-built LSTM cell, the *latch*: weights set by hand (no training) so
   that the cell stores a value when a "write" flag arrives, holds it with
   f_t close to 1 through distractors, shows it on a "read" flag, and then
   clears it (f_t < 0.1). ``latch_params``, ``latch_sequences``,
   ``latch_report``.
3. The forget-gate bias at initialisation: the distribution of f_t in a
   freshly initialised LSTM for a given constant b_f, the half-life it
   implies, the carry-line product of f over a gap, and the slider explorer's
   pure function ``forget_bias_view``.

Gates are named and ordered as everywhere in lstm_lib: ``LSTM_GATES`` =
(i, f, c, o), PyTorch's fused order, c being the candidate.
Layouts follow the reference: x (T, B, d), states (B, n), numpy float64.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch

from ..checks import check_array, check_in_range, check_ndim, check_positive_int
from ..jacobians import half_life, lstm_carry_product
from ..reference import LSTM_GATES, check_lstm_params, logit, lstm_forward, sigmoid
from ..viz.explorer import Control, Panel, Series, View, sliders
from ..weights import lstm_params_from_torch

# ------------------------------------------------------------- one gate

#: What each gate is: its name, symbol, activation and range of values.
GATE_INFO = {
    "i": {"name": "input gate", "symbol": "i_t", "activation": "sigmoid", "range": (0.0, 1.0)},
    "f": {"name": "forget gate", "symbol": "f_t", "activation": "sigmoid", "range": (0.0, 1.0)},
    "c": {"name": "candidate", "symbol": "c_tilde_t", "activation": "tanh", "range": (-1.0, 1.0)},
    "o": {"name": "output gate", "symbol": "o_t", "activation": "sigmoid", "range": (0.0, 1.0)},
}


def _check_gate(gate):
    if gate not in LSTM_GATES:
        raise ValueError(f"gate: expected one of {LSTM_GATES} (c is the candidate c_tilde), "
                         f"got {gate!r}")
    return gate


def gate_preactivation(params, gate, x_t, h_prev):
    """One gate's pre-activation z = W_x* x_t + W_h* h_{t-1} + b_*, batch form.

    params: the LSTM parameter dict (NOTATION's 12 names).
    gate:   "f", "i", "c" (the candidate) or "o".
    x_t:    (B, d) inputs at step t;  h_prev: (B, n) hidden state h_{t-1}.
    Returns z of shape (B, n), computed as ``x_t @ W_x*.T + h_prev @ W_h*.T + b_*``.
    The gate itself is sigmoid(z) for f, i, o and tanh(z) for the candidate.
    """
    _check_gate(gate)
    d, n = check_lstm_params(params)
    check_ndim(x_t, "x_t", (2,), "(B, d): one time step of a batch")
    check_array(x_t, "x_t", (None, d), ("B", "d"))
    check_array(h_prev, "h_prev", (x_t.shape[0], n), ("B", "n"))
    return x_t @ params[f"W_x{gate}"].T + h_prev @ params[f"W_h{gate}"].T + params[f"b_{gate}"]


def gate_activation(gate, z):
    """The gate's squashing function applied to z: tanh for "c", sigmoid otherwise."""
    _check_gate(gate)
    return np.tanh(z) if gate == "c" else sigmoid(z)


def worked_example() -> dict:
    """Small hand-picked numbers for the chapter's worked example (d = 2, n = 2, B = 1).

    Coordinate 1 of the memory is set up to *keep* (f_t near 1, little
    written), coordinate 2 to *erase and overwrite* (f_t near 0, i_t near 1).
    Returns {"params": dict of the 12 parameters, "x_t": (1, 2),
    "h_prev": (1, 2), "c_prev": (1, 2)}, all float64.
    """
    a = lambda rows: np.array(rows, dtype=np.float64)  # noqa: E731
    params = {
        "W_xf": a([[1.0, 0.5], [-1.0, 1.0]]), "W_hf": a([[0.5, 0.0], [0.0, 0.5]]),
        "b_f": a([1.5, -1.0]),
        "W_xi": a([[0.5, 0.0], [1.0, -1.0]]), "W_hi": a([[0.5, 0.0], [0.0, 0.5]]),
        "b_i": a([-2.0, 1.0]),
        "W_xc": a([[1.0, 1.0], [-1.0, 0.5]]), "W_hc": a([[0.0, 0.0], [0.0, 0.0]]),
        "b_c": a([0.0, 0.0]),
        "W_xo": a([[1.0, 0.0], [0.0, 1.0]]), "W_ho": a([[0.0, 0.0], [0.0, 0.0]]),
        "b_o": a([0.5, 0.0]),
    }
    return {"params": params, "x_t": a([[1.0, -0.5]]), "h_prev": a([[0.2, -0.4]]),
            "c_prev": a([[0.8, 0.6]])}


# ------------------------------------------------------ the hand-built latch

#: Coordinates of the latch's input x_t: a value channel and two flags.
LATCH_INPUTS = ("value", "write", "read")
#: Coordinates of the latch's state: the memory, and a unit that remembers
#: for exactly one step that a read has just happened.
LATCH_UNITS = ("memory", "just_read")
LATCH_GAIN = 10.0


def latch_params(gain: float = LATCH_GAIN) -> dict:
    """Hand-set weights of a two-unit LSTM cell that latches a value.

    Input x_t = (v_t, w_t, r_t): a value v_t in [-1, 1] at every step (only
    the one at the write step matters; the others are distractors), a write
    flag w_t and a read flag r_t in {0, 1}. With g = ``gain``:

    Unit 1, the memory::

        f_t = sigma(g - 2g w_t - (2g / tanh 1) h2_{t-1})   keep (~1); erase on a write and
                                                           on the step after a read
        i_t = sigma(-g + 2g w_t)                           write only on a write flag
        c~_t = tanh(v_t)                                   the value, squashed into (-1, 1)
        o_t = sigma(-g + 2g r_t)                           show only on a read flag

    Unit 2, "just read" (a one-step echo of the read flag)::

        f_t = sigma(-g),  i_t = sigma(g),  c~_t = tanh(g r_t),  o_t = sigma(g)

    so c2_t ~ r_t and h2_t ~ tanh(1) r_t; one step later it closes unit 1's
    forget gate (pre-activation g - 2g = -g). Every other weight is zero.
    sigma(g) = 1 - 4.5e-5 for g = 10: the gates are "open" and "closed" up to
    that margin. Returns the 12-parameter dict (d = 3, n = 2, float64).
    """
    check_in_range(gain, "gain", low=0.0, inclusive=False)
    g = float(gain)
    d, n = len(LATCH_INPUTS), len(LATCH_UNITS)
    p = {}
    for gate in LSTM_GATES:
        p[f"W_x{gate}"] = np.zeros((n, d))
        p[f"W_h{gate}"] = np.zeros((n, n))
        p[f"b_{gate}"] = np.zeros(n)
    V, W, R = range(d)          # input coordinates: value, write, read
    MEM, READ = range(n)        # units: memory, just_read
    # unit 1: the memory
    p["b_f"][MEM], p["W_xf"][MEM, W] = g, -2 * g
    p["W_hf"][MEM, READ] = -2 * g / math.tanh(1.0)
    p["b_i"][MEM], p["W_xi"][MEM, W] = -g, 2 * g
    p["W_xc"][MEM, V] = 1.0
    p["b_o"][MEM], p["W_xo"][MEM, R] = -g, 2 * g
    # unit 2: just read
    p["b_f"][READ] = -g
    p["b_i"][READ] = g
    p["W_xc"][READ, R] = g
    p["b_o"][READ] = g
    return p


def latch_sequences(num_sequences: int, T: int, seed: int = 0) -> dict:
    """Random test sequences for the latch: one write and one later read each.

    Every step carries a distractor value v_t ~ U(-1, 1) on the value channel.
    The write step is uniform over 0..T-3 and the read step uniform over the
    steps after it up to T-2 (0-based), so at least one step follows the read.
    Returns a dict: x (T, B, 3) float64, write (B,), read (B,) step indices
    (0-based), value (B,) the value at the write step.
    """
    B = check_positive_int(num_sequences, "num_sequences")
    T = check_positive_int(T, "T")
    if T < 3:
        raise ValueError(f"T: expected at least 3 steps (write, read, one after), got {T}")
    rng = np.random.default_rng(seed)
    x = np.zeros((T, B, len(LATCH_INPUTS)))
    x[:, :, 0] = rng.uniform(-1.0, 1.0, (T, B))
    write = rng.integers(0, T - 2, size=B)                   # 0..T-3
    read = write + 1 + (rng.random(B) * (T - 2 - write)).astype(int)   # write+1..T-2
    b = np.arange(B)
    x[write, b, 1] = 1.0
    x[read, b, 2] = 1.0
    return {"x": x, "write": write, "read": read, "value": x[write, b, 0].copy()}


def latch_example(T: int = 12, write: int = 3, read: int = 9, seed: int = 0) -> dict:
    """One staged sequence (B = 1) with the write and read at chosen 1-based steps.

    The values on the value channel are seeded distractors in [-1, 1].
    Returns the same dict as :func:`latch_sequences` (indices 0-based).
    """
    T = check_positive_int(T, "T")
    if not 1 <= write < read < T:
        raise ValueError(f"write, read: expected 1 <= write < read < T={T}, got {write}, {read}")
    rng = np.random.default_rng(seed)
    x = np.zeros((T, 1, len(LATCH_INPUTS)))
    x[:, 0, 0] = np.round(rng.uniform(-1.0, 1.0, T), 2)
    x[write - 1, 0, 1] = 1.0
    x[read - 1, 0, 2] = 1.0
    return {"x": x, "write": np.array([write - 1]), "read": np.array([read - 1]),
            "value": x[write - 1, :, 0].copy()}


def latch_release_target(value):
    """What a perfect latch shows at the read step: tanh(tanh(v)).

    The cell stores c = c_tilde = tanh(v) and shows h = o tanh(c) with o = 1.
    """
    return np.tanh(np.tanh(np.asarray(value, dtype=np.float64)))


def latch_decode(h):
    """Recover the stored value from the released h: v = artanh(artanh(h))."""
    return np.arctanh(np.arctanh(np.asarray(h, dtype=np.float64)))


def latch_report(params, seqs: dict) -> dict:
    """Run the latch through ``reference.lstm_forward`` and measure it.

    params: from :func:`latch_params`; seqs: from :func:`latch_sequences`.
    Returns a dict with the trace and, over all sequences (unit 1 = memory):

      released         (B,) h at the read step
      target           (B,) tanh(tanh(v)), what a perfect latch shows
      release_error    max |released - target|
      value_error      max |latch_decode(released) - v|
      stored_error     max |c at the read step - tanh(v)|
      min_f_hold       smallest f over the steps after the write up to the read
      max_f_write      largest f at the write steps (erase before storing)
      max_f_clear      largest f on the step after the read (erase after use)
      max_c_after      largest |c| after the clearing step
      max_h_quiet      largest |h| at every step except the read
    """
    x, write, read, value = seqs["x"], seqs["write"], seqs["read"], seqs["value"]
    trace = lstm_forward(params, x)
    T, B = x.shape[:2]
    b = np.arange(B)
    f, c, h = trace.f[:, :, 0], trace.c[:, :, 0], trace.h[:, :, 0]
    t = np.arange(T)[:, None]
    holding = (t > write) & (t <= read)
    after = t > read + 1
    quiet = t != read
    released = h[read, b]
    target = latch_release_target(value)
    return {
        "trace": trace,
        "released": released,
        "target": target,
        "release_error": float(np.max(np.abs(released - target))),
        "value_error": float(np.max(np.abs(latch_decode(released) - value))),
        "stored_error": float(np.max(np.abs(c[read, b] - np.tanh(value)))),
        "min_f_hold": float(np.min(f[holding])),
        "max_f_write": float(np.max(f[write, b])),
        "max_f_clear": float(np.max(f[read + 1, b])),
        "max_c_after": float(np.max(np.abs(c[after]))) if after.any() else 0.0,
        "max_h_quiet": float(np.max(np.abs(h[quiet]))),
    }


def latch_table(params, seqs: dict, b: int = 0, digits: int = 2) -> str:
    """The latch's inputs, gates and states over time for sequence ``b``, as text.

    One row per step (1-based): v, write, read, then unit 1's f, i, c_tilde,
    o, c, h and unit 2's h (column ``h2``), rounded to ``digits`` decimals (with -0.00 shown as 0.00).
    """
    trace = lstm_forward(params, seqs["x"][:, b:b + 1])
    cols = [("t", None), ("v", seqs["x"][:, b, 0]), ("write", seqs["x"][:, b, 1]),
            ("read", seqs["x"][:, b, 2]), ("f", trace.f[:, 0, 0]), ("i", trace.i[:, 0, 0]),
            ("c_tilde", trace.c_tilde[:, 0, 0]), ("o", trace.o[:, 0, 0]),
            ("c", trace.c[:, 0, 0]), ("h", trace.h[:, 0, 0]), ("h2", trace.h[:, 0, 1])]
    width = 8
    lines = ["".join(f"{name:>{width}}" for name, _ in cols)]
    for t in range(seqs["x"].shape[0]):
        cells = [f"{t + 1:>{width}d}"]
        for _, arr in cols[1:]:
            v = round(float(arr[t]), digits) + 0.0   # + 0.0 turns -0.0 into 0.0
            cells.append(f"{v:>{width}.{digits}f}")
        lines.append("".join(cells))
    return "\n".join(lines)


# ------------------------------------------------ the forget bias at init

BIAS_GRID = tuple(round(-2.0 + 0.25 * k, 2) for k in range(25))   # b_f = -2.00 .. 4.00
# The fresh LSTM whose forget gates the section measures: torch.nn.LSTM(8, 32) reading
# 50 steps of noise, 16 sequences.
FORGET_INIT_INPUT_SIZE = 8
FORGET_INIT_HIDDEN_SIZE = 32
FORGET_INIT_T = 50
FORGET_INIT_BATCH = 16
HIST_BINS = 25


def bias_for_half_life(steps):
    """The constant forget bias b_f whose gate sigma(b_f) has the given half-life.

    f = 2 ** (-1 / steps) has half-life ``steps`` (f ** steps = 1/2), so
    b_f = logit(f) (``reference.logit``). Inverse of ``half_life(sigmoid(b_f))``.
    """
    check_in_range(steps, "steps", low=0.0, inclusive=False)
    return logit(2.0 ** (-1.0 / float(steps)))


def init_inputs(T: int = FORGET_INIT_T, batch: int = FORGET_INIT_BATCH,
                input_size: int = FORGET_INIT_INPUT_SIZE,
                seed: int = 1):
    """Random inputs for a freshly initialised LSTM: x ~ N(0, 1), shape (T, batch, d)."""
    T = check_positive_int(T, "T")
    batch = check_positive_int(batch, "batch")
    input_size = check_positive_int(input_size, "input_size")
    return np.random.default_rng(seed).standard_normal((T, batch, input_size))


def forget_gates_at_init(params, x):
    """f_t of an LSTM with parameters ``params`` run on ``x`` from zero states: (T, B, n).

    A thin wrapper of ``reference.lstm_forward``, kept so the chapter can say
    in one call what it measures.
    """
    return lstm_forward(params, x).f


def torch_init_params(input_size: int = FORGET_INIT_INPUT_SIZE,
                      hidden_size: int = FORGET_INIT_HIDDEN_SIZE, seed: int = 0,
                      forget_bias=None) -> dict:
    """Per-gate parameters of a freshly constructed ``torch.nn.LSTM(input_size, hidden_size)``.

    PyTorch draws every weight and both bias vectors from U(-1/sqrt(n), 1/sqrt(n)),
    so the effective b_f = bias_ih[n:2n] + bias_hh[n:2n] is a sum of two such
    draws. With ``forget_bias`` set, b_f is that constant instead (what
    ``lstm_lib.LSTM(..., forget_bias=...)`` does), every other array unchanged.
    Seeded without touching torch's global random state. Numpy float64.
    """
    d = check_positive_int(input_size, "input_size")
    n = check_positive_int(hidden_size, "hidden_size")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        params = lstm_params_from_torch(torch.nn.LSTM(d, n))
    if forget_bias is not None:
        check_in_range(forget_bias, "forget_bias")
        params["b_f"] = np.full(n, float(forget_bias))
    return params


@functools.lru_cache(maxsize=None)
def _forget_stats(forget_bias):
    """f at init (flattened) and the median carry-line product, for one b_f (cached)."""
    params = torch_init_params(forget_bias=forget_bias)
    f = forget_gates_at_init(params, init_inputs())
    prod = np.median(lstm_carry_product(f).reshape(FORGET_INIT_T + 1, -1), axis=1)
    return f.ravel(), prod


def forget_init_stats(forget_bias) -> dict:
    """What a forget bias b_f does to the forget gate of a freshly initialised LSTM.

    The LSTM: ``torch.nn.LSTM(8, 32)`` as PyTorch initialises it (seed 0,
    ``torch_init_params``), with b_f set to the constant ``forget_bias`` in
    every coordinate; ``forget_bias=None`` keeps PyTorch's random default
    (bias_ih + bias_hh). Inputs x ~ N(0, 1), 50 steps, batch 16
    (``init_inputs()``), zero initial states; the gates are computed by
    ``reference.lstm_forward``.

    Returns a dict:
      f            (T*B*n,) every forget-gate value at init
      mean, q05, q95   mean and 5% / 95% quantiles of f
      sigma_b      sigma(b_f) (nan when forget_bias is None)
      half_life    half-life of a constant gate equal to the mean f, in steps
      gap          (T+1,) gaps k = 0..50
      prod         (T+1,) median over coordinates and sequences of
                   prod_{s=T-k+1}^{T} f_s, the carry-line gradient scale from c_T
                   back to c_{T-k}
      prod_const   (T+1,) sigma(b_f) ** k (the same for a constant gate)
    """
    if forget_bias is not None:
        check_in_range(forget_bias, "forget_bias")
        forget_bias = float(forget_bias)
    f, prod = _forget_stats(forget_bias)
    mean = float(np.mean(f))
    sb = float(sigmoid(np.float64(forget_bias))) if forget_bias is not None else float("nan")
    gap = np.arange(FORGET_INIT_T + 1)
    return {
        "f": f, "mean": mean, "q05": float(np.quantile(f, 0.05)),
        "q95": float(np.quantile(f, 0.95)), "sigma_b": sb, "half_life": half_life(mean),
        "gap": gap, "prod": prod.copy(),
        "prod_const": sb ** gap if forget_bias is not None else np.full(gap.shape, np.nan),
    }


def forget_histogram(f, bins: int = HIST_BINS):
    """Share of forget-gate values in each of ``bins`` equal bins over [0, 1].

    Returns (centres, shares), each (bins,); the shares sum to 1.
    """
    f = np.asarray(f, dtype=np.float64).ravel()
    counts, edges = np.histogram(f, bins=bins, range=(0.0, 1.0))
    return 0.5 * (edges[:-1] + edges[1:]), counts / f.size


@sliders(Control("forget_bias", "forget bias b_f", BIAS_GRID, initial=1.0, fmt="{:.2f}"))
def forget_bias_view(forget_bias):
    """Explorer frame: the forget gate of a fresh LSTM with a constant forget bias b_f.

    Left: histogram of f_t at init for this b_f, beside the one for b_f drawn
    like PyTorch's default (mean near 0.5). Right: the median carry-line
    gradient scale prod f over a gap k (log scale), with sigma(b_f) ** k
    dashed. The readout gives the mean f, the half-life it implies and the
    product over the 50-step gap.
    """
    s = forget_init_stats(forget_bias)
    d = forget_init_stats(None)
    x, share = forget_histogram(s["f"])
    _, share_d = forget_histogram(d["f"])
    hist = Panel([Series(x, share, f"b_f = {forget_bias:.2f}", kind="bar", color=1),
                  Series(x, share_d, "PyTorch default", kind="bar", color=0)],
                 title="Forget gate f_t at initialisation", xlabel="f_t",
                 ylabel="share of gate values", xlim=(0.0, 1.0), ylim=(0.0, 1.0))
    floor = 1e-20
    prod = Panel([Series(s["gap"], np.maximum(s["prod"], floor), "∏f, this b_f",
                         style="solid", color=1),
                  Series(s["gap"], np.maximum(s["prod_const"], floor), "σ(b_f)^k",
                         style="dashed", color=2),
                  Series(d["gap"], np.maximum(d["prod"], floor), "∏f, PyTorch default",
                         style="dotted", color=0)],
                 title="Carry-line gradient scale over a gap", xlabel="gap k",
                 ylabel="median ∏f", logy=True, ylim=(floor, 2.0),
                 hlines=((0.5, "one half"),))
    text = (f"b_f = {forget_bias:.2f}: at initialisation f has mean {s['mean']:.2f} "
            f"(90% of values in {s['q05']:.2f} to {s['q95']:.2f}), a half-life of "
            f"{s['half_life']:.3g} steps, and a median ∏f over {FORGET_INIT_T} steps of "
            f"{s['prod'][-1]:.2g}; PyTorch's default gives mean {d['mean']:.2f} and "
            f"{d['prod'][-1]:.2g}.")
    return View([hist, prod], text)
