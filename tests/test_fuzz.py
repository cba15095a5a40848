"""Fuzzing the public entry points: every case is right or refused by name.

Hypothesis draws shapes (zero and negative sizes included where an argument
allows them), dtypes (float16/32/64, bfloat16, int, bool, complex), devices
available here (cpu, meta), non-finite values (NaN, inf in inputs, states and
weights) and argument types (lists, numpy arrays, None, strings). Each case
either equals ``torch.nn`` with the same weights (the recurrent modules) or
autograd (the numpy reference), to 1e-10 in float64, or raises a ValueError or
TypeError whose message starts with the name of the argument at fault.

Repeatable: ``derandomize=True`` (the examples follow from the test's source)
and no example database.

The recurrent modules are listed in ``CELLS``: one line adds a cell (a GRU:
``"gru": ("GRU", nn.GRU),``) once ``lstm_lib.modules`` defines it.
"""
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from torch import nn

from lstm_lib import modules, reference
from lstm_lib.weights import fuse_lstm_weights, split_lstm_weights
from helpers import assert_close

CELLS = {                     # name: (class in lstm_lib.modules, torch.nn's class)
    "lstm": ("LSTM", nn.LSTM),
    "rnn": ("RNN", nn.RNN),
}

FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=120,
                suppress_health_check=list(HealthCheck))

DTYPES = {"float64": torch.float64, "float32": torch.float32, "float16": torch.float16,
          "bfloat16": torch.bfloat16, "int64": torch.int64, "bool": torch.bool,
          "complex64": torch.complex64}
TOL = {torch.float64: 1e-10, torch.float32: 1e-5, torch.float16: 2e-2, torch.bfloat16: 1e-1}

CONSTRUCTOR_ARGS = ("input_size", "hidden_size", "num_layers", "bias", "batch_first",
                    "bidirectional", "dtype", "device")


def assert_named(err, names):
    """The error is a ValueError or TypeError whose message starts with one of ``names``."""
    assert isinstance(err, (ValueError, TypeError)), f"{type(err).__name__}: {err}"
    head = str(err).split(":")[0]
    event(f"refused: {head.split('[')[0].split(' (')[0]}")
    assert any(head == n or head.startswith(n + "[") or head.startswith(n + " (")
               or head.startswith(n + "['") for n in names), f"{type(err).__name__}: {err}"


def attempt(fn, *args, **kwargs):
    """(result, None) or (None, the exception)."""
    try:
        return fn(*args, **kwargs), None
    except Exception as e:                                   # noqa: BLE001
        return None, e


# --- the recurrent modules -----------------------------------------------------------

sizes = st.sampled_from([1, 2, 3, 0, -1, 2.5, "3", None, True])
small = st.sampled_from([1, 2, 3])


@st.composite
def module_cases(draw):
    """Half the cases are valid (sizes, types), with torch.nn's own variety (dtypes,
    devices, layouts, states, dropout); the other half draws every argument freely."""
    c = {"cell": draw(st.sampled_from(sorted(CELLS)))}
    if draw(st.booleans()):
        return valid_module_case(draw, c)
    good = draw(st.booleans())                      # a quarter: valid constructor sizes
    c["input_size"] = draw(small) if good else draw(sizes)
    c["hidden_size"] = draw(small) if good else draw(sizes)
    c["num_layers"] = draw(st.sampled_from([1, 2])) if good else draw(st.sampled_from([1, 2, 0, -1]))
    c["bias"] = draw(st.sampled_from([True, False] + ([] if good else ["yes"])))
    c["batch_first"] = draw(st.booleans())
    c["bidirectional"] = draw(st.booleans())
    c["dtype"] = draw(st.sampled_from(["float64"] * 4 + list(DTYPES)))
    c["device"] = draw(st.sampled_from(["cpu"] * 4 + ["meta"]))
    # the input
    c["x_kind"] = draw(st.sampled_from(["tensor"] * 6 + ["list", "numpy", "none", "str"]))
    c["T"] = draw(st.sampled_from([1, 2, 3, 0]))
    c["B"] = draw(st.sampled_from([1, 2, 0]))
    c["batched"] = draw(st.sampled_from([True, True, False]))
    c["d_wrong"] = draw(st.sampled_from([False] * 5 + [True]))
    c["x_dtype"] = draw(st.sampled_from(["same"] * 5 + list(DTYPES)))
    c["x_device"] = draw(st.sampled_from(["same"] * 5 + ["cpu", "meta"]))
    c["x_bad"] = draw(st.sampled_from([None] * 5 + [float("nan"), float("inf")]))
    # the initial state
    c["hx"] = draw(st.sampled_from(["none", "good", "good", "shape", "dtype", "device",
                                    "nan", "inf", "list", "str"]))
    # the weights: NaN or inf, loaded (refused) or written in place (not scanned, as torch)
    c["w_bad"] = draw(st.sampled_from([None] * 6 + ["load nan", "load inf", "set nan"]))
    c["train"] = draw(st.booleans())
    c["seed"] = draw(st.integers(0, 2**16))
    return c


def valid_module_case(draw, c):
    for k in ("input_size", "hidden_size"):
        c[k] = draw(small)
    c["num_layers"] = draw(st.sampled_from([1, 2]))
    for k in ("bias", "batch_first", "bidirectional", "batched", "train"):
        c[k] = draw(st.booleans())
    c["dtype"] = draw(st.sampled_from(["float64"] * 6 + ["float32", "float16", "bfloat16"]))
    c["device"] = draw(st.sampled_from(["cpu"] * 5 + ["meta"]))
    c["T"], c["B"] = draw(small), draw(small)
    c.update(x_kind="tensor", d_wrong=False, x_dtype="same", x_device="same", x_bad=None)
    c["hx"] = draw(st.sampled_from(["none", "good"]))
    c["w_bad"] = draw(st.sampled_from([None] * 5 + ["set nan"]))
    c["seed"] = draw(st.integers(0, 2**16))
    return c


def _states(out, theirs):
    return list(out[1]) if isinstance(theirs, nn.LSTM) else [out[1]]


def _make_hx(c, theirs, dtype, device, B, g):
    D = 2 if c["bidirectional"] else 1
    shape = (c["num_layers"] * D, B, c["hidden_size"]) if c["batched"] else \
        (c["num_layers"] * D, c["hidden_size"])
    k = 2 if isinstance(theirs, nn.LSTM) else 1
    if c["hx"] == "list":
        return [[0.0] * c["hidden_size"]] * (c["num_layers"] * D)
    if c["hx"] == "str":
        return "h0"
    states = [0.5 * torch.randn(shape, generator=g, dtype=torch.float64) for _ in range(k)]
    states = [s.to(dtype) if dtype.is_floating_point else s for s in states]
    if c["hx"] == "shape":
        states[-1] = states[-1][..., :-1] if c["hidden_size"] > 1 else states[-1][:1].repeat(
            2, *([1] * (states[-1].ndim - 1)))
    elif c["hx"] == "dtype":
        states[-1] = states[-1].to(torch.float32 if dtype == torch.float64 else torch.float64)
    elif c["hx"] in ("nan", "inf") and states[-1].numel():
        states[-1] = states[-1].clone()
        states[-1].view(-1)[0] = float(c["hx"])
    states = [s.to(device) for s in states]
    if c["hx"] == "device":
        states[-1] = torch.zeros(states[-1].shape, dtype=states[-1].dtype,
                                 device="meta" if device.type == "cpu" else "cpu")
    return tuple(states) if k == 2 else states[0]


@FUZZ
@given(module_cases())
def test_fuzz_recurrent_modules(c):
    name, ref_cls = CELLS[c["cell"]]
    cls = getattr(modules, name)
    kwargs = {k: c[k] for k in CONSTRUCTOR_ARGS}
    kwargs["dtype"] = DTYPES[c["dtype"]]
    torch.manual_seed(c["seed"])
    ours, err = attempt(cls, **kwargs)
    if err is not None:
        assert_named(err, CONSTRUCTOR_ARGS)
        return
    theirs = ref_cls(**kwargs)               # what ours accepts, torch builds too
    dtype, device = kwargs["dtype"], torch.device(c["device"])
    if device.type == "cpu":
        ours.load_state_dict(theirs.state_dict())
    if c["w_bad"] and device.type == "cpu":
        bad = float(c["w_bad"].split()[1])
        key = sorted(theirs.state_dict())[c["seed"] % len(theirs.state_dict())]
        if c["w_bad"].startswith("load"):
            state = {k: v.clone() for k, v in theirs.state_dict().items()}
            state[key].view(-1)[0] = bad
            _, err = attempt(ours.load_state_dict, state)
            assert_named(err, [key])
            return
        with torch.no_grad():                   # in place: neither module scans its weights
            getattr(ours, key).view(-1)[0] = bad
            getattr(theirs, key).view(-1)[0] = bad
    ours.train(c["train"]), theirs.train(c["train"])

    g = torch.Generator().manual_seed(c["seed"])
    d = c["input_size"] + (1 if c["d_wrong"] else 0)
    T, B = c["T"], c["B"]
    shape = ((B, T, d) if c["batch_first"] else (T, B, d)) if c["batched"] else (T, d)
    x = torch.randn(shape, generator=g, dtype=torch.float64)
    x_dtype = dtype if c["x_dtype"] == "same" else DTYPES[c["x_dtype"]]
    x = x.to(x_dtype) if x_dtype.is_floating_point else (x > 0).to(x_dtype)
    if c["x_bad"] is not None and x.numel():
        x.view(-1)[0] = c["x_bad"]
    x = x.to(device if c["x_device"] == "same" else torch.device(c["x_device"]))
    if c["x_kind"] != "tensor":
        x = {"list": lambda: x.tolist() if x.device.type == "cpu" else [1.0],
             "numpy": lambda: x.double().numpy() if x.device.type == "cpu" else np.zeros(shape),
             "none": lambda: None, "str": lambda: "x"}[c["x_kind"]]()
    hx = None if c["hx"] == "none" else _make_hx(c, theirs, dtype, device, B if c["batched"]
                                                 else None, g)

    out, err = attempt(ours, x, hx)
    if err is not None:
        params = [n for n, _ in ours.named_parameters()]
        assert_named(err, ["input", "hx"] + params)
        return
    expected, their_err = attempt(theirs, x, hx)
    assert their_err is None, f"ours ran where torch.nn raised {their_err!r}"
    a, b = [out[0]] + _states(out, theirs), [expected[0]] + _states(expected, theirs)
    for u, v in zip(a, b):
        assert u.shape == v.shape and u.dtype == v.dtype and u.device == v.device
    if device.type == "meta" or c["train"] and ours.dropout:
        event("ran: shapes, dtypes and devices as torch.nn")
        return
    event(f"ran: equal to torch.nn in {dtype}")
    for u, v in zip(a, b):
        if c["w_bad"]:
            assert torch.equal(u.isnan(), v.isnan())
            u, v = torch.nan_to_num(u), torch.nan_to_num(v)
        assert_close(u, v, TOL[dtype])


# --- the numpy reference ---------------------------------------------------------------

ARRAY_DTYPES = [np.float64] * 4 + [np.float32, np.float16, np.int64, np.bool_, np.complex128]


@st.composite
def reference_cases(draw):
    c = {"kind": draw(st.sampled_from(["lstm", "rnn"]))}
    c["d"], c["n"] = draw(small), draw(small)
    if draw(st.booleans()):                         # half the cases are valid
        c.update(T=draw(small), B=draw(small), x_form="array", x_bad=None, param=None,
                 x_dtype=draw(st.sampled_from([np.float64] * 3 + [np.float32])),
                 h0=draw(st.sampled_from(["none", "good"])), seed=draw(st.integers(0, 2**16)))
        return c
    c["T"] = draw(st.sampled_from([1, 2, 3, 0]))
    c["B"] = draw(st.sampled_from([1, 2, 0]))
    c["x_form"] = draw(st.sampled_from(["array"] * 6 + ["unbatched", "list", "tensor",
                                                          "none", "str", "wrong d"]))
    c["x_dtype"] = draw(st.sampled_from(ARRAY_DTYPES))
    c["x_bad"] = draw(st.sampled_from([None] * 5 + [np.nan, np.inf, -np.inf]))
    c["h0"] = draw(st.sampled_from(["none", "good", "good", "shape", "nan", "float16",
                                    "tensor"]))
    c["param"] = draw(st.sampled_from([None] * 6 + ["nan", "inf", "int", "missing",
                                                    "shape", "float32"]))
    c["seed"] = draw(st.integers(0, 2**16))
    return c


def _torch_run(kind, params, x, h0, c0):
    """torch.nn's module with the reference's weights, float64, and autograd's gradients
    of sum(h * weights)."""
    d, n = x.shape[2], h0.shape[1]
    if kind == "lstm":
        W_ih, W_hh, b = fuse_lstm_weights({k: torch.from_numpy(v) for k, v in params.items()})
        m = nn.LSTM(d, n, dtype=torch.float64)
    else:
        W_ih, W_hh, b = (torch.from_numpy(params[k]) for k in ("W_xh", "W_hh", "b_h"))
        m = nn.RNN(d, n, dtype=torch.float64)
    with torch.no_grad():
        m.weight_ih_l0.copy_(W_ih), m.weight_hh_l0.copy_(W_hh)
        m.bias_ih_l0.copy_(b), m.bias_hh_l0.zero_()
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    states = [torch.tensor(s, dtype=torch.float64)[None] for s in ((h0, c0) if kind == "lstm"
                                                                    else (h0,))]
    out, _ = m(xt, tuple(states) if kind == "lstm" else states[0])
    w = torch.linspace(-1, 1, out.numel(), dtype=torch.float64).reshape(out.shape)
    (out * w).sum().backward()
    return m, out.detach().numpy(), w.numpy(), xt.grad.numpy()


@FUZZ
@given(reference_cases())
def test_fuzz_reference(c):
    kind, d, n, T, B = c["kind"], c["d"], c["n"], c["T"], c["B"]
    init = reference.init_lstm_params if kind == "lstm" else reference.init_rnn_params
    forward = reference.lstm_forward if kind == "lstm" else reference.rnn_forward
    backward = reference.lstm_backward if kind == "lstm" else reference.rnn_backward
    params = init(d, n, seed=c["seed"])
    rng = np.random.default_rng(c["seed"])
    key = sorted(params)[c["seed"] % len(params)]
    if c["param"] in ("nan", "inf"):
        params[key] = params[key].copy()
        params[key].flat[0] = float(c["param"])
    elif c["param"] == "int":
        params[key] = params[key].astype(np.int64)
    elif c["param"] == "missing":
        del params[key]
    elif c["param"] == "shape":
        params[key] = params[key][..., :-1] if params[key].shape[-1] > 1 else params[key][:0]
    elif c["param"] == "float32":
        params = {k: v.astype(np.float32) for k, v in params.items()}
    x = rng.standard_normal((T, B, d + (c["x_form"] == "wrong d")))
    x = x.astype(c["x_dtype"]) if c["x_dtype"] is not np.bool_ else x > 0
    if c["x_bad"] is not None and x.size and np.issubdtype(x.dtype, np.inexact):
        x.flat[0] = c["x_bad"]
    x = {"unbatched": lambda: x[:, 0] if B else np.zeros((T, d)), "list": x.tolist,
         "tensor": lambda: torch.from_numpy(np.ascontiguousarray(x)), "none": lambda: None,
         "str": lambda: "x"}.get(c["x_form"], lambda: x)()
    h0 = {"none": None, "good": 0.5 * rng.standard_normal((B, n)),
          "shape": np.zeros((B, n + 1)), "nan": np.full((B, n), np.nan),
          "float16": np.zeros((B, n), np.float16),
          "tensor": torch.zeros(B, n, dtype=torch.float64)}[c["h0"]]
    args = (params, x, h0) + ((h0 if c["h0"] != "good" else 0.1 * h0,) if kind == "lstm"
                              else ())

    trace, err = attempt(forward, *args)
    if err is not None:
        names = ["params", "x", "h0", "c0"]
        assert_named(err, names)
        return
    # it ran: then every input was right, and it equals torch.nn (forward and backward)
    event(f"ran: equal to torch.nn and autograd in {trace.h.dtype}")
    p64 = {k: v.astype(np.float64) for k, v in params.items()}
    h0_64 = np.zeros((B, n)) if h0 is None else h0.astype(np.float64)
    c0_64 = h0_64 if c["h0"] != "good" else 0.1 * h0_64
    m, out, w, dx = _torch_run(kind, p64, x.astype(np.float64), h0_64, c0_64)
    inputs = [x, *params.values()] + ([] if h0 is None else [h0])
    tol = 1e-10 if all(a.dtype == np.float64 for a in inputs) else 1e-5   # float32 anywhere
    assert_close(trace.h, out, tol, "h")
    grads = backward(params, trace, dh=w.astype(trace.h.dtype))
    assert_close(grads["x"], dx, tol, "dL/dx")
    if kind == "lstm":
        theirs = split_lstm_weights(m.weight_ih_l0.grad, m.weight_hh_l0.grad, m.bias_ih_l0.grad)
    else:
        theirs = {"W_xh": m.weight_ih_l0.grad, "W_hh": m.weight_hh_l0.grad,
                  "b_h": m.bias_ih_l0.grad}
    for k, v in theirs.items():
        assert_close(grads[k], v, tol, f"dL/d{k}")


# --- the reference's small functions ---------------------------------------------------

values = st.one_of(st.none(), st.text(max_size=3), st.booleans(), st.integers(-5, 5),
                   st.floats(allow_nan=True, allow_infinity=True),
                   st.complex_numbers(max_magnitude=3),
                   st.lists(st.floats(-50, 50), max_size=4),
                   st.sampled_from([np.zeros(2, np.float16), np.ones(2, np.float32),
                                    np.array([1 + 1j]), np.array(["a"]), [[1.0], [1.0, 2.0]],
                                    np.arange(3)]))


@FUZZ
@given(values)
def test_fuzz_sigmoid_and_logit(z):
    s, err = attempt(reference.sigmoid, z)
    if err is not None:
        assert_named(err, ["z"])
    else:
        arr = np.asarray(z)
        t = torch.sigmoid(torch.as_tensor(arr, dtype=torch.float64))
        finite = np.isfinite(arr.astype(np.float64))
        assert s.shape == arr.shape and s.dtype in (np.float32, np.float64)
        assert_close(np.where(finite, s, 0), np.where(finite, t.numpy(), 0),
                     1e-7 if s.dtype == np.float32 else 1e-15)
    p, err = attempt(reference.logit, z)
    if err is not None:
        assert_named(err, ["p"])
    else:
        arr = np.asarray(z, dtype=np.float64)
        assert np.all((arr >= 0) & (arr <= 1))
        inner = (arr > 0) & (arr < 1)
        assert_close(np.where(inner, p, 0), np.where(inner, torch.logit(torch.as_tensor(arr))
                                                     .numpy(), 0), 1e-12)


@FUZZ
@given(st.sampled_from(["lstm", "rnn"]), sizes, sizes,
       st.one_of(st.integers(-3, 2**40), st.none(), st.text(max_size=2), st.floats(),
                 st.booleans()))
def test_fuzz_parameter_shapes_and_init(kind, d, n, seed):
    shapes_fn = reference.lstm_param_shapes if kind == "lstm" else reference.rnn_param_shapes
    init = reference.init_lstm_params if kind == "lstm" else reference.init_rnn_params
    shapes, err = attempt(shapes_fn, d, n)
    if err is not None:
        assert_named(err, ["input_size", "hidden_size"])
    params, err = attempt(init, d, n, seed=seed)
    if err is not None:
        assert_named(err, ["input_size", "hidden_size", "seed"])
        return
    assert shapes == {k: v.shape for k, v in params.items()}
    assert all(v.dtype == np.float64 and np.isfinite(v).all() for v in params.values())
