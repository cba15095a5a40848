"""Tests for lstm_lib.chapters.memory (Chapter 2): each equation against a direct
computation, the carry-line gradients against torch autograd, and both
explorers' pure functions at several control values, range ends included."""
import math

import numpy as np
import pytest
import torch

from lstm_lib.chapters import memory as m
from lstm_lib.viz.explorer import Explorer, View
from lstm_lib.jacobians import lstm_carry_product
from helpers import assert_close as close, series

TOL64 = 1e-10


def stream(T=7, B=2, n=3, seed=0):
    rng = np.random.default_rng(seed)
    f = rng.uniform(0.0, 1.0, (T, B, n))
    i = rng.uniform(0.0, 1.0, (T, B, n))
    c_tilde = rng.uniform(-1.0, 1.0, (T, B, n))
    c0 = rng.standard_normal((B, n))
    return f, i, c_tilde, c0


def carry_jacobian(f, i, c_tilde, c_start, k):
    """Autograd d c_T / d c_{T-k}: rerun the last k steps from a leaf c_{T-k}."""
    T = f.shape[0]
    tt = lambda a: torch.tensor(a[T - k:], dtype=torch.float64)
    fk, ik, ck = tt(f), tt(i), tt(c_tilde)
    leaf = torch.tensor(c_start, dtype=torch.float64)
    if k == 0:
        return np.eye(leaf.numel()).reshape(leaf.shape + leaf.shape)
    jac = torch.autograd.functional.jacobian(
        lambda c: m.forget_memory(fk, ik, ck, c0=c)[-1], leaf)
    return jac.numpy()  # (B, n, B, n)


# ------------------------------------------------------------------ memories

def test_additive_memory_is_a_running_sum():
    _, _, delta, c0 = stream()
    c = m.additive_memory(delta, c0)
    close(c, c0[None] + np.cumsum(delta, axis=0))
    close(m.additive_memory(delta), np.cumsum(delta, axis=0))


def test_a_value_written_once_survives_1000_steps_exactly():
    T, n = 1000, 4
    delta = np.zeros((T, 1, n))
    delta[0, 0, 1] = 0.7317
    delta[1:, 0, [0, 2, 3]] = np.random.default_rng(1).standard_normal((T - 1, 3))
    c = m.additive_memory(delta)
    assert np.all(c[:, 0, 1] == 0.7317)  # bit for bit, not approximately


def test_additive_gradient_through_1000_steps_is_exactly_identity():
    T, B, n = 1000, 1, 3
    delta = torch.tensor(np.random.default_rng(2).standard_normal((T, B, n)))
    c0 = torch.zeros(B, n, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda c: m.additive_memory(delta, c)[-1], c0)
    assert torch.equal(jac.reshape(n, n), torch.eye(n, dtype=torch.float64))


def test_cec_is_additive_with_write_i_times_c_tilde_and_forget_gate_one():
    f, i, c_tilde, c0 = stream()
    c = m.cec_memory(i, c_tilde, c0)
    close(c, m.additive_memory(i * c_tilde, c0))
    close(c, m.forget_memory(np.ones_like(f), i, c_tilde, c0))


def test_forget_memory_matches_the_unrolled_sum():
    f, i, c_tilde, c0 = stream(T=9)
    c = m.forget_memory(f, i, c_tilde, c0)
    T = f.shape[0]
    for t in range(1, T + 1):  # c_t = (prod_{s<=t} f_s) c_0 + sum_s (prod_{r=s+1}^{t} f_r) i_s c_tilde_s
        expect = np.prod(f[:t], axis=0) * c0
        for s in range(1, t + 1):
            expect = expect + np.prod(f[s:t], axis=0) * i[s - 1] * c_tilde[s - 1]
        close(c[t - 1], expect)


def test_torch_and_numpy_give_the_same_memory():
    f, i, c_tilde, c0 = stream()
    as_t = lambda a: torch.tensor(a)
    out = m.forget_memory(as_t(f), as_t(i), as_t(c_tilde), as_t(c0))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
    close(out.numpy(), m.forget_memory(f, i, c_tilde, c0))
    out32 = m.additive_memory(as_t(c_tilde).float())
    assert out32.dtype == torch.float32
    close(out32.numpy(), np.cumsum(c_tilde, axis=0), tol=1e-5)


def test_one_step_jacobian_is_diag_f():
    f, i, c_tilde, c0 = stream(T=1, B=1, n=5)
    jac = carry_jacobian(f, i, c_tilde, c0, k=1).reshape(5, 5)
    close(jac, np.diag(f[0, 0]))


def test_carry_jacobian_of_forget_memory_over_every_gap_is_diag_prod_f():
    f, i, c_tilde, c0 = stream(T=6, B=2, n=3, seed=3)
    T, B, n = f.shape
    g = lstm_carry_product(f)
    c = m.forget_memory(f, i, c_tilde, c0)
    for k in range(T + 1):
        c_start = c0 if k == T else c[T - k - 1]
        jac = carry_jacobian(f, i, c_tilde, c_start, k)
        for b in range(B):
            close(jac[b, :, b, :], np.diag(g[k, b]))
            for b2 in range(B):  # examples never mix
                if b2 != b:
                    assert np.all(jac[b, :, b2, :] == 0)


# ------------------------------------------------------------- closed forms

@pytest.mark.parametrize("f", [0.0, 0.5, 0.9, 0.99])
def test_constant_gate_memory_stays_within_the_bound(f):
    i, c_tilde = m.random_writes(3000, 4, 8, candidate_mean=2.0, seed=5)  # biased writes
    c = m.forget_memory(np.full(i.shape, f), i, c_tilde)
    max_write = float(np.max(np.abs(i * c_tilde)))
    bound = m.memory_bound(f, max_write)
    assert bound == pytest.approx(max_write / (1 - f))
    assert np.max(np.abs(c)) <= bound
    if f >= 0.5:  # biased writes push the memory close to the bound (it is tight)
        assert np.max(np.abs(c)) >= 0.5 * bound


def test_memory_bound_with_initial_state_and_errors():
    assert m.memory_bound(0.5, 1.0, c0_abs=5.0) == 5.0
    assert m.memory_bound(0.5, 1.0, c0_abs=1.0) == 2.0
    with pytest.raises(ValueError, match="no bound"):
        m.memory_bound(1.0, 1.0)
    with pytest.raises(ValueError, match="f: expected a value in"):
        m.memory_bound(1.5, 1.0)
    with pytest.raises(ValueError, match="max_write"):
        m.memory_bound(0.5, -1.0)


# --------------------------------------------------------- streams and growth

def test_random_writes_are_seeded_and_in_range():
    i, c_tilde = m.random_writes(50, 3, 4, seed=7)
    i2, c2 = m.random_writes(50, 3, 4, seed=7)
    assert i.shape == c_tilde.shape == (50, 3, 4) and i.dtype == np.float64
    assert np.array_equal(i, i2) and np.array_equal(c_tilde, c2)
    assert np.all((i > 0) & (i < 1)) and np.all(np.abs(c_tilde) < 1)
    z = np.random.default_rng(7).standard_normal((2, 50, 3, 4))
    close(i, 1 / (1 + np.exp(-z[0])))
    close(c_tilde, np.tanh(z[1]))
    _, biased = m.random_writes(2000, 1, 1, candidate_mean=1.5, seed=7)
    assert biased.mean() > 0.5


def test_rms_norm_and_growth_exponent():
    c = np.arange(1.0, 7.0).reshape(2, 1, 3)
    close(m.rms_norm_by_step(c), [math.sqrt(14 / 3), math.sqrt(77 / 3)])
    t = np.arange(1, 50)
    p, a = m.growth_exponent(t, 3.0 * t ** 0.37)
    assert p == pytest.approx(0.37, abs=1e-12) and a == pytest.approx(3.0, rel=1e-10)
    with pytest.raises(ValueError):
        m.growth_exponent(t, -t)
    with pytest.raises(ValueError):
        m.growth_exponent(t, t[:-1])


def test_purely_additive_memory_grows_like_sqrt_t_or_linearly():
    T = 2000
    t = np.arange(1, T + 1)
    i, c_tilde = m.random_writes(T, 64, 8, seed=0)
    p_sign, _ = m.growth_exponent(t[9:], m.rms_norm_by_step(m.cec_memory(i, c_tilde))[9:])
    assert 0.45 <= p_sign <= 0.55
    i, c_tilde = m.random_writes(T, 64, 8, candidate_mean=1.0, seed=0)
    p_bias, _ = m.growth_exponent(t[9:], m.rms_norm_by_step(m.cec_memory(i, c_tilde))[9:])
    assert 0.95 <= p_bias <= 1.05
    c = m.forget_memory(np.full(i.shape, 0.9), i, c_tilde)  # with a forget gate: flat
    p_forget, _ = m.growth_exponent(t[99:], m.rms_norm_by_step(c)[99:])
    assert abs(p_forget) < 0.05


# -------------------------------------------------------------- bad input

def test_bad_input_gets_a_clear_error():
    f, i, c_tilde, c0 = stream()
    with pytest.raises(ValueError, match=r"i: expected shape \(T, B, n\)=\(7, 2, 3\), got \(7, 2, 4\)"):
        m.forget_memory(f, np.zeros((7, 2, 4)), c_tilde)
    with pytest.raises(ValueError, match=r"delta: expected a 3-D input"):
        m.additive_memory(np.zeros((7, 3)))
    with pytest.raises(ValueError, match=r"c0: expected shape \(B=2, n=3\), got \(3,\)"):
        m.additive_memory(c_tilde, np.zeros(3))
    with pytest.raises(TypeError, match="floating"):
        m.additive_memory(np.zeros((2, 1, 1), dtype=np.int64))
    with pytest.raises(ValueError, match="finite"):
        m.cec_memory(i, np.full_like(i, np.nan))
    with pytest.raises(TypeError, match="same kind"):
        m.forget_memory(torch.tensor(f), i, c_tilde)
    with pytest.raises(TypeError, match="c0: expected a Tensor"):
        m.additive_memory(torch.tensor(c_tilde), c0)
    with pytest.raises(ValueError, match="T: expected a positive integer"):
        m.random_writes(0, 1, 1)


# --------------------------------------------------------------- explorers

@pytest.mark.parametrize("f", [0.5, 0.73, 0.9, 0.99, 1.0])
def test_constant_forget_view_against_the_equations(f):
    view = m.constant_forget_view(f)
    assert isinstance(view, View) and len(view.panels) == 2
    T = m.CONSTANT_T
    i, c_tilde = m.random_writes(T, 1, 1, seed=0)
    w = (i * c_tilde)[:, 0, 0]
    w[0] = 1.0
    c, expect = 0.0, []
    for t in range(T):  # c_t = f c_{t-1} + w_t, written out
        c = f * c + w[t]
        expect.append(c)
    t_axis, c_plot = series(view, 0, 0)
    lo, hi = view.panels[0].ylim
    assert lo < np.min(c_plot) and np.max(c_plot) < hi  # the fixed axis shows the whole trace
    close(t_axis, np.arange(1, T + 1))
    close(c_plot, expect)
    close(series(view, 0, 1)[1], f ** np.arange(T))  # the step-1 write, f^(t-1) * 1
    gap, scale = series(view, 1, 0)
    close(gap, np.arange(T + 1))
    expect = f ** np.arange(T + 1.0)
    shown = expect >= 1e-12                       # the line stops where the log axis ends
    assert np.array_equal(np.isnan(scale), ~shown)
    close(scale[shown], expect[shown])
    if f < 1:
        bound = view.panels[0].hlines[0][0]
        assert bound == pytest.approx(1.0 / (1.0 - f))  # max |w_t| = w_1 = 1
        assert np.max(np.abs(c_plot)) <= bound
        assert f"half-life {m.half_life(f):.3g} step" in view.text
    else:
        assert view.panels[0].hlines == () and "infinite" in view.text


def test_constant_forget_view_gradient_scale_is_autograd():
    f = 0.9
    s = m.constant_forget_stream(f)
    T = m.CONSTANT_T
    ft = torch.full((T, 1, 1), f, dtype=torch.float64)
    i, c_tilde = m.random_writes(T, 1, 1, seed=0)
    i[0], c_tilde[0] = 1.0, 1.0
    c0 = torch.zeros(1, 1, dtype=torch.float64, requires_grad=True)
    c = m.forget_memory(ft, torch.tensor(i), torch.tensor(c_tilde), c0)
    close(c.detach().numpy()[:, 0, 0], s["c"])
    (grad,) = torch.autograd.grad(c[-1].sum(), c0)
    close(grad.item(), s["scale"][-1])
    close(grad.item(), f ** T)


@pytest.mark.parametrize("f_hold,f_reset", [(0.5, 0.0), (0.5, 1.0), (1.0, 0.0),
                                            (1.0, 1.0), (0.99, 0.35), (0.9, 0.0)])
def test_reset_forget_view_against_the_equations(f_hold, f_reset):
    view = m.reset_forget_view(f_hold, f_reset)
    T, r = m.RESET_T, m.RESET_STEP
    t = np.arange(1, T + 1)
    # c_t: 1 held for t < r; erased by f_reset at r; -0.5 added at r+1 and held
    expect = np.where(t < r, f_hold ** (t - 1.0), 0.0)
    expect[r - 1] = f_reset * f_hold ** (r - 2)
    after = t > r
    expect[after] = f_reset * f_hold ** (t[after] - 2.0) - 0.5 * f_hold ** (t[after] - r - 1.0)
    close(series(view, 0, 0)[1], expect)
    # dc_T/dc_t = prod_{s=t+1}^{T} f_s = f_hold^(T-t) / f_hold * f_reset if the gap crosses r
    crosses = t < r
    scale = np.where(crosses, f_reset * f_hold ** (T - t - 1.0), f_hold ** (T - t * 1.0))
    close(series(view, 1, 0)[1], scale)
    assert f"scaled by {scale[0]:.3g}" in view.text


def test_reset_forget_view_gradient_scale_is_autograd():
    s = m.reset_forget_stream(0.95, 0.4)
    T = m.RESET_T
    f = torch.tensor(s["f"].reshape(T, 1, 1))
    w = torch.zeros(T, 1, 1, dtype=torch.float64)
    w[0], w[m.RESET_STEP] = m.FIRST_WRITE, m.SECOND_WRITE
    r = m.RESET_STEP
    for t in (1, r // 2, r - 1, r, r + 1, T - 1, T):  # dc_T/dc_t by autograd, from a leaf c_t
        leaf = torch.tensor(s["c"][t - 1]).reshape(1, 1).requires_grad_(True)
        if t == T:
            grad = 1.0
        else:
            c = m.forget_memory(f[t:], torch.ones_like(w[t:]), w[t:], leaf)
            (g,) = torch.autograd.grad(c[-1].sum(), leaf)
            close(c.detach().numpy()[-1, 0, 0], s["c"][-1])
            grad = g.item()
        close(grad, s["scale"][t - 1])


def test_explorers_grids_and_views():
    ex = Explorer(m.constant_forget_view)
    assert isinstance(ex, Explorer)
    (ctrl,) = ex.controls
    assert len(ctrl.values) >= 21 and min(ctrl.values) == 0.5 and max(ctrl.values) == 1.0
    assert ex.view().text == m.constant_forget_view(0.9).text
    for f in (0.5, 1.0):
        assert ex.view(f=f).text == m.constant_forget_view(f).text
    lo, hi = m.CONSTANT_YLIM
    for f in ctrl.values:  # the fixed axis shows every frame's trace whole
        c = m.constant_forget_stream(f)["c"]
        assert lo < c.min() and c.max() < hi
    ex2 = Explorer(m.reset_forget_view)
    assert [len(c.values) >= 21 for c in ex2.controls] == [True, True]
    assert len(ex2.grid()) <= 1500
    assert min(ex2.controls[1].values) == 0.0 and max(ex2.controls[1].values) == 1.0
    v = ex2.view(f_hold=0.5, f_reset=1.0)
    close(series(v, 0, 0)[1], series(m.reset_forget_view(0.5, 1.0), 0, 0)[1])
    html = ex.static_html()
    assert html.count("<input type=\"range\"") == 1 and "half-life" in html


def test_explorer_views_reject_values_off_range():
    with pytest.raises(ValueError, match="f: expected a value in"):
        m.constant_forget_view(1.2)
    with pytest.raises(ValueError, match="f_reset"):
        m.reset_forget_view(0.9, -0.1)
