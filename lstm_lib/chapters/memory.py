"""Chapter 2: the cell state, a memory you add to.

Three memories, from the most naive to the modern one, each a loop of one line
over time steps t = 1..T (row ``t - 1`` of a time-major array):

* the additive memory        c_t = c_{t-1} + delta_t                  (Jacobian I)
* the 1997 carousel (CEC)    c_t = c_{t-1} + i_t * c_tilde_t          (no forget gate)
* the forget-gated memory    c_t = f_t * c_{t-1} + i_t * c_tilde_t    (Jacobian diag(f_t))

``*`` is the element-wise product. Here the gates f, i and the candidate
c_tilde are *given* arrays: this module studies the memory line alone, before
Chapter 3 computes the gates from x_t and h_{t-1}.

Sequences are time-major and batched, shape (T, B, n); states have shape
(B, n). Every memory function accepts numpy arrays or torch tensors (so that
torch autograd can differentiate the library's own loop) and returns the same
kind it was given.

Along the carry line the gradient from c_T back to c_{T-k} is the diagonal
matrix diag(f_T * ... * f_{T-k+1}); ``lstm_lib.jacobians.lstm_carry_product``
returns those products for every gap k, and the explorers below plot them.
The chapter quotes two closed forms for a constant gate f: its half-life
(``lstm_lib.jacobians.half_life``) and ``memory_bound``.

The two slider explorers of the chapter are at the end: ``constant_forget_view``
(one f for every step) and ``reset_forget_view`` (a holding value and one
erasing step). Each is a pure function of its control values returning an
``lstm_lib.viz.explorer.View``.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..checks import check_array, check_in_range, check_ndim, check_positive_int, is_tensor
from ..jacobians import half_life, lstm_carry_product
from ..viz.explorer import Control, Panel, Series, View, sliders
from ..viz.grids import FORGET_GRID, GATE_GRID


# ----------------------------------------------------------------- helpers

def _check_sequence(x, name: str, like=None):
    """A (T, B, n) floating, finite sequence; with ``like``, the same shape and kind."""
    check_array(x, name)
    check_ndim(x, name, (3,), "(T, B, n), time-major")
    if like is not None:
        if is_tensor(x) != is_tensor(like):
            raise TypeError(f"{name}: expected the same kind of array as the other "
                            f"inputs ({type(like).__name__}), got {type(x).__name__}")
        if tuple(x.shape) != tuple(like.shape):
            raise ValueError(f"{name}: expected shape (T, B, n)={tuple(like.shape)}, "
                             f"got {tuple(x.shape)}")
    return x


def _initial_state(c0, like):
    """c_0 of shape (B, n); zeros of ``like``'s kind and dtype when None."""
    B, n = like.shape[1], like.shape[2]
    if c0 is None:
        if is_tensor(like):
            return torch.zeros((B, n), dtype=like.dtype, device=like.device)
        return np.zeros((B, n), dtype=like.dtype)
    check_array(c0, "c0", (B, n), ("B", "n"))
    if is_tensor(c0) != is_tensor(like):
        raise TypeError(f"c0: expected a {type(like).__name__} like the sequence, "
                        f"got {type(c0).__name__}")
    return c0


def _stack(rows, like):
    return torch.stack(rows) if is_tensor(like) else np.stack(rows)


# ------------------------------------------------------------- the memories

def additive_memory(delta, c0=None):
    """The purely additive memory: c_t = c_{t-1} + delta_t for t = 1..T.

    delta: (T, B, n) increments delta_t (whatever the cell decides to add).
    c0:    (B, n) initial memory c_0 (zeros if None).
    Returns c of shape (T, B, n), row t - 1 holding c_t.

    The increment does not read c_{t-1}, so dc_t/dc_{t-1} = I at every step.
    """
    _check_sequence(delta, "delta")
    c = _initial_state(c0, delta)
    out = []
    for t in range(delta.shape[0]):
        c = c + delta[t]
        out.append(c)
    return _stack(out, delta)


def cec_memory(i, c_tilde, c0=None):
    """The 1997 constant error carousel: c_t = c_{t-1} + i_t * c_tilde_t.

    i:       (T, B, n) input-gate values i_t, in [0, 1].
    c_tilde: (T, B, n) candidate values c_tilde_t, in [-1, 1].
    c0:      (B, n) initial memory (zeros if None).
    Returns c of shape (T, B, n).

    This is the additive memory with the write delta_t = i_t * c_tilde_t; there
    is no forget gate (Hochreiter and Schmidhuber, 1997).
    """
    _check_sequence(i, "i")
    _check_sequence(c_tilde, "c_tilde", like=i)
    return additive_memory(i * c_tilde, c0)


def forget_memory(f, i, c_tilde, c0=None):
    """The forget-gated memory: c_t = f_t * c_{t-1} + i_t * c_tilde_t.

    f:       (T, B, n) forget-gate values f_t, in [0, 1] (near 1 means keep).
    i:       (T, B, n) input-gate values i_t.
    c_tilde: (T, B, n) candidate values c_tilde_t.
    c0:      (B, n) initial memory (zeros if None).
    Returns c of shape (T, B, n).

    With f_t = 1 at every step this is ``cec_memory``; dc_t/dc_{t-1} = diag(f_t).
    """
    _check_sequence(f, "f")
    _check_sequence(i, "i", like=f)
    _check_sequence(c_tilde, "c_tilde", like=f)
    c = _initial_state(c0, f)
    out = []
    for t in range(f.shape[0]):
        c = f[t] * c + i[t] * c_tilde[t]
        out.append(c)
    return _stack(out, f)


# ------------------------------------------------------------- closed forms

def memory_bound(f, max_write, c0_abs=0.0):
    """Bound on |c_t| for a constant forget gate f < 1 and writes |i_t c_tilde_t| <= max_write.

    Unrolling c_t = f c_{t-1} + w_t gives c_t = f**t c_0 + sum_s f**(t-s) w_s, so
        |c_t| <= f**t |c_0| + max_write (1 - f**t) / (1 - f)
             <= max(|c_0|, max_write / (1 - f)).
    With c_0 = 0 (the default) the bound is max_write / (1 - f), for every t.
    """
    check_in_range(f, "f", 0.0, 1.0)
    if f == 1.0:
        raise ValueError("f: expected a value in [0, 1): with f = 1 the memory "
                         "is purely additive and |c_t| has no bound")
    check_in_range(max_write, "max_write", 0.0)
    check_in_range(c0_abs, "c0_abs", 0.0)
    return max(float(c0_abs), float(max_write) / (1.0 - float(f)))


# ---------------------------------------------------------- a stream of writes

def random_writes(T, batch, hidden_size, candidate_mean=0.0, seed=0):
    """A seeded stream of gate values for a memory that only writes.

    i_t       = sigmoid(z_i),                  z_i ~ N(0, 1)
    c_tilde_t = tanh(candidate_mean + z_c),    z_c ~ N(0, 1)

    Returns (i, c_tilde), each (T, batch, hidden_size) float64. With
    candidate_mean = 0 the writes i_t * c_tilde_t have random signs and mean 0;
    a positive candidate_mean biases them upward. These stand in for what a
    trained cell would compute from x_t and h_{t-1} (Chapter 3).
    """
    T = check_positive_int(T, "T")
    batch = check_positive_int(batch, "batch")
    hidden_size = check_positive_int(hidden_size, "hidden_size")
    check_in_range(candidate_mean, "candidate_mean")
    rng = np.random.default_rng(seed)
    shape = (T, batch, hidden_size)
    z_i = rng.standard_normal(shape)
    z_c = rng.standard_normal(shape)
    i = 0.5 * (1.0 + np.tanh(0.5 * z_i))  # sigmoid, written with tanh for stability
    c_tilde = np.tanh(candidate_mean + z_c)
    return i, c_tilde


def rms_norm_by_step(c):
    """Root-mean-square size of the memory at each step: sqrt(mean_{b,j} c_t[b, j]**2).

    c: (T, B, n). Returns (T,) numpy float64. For i.i.d. zero-mean writes this
    grows like sqrt(t) in a purely additive memory.
    """
    _check_sequence(c, "c")
    c = np.asarray(c, dtype=np.float64)
    return np.sqrt(np.mean(c * c, axis=(1, 2)))


def growth_exponent(t, size):
    """Least-squares fit of size ~ a * t**p on log-log axes; returns (p, a).

    t, size: 1-D arrays of the same length, both positive.
    """
    t = np.asarray(t, dtype=np.float64)
    size = np.asarray(size, dtype=np.float64)
    check_ndim(t, "t", (1,))
    if size.shape != t.shape:
        raise ValueError(f"size: expected shape {t.shape} like t, got {size.shape}")
    if t.size < 2 or np.any(t <= 0) or np.any(size <= 0):
        raise ValueError("t, size: expected at least two positive values each")
    p, log_a = np.polyfit(np.log(t), np.log(size), 1)
    return float(p), float(math.exp(log_a))


# -------------------------------------------------------------- the explorers

# The sliders: a constant forget gate over FORGET_GRID (0.50 to 1.00, finer near 1), and
# the single erasing step of ``reset_forget_view`` over GATE_GRID (0 erase, to 1 keep).

CONSTANT_T = 100        # steps in the constant-gate explorer
CONSTANT_YLIM = (-4.5, 4.5)  # fixed, so frames compare by eye (|c_t| < 3.7 on every frame)
RESET_T = 40            # steps in the reset explorer
RESET_STEP = 20         # the step whose forget gate the reset slider sets
FIRST_WRITE = 1.0       # value written at step 1 in the reset explorer
SECOND_WRITE = -0.5     # value written right after the reset step


def constant_forget_stream(f, T=CONSTANT_T, seed=0):
    """Memory trace and gradient scale for one memory coordinate with a constant gate f.

    Step 1 writes w_1 = 1 (i_1 = 1, c_tilde_1 = 1: a value worth keeping); the
    later writes w_t = i_t * c_tilde_t come from ``random_writes(T, 1, 1,
    seed=seed)``, so |w_t| < 1. None of them depends on f. Returns a dict of
    numpy arrays:
      t           (T,)   steps 1..T
      c           (T,)   c_t = f c_{t-1} + w_t, c_0 = 0
      w           (T,)   the writes w_t = i_t * c_tilde_t (w_1 = 1)
      first_write (T,)   what is left of the step-1 write: f**(t-1) w_1
      gap         (T+1,) gaps k = 0..T
      scale       (T+1,) carry-line gradient scale f**k from c_T back to c_{T-k}
      max_write   ()     max_t |w_t|
    """
    check_in_range(f, "f", 0.0, 1.0)
    i, c_tilde = random_writes(T, 1, 1, seed=seed)
    i[0], c_tilde[0] = 1.0, 1.0
    f_seq = np.full((T, 1, 1), float(f))
    c = forget_memory(f_seq, i, c_tilde)[:, 0, 0]
    w = (i * c_tilde)[:, 0, 0]
    t = np.arange(1, T + 1)
    return {
        "t": t,
        "c": c,
        "w": w,
        "first_write": w[0] * float(f) ** (t - 1),
        "gap": np.arange(T + 1),
        "scale": lstm_carry_product(f_seq)[:, 0, 0],
        "max_write": float(np.max(np.abs(w))),
    }


@sliders(Control("f", "forget gate f", FORGET_GRID, initial=0.90, fmt="{:g}"))
def constant_forget_view(f):
    """Explorer frame: the memory trace c_t and the gradient scale f**k for a constant f.

    Left panel: c_t of one coordinate over 100 steps of random writes, the
    share of the first write that is left, and the bound +-max|w| / (1 - f).
    Right panel: the carry-line gradient scale f**k against the gap k (log
    scale), with the level 1/2 that the half-life crosses.
    """
    s = constant_forget_stream(f)
    memory_series = [
        Series(s["t"], s["c"], "memory c_t", style="solid", color=0),
        Series(s["t"], s["first_write"], "left of the step-1 write", style="dashed", color=1),
    ]
    hlines = ()
    if f < 1.0:
        bound = memory_bound(f, s["max_write"])
        hlines = ((bound, "bound max|w|/(1-f)"), (-bound, ""))
    memory = Panel(memory_series, title=f"Memory trace, f = {f:g}", xlabel="step t",
                   ylabel="c_t", ylim=CONSTANT_YLIM, hlines=hlines)
    floor = 1e-12  # below it the line stops (NaN): the axis ends there
    gradient = Panel([Series(s["gap"], np.where(s["scale"] >= floor, s["scale"], np.nan),
                             "∏f = f^k", style="solid", marker=None, color=2)],
                     title="Gradient scale along the carry line", xlabel="gap k",
                     ylabel="∂c_T / ∂c_(T−k)", logy=True,
                     ylim=(floor, 2.0), hlines=((0.5, "one half"),))
    hl = half_life(f) if f > 0 else 0.0
    if math.isinf(hl):
        hl_text = "infinite (nothing fades)"
    else:
        hl_text = f"{hl:.3g} step" + ("" if f"{hl:.3g}" == "1" else "s")
    bound_text = ("no bound: |c| grows with t" if f == 1.0
                  else f"|c| stays within {memory_bound(f, s['max_write']):.3g}")
    text = (f"Constant forget gate f = {f:g}: half-life {hl_text}; gradient scale over "
            f"the {CONSTANT_T}-step gap {s['scale'][-1]:.3g}; largest |c| "
            f"{np.max(np.abs(s['c'])):.3g}, {bound_text}.")
    return View([memory, gradient], text)


def reset_forget_gates(f_hold, f_reset, T=RESET_T, reset_step=RESET_STEP):
    """Per-step forget gates: f_t = f_hold at every step except f_{reset_step} = f_reset.

    Returns f of shape (T,) (numpy float64).
    """
    check_in_range(f_hold, "f_hold", 0.0, 1.0)
    check_in_range(f_reset, "f_reset", 0.0, 1.0)
    T = check_positive_int(T, "T")
    if not 1 <= reset_step <= T:
        raise ValueError(f"reset_step: expected a step in [1, {T}], got {reset_step!r}")
    f = np.full(T, float(f_hold))
    f[reset_step - 1] = float(f_reset)
    return f


def reset_forget_stream(f_hold, f_reset, T=RESET_T, reset_step=RESET_STEP):
    """Memory trace and gradient scale when one step's forget gate is set apart.

    Writes: FIRST_WRITE at step 1, SECOND_WRITE at step reset_step + 1, nothing
    else (i_t c_tilde_t = 0). Forget gates from ``reset_forget_gates``.
    Returns a dict of numpy arrays:
      t       (T,)    steps 1..T
      f       (T,)    f_t
      w       (T,)    the writes w_t = i_t * c_tilde_t
      c       (T,)    c_t = f_t c_{t-1} + w_t, c_0 = 0
      scale   (T,)    dc_T/dc_t = prod_{s=t+1}^{T} f_s, for t = 1..T
    """
    f = reset_forget_gates(f_hold, f_reset, T, reset_step)
    w = np.zeros(T)
    w[0] = FIRST_WRITE
    if reset_step < T:
        w[reset_step] = SECOND_WRITE
    ones = np.ones((T, 1, 1))
    c = forget_memory(f.reshape(T, 1, 1), ones, w.reshape(T, 1, 1))[:, 0, 0]
    g = lstm_carry_product(f)                 # g[k] = f_T ... f_{T-k+1}: back to c_{T-k}
    scale = g[T - np.arange(1, T + 1)]        # dc_T/dc_t = g[T - t]
    return {"t": np.arange(1, T + 1), "f": f, "w": w, "c": c, "scale": scale}


@sliders(Control("f_hold", "forget gate while holding", FORGET_GRID, initial=0.99, fmt="{:g}"),
         Control("f_reset", f"forget gate at step {RESET_STEP}", GATE_GRID, initial=0.0,
                 fmt="{:.2f}"))
def reset_forget_view(f_hold, f_reset):
    """Explorer frame: a held memory, one step whose forget gate can erase it.

    A value 1 (FIRST_WRITE) is written at step 1 and held with f_hold; at step
    RESET_STEP = 20 the forget gate is f_reset; at step 21 the value -0.5
    (SECOND_WRITE) is written and held. Left panel: c_t. Right panel:
    dc_T/dc_t = prod of f_s over s = t+1..T (T = RESET_T = 40), on a linear
    scale, so a closed gate shows as a drop to 0.
    """
    s = reset_forget_stream(f_hold, f_reset)
    T, r = RESET_T, RESET_STEP
    memory = Panel([Series(s["t"], s["c"], "memory c_t", style="solid", color=0)],
                   title=f"Memory trace, f = {f_hold:g}, f at step {r} = {f_reset:g}",
                   xlabel="step t", ylabel="c_t", ylim=(-1.1, 1.6),
                   hlines=((SECOND_WRITE, "the new value"),))
    gradient = Panel([Series(s["t"], s["scale"], f"∂c_{T} / ∂c_t",
                             style="dashed", color=1)],
                     title=f"Gradient scale from step {T} back to step t",
                     xlabel="step t", ylabel="∏f", ylim=(-0.05, 1.05))
    before = s["c"][r - 2]
    text = (f"Holding with f = {f_hold:g} and f = {f_reset:g} at step {r}: the first value "
            f"is {before:.3g} just before step {r}, the memory ends at {s['c'][-1]:.3g} "
            f"(the new value alone would give {SECOND_WRITE * f_hold ** (T - r - 1):.3g}), "
            f"and the gradient from step {T} back to step 1 is scaled by {s['scale'][0]:.3g}.")
    return View([memory, gradient], text)
