"""Tests for lstm_lib.chapters.gru (the GRU's chapter).

The gradient by gap is held against autograd through torch.nn.GRU / LSTM / RNN
run one step at a time (every state keeps its .grad) and against the numpy
reference's BPTT; the explorer's pure function against the equations at several
slider values, the ends included; the seed tables against results files built
here by hand.
"""
import numpy as np
import pytest
import torch

from lstm_lib.chapters import gru as G
from lstm_lib.lab import tasks, train
from lstm_lib.reference import (gru_backward, gru_forward, init_gru_params, init_lstm_params,
                                init_rnn_params, lstm_backward, lstm_forward, rnn_backward,
                                rnn_forward)
from lstm_lib.viz.explorer import Explorer, View
from lstm_lib.weights import fuse_gru_weights
from helpers import assert_close

TOL = 1e-10


def tt(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


# ---------------------------------------------------------------------------
# the gradient by gap
# ---------------------------------------------------------------------------

def autograd_gru(params, x, dh_T):
    """dL/dh_t for every state, gap order, by autograd through torch.nn.GRU one step at a time."""
    n, d = params["W_xr"].shape
    m = torch.nn.GRU(d, n).double()
    with torch.no_grad():
        for name, value in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"),
                               fuse_gru_weights(params)):
            getattr(m, name).copy_(tt(value))
    h = torch.zeros(1, x.shape[1], n, dtype=torch.float64, requires_grad=True)
    states = [h]
    for t in range(x.shape[0]):
        _, h = m(tt(x[t : t + 1]), h)
        h.retain_grad()
        states.append(h)
    (h[0] * tt(dh_T)).sum().backward()
    return np.stack([s.grad[0].numpy() for s in states[::-1]])


def test_gru_gradient_by_gap_matches_autograd():
    params = init_gru_params(3, 4, seed=3)
    params = {k: 2.0 * v for k, v in params.items()}
    x = np.random.default_rng(0).standard_normal((7, 2, 3))
    dh_T = np.random.default_rng(1).standard_normal((2, 4))
    assert_close(G.gradient_by_gap("gru", params, x, dh_T), autograd_gru(params, x, dh_T), TOL,
                 "GRU gradient by gap")


@pytest.mark.parametrize("kind", ["gru", "lstm", "rnn"])
def test_gradient_by_gap_reaches_the_initial_state_like_bptt(kind):
    init = {"gru": init_gru_params, "lstm": init_lstm_params, "rnn": init_rnn_params}[kind]
    forward = {"gru": gru_forward, "lstm": lstm_forward, "rnn": rnn_forward}[kind]
    backward = {"gru": gru_backward, "lstm": lstm_backward, "rnn": rnn_backward}[kind]
    params = init(2, 3, seed=1)
    x = np.random.default_rng(0).standard_normal((6, 2, 2))
    dh_T = np.random.default_rng(1).standard_normal((2, 3))
    g = G.gradient_by_gap(kind, params, x, dh_T)
    assert g.shape == (7, 2, 3)
    full = backward(params, forward(params, x), dh_T=dh_T)
    assert_close(g[-1], full["c0" if kind == "lstm" else "h0"], TOL, f"{kind}: gap T")
    # every gap k: BPTT over the last k steps, restarted from the state k steps back
    tr = forward(params, x)
    for k in (1, 3, 5):
        s = 6 - k
        h0 = tr.h[s - 1]
        if kind == "lstm":   # c_{s-1} also reaches the loss through h_{s-1} = o tanh(c_{s-1})
            g_sub = backward(params, forward(params, x[s:], h0, tr.c[s - 1]), dh_T=dh_T)
            sub = g_sub["c0"] + tr.o[s - 1] * (1 - np.tanh(tr.c[s - 1]) ** 2) * g_sub["h0"]
        else:
            sub = backward(params, forward(params, x[s:], h0), dh_T=dh_T)["h0"]
        assert_close(g[k], sub, TOL, f"{kind}: gap {k}")


def test_gradient_by_gap_rejects_bad_input():
    params = init_gru_params(2, 3)
    x = np.zeros((4, 2, 2))
    with pytest.raises(ValueError, match=r"kind: expected 'gru', 'lstm' or 'rnn', got 'cnn'"):
        G.gradient_by_gap("cnn", params, x, np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"dh_T: expected shape \(B=2, n=3\)"):
        G.gradient_by_gap("gru", params, x, np.ones((2, 4)))


def test_carry_split_is_the_update_gate_product_times_the_last_gradient():
    params = init_gru_params(2, 3, seed=4)
    x = np.random.default_rng(2).standard_normal((5, 2, 2))
    dh_T = np.random.default_rng(3).standard_normal((2, 3))
    tr = gru_forward(params, x)
    dh = G.gradient_by_gap("gru", params, x, dh_T)
    split = G.carry_split(params, tr, dh)
    for k in range(6):
        prod = np.prod(tr.z[5 - k:], axis=0) if k else np.ones((2, 3))
        assert_close(split["carry"][k], prod * dh_T, 1e-14, f"carry at gap {k}")
    assert_close(split["carry"] + split["rest"], dh, 1e-14, "parts add up")
    assert split["share"][0] == pytest.approx(1.0)
    assert np.allclose(split["dh_norm"], np.linalg.norm(dh, axis=-1).mean(1))
    with pytest.raises(ValueError, match=r"dh: expected shape \(T\+1=6, B=2, n=3\)"):
        G.carry_split(params, tr, dh[1:])


# ---------------------------------------------------------------------------
# the gated cell and the explorer
# ---------------------------------------------------------------------------

def test_gated_gru_realises_the_requested_gates():
    rng = np.random.default_rng(0)
    update, reset = rng.uniform(0.05, 0.95, (6, 3)), rng.uniform(0.05, 0.95, (6, 3))
    update[2, 1], reset[4, 0] = 1.0, 0.0
    params, x = G.gated_gru(update, reset, batch=2, seed=1)
    assert x.shape == (6, 2, 8)
    tr = gru_forward(params, x)
    for b in range(2):
        assert np.allclose(tr.z[:, b], update, rtol=1e-12, atol=1e-17)
        assert np.allclose(tr.r[:, b], reset, rtol=1e-12, atol=1e-17)
    assert tr.z[2, 0, 1] == 1.0 and tr.r[4, 0, 0] < 1e-17
    s = np.linalg.svd(params["W_hn"], compute_uv=False)
    assert np.allclose(s, 1.0)                                         # gain 1: orthogonal
    s2 = np.linalg.svd(G.gated_gru(update, reset, gain=2.0)[0]["W_hn"], compute_uv=False)
    assert np.allclose(s2, 2.0)
    with pytest.raises(ValueError, match=r"reset: expected the shape of update \(6, 3\)"):
        G.gated_gru(update, reset[:, :2])
    with pytest.raises(ValueError, match=r"p: expected values in \[0, 1\]"):
        G.gated_gru(update + 1.0, reset)


@pytest.mark.parametrize("z", [0.0, 0.5, 0.9, 0.99, 1.0])
@pytest.mark.parametrize("r", [0.0, 0.5, 1.0])
def test_update_gate_data_against_the_equations_and_bptt(z, r):
    s = G.update_gate_data(z, r)
    k = s["gap"]
    assert np.allclose(s["carry"], s["z_realised"] ** k, rtol=1e-12, atol=1e-150)   # norms underflow
    shape = (G.SLIDER_T, G.SLIDER_N)
    p, x = G.gated_gru(np.full(shape, z), np.full(shape, r), seed=G.SLIDER_SEED)
    g = G.gradient_by_gap("gru", p, x, np.ones((1, G.SLIDER_N)))
    assert np.allclose(s["grad"], np.linalg.norm(g[:, 0], axis=1) / 2.0, rtol=1e-10, atol=1e-300)
    bptt = gru_backward(p, gru_forward(p, x), dh_T=np.ones((1, G.SLIDER_N)))
    assert np.isclose(s["grad"][-1], np.linalg.norm(bptt["h0"]) / 2.0, rtol=1e-10, atol=1e-300)
    if r == 0.0 or z == 1.0:     # nothing but the direct road (r = sigma(-40) = 4e-18, not 0)
        assert np.allclose(s["grad"], s["carry"], rtol=1e-12, atol=1e-15)
        assert np.all(s["rest"] < 1e-15)


def test_update_gate_view_draws_the_data_and_says_so():
    v = G.update_gate_view(0.9)
    assert isinstance(v, View) and len(v.panels) == 1
    series = v.panels[0].series
    assert [s.label for s in series][0].startswith("zᵏ")
    assert len(series) == 1 + len(G.SLIDER_RESETS)
    assert len({(s.style, s.marker) for s in series}) == len(series)   # not colour alone
    s0 = G.update_gate_data(0.9, 1.0)
    assert np.allclose(series[-1].y, np.maximum(s0["grad"], 1e-6))
    assert f"{s0['grad'][-1]:.2g} with r = 1" in v.text


def test_update_gate_explorer_grid():
    ex = Explorer(G.update_gate_view, title="t")
    values = ex.controls[0].values
    assert values[0] == 0.0 and values[-1] == 1.0 and len(values) >= 21
    assert list(values) == sorted(values)
    assert ex.view().text == G.update_gate_view(0.9).text               # initial value


# ---------------------------------------------------------------------------
# measuring trained models
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn"])
def test_measure_matches_autograd_on_the_model(cell):
    torch.manual_seed(0)
    model = train.make_model(cell, 2, 5, 1, seed=1, dtype=torch.float64)
    batch = tasks.adding_problem(6, 4, rng=0)
    m = G.measure(model, batch)
    # autograd: the loss's gradient on the initial state, through the whole model
    x = batch.x.double()
    n_states = 2 if cell == "lstm" else 1
    h0 = [torch.zeros(1, 4, 5, dtype=torch.float64, requires_grad=True) for _ in range(n_states)]
    out, _ = model.rnn(x, tuple(h0) if cell == "lstm" else h0[0])
    loss = ((model.head(out[-1]).squeeze(-1) - batch.y.double()) ** 2).mean()
    loss.backward()
    first_state = h0[1] if cell == "lstm" else h0[0]                     # c0 for the LSTM
    expected = np.linalg.norm(first_state.grad[0].numpy(), axis=-1).mean()
    assert m["norm"][-1] == pytest.approx(expected, rel=1e-9)
    if cell == "gru":
        assert set(m) >= {"carry", "rest", "share", "z"}


def test_measure_rejects_what_it_cannot_measure():
    model = train.make_model("gru", 2, 3, 1, readout="all")
    with pytest.raises(ValueError, match=r"readout='last', one output"):
        G.measure(model, tasks.adding_problem(4, 2, rng=0))


def test_gap_study_measures_each_model_before_and_after_training():
    st = G.gap_study(T=5, hidden_size=3, steps=2, batch_size=4, eval_size=4)
    assert set(st) == {"batch", "gru", "lstm"}
    for name in ("gru", "lstm"):
        assert st[name]["init"]["norm"].shape == (6,) and st[name]["eval_mse"] > 0
    assert not np.array_equal(st["gru"]["init"]["norm"], st["gru"]["trained"]["norm"])


# ---------------------------------------------------------------------------
# lstm_lib.GRU against torch.nn.GRU, and the seed tables
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("batched, batch_first", [(True, False), (True, True), (False, False)])
def test_largest_difference_is_rounding_error(fast, batched, batch_first):
    assert G.largest_difference(torch.float64, fast, batched, batch_first=batch_first) < 1e-13
    assert G.largest_difference(torch.float32, fast, batched, batch_first=batch_first) < 1e-5


def run(cell, seed, **fields):
    return {"cell": cell, "seed": seed, **fields}


def test_sequences_to_solve_and_seed_table():
    adding = {"config": {"models": ["lstm", "gru"], "hidden": 16}, "runs": [
        run("lstm", 0, sequences=[0, 100, 200], test_mse=[0.2, 0.02, 0.005], final_test_mse=0.005),
        run("lstm", 1, sequences=[0, 100, 200], test_mse=[0.2, 0.1, 0.05], final_test_mse=0.05),
        run("gru", 0, sequences=[0, 100, 200], test_mse=[0.2, 0.009, 0.001], final_test_mse=0.001),
        run("gru", 1, sequences=[0, 100, 200], test_mse=[0.2, 0.02, 0.002], final_test_mse=0.002)]}
    rows = G.seed_table(adding, "adding")
    assert rows[0] == {"cell": "lstm", "hidden": 16, "solved": 1, "seeds": 2, "median": 200.0,
                       "low": 200, "high": 200, "final": pytest.approx(0.0275)}
    assert (rows[1]["solved"], rows[1]["median"], rows[1]["low"], rows[1]["high"]) == (2, 150.0, 100, 200)
    matched = dict(adding, config={"models": ["lstm", "gru"], "hidden": 16,
                                   "hidden_by_model": {"lstm": 16, "gru": 19}})
    assert G.seed_table(matched, "adding")[1]["hidden"] == 19
    order = run("gru", 0, epochs=[0, 1, 2], test_accuracy=[0.25, 0.96, 1.0], epoch_sequences=2000)
    assert G.sequences_to_solve(order, "order") == 2000
    assert G.sequences_to_solve(order, "order", threshold=0.99) == 4000
    copy = run("gru", 0, sequences=[0, 50], copy_accuracy=[0.1, 0.5])
    assert G.sequences_to_solve(copy, "copy") is None
    assert G.sequences_to_solve(copy, "copy", threshold=0.5) == 50
    with pytest.raises(ValueError, match=r"task: expected 'adding', 'copy' or 'order'"):
        G.sequences_to_solve(copy, "sum")
