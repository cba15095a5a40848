"""Tests for lstm_lib.chapters.gradients (Chapter 5).

The two tracks and the RNN's gradient by gap are held against torch autograd
through torch.nn.LSTM / torch.nn.RNN run one step at a time (so every c_t and
h_t can keep its .grad), and against the numpy BPTT of lstm_lib.reference.
The explorer's pure function is checked against the equations at several
slider values, the ends of both ranges included.
"""
import math

import numpy as np
import pytest
import torch

from lstm_lib.chapters import gradients as G
from lstm_lib.viz.explorer import Explorer, View
from lstm_lib.reference import (LSTM_PARAM_NAMES, init_lstm_params, init_rnn_params,
                                lstm_backward, lstm_forward, rnn_backward, rnn_forward,
                                sigmoid)
from lstm_lib.reference import global_norm
from helpers import assert_close

TOL = 1e-10


def tt(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


# ---------------------------------------------------------------------------
# autograd through torch.nn.LSTM / RNN, one step at a time
# ---------------------------------------------------------------------------

def torch_lstm(params):
    """torch.nn.LSTM holding the same weights (PyTorch's gate order i, f, g, o)."""
    n, d = params["W_xi"].shape
    m = torch.nn.LSTM(d, n).double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.cat([tt(params[f"W_x{g}"]) for g in "ifco"]))
        m.weight_hh_l0.copy_(torch.cat([tt(params[f"W_h{g}"]) for g in "ifco"]))
        m.bias_ih_l0.copy_(torch.cat([tt(params[f"b_{g}"]) for g in "ifco"]))
        m.bias_hh_l0.zero_()
    return m


def _grad(t):
    return np.zeros(tuple(t.shape)) if t.grad is None else t.grad.numpy()


def autograd_lstm(params, x, dh_T=None, dc_T=None, cut_carry=False, cut_hidden=False):
    """Total dL/dc_t and dL/dh_t for every state, in gap order, by autograd.

    L = <dh_T, h_T> + <dc_T, c_T>. The step is written from the equations, so
    h_t = o_t * tanh(c_t) is a function of the tensor c_t and c_t.grad is the
    total gradient (through c_{t+1} and through h_t). With ``cut_carry`` the
    carry edge c_{t-1} -> c_t passes no gradient (c_{t-1} is detached there);
    with ``cut_hidden`` no gate reads a gradient-carrying h_{t-1} (it is
    detached where the next step reads it), so only the carry edges and the
    last read-out h_T = o_T tanh(c_T) pass gradient.
    """
    P = {k: tt(v) for k, v in params.items()}
    T, B, _ = x.shape
    n = params["W_xi"].shape[0]
    h0 = torch.zeros(B, n, dtype=torch.float64, requires_grad=True)
    c0 = torch.zeros(B, n, dtype=torch.float64, requires_grad=True)
    h, c, hs, cs = h0, c0, [], []
    for t in range(T):
        h_in = h.detach() if cut_hidden else h

        def pre(g):
            return tt(x[t]) @ P[f"W_x{g}"].T + h_in @ P[f"W_h{g}"].T + P[f"b_{g}"]
        f, i, o = torch.sigmoid(pre("f")), torch.sigmoid(pre("i")), torch.sigmoid(pre("o"))
        c = f * (c.detach() if cut_carry else c) + i * torch.tanh(pre("c"))
        c.retain_grad()
        h = o * torch.tanh(c)
        h.retain_grad()
        hs.append(h)
        cs.append(c)
    L = torch.zeros((), dtype=torch.float64)
    if dh_T is not None:
        L = L + (h * tt(dh_T)).sum()
    if dc_T is not None:
        L = L + (c * tt(dc_T)).sum()
    L.backward()
    dc = [_grad(c0)] + [_grad(s) for s in cs]
    dh = [_grad(h0)] + [_grad(s) for s in hs]
    return np.stack(dc[::-1]), np.stack(dh[::-1])


def nn_lstm_pair_gradients(params, x, dh_T):
    """dL/dh_t and dL/dc_t with h_t held fixed, by autograd through torch.nn.LSTM.

    nn.LSTM returns h_t and c_t as two outputs of one step, so c_t.grad counts
    only the paths through c_{t+1}: the gradient on the pair (c_t, h_t).
    """
    m = torch_lstm(params)
    T, B, _ = x.shape
    n = params["W_xi"].shape[0]
    h = torch.zeros(1, B, n, dtype=torch.float64)
    c = torch.zeros(1, B, n, dtype=torch.float64)
    hs, cs = [], []
    for t in range(T):
        _, (h, c) = m(tt(x[t:t + 1]), (h, c))
        h.retain_grad()
        c.retain_grad()
        hs.append(h)
        cs.append(c)
    (h[0] * tt(dh_T)).sum().backward()
    return (np.stack([_grad(s)[0] for s in hs][::-1]),
            np.stack([_grad(s)[0] for s in cs][::-1]))


def lstm_case(T=9, B=3, d=2, n=4, seed=0, forget_bias=None):
    params = init_lstm_params(d, n, seed=seed, forget_bias=forget_bias)
    rng = np.random.default_rng(seed + 10)
    x = rng.standard_normal((T, B, d))
    return params, x, rng


# ---------------------------------------------------------------------------
# two_track
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed,forget_bias", [(0, None), (1, 1.0), (2, -1.0)])
def test_two_track_total_gradients_match_autograd(seed, forget_bias):
    params, x, rng = lstm_case(seed=seed, forget_bias=forget_bias)
    dh_T = rng.standard_normal((3, 4))
    dc_T = rng.standard_normal((3, 4))
    split = G.two_track(params, lstm_forward(params, x), dh_T=dh_T, dc_T=dc_T)
    dc, dh = autograd_lstm(params, x, dh_T=dh_T, dc_T=dc_T)
    assert_close(split.dc, dc, what="dL/dc_t")
    assert_close(split.dh, dh, what="dL/dh_t")


def test_hidden_track_matches_autograd_with_the_carry_edges_cut():
    params, x, rng = lstm_case(T=8, seed=11, forget_bias=1.0)
    dh_T = rng.standard_normal((3, 4))
    split = G.two_track(params, lstm_forward(params, x), dh_T=dh_T)
    dc_cut, _ = autograd_lstm(params, x, dh_T=dh_T, cut_carry=True)
    assert_close(split.hidden[1:], dc_cut[1:], what="hidden track")
    assert np.all(split.hidden[0] == 0.0)
    assert_close(split.carry + split.hidden + split.mixed, split.dc, what="three parts")


def test_closed_forget_gates_leave_only_the_hidden_track():
    forget = np.zeros((7, 3))                          # f = 4e-18: every carry edge closed
    params, x = G.forced_forget_lstm(forget, batch=2, seed=2)
    split = G.two_track(params, lstm_forward(params, x), dh_T=np.ones((2, 3)))
    assert_close(split.hidden[1:], split.dc[1:], tol=1e-12)
    assert np.max(np.abs(split.carry[1:])) < 1e-15 and np.max(np.abs(split.mixed[1:])) < 1e-15


def test_two_track_agrees_with_torch_nn_lstm():
    params, x, rng = lstm_case(T=8, seed=3)
    dh_T = rng.standard_normal((3, 4))
    trace = lstm_forward(params, x)
    split = G.two_track(params, trace, dh_T=dh_T)
    dh_pair, dc_pair = nn_lstm_pair_gradients(params, x, dh_T)
    T = x.shape[0]
    assert_close(split.dh[:T], dh_pair, what="dL/dh_t")
    # total = pair + the path through h_t = o_t tanh(c_t)
    via_h = (trace.o * (1 - np.tanh(trace.c) ** 2))[::-1] * dh_pair
    assert_close(split.dc[:T], dc_pair + via_h, what="dL/dc_t")


def test_two_track_reaches_the_initial_state_like_bptt():
    params, x, rng = lstm_case(T=12, seed=4)
    dh_T = rng.standard_normal((3, 4))
    trace = lstm_forward(params, x)
    split = G.two_track(params, trace, dh_T=dh_T)
    grads = lstm_backward(params, trace, dh_T=dh_T)
    assert_close(split.dc[-1], grads["c0"], what="c0")
    assert_close(split.dh[-1], grads["h0"], what="h0")


def test_carry_part_is_the_forget_product_times_the_last_gradient():
    params, x, rng = lstm_case(T=7, seed=5)
    trace = lstm_forward(params, x)
    split = G.two_track(params, trace, dh_T=rng.standard_normal((3, 4)))
    T = x.shape[0]
    for k in range(T + 1):
        prod = np.prod(trace.f[T - k:], axis=0) if k else np.ones((3, 4))
        assert_close(split.carry[k], prod * split.dc[0], what=f"carry at gap {k}")
    assert_close(split.carry + split.rest, split.dc, what="carry + rest")
    assert np.all(split.rest[0] == 0.0)


def test_without_recurrent_weights_the_carry_line_is_everything():
    # No gate reads h_{t-1}: every path from c_t to L stays on the carry line.
    params, x, rng = lstm_case(T=8, seed=6)
    for g in "ifco":
        params[f"W_h{g}"] = np.zeros_like(params[f"W_h{g}"])
    split = G.two_track(params, lstm_forward(params, x), dc_T=rng.standard_normal((3, 4)))
    assert_close(split.rest, np.zeros_like(split.rest), tol=1e-15)
    assert_close(split.hidden, np.zeros_like(split.hidden), tol=1e-15)
    s = split.summary()
    assert_close(s["share"], np.ones_like(s["share"]), what="share")


def test_summary_numbers_follow_their_definitions():
    params, x, rng = lstm_case(T=6, seed=7)
    split = G.two_track(params, lstm_forward(params, x), dh_T=rng.standard_normal((3, 4)))
    s = split.summary()
    k = 4
    cn = np.linalg.norm(split.carry[k], axis=1)
    rn = np.linalg.norm(split.rest[k], axis=1)
    assert_close(s["carry_norm"][k], cn.mean())
    assert_close(s["rest_norm"][k], rn.mean())
    assert_close(s["ratio"][k], rn.mean() / cn.mean())
    cos = np.sum(split.carry[k] * split.rest[k], axis=1) / (cn * rn)
    assert_close(s["cosine"][k], cos.mean())
    share = np.sum(split.carry[k] * split.dc[k]) / np.sum(split.dc[k] ** 2)
    assert_close(s["share"][k], share)
    # the carry line and the rest share out the whole gradient
    rest_share = np.sum(split.rest[k] * split.dc[k]) / np.sum(split.dc[k] ** 2)
    assert_close(s["share"][k] + rest_share, 1.0)
    assert_close(s["share"][k] + s["hidden_share"][k] + s["mixed_share"][k], 1.0)
    assert_close(s["hidden_norm"][k], np.linalg.norm(split.hidden[k], axis=1).mean())
    assert_close(s["mixed_norm"][k], np.linalg.norm(split.mixed[k], axis=1).mean())
    assert s["share"][0] == 1.0 and s["ratio"][0] == 0.0
    assert list(s["gap"]) == list(range(7))


def test_two_track_rejects_bad_input():
    params, x, _ = lstm_case()
    trace = lstm_forward(params, x)
    with pytest.raises(ValueError, match="no upstream gradient"):
        G.two_track(params, trace)
    with pytest.raises(ValueError, match=r"dh_T: expected shape \(B=3, n=4\), got \(3, 5\)"):
        G.two_track(params, trace, dh_T=np.zeros((3, 5)))
    with pytest.raises(TypeError, match="LSTMTrace"):
        G.two_track(params, rnn_forward(init_rnn_params(2, 4), x), dh_T=np.zeros((3, 4)))


# ---------------------------------------------------------------------------
# the RNN and the read-out
# ---------------------------------------------------------------------------

def test_rnn_gradient_by_gap_matches_autograd_and_bptt():
    params = init_rnn_params(2, 5, seed=3)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((10, 3, 2))
    dh_T = rng.standard_normal((3, 5))
    trace = rnn_forward(params, x)
    got = G.rnn_gradient_by_gap(params, trace, dh_T)
    m = torch.nn.RNN(2, 5).double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(tt(params["W_xh"]))
        m.weight_hh_l0.copy_(tt(params["W_hh"]))
        m.bias_ih_l0.copy_(tt(params["b_h"]))
        m.bias_hh_l0.zero_()
    h0 = torch.zeros(1, 3, 5, dtype=torch.float64, requires_grad=True)
    h, hs = h0, []
    for t in range(10):
        _, h = m(tt(x[t:t + 1]), h)
        h.retain_grad()
        hs.append(h)
    (h * tt(dh_T)[None]).sum().backward()
    want = np.stack(([h0.grad[0].numpy()] + [s.grad[0].numpy() for s in hs])[::-1])
    assert_close(got, want, what="dL/dh_t")
    assert_close(got[-1], rnn_backward(params, trace, dh_T=dh_T)["h0"], what="h0")


def test_readout_gradient_matches_autograd():
    rng = np.random.default_rng(8)
    h_T, w, y = rng.standard_normal((6, 3)), rng.standard_normal(3), rng.standard_normal(6)
    ht = tt(h_T).requires_grad_()
    loss = ((ht @ tt(w) + 0.3 - tt(y)) ** 2).mean()
    loss.backward()
    assert_close(G.readout_gradient(h_T, w, 0.3, y), ht.grad.numpy())
    with pytest.raises(ValueError, match=r"weight: expected shape \(n=3,\)"):
        G.readout_gradient(h_T, np.zeros(4), 0.0, y)


# ---------------------------------------------------------------------------
# cells with chosen forget gates
# ---------------------------------------------------------------------------

def test_forced_forget_lstm_realises_the_requested_gates():
    rng = np.random.default_rng(9)
    forget = rng.uniform(0.001, 0.999, (6, 3))
    forget[2, 1], forget[4, 0] = 1.0, 0.0
    params, x = G.forced_forget_lstm(forget, data_size=2, batch=2, seed=1)
    assert x.shape == (6, 2, 8)
    assert_close(x[:, :, :6], np.broadcast_to(np.eye(6)[:, None, :], (6, 2, 6)))
    trace = lstm_forward(params, x)
    for b in range(2):
        assert_close(trace.f[:, b, :], forget, tol=1e-12, what="f")
    assert trace.f[2, 0, 1] == 1.0                     # exactly open
    assert trace.f[4, 0, 0] < 1e-17                    # closed
    # the other gates still read h_{t-1}
    assert np.all(params["W_hi"] != 0) and np.all(params["W_hf"] == 0)


def test_gates_of_exactly_one_and_zero_saturate_at_plus_minus_saturate():
    """logit(1) is +inf; the cell clips at its call site to a finite pre-activation."""
    params, _ = G.forced_forget_lstm(np.array([[1.0, 0.0, 0.5]]), seed=0)
    assert list(params["W_xf"][:, 0]) == [G.SATURATE, -G.SATURATE, 0.0]
    assert sigmoid(np.float64(G.SATURATE)) == 1.0
    cliff = G.cliff_lstm_params(forget=1.0)
    assert cliff["b_f"][0] == G.SATURATE
    with pytest.raises(ValueError, match=r"expected values in \[0, 1\]"):
        G.forced_forget_lstm(np.array([[1.5]]))


def test_no_forget_cell_has_identity_carry_and_keeps_the_other_weights():
    params = init_lstm_params(3, 4, seed=2)
    cec = G.no_forget_params(params)
    x = np.random.default_rng(2).standard_normal((30, 2, 3))
    trace = lstm_forward(cec, x)
    assert np.all(trace.f == 1.0)
    # c_t = c_{t-1} + i_t c_tilde_t, exactly
    c_prev = np.concatenate([trace.c0[None], trace.c[:-1]])
    assert_close(trace.c, c_prev + trace.i * trace.c_tilde, tol=1e-15)
    for k in LSTM_PARAM_NAMES:
        if k not in ("W_xf", "W_hf", "b_f"):
            assert np.array_equal(cec[k], params[k])
    assert params["b_f"][0] != G.SATURATE              # the input is not modified


# ---------------------------------------------------------------------------
# the explorer's pure function, against the equations
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("f_keep,f_cut", [(0.5, 0.0), (0.95, 0.1), (1.0, 1.0),
                                          (1.0, 0.0), (0.73, 0.55)])
def test_forget_slider_products_follow_the_gates(f_keep, f_cut):
    s = G.forget_slider_data(f_keep, f_cut)
    T, cut = G.SLIDER_T, G.SLIDER_CUT_GAP
    k = np.arange(T + 1)
    f_keep_real = sigmoid(G.logit(f_keep))
    f_cut_real = sigmoid(G.logit(f_cut))
    assert_close(s["product_keep"], f_keep_real ** k, what="held coordinate")
    want_cut = np.where(k < cut, f_keep_real ** k, f_keep_real ** (k - 1) * f_cut_real)
    assert_close(s["product_cut"], want_cut, what="cut coordinate")
    assert_close(s["f"], G.slider_forget_gates(f_keep, f_cut), tol=1e-12)


@pytest.mark.parametrize("f_keep,f_cut", [(0.5, 1.0), (0.9, 0.05), (1.0, 0.0)])
def test_forget_slider_real_gradient_matches_autograd(f_keep, f_cut):
    s = G.forget_slider_data(f_keep, f_cut)
    params, x = G.forced_forget_lstm(G.slider_forget_gates(f_keep, f_cut), seed=G.SLIDER_SEED)
    dc, _ = autograd_lstm(params, x, dc_T=np.ones((1, G.SLIDER_N)))
    assert_close(s["grad_keep"], np.abs(dc[:, 0, 0]), what="coordinate 1")
    assert_close(s["grad_cut"], np.abs(dc[:, 0, 2]), what="coordinate 3")
    assert_close(s["dc_norm"], np.linalg.norm(dc[:, 0, :], axis=1), what="norm")


def test_forget_slider_view_draws_the_data_and_says_so():
    view = G.forget_slider_view(0.95, 0.1)
    assert isinstance(view, View) and len(view.panels) == 2
    s = G.forget_slider_data(0.95, 0.1)
    left = view.panels[0].series
    assert_close(left[0].y, np.maximum(s["product_keep"], 1e-6))
    assert_close(left[1].y, np.maximum(s["grad_keep"], 1e-6))
    assert_close(left[2].y, np.maximum(s["product_cut"], 1e-6))
    assert f"{s['product_keep'][G.SLIDER_T]:.2g}" in view.text
    assert f"{s['grad_cut'][G.SLIDER_T]:.2g}" in view.text


def test_forget_slider_explorer_grid():
    ex = Explorer(G.forget_slider_view)
    assert isinstance(ex, Explorer)
    sizes = [len(c.values) for c in ex.controls]
    assert all(s >= 21 for s in sizes) and math.prod(sizes) <= 1500
    assert ex.controls[0].values[0] == 0.5 and ex.controls[0].values[-1] == 1.0
    assert ex.controls[1].values[0] == 0.0 and ex.controls[1].values[-1] == 1.0
    assert isinstance(ex.view(f_keep=1.0, f_cut=0.0), View)


# ---------------------------------------------------------------------------
# the cliff and clipping
# ---------------------------------------------------------------------------

def test_loop_gain_is_the_total_one_step_derivative_at_the_fixed_point():
    params = G.cliff_lstm_params(w_hc=0.4, forget=0.9)
    x = np.zeros((2, 1, 1))
    eps = 1e-7
    # c_1 from c_0 = +-eps with h_0 = o tanh(c_0), the state the cell itself would hold
    o = sigmoid(params["b_o"])[0]
    c1 = []
    for c0 in (eps, -eps):
        tr = lstm_forward(params, x[:1], h0=np.array([[o * np.tanh(c0)]]), c0=np.array([[c0]]))
        c1.append(tr.c[0, 0, 0])
    assert abs((c1[0] - c1[1]) / (2 * eps) - G.loop_gain(params)) < 1e-6
    assert G.loop_gain(params) > 1.0
    assert G.loop_gain(G.cliff_lstm_params(w_hc=0.0, forget=0.9)) == pytest.approx(0.9)


def test_cliff_gradient_spikes_near_input_zero():
    params = G.cliff_lstm_params()
    amps = np.array([-0.5, -1e-3, 1e-3, 0.5])
    x = np.zeros((30, 4, 1))
    x[0, :, 0] = amps
    trace = lstm_forward(params, x)
    g = lstm_backward(params, trace, dh_T=np.ones((4, 1)))["x"][0, :, 0]
    assert np.abs(g[1:3]).min() > 100 * np.abs(g[[0, 3]]).max()
    assert np.sign(trace.h[-1, 0, 0]) == -1 and np.sign(trace.h[-1, 3, 0]) == 1


def test_sign_memory_loss_gradients_match_autograd():
    params = G.cliff_lstm_params()
    x, y = G.sign_memory_batch(12, 5, np.random.default_rng(0))
    loss, grads = G.sign_memory_loss(params, x, y)
    m = torch_lstm(params)
    out, _ = m(tt(x))
    lt = ((out[-1, :, 0] - tt(y)) ** 2).mean()
    lt.backward()
    assert loss == pytest.approx(lt.item(), rel=1e-12)
    assert_close(grads["W_hc"], m.weight_hh_l0.grad[2:3].numpy())
    assert_close(grads["b_f"], m.bias_ih_l0.grad[1:2].numpy())


def test_sgd_run_clipping_bounds_every_step():
    params = G.cliff_lstm_params()
    lr, tau = 0.1, 0.25
    free = G.sgd_run(params, 6, lr, None, seed=0)
    clipped = G.sgd_run(params, 6, lr, tau, seed=0)
    assert np.all(clipped["step_norm"] <= lr * tau * (1 + 1e-12))
    assert_close(free["step_norm"], lr * free["grad_norm"])
    # same first batch, same parameters: same loss and gradient before the first step
    assert free["loss"][0] == clipped["loss"][0]
    assert free["grad_norm"][0] == clipped["grad_norm"][0]
    # the clipped step is the unclipped one shortened
    x, y = G.sign_memory_batch(30, 64, np.random.default_rng(0))
    _, grads = G.sign_memory_loss(params, x, y)
    assert global_norm([grads[k] for k in LSTM_PARAM_NAMES]) == pytest.approx(free["grad_norm"][0])


# ---------------------------------------------------------------------------
# measuring the lab's models
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_measure_by_gap_matches_autograd_at_the_initial_state(cell):
    from lstm_lib.lab.tasks import adding_problem
    from lstm_lib.lab.train import make_model

    model = make_model(cell, 2, 5, 1, forget_bias=1.0 if cell == "lstm" else None, seed=3)
    batch = adding_problem(9, 6, rng=4)
    got = G.measure_by_gap(model, batch)
    # autograd in float64 through the library module, with leaf initial states
    m64 = model.double()
    h0 = torch.zeros(1, 6, 5, dtype=torch.float64, requires_grad=True)
    c0 = torch.zeros(1, 6, 5, dtype=torch.float64, requires_grad=True)
    hx = (h0, c0) if cell == "lstm" else h0
    h, _ = m64.rnn(batch.x.double(), hx)
    loss = ((m64.head(h[-1])[:, 0] - batch.y.double()) ** 2).mean()
    loss.backward()
    assert_close(got["dh_norm"][-1], np.linalg.norm(h0.grad[0].numpy(), axis=1).mean(), tol=1e-6)
    if cell == "lstm":
        assert_close(got["split"].dc[-1], c0.grad[0].numpy(), tol=1e-6)
        assert got["f"].shape == (9, 6, 5)
    else:
        assert list(got) == ["gap", "dh_norm"] and got["dh_norm"].shape == (10,)


def test_measure_by_gap_rejects_what_it_cannot_measure():
    from lstm_lib.lab.tasks import adding_problem, hochreiter_adding
    from lstm_lib.lab.train import make_model

    model = make_model("lstm", 2, 4, 1, seed=0)
    with pytest.raises(ValueError, match="one length"):
        G.measure_by_gap(model, hochreiter_adding(20, 2, rng=0))
    with pytest.raises(ValueError, match="readout='last' with one output"):
        G.measure_by_gap(make_model("lstm", 2, 4, 3, seed=0), adding_problem(6, 2, rng=0))


def test_gap_study_measures_each_model_before_and_after_training():
    from lstm_lib.lab.train import make_model

    out = G.gap_study(T=6, hidden_size=4, steps=3, eval_size=5, seed=1)
    assert [name for name, _, _ in G.STUDY_MODELS] == ["lstm_b0", "lstm_b1", "rnn"]
    fresh = G.measure_by_gap(make_model("lstm", 2, 4, 1, forget_bias=1.0, seed=1), out["batch"])
    assert_close(out["lstm_b1"]["init"]["dc_norm"], fresh["dc_norm"])      # same seed, same batch
    assert not np.allclose(out["lstm_b1"]["trained"]["dc_norm"], fresh["dc_norm"])   # trained
    for name, _, _ in G.STUDY_MODELS:
        assert np.isfinite(out[name]["eval_mse"])
        assert out[name]["trained"]["dh_norm"].shape == (7,)


def test_forget_slider_view_right_panel_draws_the_two_tracks():
    s = G.forget_slider_data(0.9, 0.5)
    total, carry, rest = G.forget_slider_view(0.9, 0.5).panels[1].series
    assert_close(total.y, np.maximum(s["dc_norm"], 1e-6))
    assert_close(carry.y, np.maximum(s["carry_norm"], 1e-6))
    assert_close(rest.x, np.arange(1, G.SLIDER_T + 1))
    assert_close(rest.y, np.maximum(s["rest_norm"][1:], 1e-6))


# ---------------------------------------------------------------------------
# the cliff gradient split by path
# ---------------------------------------------------------------------------

def cliff_case(T, amplitude):
    params = G.cliff_lstm_params()
    x = np.zeros((T, 1, 1))
    x[0, 0, 0] = amplitude
    trace = lstm_forward(params, x)
    dh_T = 2.0 * (trace.h[-1] - 0.9 * np.sign(amplitude))
    return params, x, dh_T


@pytest.mark.parametrize("T,amplitude", [(30, 1e-6), (12, -0.3)])
def test_cliff_split_parts_match_autograd(T, amplitude):
    params, x, dh_T = cliff_case(T, amplitude)
    got = G.cliff_split(params, amplitude=amplitude, T=T)
    total, _ = autograd_lstm(params, x, dh_T=dh_T)
    hidden, _ = autograd_lstm(params, x, dh_T=dh_T, cut_carry=True)
    carry, _ = autograd_lstm(params, x, dh_T=dh_T, cut_hidden=True)
    total, carry, hidden = (a[:T, 0, 0] / total[0, 0, 0] for a in (total, carry, hidden))
    assert_close(got["total"], total, what="total")
    assert_close(got["carry"], carry, what="carry only")
    assert_close(got["hidden"][1:], hidden[1:], what="hidden only")
    assert np.allclose(got["hidden"][1:], hidden[1:], rtol=1e-9, atol=0)     # tiny, so relative
    assert_close(got["mixed"][2:], (total - carry - hidden)[2:], what="mixed")
    assert got["split"].dc.shape == (T + 1, 1, 1)


def test_cliff_split_near_zero_is_the_binomial_sum_of_two_gains():
    got = G.cliff_split()
    assert got["lambda"] == pytest.approx(got["f"] + got["g"])
    assert got["f"] < 1 and got["g"] < 1 < got["lambda"]          # neither track grows alone
    for part in ("total", "carry", "hidden", "mixed"):
        assert_close(got[part][1:], got[f"predicted_{part}"][1:],
                     tol=1e-5, what=part)
    assert np.allclose(got["hidden"][1:], got["predicted_hidden"][1:], rtol=1e-4, atol=0)
    assert got["mixed"][29] > 1e4 * got["carry"][29] and got["hidden"][29] < 1e-12


def test_cliff_split_rejects_bad_input():
    with pytest.raises(ValueError, match="one-unit"):
        G.cliff_split(init_lstm_params(2, 3, seed=0))
    with pytest.raises(ValueError, match="nonzero"):
        G.cliff_split(amplitude=0.0)


# ---------------------------------------------------------------------------
# the shares over seeds, and their command line
# ---------------------------------------------------------------------------

def test_share_run_chapter_setting_reproduces_gap_study():
    study = G.gap_study(T=6, hidden_size=4, steps=3, eval_size=G.SHARE_EVAL_SIZE, seed=2)
    run = G.share_run("chapter", 1.0, 2, T=6, hidden=4, steps=3)
    for when in ("init", "trained"):
        for part in G.SHARE_PARTS:
            assert_close(np.array(run[when][part]), study["lstm_b1"][when][part], what=part)
    assert run["eval_mse"] == pytest.approx(study["lstm_b1"]["eval_mse"], rel=1e-12)
    with pytest.raises(ValueError, match="setting"):
        G.share_run("nowhere", 1.0, 0)


def test_share_summary_medians_and_ranges():
    runs = [{"forget_bias": 1.0, "eval_mse": m,
             "init": {p: [v, 2 * v] for p in G.SHARE_PARTS},
             "trained": {p: [v, 3 * v] for p in G.SHARE_PARTS}} for v, m in ((0.1, 1), (0.5, 2), (0.3, 3))]
    rows = G.share_summary(runs, [1])
    row = next(r for r in rows if (r["when"], r["part"]) == ("trained", "share"))
    assert [row[k] for k in ("median", "min", "max", "seeds")] == pytest.approx([0.9, 0.3, 1.5, 3])
    res = {"summary": rows}
    assert G.share_lookup(res, 1, "init", "cosine", 1)["max"] == 1.0
    with pytest.raises(KeyError):
        G.share_lookup(res, 0.0, "init", "share", 1)


@pytest.mark.parametrize("setting", ["chapter", "lab"])
def test_shares_command_writes_a_results_file(tmp_path, setting, capsys):
    import json

    out = tmp_path / "shares.json"
    argv = ["--setting", setting, "--seeds", "2", "--T", "5", "--hidden", "3", "--steps", "2",
            "--out", str(out), "--quiet"]
    assert G.main(argv) == 0
    d = json.loads(out.read_text())
    assert d["command"] == "python -m lstm_lib.chapters.gradients " + " ".join(argv)
    assert {"versions", "date", "machine", "summary", "runs", "config"} <= set(d)
    assert len(d["runs"]) == 2 * len(G.SHARE_SETTINGS[setting]["forget_biases"])
    run = d["runs"][0]
    total = np.add(np.add(run["trained"]["share"], run["trained"]["hidden_share"]),
                   run["trained"]["mixed_share"])
    assert_close(total, np.ones(6), tol=1e-9, what="shares add up to 1")
    assert d["config"]["gaps"] == [1, 5] and capsys.readouterr().out == ""
    with pytest.raises(SystemExit):                      # never overwrites without --force
        G.main(argv)
