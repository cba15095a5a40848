"""lstm_lib.chapters.assembly: the parameter-count search, FLOP counts, and the gradient at init.

Counts are checked against sum(p.numel()) of real PyTorch models, FLOPs against
PyTorch's own FLOP counter, and the state gradients against the numpy reference's
hand-written backward pass.
"""
import itertools

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from lstm_lib.chapters import assembly as A
from lstm_lib import reference
from lstm_lib.modules import LSTM
from lstm_lib.weights import lstm_params_from_torch


pytestmark = pytest.mark.usefixtures("one_thread")


def numel(module):
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------- counts

@pytest.mark.parametrize("vocab,bi,layers", list(itertools.product((None, 30), (False, True), (1, 2, 3))))
def test_count_matches_built_model(vocab, bi, layers):
    cfg = A.ModelConfig(input_size=12, num_classes=5, vocab_size=vocab, bidirectional=bi,
                        hidden_size=7, num_layers=layers)
    model = cfg.build()
    assert numel(model) == cfg.count()
    parts = cfg.parts()
    assert parts["lstm"] == numel(model["lstm"]) == numel(
        nn.LSTM(12, 7, num_layers=layers, bidirectional=bi))
    assert parts["head"] == numel(model["head"]) == ((14 if bi else 7) + 1) * 5
    assert parts["embedding"] == (0 if vocab is None else 30 * 12)


@pytest.mark.parametrize("bi,layers", list(itertools.product((False, True), (1, 2))))
def test_single_bias_count_drops_one_bias_per_gate(bi, layers):
    two = A.ModelConfig(10, 3, 100, bi, 2, hidden_size=6, num_layers=layers)
    one = A.ModelConfig(10, 3, 100, bi, 1, hidden_size=6, num_layers=layers)
    D = 2 if bi else 1
    assert two.count() - one.count() == 4 * 6 * layers * D
    with pytest.raises(ValueError, match="2 biases"):
        one.build()


def test_claimed_formula_by_hand():
    # 2-layer LSTM(E -> 64), two biases: 4(64E + 64^2 + 128) + 4(64*64 + 64^2 + 128)
    for E in (1, 50, 128):
        cfg = A.ModelConfig(E, 2)
        assert cfg.parts()["lstm"] == 4 * (64 * E + 64 ** 2 + 128) + 4 * (2 * 64 ** 2 + 128)
        assert cfg.describe().startswith(f"{E} features -> 2-layer LSTM(64), 2 biases")


def test_search_returns_exact_hits_only():
    hits = A.search_configs(A.CLAIMED_PARAMS)
    assert len(hits) > 100
    assert all(c.count() == A.CLAIMED_PARAMS for c in hits)
    assert len(set(hits)) == len(hits)
    known = A.ModelConfig(128, 2, vocab_size=42, bidirectional=True, biases_per_gate=2)
    assert known.count() == A.CLAIMED_PARAMS and known in hits
    assert A.ModelConfig(128, 2, vocab_size=43, bidirectional=True) not in hits
    assert numel(known.build()) == A.CLAIMED_PARAMS
    # no embedding, one direction, two biases: 256 d + 50,176 + 65 C = 204,290
    feats = {(c.input_size, c.num_classes) for c in hits
             if c.vocab_size is None and not c.bidirectional and c.biases_per_gate == 2}
    by_hand = {(d, C) for d in range(1, A.MAX_INPUT_SIZE + 1) for C in range(1, A.MAX_CLASSES + 1)
               if 256 * d + 65 * C == A.CLAIMED_PARAMS - 50_176}
    assert feats == by_hand and len(feats) > 0

def test_search_agrees_with_brute_force():
    target, n, L = 3_000, 4, 2
    kw = dict(hidden_size=n, num_layers=L, max_input_size=20, vocab_range=(2, 200), max_classes=30)
    fast = set(A.search_configs(target, **kw))
    slow = set()
    for k, bi, E, C in itertools.product((1, 2), (False, True), range(1, 21), range(1, 31)):
        base = A.ModelConfig(E, C, None, bi, k, hidden_size=n, num_layers=L).count()
        if base == target:
            slow.add(A.ModelConfig(E, C, None, bi, k, hidden_size=n, num_layers=L))
        for V in range(2, 201):                            # every vocabulary, one by one
            if base + V * E == target:
                slow.add(A.ModelConfig(E, C, V, bi, k, hidden_size=n, num_layers=L))
    assert fast == slow and len(fast) > 10


def test_search_flags_restrict():
    only = A.search_configs(A.CLAIMED_PARAMS, embedding=(False,), bidirectional=(True,),
                            biases_per_gate=(2,))
    assert only and all(c.vocab_size is None and c.bidirectional and c.biases_per_gate == 2
                        for c in only)


def test_looks_built():
    assert A.looks_built(A.ModelConfig(128, 2, vocab_size=42, bidirectional=True))
    assert not A.looks_built(A.ModelConfig(100, 2, vocab_size=42))        # width not a power of 2
    assert not A.looks_built(A.ModelConfig(128, 2, vocab_size=5000))      # vocabulary too large
    assert not A.looks_built(A.ModelConfig(128, 66, vocab_size=42))       # too many classes
    assert not A.looks_built(A.ModelConfig(128, 2))                       # no embedding
    with pytest.raises(TypeError):
        A.looks_built((128, 2))


def test_config_and_search_errors():
    with pytest.raises(ValueError, match="biases_per_gate"):
        A.ModelConfig(8, 2, biases_per_gate=3)
    with pytest.raises(ValueError, match="input_size"):
        A.ModelConfig(0, 2)
    with pytest.raises(TypeError, match="bidirectional"):
        A.ModelConfig(8, 2, bidirectional=1)
    with pytest.raises(ValueError, match="vocab_range"):
        A.search_configs(1000, vocab_range=(10, 2))
    with pytest.raises(ValueError, match="target"):
        A.search_configs(-5)


# ---------------------------------------------------------------- cost

def test_step_flops_formula():
    f = A.lstm_step_flops(3, 5, batch_size=2)
    assert f["multiply_adds"] == 2 * 4 * 5 * (3 + 5)
    assert f["matmul_input"] + f["matmul_recurrent"] == 2 * f["multiply_adds"]
    assert f["total"] == 2 * f["multiply_adds"] + 2 * 17 * 5
    with pytest.raises(ValueError, match="hidden_size"):
        A.lstm_step_flops(3, 0)


@pytest.mark.parametrize("layers,bi", [(1, False), (2, True), (3, False)])
def test_matmul_flops_match_torch_counter_and_log(layers, bi):
    T, B, d, n = 6, 3, 5, 4
    model = LSTM(d, n, num_layers=layers, bidirectional=bi)
    x = torch.randn(T, B, d)
    with FlopCounterMode(display=False) as counter:
        model(x)
    expected = A.lstm_matmul_flops(d, n, T, B, layers, bi)
    assert counter.get_total_flops() == expected
    _, calls = A.record_matmuls(model, x)
    D = 2 if bi else 1
    assert len(calls) == layers * D * (1 + T)
    assert sum(2 * r * i * c for r, i, c in calls) == expected
    assert calls[0] == (T * B, d, 4 * n)                   # all steps' input projection at once
    assert calls[1:T + 1] == [(B, n, 4 * n)] * T           # then one small product per step


def test_torch_fused_kernel_records_no_products():
    _, calls = A.record_matmuls(nn.LSTM(3, 4), torch.randn(5, 2, 3))
    assert calls == []


# ---------------------------------------------------------------- initialization

def test_init_schemes():
    n, d = 6, 3
    state = torch.random.get_rng_state()
    mods = {s: A.init_lstm(s, d, n, seed=3) for s in A.INIT_SCHEMES}
    assert torch.equal(state, torch.random.get_rng_state())   # global generator untouched
    bound = 1 / np.sqrt(n)
    for p in mods["pytorch"].parameters():
        assert float(p.detach().abs().max()) <= bound
    for s, m in mods.items():
        assert torch.equal(m.weight_ih_l0, mods["pytorch"].weight_ih_l0)
        b_f = (m.bias_ih_l0 + m.bias_hh_l0)[n:2 * n]
        if s in ("forget_bias", "both"):
            assert torch.allclose(b_f, torch.ones(n, dtype=torch.float64), atol=1e-15)
        else:
            assert torch.equal(m.bias_ih_l0, mods["pytorch"].bias_ih_l0)
        for k in range(4):
            W = m.weight_hh_l0[k * n:(k + 1) * n].detach()
            if s in ("orthogonal", "both"):
                assert torch.allclose(W @ W.T, torch.eye(n, dtype=W.dtype), atol=1e-12)
            else:
                assert torch.equal(W, mods["pytorch"].weight_hh_l0[k * n:(k + 1) * n].detach())
    assert torch.equal(mods["orthogonal"].weight_hh_l0, mods["both"].weight_hh_l0)
    with pytest.raises(ValueError, match="scheme"):
        A.init_lstm("xavier")


@pytest.mark.parametrize("scheme", ["pytorch", "both"])
def test_state_gradients_match_reference_backward(scheme):
    T, B, d, n = 7, 3, 4, 5
    m = A.init_lstm(scheme, d, n, seed=1)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(T, B, d, generator=g, dtype=torch.float64)
    w = torch.randn(n, generator=g, dtype=torch.float64)
    out = A.state_gradients(m, x, w)
    full, _ = m(x)
    assert np.abs(out["h_T"] - full[-1].detach().numpy()).max() < 1e-12
    params = lstm_params_from_torch(m)
    xn = x.numpy()
    trace = reference.lstm_forward(params, xn)
    dh_T = np.tile(w.numpy(), (B, 1))
    assert out["dc"].shape == out["dh"].shape == (T + 1, B, n)     # row k is gap k, 0..T
    np.testing.assert_array_equal(out["dh"][0], dh_T)              # gap 0: the loss reads h_T
    np.testing.assert_array_equal(out["dc"][0], np.zeros((B, n)))  # and not c_T
    for t in range(T):                       # the state read by step t+1 (t = 0: h_0, c_0)
        h_t = trace.h0 if t == 0 else trace.h[t - 1]
        c_t = trace.c0 if t == 0 else trace.c[t - 1]
        sub = reference.lstm_forward(params, xn[t:], h_t, c_t)
        ref = reference.lstm_backward(params, sub, dh_T=dh_T)
        k = T - t
        scale = max(1.0, np.abs(ref["c0"]).max())
        assert np.abs(out["dc"][k] - ref["c0"]).max() <= 1e-10 * scale
        assert np.abs(out["dh"][k] - ref["h0"]).max() <= 1e-10 * max(1.0, np.abs(ref["h0"]).max())


def test_state_gradients_errors():
    m = A.init_lstm("pytorch", 3, 4)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    w = torch.randn(4, dtype=torch.float64)
    with pytest.raises(ValueError, match="one-layer"):
        A.state_gradients(LSTM(3, 4, num_layers=2, dtype=torch.float64), x, w)
    with pytest.raises(ValueError, match="readout"):
        A.state_gradients(m, x, torch.randn(5, dtype=torch.float64))
    with pytest.raises(ValueError, match="x"):
        A.state_gradients(m, torch.randn(5, 2, 4, dtype=torch.float64), w)
    with pytest.raises(TypeError, match="dtype"):
        A.state_gradients(m, x.float(), w)
    with pytest.raises(TypeError):
        A.state_gradients(m, x.numpy(), w)


def test_gradient_at_init_orders_the_schemes():
    r = A.gradient_at_init(seeds=(0, 1, 2), T=40, batch_size=8, input_size=4, hidden_size=16)
    assert list(r["gap"]) == list(range(41))                     # row k is gap k
    for s in A.INIT_SCHEMES:
        assert r[s]["dc"].shape == (41,) and r[s]["dc_all"].shape == (3, 41, 8)
        assert r[s]["dc"][0] == 0 and abs(r[s]["dh"][0] - 1) < 1e-12      # gap 0: the loss
        assert np.all(r[s]["dc"][1:] > 0)
        assert np.allclose(r[s]["dc"], np.median(r[s]["dc_all"], axis=(0, 2)))
    far = {s: r[s]["dc"][-1] for s in A.INIT_SCHEMES}
    assert far["both"] > far["forget_bias"] > far["pytorch"]
    assert far["both"] > far["orthogonal"] > far["pytorch"]


def test_per_step_factor():
    curve = 3.0 * 0.8 ** np.arange(31)                           # over the gaps 0..30
    assert abs(A.per_step_factor(curve, 5, 25) - 0.8) < 1e-12
    assert abs(A.per_step_factor(curve, 0, 30) - 0.8) < 1e-12
    assert A.per_step_factor(curve, 10, 12) == pytest.approx((curve[12] / curve[10]) ** 0.5)
    with pytest.raises(ValueError, match=r"k0, k1: expected 0 <= k0 < k1 <= 30, got k0=10, k1=5"):
        A.per_step_factor(curve, 10, 5)
    with pytest.raises(ValueError, match=r"k1: expected an integer in \[0, 30\], got 31"):
        A.per_step_factor(curve, 0, 31)
    with pytest.raises(ValueError, match="positive"):
        A.per_step_factor(np.zeros(5), 1, 3)


def test_carry_line_is_the_whole_gradient_without_a_recurrent_matrix():
    # With W_h = 0 the state reaches the loss only along the cell state:
    # the carry line is then all of dL/dc, as autograd reports it.
    module = A.init_lstm("forget_bias", 3, 5, seed=2)
    with torch.no_grad():
        module.weight_hh_l0.zero_()
    g = torch.Generator().manual_seed(7)
    x = torch.randn(9, 4, 3, generator=g, dtype=torch.float64)
    w = torch.randn(5, generator=g, dtype=torch.float64)
    carry = A.carry_line_gradients(module, x, w)
    assert carry.shape == (10, 4, 5) and not carry[0].any()
    dc = A.state_gradients(module, x, w)["dc"]
    np.testing.assert_allclose(carry, dc, rtol=1e-12, atol=1e-15)


def test_carry_line_with_a_recurrent_matrix_differs_and_at_init_summary():
    module = A.init_lstm("pytorch", 3, 5, seed=0)
    g = torch.Generator().manual_seed(7)
    x = torch.randn(9, 4, 3, generator=g, dtype=torch.float64)
    w = torch.randn(5, generator=g, dtype=torch.float64)
    carry = A.carry_line_gradients(module, x, w)
    dc = A.state_gradients(module, x, w)["dc"]
    assert np.abs(carry[2:] - dc[2:]).max() > 1e-6           # the path through h adds
    out = A.carry_line_at_init("forget_bias", seeds=(0, 1), T=12, batch_size=3,
                               input_size=3, hidden_size=6)
    assert out["carry"].shape == (13,) and out["carry"][0] == 0
    assert np.all(np.diff(out["carry"][1:]) < 0)             # a product of gates below 1
    assert 0.5 < out["mean_f"] < 1


def test_carry_line_errors():
    module = A.init_lstm("pytorch", 3, 5)
    x = torch.zeros(4, 2, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="one-layer"):
        A.carry_line_gradients(LSTM(3, 5, num_layers=2), x, torch.zeros(5))
    with pytest.raises(TypeError, match="torch tensors"):
        A.carry_line_gradients(module, x.numpy(), torch.zeros(5))
    with pytest.raises(ValueError, match="readout"):
        A.carry_line_gradients(module, x, torch.zeros(4, dtype=torch.float64))
