"""Tests for lstm_lib.reference: numpy forward and BPTT against torch and finite differences.

The weights are copied from torch.nn.LSTM / torch.nn.RNN by hand here
(splitting PyTorch's fused i, f, g, o blocks), so these tests do not trust
lstm_lib.weights or lstm_lib.modules.
"""
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from lstm_lib.reference import (LSTM_GATES, LSTM_PARAM_NAMES, LSTMTrace, RNN_PARAM_NAMES,
                                RNNTrace, check_lstm_params, check_lstm_trace, check_rnn_params,
                                check_rnn_trace, check_state, clip_by_norm, global_norm,
                                init_lstm_params, init_rnn_params, logit, lstm_backward,
                                lstm_forward, lstm_param_shapes, lstm_step, rnn_backward,
                                rnn_forward, rnn_param_shapes, rnn_step, sigmoid)
from helpers import assert_close

TOL_FORWARD = 1e-10   # float64, forward
TOL_BPTT = 1e-8       # float64, hand-written BPTT
TOL_FP32 = 1e-5


# ---------------------------------------------------------------------------
# torch helpers: copy weights by hand (fused order i, f, g, o)
# ---------------------------------------------------------------------------

def torch_lstm(d, n, seed, dtype=torch.float64):
    torch.manual_seed(seed)
    return torch.nn.LSTM(d, n, dtype=dtype)


def torch_rnn(d, n, seed, dtype=torch.float64):
    torch.manual_seed(seed)
    return torch.nn.RNN(d, n, nonlinearity="tanh", dtype=dtype)


def lstm_params_of(module):
    """Per-gate numpy dict from nn.LSTM layer 0: split the fused blocks, sum the biases."""
    n = module.hidden_size
    W_ih = module.weight_ih_l0.detach().numpy()
    W_hh = module.weight_hh_l0.detach().numpy()
    b = (module.bias_ih_l0 + module.bias_hh_l0).detach().numpy()
    params = {}
    for k, g in enumerate(LSTM_GATES):           # ("i", "f", "c", "o") = torch's i, f, g, o
        rows = slice(k * n, (k + 1) * n)
        params[f"W_x{g}"] = W_ih[rows].copy()
        params[f"W_h{g}"] = W_hh[rows].copy()
        params[f"b_{g}"] = b[rows].copy()
    return params


def rnn_params_of(module):
    return {"W_xh": module.weight_ih_l0.detach().numpy().copy(),
            "W_hh": module.weight_hh_l0.detach().numpy().copy(),
            "b_h": (module.bias_ih_l0 + module.bias_hh_l0).detach().numpy().copy()}


def random_inputs(T, B, d, n, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, B, d)).astype(dtype)
    h0 = rng.standard_normal((B, n)).astype(dtype) * 0.5
    c0 = rng.standard_normal((B, n)).astype(dtype) * 0.5
    return x, h0, c0


def torch_lstm_grads(module, x, h0, c0, dh, dh_T, dc_T):
    """Autograd gradients of L = <dh, h> + <dh_T, h_T> + <dc_T, c_T>, per gate."""
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0[None], requires_grad=True)
    c0t = torch.tensor(c0[None], requires_grad=True)
    module.zero_grad()
    out, (hT, cT) = module(xt, (h0t, c0t))
    loss = ((out * torch.tensor(dh)).sum() + (hT[0] * torch.tensor(dh_T)).sum()
            + (cT[0] * torch.tensor(dc_T)).sum())
    loss.backward()
    n = module.hidden_size
    grads = {}
    gih, ghh = module.weight_ih_l0.grad.numpy(), module.weight_hh_l0.grad.numpy()
    gbi, gbh = module.bias_ih_l0.grad.numpy(), module.bias_hh_l0.grad.numpy()
    # b = bias_ih + bias_hh, so both PyTorch biases get dL/db
    assert_close(gbi, gbh, 1e-12, "bias_ih.grad vs bias_hh.grad")
    for k, g in enumerate(LSTM_GATES):
        rows = slice(k * n, (k + 1) * n)
        grads[f"W_x{g}"], grads[f"W_h{g}"], grads[f"b_{g}"] = gih[rows], ghh[rows], gbi[rows]
    grads["x"] = xt.grad.numpy()
    grads["h0"] = h0t.grad.numpy()[0]
    grads["c0"] = c0t.grad.numpy()[0]
    return grads


def torch_rnn_grads(module, x, h0, dh, dh_T):
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0[None], requires_grad=True)
    module.zero_grad()
    out, hT = module(xt, h0t)
    loss = (out * torch.tensor(dh)).sum() + (hT[0] * torch.tensor(dh_T)).sum()
    loss.backward()
    assert_close(module.bias_ih_l0.grad.numpy(), module.bias_hh_l0.grad.numpy(), 1e-12, "bias grads")
    return {"W_xh": module.weight_ih_l0.grad.numpy(), "W_hh": module.weight_hh_l0.grad.numpy(),
            "b_h": module.bias_ih_l0.grad.numpy(), "x": xt.grad.numpy(),
            "h0": h0t.grad.numpy()[0]}


def lstm_forward_errors(T, B, d, n, seed):
    module = torch_lstm(d, n, seed)
    params = lstm_params_of(module)
    x, h0, c0 = random_inputs(T, B, d, n, seed)
    trace = lstm_forward(params, x, h0, c0)
    with torch.no_grad():
        out, (hT, cT) = module(torch.tensor(x), (torch.tensor(h0[None]), torch.tensor(c0[None])))
    return max(assert_close(trace.h, out.numpy(), TOL_FORWARD, "h"),
               assert_close(trace.h[-1], hT[0].numpy(), TOL_FORWARD, "h_T"),
               assert_close(trace.c[-1], cT[0].numpy(), TOL_FORWARD, "c_T"))


def lstm_backward_errors(T, B, d, n, seed):
    module = torch_lstm(d, n, seed)
    params = lstm_params_of(module)
    x, h0, c0 = random_inputs(T, B, d, n, seed)
    rng = np.random.default_rng(seed + 1)
    dh, dh_T, dc_T = (rng.standard_normal((T, B, n)), rng.standard_normal((B, n)),
                      rng.standard_normal((B, n)))
    ours = lstm_backward(params, lstm_forward(params, x, h0, c0), dh=dh, dh_T=dh_T, dc_T=dc_T)
    ref = torch_lstm_grads(module, x, h0, c0, dh, dh_T, dc_T)
    assert set(ours) == set(LSTM_PARAM_NAMES) | {"h0", "c0", "x"}
    return max(assert_close(ours[k], ref[k], TOL_BPTT, k) for k in ref)


def rnn_forward_errors(T, B, d, n, seed):
    module = torch_rnn(d, n, seed)
    params = rnn_params_of(module)
    x, h0, _ = random_inputs(T, B, d, n, seed)
    trace = rnn_forward(params, x, h0)
    with torch.no_grad():
        out, hT = module(torch.tensor(x), torch.tensor(h0[None]))
    return max(assert_close(trace.h, out.numpy(), TOL_FORWARD, "h"),
               assert_close(trace.h[-1], hT[0].numpy(), TOL_FORWARD, "h_T"))


def rnn_backward_errors(T, B, d, n, seed):
    module = torch_rnn(d, n, seed)
    params = rnn_params_of(module)
    x, h0, _ = random_inputs(T, B, d, n, seed)
    rng = np.random.default_rng(seed + 1)
    dh, dh_T = rng.standard_normal((T, B, n)), rng.standard_normal((B, n))
    ours = rnn_backward(params, rnn_forward(params, x, h0), dh=dh, dh_T=dh_T)
    ref = torch_rnn_grads(module, x, h0, dh, dh_T)
    assert set(ours) == set(RNN_PARAM_NAMES) | {"h0", "x"}
    return max(assert_close(ours[k], ref[k], TOL_BPTT, k) for k in ref)


# ---------------------------------------------------------------------------
# forward against torch
# ---------------------------------------------------------------------------

def test_lstm_forward_matches_torch_nn_lstm():
    err = lstm_forward_errors(T=12, B=4, d=5, n=7, seed=0)
    print(f"\n[measured] LSTM forward vs torch.nn.LSTM, relative max-abs diff: {err:.3g}")


def test_rnn_forward_matches_torch_nn_rnn():
    err = rnn_forward_errors(T=12, B=4, d=5, n=7, seed=1)
    print(f"\n[measured] RNN forward vs torch.nn.RNN, relative max-abs diff: {err:.3g}")


def test_lstm_forward_zero_initial_state_matches_torch_default():
    module = torch_lstm(3, 4, seed=2)
    params = lstm_params_of(module)
    x, _, _ = random_inputs(6, 2, 3, 4, seed=2)
    trace = lstm_forward(params, x)
    with torch.no_grad():
        out, _ = module(torch.tensor(x))
    assert_close(trace.h, out.numpy(), TOL_FORWARD, "h")
    assert np.all(trace.h0 == 0) and np.all(trace.c0 == 0)


def test_lstm_step_matches_torch_lstm_cell_and_forward():
    torch.manual_seed(3)
    cell = torch.nn.LSTMCell(3, 5, dtype=torch.float64)
    n = 5
    params = {}
    for k, g in enumerate(LSTM_GATES):
        rows = slice(k * n, (k + 1) * n)
        params[f"W_x{g}"] = cell.weight_ih.detach().numpy()[rows].copy()
        params[f"W_h{g}"] = cell.weight_hh.detach().numpy()[rows].copy()
        params[f"b_{g}"] = (cell.bias_ih + cell.bias_hh).detach().numpy()[rows].copy()
    x, h0, c0 = random_inputs(1, 4, 3, 5, seed=3)
    step = lstm_step(params, x[0], h0, c0)
    with torch.no_grad():
        h1, c1 = cell(torch.tensor(x[0]), (torch.tensor(h0), torch.tensor(c0)))
    assert_close(step["h"], h1.numpy(), TOL_FORWARD, "h")
    assert_close(step["c"], c1.numpy(), TOL_FORWARD, "c")
    trace = lstm_forward(params, x, h0, c0)
    for k in ("f", "i", "c_tilde", "o", "c", "h"):
        np.testing.assert_array_equal(getattr(trace, k)[0], step[k])


def test_lstm_trace_obeys_the_cell_equations():
    params = init_lstm_params(3, 4, seed=4)
    x, h0, c0 = random_inputs(5, 2, 3, 4, seed=4)
    tr = lstm_forward(params, x, h0, c0)
    for t in range(5):
        h_prev, c_prev = tr.h_prev(t), tr.c_prev(t)
        pre = {g: x[t] @ params[f"W_x{g}"].T + h_prev @ params[f"W_h{g}"].T + params[f"b_{g}"]
               for g in LSTM_GATES}
        np.testing.assert_allclose(tr.f[t], 1 / (1 + np.exp(-pre["f"])), rtol=1e-14)
        np.testing.assert_allclose(tr.i[t], 1 / (1 + np.exp(-pre["i"])), rtol=1e-14)
        np.testing.assert_allclose(tr.o[t], 1 / (1 + np.exp(-pre["o"])), rtol=1e-14)
        np.testing.assert_allclose(tr.c_tilde[t], np.tanh(pre["c"]), rtol=1e-14)
        np.testing.assert_allclose(tr.c[t], tr.f[t] * c_prev + tr.i[t] * tr.c_tilde[t],
                                   rtol=1e-14)
        np.testing.assert_allclose(tr.h[t], tr.o[t] * np.tanh(tr.c[t]), rtol=1e-14)
    assert tr.h_prev(0) is tr.h0 and tr.c_prev(0) is tr.c0
    for gate in (tr.f, tr.i, tr.o):
        assert np.all((gate > 0) & (gate < 1))


def test_rnn_trace_and_step():
    params = init_rnn_params(3, 4, seed=5)
    x, h0, _ = random_inputs(5, 2, 3, 4, seed=5)
    tr = rnn_forward(params, x, h0)
    assert isinstance(tr, RNNTrace)
    for t in range(5):
        step = rnn_step(params, x[t], tr.h_prev(t))
        np.testing.assert_array_equal(step["a"], tr.a[t])
        np.testing.assert_array_equal(step["h"], tr.h[t])
        np.testing.assert_array_equal(tr.h[t], np.tanh(tr.a[t]))


def test_float32_is_kept_and_close_to_torch_float32():
    module = torch_lstm(3, 4, seed=6, dtype=torch.float32)
    params = lstm_params_of(module)
    assert all(p.dtype == np.float32 for p in params.values())
    x, h0, c0 = random_inputs(8, 2, 3, 4, seed=6, dtype=np.float32)
    tr = lstm_forward(params, x, h0, c0)
    for k in ("f", "i", "c_tilde", "o", "c", "h"):
        assert getattr(tr, k).dtype == np.float32, k
    with torch.no_grad():
        out, _ = module(torch.tensor(x), (torch.tensor(h0[None]), torch.tensor(c0[None])))
    assert_close(tr.h, out.numpy(), TOL_FP32, "h float32")
    grads = lstm_backward(params, tr, dh=np.ones_like(tr.h))
    assert all(g.dtype == np.float32 for g in grads.values())
    rtr = rnn_forward({"W_xh": params["W_xi"], "W_hh": params["W_hi"], "b_h": params["b_i"]}, x)
    assert rtr.h.dtype == np.float32 and rtr.a.dtype == np.float32


# ---------------------------------------------------------------------------
# BPTT against autograd
# ---------------------------------------------------------------------------

def test_lstm_backward_matches_autograd():
    err = lstm_backward_errors(T=10, B=3, d=4, n=6, seed=7)
    print(f"\n[measured] LSTM BPTT vs torch autograd, relative max-abs diff: {err:.3g}")


def test_rnn_backward_matches_autograd():
    err = rnn_backward_errors(T=10, B=3, d=4, n=6, seed=8)
    print(f"\n[measured] RNN BPTT vs torch autograd, relative max-abs diff: {err:.3g}")


@pytest.mark.parametrize("which", ["dh", "dh_T", "dc_T"])
def test_lstm_backward_single_upstream_gradient(which):
    """Each upstream gradient alone: the others default to zero."""
    T, B, d, n = 4, 2, 3, 3
    module = torch_lstm(d, n, seed=9)
    params = lstm_params_of(module)
    x, h0, c0 = random_inputs(T, B, d, n, seed=9)
    rng = np.random.default_rng(9)
    up = {"dh": np.zeros((T, B, n)), "dh_T": np.zeros((B, n)), "dc_T": np.zeros((B, n))}
    up[which] = rng.standard_normal(up[which].shape)
    ours = lstm_backward(params, lstm_forward(params, x, h0, c0), **{which: up[which]})
    ref = torch_lstm_grads(module, x, h0, c0, up["dh"], up["dh_T"], up["dc_T"])
    for k in ref:
        assert_close(ours[k], ref[k], TOL_BPTT, k)
    if which == "dc_T" and T == 4:
        # with only dc_T, nothing reaches h_T: dL/dW_xo comes only from earlier steps
        assert np.any(ours["W_xo"] != 0)


def test_rnn_backward_only_final_state_gradient():
    T, B, d, n = 5, 2, 2, 3
    module = torch_rnn(d, n, seed=10)
    params = rnn_params_of(module)
    x, h0, _ = random_inputs(T, B, d, n, seed=10)
    dh_T = np.random.default_rng(10).standard_normal((B, n))
    ours = rnn_backward(params, rnn_forward(params, x, h0), dh_T=dh_T)
    ref = torch_rnn_grads(module, x, h0, np.zeros((T, B, n)), dh_T)
    for k in ref:
        assert_close(ours[k], ref[k], TOL_BPTT, k)


# ---------------------------------------------------------------------------
# BPTT against central finite differences (does not trust autograd)
# ---------------------------------------------------------------------------

def _finite_difference(loss, arrays, eps=1e-6):
    """Central differences of loss() with respect to every entry of every array (in place)."""
    grads = {}
    for name, arr in arrays.items():
        g = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + eps
            up = loss()
            arr[idx] = old - eps
            down = loss()
            arr[idx] = old
            g[idx] = (up - down) / (2 * eps)
        grads[name] = g
    return grads


def test_lstm_backward_matches_finite_differences():
    T, B, d, n = 3, 2, 2, 3
    params = init_lstm_params(d, n, seed=11, forget_bias=1.0)
    x, h0, c0 = random_inputs(T, B, d, n, seed=11)
    rng = np.random.default_rng(12)
    dh, dh_T, dc_T = (rng.standard_normal((T, B, n)), rng.standard_normal((B, n)),
                      rng.standard_normal((B, n)))

    def loss():
        tr = lstm_forward(params, x, h0, c0)
        return np.sum(dh * tr.h) + np.sum(dh_T * tr.h[-1]) + np.sum(dc_T * tr.c[-1])

    ours = lstm_backward(params, lstm_forward(params, x, h0, c0), dh=dh, dh_T=dh_T, dc_T=dc_T)
    fd = _finite_difference(loss, {**params, "x": x, "h0": h0, "c0": c0})
    for k in fd:
        assert_close(ours[k], fd[k], 1e-6, k)


def test_rnn_backward_matches_finite_differences():
    T, B, d, n = 4, 2, 2, 3
    params = init_rnn_params(d, n, seed=13, scale=0.8)
    x, h0, _ = random_inputs(T, B, d, n, seed=13)
    rng = np.random.default_rng(14)
    dh, dh_T = rng.standard_normal((T, B, n)), rng.standard_normal((B, n))

    def loss():
        tr = rnn_forward(params, x, h0)
        return np.sum(dh * tr.h) + np.sum(dh_T * tr.h[-1])

    ours = rnn_backward(params, rnn_forward(params, x, h0), dh=dh, dh_T=dh_T)
    fd = _finite_difference(loss, {**params, "x": x, "h0": h0})
    for k in fd:
        assert_close(ours[k], fd[k], 1e-6, k)


# ---------------------------------------------------------------------------
# property tests over random sizes, size-1 edges included
# ---------------------------------------------------------------------------

sizes = st.integers(min_value=1, max_value=4)


@settings(max_examples=25, deadline=None)
@given(T=sizes, B=sizes, d=sizes, n=sizes, seed=st.integers(0, 2**16))
def test_property_lstm_forward_and_backward_match_torch(T, B, d, n, seed):
    lstm_forward_errors(T, B, d, n, seed)
    lstm_backward_errors(T, B, d, n, seed)


@settings(max_examples=25, deadline=None)
@given(T=sizes, B=sizes, d=sizes, n=sizes, seed=st.integers(0, 2**16))
def test_property_rnn_forward_and_backward_match_torch(T, B, d, n, seed):
    rnn_forward_errors(T, B, d, n, seed)
    rnn_backward_errors(T, B, d, n, seed)


@settings(max_examples=25, deadline=None)
@given(T=sizes, B=sizes, d=sizes, n=sizes, seed=st.integers(0, 2**16))
def test_property_backward_is_linear_in_upstream_gradients(T, B, d, n, seed):
    """Gradients of L1 + L2 are the sums: a check with no reference implementation."""
    params = init_lstm_params(d, n, seed=seed)
    x, h0, c0 = random_inputs(T, B, d, n, seed)
    tr = lstm_forward(params, x, h0, c0)
    rng = np.random.default_rng(seed)
    dh = rng.standard_normal((T, B, n))
    dc_T = rng.standard_normal((B, n))
    g1 = lstm_backward(params, tr, dh=dh)
    g2 = lstm_backward(params, tr, dc_T=dc_T)
    g12 = lstm_backward(params, tr, dh=dh, dc_T=dc_T)
    for k in g12:
        assert_close(g12[k], g1[k] + g2[k], 1e-12, k)


# ---------------------------------------------------------------------------
# initialisation and sigmoid
# ---------------------------------------------------------------------------

def test_init_rnn_params_shapes_range_and_seed():
    p = init_rnn_params(3, 16, seed=0)
    assert {k: v.shape for k, v in p.items()} == rnn_param_shapes(3, 16)
    assert {k: v.shape for k, v in p.items()} == {"W_xh": (16, 3), "W_hh": (16, 16),
                                                  "b_h": (16,)}
    bound = 1 / np.sqrt(16)
    for v in p.values():
        assert v.dtype == np.float64 and np.all(np.abs(v) <= bound)
    assert np.max(np.abs(p["W_hh"])) > 0.8 * bound   # the range is used, not a tiny corner
    q = init_rnn_params(3, 16, seed=0)
    assert all(np.array_equal(p[k], q[k]) for k in p)
    r = init_rnn_params(3, 16, seed=1)
    assert not np.array_equal(p["W_hh"], r["W_hh"])
    s = init_rnn_params(3, 16, seed=0, scale=2.0)
    assert np.max(np.abs(s["W_hh"])) > 1.0 and np.all(np.abs(s["W_hh"]) <= 2.0)
    assert check_rnn_params(p) == (3, 16)


def test_init_lstm_params_shapes_and_forget_bias():
    p = init_lstm_params(2, 5, seed=3)
    assert tuple(p) == LSTM_PARAM_NAMES
    assert {k: v.shape for k, v in p.items()} == lstm_param_shapes(2, 5)
    assert all(np.all(np.abs(v) <= 1 / np.sqrt(5)) for v in p.values())
    q = init_lstm_params(2, 5, seed=3, forget_bias=1.0)
    np.testing.assert_array_equal(q["b_f"], np.ones(5))
    for k in LSTM_PARAM_NAMES:
        if k != "b_f":
            np.testing.assert_array_equal(p[k], q[k])
    assert check_lstm_params(q) == (2, 5)


def test_lstm_forget_bias_one_moves_f_to_sigmoid_one_on_average():
    p = init_lstm_params(4, 64, seed=0, forget_bias=1.0)
    x = np.zeros((1, 1, 4))
    tr = lstm_forward(p, x)                   # zero input and state: f = sigma(b_f) exactly
    np.testing.assert_allclose(tr.f[0, 0], 1 / (1 + np.exp(-1.0)), rtol=1e-15)


def test_sigmoid_is_stable_and_exact():
    z = np.array([-1000.0, -50.0, -1.0, 0.0, 1.0, 50.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow to 0 is fine
        s = sigmoid(z)
    assert s[0] == 0.0 and s[-1] == 1.0 and s[3] == 0.5
    mid = np.linspace(-30, 30, 121)
    np.testing.assert_allclose(sigmoid(mid), 1 / (1 + np.exp(-mid)), rtol=1e-14)
    np.testing.assert_allclose(sigmoid(mid) + sigmoid(-mid), 1.0, rtol=1e-15)
    assert sigmoid(np.float32(2.0)).dtype == np.float32
    assert sigmoid(np.zeros(3, dtype=np.float32)).dtype == np.float32
    assert sigmoid(0) == 0.5


# ---------------------------------------------------------------------------
# bad input: every case, with its message
# ---------------------------------------------------------------------------

@pytest.fixture
def lstm_setup():
    params = init_lstm_params(3, 4, seed=0)
    x, h0, c0 = random_inputs(5, 2, 3, 4, seed=0)
    return params, x, h0, c0


@pytest.fixture
def rnn_setup():
    params = init_rnn_params(3, 4, seed=0)
    x, h0, _ = random_inputs(5, 2, 3, 4, seed=0)
    return params, x, h0


def test_unbatched_x_is_rejected_with_a_hint(lstm_setup, rnn_setup):
    params, x, h0, c0 = lstm_setup
    with pytest.raises(ValueError, match=r"x: expected a 3-D input \(T, B, d\).*"
                       r"x\[:, None, :\], got 2-D with shape \(5, 3\)"):
        lstm_forward(params, x[:, 0, :])
    with pytest.raises(ValueError, match=r"x: expected a 3-D input.*got 4-D"):
        rnn_forward(rnn_setup[0], x[None])


def test_wrong_feature_size(lstm_setup, rnn_setup):
    params, x, _, _ = lstm_setup
    bad = np.zeros((5, 2, 4))
    with pytest.raises(ValueError, match=r"x: expected shape \(T, B, d=3\), got \(5, 2, 4\)"):
        lstm_forward(params, bad)
    with pytest.raises(ValueError, match=r"x: expected shape \(T, B, d=3\), got \(5, 2, 4\)"):
        rnn_forward(rnn_setup[0], bad)


def test_empty_sequence_or_batch(lstm_setup):
    params = lstm_setup[0]
    with pytest.raises(ValueError, match=r"x: expected at least one time step.*got shape "
                       r"\(0, 2, 3\)"):
        lstm_forward(params, np.zeros((0, 2, 3)))
    with pytest.raises(ValueError, match=r"T >= 1, B >= 1\), got shape \(5, 0, 3\)"):
        rnn_forward(init_rnn_params(3, 4), np.zeros((5, 0, 3)))


def test_state_shapes_must_match(lstm_setup, rnn_setup):
    params, x, h0, c0 = lstm_setup
    with pytest.raises(ValueError, match=r"h0: expected shape \(B=2, n=4\), got \(4,\)"):
        lstm_forward(params, x, h0[0], c0)
    with pytest.raises(ValueError, match=r"c0: expected shape \(B=2, n=4\), got \(3, 4\)"):
        lstm_forward(params, x, h0, np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"h0: expected shape \(B=2, n=4\), got \(1, 2, 4\)"):
        rnn_forward(rnn_setup[0], x, h0[None])
    with pytest.raises(ValueError, match=r"h_prev: expected shape \(B=2, n=4\), got \(2, 5\)"):
        lstm_step(params, x[0], np.zeros((2, 5)), c0)
    with pytest.raises(ValueError, match=r"c_prev: expected shape \(B=2, n=4\), got \(1, 4\)"):
        lstm_step(params, x[0], h0, c0[:1])
    with pytest.raises(ValueError, match=r"h_prev: expected shape \(B=2, n=4\), got \(2, 3\)"):
        rnn_step(rnn_setup[0], x[0], np.zeros((2, 3)))


def test_step_input_rank(lstm_setup, rnn_setup):
    params, x, h0, c0 = lstm_setup
    with pytest.raises(ValueError, match=r"x_t: expected a 2-D input \(B, d\).*got 3-D"):
        lstm_step(params, x, h0, c0)
    with pytest.raises(ValueError, match=r"x_t: expected shape \(B, d=3\), got \(2, 2\)"):
        rnn_step(rnn_setup[0], x[0, :, :2], h0)


def test_non_floating_dtypes(lstm_setup, rnn_setup):
    params, x, h0, c0 = lstm_setup
    with pytest.raises(TypeError, match=r"x: expected a floating-point array .*got dtype int64"):
        lstm_forward(params, x.astype(np.int64))
    with pytest.raises(TypeError, match=r"h0: expected a floating-point array .*got dtype bool"):
        rnn_forward(rnn_setup[0], x, h0 > 0)
    bad = dict(params, W_hf=params["W_hf"].astype(np.int32))
    with pytest.raises(TypeError, match=r"params\['W_hf'\]: expected a floating-point array"
                       r".*got dtype int32"):
        lstm_forward(bad, x)
    with pytest.raises(TypeError, match=r"x: expected a numpy array, got list"):
        lstm_forward(params, x.tolist())
    with pytest.raises(TypeError, match=r"x: expected a numpy array \(convert with "
                       r"\.detach\(\)\.numpy\(\)\), got Tensor"):
        lstm_forward(params, torch.tensor(x))
    with pytest.raises(TypeError, match=r"params\['W_hh'\]: expected a numpy array.*got Tensor"):
        rnn_forward(dict(rnn_setup[0], W_hh=torch.zeros(4, 4, dtype=torch.float64)), x)


@pytest.mark.parametrize("where", ["x", "h0", "c0", "param"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_rejected(lstm_setup, where, bad):
    params, x, h0, c0 = (lstm_setup[0].copy(), lstm_setup[1].copy(), lstm_setup[2].copy(),
                         lstm_setup[3].copy())
    arrays = {"x": x, "h0": h0, "c0": c0, "param": params["b_o"].copy()}
    arrays[where][(0,) * arrays[where].ndim] = bad
    params["b_o"] = arrays["param"]
    name = {"param": r"params\['b_o'\]"}.get(where, where)
    with pytest.raises(ValueError, match=name + r": expected finite values, got NaN or inf"):
        lstm_forward(params, x, h0, c0)


def test_rnn_nan_parameter(rnn_setup):
    params, x, h0 = rnn_setup
    W = params["W_hh"].copy()
    W[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"params\['W_hh'\]: expected finite values"):
        rnn_forward(dict(params, W_hh=W), x, h0)


def test_missing_and_extra_parameter_keys(lstm_setup, rnn_setup):
    params, x, _, _ = lstm_setup
    missing = {k: v for k, v in params.items() if k != "W_hf"}
    with pytest.raises(ValueError, match=r"params: missing \['W_hf'\]; an LSTM needs exactly "
                       r"W_xi, W_hi, b_i, W_xf, W_hf"):
        lstm_forward(missing, x)
    extra = dict(params, W_xg=params["W_xc"])
    with pytest.raises(ValueError, match=r"params: unexpected \['W_xg'\]; an LSTM needs"):
        lstm_forward(extra, x)
    both = dict(missing, bias=np.zeros(4))
    with pytest.raises(ValueError, match=r"missing \['W_hf'\] and unexpected \['bias'\]"):
        lstm_forward(both, x)
    with pytest.raises(ValueError, match=r"params: missing \['W_xh', 'W_hh', 'b_h'\] and "
                       r"unexpected .*; an RNN needs exactly W_xh, W_hh, b_h"):
        rnn_forward(params, x)          # LSTM params given to the RNN
    with pytest.raises(TypeError, match=r"params: expected a dict of RNN parameters "
                       r"W_xh, W_hh, b_h, got list"):
        rnn_forward([rnn_setup[0]["W_xh"]], x)


def test_wrongly_shaped_parameters(lstm_setup, rnn_setup):
    params, x, _, _ = lstm_setup
    with pytest.raises(ValueError, match=r"params\['W_ho'\]: expected shape \(n=4, n=4\), "
                       r"got \(4, 3\)"):
        lstm_forward(dict(params, W_ho=np.zeros((4, 3))), x)
    with pytest.raises(ValueError, match=r"params\['b_c'\]: expected shape \(n=4,\), "
                       r"got \(1, 4\)"):
        lstm_forward(dict(params, b_c=np.zeros((1, 4))), x)
    with pytest.raises(ValueError, match=r"params\['W_xf'\]: expected shape \(n=4, d=3\), "
                       r"got \(4, 2\)"):
        lstm_forward(dict(params, W_xf=np.zeros((4, 2))), x)
    with pytest.raises(ValueError, match=r"params\['W_xi'\]: expected a 2-D input "
                       r"\(hidden_size n, input_size d\), got 1-D"):
        lstm_forward(dict(params, W_xi=np.zeros(4)), x)
    with pytest.raises(ValueError, match=r"params\['W_hh'\]: expected shape \(n=4, n=4\), "
                       r"got \(4, 5\)"):
        rnn_forward(dict(rnn_setup[0], W_hh=np.zeros((4, 5))), x)
    with pytest.raises(ValueError, match=r"params\['W_xh'\]: expected shape \(n, d\) with "
                       r"n >= 1 and d >= 1, got \(0, 3\)"):
        rnn_forward(dict(rnn_setup[0], W_xh=np.zeros((0, 3))), x)


def test_backward_bad_inputs(lstm_setup, rnn_setup):
    params, x, h0, c0 = lstm_setup
    tr = lstm_forward(params, x, h0, c0)
    with pytest.raises(ValueError, match=r"no upstream gradient: give at least one of "
                       r"dh \(T, B, n\), dh_T \(B, n\) or dc_T \(B, n\)"):
        lstm_backward(params, tr)
    with pytest.raises(ValueError, match=r"no upstream gradient: give at least one of "
                       r"dh \(T, B, n\), dh_T \(B, n\);"):
        rnn_backward(rnn_setup[0], rnn_forward(rnn_setup[0], x))
    with pytest.raises(ValueError, match=r"dh: expected shape \(T=5, B=2, n=4\), got \(5, 4\)"):
        lstm_backward(params, tr, dh=np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"dh_T: expected shape \(B=2, n=4\), got \(4,\)"):
        lstm_backward(params, tr, dh_T=np.zeros(4))
    with pytest.raises(ValueError, match=r"dc_T: expected finite values"):
        lstm_backward(params, tr, dc_T=np.full((2, 4), np.nan))
    with pytest.raises(TypeError, match=r"dh: expected a floating-point array .*int64"):
        lstm_backward(params, tr, dh=np.zeros((5, 2, 4), dtype=np.int64))
    with pytest.raises(TypeError, match=r"trace: expected a LSTMTrace from the forward pass, "
                       r"got RNNTrace"):
        lstm_backward(params, rnn_forward(rnn_setup[0], x), dh_T=np.zeros((2, 4)))
    with pytest.raises(TypeError, match=r"trace: expected a RNNTrace .*got LSTMTrace"):
        rnn_backward(rnn_setup[0], tr, dh_T=np.zeros((2, 4)))
    other = init_lstm_params(3, 5, seed=0)          # n = 5 params, n = 4 trace
    with pytest.raises(ValueError, match=r"trace.h0: expected shape \(B=2, n=5\), got \(2, 4\)"):
        lstm_backward(other, tr, dh_T=np.zeros((2, 5)))


def test_init_bad_arguments():
    with pytest.raises(ValueError, match=r"hidden_size: expected a positive integer, got 0"):
        init_lstm_params(3, 0)
    with pytest.raises(ValueError, match=r"input_size: expected a positive integer, got 2.5"):
        init_rnn_params(2.5, 3)
    with pytest.raises(ValueError, match=r"forget_bias: expected a finite number, got nan"):
        init_lstm_params(3, 4, forget_bias=float("nan"))
    with pytest.raises(ValueError, match=r"scale: expected a value in \[0.0, None\], got -1"):
        init_rnn_params(3, 4, scale=-1)


def test_traces_are_dataclasses_with_documented_fields(lstm_setup):
    params, x, h0, c0 = lstm_setup
    tr = lstm_forward(params, x, h0, c0)
    assert isinstance(tr, LSTMTrace)
    assert list(vars(tr)) == ["x", "h0", "c0", "f", "i", "c_tilde", "o", "c", "h"]
    rtr = rnn_forward(init_rnn_params(3, 4), x)
    assert list(vars(rtr)) == ["x", "h0", "a", "h"]
    assert rtr.a.shape == rtr.h.shape == (5, 2, 4)


# ---------------------------------------------------------------------------
# logit: the one inverse of the sigmoid
# ---------------------------------------------------------------------------

def test_logit_inverts_the_sigmoid():
    z = np.linspace(-6, 6, 13)
    assert_close(logit(sigmoid(z)), z, 1e-9)
    p = np.array([0.01, 0.27, 0.5, 0.73, 0.99])
    assert_close(sigmoid(logit(p)), p)
    assert isinstance(logit(0.25), float) and logit(0.5) == 0.0


def test_logit_maps_the_ends_to_infinity_and_the_caller_clips():
    """sigma reaches neither 0 nor 1: the ends are -inf and +inf; a caller that needs a
    finite pre-activation clips (40 is enough for sigma(z) == 1.0 in float64)."""
    assert logit(1.0) == np.inf and logit(0.0) == -np.inf
    z = np.clip(logit(np.array([0.0, 0.5, 1.0])), -40.0, 40.0)
    assert list(z) == [-40.0, 0.0, 40.0] and sigmoid(np.float64(40.0)) == 1.0
    for bad in (1.5, -0.1, float("nan"), np.array([0.5, 2.0])):
        with pytest.raises(ValueError, match=r"p: expected values in \[0, 1\]"):
            logit(bad)


# ---------------------------------------------------------------------------
# public checks of states and traces (used by jacobians and the chapters)
# ---------------------------------------------------------------------------

def test_check_state_gives_zeros_or_validates():
    z = check_state(None, "h0", 2, 3, np.float32)
    assert z.shape == (2, 3) and z.dtype == np.float32 and not z.any()
    s = np.ones((2, 3))
    assert check_state(s, "h0", 2, 3) is s
    with pytest.raises(ValueError, match=r"h0: expected shape \(B=2, n=3\), got \(3, 2\)"):
        check_state(np.ones((3, 2)), "h0", 2, 3)
    with pytest.raises(TypeError, match=r"dh_T: expected a numpy array \(convert with "
                                        r"\.detach\(\)\.numpy\(\)\), got Tensor"):
        check_state(torch.ones(2, 3), "dh_T", 2, 3)


def test_check_trace_returns_the_sizes_and_refuses_the_other_kind():
    p, x = init_lstm_params(3, 4, seed=0), np.zeros((5, 2, 3))
    assert check_lstm_trace(p, lstm_forward(p, x)) == (5, 2, 3, 4)
    q = init_rnn_params(3, 4, seed=0)
    assert check_rnn_trace(q, rnn_forward(q, x)) == (5, 2, 3, 4)
    with pytest.raises(TypeError, match="trace: expected a LSTMTrace from the forward pass, "
                                        "got RNNTrace"):
        check_lstm_trace(p, rnn_forward(q, x))


# --------------------------------------------------------------- clipping

def torch_clip(grads, max_norm):
    params = []
    for g in grads:
        p = torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64))
        p.grad = torch.from_numpy(g.copy())
        params.append(p)
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return [p.grad.numpy() for p in params], float(total)


@pytest.mark.parametrize("scale,max_norm", [(10.0, 1.0), (1e3, 5.0), (0.01, 1.0), (1.0, 0.5)])
def test_clip_by_norm_matches_torch_clip_grad_norm(scale, max_norm):
    rng = np.random.default_rng(0)
    grads = [scale * rng.standard_normal(s) for s in [(8, 3), (8, 8), (8,)]]
    expect, total = torch_clip(grads, max_norm)
    assert abs(global_norm(grads) - total) <= 1e-12 * max(1.0, total)
    got = clip_by_norm(grads, max_norm, eps=1e-6)          # PyTorch's epsilon
    for a, b in zip(got, expect):
        assert_close(a, b, tol=1e-12)
    exact = clip_by_norm(grads, max_norm)                  # eps = 0: norm exactly tau
    assert abs(global_norm(exact) - min(total, max_norm)) <= 1e-12 * max_norm


def test_clip_by_norm_keeps_direction_keys_and_input():
    p = init_rnn_params(3, 8, seed=0)
    p["W_hh"] = 2.0 * p["W_hh"] / np.linalg.norm(p["W_hh"], 2)         # large enough to clip
    tr = rnn_forward(p, np.random.default_rng(1).standard_normal((40, 4, 3)))
    full = rnn_backward(p, tr, dh_T=np.ones((4, 8)))
    g = {k: full[k] for k in ("W_xh", "W_hh", "b_h")}
    assert global_norm(g) > 1.0
    before = {k: a.copy() for k, a in g.items()}
    out = clip_by_norm(g, 1.0)
    assert list(out) == ["W_xh", "W_hh", "b_h"]
    for k in g:
        np.testing.assert_array_equal(g[k], before[k])       # not modified in place
    flat_in = np.concatenate([a.ravel() for a in g.values()])
    flat_out = np.concatenate([a.ravel() for a in out.values()])
    cos = flat_in @ flat_out / (np.linalg.norm(flat_in) * np.linalg.norm(flat_out))
    assert abs(cos - 1.0) < 1e-12
    assert abs(np.linalg.norm(flat_out) - 1.0) < 1e-12
    small = {k: a * 1e-6 for k, a in g.items()}               # below tau: untouched
    for k, a in clip_by_norm(small, 1.0).items():
        np.testing.assert_array_equal(a, small[k])
    zero = [np.zeros(3)]
    np.testing.assert_array_equal(clip_by_norm(zero, 1.0)[0], zero[0])


def test_clip_by_norm_errors_are_clear():
    with pytest.raises(ValueError, match="max_norm"):
        clip_by_norm([np.ones(2)], 0.0)
    with pytest.raises(ValueError, match="max_norm"):
        clip_by_norm([np.ones(2)], -1.0)
    with pytest.raises(ValueError, match="at least one"):
        clip_by_norm([], 1.0)
    with pytest.raises(TypeError, match="floating"):
        clip_by_norm([np.ones(2, dtype=int)], 1.0)
    with pytest.raises(ValueError, match="finite"):
        clip_by_norm({"W": np.array([1.0, np.nan])}, 1.0)
    with pytest.raises(TypeError, match="dict or a list"):
        clip_by_norm(np.ones(3), 1.0)
    with pytest.raises(TypeError, match="numpy array"):
        global_norm([torch.ones(2)])


# ---------------------------------------------------------------------------
# edges: what is not a real number, a seed or a size is refused by name
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("z, got", [(None, "got NoneType"), ("a", "got str"), ("1.5", "got str"),
                                    (b"1", "got bytes"), (1 + 2j, "got dtype complex128"),
                                    (np.array([1 + 1j]), "got dtype complex128"),
                                    (np.zeros(2, np.float16), "got dtype float16"),
                                    ([1.0, None], "got dtype object"),
                                    ([[1.0], [1.0, 2.0]], "got a list numpy cannot read")])
def test_sigmoid_and_logit_refuse_what_is_not_real(z, got):
    with pytest.raises(TypeError, match=r"^z: expected (a real number|real numbers).*"
                                        + re.escape(got)):
        sigmoid(z)
    with pytest.raises(TypeError, match=r"^p: expected (a real number|real numbers).*"
                                        + re.escape(got)):
        logit(z)


def test_sigmoid_takes_numbers_lists_ints_and_bools():
    assert sigmoid(True) == sigmoid(1.0) and sigmoid(np.int8(0)) == 0.5
    assert sigmoid([0, 0]).dtype == np.float64 and logit([0.5]).tolist() == [0.0]


@pytest.mark.parametrize("fn", [init_rnn_params, init_lstm_params])
def test_init_refuses_a_seed_that_is_not_a_non_negative_integer(fn):
    with pytest.raises(ValueError, match=r"^seed: expected a non-negative integer, got -1$"):
        fn(2, 3, seed=-1)
    for bad in ("a", 1.5, None, True, [1, 2]):
        with pytest.raises(TypeError, match=r"^seed: expected a non-negative integer, got "
                                            + re.escape(repr(bad)) + "$"):
            fn(2, 3, seed=bad)
    same = fn(2, 3, seed=np.int64(7))
    assert all(np.array_equal(v, fn(2, 3, seed=7)[k]) for k, v in same.items())


@pytest.mark.parametrize("fn", [lstm_param_shapes, rnn_param_shapes])
def test_param_shapes_validate_their_sizes(fn):
    with pytest.raises(ValueError, match=r"^input_size: expected a positive integer, got -3$"):
        fn(-3, "a")
    with pytest.raises(ValueError, match=r"^hidden_size: expected a positive integer, got 'a'$"):
        fn(3, "a")
    with pytest.raises(ValueError, match=r"^hidden_size: expected a positive integer, got 0$"):
        fn(3, 0)


def test_float16_is_refused_naming_float32_and_float64(lstm_setup, rnn_setup):
    params, x, h0, c0 = lstm_setup
    msg = r"expected a floating-point array \(float32 or float64\), got dtype float16"
    with pytest.raises(TypeError, match=r"^x: " + msg):
        lstm_forward(params, x.astype(np.float16))
    with pytest.raises(TypeError, match=r"^params\['W_hh'\]: " + msg):
        rnn_forward(dict(rnn_setup[0], W_hh=rnn_setup[0]["W_hh"].astype(np.float16)), x)
    with pytest.raises(TypeError, match=r"^c_prev: " + msg):
        lstm_step(params, x[0], h0, c0.astype(np.float16))


@pytest.mark.parametrize("kind", ["lstm", "rnn"])
def test_backward_checks_the_trace_dtypes_and_values(lstm_setup, rnn_setup, kind):
    params, x, h0, c0 = lstm_setup
    if kind == "rnn":
        params = rnn_setup[0]
        forward, backward, fields = rnn_forward, rnn_backward, ("h0", "a", "h")
    else:
        forward, backward, fields = lstm_forward, lstm_backward, ("h0", "c0", "f", "h")
    dh_T = np.ones((2, 4))
    for name in fields + ("x",):
        tr = forward(params, x)
        edited = getattr(tr, name).copy()               # a trace edited after the forward pass
        edited[0, 0] = np.nan
        setattr(tr, name, edited)
        with pytest.raises(ValueError, match=rf"^trace\.{name}: expected finite values"):
            backward(params, tr, dh_T=dh_T)
        tr = forward(params, x)
        setattr(tr, name, getattr(tr, name).astype(np.int64))
        with pytest.raises(TypeError, match=rf"^trace\.{name}: expected a floating-point array "
                                            r"\(float32 or float64\), got dtype int64"):
            backward(params, tr, dh_T=dh_T)
    tr = forward(params, x)
    tr.h0 = tr.h0.astype(np.float32)
    with pytest.raises(TypeError, match=r"^trace\.h0: expected dtype float64 \(trace\.h's dtype\), "
                                        r"got float32"):
        backward(params, tr, dh_T=dh_T)
