"""Tests for lstm_lib.chapters.vanishing (Chapter 1): the scalar intuition, the measured
gradient norms against torch autograd (through torch.nn.RNN, an independent
implementation) and against the bound, the Gaussian-versus-orthogonal
comparison, a case that needs clipping, and the explorer's pure function at
several values of sigma_max, range ends included. (Clipping itself is core:
tests/test_reference.py.)"""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_lib import jacobians as J
from lstm_lib.chapters import vanishing as v
from lstm_lib.viz.explorer import Explorer, View
from helpers import assert_close as close, series

TOL64 = 1e-10


def torch_rnn(params):
    """torch.nn.RNN (float64) holding the reference parameters (bias_hh = 0)."""
    n, d = params["W_xh"].shape
    rnn = torch.nn.RNN(d, n, nonlinearity="tanh", dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(params["W_xh"]))
        rnn.weight_hh_l0.copy_(torch.from_numpy(params["W_hh"]))
        rnn.bias_ih_l0.copy_(torch.from_numpy(params["b_h"]))
        rnn.bias_hh_l0.zero_()
    return rnn


def autograd_jacobian(params, trace, t):
    """dh_T/dh_t by torch autograd, T the last state; t = -1 is h0 (jacobians' convention)."""
    rnn = torch_rnn(params)
    x = torch.from_numpy(trace.x)
    start = trace.h0[0] if t == -1 else trace.h[t, 0]
    rest = x[t + 1:]

    def final_state(h_t):
        out, _ = rnn(rest, h_t.reshape(1, 1, -1))
        return out[-1, 0]

    return torch.autograd.functional.jacobian(final_state, torch.from_numpy(start.copy())).numpy()


# ------------------------------------------------------------- the intuition

def test_repeated_factor_is_the_power():
    r = v.repeated_factor(0.95, 50)
    assert r.shape == (51,) and r[0] == 1.0
    close(r, [0.95 ** k for k in range(51)])
    assert abs(r[-1] - 0.0769) < 1e-4                 # the chapter's 0.95^50
    assert abs(v.repeated_factor(1.05, 50)[-1] - 11.467) < 1e-3


@given(st.integers(1, 500), st.floats(1.01, 100.0))
@settings(max_examples=30, deadline=None)
def test_knife_edge_band_edges_reach_the_factor_exactly(k, factor):
    lo, hi = v.knife_edge_band(k, factor)
    assert lo < 1.0 < hi
    assert math.isclose(lo ** k, 1.0 / factor, rel_tol=1e-9)
    assert math.isclose(hi ** k, factor, rel_tol=1e-9)


def test_knife_edge_band_shrinks_with_the_gap():
    widths = [np.subtract(*v.knife_edge_band(k)[::-1]) for k in (10, 100, 1000)]
    assert widths[0] > widths[1] > widths[2] > 0
    assert v.knife_edge_band(5, 1.0) == (1.0, 1.0)


def test_tanh_slope_is_autograd_derivative_of_tanh():
    a = torch.linspace(-4, 4, 41, dtype=torch.float64, requires_grad=True)
    torch.tanh(a).sum().backward()
    close(v.tanh_slope(np.tanh(a.detach().numpy())), a.grad.numpy())
    assert v.tanh_slope(0.0) == 1.0
    assert abs(v.tanh_slope(0.9) - 0.19) < 1e-12


# ------------------------------------------------------ measured gradients

def test_rnn_inputs_are_seeded_and_scale_only_the_size():
    W1, x1 = v.rnn_inputs(10, 0.5)
    W2, x2 = v.rnn_inputs(10, 2.0)
    close(W1, W2)
    close(4.0 * x1, x2)
    assert x1.shape == (10, 1, v.INPUT_SIZE) and W1.shape == (v.HIDDEN_SIZE, v.INPUT_SIZE)
    assert np.max(np.abs(W1)) <= 1 / math.sqrt(v.HIDDEN_SIZE)


def test_measure_gaps_equals_gradient_norm_by_gap_on_the_same_inputs():
    W = J.scaled_orthogonal(16, 1.05, seed=3)
    run = v.measure_gaps(W, 20, input_scale=0.5)
    W_xh, x = v.rnn_inputs(20, 0.5, hidden_size=16)
    close(run["norm"], J.gradient_norm_by_gap(W, 20, W_xh=W_xh, x=x[:, 0, :]))
    close(run["bound"], 1.05 ** np.arange(21))
    close(run["slope"], 1.0 - run["trace"].h[:, 0, :] ** 2)
    assert run["slope"].shape == (20, 16)


@pytest.mark.parametrize("s,scale", [(0.9, 1e-3), (1.0, 1.0), (1.2, 3.0)])
def test_measured_norms_are_autograd_norms(s, scale):
    run = v.measure_gaps(J.scaled_orthogonal(12, s, seed=1), 15, input_scale=scale)
    K = 15
    for k in (1, 4, 9, 15):
        t = K - 1 - k                                   # state index; -1 is h0
        jac = autograd_jacobian(run["params"], run["trace"], t)
        close(J.rnn_jacobian_product(run["params"], run["trace"], t, K - 1), jac)
        assert abs(run["norm"][k] - np.linalg.norm(jac, 2)) <= TOL64 * max(1.0, run["norm"][k])


@pytest.mark.parametrize("s", [0.5, 0.95, 1.0, 1.05, 1.5])
def test_near_linear_orthogonal_meets_the_bound_and_saturation_stays_below(s):
    small = v.measure_gaps(J.scaled_orthogonal(32, s), 30, input_scale=1e-6)
    ratio = small["norm"] / s ** np.arange(31)              # equality up to tanh's curvature,
    assert np.max(np.abs(ratio - 1.0)) < 1e-3               # which grows with the state when s > 1
    large = v.measure_gaps(J.scaled_orthogonal(32, s), 30, input_scale=v.LARGE_INPUT)
    assert np.all(large["norm"] <= large["bound"] * (1 + 1e-12))
    assert large["norm"][-1] < 0.01 * large["bound"][-1]     # saturation: far below
    assert large["mean_slope"] < 0.9 < small["mean_slope"]


@given(st.floats(0.3, 2.0), st.floats(1e-4, 5.0), st.integers(0, 5))
@settings(max_examples=15, deadline=None)
def test_the_bound_is_an_upper_bound_for_any_matrix_and_input(sigma, scale, seed):
    W = J.scaled_gaussian(10, sigma, seed=seed)
    run = v.measure_gaps(W, 12, input_scale=scale, seed=seed)
    assert np.all(run["norm"] <= run["bound"] * (1 + 1e-12))


def test_regimes_vanish_hold_and_explode_when_tanh_is_near_linear():
    r = v.regimes()
    assert set(r) == {0.95, 1.0, 1.05}
    K = v.GAP
    assert abs(r[0.95]["norm"][K] / 0.95 ** K - 1) < 1e-3
    assert abs(r[1.0]["norm"][K] - 1) < 1e-3
    assert abs(r[1.05]["norm"][K] / 1.05 ** K - 1) < 1e-3
    sat = v.regimes(input_scale=v.LARGE_INPUT)
    assert all(sat[s]["norm"][K] < 1e-3 for s in sat)          # all vanish once saturated


def test_gaussian_with_sigma_max_above_one_still_vanishes():
    g = v.gaussian_vs_orthogonal(1.1)
    orth, gauss = g["orthogonal"], g["gaussian"]
    assert abs(gauss["sigma_max"] - 1.1) < 1e-12 and abs(orth["sigma_max"] - 1.1) < 1e-12
    close(orth["singular_values"], np.full(v.HIDDEN_SIZE, 1.1))
    close(np.abs(orth["eigenvalues"]), np.full(v.HIDDEN_SIZE, 1.1))
    assert 0.45 < gauss["radius"] < 0.7                      # NOTATION: about 0.6 at n = 64
    close(gauss["radius"], np.max(np.abs(gauss["eigenvalues"])))
    assert gauss["run"]["norm"][-1] < 1e-9 < 100 < orth["run"]["norm"][-1]
    # a product of powers of W: ||W^k|| decays like rho^k, not sigma_max^k
    W = gauss["W"]
    assert np.linalg.norm(np.linalg.matrix_power(W, 50), 2) < 1e-9


def test_exploding_gradients_grow_with_length_and_match_torch():
    ex = v.exploding_gradients()
    assert np.all(np.diff(ex["norm"]) > 0)
    assert ex["norm"][-1] > 100 * ex["norm"][0]
    # the longest case against torch autograd through nn.RNN
    params, T = ex["params"], int(ex["T"][-1])
    rng = np.random.default_rng(1)
    x = rng.standard_normal((T, 16, v.INPUT_SIZE))
    vv = rng.standard_normal((16, v.HIDDEN_SIZE))
    vv /= np.linalg.norm(vv, axis=1, keepdims=True)
    rnn = torch_rnn(params)
    with torch.no_grad():
        rnn.bias_ih_l0.copy_(torch.from_numpy(params["b_h"]))
    out, _ = rnn(torch.from_numpy(x))
    (out[-1] * torch.from_numpy(vv)).sum().div(16).backward()
    close(ex["grads"][-1]["W_hh"], rnn.weight_hh_l0.grad.numpy())
    close(ex["grads"][-1]["W_xh"], rnn.weight_ih_l0.grad.numpy())
    close(ex["grads"][-1]["b_h"], rnn.bias_ih_l0.grad.numpy())


def test_two_jobs_louder_state_means_weaker_memory():
    tj = v.two_jobs_tradeoff(np.logspace(-2, 1, 7))
    assert np.all(np.diff(tj["mean_abs_h"]) > 0)
    assert np.all(np.diff(tj["memory"]) < 0)
    assert np.all(np.diff(tj["mean_slope"]) < 0)
    assert tj["memory"][0] > 0.99 and tj["memory"][-1] < 1e-8


# --------------------------------------------------------------- explorer

@pytest.mark.parametrize("sigma", [0.5, 0.8, 1.0, 1.1, 1.5])
def test_sigma_max_view_against_the_equations(sigma):
    view = v.sigma_max_view(sigma)
    assert isinstance(view, View) and len(view.panels) == 2
    K = v.GAP
    orth_small = v.measure_gaps(J.scaled_orthogonal(v.HIDDEN_SIZE, sigma), K, v.SMALL_INPUT)
    orth_large = v.measure_gaps(J.scaled_orthogonal(v.HIDDEN_SIZE, sigma), K, v.LARGE_INPUT)
    gauss_small = v.measure_gaps(J.scaled_gaussian(v.HIDDEN_SIZE, sigma), K, v.SMALL_INPUT)
    for p, orth in ((0, orth_small), (1, orth_large)):
        k, y = series(view, p, 0)
        close(k, np.arange(K + 1))
        close(y, np.maximum(orth["norm"], v.FLOOR))
        close(series(view, p, 2)[1], np.maximum(sigma ** np.arange(K + 1), v.FLOOR))
        assert view.panels[p].logy and view.panels[p].ylim == v.YLIM
    close(series(view, 0, 1)[1], np.maximum(gauss_small["norm"], v.FLOOR))
    # small inputs, sigma <= 1: tanh stays near-linear and the orthogonal W_hh meets the bound;
    # sigma > 1 amplifies even small inputs until tanh saturates, so it stays below
    if sigma <= 1.0:
        assert np.max(np.abs(orth_small["norm"] / sigma ** np.arange(K + 1) - 1)) < 1e-3
    for run in (orth_small, orth_large, gauss_small):
        assert np.all(run["norm"] <= run["bound"] * (1 + 1e-12))
    assert f"σ_max = {sigma:.2f}" in view.text
    assert f"bound is {sigma ** K:.3g}" in view.text
    assert f"gives {orth_small['norm'][-1]:.3g}" in view.text


def test_sigma_max_explorer_grid_and_views():
    ex = Explorer(v.sigma_max_view)
    assert isinstance(ex, Explorer)
    values = ex.controls[0].values
    assert len(values) >= 21 and values[0] == 0.5 and values[-1] == 1.5 and 1.0 in values
    assert ex.view().text == v.sigma_max_view(1.0).text
    assert ex.view(sigma_max=1.5).text == v.sigma_max_view(1.5).text


def test_bad_input_gets_a_clear_error():
    with pytest.raises(ValueError, match="rate"):
        v.repeated_factor(-0.5, 10)
    with pytest.raises(ValueError, match="K"):
        v.repeated_factor(0.9, 0)
    with pytest.raises(ValueError, match="factor"):
        v.knife_edge_band(10, 0.5)
    with pytest.raises(ValueError, match="h"):
        v.tanh_slope(1.5)
    with pytest.raises(ValueError, match="W_hh"):
        v.measure_gaps(np.ones(4), 5)
    with pytest.raises(ValueError, match="W_hh"):
        v.measure_gaps(np.ones((4, 3)), 5)
    with pytest.raises(ValueError, match="sigma_max"):
        v.sigma_max_view(-1.0)
    with pytest.raises(ValueError, match="input_scales"):
        v.two_jobs_tradeoff([])


# ------------------------------------------------------------ non-normality

def test_normal_twin_meets_the_bound_and_the_gaussian_does_not():
    W = J.scaled_gaussian(32, 1.1, seed=3)
    N = v.normal_twin(W)
    close(np.linalg.svd(N, compute_uv=False), np.linalg.svd(W, compute_uv=False))
    assert v.commutator_norm(N) < 1e-12 < 0.1 < v.commutator_norm(W)
    for k in (1, 5, 20):
        assert abs(np.linalg.norm(np.linalg.matrix_power(N, k), 2) / 1.1 ** k - 1) < 1e-10
    assert np.linalg.norm(np.linalg.matrix_power(W, 20), 2) < 1e-2 * 1.1 ** 20
    assert v.commutator_norm(J.scaled_orthogonal(16, 1.3)) < 1e-12


@pytest.mark.parametrize("fn", [v.normal_twin, v.commutator_norm])
def test_non_square_refused(fn):
    with pytest.raises(ValueError, match="square"):
        fn(np.ones((3, 4)))


# ------------------------------------------------------------ truncated BPTT

def test_chunked_gradients_full_bptt_is_rnn_backward():
    params = v.init_rnn_params(4, 16, seed=1)
    x = np.random.default_rng(0).standard_normal((12, 2, 4))
    w = np.random.default_rng(1).standard_normal((2, 16))
    trace = v.rnn_forward(params, x)
    dx = v.rnn_backward(params, trace, dh_T=w)["x"]
    ref = np.sqrt((dx ** 2).sum(axis=(1, 2)))
    close(v.chunked_input_gradients(params, x, 12, w), ref)
    close(v.chunked_input_gradients(params, x, 100, w), ref)


@pytest.mark.parametrize("chunk", [1, 3, 5, 7])
def test_chunked_gradients_stop_exactly_at_the_last_chunk(chunk):
    params = v.init_rnn_params(4, 16, seed=1)
    x = np.random.default_rng(0).standard_normal((12, 1, 4))
    full = v.chunked_input_gradients(params, x, 12)
    cut = v.chunked_input_gradients(params, x, chunk)
    start = (12 - 1) // chunk * chunk          # first step of the last chunk
    assert np.all(cut[:start] == 0.0) and np.all(full[:start] > 0)
    close(cut[start:], full[start:])


def test_chunked_gradients_refuse_bad_input():
    params = v.init_rnn_params(4, 8, seed=0)
    x = np.zeros((5, 1, 4))
    with pytest.raises(ValueError, match="chunk"):
        v.chunked_input_gradients(params, x, 0)
    with pytest.raises(ValueError, match="x"):
        v.chunked_input_gradients(params, np.zeros((5, 1, 3)), 2)
