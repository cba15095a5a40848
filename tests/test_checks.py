"""Tests for lstm_lib.checks: every check, its pass-through value and its message text."""
import re

import numpy as np
import pytest
import torch

from lstm_lib.checks import (check_array, check_finite, check_floating, check_in_range,
                             check_index, check_ndim, check_numpy, check_positive_int,
                             check_shape, is_tensor)


# ---------------------------------------------------------------------------
# check_floating
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("x", [np.zeros(3), np.zeros((2, 2), dtype=np.float32),
                               torch.zeros(3), torch.zeros(2, dtype=torch.float64),
                               torch.zeros(1, dtype=torch.float16),
                               torch.zeros(1, dtype=torch.bfloat16)])
def test_check_floating_accepts_and_returns_the_same_object(x):
    assert check_floating(x, "x") is x


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.complex128, np.uint8,
                                   np.float16, np.longdouble])
def test_check_floating_rejects_numpy_dtypes(dtype):
    x = np.zeros(3, dtype=dtype)
    expected = (f"x: expected a floating-point array (float32 or float64), "
                f"got dtype {np.dtype(dtype)}")
    with pytest.raises(TypeError, match="^" + re.escape(expected) + "$"):
        check_floating(x, "x")


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool, torch.uint8, torch.complex64])
def test_check_floating_rejects_torch_dtypes(dtype):
    expected = (f"weight: expected a floating-point tensor (float32 or float64; float16 or "
                f"bfloat16 also run), got dtype {dtype}")
    with pytest.raises(TypeError, match="^" + re.escape(expected) + "$"):
        check_floating(torch.zeros(3, dtype=dtype), "weight")


@pytest.mark.parametrize("x,tname", [([1.0, 2.0], "list"), (1.5, "float"), (None, "NoneType"),
                                     ((1.0,), "tuple")])
def test_check_floating_rejects_non_arrays(x, tname):
    expected = f"h0: expected a numpy array or torch tensor, got {tname}"
    with pytest.raises(TypeError, match="^" + re.escape(expected) + "$"):
        check_floating(x, "h0")


# ---------------------------------------------------------------------------
# check_finite
# ---------------------------------------------------------------------------

def test_check_finite_accepts_finite_and_returns_it():
    x = np.array([0.0, -1e300, 1e300])
    assert check_finite(x, "x") is x
    t = torch.tensor([1.0, 2.0])
    assert check_finite(t, "t") is t


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_check_finite_rejects_numpy(bad):
    x = np.zeros((2, 3))
    x[1, 2] = bad
    with pytest.raises(ValueError, match=r"^c0: expected finite values, got NaN or inf$"):
        check_finite(x, "c0")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_check_finite_rejects_torch_including_tensors_that_require_grad(bad):
    t = torch.zeros(3, requires_grad=True)
    with torch.no_grad():
        t[0] = bad
    with pytest.raises(ValueError, match=r"^input: expected finite values, got NaN or inf$"):
        check_finite(t, "input")


# ---------------------------------------------------------------------------
# check_shape
# ---------------------------------------------------------------------------

def test_check_shape_accepts_and_returns():
    x = np.zeros((5, 2, 3))
    assert check_shape(x, "x", (5, 2, 3)) is x
    assert check_shape(x, "x", (None, None, 3), ("T", "B", "d")) is x
    assert check_shape(torch.zeros(4, 4), "W", (4, 4)) is not None


@pytest.mark.parametrize("shape,expected,names,message", [
    ((5, 2, 4), (None, None, 3), ("T", "B", "d"),
     "x: expected shape (T, B, d=3), got (5, 2, 4)"),
    ((5, 3), (None, None, 3), ("T", "B", "d"),
     "x: expected shape (T, B, d=3), got (5, 3)"),
    ((3,), (2, 3), ("B", "n"), "x: expected shape (B=2, n=3), got (3,)"),
    ((4,), (3,), ("n",), "x: expected shape (n=3,), got (4,)"),
    ((4,), (3,), None, "x: expected shape (3,), got (4,)"),
    ((2, 2), (None, 3), None, "x: expected shape (*, 3), got (2, 2)"),
    ((2, 2, 1), (2, 2), None, "x: expected shape (2, 2), got (2, 2, 1)"),
    ((1, 3), (2, 3), ("B",), "x: expected shape (B=2, 3), got (1, 3)"),
])
def test_check_shape_messages(shape, expected, names, message):
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        check_shape(np.zeros(shape), "x", expected, names)


def test_check_shape_on_torch_tensor():
    with pytest.raises(ValueError, match=re.escape("h: expected shape (n=4,), got (3,)")):
        check_shape(torch.zeros(3), "h", (4,), ("n",))


# ---------------------------------------------------------------------------
# check_array: dtype, then shape, then finiteness
# ---------------------------------------------------------------------------

def test_check_array_order_of_checks():
    bad_all = np.array([[1, 2]])                      # int, wrong shape
    with pytest.raises(TypeError, match="got dtype int64"):
        check_array(bad_all, "x", (3,))
    nan_wrong_shape = np.array([[np.nan, 1.0]])
    with pytest.raises(ValueError, match=re.escape("x: expected shape (3,), got (1, 2)")):
        check_array(nan_wrong_shape, "x", (3,))
    with pytest.raises(ValueError, match="x: expected finite values, got NaN or inf"):
        check_array(np.array([np.nan, 1.0, 2.0]), "x", (3,))


def test_check_array_options():
    x = np.array([np.nan, np.inf])
    assert check_array(x, "x", (2,), finite=False) is x
    y = np.zeros((2, 5))
    assert check_array(y, "y") is y                      # no shape requirement
    with pytest.raises(ValueError, match="y: expected finite values"):
        check_array(np.array([np.inf]), "y")
    with pytest.raises(ValueError, match=re.escape("W: expected shape (n=3, d=2), got (3, 3)")):
        check_array(np.zeros((3, 3)), "W", (3, 2), ("n", "d"))


# ---------------------------------------------------------------------------
# check_ndim
# ---------------------------------------------------------------------------

def test_check_ndim_accepts_and_returns():
    x = np.zeros((2, 3))
    assert check_ndim(x, "x", (2, 3)) is x
    assert check_ndim(torch.zeros(1, 2, 3), "x", (3,)) is not None


def test_check_ndim_messages():
    with pytest.raises(ValueError, match="^" + re.escape(
            "x: expected a 3-D input, got 2-D with shape (5, 3)") + "$"):
        check_ndim(np.zeros((5, 3)), "x", (3,))
    with pytest.raises(ValueError, match="^" + re.escape(
            "input: expected a 2 or 3-D input (T, d) unbatched or (T, B, d) batched, "
            "got 1-D with shape (4,)") + "$"):
        check_ndim(np.zeros(4), "input", (2, 3), "(T, d) unbatched or (T, B, d) batched")
    with pytest.raises(ValueError, match=re.escape("got 0-D with shape ()")):
        check_ndim(torch.tensor(1.0), "s", (1,))


# ---------------------------------------------------------------------------
# check_positive_int
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("value", [1, 7, np.int64(3), np.int32(2)])
def test_check_positive_int_accepts_and_returns_a_python_int(value):
    out = check_positive_int(value, "hidden_size")
    assert out == value and type(out) is int


@pytest.mark.parametrize("value,shown", [(0, "0"), (-2, "-2"), (True, "True"), (False, "False"),
                                         (2.0, "2.0"), ("3", "'3'"), (None, "None")])
def test_check_positive_int_rejects(value, shown):
    with pytest.raises(ValueError, match="^" + re.escape(
            f"hidden_size: expected a positive integer, got {shown}") + "$"):
        check_positive_int(value, "hidden_size")


# ---------------------------------------------------------------------------
# check_in_range
# ---------------------------------------------------------------------------

def test_check_in_range_accepts_and_returns():
    assert check_in_range(0.5, "p", 0, 1) == 0.5
    assert check_in_range(0, "p", 0, 1) == 0             # closed interval by default
    assert check_in_range(1, "p", 0, 1) == 1
    assert check_in_range(np.float64(2.5), "x", low=2) == 2.5
    assert check_in_range(-1e9, "x") == -1e9              # no bounds: any finite number
    assert check_in_range(3, "x", high=3) == 3


@pytest.mark.parametrize("value,shown", [(True, "True"), (float("nan"), "nan"),
                                         (float("inf"), "inf"), ("0.5", "'0.5'"),
                                         (None, "None"), (1j, "1j")])
def test_check_in_range_rejects_non_numbers(value, shown):
    with pytest.raises(ValueError, match="^" + re.escape(
            f"dropout: expected a finite number, got {shown}") + "$"):
        check_in_range(value, "dropout", 0, 1)


@pytest.mark.parametrize("value,low,high,inclusive,message", [
    (1.5, 0, 1, True, "p: expected a value in [0, 1], got 1.5"),
    (-0.1, 0, 1, True, "p: expected a value in [0, 1], got -0.1"),
    (0, 0, 1, False, "p: expected a value in (0, 1), got 0"),
    (1, 0, 1, False, "p: expected a value in (0, 1), got 1"),
    (-1, 0, None, True, "p: expected a value in [0, None], got -1"),
    (5, None, 4, True, "p: expected a value in [None, 4], got 5"),
])
def test_check_in_range_messages(value, low, high, inclusive, message):
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        check_in_range(value, "p", low, high, inclusive=inclusive)


def test_check_in_range_open_interval_accepts_interior():
    assert check_in_range(0.5, "p", 0, 1, inclusive=False) == 0.5


# ---------------------------------------------------------------------------
# is_tensor, check_numpy, check_index
# ---------------------------------------------------------------------------

def test_is_tensor_without_importing_torch():
    assert is_tensor(torch.zeros(2)) and not is_tensor(np.zeros(2)) and not is_tensor([1.0])


def test_check_numpy_refuses_a_tensor_with_a_hint():
    x = np.zeros(2)
    assert check_numpy(x, "x") is x
    with pytest.raises(TypeError, match=re.escape("x: expected a numpy array (convert with "
                                                  ".detach().numpy()), got Tensor")):
        check_numpy(torch.zeros(2), "x")
    with pytest.raises(TypeError, match=re.escape("x: expected a numpy array, got list")):
        check_numpy([0.0], "x")


def test_check_index_bounds_and_types():
    assert check_index(np.int64(3), "t", -1, 3) == 3 and check_index(-1, "t", -1, 3) == -1
    for bad in (4, -2, 1.0, True, "1"):
        with pytest.raises(ValueError, match=re.escape(f"t: expected an integer in [-1, 3], "
                                                       f"got {bad!r}")):
            check_index(bad, "t", -1, 3)
