"""Tests for lstm_lib.chapters.gates (Chapter 3): each gate's pre-activation against the
reference step and torch, the hand-built latch on many random sequences (and
that it fails when its mechanism is removed), and the forget-bias explorer's
pure function against torch.nn.LSTM and the closed forms."""
import math

import numpy as np
import pytest
import torch

from lstm_lib.chapters import gates as G
from lstm_lib.viz.explorer import Explorer, View
from lstm_lib.reference import LSTM_GATES, init_lstm_params, lstm_forward, lstm_step, sigmoid
from helpers import assert_close as close

TOL64 = 1e-10


# ------------------------------------------------------------- one gate

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_gate_is_its_activation_of_the_preactivation(seed):
    d, n, B = 3, 4, 5
    params = init_lstm_params(d, n, seed=seed)
    rng = np.random.default_rng(seed + 10)
    x_t, h_prev, c_prev = (rng.standard_normal((B, k)) for k in (d, n, n))
    step = lstm_step(params, x_t, h_prev, c_prev)
    names = {"f": "f", "i": "i", "c": "c_tilde", "o": "o"}
    for g in LSTM_GATES:
        z = G.gate_preactivation(params, g, x_t, h_prev)
        close(G.gate_activation(g, z), step[names[g]])


def test_preactivation_matches_torch_linear():
    d, n, B = 3, 4, 2
    params = init_lstm_params(d, n, seed=3)
    rng = np.random.default_rng(4)
    x_t, h_prev = rng.standard_normal((B, d)), rng.standard_normal((B, n))
    tt = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
    for g in LSTM_GATES:
        want = (torch.nn.functional.linear(tt(x_t), tt(params[f"W_x{g}"]))
                + torch.nn.functional.linear(tt(h_prev), tt(params[f"W_h{g}"]))
                + tt(params[f"b_{g}"]))
        close(G.gate_preactivation(params, g, x_t, h_prev), want.numpy())


def test_gate_ranges_and_bad_input():
    z = np.linspace(-30, 30, 101)
    for g in LSTM_GATES:
        lo, hi = G.GATE_INFO[g]["range"]
        a = G.gate_activation(g, z)
        assert np.all(a >= lo) and np.all(a <= hi)
    with pytest.raises(ValueError, match="expected one of"):
        G.gate_activation("g", z)
    params = init_lstm_params(3, 4)
    with pytest.raises(ValueError, match="x_t"):
        G.gate_preactivation(params, "f", np.zeros((2, 5)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="h_prev"):
        G.gate_preactivation(params, "f", np.zeros((2, 3)), np.zeros((3, 4)))


def test_worked_example_keeps_one_coordinate_and_overwrites_the_other():
    ex = G.worked_example()
    step = lstm_step(ex["params"], ex["x_t"], ex["h_prev"], ex["c_prev"])
    # coordinate 1: keep (f near 1, little written); coordinate 2: erase and write
    assert step["f"][0, 0] > 0.9 and step["i"][0, 0] < 0.25
    assert step["f"][0, 1] < 0.1 and step["i"][0, 1] > 0.9
    assert np.sign(step["c"][0, 1]) != np.sign(ex["c_prev"][0, 1])
    # the pre-activations are the hand computation W_x x + W_h h + b
    p, x, h = ex["params"], ex["x_t"][0], ex["h_prev"][0]
    close(G.gate_preactivation(p, "f", ex["x_t"], ex["h_prev"])[0],
          p["W_xf"] @ x + p["W_hf"] @ h + p["b_f"])


# ------------------------------------------------------------- the latch

def test_latch_params_are_a_valid_lstm():
    p = G.latch_params()
    assert set(p) == {f"{k}{g}" for g in LSTM_GATES for k in ("W_x", "W_h", "b_")}
    assert p["W_xf"].shape == (2, 3) and p["W_hf"].shape == (2, 2) and p["b_f"].shape == (2,)
    with pytest.raises(ValueError, match="gain"):
        G.latch_params(0.0)


@pytest.mark.parametrize("T,seed", [(12, 0), (40, 1), (80, 2)])
def test_latch_works_on_1000_random_sequences(T, seed):
    s = G.latch_sequences(1000, T, seed=seed)
    # the flags really are at random positions, one write before one read
    assert len(np.unique(s["write"])) > min(T - 3, 20)
    assert np.all(s["write"] < s["read"]) and np.all(s["read"] <= T - 2)
    assert np.all(s["x"][:, :, 1].sum(0) == 1) and np.all(s["x"][:, :, 2].sum(0) == 1)
    r = G.latch_report(G.latch_params(), s)
    assert r["release_error"] < 0.01
    assert r["stored_error"] < 0.01
    assert r["value_error"] < 0.02
    assert r["min_f_hold"] > 0.999          # holds: f close to 1
    assert r["max_f_write"] < 0.1           # erases before storing
    assert r["max_f_clear"] < 0.1           # clears after the read
    assert r["max_c_after"] < 0.01
    assert r["max_h_quiet"] < 0.01          # shows nothing until the read


def test_latch_report_measures_what_it_says():
    s = G.latch_sequences(50, 20, seed=5)
    r = G.latch_report(G.latch_params(), s)
    tr = lstm_forward(G.latch_params(), s["x"])
    b = np.arange(50)
    close(r["released"], tr.h[s["read"], b, 0])
    close(r["target"], np.tanh(np.tanh(s["value"])))
    close(G.latch_decode(G.latch_release_target(s["value"])), s["value"], 1e-8)
    assert r["max_f_clear"] == pytest.approx(float(np.max(tr.f[s["read"] + 1, b, 0])))


def test_latch_fails_without_its_clearing_weight():
    p = G.latch_params()
    p["W_hf"][0, 1] = 0.0
    r = G.latch_report(p, G.latch_sequences(200, 30, seed=3))
    assert r["max_f_clear"] > 0.99 and r["max_c_after"] > 0.5


def test_latch_fails_with_too_little_margin():
    r = G.latch_report(G.latch_params(gain=2.0), G.latch_sequences(200, 40, seed=4))
    assert r["release_error"] > 0.05 and r["min_f_hold"] < 0.9


def test_latch_example_and_table():
    ex = G.latch_example(T=12, write=3, read=9)
    assert ex["write"][0] == 2 and ex["read"][0] == 8
    table = G.latch_table(G.latch_params(), ex).splitlines()
    assert len(table) == 13 and table[0].split()[0] == "t"
    tr = lstm_forward(G.latch_params(), ex["x"])
    row = table[1 + 8].split()               # step 9: the read
    assert float(row[9]) == pytest.approx(round(float(tr.h[8, 0, 0]), 2))
    assert float(row[7]) == 1.0               # o = 1.00 on the read
    assert "-0.00" not in "\n".join(table)
    with pytest.raises(ValueError):
        G.latch_example(T=5, write=4, read=3)
    with pytest.raises(ValueError, match="T"):
        G.latch_sequences(10, 2)


# ------------------------------------------------------ the forget bias

def test_bias_for_half_life():
    for steps in (1.0, 2.2, 50.0, 1000.0):
        b = G.bias_for_half_life(steps)
        f = float(sigmoid(np.float64(b)))
        assert math.log(0.5) / math.log(f) == pytest.approx(steps, rel=1e-9)
    with pytest.raises(ValueError):
        G.bias_for_half_life(0.0)


def test_gate_info_follows_the_one_gate_order():
    assert tuple(G.GATE_INFO) == LSTM_GATES == ("i", "f", "c", "o")
    with pytest.raises(ValueError, match=r"gate: expected one of \('i', 'f', 'c', 'o'\)"):
        G.gate_activation("g", np.zeros(2))


def test_torch_init_params_are_torchs_lstm():
    torch.manual_seed(0)
    m = torch.nn.LSTM(8, 32)
    p = G.torch_init_params(8, 32, seed=0)
    n = 32
    # b_f is the sum of the two float32 forget blocks, added in float64
    close(p["b_f"], (m.bias_ih_l0[n:2 * n].double() + m.bias_hh_l0[n:2 * n].double()).detach().numpy())
    close(p["W_xi"], m.weight_ih_l0[:n].detach().double().numpy())
    state = torch.random.get_rng_state()
    G.torch_init_params(seed=5)
    assert torch.equal(state, torch.random.get_rng_state())   # global RNG untouched
    q = G.torch_init_params(seed=0, forget_bias=1.0)
    assert np.all(q["b_f"] == 1.0)
    close(q["W_hf"], p["W_hf"])


def torch_forget_gates(forget_bias):
    """f_t of torch.nn.LSTM(8, 32) (seed 0) on init_inputs(), from its own outputs h."""
    torch.manual_seed(0)
    m = torch.nn.LSTM(8, 32).double()
    n = 32
    with torch.no_grad():
        if forget_bias is not None:
            m.bias_ih_l0[n:2 * n] = forget_bias
            m.bias_hh_l0[n:2 * n] = 0.0
        x = torch.tensor(G.init_inputs())
        h, _ = m(x)
        h_prev = torch.cat([torch.zeros_like(h[:1]), h[:-1]])
        z = (x @ m.weight_ih_l0[n:2 * n].T + h_prev @ m.weight_hh_l0[n:2 * n].T
             + m.bias_ih_l0[n:2 * n] + m.bias_hh_l0[n:2 * n])
    return torch.sigmoid(z).numpy()


@pytest.mark.parametrize("b", [None, -2.0, 0.0, 1.0, 4.0])
def test_forget_init_stats_against_torch(b):
    s = G.forget_init_stats(b)
    f = torch_forget_gates(b)
    # torch initialises in float32; the reference reads those weights in float64
    close(s["f"], f.ravel(), 1e-6)
    assert s["mean"] == pytest.approx(float(np.mean(f)), abs=1e-6)
    prod = np.concatenate([np.ones((1,) + f.shape[1:]), np.cumprod(f[::-1], axis=0)])
    close(s["prod"], np.median(prod.reshape(51, -1), axis=1), 1e-5)
    assert s["half_life"] == pytest.approx(math.log(0.5) / math.log(s["mean"]))
    if b is None:
        assert 0.45 < s["mean"] < 0.55 and math.isnan(s["sigma_b"])
    else:
        assert s["sigma_b"] == pytest.approx(1 / (1 + math.exp(-b)))
        close(s["prod_const"], s["sigma_b"] ** np.arange(51))
        assert abs(s["mean"] - s["sigma_b"]) < 0.03      # spread around sigma(b_f)


def test_bias_one_gives_073_and_a_short_half_life():
    s = G.forget_init_stats(1.0)
    assert float(sigmoid(np.float64(1.0))) == pytest.approx(0.7311, abs=1e-4)
    assert 2.0 < s["half_life"] < 2.4
    assert s["prod"][-1] < 1e-5               # not long memory by itself


def test_histogram_shares():
    x, share = G.forget_histogram(np.array([0.01, 0.02, 0.5, 0.99]), bins=4)
    close(x, [0.125, 0.375, 0.625, 0.875])
    close(share, [0.5, 0.0, 0.25, 0.25])


@pytest.mark.parametrize("b", [-2.0, 0.0, 1.0, 2.5, 4.0])
def test_forget_bias_view(b):
    v = G.forget_bias_view(b)
    assert isinstance(v, View) and len(v.panels) == 2
    s, d = G.forget_init_stats(b), G.forget_init_stats(None)
    hist, prod = v.panels
    _, share = G.forget_histogram(s["f"])
    close(hist.series[0].y, share)
    assert hist.series[0].y.sum() == pytest.approx(1.0)
    close(prod.series[0].y, np.maximum(s["prod"], 1e-20))
    close(prod.series[1].y, np.maximum(s["sigma_b"] ** np.arange(51), 1e-20))
    close(prod.series[2].y, np.maximum(d["prod"], 1e-20))
    assert f"b_f = {b:.2f}" in v.text and f"mean {s['mean']:.2f}" in v.text
    assert max(hist.series[0].y) <= hist.ylim[1]


def test_forget_bias_explorer_grid():
    e = Explorer(G.forget_bias_view)
    assert isinstance(e, Explorer)
    (c,) = e.controls
    assert len(c.values) >= 21 and c.values[0] == -2.0 and c.values[-1] == 4.0
    assert c.values[c.initial_index] == 1.0
    assert e.view().text == G.forget_bias_view(1.0).text
