"""Dot-product attention, written from its equations (Chapter 9).

For queries Q (L, E), keys K (S, E) and values V (S, E_v), with any number
of equal leading batch axes in front::

    scores   Z = Q K^T * scale                  (L, S)    scale = 1/sqrt(E) by default
    weights  A = softmax(Z + mask) by rows      (L, S)    each row sums to 1
    output   O = A V                            (L, E_v)  row l: a weighted mean of the values

Row l of A says how much of each value row l of the output takes; a query
reads every key at once, so nothing in it runs step by step. The function
follows ``torch.nn.functional.scaled_dot_product_attention``'s conventions
(argument order, the default scale, a boolean mask where True means "may
attend", a float mask added to the scores, ``causal`` as its ``is_causal``),
and the tests hold it to that function's outputs and gradients.

:class:`SelfAttention` is one head of self-attention, time-major like the
LSTM: ``x`` (T, B, n) gives Q = x W_q^T + b_q, K = x W_k^T + b_k,
V = x W_v^T + b_v, and the output (T, B, n) is attention(Q, K, V) W_o^T + b_o.
Its parameters have the names and layout of ``torch.nn.MultiheadAttention``
with one head (``in_proj_weight`` = [W_q; W_k; W_v], (3n, n);
``out_proj.weight`` = W_o), so weights load in either direction.

Bad input gets an error naming what was expected: shapes that do not match
(nothing is broadcast silently), mixed dtypes or devices, non-finite values,
a mask of the wrong shape or dtype, and a query with no key left to attend to.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .checks import check_finite, check_floating, check_in_range, check_positive_int

__all__ = ["softmax", "attention", "causal_mask", "SelfAttention"]


def softmax(z, dim=-1):
    """exp(z) / sum(exp(z)) along ``dim``, after subtracting the maximum (no overflow).

    A row whose entries are all -inf has no maximum to subtract; :func:`attention`
    refuses such rows before they get here.
    """
    z = z - z.amax(dim=dim, keepdim=True).detach()   # the shift cancels in the ratio
    e = torch.exp(z)
    return e / e.sum(dim=dim, keepdim=True)


def causal_mask(L, S=None, device=None):
    """Boolean (L, S) mask, True where key s <= query l: each position sees itself and the past.

    The same mask as ``scaled_dot_product_attention(..., is_causal=True)``
    (lower triangular, aligned at the top left).
    """
    L = check_positive_int(L, "L")
    S = L if S is None else check_positive_int(S, "S")
    return torch.ones(L, S, dtype=torch.bool, device=device).tril()


def _tensor(x, name):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    check_floating(x, name)
    if x.ndim < 2:
        raise ValueError(f"{name}: expected at least 2 dimensions (..., rows, features), "
                         f"got {x.ndim}-D with shape {tuple(x.shape)}")
    return x


def _check_inputs(query, key, value, mask, causal, scale):
    for name, x in (("query", query), ("key", key), ("value", value)):
        _tensor(x, name)
    for name, x in (("key", key), ("value", value)):
        if x.dtype != query.dtype:
            raise TypeError(f"{name}: expected the query's dtype {query.dtype}, got {x.dtype}")
        if x.device != query.device:
            raise ValueError(f"{name}: expected the query's device {query.device}, got {x.device}")
    batch = tuple(query.shape[:-2])
    L, E = query.shape[-2:]
    S = key.shape[-2]
    if tuple(key.shape) != batch + (S, E):
        raise ValueError(f"key: expected shape (*batch={batch}, S, E={E}) to match the query "
                         f"{tuple(query.shape)}, got {tuple(key.shape)}")
    if tuple(value.shape[:-1]) != batch + (S,):
        raise ValueError(f"value: expected shape (*batch={batch}, S={S}, E_v) to match the key "
                         f"{tuple(key.shape)}, got {tuple(value.shape)}")
    if 0 in (L, S, E):
        raise ValueError(f"query, key: expected at least one query, one key and one feature, "
                         f"got L={L}, S={S}, E={E}")
    for name, x in (("query", query), ("key", key), ("value", value)):
        check_finite(x, name)
    if not isinstance(causal, bool):
        raise TypeError(f"causal: expected a bool, got {causal!r}")
    if causal and mask is not None:
        raise ValueError("mask: expected None when causal=True (the causal mask is the mask); "
                         "combine them yourself with causal_mask(L, S) & mask")
    if scale is not None:
        check_in_range(scale, "scale", 0, None, inclusive=False)
    if mask is None:
        return
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"mask: expected a torch.Tensor (bool or float) or None, "
                        f"got {type(mask).__name__}")
    if mask.dtype != torch.bool and mask.dtype != query.dtype:
        raise TypeError(f"mask: expected dtype torch.bool (True: may attend) or the query's "
                        f"dtype {query.dtype} (added to the scores), got {mask.dtype}")
    if tuple(mask.shape) not in ((L, S), batch + (L, S)):
        raise ValueError(f"mask: expected shape (L={L}, S={S}) or (*batch={batch}, L, S), "
                         f"got {tuple(mask.shape)}")
    if mask.dtype != torch.bool and bool(torch.isnan(mask).any() | (mask == math.inf).any()):
        raise ValueError("mask: a float mask may hold finite values and -inf, got NaN or +inf")


def attention(query, key, value, mask=None, causal=False, scale=None, return_weights=False):
    """Scaled dot-product attention: softmax(Q K^T * scale + mask) V, one head.

    query (*batch, L, E), key (*batch, S, E), value (*batch, S, E_v), the same
    floating dtype. mask: None; a bool tensor (L, S) or (*batch, L, S), True
    where a query may attend to a key; or a float tensor of that shape added to
    the scores (-inf: may not). causal: the mask of :func:`causal_mask`.
    scale: defaults to 1/sqrt(E). Returns the output (*batch, L, E_v), and the
    weights A (*batch, L, S) too if ``return_weights``.
    """
    _check_inputs(query, key, value, mask, causal, scale)
    if causal:
        mask = causal_mask(query.shape[-2], key.shape[-2], device=query.device)
    if mask is not None:
        allowed = mask if mask.dtype == torch.bool else mask > -math.inf
        if not bool(allowed.any(dim=-1).all()):
            raise ValueError("mask: every query needs at least one key it may attend to, "
                             "got a row of the mask that excludes every key")
    out, weights = _attend(query, key, value, mask, scale)
    return (out, weights) if return_weights else out


def _attend(query, key, value, mask=None, scale=None):
    """The arithmetic of :func:`attention`, on inputs it has checked: (output, weights)."""
    E = query.shape[-1]
    scale = 1.0 / math.sqrt(E) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale           # (*batch, L, S): every pair at once
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, -math.inf)          # may not attend: weight exactly 0
    elif mask is not None:
        scores = scores + mask
    weights = softmax(scores, dim=-1)                          # each row sums to 1
    return weights @ value, weights                            # each output row: a weighted mean


class SelfAttention(nn.Module):
    """One head of self-attention over a sequence, time-major like ``lstm_lib.LSTM``.

    x (T, B, n) -> y (T, B, n). Every position's query is compared with every
    position's key (or, with ``causal=True``, with its own and the earlier
    ones'), and the output at each position is a weighted mean of the values,
    projected by W_o. Parameters, in ``torch.nn.MultiheadAttention``'s layout
    and names for one head: ``in_proj_weight`` (3n, n) = [W_q; W_k; W_v],
    ``in_proj_bias`` (3n,), ``out_proj`` a Linear(n, n). 4n^2 + 4n in all.
    """

    def __init__(self, hidden_size, causal=False, dtype=None):
        super().__init__()
        self.hidden_size = n = check_positive_int(hidden_size, "hidden_size")
        if not isinstance(causal, bool):
            raise TypeError(f"causal: expected a bool, got {causal!r}")
        self.causal = causal
        self.in_proj_weight = nn.Parameter(torch.empty(3 * n, n, dtype=dtype))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * n, dtype=dtype))
        self.out_proj = nn.Linear(n, n, dtype=dtype)
        self.reset_parameters()

    def reset_parameters(self):
        """Xavier-uniform projections and zero biases, as torch.nn.MultiheadAttention."""
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.in_proj_bias)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x, return_weights=False):
        """x (T, B, n) -> y (T, B, n); with ``return_weights``, also A (B, T, T)."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
        n = self.hidden_size
        if x.ndim != 3 or x.shape[-1] != n:
            raise ValueError(f"x: expected shape (T, B, n={n}), got {tuple(x.shape)}")
        if x.dtype != self.in_proj_weight.dtype:
            raise TypeError(f"x: expected dtype {self.in_proj_weight.dtype} (the parameters' "
                            f"dtype), got {x.dtype}")
        if x.shape[0] == 0:
            raise ValueError(f"x: expected at least one time step, got T=0 in shape "
                             f"{tuple(x.shape)}")
        check_finite(x, "x")
        T = x.shape[0]
        xb = x.transpose(0, 1)                                  # (B, T, n): batch in front
        q, k, v = (xb @ self.in_proj_weight.T + self.in_proj_bias).chunk(3, dim=-1)
        mask = causal_mask(T, device=x.device) if self.causal else None
        out, weights = _attend(q, k, v, mask)
        y = self.out_proj(out).transpose(0, 1)                  # back to (T, B, n)
        return (y, weights) if return_weights else y

    def extra_repr(self):
        return f"{self.hidden_size}" + (", causal=True" if self.causal else "")
