"""Chapter 5: the gradient in the LSTM, measured.

The carry line. Inside one step the gates read x_t and h_{t-1}, never c_{t-1},
so with h_{t-1} held fixed dc_t/dc_{t-1} = diag(f_t) (``jacobians.lstm_carry_jacobian``),
and over a gap the carry line alone gives diag(prod_s f_s)
(``jacobians.lstm_carry_product``).

The two tracks. For a loss L at the last step T, write delta c_t for the
*total* gradient dL/dc_t (every path from c_t to L, the one that
``c_t.retain_grad()`` gives in PyTorch). It splits exactly into::

    delta c_t = diag(f_{t+1} ... f_T) delta c_T        the carry line: never leaves c
              + hidden_t                               paths that never take a carry
                                                       edge c_{s-1} -> c_s
              + mixed_t                                paths that use both tracks

:func:`two_track` computes the parts for every gap k = T - t by walking the
2n x 2n state Jacobians d(c_t, h_t)/d(c_{t-1}, h_{t-1}) of
``jacobians.lstm_state_jacobian`` backwards; :meth:`TwoTrack.summary` turns
them into the numbers the chapter plots (norms, the ratio of the rest to the
carry line, the cosine between them, and each part's share of the gradient).

Also here: the RNN's gradient by gap (:func:`rnn_gradient_by_gap`); a cell
whose forget gates are set to chosen values (:func:`forced_forget_lstm`) and
the slider explorer's pure function built on it (:func:`forget_slider_view`);
the 1997 cell without a forget gate
(:func:`no_forget_params`); a cell with a gradient cliff that shows why
clipping is still needed (:func:`cliff_lstm_params`, :func:`sign_memory_batch`,
:func:`sgd_run`); and the chapter's experiment on the lab's models and task
(:func:`measure_by_gap`, :func:`gap_study`).

Arrays are numpy float64, time-major, batched: x (T, B, d), states (B, n).
Arrays over gaps follow lstm_lib's one convention (:mod:`lstm_lib.jacobians`):
row k is gap k; gap 0 is the last step, gap T the initial state (c0, h0).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..checks import check_array, check_in_range, check_ndim, check_positive_int
from ..jacobians import lstm_carry_product, lstm_state_jacobians, rnn_step_jacobian
from ..lab.tasks import adding_problem
from ..lab.train import make_model, mse_loss, train
from ..reference import (LSTM_PARAM_NAMES, check_lstm_params, check_lstm_trace,
                         check_rnn_trace, check_state, clip_by_norm, global_norm,
                         init_lstm_params, logit, lstm_backward, lstm_forward,
                         lstm_param_shapes, rnn_forward, sigmoid)
from ..viz.explorer import Control, Panel, Series, View, sliders
from ..viz.grids import FORGET_GRID, GATE_GRID
from ..weights import lstm_params_from_torch, rnn_params_from_torch

#: A pre-activation this large gives sigma(z) == 1.0 exactly in float64
#: (exp(-40) < 2**-53); its negative gives 4e-18, zero for every purpose here.
#: A gate set to exactly 1 or 0 gets the pre-activation ``np.clip(logit(p), -SATURATE,
#: SATURATE)``: ``reference.logit`` itself maps 1 and 0 to +inf and -inf.
SATURATE = 40.0


# ----------------------------------------------------------------------------
# the two tracks
# ----------------------------------------------------------------------------

@dataclass(eq=False)
class TwoTrack:
    """The gradient reaching each cell state, split by the paths it took.

    Every array has shape (T + 1, B, n) and is indexed by the gap k: row k
    belongs to step T - k (row T to the initial state c0, h0).

    dc      total dL/dc_{T-k}: every path from that cell state to the loss
    dh      dL/dh_{T-k}: the gradient on the hidden state (paths through the
            gates of the next step, plus the loss itself at k = 0)
    carry   diag(f_{T-k+1} ... f_T) dc[0]: the paths that never leave the cell state
    rest    dc - carry: the paths that pass through at least one hidden state
    hidden  the part of ``rest`` whose paths never take a carry edge
            c_{s-1} -> c_s at all: the hidden-state track alone
    mixed   rest - hidden: paths that use both tracks
    """
    dc: np.ndarray
    dh: np.ndarray
    carry: np.ndarray
    rest: np.ndarray
    hidden: np.ndarray
    mixed: np.ndarray

    @property
    def gaps(self) -> np.ndarray:
        """The gaps k = 0..T."""
        return np.arange(self.dc.shape[0])

    def summary(self) -> dict:
        """Per-gap numbers, each an array of shape (T + 1,).

        dc_norm, dh_norm, carry_norm, rest_norm, hidden_norm, mixed_norm
                  batch means of the per-example Euclidean norms
        ratio     rest_norm / carry_norm (inf where the carry part is exactly 0)
        cosine    batch mean of cos(carry, rest) per example (0 where a part is 0)
        share, hidden_share, mixed_share
                  each part's share of the gradient, <part, dc> / <dc, dc>, summed
                  over the batch; the carry line's ``share`` and the rest's
                  1 - share add up to 1, and so do share + hidden_share +
                  mixed_share. A share can leave [0, 1] when parts point
                  against each other.
        """
        norm = lambda a: np.linalg.norm(a, axis=-1)          # (T+1, B)
        cn, rn = norm(self.carry), norm(self.rest)
        dot = np.sum(self.carry * self.rest, axis=-1)
        full = np.sum(self.dc * self.dc, axis=(1, 2))
        with np.errstate(divide="ignore", invalid="ignore"):
            cos = np.where((cn > 0) & (rn > 0), dot / (cn * rn), 0.0)
            ratio = np.where(cn.mean(1) > 0, rn.mean(1) / cn.mean(1), np.inf)
            share = lambda part: np.where(full > 0, np.sum(part * self.dc, axis=(1, 2)) / full,
                                          np.nan)
            return {
                "gap": self.gaps,
                "dc_norm": norm(self.dc).mean(1),
                "dh_norm": norm(self.dh).mean(1),
                "carry_norm": cn.mean(1),
                "rest_norm": rn.mean(1),
                "hidden_norm": norm(self.hidden).mean(1),
                "mixed_norm": norm(self.mixed).mean(1),
                "ratio": ratio,
                "cosine": cos.mean(1),
                "share": share(self.carry),
                "hidden_share": share(self.hidden),
                "mixed_share": share(self.mixed),
            }


def two_track(params, trace, dh_T=None, dc_T=None) -> TwoTrack:
    """Split the gradient of a loss at the last step by the paths it takes back.

    params: LSTM parameter dict; trace: ``reference.lstm_forward(params, x)``.
    dh_T, dc_T (B, n): the loss's gradient on the final h_T and c_T (either
    may be None, meaning zero; not both).

    Walking back from the last step, with delta = (dL/dc_s, dL/dh_s) the
    gradient on the state pair as the next step reads it::

        delta_{s-1}  = J_s^T delta_s          J_s = d(c_s, h_s)/d(c_{s-1}, h_{s-1})
        dL/dc_s      = delta_c + o_s (1 - tanh^2 c_s) delta_h     total, via h_s too

    The carry part is ``lstm_carry_product(trace.f)[k] * dc[0]``; the rest is
    what remains. The hidden-state track repeats the walk with the carry edges
    removed: J_s with its c_{s-1} columns zeroed (the blocks diag(f_s) and
    dh_s/dc_{s-1} = diag(o_s (1 - tanh^2 c_s)) diag(f_s), both through the
    carry edge). Returns a :class:`TwoTrack`.
    """
    T, B, d, n = check_lstm_trace(params, trace)
    if dh_T is None and dc_T is None:
        raise ValueError("no upstream gradient: give dh_T (B, n), dc_T (B, n) or both")
    dh_T = check_state(dh_T, "dh_T", B, n)
    dc_T = check_state(dc_T, "dc_T", B, n)
    jacobians = lstm_state_jacobians(params, trace)         # (T, B, 2n, 2n)

    dc, dh, hidden = (np.empty((T + 1, B, n)) for _ in range(3))
    delta = np.concatenate([dc_T, dh_T], axis=1)            # (B, 2n) on (c, h) at step T
    delta_h = delta.copy()                                  # the same, hidden track only
    for k in range(T + 1):
        s = T - 1 - k                                       # state index; -1 is (c0, h0)
        if s >= 0:                                          # c_s also reaches L through h_s
            via_h = trace.o[s] * (1.0 - np.tanh(trace.c[s]) ** 2)
            dc[k] = delta[:, :n] + via_h * delta[:, n:]
            hidden[k] = delta_h[:, :n] + via_h * delta_h[:, n:]
        else:                                               # h0 is given, not computed from c0
            dc[k] = delta[:, :n]
            hidden[k] = delta_h[:, :n]
        dh[k] = delta[:, n:]
        if s >= 0:
            J = jacobians[s]
            delta = np.stack([J[b].T @ delta[b] for b in range(B)])
            delta_h = np.stack([J[b][:, n:].T @ delta_h[b] for b in range(B)])
            delta_h = np.concatenate([np.zeros((B, n)), delta_h], axis=1)
    carry = lstm_carry_product(np.asarray(trace.f, dtype=np.float64)) * dc[0]
    hidden[0] = 0.0                                         # at gap 0 every path is "carry"
    rest = dc - carry
    return TwoTrack(dc=dc, dh=dh, carry=carry, rest=rest, hidden=hidden, mixed=rest - hidden)


def rnn_gradient_by_gap(params, trace, dh_T) -> np.ndarray:
    """dL/dh_{T-k} for k = 0..T for a tanh RNN and a loss at the last step.

    dh_T (B, n) is the loss's gradient on the final state. Walks back with the
    transposed step Jacobians J_s = diag(1 - h_s^2) W_hh
    (``jacobians.rnn_step_jacobian``). Returns (T + 1, B, n); row T is dL/dh0.
    """
    T, B, d, n = check_rnn_trace(params, trace)
    dh_T = check_state(dh_T, "dh_T", B, n)
    out = np.empty((T + 1, B, n))
    out[0] = dh_T
    for k in range(1, T + 1):
        s = T - k                                           # the step being crossed
        out[k] = np.stack([rnn_step_jacobian(trace.h[s, b], params["W_hh"]).T @ out[k - 1, b]
                           for b in range(B)])
    return out


def readout_gradient(h_T, weight, bias, y) -> np.ndarray:
    """dL/dh_T for a linear read-out and the mean squared error.

    L = mean_b (h_T[b] . weight + bias - y[b])^2, so
    dL/dh_T[b] = 2 (h_T[b] . weight + bias - y[b]) weight / B.

    h_T (B, n), weight (n,), bias a number, y (B,). Returns (B, n).
    """
    check_ndim(np.asarray(h_T), "h_T", (2,), "(B, n)")
    B, n = h_T.shape
    check_array(h_T, "h_T", (B, n), ("B", "n"))
    check_array(weight, "weight", (n,), ("n",))
    check_array(y, "y", (B,), ("B",))
    check_in_range(float(bias), "bias")
    err = h_T @ weight + float(bias) - y
    return (2.0 / B) * err[:, None] * weight[None, :]


# ----------------------------------------------------------------------------
# a cell with chosen forget gates
# ----------------------------------------------------------------------------

def forced_forget_lstm(forget, data_size: int = 2, batch: int = 1, seed: int = 0):
    """An LSTM whose forget gates take exactly the values ``forget``, and its input.

    forget (T, n): f_t for every step and coordinate, in [0, 1].

    The input x_t has d = T + data_size channels: a one-hot clock e_t (channel
    t is 1 at step t) followed by ``data_size`` random channels (seeded,
    standard normal). The forget gate reads only the clock:
    W_xf = [logit(forget)^T, 0], W_hf = 0, b_f = 0, so
    f_t = sigma(logit(forget[t])) = forget[t] (values 1 and 0 map to
    pre-activations clipped to +-SATURATE: exactly 1.0, and 4e-18). Every other parameter is
    random, drawn like PyTorch (``reference.init_lstm_params``), so the input
    gate, candidate and output gate still read h_{t-1}.

    Returns (params, x) with x of shape (T, batch, T + data_size).
    """
    forget = np.asarray(forget, dtype=np.float64)
    check_ndim(forget, "forget", (2,), "(T, n): one value per step and coordinate")
    T, n = forget.shape
    check_positive_int(T, "T")
    check_positive_int(n, "n")
    data_size = check_positive_int(data_size, "data_size")
    batch = check_positive_int(batch, "batch")
    z = np.clip(logit(forget), -SATURATE, SATURATE)
    d = T + data_size
    params = init_lstm_params(d, n, seed=seed)
    params["W_xf"] = np.concatenate([z.T, np.zeros((n, data_size))], axis=1)
    params["W_hf"] = np.zeros((n, n))
    params["b_f"] = np.zeros(n)
    rng = np.random.default_rng(seed + 1)
    x = np.zeros((T, batch, d))
    x[np.arange(T), :, np.arange(T)] = 1.0
    x[:, :, T:] = rng.standard_normal((T, batch, data_size))
    return params, x


def no_forget_params(params) -> dict:
    """The same cell with its forget gate held open: f_t = 1 exactly, at every step.

    Sets W_xf = W_hf = 0 and b_f = SATURATE (sigma(40) == 1.0 in float64), so
    c_t = c_{t-1} + i_t * c_tilde_t: the 1997 cell's additive update (the
    constant error carousel). Only the missing forget gate is simulated; the
    1997 cell also truncated the gradient through the gates' recurrent
    inputs, which this cell does not. Returns a new dict.
    """
    d, n = check_lstm_params(params)
    out = {k: np.array(v, dtype=np.float64, copy=True) for k, v in params.items()}
    out["W_xf"] = np.zeros((n, d))
    out["W_hf"] = np.zeros((n, n))
    out["b_f"] = np.full(n, SATURATE)
    return out


# ----------------------------------------------------------------------------
# the explorer: forget-gate sliders over a real cell
# ----------------------------------------------------------------------------

SLIDER_T = 20          # steps in the explorer's cell
SLIDER_N = 4           # cell size: coordinates 0, 1 held with f_keep; 2, 3 also cut
SLIDER_CUT_GAP = 10    # the gap k whose step has forget gate f_cut on coordinates 2, 3
SLIDER_SEED = 3
_FLOOR = 1e-6          # the explorer's log axes start here


def slider_forget_gates(f_keep, f_cut):
    """The explorer's forget gates, shape (SLIDER_T, SLIDER_N).

    Every step and coordinate has f = f_keep, except the step at gap
    SLIDER_CUT_GAP (row SLIDER_T - SLIDER_CUT_GAP) on coordinates 2 and 3,
    where f = f_cut.
    """
    check_in_range(f_keep, "f_keep", 0.0, 1.0)
    check_in_range(f_cut, "f_cut", 0.0, 1.0)
    f = np.full((SLIDER_T, SLIDER_N), float(f_keep))
    f[SLIDER_T - SLIDER_CUT_GAP, 2:] = float(f_cut)
    return f


def forget_slider_data(f_keep, f_cut) -> dict:
    """What the explorer shows, as arrays over the gaps k = 0..SLIDER_T.

    The cell is :func:`forced_forget_lstm` with :func:`slider_forget_gates`;
    the loss is L = sum_j c_{T,j} (so dL/dc_T = 1 in every coordinate).
    Returns gap (T+1,), f (T, n) the realised gates, and
    product_keep, product_cut   prod f on coordinates 0 and 2: the carry line
    grad_keep, grad_cut         |dL/dc_{T-k}| on coordinates 0 and 2: the real cell
    plus the :meth:`TwoTrack.summary` of the whole cell state.
    """
    params, x = forced_forget_lstm(slider_forget_gates(f_keep, f_cut), seed=SLIDER_SEED)
    trace = lstm_forward(params, x)
    split = two_track(params, trace, dc_T=np.ones((1, SLIDER_N)))
    out = split.summary()
    out.update({
        "f": trace.f[:, 0, :],
        "product_keep": split.carry[:, 0, 0],
        "product_cut": split.carry[:, 0, 2],
        "grad_keep": np.abs(split.dc[:, 0, 0]),
        "grad_cut": np.abs(split.dc[:, 0, 2]),
    })
    return out


@sliders(Control("f_keep", "forget gate, every step", FORGET_GRID, initial=0.95, fmt="{:g}"),
         Control("f_cut", f"forget gate at gap {SLIDER_CUT_GAP} (coords 3, 4)", GATE_GRID,
                 initial=0.1, fmt="{:.2f}"))
def forget_slider_view(f_keep, f_cut):
    """Explorer frame: forget-gate products and the gradient a real cell computes.

    Left: on coordinate 1 (held) and coordinate 3 (cut once), the carry-line
    product prod f (lines) and |dL/dc_{T-k}| through the real cell (markers).
    Right: norms over the whole cell state of the carry part, the rest and
    the total. Log scales from 1e-6; smaller values sit on the floor.
    """
    s = forget_slider_data(f_keep, f_cut)
    k = s["gap"]
    fl = lambda a: np.maximum(a, _FLOOR)
    left = Panel([
        Series(k, fl(s["product_keep"]), "∏f, coord. 1 (held)", style="solid", color=0),
        Series(k, fl(s["grad_keep"]), "real cell, coord. 1", style="dotted", marker="o", color=0),
        Series(k, fl(s["product_cut"]), "∏f, coord. 3 (cut)", style="dashed", color=1),
        Series(k, fl(s["grad_cut"]), "real cell, coord. 3", style="dotted", marker="s", color=1),
    ], title="Carry line vs. real cell, per coordinate", xlabel="gap k",
        ylabel="|∂L/∂c_(T−k)|", logy=True, ylim=(_FLOOR, 10.0))
    right = Panel([                     # the rest is 0 at gap 0: drawn from gap 1
        Series(k, fl(s["dc_norm"]), "total", style="dotted", marker="D", color=6),
        Series(k, fl(s["carry_norm"]), "carry line", style="solid", color=2),
        Series(k[1:], fl(s["rest_norm"][1:]), "through h (rest)", style="dashed", marker="^",
               color=3),
    ], title="Whole cell state: the two tracks", xlabel="gap k",
        ylabel="norm", logy=True, ylim=(_FLOOR, 10.0))
    T = SLIDER_T
    text = (f"Forget gate {f_keep:g} everywhere, {f_cut:g} at gap {SLIDER_CUT_GAP} on "
            f"coordinates 3 and 4. Back to gap {T}, the carry line keeps "
            f"{s['product_keep'][T]:.2g} of coordinate 1 and {s['product_cut'][T]:.2g} of "
            f"coordinate 3; the real cell's gradients there are {s['grad_keep'][T]:.2g} and "
            f"{s['grad_cut'][T]:.2g}. Over the whole state the part through h is "
            f"{s['rest_norm'][T]:.2g} against {s['carry_norm'][T]:.2g} on the carry line.")
    return View([left, right], text)


# ----------------------------------------------------------------------------
# exploding gradients: a cell with a cliff, and clipping
# ----------------------------------------------------------------------------

def cliff_lstm_params(w_hc=0.4, forget=0.9, gate_bias=3.0) -> dict:
    """A one-unit LSTM (n = d = 1) whose final state jumps at a threshold: a gradient cliff.

    f = forget at every step (W_xf = W_hf = 0), i and o near sigma(gate_bias),
    and the candidate c_tilde_t = tanh(x_t + w_hc h_{t-1}) feeds h back into c.
    Around c = 0 one step multiplies a small change of c_{t-1} by about
    forget + sigma(gate_bias)^2 w_hc, which exceeds 1 for the defaults: the
    state runs away to one of two values, and which one depends on the first
    input's sign. Near input 0 the final state changes abruptly.
    """
    check_in_range(w_hc, "w_hc")
    check_in_range(forget, "forget", 0.0, 1.0)
    check_in_range(gate_bias, "gate_bias")
    p = {k: np.zeros(s) for k, s in lstm_param_shapes(1, 1).items()}
    p["b_f"][:] = np.clip(logit(forget), -SATURATE, SATURATE)
    p["b_i"][:] = gate_bias
    p["b_o"][:] = gate_bias
    p["W_hc"][:] = w_hc
    p["W_xc"][:] = 1.0
    return p


def loop_gain(params) -> float:
    """The one-unit cell's total dc_t/dc_{t-1} at the fixed point c = h = 0, x = 0.

    Via the carry line f, plus via h_{t-1} = o tanh(c_{t-1}) into the
    candidate: f + i o (1 - c_tilde^2) W_hc with c_tilde = tanh(b_c) (the
    forget and input gates' own dependence on h vanishes at c = 0 when
    b_c = 0, as in :func:`cliff_lstm_params`). Greater than 1: small changes
    grow, step after step.
    """
    d, n = check_lstm_params(params)
    if (d, n) != (1, 1):
        raise ValueError(f"params: expected a one-unit cell (d = n = 1), got d={d}, n={n}")
    f, i, o = (float(sigmoid(params[f"b_{g}"][0])) for g in "fio")
    c_tilde = float(np.tanh(params["b_c"][0]))
    return f + i * o * (1.0 - c_tilde ** 2) * float(params["W_hc"][0, 0])


def sign_memory_batch(T, batch, rng, amplitude=1.0):
    """Remember the sign of the first input: x_1 = a ~ U(-amplitude, amplitude), then zeros.

    Returns x (T, batch, 1) and the target y = 0.9 sign(a), shape (batch,).
    ``rng`` is a numpy Generator (seeded by the caller).
    """
    T = check_positive_int(T, "T")
    batch = check_positive_int(batch, "batch")
    check_in_range(amplitude, "amplitude", low=0.0)
    a = rng.uniform(-amplitude, amplitude, batch)
    x = np.zeros((T, batch, 1))
    x[0, :, 0] = a
    return x, 0.9 * np.sign(a)


def sign_memory_loss(params, x, y):
    """Loss and gradients of L = mean_b (h_T[b] - y[b])^2 for a one-unit cell.

    Returns (loss, grads) with grads from ``reference.lstm_backward`` (the 12
    parameters, plus h0, c0, x).
    """
    trace = lstm_forward(params, x)
    h_T = trace.h[-1, :, 0]
    loss = float(np.mean((h_T - y) ** 2))
    dh_T = (2.0 / len(y)) * (h_T - y)[:, None]
    return loss, lstm_backward(params, trace, dh_T=dh_T)


def sgd_run(params, steps, lr, clip=None, T=30, batch=64, seed=0):
    """Plain SGD on the sign-memory task, with or without clipping by norm.

    ``clip`` is the threshold tau (None: no clipping): the 12 parameter
    gradients are rescaled together so that their global norm is at most tau
    (``reference.clip_by_norm``, Chapter 1). Each step draws a fresh batch from
    ``sign_memory_batch`` (seeded, so two runs with the same seed see the same
    batches).

    Returns a dict of arrays of shape (steps,): loss (before the step),
    grad_norm (before clipping) and step_norm (||delta theta|| of the update).
    """
    steps = check_positive_int(steps, "steps")
    check_in_range(lr, "lr", low=0.0)
    p = {k: np.array(v, dtype=np.float64, copy=True) for k, v in params.items()}
    rng = np.random.default_rng(seed)
    out = {"loss": [], "grad_norm": [], "step_norm": []}
    for _ in range(steps):
        x, y = sign_memory_batch(T, batch, rng)
        loss, grads = sign_memory_loss(p, x, y)
        g = [grads[k] for k in LSTM_PARAM_NAMES]
        out["loss"].append(loss)
        out["grad_norm"].append(global_norm(g))
        if clip is not None:
            g = clip_by_norm(g, clip)
        update = [lr * gk for gk in g]
        out["step_norm"].append(global_norm(update))
        for k, u in zip(LSTM_PARAM_NAMES, update):
            p[k] = p[k] - u
    return {k: np.array(v) for k, v in out.items()}


# ----------------------------------------------------------------------------
# measuring models before and after training on the adding problem
# ----------------------------------------------------------------------------

def measure_by_gap(model, batch) -> dict:
    """Gradients of a model's mean squared error on ``batch``, by gap, with the numpy reference.

    ``model`` is a ``lab.train.SequenceModel`` with readout "last" and one output;
    ``batch`` a ``lab.tasks.Batch`` whose sequences all have the full length T.
    The weights are copied out in float64 (``weights.lstm_params_from_torch``
    or ``rnn_params_from_torch``), the forward pass is ``reference``'s, and
    dL/dh_T comes from :func:`readout_gradient`.

    Returns, for an LSTM, the :meth:`TwoTrack.summary` plus ``split`` (the
    :class:`TwoTrack`) and ``f`` (the forget gates, (T, B, n)); for an RNN,
    ``gap`` and ``dh_norm`` (batch mean of ||dL/dh_{T-k}||).
    """
    if batch.lengths is not None:
        raise ValueError("batch: expected sequences of one length (lengths None), "
                         "so that the loss sits at the last step")
    if model.readout != "last" or model.head.out_features != 1:
        raise ValueError("model: expected readout='last' with one output, "
                         f"got readout={model.readout!r}, output_size={model.head.out_features}")
    x = batch.x.detach().numpy().astype(np.float64)
    y = batch.y.detach().numpy().astype(np.float64)
    w = model.head.weight.detach().numpy()[0].astype(np.float64)
    b = float(model.head.bias.detach()[0])
    if model.cell == "lstm":
        params = lstm_params_from_torch(model.rnn)
        trace = lstm_forward(params, x)
        split = two_track(params, trace, dh_T=readout_gradient(trace.h[-1], w, b, y))
        out = split.summary()
        out["split"], out["f"] = split, trace.f
        return out
    params = rnn_params_from_torch(model.rnn)
    trace = rnn_forward(params, x)
    g = rnn_gradient_by_gap(params, trace, readout_gradient(trace.h[-1], w, b, y))
    return {"gap": np.arange(g.shape[0]), "dh_norm": np.linalg.norm(g, axis=-1).mean(1)}


STUDY_MODELS = (("lstm_b0", "lstm", 0.0), ("lstm_b1", "lstm", 1.0), ("rnn", "rnn", None))
"""The chapter's three models: (name, cell, forget bias)."""


def gap_study(T=20, hidden_size=16, steps=400, lr=1e-2, batch_size=64, eval_size=64,
              seed=0) -> dict:
    """The chapter's experiment: gradients by gap before and after training.

    Three models on the adding problem (``lab.tasks.adding_problem``) with T
    steps: an LSTM with forget bias 0, one with forget bias 1, and a tanh RNN,
    each a ``lab.train.SequenceModel`` of size ``hidden_size`` drawn with ``seed``.
    Each is measured with :func:`measure_by_gap` on one fixed evaluation batch
    (drawn with seed + 99), trained with ``train.train`` (Adam, clipping at 1,
    fresh batches of ``batch_size``) in float64, so that another CPU retraces
    the same run, and measured again.

    Returns ``{name: {"init", "trained", "eval_mse", "model"}}`` for each name
    of ``STUDY_MODELS``, plus ``"batch"``, the evaluation batch.
    """
    batch = adding_problem(T, eval_size, rng=seed + 99)
    out = {"batch": batch}
    for name, cell, bias in STUDY_MODELS:
        model = make_model(cell, 2, hidden_size, 1, forget_bias=bias, seed=seed, dtype=torch.float64)
        init = measure_by_gap(model, batch)
        rng = np.random.default_rng(seed)
        train(model, lambda: adding_problem(T, batch_size, rng), mse_loss, steps, lr=lr, clip=1.0)
        with torch.no_grad():
            mse = float(mse_loss(model, batch)[0])
        out[name] = {"init": init, "trained": measure_by_gap(model, batch),
                     "eval_mse": mse, "model": model}
    return out


# ----------------------------------------------------------------------------
# the cliff gradient, split by the paths it takes
# ----------------------------------------------------------------------------

def cliff_split(params=None, amplitude: float = 1e-6, T: int = 30) -> dict:
    """The gradient of the cliff cell on c_1, split into carry-only, hidden-only and mixed paths.

    params: a one-unit cell (default :func:`cliff_lstm_params` ()); the input is
    x_1 = amplitude, then zeros, for T steps; the loss is the sign-memory
    loss of :func:`sign_memory_loss` with target 0.9 sign(amplitude). The
    gradient on each cell state is split by :func:`two_track` and divided by
    the gradient on the last one, dL/dc_T, so that gap k reads "per unit of
    gradient at the end".

    Near c = h = 0 one step back multiplies a path by f (the carry edge) or
    by g = i o (1 - c_tilde^2) w (out through h_{t-1} into the candidate and
    back in: ``loop_gain(params) - f``). A path of k steps that takes the
    loop j times weighs f^(k-j) g^j; summed over all of them, the total is
    (f + g)^k = lambda^k, the carry-only path f^k, the hidden-only path g^k,
    and the mixed paths the binomial middle terms lambda^k - f^k - g^k.

    Returns a dict: ``gap`` (0..T - 1: c_T back to c_1), the measured ``total``,
    ``carry``, ``hidden``, ``mixed`` (each (T,), divided by dL/dc_T), the
    ``predicted_*`` counterparts from the binomial sum, ``f``, ``g``,
    ``lambda`` (scalars), and ``split`` (the :class:`TwoTrack`).
    """
    params = cliff_lstm_params() if params is None else params
    d, n = check_lstm_params(params)
    if (d, n) != (1, 1):
        raise ValueError(f"params: expected a one-unit cell (d = n = 1), got d={d}, n={n}")
    check_in_range(amplitude, "amplitude")
    if amplitude == 0:
        raise ValueError("amplitude: expected a nonzero first input (its sign is the target), got 0")
    T = check_positive_int(T, "T")
    x = np.zeros((T, 1, 1))
    x[0, 0, 0] = amplitude
    y = np.array([0.9 * np.sign(amplitude)])
    trace = lstm_forward(params, x)
    dh_T = 2.0 * (trace.h[-1] - y[:, None])                  # d/dh_T of (h_T - y)^2
    split = two_track(params, trace, dh_T=dh_T)
    end = split.dc[0, 0, 0]
    rel = lambda a: a[:T, 0, 0] / end                       # c_T .. c_1 (row T, c0, is no cell output)
    f = float(sigmoid(params["b_f"][0]))
    lam = loop_gain(params)
    g = lam - f
    k = split.gaps[:T].astype(np.float64)
    return {
        "gap": split.gaps[:T], "total": rel(split.dc), "carry": rel(split.carry),
        "hidden": rel(split.hidden), "mixed": rel(split.mixed),
        "predicted_total": lam ** k, "predicted_carry": f ** k,
        "predicted_hidden": np.where(k > 0, g ** k, 0.0),
        "predicted_mixed": np.where(k > 1, lam ** k - f ** k - g ** k, 0.0),
        "f": f, "g": g, "lambda": lam, "split": split,
    }


# ----------------------------------------------------------------------------
# the two tracks over seeds: a results file (python -m lstm_lib.chapters.gradients)
# ----------------------------------------------------------------------------

#: The two settings whose shares the chapter quotes. "chapter": the chapter's
#: own experiment (:func:`gap_study`'s LSTMs, float64, Adam at 1e-2, 64 sequences a
#: batch); "lab": the lab's adding problem (``lab.experiments.run_adding`` with
#: ``DEFAULTS["adding"]``: T = 100, 16 units, its training loop and data).
SHARE_SETTINGS = {
    "chapter": dict(T=20, hidden=16, steps=400, forget_biases=(0.0, 1.0), gaps=(1, 5, 10, 20)),
    "lab": dict(T=100, hidden=16, steps=1500, forget_biases=(0.0, 1.0), gaps=(1, 10, 50, 100)),
}
SHARE_PARTS = ("share", "hidden_share", "mixed_share", "cosine")
SHARE_EVAL_SIZE = 64


def _shares_of(summary, f) -> dict:
    out = {p: [float(v) for v in summary[p]] for p in SHARE_PARTS}
    out["mean_forget"] = float(np.mean(f))
    return out


def share_run(setting: str, forget_bias: float, seed: int, *, T=None, hidden=None,
              steps=None, eval_size: int = SHARE_EVAL_SIZE) -> dict:
    """One LSTM of a :data:`SHARE_SETTINGS` setting, measured before and after training.

    The evaluation batch is ``adding_problem(T, eval_size, rng=seed + 99)``
    (as in :func:`gap_study`); the measurement is :func:`measure_by_gap`.
    "chapter" trains exactly as :func:`gap_study` trains its LSTM of that
    forget bias (so seed 0 gives the chapter's numbers); "lab" calls
    ``lab.experiments.run_adding`` with the lab's defaults (float32, as the
    lab trains). T, hidden, steps override the setting (for a quick test).

    Returns a dict: setting, forget_bias, seed, T, hidden, steps, eval_mse
    (after training, on the evaluation batch) and, for "init" and "trained",
    the per-gap lists of :data:`SHARE_PARTS` and the mean forget gate.
    """
    from ..lab.experiments import run_adding

    if setting not in SHARE_SETTINGS:
        raise ValueError(f"setting: expected one of {tuple(SHARE_SETTINGS)}, got {setting!r}")
    s = SHARE_SETTINGS[setting]
    T = check_positive_int(s["T"] if T is None else T, "T")
    hidden = check_positive_int(s["hidden"] if hidden is None else hidden, "hidden")
    steps = check_positive_int(s["steps"] if steps is None else steps, "steps")
    check_in_range(forget_bias, "forget_bias")
    if T < 2:
        raise ValueError(f"T: the adding problem needs T >= 2, got {T}")
    batch = adding_problem(T, eval_size, rng=seed + 99)
    if setting == "chapter":
        model = make_model("lstm", 2, hidden, 1, forget_bias=forget_bias, seed=seed,
                           dtype=torch.float64)
        init = measure_by_gap(model, batch)
        rng = np.random.default_rng(seed)
        train(model, lambda: adding_problem(T, 64, rng), mse_loss, steps, lr=1e-2, clip=1.0)
    else:
        init = measure_by_gap(make_model("lstm", 2, hidden, 1, forget_bias=forget_bias, seed=seed),
                              batch)
        _, model = run_adding("lstm", seed, return_model=True, T=T, hidden=hidden, steps=steps,
                              forget_bias=forget_bias, eval_every=steps)
    trained = measure_by_gap(model, batch)
    with torch.no_grad():
        mse = float(mse_loss(model, batch)[0])
    return {"setting": setting, "forget_bias": float(forget_bias), "seed": int(seed), "T": T,
            "hidden": hidden, "steps": steps, "eval_mse": mse,
            "init": _shares_of(init, init["f"]), "trained": _shares_of(trained, trained["f"])}


def share_summary(runs, gaps) -> list:
    """Median, smallest and largest value over seeds, one row per (forget bias, when, part, gap).

    runs: records of :func:`share_run`; gaps: the gaps to report. Returns a list
    of dicts with keys forget_bias, when, part, gap, median, min, max, seeds.
    """
    rows = []
    for fb in sorted({r["forget_bias"] for r in runs}):
        mine = [r for r in runs if r["forget_bias"] == fb]
        for when in ("init", "trained"):
            for part in SHARE_PARTS:
                for k in gaps:
                    v = np.array([r[when][part][k] for r in mine])
                    rows.append({"forget_bias": fb, "when": when, "part": part, "gap": int(k),
                                 "median": float(np.median(v)), "min": float(v.min()),
                                 "max": float(v.max()), "seeds": len(v)})
        v = np.array([r["eval_mse"] for r in mine])
        rows.append({"forget_bias": fb, "when": "trained", "part": "eval_mse", "gap": None,
                     "median": float(np.median(v)), "min": float(v.min()), "max": float(v.max()),
                     "seeds": len(v)})
    return rows


def share_lookup(results, forget_bias, when, part, gap) -> dict:
    """The row of a shares results file's summary for (forget_bias, when, part, gap)."""
    for row in results["summary"]:
        if (row["forget_bias"], row["when"], row["part"], row["gap"]) == \
                (float(forget_bias), when, part, gap):
            return row
    raise KeyError(f"no summary row for forget_bias={forget_bias}, when={when!r}, "
                   f"part={part!r}, gap={gap!r}")


SHARES_SCHEMA = "lstm_lib.chapters.gradients.shares/1"


def main(argv=None) -> int:
    """``python -m lstm_lib.chapters.gradients``: the two-track shares over seeds, to a results file.

    ::

        python -m lstm_lib.chapters.gradients --setting chapter --seeds 5 --out results/shares_T20.json
        python -m lstm_lib.chapters.gradients --setting lab --seeds 5 --out results/shares_T100.json

    The file records the command, versions, date and machine
    (``lab.results.environment``), every run (:func:`share_run`) and the
    summary (:func:`share_summary`: median and range over seeds).
    """
    import sys
    import time
    from pathlib import Path

    from ..lab import results as R
    from ..lab.train import set_deterministic

    argv = list(sys.argv[1:] if argv is None else argv)
    prog = "python -m lstm_lib.chapters.gradients"
    parser = R.Parser(prog=prog, description="Chapter 5's two-track shares over seeds: "
                      "train LSTMs, split their gradients by path, write a JSON results file.")
    parser.add_argument("--setting", choices=tuple(SHARE_SETTINGS), required=True,
                        help="chapter: T = 20 as in Chapter 5; lab: the lab's adding problem")
    parser.add_argument("--out", required=True, type=Path, help="results file to write (JSON)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing results file")
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    parser.add_argument("--seeds", type=R.positive_int, default=5, help="number of seeds: 0..N-1")
    parser.add_argument("--T", type=R.positive_int, default=None, help="override the setting's T")
    parser.add_argument("--hidden", type=R.positive_int, default=None, help="override n")
    parser.add_argument("--steps", type=R.positive_int, default=None, help="override the steps")
    args = parser.parse_args(argv)
    if args.T is not None and args.T < 2:
        parser.error(f"--T: the adding problem needs T >= 2, got {args.T}")
    R.check_out(parser, args.out, args.force)
    set_deterministic(1)
    s = SHARE_SETTINGS[args.setting]
    T = s["T"] if args.T is None else args.T
    gaps = sorted({min(k, T) for k in s["gaps"]})
    start, cpu_start = time.perf_counter(), time.process_time()
    runs = []
    for fb in s["forget_biases"]:
        for seed in range(args.seeds):
            runs.append(share_run(args.setting, fb, seed, T=args.T, hidden=args.hidden,
                                  steps=args.steps))
            if not args.quiet:
                print(f"{args.setting} forget bias {fb:g} seed {seed}: "
                      f"eval MSE {runs[-1]['eval_mse']:.4f}", flush=True)
    env = R.environment("lstm_lib.chapters.gradients", argv)
    env["machine"].update(torch_threads=torch.get_num_threads(), cpu=R.cpu_model(),
                          load_average_at_end=R.load_average())
    result = {"schema": SHARES_SCHEMA, "setting": args.setting, **env,
              "seconds": round(time.perf_counter() - start, 1),
              "cpu_seconds": round(time.process_time() - cpu_start, 1),
              "config": {"T": T, "hidden": runs[0]["hidden"], "steps": runs[0]["steps"],
                         "forget_biases": list(s["forget_biases"]),
                         "seeds": list(range(args.seeds)), "gaps": gaps,
                         "eval_size": SHARE_EVAL_SIZE,
                         "share": "<part, dL/dc_t> / <dL/dc_t, dL/dc_t>, summed over the "
                                  "evaluation batch (TwoTrack.summary)"},
              "summary": share_summary(runs, gaps), "runs": runs}
    R.write_json(args.out, result)
    if not args.quiet:
        print(f"wrote {args.out} ({result['seconds']} s)")
    return 0


if __name__ == "__main__":
    import sys as _sys
    _sys.exit(main())
