"""LSTM and RNN as PyTorch modules, written from the equations (Chapter 4).

``LSTM`` and ``RNN`` are drop-in replacements for ``torch.nn.LSTM`` and
``torch.nn.RNN``: same constructor arguments, same ``forward(input, hx)``,
same shapes, same returned states and the same ``state_dict`` keys
(``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``,
``..._reverse``, ``..._l1``), so weights load in either direction::

    ours = LSTM(3, 5)
    ours.load_state_dict(torch.nn.LSTM(3, 5).state_dict())

The arithmetic is plain tensor code that autograd differentiates; nothing
calls PyTorch's own recurrent kernels. Weights are fused as PyTorch stores
them, four gates stacked in the order i, f, g (our candidate c_tilde), o:

    W_x = [W_xi; W_xf; W_xc; W_xo]  (4n, d)   is ``weight_ih_l{k}``
    W_h = [W_hi; W_hf; W_hc; W_ho]  (4n, n)   is ``weight_hh_l{k}``
    b   = bias_ih + bias_hh         (4n,)

For each layer and direction, the input projections X_t W_x^T + b of all T
steps are one matrix product before the time loop. Inside the loop, one
product H_{t-1} W_h^T per step gives the recurrent part of all four gates.
``lstm_layer`` and ``rnn_layer`` are that loop: one layer, one direction.
They are the unit a faster implementation can replace: ``LSTM._layer`` and
``RNN._layer`` are their only callers, and they take and return plain tensors.

``LSTM._layer`` does replace it by default: ``fast.lstm_layer_fast`` computes
the same function with a hand-written backward pass and fewer operations per
step (see ``lstm_lib/fast.py`` and the appendix on performance). ``LSTM(...,
fast=False)`` runs ``lstm_layer`` under autograd instead; the tests hold the
two paths equal to each other and to ``torch.nn.LSTM``.

Validation. ``forward`` checks its input and initial states on every call
(shape, dtype, device, finiteness), with messages that name what was expected. It
does not scan the weights, as ``torch.nn.LSTM`` does not: ``load_state_dict``
refuses NaN or inf weights before copying any, and ``check_weights()`` checks
the current ones on request (after a training step that diverged, say).

Dropout as in ``torch.nn``: ``dropout=p`` zeroes each entry of every layer's
output but the last with probability p in training mode and scales the rest
by 1/(1-p); eval mode (``.eval()``) and the final states are untouched; with
one layer it has no effect and the constructor warns, as torch does.
``flatten_parameters()`` exists and does nothing (there is no cuDNN buffer to
compact); ``all_weights`` lists each layer and direction's parameters.

Not supported (each raises ``NotImplementedError``): ``proj_size > 0`` and
``PackedSequence`` input.
"""
from __future__ import annotations

import math
import warnings

import torch
from torch import nn

from . import fast as _fast
from .checks import (check_device, check_finite, check_floating, check_in_range, check_ndim,
                     check_positive_int, check_shape)
from .weights import set_forget_bias


def lstm_layer(x_proj, h0, c0, W_hh):
    """Run one LSTM layer in one direction over a whole sequence.

    x_proj: (T, B, 4n) input projections X_t W_x^T + b, computed before the loop.
    h0, c0: (B, n) initial hidden and cell states.
    W_hh:   (4n, n) fused recurrent weights [W_hi; W_hf; W_hc; W_ho].
    Returns h (T, B, n), the hidden state at every step, and (h_T, c_T).
    """
    h, c = h0, c0
    hs = []
    for t in range(x_proj.shape[0]):
        z = x_proj[t] + h @ W_hh.T                # (B, 4n): all four pre-activations
        z_i, z_f, z_c, z_o = z.chunk(4, dim=1)    # PyTorch's order i, f, g, o
        i = torch.sigmoid(z_i)                    # input gate
        f = torch.sigmoid(z_f)                    # forget gate (near 1 means keep)
        c_tilde = torch.tanh(z_c)                 # candidate (PyTorch's g)
        o = torch.sigmoid(z_o)                    # output gate
        c = f * c + i * c_tilde                   # the additive cell-state update
        h = o * torch.tanh(c)
        hs.append(h)
    return torch.stack(hs), (h, c)


def rnn_layer(x_proj, h0, W_hh, nonlinearity="tanh"):
    """Run one vanilla RNN layer in one direction: h_t = tanh(x_proj[t] + h_{t-1} W_hh^T).

    x_proj: (T, B, n) input projections X_t W_xh^T + b_h.  h0: (B, n).  W_hh: (n, n).
    ``nonlinearity="relu"`` uses max(0, .) instead of tanh.
    Returns h (T, B, n) and the final state h_T.
    """
    act = torch.tanh if nonlinearity == "tanh" else torch.relu
    h = h0
    hs = []
    for t in range(x_proj.shape[0]):
        h = act(x_proj[t] + h @ W_hh.T)
        hs.append(h)
    return torch.stack(hs), h


def _check_tensor(x, name):
    """Require a floating-point torch tensor (numpy arrays are refused, not converted)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    return check_floating(x, name)


def _refuse_non_finite(module, state_dict, prefix, *args):
    """``load_state_dict``'s pre-hook: refuse NaN or inf weights (or meta tensors, which have
    no values, into a module that has some) before any is copied."""
    for name, param in module.named_parameters(recurse=False):
        value = state_dict.get(prefix + name)
        if isinstance(value, torch.Tensor):
            if value.device.type == "meta" and param.device.type != "meta":
                raise ValueError(f"{name}: expected a tensor with values, got one on the meta "
                                 f"device (shapes only)")
            check_finite(value, name)


class _Recurrent(nn.Module):
    """What LSTM and RNN share: parameters, validation, layers and directions.

    A subclass sets ``gates`` (4 for the LSTM, 1 for the RNN), ``n_states``
    (2: h and c, or 1: h), ``mode`` (torch.nn's name of the cell) and
    ``_layer`` (one layer, one direction).
    """

    gates = 1
    n_states = 1

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False,
                 device=None, dtype=None):
        super().__init__()
        self.input_size = check_positive_int(input_size, "input_size")
        self.hidden_size = check_positive_int(hidden_size, "hidden_size")
        self.num_layers = check_positive_int(num_layers, "num_layers")
        for name, flag in [("bias", bias), ("batch_first", batch_first),
                           ("bidirectional", bidirectional)]:
            if not isinstance(flag, bool):
                raise TypeError(f"{name}: expected a bool, got {flag!r}")
        check_in_range(dropout, "dropout", 0, 1)
        if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(f"dtype: expected a floating-point torch dtype (float32 or float64; "
                            f"float16 or bfloat16 also run), got {dtype!r}")
        if device is not None and not isinstance(device, (str, int, torch.device)):
            raise TypeError(f"device: expected a torch.device or its name, got {device!r}")
        if dropout > 0 and num_layers == 1:       # torch.nn's warning, in its words' spirit
            warnings.warn(f"dropout adds dropout after every recurrent layer but the last, so "
                          f"a non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers} (it has no effect)",
                          UserWarning, stacklevel=3)
        self.bias, self.batch_first, self.bidirectional = bias, batch_first, bidirectional
        self.dropout = float(dropout)
        num_directions = 2 if bidirectional else 1
        n, G = self.hidden_size, self.gates
        factory = {"device": device, "dtype": dtype}
        # Same names, shapes and registration order as torch.nn.LSTM / nn.RNN.
        for layer in range(num_layers):
            d_in = input_size if layer == 0 else n * num_directions
            for suffix in ["", "_reverse"][:num_directions]:
                setattr(self, f"weight_ih_l{layer}{suffix}",
                        nn.Parameter(torch.empty(G * n, d_in, **factory)))
                setattr(self, f"weight_hh_l{layer}{suffix}",
                        nn.Parameter(torch.empty(G * n, n, **factory)))
                if bias:
                    setattr(self, f"bias_ih_l{layer}{suffix}",
                            nn.Parameter(torch.empty(G * n, **factory)))
                    setattr(self, f"bias_hh_l{layer}{suffix}",
                            nn.Parameter(torch.empty(G * n, **factory)))
        self.register_load_state_dict_pre_hook(_refuse_non_finite)

    def check_weights(self):
        """Raise a ValueError naming the first parameter with a NaN or inf; else return self."""
        for name, p in self.named_parameters():
            check_finite(p, name)
        return self

    def flatten_parameters(self):
        """Do nothing: ``torch.nn``'s modules compact their weights for cuDNN here; these
        keep no flat buffer. It exists so that code written for ``torch.nn`` runs."""
        return None

    @property
    def all_weights(self):
        """The parameters as ``torch.nn``'s ``all_weights``: one list per layer and direction
        (layer 0, layer 0 reverse, layer 1, ...), each [weight_ih, weight_hh, bias_ih,
        bias_hh] (the two weights only when bias=False)."""
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if self.bias else [])
        directions = ["", "_reverse"] if self.bidirectional else [""]
        return [[getattr(self, f"{name}_l{layer}{suffix}") for name in names]
                for layer in range(self.num_layers) for suffix in directions]

    def reset_parameters(self):
        """Draw every weight and bias from U(-1/sqrt(n), 1/sqrt(n)), as PyTorch does."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-bound, bound)

    def _weights(self, layer, direction):
        """(W_x, W_h, b) of one layer and direction; b = bias_ih + bias_hh, or None."""
        suffix = "_reverse" if direction == 1 else ""
        W_x = getattr(self, f"weight_ih_l{layer}{suffix}")
        W_h = getattr(self, f"weight_hh_l{layer}{suffix}")
        if not self.bias:
            return W_x, W_h, None
        b = getattr(self, f"bias_ih_l{layer}{suffix}") + getattr(self, f"bias_hh_l{layer}{suffix}")
        return W_x, W_h, b

    def forward(self, input, hx=None):
        """Run every layer and direction. Returns (output, final states) like torch.nn.

        input: (T, B, d), or (B, T, d) with batch_first, or unbatched (T, d).
        output: (T, B, D*n) (D = 2 if bidirectional else 1), batch-first or unbatched to match.
        States have shape (num_layers*D, B, n), or (num_layers*D, n) unbatched.
        """
        x, states, batched = self._check_inputs(input, hx)
        if self.batch_first and batched:
            x = x.transpose(0, 1)                  # work time-major: (T, B, d)
        if not batched:
            x = x.unsqueeze(1)                     # a batch of one: (T, 1, d)
            states = [s.unsqueeze(1) for s in states]
        D = 2 if self.bidirectional else 1
        finals = []                                # one tuple of final states per (layer, direction)
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(D):
                W_x, W_h, b = self._weights(layer, direction)
                x_proj = x @ W_x.T                 # (T, B, G*n): every step in one product
                if b is not None:
                    x_proj = x_proj + b
                if direction == 1:                 # the reverse direction reads time backwards
                    x_proj = x_proj.flip(0)
                start = [s[layer * D + direction] for s in states]
                h, final = self._layer(x_proj, start, W_h)
                outputs.append(h.flip(0) if direction == 1 else h)
                finals.append(final)
            x = torch.cat(outputs, dim=2)          # the next layer's input: (T, B, D*n)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = nn.functional.dropout(x, self.dropout)   # between layers, as torch.nn
        final_states = [torch.stack(s) for s in zip(*finals)]
        if self.batch_first and batched:
            x = x.transpose(0, 1)
        if not batched:
            x = x.squeeze(1)
            final_states = [s.squeeze(1) for s in final_states]
        return x, self._pack(final_states)

    def extra_repr(self):
        """torch.nn's repr: only the arguments that differ from their defaults, in its order."""
        parts = [f"{self.input_size}, {self.hidden_size}"]
        if self.num_layers != 1:
            parts.append(f"num_layers={self.num_layers}")
        parts += self._repr_cell()
        if not self.bias:
            parts.append("bias=False")
        if self.batch_first:
            parts.append("batch_first=True")
        if self.bidirectional:
            parts.append("bidirectional=True")
        return ", ".join(parts + self._repr_extra())

    def _repr_cell(self):           # the cell's own arguments, after num_layers (nn.RNN's place)
        return []

    def _repr_extra(self):          # lstm_lib's own arguments, last
        return []

    def _check_inputs(self, input, hx):
        """Validate the input and the initial states; return (input, states, batched)."""
        if isinstance(input, nn.utils.rnn.PackedSequence):
            raise NotImplementedError(
                "PackedSequence input is not supported by lstm_lib; pass a padded "
                "tensor (T, B, d) and read each sequence's output at its own length")
        _check_tensor(input, "input")
        check_ndim(input, "input", (2, 3), "((T, B, d), or (B, T, d) with batch_first, "
                   "or unbatched (T, d))")
        batched = input.ndim == 3
        if batched:
            axes = ("B", "T", "d") if self.batch_first else ("T", "B", "d")
        else:
            axes = ("T", "d")
        check_shape(input, "input", (None,) * (input.ndim - 1) + (self.input_size,), axes)
        T = input.shape[1] if (batched and self.batch_first) else input.shape[0]
        if T == 0:
            raise ValueError(f"input: expected at least one time step, got T=0 "
                             f"in shape {tuple(input.shape)}")
        dtype, device = self._check_parameters()
        if input.dtype != dtype:
            raise TypeError(f"input: expected dtype {dtype} (the parameters' dtype), "
                            f"got {input.dtype}; convert one with .to()")
        check_device(input, "input", device, "the parameters'")
        check_finite(input, "input")

        D = 2 if self.bidirectional else 1
        B = input.shape[0 if self.batch_first else 1] if batched else None
        if hx is None:
            shape = (self.num_layers * D, B, self.hidden_size) if batched \
                else (self.num_layers * D, self.hidden_size)
            zeros = torch.zeros(shape, dtype=dtype, device=input.device)
            return input, [zeros] * self.n_states, batched
        states = self._unpack(hx)
        names = ["hx[0] (h_0)", "hx[1] (c_0)"] if self.n_states == 2 else ["hx (h_0)"]
        expected = (self.num_layers * D, B, self.hidden_size) if batched \
            else (self.num_layers * D, self.hidden_size)
        axes = ("num_layers*D", "B", "hidden_size") if batched else ("num_layers*D", "hidden_size")
        for name, s in zip(names, states):
            _check_tensor(s, name)
            check_shape(s, name, expected, axes)
            if s.dtype != dtype:
                raise TypeError(f"{name}: expected dtype {dtype} (the parameters' dtype), "
                                f"got {s.dtype}")
            check_device(s, name, device, "the parameters'")
            check_finite(s, name)
        return input, states, batched

    def _check_parameters(self):
        """Every parameter of one dtype and on one device, weight_ih_l0's; returns both."""
        first = self.weight_ih_l0
        for name, p in self.named_parameters():
            if p.dtype != first.dtype:
                raise TypeError(f"{name}: expected dtype {first.dtype} (weight_ih_l0's dtype), "
                                f"got {p.dtype}")
            check_device(p, name, first.device, "weight_ih_l0's")
        return first.dtype, first.device


class LSTM(_Recurrent):
    """A multi-layer LSTM, compatible with ``torch.nn.LSTM``.

    Per step, with rows of the batch as examples (PyTorch's g is our c_tilde)::

        i_t = sigmoid(X_t W_xi^T + H_{t-1} W_hi^T + b_i)
        f_t = sigmoid(X_t W_xf^T + H_{t-1} W_hf^T + b_f)
        c_tilde_t = tanh(X_t W_xc^T + H_{t-1} W_hc^T + b_c)
        o_t = sigmoid(X_t W_xo^T + H_{t-1} W_ho^T + b_o)
        c_t = f_t * c_{t-1} + i_t * c_tilde_t
        h_t = o_t * tanh(c_t)

    Arguments are those of ``torch.nn.LSTM`` (``dropout`` as there, between
    layers in training mode); ``proj_size`` must be 0. ``forward(input, hx=None)`` takes ``hx = (h_0, c_0)``
    and returns ``output, (h_n, c_n)``.

    forget_bias (keyword only): if set, the effective forget bias b_f, which
    is the sum of the forget blocks ``bias_ih[n:2n] + bias_hh[n:2n]``, is set
    to this value in every layer and direction, by writing it into
    ``bias_ih[n:2n]`` and zeros into ``bias_hh[n:2n]``. It is reapplied by
    ``reset_parameters()``. Needs ``bias=True``.

    fast (keyword only, default True): run each layer's time loop with
    ``fast.lstm_layer_fast`` (same function, hand-written backward pass) on
    float32/float64 CPU tensors; False runs ``lstm_layer`` under autograd.
    Both give correct second derivatives (a gradient penalty, with
    ``create_graph=True``): there the fast path's backward recomputes the
    layer under autograd. The attribute can be changed later.
    """

    gates = 4
    n_states = 2
    mode = "LSTM"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 device=None, dtype=None, *, forget_bias=None, fast=True):
        if not isinstance(fast, bool):
            raise TypeError(f"fast: expected a bool, got {fast!r}")
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError(f"proj_size: expected a non-negative integer, got {proj_size!r}")
        if proj_size != 0:
            raise NotImplementedError(
                f"proj_size > 0 (LSTM with projections) is not implemented in "
                f"lstm_lib (got proj_size={proj_size}); use proj_size=0")
        if forget_bias is not None:
            check_in_range(forget_bias, "forget_bias")
            if not bias:
                raise ValueError("forget_bias: needs bias=True, got bias=False "
                                 "(there is no bias to set)")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device, dtype)
        self.proj_size = 0
        self.forget_bias = forget_bias
        self.fast = fast
        self.reset_parameters()

    def reset_parameters(self):
        """U(-1/sqrt(n), 1/sqrt(n)) for every parameter, then the forget bias if one was given."""
        super().reset_parameters()
        if self.forget_bias is not None:
            set_forget_bias(self, self.forget_bias)

    def _layer(self, x_proj, start, W_hh):
        h0, c0 = start
        if self.fast and _fast.applies(x_proj):
            return _fast.lstm_layer_fast(x_proj, h0, c0, W_hh)   # same function, faster
        return lstm_layer(x_proj, h0, c0, W_hh)

    def _unpack(self, hx):
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            got = f"a {type(hx).__name__}" + (f" of length {len(hx)}"
                                              if isinstance(hx, (tuple, list)) else "")
            raise TypeError(f"hx: expected a tuple (h_0, c_0) of two tensors, got {got}")
        return list(hx)

    def _pack(self, final_states):
        h_n, c_n = final_states
        return (h_n, c_n)

    def _repr_extra(self):
        extra = []
        if self.forget_bias is not None:
            extra.append(f"forget_bias={self.forget_bias}")
        if not self.fast:
            extra.append("fast=False")
        return extra


class RNN(_Recurrent):
    """A multi-layer vanilla RNN, compatible with ``torch.nn.RNN``.

    Per step: H_t = tanh(X_t W_xh^T + H_{t-1} W_hh^T + b_h) (or ReLU with
    ``nonlinearity="relu"``), where ``weight_ih_l{k}`` is W_xh, ``weight_hh_l{k}``
    is W_hh and b_h = bias_ih + bias_hh. Arguments are those of ``torch.nn.RNN``
    (same positional order: nonlinearity comes fourth), ``dropout`` included.
    ``forward(input, hx=None)`` returns ``output, h_n``.
    """

    gates = 1
    n_states = 1

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh",
                 bias=True, batch_first=False, dropout=0.0, bidirectional=False,
                 device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity: expected 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device, dtype)
        self.nonlinearity = nonlinearity
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        self.reset_parameters()

    def _layer(self, x_proj, start, W_hh):
        h, h_T = rnn_layer(x_proj, start[0], W_hh, self.nonlinearity)
        return h, (h_T,)

    def _unpack(self, hx):
        if not isinstance(hx, torch.Tensor):
            raise TypeError(f"hx: expected a tensor h_0, got a {type(hx).__name__}")
        return [hx]

    def _pack(self, final_states):
        return final_states[0]

    def _repr_cell(self):
        return [f"nonlinearity={self.nonlinearity!r}"] if self.nonlinearity != "tanh" else []
