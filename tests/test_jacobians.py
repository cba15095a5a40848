"""Tests for lstm_lib.jacobians against torch.autograd.functional.jacobian and the equations."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch.autograd.functional import jacobian

from lstm_lib.jacobians import (gru_carry_jacobian, gru_carry_product, gru_jacobian_product,
                                gru_step_jacobian, gru_step_jacobians)
from lstm_lib.jacobians import (gradient_norm_by_gap, half_life, lstm_carry_jacobian,
                                lstm_carry_product, lstm_state_jacobian,
                                lstm_state_jacobian_product, lstm_state_jacobians,
                                rnn_jacobian_norms, rnn_jacobian_product, rnn_step_jacobian,
                                scaled_gaussian, scaled_orthogonal, singular_value_bound,
                                spectral_norm, spectral_radius)
from lstm_lib.reference import (gru_forward, init_gru_params, init_lstm_params,
                                init_rnn_params, lstm_forward, rnn_forward)
from helpers import assert_close

TOL = 1e-10


def tt(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


# ---------------------------------------------------------------------------
# torch versions of one step, written from the equations, for autograd
# ---------------------------------------------------------------------------

def torch_rnn_step(p, x_t, h_prev):
    return torch.tanh(tt(p["W_xh"]) @ tt(x_t) + tt(p["W_hh"]) @ h_prev + tt(p["b_h"]))


def torch_lstm_step(p, x_t, c_prev, h_prev):
    def pre(g):
        return tt(p[f"W_x{g}"]) @ tt(x_t) + tt(p[f"W_h{g}"]) @ h_prev + tt(p[f"b_{g}"])
    f, i, o = torch.sigmoid(pre("f")), torch.sigmoid(pre("i")), torch.sigmoid(pre("o"))
    c = f * c_prev + i * torch.tanh(pre("c"))
    return c, o * torch.tanh(c)


def rnn_setup(T=6, B=3, d=2, n=4, seed=0, scale=None):
    params = init_rnn_params(d, n, seed=seed, scale=scale)
    rng = np.random.default_rng(seed)
    trace = rnn_forward(params, rng.standard_normal((T, B, d)), rng.standard_normal((B, n)))
    return params, trace


def lstm_setup(T=6, B=3, d=2, n=4, seed=0):
    params = init_lstm_params(d, n, seed=seed)
    rng = np.random.default_rng(seed)
    trace = lstm_forward(params, rng.standard_normal((T, B, d)), rng.standard_normal((B, n)),
                         rng.standard_normal((B, n)))
    return params, trace


# ---------------------------------------------------------------------------
# vanilla RNN
# ---------------------------------------------------------------------------

def test_rnn_step_jacobian_matches_autograd():
    params, trace = rnn_setup()
    for t in range(trace.h.shape[0]):
        for b in range(trace.h.shape[1]):
            J = rnn_step_jacobian(trace.h[t, b], params["W_hh"])
            ref = jacobian(lambda h: torch_rnn_step(params, trace.x[t, b], h),
                           tt(trace.h_prev(t)[b])).numpy()
            assert_close(J, ref, what=f"J at t={t}, b={b}")
            # and it is the formula: diag(1 - h_t^2) W_hh
            assert_close(J, np.diag(1 - trace.h[t, b] ** 2) @ params["W_hh"], 1e-15)


def _torch_rnn_run(params, trace, b, t, T):
    def run(h):
        for s in range(t + 1, T + 1):
            h = torch_rnn_step(params, trace.x[s, b], h)
        return h
    start = trace.h0[b] if t == -1 else trace.h[t, b]
    return jacobian(run, tt(start)).numpy()


@pytest.mark.parametrize("t,T", [(-1, 5), (-1, 0), (0, 5), (2, 4), (3, 3), (-1, -1)])
def test_rnn_jacobian_product_matches_autograd(t, T):
    params, trace = rnn_setup(scale=1.0)
    for b in (0, 2):
        P = rnn_jacobian_product(params, trace, t, T, b=b)
        assert_close(P, _torch_rnn_run(params, trace, b, t, T), what=f"dh_{T}/dh_{t}")
    if t == T:
        np.testing.assert_array_equal(P, np.eye(4))


def test_rnn_jacobian_product_is_the_ordered_product():
    params, trace = rnn_setup(T=4)
    J = [rnn_step_jacobian(trace.h[s, 1], params["W_hh"]) for s in range(4)]
    P = rnn_jacobian_product(params, trace, -1, 3, b=1)
    assert_close(P, J[3] @ J[2] @ J[1] @ J[0], 1e-14)
    # the order matters: the reversed product is a different matrix here
    assert np.max(np.abs(P - J[0] @ J[1] @ J[2] @ J[3])) > 1e-6


def test_rnn_jacobian_norms_agree_with_products():
    params, trace = rnn_setup(T=7)
    norms = rnn_jacobian_norms(params, trace, b=1)
    T = 6
    assert norms.shape == (8,)
    for k in range(8):
        P = rnn_jacobian_product(params, trace, T - k, T, b=1)
        assert abs(norms[k] - np.linalg.norm(P, 2)) <= 1e-12 * max(1, norms[k])
    assert norms[0] == 1.0


# ---------------------------------------------------------------------------
# gradient norm by gap and the singular-value bound
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("s", [0.9, 1.0, 1.1])
def test_gradient_norm_by_gap_orthogonal_without_input_is_s_to_the_k(s):
    """No input, no bias, h0 = 0: every J_s = W_hh, so the norm is ||(sQ)^k|| = s^k."""
    W = scaled_orthogonal(16, s, seed=1)
    norms = gradient_norm_by_gap(W, 40)
    k = np.arange(41)
    assert norms.shape == (41,)
    assert_close(norms, s ** k, 1e-10)
    assert_close(singular_value_bound(W, 40), s ** k, 1e-12)


def test_gradient_norm_by_gap_gaussian_vanishes_although_sigma_max_exceeds_one():
    W = scaled_gaussian(64, 1.1, seed=0)
    assert abs(spectral_norm(W) - 1.1) < 1e-12
    assert spectral_radius(W) < 0.7                # the notation page's "about 0.6"
    norms = gradient_norm_by_gap(W, 60)
    bound = singular_value_bound(W, 60)
    assert bound[60] > 100                          # the bound grows: 1.1^60 ~ 304
    assert norms[60] < 1e-6                         # the products still vanish
    assert np.all(norms <= bound * (1 + 1e-12))


def test_gradient_norm_by_gap_matches_a_trace_built_by_hand():
    rng = np.random.default_rng(5)
    n, d, K = 6, 3, 12
    W_hh, W_xh = scaled_orthogonal(n, 1.1, seed=5), rng.standard_normal((n, d))
    x, b_h, h0 = rng.standard_normal((K, d)), rng.standard_normal(n), rng.standard_normal(n)
    norms = gradient_norm_by_gap(W_hh, K, W_xh=W_xh, b_h=b_h, x=x, h0=h0)
    params = {"W_xh": W_xh, "W_hh": W_hh, "b_h": b_h}
    trace = rnn_forward(params, x[:, None, :], h0[None])
    for k in (0, 1, 5, K):
        ref = np.linalg.norm(_torch_rnn_run(params, trace, 0, K - 1 - k, K - 1), 2)
        assert abs(norms[k] - ref) <= 1e-10 * max(1, ref)
    # inputs push tanh off its linear part, which only shrinks the norms
    assert np.all(norms <= singular_value_bound(W_hh, K) * (1 + 1e-12))
    assert norms[K] < 1.1 ** K


def test_singular_value_bound_gamma():
    W = scaled_orthogonal(5, 2.0, seed=0)
    assert_close(singular_value_bound(W, 3, gamma=0.25), 0.5 ** np.arange(4), 1e-12)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), d=st.integers(1, 3), K=st.integers(1, 8),
       sigma=st.floats(0.1, 3.0), seed=st.integers(0, 2**16))
def test_property_norms_never_exceed_the_bound(n, d, K, sigma, seed):
    rng = np.random.default_rng(seed)
    W = scaled_gaussian(n, sigma, seed=seed)
    norms = gradient_norm_by_gap(W, K, W_xh=rng.standard_normal((n, d)),
                                 x=rng.standard_normal((K, d)), b_h=rng.standard_normal(n))
    assert norms.shape == (K + 1,) and norms[0] == 1.0
    assert np.all(norms <= singular_value_bound(W, K) * (1 + 1e-10) + 1e-300)


# ---------------------------------------------------------------------------
# recurrent matrices
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 7, 64])
@pytest.mark.parametrize("s", [0.0, 0.9, 1.0, 1.1])
def test_scaled_orthogonal_has_every_singular_value_s(n, s):
    W = scaled_orthogonal(n, s, seed=3)
    assert W.shape == (n, n) and W.dtype == np.float64
    np.testing.assert_allclose(np.linalg.svd(W, compute_uv=False), s, rtol=0, atol=1e-12)
    assert_close(W.T @ W, s ** 2 * np.eye(n), 1e-12)


def test_scaled_orthogonal_is_seeded_and_sign_fixed():
    np.testing.assert_array_equal(scaled_orthogonal(5, 1.0, seed=4), scaled_orthogonal(5, 1.0, 4))
    assert not np.allclose(scaled_orthogonal(5, 1.0, seed=4), scaled_orthogonal(5, 1.0, seed=5))
    Q = scaled_orthogonal(5, 1.0, seed=4)
    G = np.random.default_rng(4).standard_normal((5, 5))
    R = Q.T @ G                                     # G = Q R with R upper triangular
    assert_close(np.tril(R, -1), np.zeros((5, 5)), 1e-12)
    assert np.all(np.diag(R) > 0)                   # the sign fix
    assert_close(scaled_orthogonal(5, 0.5, seed=4), 0.5 * Q, 1e-15)


# ---------------------------------------------------------------------------
# LSTM
# ---------------------------------------------------------------------------

def test_lstm_state_jacobian_matches_autograd():
    params, trace = lstm_setup()
    n = 4
    for t in range(trace.h.shape[0]):
        for b in (0, 2):
            J = lstm_state_jacobian(params, trace, t, b=b)
            assert J.shape == (2 * n, 2 * n)

            def step(state):
                c, h = torch_lstm_step(params, trace.x[t, b], state[:n], state[n:])
                return torch.cat([c, h])
            start = np.concatenate([trace.c_prev(t)[b], trace.h_prev(t)[b]])
            assert_close(J, jacobian(step, tt(start)).numpy(), what=f"state J t={t} b={b}")
            # the carry block is exactly diag(f_t)
            np.testing.assert_array_equal(J[:n, :n], np.diag(trace.f[t, b]))


def test_lstm_carry_jacobian_is_exactly_diag_f():
    """With h_{t-1} held fixed, autograd's dc_t/dc_{t-1} is bit-for-bit diag(f_t).

    Bit-for-bit against torch's own f_t: numpy's and torch's sigmoids may differ
    in the last bit, so our diag(f_t) is compared to autograd at 1e-15.
    """
    params, trace = lstm_setup()
    for t in range(trace.h.shape[0]):
        J = lstm_carry_jacobian(trace.f[t, 1])
        np.testing.assert_array_equal(J, np.diag(trace.f[t, 1]))
        h_prev = tt(trace.h_prev(t)[1])
        ref = jacobian(lambda c: torch_lstm_step(params, trace.x[t, 1], c, h_prev)[0],
                       tt(trace.c_prev(t)[1])).numpy()
        f_torch = torch.sigmoid(tt(params["W_xf"]) @ tt(trace.x[t, 1])
                                + tt(params["W_hf"]) @ h_prev + tt(params["b_f"])).numpy()
        np.testing.assert_array_equal(ref, np.diag(f_torch))
        np.testing.assert_allclose(J, ref, rtol=1e-15, atol=0)


@pytest.mark.parametrize("t,T", [(-1, 5), (1, 4), (2, 2), (-1, 0)])
def test_lstm_state_jacobian_product_matches_autograd(t, T):
    params, trace = lstm_setup()
    n = 4

    def run(state):
        c, h = state[:n], state[n:]
        for s in range(t + 1, T + 1):
            c, h = torch_lstm_step(params, trace.x[s, 1], c, h)
        return torch.cat([c, h])
    start = np.concatenate([trace.c_prev(t + 1)[1], trace.h_prev(t + 1)[1]])
    P = lstm_state_jacobian_product(params, trace, t, T, b=1)
    assert_close(P, jacobian(run, tt(start)).numpy(), what=f"d(c,h)_{T}/d(c,h)_{t}")
    if t < T:
        # the dc_T/dc_t block: the carry-line diagonal plus the paths through h
        carry = lstm_carry_product(trace.f[t + 1:T + 1, 1])[T - t]
        rest = P[:n, :n] - np.diag(carry)
        if T - t == 1:   # one step: the block is the carry line alone
            np.testing.assert_array_equal(P[:n, :n], np.diag(carry))
        else:            # several steps: paths that leave through h and come back add to it
            assert np.max(np.abs(rest)) > 1e-6


def test_lstm_carry_product_is_the_diagonal_of_the_product():
    rng = np.random.default_rng(0)
    f = rng.uniform(0.2, 1.0, size=(6, 3))
    P = lstm_carry_product(f)
    assert P.shape == (7, 3)
    np.testing.assert_array_equal(P[0], np.ones(3))
    for k in range(7):
        M = np.eye(3)
        for s in range(5, 5 - k, -1):               # diag(f_T) ... diag(f_{T-k+1})
            M = M @ lstm_carry_jacobian(f[s])
        assert_close(P[k], np.diag(M), 1e-15)
        assert_close(M, np.diag(np.diag(M)), 0)      # and the product is diagonal
    batch = rng.uniform(0, 1, size=(4, 2, 3))
    assert lstm_carry_product(batch).shape == (5, 2, 3)
    assert_close(lstm_carry_product(np.full(10, 0.5)), 0.5 ** np.arange(11), 1e-15)


@settings(max_examples=25, deadline=None)
@given(T=st.integers(1, 4), d=st.integers(1, 3), n=st.integers(1, 4),
       seed=st.integers(0, 2**16))
def test_property_lstm_state_jacobian_matches_autograd(T, d, n, seed):
    params, trace = lstm_setup(T=T, B=1, d=d, n=n, seed=seed)
    t = T - 1

    def step(state):
        c, h = torch_lstm_step(params, trace.x[t, 0], state[:n], state[n:])
        return torch.cat([c, h])
    start = np.concatenate([trace.c_prev(t)[0], trace.h_prev(t)[0]])
    J = lstm_state_jacobian(params, trace, t)
    assert_close(J, jacobian(step, tt(start)).numpy())
    assert_close(lstm_state_jacobian_product(params, trace, -1, T - 1),
                 np.linalg.multi_dot([np.eye(2 * n)] + [lstm_state_jacobian(params, trace, s)
                                                        for s in range(T - 1, -1, -1)]),
                 1e-12)


@settings(max_examples=25, deadline=None)
@given(T=st.integers(1, 5), n=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_property_rnn_product_matches_autograd(T, n, seed):
    params, trace = rnn_setup(T=T, B=1, d=1, n=n, seed=seed, scale=1.0)
    assert_close(rnn_jacobian_product(params, trace, -1, T - 1),
                 _torch_rnn_run(params, trace, 0, -1, T - 1))


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------

def test_bad_indices():
    params, trace = rnn_setup(T=4, B=2)
    with pytest.raises(ValueError, match=r"T: expected an integer in \[-1, 3\], got 4"):
        rnn_jacobian_product(params, trace, 0, 4)
    with pytest.raises(ValueError, match=r"t: expected an integer in \[-1, 1\], got 2"):
        rnn_jacobian_product(params, trace, 2, 1)
    with pytest.raises(ValueError, match=r"b: expected an integer in \[0, 1\], got 2"):
        rnn_jacobian_product(params, trace, 0, 1, b=2)
    with pytest.raises(ValueError, match=r"t: expected an integer in \[-1, 3\], got 1.0"):
        rnn_jacobian_product(params, trace, 1.0, 3)
    with pytest.raises(ValueError, match=r"b: expected an integer in \[0, 1\], got True"):
        rnn_jacobian_norms(params, trace, b=True)
    lparams, ltrace = lstm_setup(T=3)
    with pytest.raises(ValueError, match=r"t: expected an integer in \[0, 2\], got -1"):
        lstm_state_jacobian(lparams, ltrace, -1)
    with pytest.raises(ValueError, match=r"T: expected an integer in \[-1, 2\], got 3"):
        lstm_state_jacobian_product(lparams, ltrace, 0, 3)


def test_wrong_trace_or_params():
    params, trace = rnn_setup()
    lparams, ltrace = lstm_setup()
    with pytest.raises(TypeError, match=r"trace: expected a LSTMTrace .*got RNNTrace"):
        lstm_state_jacobian(lparams, trace, 0)
    with pytest.raises(TypeError, match=r"trace: expected a RNNTrace .*got LSTMTrace"):
        rnn_jacobian_product(params, ltrace, 0, 1)
    with pytest.raises(ValueError, match=r"params: missing \['W_hf'\]"):
        lstm_state_jacobian({k: v for k, v in lparams.items() if k != "W_hf"}, ltrace, 0)


def test_step_jacobian_bad_shapes():
    W = np.eye(3)
    with pytest.raises(ValueError, match=r"h_t: expected a 1-D input \(n,\): one example's "
                       r"state, got 2-D with shape \(2, 3\)"):
        rnn_step_jacobian(np.zeros((2, 3)), W)
    with pytest.raises(ValueError, match=r"W_hh: expected shape \(n=3, n=3\), got \(3, 4\)"):
        rnn_step_jacobian(np.zeros(3), np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"W_hh: expected shape \(n=4, n=4\), got \(3, 3\)"):
        rnn_step_jacobian(np.zeros(4), W)
    with pytest.raises(TypeError, match=r"h_t: expected a floating-point array .*int64"):
        rnn_step_jacobian(np.zeros(3, dtype=np.int64), W)
    with pytest.raises(ValueError, match=r"h_t: expected finite values"):
        rnn_step_jacobian(np.array([0.0, np.nan, 0.0]), W)
    with pytest.raises(ValueError, match=r"f_t: expected a 1-D input \(n,\): one example's "
                       r"forget gate, got 2-D"):
        lstm_carry_jacobian(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"f: expected a 1 or 2 or 3-D input"):
        lstm_carry_product(np.zeros((1, 2, 3, 4)))
    with pytest.raises(ValueError, match=r"f: expected at least one time step, got shape "
                       r"\(0, 3\)"):
        lstm_carry_product(np.zeros((0, 3)))
    with pytest.raises(TypeError, match=r"f: expected a numpy array, got list"):
        lstm_carry_product([0.5, 0.5])


def test_gradient_norm_by_gap_bad_arguments():
    W = scaled_orthogonal(3, 1.0)
    with pytest.raises(ValueError, match=r"K: expected a positive integer, got 0"):
        gradient_norm_by_gap(W, 0)
    with pytest.raises(ValueError, match=r"W_hh: expected a 2-D input \(n, n\)"):
        gradient_norm_by_gap(np.zeros(3), 4)
    with pytest.raises(ValueError, match=r"W_hh: expected shape \(n=2, n=2\), got \(2, 3\)"):
        gradient_norm_by_gap(np.zeros((2, 3)), 4)
    with pytest.raises(ValueError, match=r"W_xh and x: give both .*got W_xh=an array and "
                       r"x=None"):
        gradient_norm_by_gap(W, 4, W_xh=np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"x: expected shape \(K=4, d=2\), got \(5, 2\)"):
        gradient_norm_by_gap(W, 4, W_xh=np.zeros((3, 2)), x=np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"x: expected a 2-D input \(K, d\): one example's "
                       r"inputs, no batch axis, got 3-D"):
        gradient_norm_by_gap(W, 4, W_xh=np.zeros((3, 2)), x=np.zeros((4, 1, 2)))
    with pytest.raises(ValueError, match=r"W_xh: expected shape \(n=3, d\), got \(2, 2\)"):
        gradient_norm_by_gap(W, 4, W_xh=np.zeros((2, 2)), x=np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"b_h: expected shape \(n=3,\), got \(2,\)"):
        gradient_norm_by_gap(W, 4, b_h=np.zeros(2))
    with pytest.raises(ValueError, match=r"h0: expected shape \(n=3,\), got \(1, 3\)"):
        gradient_norm_by_gap(W, 4, h0=np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"W_hh: expected finite values"):
        gradient_norm_by_gap(np.full((2, 2), np.inf), 4)
    with pytest.raises(ValueError, match=r"gamma: expected a value in \[0.0, None\], got -1"):
        singular_value_bound(W, 3, gamma=-1)


def test_matrix_constructors_bad_arguments():
    with pytest.raises(ValueError, match=r"n: expected a positive integer, got 0"):
        scaled_orthogonal(0, 1.0)
    with pytest.raises(ValueError, match=r"s: expected a value in \[0.0, None\], got -0.5"):
        scaled_orthogonal(3, -0.5)
    with pytest.raises(ValueError, match=r"s: expected a finite number, got nan"):
        scaled_orthogonal(3, float("nan"))
    with pytest.raises(ValueError, match=r"sigma_max: expected a finite number, got inf"):
        scaled_gaussian(3, float("inf"))
    with pytest.raises(ValueError, match=r"W: expected a 2-D input \(a matrix\), got 1-D"):
        spectral_norm(np.zeros(3))
    with pytest.raises(ValueError, match=r"W: expected shape \(n=2, n=2\), got \(2, 3\)"):
        spectral_radius(np.zeros((2, 3)))


# ---------------------------------------------------------------------------
# every step's state Jacobian at once, and the half-life of a constant gate
# ---------------------------------------------------------------------------

def test_lstm_state_jacobians_are_each_step_and_example():
    p = init_lstm_params(3, 4, seed=1)
    tr = lstm_forward(p, np.random.default_rng(2).standard_normal((5, 2, 3)))
    J = lstm_state_jacobians(p, tr)
    assert J.shape == (5, 2, 8, 8)
    for t in range(5):
        for b in range(2):
            np.testing.assert_array_equal(J[t, b], lstm_state_jacobian(p, tr, t, b))


@pytest.mark.parametrize("f", [0.5, 0.73, 0.9, 0.99, 0.999])
def test_half_life_halves(f):
    k = half_life(f)
    assert math.isclose(f ** k, 0.5, rel_tol=1e-12)


def test_half_life_values_and_edges():
    assert half_life(0.5) == pytest.approx(1.0, rel=1e-12)
    assert half_life(0.99) == pytest.approx(68.9675639, rel=1e-8)
    assert math.isinf(half_life(1.0))
    arr = half_life(np.array([0.5, 1.0]))
    assert arr.shape == (2,) and arr[0] == pytest.approx(1.0) and math.isinf(arr[1])
    for bad in (0.0, -0.1, 1.01, float("nan")):
        with pytest.raises(ValueError, match="f: expected values in"):
            half_life(bad)


# ---------------------------------------------------------------------------
# GRU
# ---------------------------------------------------------------------------


def torch_gru_step(p, x_t, h_prev, hold=None):
    """One GRU step from the equations; ``hold`` = (r, z, h_tilde) held fixed if given."""
    def pre(g):
        return tt(p[f"W_x{g}"]) @ tt(x_t) + tt(p[f"W_h{g}"]) @ h_prev + tt(p[f"b_{g}"])
    r, z = torch.sigmoid(pre("r")), torch.sigmoid(pre("z"))
    h_tilde = torch.tanh(tt(p["W_xn"]) @ tt(x_t) + tt(p["b_xn"])
                         + r * (tt(p["W_hn"]) @ h_prev + tt(p["b_hn"])))
    if hold is not None:
        r, z, h_tilde = (tt(v) for v in hold)
    return (1 - z) * h_tilde + z * h_prev


def gru_setup(T=6, B=3, d=2, n=4, seed=0):
    params = init_gru_params(d, n, seed=seed)
    for k in params:                                 # larger weights: every road matters
        params[k] = 3.0 * params[k]
    rng = np.random.default_rng(seed)
    trace = gru_forward(params, rng.standard_normal((T, B, d)), rng.standard_normal((B, n)))
    return params, trace


def test_gru_step_jacobian_matches_autograd():
    params, trace = gru_setup()
    for t in range(trace.h.shape[0]):
        for b in (0, 2):
            J = gru_step_jacobian(params, trace, t, b=b)
            ref = jacobian(lambda h: torch_gru_step(params, trace.x[t, b], h),
                           tt(trace.h_prev(t)[b])).numpy()
            assert_close(J, ref, what=f"GRU J t={t} b={b}")
            assert np.max(np.abs(J - np.diag(np.diag(J)))) > 1e-3     # dense: not diag(z) alone


def test_gru_carry_jacobian_is_diag_z_when_gates_and_candidate_are_held():
    params, trace = gru_setup()
    for t in range(trace.h.shape[0]):
        hold = (trace.r[t, 1], trace.z[t, 1], trace.h_tilde[t, 1])
        ref = jacobian(lambda h: torch_gru_step(params, trace.x[t, 1], h, hold),
                       tt(trace.h_prev(t)[1])).numpy()
        np.testing.assert_array_equal(ref, np.diag(trace.z[t, 1]))
        np.testing.assert_array_equal(gru_carry_jacobian(trace.z[t, 1]), ref)


def test_gru_step_jacobians_and_products():
    params, trace = gru_setup(T=5, B=2)
    J = gru_step_jacobians(params, trace)
    assert J.shape == (5, 2, 4, 4)
    assert np.array_equal(J[3, 1], gru_step_jacobian(params, trace, 3, 1))
    for t, T in [(-1, 4), (1, 3), (2, 2)]:
        def run(h):
            for s in range(t + 1, T + 1):
                h = torch_gru_step(params, trace.x[s, 1], h)
            return h
        start = trace.h_prev(t + 1)[1]
        P = gru_jacobian_product(params, trace, t, T, b=1)
        assert_close(P, jacobian(run, tt(start)).numpy(), what=f"dh_{T}/dh_{t}")
    Z = gru_carry_product(trace.z)
    assert Z.shape == (6, 2, 4) and np.all(Z[0] == 1)
    np.testing.assert_allclose(Z[3], trace.z[4] * trace.z[3] * trace.z[2], rtol=1e-15)


def test_gru_jacobian_bad_arguments():
    params, trace = gru_setup()
    with pytest.raises(ValueError, match=r"t: expected an integer in \[0, 5\], got 6"):
        gru_step_jacobian(params, trace, 6)
    with pytest.raises(ValueError, match=r"b: expected an integer in \[0, 2\], got 3"):
        gru_step_jacobian(params, trace, 0, b=3)
    with pytest.raises(TypeError, match=r"trace: expected a GRUTrace"):
        gru_step_jacobian(params, lstm_setup()[1], 0)
    with pytest.raises(ValueError, match=r"z_t: expected a 1-D input"):
        gru_carry_jacobian(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"z: expected finite values"):
        gru_carry_product(np.array([0.5, np.nan]))
    with pytest.raises(ValueError, match=r"z: expected at least one time step"):
        gru_carry_product(np.zeros((0, 3)))
