"""Fused and per-gate weights, parameter counts and initialisations (Chapter 4).

PyTorch stores an LSTM layer's weights fused, the four gates stacked along
the output axis in the order i, f, g, o (g is our candidate c_tilde)::

    weight_ih = [W_xi; W_xf; W_xc; W_xo]   (4n, d)
    weight_hh = [W_hi; W_hf; W_hc; W_ho]   (4n, n)
    bias_ih, bias_hh                       (4n,) each; b = bias_ih + bias_hh

The per-gate dict uses NOTATION's names: W_xi, W_hi, b_i, W_xf, ..., W_xc
(candidate), W_hc, b_c, W_xo, W_ho, b_o. ``split_lstm_weights`` and
``fuse_lstm_weights`` convert between the two and accept numpy arrays or
torch tensors (the result has the input's type). ``lstm_params_from_torch``
reads one layer and direction of ``torch.nn.LSTM`` or ``lstm_lib.LSTM``
into numpy float64, ready for the numpy reference.

A module is recognised by what it stores, not by its class: ``torch.nn``'s
recurrent modules and ``lstm_lib.modules``' both name their kind in ``mode``
("LSTM", "RNN_TANH", "RNN_RELU") and their weights ``weight_ih_l{k}``,
``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``. So this file does not
import ``lstm_lib.modules`` (which imports it, for :func:`set_forget_bias`).

:func:`set_gate_bias` writes one gate's effective bias b_g = bias_ih + bias_hh
blocks; :func:`set_forget_bias` is that for the forget gate, the case the
chapters name.
"""
from __future__ import annotations

import numbers

import numpy as np
import torch
from torch import nn

from .checks import check_array, check_device, check_in_range, check_positive_int, is_tensor
from .reference import LSTM_GATES

_MODES = {"LSTM": ("LSTM",), "RNN": ("RNN_TANH", "RNN_RELU")}


def _check_module(module, kind):
    """Require an nn.Module that stores a torch.nn.LSTM's (or RNN's) weights."""
    if not (isinstance(module, nn.Module) and getattr(module, "mode", None) in _MODES[kind]):
        raise TypeError(f"module: expected torch.nn.{kind} or lstm_lib.modules.{kind}, "
                        f"got {type(module).__name__}")


def split_lstm_weights(weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """Split fused LSTM weights into NOTATION's per-gate dict.

    weight_ih: (4n, d), weight_hh: (4n, n), bias_ih and bias_hh: (4n,) or None.
    Returns {"W_xi": (n, d), "W_hi": (n, n), "b_i": (n,), ...} for i, f, c, o,
    with b_* the sum of the bias_ih and bias_hh blocks (zeros if both are None).
    Works for numpy arrays and torch tensors alike; do not mix the two.
    """
    arrays = [a for a in (weight_ih, weight_hh, bias_ih, bias_hh) if a is not None]
    torch_in = is_tensor(weight_ih)
    for name, a in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"),
                       (weight_ih, weight_hh, bias_ih, bias_hh)):
        if a is not None and is_tensor(a) != torch_in:
            kind = "torch tensors" if torch_in else "numpy arrays"
            raise TypeError(f"{name}: expected {kind} like weight_ih, got {type(a).__name__}")
        if a is not None and torch_in:
            check_device(a, name, weight_ih.device, "weight_ih's")
    check_array(weight_ih, "weight_ih", (None, None), ("4n", "d"), finite=False)
    rows = weight_ih.shape[0]
    if rows == 0 or rows % 4:
        raise ValueError(f"weight_ih: expected 4n rows (four gates i, f, g, o), "
                         f"got shape {tuple(weight_ih.shape)}")
    n = rows // 4
    check_array(weight_hh, "weight_hh", (4 * n, n), ("4n", "n"), finite=False)
    for name, b in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if b is not None:
            check_array(b, name, (4 * n,), ("4n",), finite=False)
    if any(a.dtype != weight_ih.dtype for a in arrays):
        raise TypeError("split_lstm_weights: expected one dtype, got "
                        + ", ".join(str(a.dtype) for a in arrays))
    biases = [b for b in (bias_ih, bias_hh) if b is not None]
    if biases:
        bias = biases[0] + biases[1] if len(biases) == 2 else biases[0]
    else:
        bias = weight_ih.new_zeros(4 * n) if torch_in else np.zeros(4 * n, weight_ih.dtype)
    params = {}
    for k, g in enumerate(LSTM_GATES):
        block = slice(k * n, (k + 1) * n)
        params[f"W_x{g}"] = weight_ih[block]
        params[f"W_h{g}"] = weight_hh[block]
        params[f"b_{g}"] = bias[block]
    return params


def fuse_lstm_weights(params):
    """Stack a per-gate dict into PyTorch's layout (order i, f, g=c, o).

    Returns (weight_ih (4n, d), weight_hh (4n, n), bias (4n,)); split the bias
    between bias_ih and bias_hh as you like, e.g. bias_ih = bias, bias_hh = 0.
    """
    if not isinstance(params, dict):
        raise TypeError(f"params: expected a dict of per-gate arrays, got {type(params).__name__}")
    keys = [f"{p}{g}" for g in LSTM_GATES for p in ("W_x", "W_h", "b_")]
    missing = [k for k in keys if k not in params]
    if missing:
        raise ValueError(f"params: expected keys {keys}, missing {missing}")
    torch_in = is_tensor(params["W_xi"])
    n, d = params["W_xi"].shape if params["W_xi"].ndim == 2 else (None, None)
    check_array(params["W_xi"], "params['W_xi']", (None, None), ("n", "d"), finite=False)
    for g in LSTM_GATES:
        for key, shape, axes in ((f"W_x{g}", (n, d), ("n", "d")),
                                 (f"W_h{g}", (n, n), ("n", "n")),
                                 (f"b_{g}", (n,), ("n",))):
            a = params[key]
            if is_tensor(a) != torch_in:
                raise TypeError(f"params['{key}']: expected the same array type as "
                                f"params['W_xi'], got {type(a).__name__}")
            if torch_in:
                check_device(a, f"params['{key}']", params["W_xi"].device, "params['W_xi']'s")
            check_array(a, f"params['{key}']", shape, axes, finite=False)
    cat = torch.cat if torch_in else np.concatenate
    return (cat([params[f"W_x{g}"] for g in LSTM_GATES]),
            cat([params[f"W_h{g}"] for g in LSTM_GATES]),
            cat([params[f"b_{g}"] for g in LSTM_GATES]))


def _layer_tensors(module, layer, reverse, kind):
    """Fused tensors of one layer and direction, after checking the arguments."""
    _check_module(module, kind)
    if getattr(module, "proj_size", 0):
        raise NotImplementedError(f"module: proj_size > 0 is not supported, "
                                  f"got proj_size={module.proj_size}")
    if isinstance(layer, bool) or not isinstance(layer, numbers.Integral) \
            or not 0 <= layer < module.num_layers:
        raise ValueError(f"layer: expected an integer in [0, {module.num_layers - 1}] "
                         f"(num_layers={module.num_layers}), got {layer!r}")
    if not isinstance(reverse, bool):
        raise TypeError(f"reverse: expected a bool, got {reverse!r}")
    if reverse and not module.bidirectional:
        raise ValueError("reverse: expected False for a unidirectional module, got True")
    if any(p.device.type == "meta" for p in module.parameters()):
        raise ValueError("module: its parameters are on the meta device (shapes without "
                         "values); there are no weights to read")
    suffix = f"l{layer}" + ("_reverse" if reverse else "")

    def numpy64(name):
        p = getattr(module, f"{name}_{suffix}") if (module.bias or "weight" in name) else None
        return None if p is None else p.detach().cpu().to(torch.float64).numpy().copy()

    return [numpy64(name) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


def lstm_params_from_torch(module, layer=0, reverse=False):
    """Per-gate numpy float64 dict of one layer and direction of an LSTM module.

    module: ``torch.nn.LSTM`` or ``lstm_lib.modules.LSTM``. b_* = bias_ih + bias_hh
    blocks (zeros when the module has bias=False). Arrays are copies.
    """
    return split_lstm_weights(*_layer_tensors(module, layer, reverse, "LSTM"))


def rnn_params_from_torch(module, layer=0, reverse=False):
    """{"W_xh": (n, d), "W_hh": (n, n), "b_h": (n,)} in numpy float64 from an RNN module.

    module: ``torch.nn.RNN`` or ``lstm_lib.modules.RNN``; b_h = bias_ih + bias_hh.
    """
    W_xh, W_hh, b_ih, b_hh = _layer_tensors(module, layer, reverse, "RNN")
    b_h = np.zeros(W_hh.shape[0])
    for b in (b_ih, b_hh):
        if b is not None:
            b_h = b_h + b
    return {"W_xh": W_xh, "W_hh": W_hh, "b_h": b_h}


def _count(gates, input_size, hidden_size, num_layers, bidirectional, biases, name):
    d = check_positive_int(input_size, "input_size")
    n = check_positive_int(hidden_size, "hidden_size")
    L = check_positive_int(num_layers, "num_layers")
    if not isinstance(bidirectional, bool):
        raise TypeError(f"bidirectional: expected a bool, got {bidirectional!r}")
    if isinstance(biases, bool) or biases not in (0, 1, 2):
        raise ValueError(f"{name}: expected 0, 1 or 2 bias vectors, got {biases!r}")
    D = 2 if bidirectional else 1
    total = 0
    for layer in range(L):
        d_in = d if layer == 0 else D * n     # later layers read the previous layer's h
        total += D * gates * (n * d_in + n * n + biases * n)
    return total


def lstm_param_count(input_size, hidden_size, num_layers=1, bidirectional=False,
                     biases_per_gate=2):
    """Number of LSTM parameters: 4(n d_l + n^2 + k n) per layer and direction.

    d_l = input_size for the first layer and n (2n if bidirectional) after it;
    k = biases_per_gate: 2 as in torch.nn.LSTM (bias_ih and bias_hh),
    1 for the textbook single bias b, 0 for bias=False.
    """
    return _count(4, input_size, hidden_size, num_layers, bidirectional,
                  biases_per_gate, "biases_per_gate")


def rnn_param_count(input_size, hidden_size, num_layers=1, bidirectional=False, biases=2):
    """Number of vanilla RNN parameters: n d_l + n^2 + k n per layer and direction (k = biases)."""
    return _count(1, input_size, hidden_size, num_layers, bidirectional, biases, "biases")


def set_gate_bias(module, gate, value):
    """Set one gate's effective bias b_g = bias_ih[block] + bias_hh[block] to ``value``.

    gate: "i", "f", "c" (the candidate, PyTorch's g) or "o"; its block is rows
    k n .. (k + 1) n of the fused order i, f, g, o. Every layer and direction
    gets bias_ih[block] = value and bias_hh[block] = 0, so the sum, which is
    what the gate sees, equals ``value``. Returns the module.
    """
    if gate not in LSTM_GATES:
        raise ValueError(f"gate: expected one of {LSTM_GATES}, got {gate!r}")
    check_in_range(value, "value")
    _check_module(module, "LSTM")
    if not module.bias:
        raise ValueError("module: expected an LSTM with bias=True, got bias=False")
    n, k = module.hidden_size, LSTM_GATES.index(gate)
    block = slice(k * n, (k + 1) * n)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.startswith("bias_ih"):
                p[block] = value
            elif name.startswith("bias_hh"):
                p[block] = 0.0
    return module


def set_forget_bias(module, value):
    """Set the effective forget bias b_f = bias_ih[n:2n] + bias_hh[n:2n] to ``value``.

    ``set_gate_bias(module, "f", value)``: every layer and direction gets
    bias_ih[n:2n] = value and bias_hh[n:2n] = 0. Returns the module.
    """
    return set_gate_bias(module, "f", value)


def orthogonal_recurrent_(module, gain=1.0, generator=None):
    """Make every n x n block of every ``weight_hh`` an orthogonal matrix (times gain).

    An LSTM's weight_hh has four blocks (W_hi, W_hf, W_hc, W_ho), an RNN's one
    (W_hh); each block is drawn independently with ``torch.nn.init.orthogonal_``
    (from ``generator`` if given, else torch's global generator). Returns the module.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module: expected a torch.nn.Module, got {type(module).__name__}")
    if isinstance(gain, bool) or not isinstance(gain, numbers.Real) or not np.isfinite(gain):
        raise ValueError(f"gain: expected a finite number, got {gain!r}")
    if getattr(module, "proj_size", 0):
        raise NotImplementedError(f"module: proj_size > 0 is not supported, "
                                  f"got proj_size={module.proj_size}")
    found = [(name, p) for name, p in module.named_parameters()
             if name.split(".")[-1].startswith("weight_hh")]
    if not found:
        raise ValueError(f"module: expected recurrent weights named weight_hh_l*, "
                         f"found none in {type(module).__name__}")
    with torch.no_grad():
        for name, W in found:
            if W.ndim != 2 or W.shape[0] % W.shape[1]:
                raise ValueError(f"{name}: expected shape (G*n, n), got {tuple(W.shape)}")
            n = W.shape[1]
            for k in range(W.shape[0] // n):
                torch.nn.init.orthogonal_(W[k * n:(k + 1) * n], gain=gain, generator=generator)
    return module
