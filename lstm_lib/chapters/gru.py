"""Chapter 8: the GRU, the same idea with two gates, measured beside the LSTM.

The GRU keeps one state h_t and writes it as a gated average (PyTorch's
convention; ``lstm_lib.reference.gru_step``)::

    h_t = (1 - z_t) * h_tilde_t + z_t * h_{t-1},   h_tilde_t = tanh(W_xn x_t + b_xn + r_t * (W_hn h_{t-1} + b_hn))

so with the gates and the candidate held fixed dh_t/dh_{t-1} = diag(z_t)
(``jacobians.gru_carry_jacobian``): the update gate z plays the forget gate's
part on the direct road. What this module measures:

* :func:`gradient_by_gap`: the gradient a loss at the last step sends back to
  every earlier state, for the GRU, the LSTM (its cell state) and the tanh RNN,
  walked back with the one-step Jacobians of the core; :func:`carry_split`
  splits the GRU's into the direct road diag(prod z) and the rest.
* :func:`gated_gru` and the explorer :func:`update_gate_view`: a GRU whose
  update and reset gates take chosen values, with the gradient it lets through.
* :func:`gap_study`: a GRU and an LSTM on the adding problem, before and after training.
* :func:`seed_table`: the lab's multi-seed results files, as the chapter's tables.

Arrays are numpy float64, time-major, batched; arrays over gaps follow
:mod:`lstm_lib.jacobians`: row k is gap k, row T the initial state.
"""
from __future__ import annotations

import numpy as np
import torch

from ..checks import check_in_range, check_ndim, check_positive_int
from ..jacobians import (gru_carry_product, gru_step_jacobians, lstm_state_jacobians,
                         rnn_step_jacobian, scaled_orthogonal)
from ..lab.tasks import adding_problem
from ..lab.train import make_model, mse_loss, train
from ..reference import (check_gru_params, check_gru_trace, check_state, gru_forward,
                         init_gru_params, logit, lstm_forward, rnn_forward)
from ..viz.explorer import Control, Panel, Series, View, sliders
from ..viz.grids import GATE_GRID
from ..weights import gru_params_from_torch, lstm_params_from_torch, rnn_params_from_torch

#: A pre-activation this large gives sigma(z) == 1.0 exactly in float64.
SATURATE = 40.0


# ----------------------------------------------------------------------------
# the gradient by gap, for the three cells
# ----------------------------------------------------------------------------

def gradient_by_gap(kind, params, x, dh_T) -> np.ndarray:
    """dL/d(state) at every gap for a loss at the last step, walking back one Jacobian a step.

    kind: "gru" (the state is h), "lstm" (the state read is the cell state c,
    the LSTM's memory) or "rnn" (h). params: the reference's parameter dict;
    x (T, B, d); dh_T (B, n) the loss's gradient on the last hidden state.

    GRU and RNN: delta_{s-1} = J_s^T delta_s with the one-step Jacobians of
    :mod:`lstm_lib.jacobians`, delta_T = dh_T. LSTM: the same walk on the pair
    (c, h); the gradient on c_s in full is delta_c + o_s (1 - tanh^2 c_s) delta_h
    (c_s also reaches the loss through h_s), and at the initial state delta_c.
    Row k of the result (T + 1, B, n) belongs to gap k.
    """
    if kind not in ("gru", "lstm", "rnn"):
        raise ValueError(f"kind: expected 'gru', 'lstm' or 'rnn', got {kind!r}")
    trace = {"gru": gru_forward, "lstm": lstm_forward, "rnn": rnn_forward}[kind](params, x)
    T, B, n = trace.h.shape
    dh_T = check_state(dh_T, "dh_T", B, n)
    out = np.empty((T + 1, B, n))
    if kind == "lstm":
        J = lstm_state_jacobians(params, trace)                    # (T, B, 2n, 2n), state (c, h)
        delta = np.concatenate([np.zeros((B, n)), dh_T], axis=1)
        for k in range(T + 1):
            s = T - 1 - k                                          # state index; -1 is (c0, h0)
            via_h = trace.o[s] * (1 - np.tanh(trace.c[s]) ** 2) if s >= 0 else 0.0
            out[k] = delta[:, :n] + via_h * delta[:, n:]
            if s >= 0:
                delta = np.einsum("bij,bi->bj", J[s], delta)
        return out
    if kind == "gru":
        J = gru_step_jacobians(params, trace)                      # (T, B, n, n)
    else:
        J = np.stack([np.stack([rnn_step_jacobian(trace.h[s, b], params["W_hh"])
                                for b in range(B)]) for s in range(T)])
    out[0] = dh_T
    for k in range(1, T + 1):
        out[k] = np.einsum("bij,bi->bj", J[T - k], out[k - 1])     # delta_{s-1} = J_s^T delta_s
    return out


def carry_split(params, trace, dh) -> dict:
    """Split a GRU's gradient by gap into the direct road and the rest.

    dh (T + 1, B, n): :func:`gradient_by_gap` for this trace. The direct road
    is diag(prod z) dh_T (``jacobians.gru_carry_product``): the paths that
    never leave it through a gate or the candidate. Returns arrays over gaps:
    ``carry``, ``rest`` (T + 1, B, n), and the batch means of the norms
    ``dh_norm``, ``carry_norm``, ``rest_norm``, and ``share``, the direct
    road's share <carry, dh> / <dh, dh> summed over the batch (T + 1,).
    """
    T, B, d, n = check_gru_trace(params, trace)
    dh = np.asarray(dh, dtype=np.float64)
    check_ndim(dh, "dh", (3,), "(T + 1, B, n): the gradient by gap")
    if dh.shape != (T + 1, B, n):
        raise ValueError(f"dh: expected shape (T+1={T + 1}, B={B}, n={n}), got {dh.shape}")
    carry = gru_carry_product(np.asarray(trace.z, dtype=np.float64)) * dh[0]
    rest = dh - carry
    norm = lambda a: np.linalg.norm(a, axis=-1).mean(1)            # noqa: E731
    full = np.sum(dh * dh, axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(full > 0, np.sum(carry * dh, axis=(1, 2)) / full, np.nan)
    return {"carry": carry, "rest": rest, "dh_norm": norm(dh), "carry_norm": norm(carry),
            "rest_norm": norm(rest), "share": share}


# ----------------------------------------------------------------------------
# a GRU with chosen gates, and the explorer
# ----------------------------------------------------------------------------

def gated_gru(update, reset, data_size: int = 2, batch: int = 1, seed: int = 0, gain: float = 1.0):
    """A GRU whose update and reset gates take exactly the values ``update`` and ``reset``.

    update, reset (T, n): z_t and r_t for every step and coordinate, in [0, 1].
    The input x_t has d = T + data_size channels: a one-hot clock e_t followed
    by ``data_size`` seeded standard-normal channels. Both gates read only the
    clock (W_xz = [logit(update)^T, 0], W_hz = 0, b_z = 0, and likewise for r),
    so z_t = update[t] and r_t = reset[t] whatever the state (values 1 and 0 map
    to pre-activations of +-SATURATE: exactly 1.0, and 4e-18).

    The candidate is random, drawn like PyTorch (``reference.init_gru_params``),
    except its recurrent matrix: W_hn = gain * Q with Q orthogonal
    (``jacobians.scaled_orthogonal``), every singular value ``gain``. With
    z = 0 and r = 1 the cell is a tanh RNN with that matrix; with r = 0 the
    candidate ignores h_{t-1}.

    Returns (params, x) with x of shape (T, batch, T + data_size).
    """
    update = np.asarray(update, dtype=np.float64)
    reset = np.asarray(reset, dtype=np.float64)
    check_ndim(update, "update", (2,), "(T, n): one value per step and coordinate")
    if reset.shape != update.shape:
        raise ValueError(f"reset: expected the shape of update {update.shape}, got {reset.shape}")
    T, n = update.shape
    data_size = check_positive_int(data_size, "data_size")
    batch = check_positive_int(batch, "batch")
    check_in_range(gain, "gain", low=0.0)
    d = T + data_size
    params = init_gru_params(d, n, seed=seed)
    for g, values in (("z", update), ("r", reset)):
        pre = np.clip(logit(values), -SATURATE, SATURATE)       # logit checks [0, 1]
        params[f"W_x{g}"] = np.concatenate([pre.T, np.zeros((n, data_size))], axis=1)
        params[f"W_h{g}"] = np.zeros((n, n))
        params[f"b_{g}"] = np.zeros(n)
    params["W_hn"] = scaled_orthogonal(n, gain, seed=seed)
    check_gru_params(params)
    rng = np.random.default_rng(seed + 1)
    x = np.zeros((T, batch, d))
    x[np.arange(T), :, np.arange(T)] = 1.0
    x[:, :, T:] = rng.standard_normal((T, batch, data_size))
    return params, x


SLIDER_T = 20          # steps in the explorer's cell
SLIDER_N = 4           # its state size
SLIDER_SEED = 2
SLIDER_RESETS = (0.0, 0.5, 1.0)    # the reset-gate values the explorer draws side by side
_FLOOR = 1e-6          # the explorer's log axis starts here
#: Update-gate values: 0 (always overwrite) to 1 (always keep), finer near 1.
UPDATE_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.73, 0.8, 0.85, 0.9, 0.92, 0.94,
               0.95, 0.96, 0.97, 0.98, 0.99, 0.995, 0.999, 1.0)


def update_gate_data(z, r) -> dict:
    """The gradient a GRU with constant gates lets through, over the gaps k = 0..SLIDER_T.

    The cell is :func:`gated_gru` with z and r at every step and coordinate,
    W_hn orthogonal (gain 1), one sequence; the loss is L = sum_j h_{T,j}, so
    dL/dh_T = 1. Returns ``gap``, ``carry`` = z^k (the direct road alone) and
    ``grad``, the real gradient's norm ||dL/dh_{T-k}||, both relative to gap 0;
    ``rest``, the norm of the part off the direct road (relative too); and
    ``z_realised``, the update gate the cell computed.
    """
    check_in_range(z, "z", 0.0, 1.0)
    check_in_range(r, "r", 0.0, 1.0)
    shape = (SLIDER_T, SLIDER_N)
    params, x = gated_gru(np.full(shape, float(z)), np.full(shape, float(r)), seed=SLIDER_SEED)
    trace = gru_forward(params, x)
    J = gru_step_jacobians(params, trace)[:, 0]                   # (T, n, n), one sequence
    dh = np.empty((SLIDER_T + 1, SLIDER_N))
    dh[0] = 1.0
    for k in range(1, SLIDER_T + 1):
        dh[k] = J[SLIDER_T - k].T @ dh[k - 1]                      # delta_{s-1} = J_s^T delta_s
    carry = gru_carry_product(trace.z[:, 0]) * dh[0]
    scale = np.linalg.norm(dh[0])
    return {"gap": np.arange(SLIDER_T + 1), "carry": np.linalg.norm(carry, axis=1) / scale,
            "grad": np.linalg.norm(dh, axis=1) / scale,
            "rest": np.linalg.norm(dh - carry, axis=1) / scale,
            "z_realised": float(trace.z[0, 0, 0])}


@sliders(Control("z", "update gate z (every step)", UPDATE_GRID, initial=0.9, fmt="{:g}"))
def update_gate_view(z):
    """Explorer frame: the gradient a GRU lets through, against the direct road z^k.

    Line: z^k, what the direct road alone keeps. Markers: the real cell's
    gradient with the reset gate at 0, 0.5 and 1 (``SLIDER_RESETS``). Log
    scale from 1e-6; smaller values sit on the floor.
    """
    runs = {r: update_gate_data(z, r) for r in SLIDER_RESETS}
    k = runs[0.0]["gap"]
    fl = lambda a: np.maximum(a, _FLOOR)                            # noqa: E731
    series = [Series(k, fl(runs[0.0]["carry"]), "zᵏ: direct road alone", style="solid", color=0)]
    for j, (r, marker, style) in enumerate(zip(SLIDER_RESETS, ("o", "s", "^"),
                                               ("dotted", "dashed", "dashdot"))):
        series.append(Series(k, fl(runs[r]["grad"]), f"real cell, r = {r:g}", style=style,
                             marker=marker, color=j + 1))
    panel = Panel(series, title="Gradient on h_(T−k), relative to gap 0", xlabel="gap k",
                  ylabel="relative norm", logy=True, ylim=(_FLOOR, 10.0))
    T = SLIDER_T
    real = ", ".join(f"{runs[r]['grad'][T]:.2g} with r = {r:g}" for r in SLIDER_RESETS)
    text = (f"Update gate z = {z:g} at every step. Back {T} steps the direct road alone "
            f"keeps z^{T} = {runs[0.0]['carry'][T]:.2g}; the real cell keeps {real}.")
    return View([panel], text)


# ----------------------------------------------------------------------------
# the chapter's experiment: gradient by gap before and after training
# ----------------------------------------------------------------------------

STUDY_MODELS = (("gru", "gru", None), ("lstm", "lstm", 1.0))
"""The study's models: (name, cell, forget bias). Chapter 5 measured the tanh RNN's."""


def measure(model, batch) -> dict:
    """Gradient by gap of a ``lab.train.SequenceModel``'s mean squared error on ``batch``.

    The weights are copied out in float64 and the gradient computed with the
    numpy reference (:func:`gradient_by_gap`); dL/dh_T comes from the linear
    read-out. Returns ``gap``, ``norm`` (batch mean of the per-example norms
    of the state's gradient: h for the GRU and the RNN, c for the LSTM), and
    for the GRU the :func:`carry_split` entries and the update gates ``z``.
    """
    if batch.lengths is not None or model.readout != "last" or model.head.out_features != 1:
        raise ValueError("model and batch: expected readout='last', one output and "
                         "sequences of one length")
    x = batch.x.detach().numpy().astype(np.float64)
    y = batch.y.detach().numpy().astype(np.float64)
    w = model.head.weight.detach().numpy()[0].astype(np.float64)
    b = float(model.head.bias.detach()[0])
    copy = {"gru": gru_params_from_torch, "lstm": lstm_params_from_torch,
            "rnn": rnn_params_from_torch}[model.cell]
    params = copy(model.rnn)
    forward = {"gru": gru_forward, "lstm": lstm_forward, "rnn": rnn_forward}[model.cell]
    trace = forward(params, x)
    h_T = trace.h[-1]
    dh_T = (2.0 / len(y)) * (h_T @ w + b - y)[:, None] * w[None, :]      # d(MSE)/dh_T
    dh = gradient_by_gap(model.cell, params, x, dh_T)
    out = {"gap": np.arange(dh.shape[0]), "norm": np.linalg.norm(dh, axis=-1).mean(1)}
    if model.cell == "gru":
        out.update(carry_split(params, trace, dh))
        out["z"] = trace.z
    return out


def gap_study(T=20, hidden_size=16, steps=300, lr=1e-2, batch_size=64, eval_size=64, seed=0):
    """A GRU and an LSTM on the adding problem, measured by gap before and after training.

    A GRU and an LSTM with forget bias 1 (the lab's default), each
    a ``lab.train.SequenceModel`` of ``hidden_size`` units drawn with ``seed``
    in float64 (another CPU retraces the same run), trained with Adam and
    clipping at 1 on fresh batches of the adding problem with T steps, and
    measured with :func:`measure` on one fixed evaluation batch (seed + 99).

    Returns ``{name: {"init", "trained", "eval_mse"}}`` for each name of
    ``STUDY_MODELS``, plus ``"batch"``.
    """
    batch = adding_problem(T, eval_size, rng=seed + 99)
    out = {"batch": batch}
    for name, cell, bias in STUDY_MODELS:
        model = make_model(cell, 2, hidden_size, 1, forget_bias=bias, seed=seed,
                           dtype=torch.float64)
        init = measure(model, batch)
        rng = np.random.default_rng(seed)
        train(model, lambda: adding_problem(T, batch_size, rng), mse_loss, steps, lr=lr, clip=1.0)
        with torch.no_grad():
            mse = float(mse_loss(model, batch)[0])
        out[name] = {"init": init, "trained": measure(model, batch), "eval_mse": mse}
    return out


# ----------------------------------------------------------------------------
# the lab's results files as the chapter's tables
# ----------------------------------------------------------------------------

def sequences_to_solve(run, task, threshold=None):
    """Training sequences a run had seen at its first evaluation that solved the task;
    None if none did.

    task "adding": test MSE below ``threshold`` (default 0.01); "copy": copy
    accuracy at or above it (default 0.99); "order": test accuracy at or above
    it (default 0.957, the lab's bar from its source article), counted in whole epochs.
    """
    if task == "adding":
        thr = 0.01 if threshold is None else threshold
        hits = [s for s, v in zip(run["sequences"], run["test_mse"]) if v < thr]
    elif task == "copy":
        thr = 0.99 if threshold is None else threshold
        hits = [s for s, v in zip(run["sequences"], run["copy_accuracy"]) if v >= thr]
    elif task == "order":
        thr = 0.957 if threshold is None else threshold
        hits = [e * run["epoch_sequences"] for e, v in zip(run["epochs"], run["test_accuracy"])
                if v >= thr]
    else:
        raise ValueError(f"task: expected 'adding', 'copy' or 'order', got {task!r}")
    return hits[0] if hits else None


def seed_table(results, task, threshold=None, hidden=None) -> list:
    """One row per model of a lab results file: how many seeds solved the task and how fast.

    results: a results file's dict (``lab.results.load_results``); hidden: the
    hidden size of each model ({cell: n}; default: the file's
    ``hidden_by_model``, else its ``hidden`` for every model). Each row:
    cell, hidden, solved (seeds that solved), seeds, median, low, high (the
    median and range of sequences to solve, over the seeds that did; None if
    none did), and final (median of the last evaluation's metric).
    """
    cfg = results["config"]
    sizes = hidden or cfg.get("hidden_by_model") or {c: cfg["hidden"] for c in cfg["models"]}
    final_key = {"adding": "final_test_mse", "copy": "final_copy_accuracy",
                 "order": "final_accuracy"}[task]
    rows = []
    for cell in cfg["models"]:
        runs = [r for r in results["runs"] if r["cell"] == cell]
        seqs = [sequences_to_solve(r, task, threshold) for r in runs]
        solved = [s for s in seqs if s is not None]
        rows.append({"cell": cell, "hidden": sizes[cell], "solved": len(solved),
                     "seeds": len(runs),
                     "median": float(np.median(solved)) if solved else None,
                     "low": min(solved) if solved else None,
                     "high": max(solved) if solved else None,
                     "final": float(np.median([r[final_key] for r in runs]))})
    return rows


# ----------------------------------------------------------------------------
# lstm_lib.GRU against torch.nn.GRU
# ----------------------------------------------------------------------------

def largest_difference(dtype=torch.float64, fast=True, batched=True, num_layers=2,
                       bidirectional=True, batch_first=False, seed=0):
    """The largest difference between ``lstm_lib.GRU`` and ``torch.nn.GRU`` with the same weights.

    Both run the same input and initial state (T = 7, B = 4, d = 3, n = 5) and
    a loss that touches the output and the final state; returns the largest
    relative difference max|a - b| / max(1, max|b|) over the output, the final
    state and every gradient (input, initial state, each parameter).
    """
    from ..modules import GRU                                       # the core's module
    torch.manual_seed(seed)
    cfg = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    theirs = torch.nn.GRU(3, 5, dtype=dtype, **cfg)
    ours = GRU(3, 5, dtype=dtype, fast=fast, **cfg)
    ours.load_state_dict(theirs.state_dict())
    D = 2 if bidirectional else 1
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn((4, 7, 3) if batch_first else (7, 4, 3), generator=g, dtype=dtype)
    h0 = torch.randn(num_layers * D, 4, 5, generator=g, dtype=dtype)
    if not batched:
        x, h0 = (x[0] if batch_first else x[:, 0]), h0[:, 0]     # one sequence: (T, d)
    found = []
    for module in (ours, theirs):
        xx, hh = x.clone().requires_grad_(True), h0.clone().requires_grad_(True)
        out, h_n = module(xx, hh)
        (out.sin().sum() + h_n.square().sum()).backward()
        found.append([out, h_n, xx.grad, hh.grad] + [p.grad for p in module.parameters()])
    worst = 0.0
    for a, b in zip(*found):
        a, b = a.detach().double(), b.detach().double()
        worst = max(worst, float((a - b).abs().max() / max(1.0, float(b.abs().max()))))
    return worst
