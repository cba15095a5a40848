"""Input validation shared by every module of ``lstm_lib``.

Bad input never silently broadcasts. Each check raises an error that names
the argument, what was expected and what was received, for example::

    ValueError: x: expected shape (T, B, d=3), got (5, 2, 4)

The checks accept numpy arrays and torch tensors alike, so the numpy
reference and the PyTorch modules share one vocabulary of errors. They never
import torch: a tensor can only exist once its caller has imported torch, so
:func:`is_tensor` looks for it in ``sys.modules`` (and ``import
lstm_lib.reference`` stays free of torch).
"""
from __future__ import annotations

import numbers
import sys

import numpy as np


def is_tensor(x) -> bool:
    """True if ``x`` is a ``torch.Tensor``; never imports torch."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _shape(x) -> tuple:
    return tuple(x.shape)


def _fmt_shape(expected, names=None) -> str:
    """Format an expected shape: ints stay ints, None becomes its name."""
    parts = []
    for k, dim in enumerate(expected):
        label = names[k] if names and k < len(names) else None
        if dim is None:
            parts.append(label or "*")
        elif label:
            parts.append(f"{label}={dim}")
        else:
            parts.append(str(dim))
    return "(" + ", ".join(parts) + (",)" if len(parts) == 1 else ")")


def check_numpy(x, name: str):
    """Require a numpy array; a tensor is refused with the hint to convert it."""
    if not isinstance(x, np.ndarray):
        hint = " (convert with .detach().numpy())" if is_tensor(x) else ""
        raise TypeError(f"{name}: expected a numpy array{hint}, got {type(x).__name__}")
    return x


def check_floating(x, name: str):
    """Require a real floating-point numpy array (float32 or float64) or torch tensor.

    A numpy array must be float32 or float64: float16 (and long double) are refused,
    as ints, bools and complex numbers are. A tensor may also be float16 or
    bfloat16, which ``torch.nn``'s recurrent modules run and so ``lstm_lib.modules``'
    do too (without the fast path).
    """
    if is_tensor(x):
        if not x.is_floating_point():
            raise TypeError(f"{name}: expected a floating-point tensor (float32 or float64; "
                            f"float16 or bfloat16 also run), got dtype {x.dtype}")
        return x
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: expected a numpy array or torch tensor, "
                        f"got {type(x).__name__}")
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name}: expected a floating-point array "
                        f"(float32 or float64), got dtype {x.dtype}")
    return x


def check_finite(x, name: str):
    """Require every entry to be finite (no NaN, no +/-inf).

    A tensor on the "meta" device has a shape and no values: nothing to check.
    """
    if is_tensor(x):
        ok = x.device.type == "meta" or bool(x.detach().isfinite().all())
    else:
        ok = bool(np.isfinite(x).all())
    if not ok:
        raise ValueError(f"{name}: expected finite values, got NaN or inf")
    return x


def check_device(x, name: str, device, whose: str):
    """Require tensor ``x`` on ``device``; ``whose`` says whose device that is.

    E.g. ``check_device(h0, "h0", W.device, "the parameters'")`` raises
    ``ValueError: h0: expected device cpu (the parameters' device), got meta; ...``.
    """
    if x.device != device:
        raise ValueError(f"{name}: expected device {device} ({whose} device), got {x.device}; "
                         f"move one with .to()")
    return x


def check_shape(x, name: str, expected, names=None):
    """Require ``x.shape`` to match ``expected`` (None matches any size).

    ``names`` labels each axis in the message, e.g. ``("T", "B", "d")``.
    """
    shape = _shape(x)
    ok = len(shape) == len(expected) and all(
        e is None or e == s for e, s in zip(expected, shape))
    if not ok:
        raise ValueError(f"{name}: expected shape {_fmt_shape(expected, names)}, "
                         f"got {shape}")
    return x


def check_array(x, name: str, expected=None, names=None, finite: bool = True):
    """The usual trio: floating dtype, then shape, then finiteness."""
    check_floating(x, name)
    if expected is not None:
        check_shape(x, name, expected, names)
    if finite:
        check_finite(x, name)
    return x


def check_ndim(x, name: str, allowed, meaning: str = ""):
    """Require ``x.ndim`` to be one of ``allowed``; ``meaning`` explains the layouts."""
    if x.ndim not in allowed:
        allowed_s = " or ".join(str(a) for a in allowed)
        extra = f" {meaning}" if meaning else ""
        raise ValueError(f"{name}: expected a {allowed_s}-D input{extra}, "
                         f"got {x.ndim}-D with shape {_shape(x)}")
    return x


def check_index(value, name: str, low: int, high: int) -> int:
    """Require an integer in [low, high] (bools are rejected)."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or not low <= value <= high):
        raise ValueError(f"{name}: expected an integer in [{low}, {high}], got {value!r}")
    return int(value)


def check_positive_int(value, name: str):
    """Require a positive integer (bools are rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def check_in_range(value, name: str, low=None, high=None, inclusive=True):
    """Require a finite real number within [low, high] (or the open interval)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    lo_bad = low is not None and (value < low if inclusive else value <= low)
    hi_bad = high is not None and (value > high if inclusive else value >= high)
    if lo_bad or hi_bad:
        lb, rb = ("[", "]") if inclusive else ("(", ")")
        raise ValueError(f"{name}: expected a value in {lb}{low}, {high}{rb}, got {value!r}")
    return value
