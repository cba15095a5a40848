"""lstm_lib.weights: per-gate <-> fused weights, parameter counts, initialisations.

The gate order is checked against torch.nn.LSTM with a small numpy LSTM
written here from NOTATION's equations (independent of lstm_lib).
"""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lstm_lib.modules import LSTM, RNN
from lstm_lib.reference import LSTM_GATES, lstm_forward
from lstm_lib.weights import (fuse_lstm_weights, lstm_param_count, lstm_params_from_torch,
                              orthogonal_recurrent_, rnn_param_count, rnn_params_from_torch,
                              set_forget_bias, set_gate_bias, split_lstm_weights)

KEYS = [f"{p}{g}" for g in "ifco" for p in ("W_x", "W_h", "b_")]


pytestmark = pytest.mark.usefixtures("one_thread")


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def numpy_lstm(p, x, h0, c0):
    """NOTATION's LSTM, rows as examples: x (T, B, d), h0, c0 (B, n) -> h (T, B, n), c_T."""
    h, c, hs = h0, c0, []
    for x_t in x:
        f = sigmoid(x_t @ p["W_xf"].T + h @ p["W_hf"].T + p["b_f"])
        i = sigmoid(x_t @ p["W_xi"].T + h @ p["W_hi"].T + p["b_i"])
        c_tilde = np.tanh(x_t @ p["W_xc"].T + h @ p["W_hc"].T + p["b_c"])
        o = sigmoid(x_t @ p["W_xo"].T + h @ p["W_ho"].T + p["b_o"])
        c = f * c + i * c_tilde
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs), c


def numpy_rnn(p, x, h0):
    h, hs = h0, []
    for x_t in x:
        h = np.tanh(x_t @ p["W_xh"].T + h @ p["W_hh"].T + p["b_h"])
        hs.append(h)
    return np.stack(hs)


def random_fused(n, d, rng, torch_out=False):
    arrays = [rng.standard_normal(s) for s in [(4 * n, d), (4 * n, n), (4 * n,), (4 * n,)]]
    return [torch.from_numpy(a) for a in arrays] if torch_out else arrays


# --- split / fuse -----------------------------------------------------------------

def test_gate_order_constant():
    assert LSTM_GATES == ("i", "f", "c", "o")


@pytest.mark.parametrize("torch_in", [False, True], ids=["numpy", "torch"])
def test_split_blocks_and_summed_bias(torch_in):
    n, d = 3, 2
    W_ih, W_hh, b_ih, b_hh = random_fused(n, d, np.random.default_rng(0), torch_in)
    p = split_lstm_weights(W_ih, W_hh, b_ih, b_hh)
    assert list(p) == KEYS
    for k, g in enumerate(LSTM_GATES):
        rows = slice(k * n, (k + 1) * n)
        assert type(p[f"W_x{g}"]) is type(W_ih)
        assert p[f"W_x{g}"].shape == (n, d) and p[f"W_h{g}"].shape == (n, n)
        assert np.array_equal(np.asarray(p[f"W_x{g}"]), np.asarray(W_ih[rows]))
        assert np.array_equal(np.asarray(p[f"W_h{g}"]), np.asarray(W_hh[rows]))
        assert np.array_equal(np.asarray(p[f"b_{g}"]), np.asarray(b_ih[rows] + b_hh[rows]))
    only_ih = split_lstm_weights(W_ih, W_hh, b_ih)
    assert np.array_equal(np.asarray(only_ih["b_f"]), np.asarray(b_ih[n:2 * n]))
    only_hh = split_lstm_weights(W_ih, W_hh, bias_hh=b_hh)
    assert np.array_equal(np.asarray(only_hh["b_o"]), np.asarray(b_hh[3 * n:]))
    none = split_lstm_weights(W_ih, W_hh)
    assert all(np.array_equal(np.asarray(none[f"b_{g}"]), np.zeros(n)) for g in LSTM_GATES)
    assert none["b_i"].dtype == W_ih.dtype


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 6), d=st.integers(1, 6), seed=st.integers(0, 2**16),
       torch_in=st.booleans())
def test_split_fuse_round_trip(n, d, seed, torch_in):
    W_ih, W_hh, b, _ = random_fused(n, d, np.random.default_rng(seed), torch_in)
    W_ih2, W_hh2, b2 = fuse_lstm_weights(split_lstm_weights(W_ih, W_hh, b))
    for a, e in ((W_ih2, W_ih), (W_hh2, W_hh), (b2, b)):
        assert type(a) is type(e) and a.shape == e.shape
        assert np.array_equal(np.asarray(a), np.asarray(e))
    p = split_lstm_weights(W_ih, W_hh, b)
    p2 = split_lstm_weights(*fuse_lstm_weights(p))
    assert list(p2) == KEYS
    assert all(np.array_equal(np.asarray(p[k]), np.asarray(p2[k])) for k in KEYS)


def test_split_rejects_bad_input():
    rng = np.random.default_rng(0)
    W_ih, W_hh, b_ih, b_hh = random_fused(3, 2, rng)
    with pytest.raises(ValueError, match=r"weight_ih: expected 4n rows .*got shape \(10, 2\)"):
        split_lstm_weights(np.zeros((10, 2)), W_hh)
    with pytest.raises(ValueError, match=r"weight_ih: expected shape \(4n, d\), got \(12,\)"):
        split_lstm_weights(np.zeros(12), W_hh)
    with pytest.raises(ValueError, match=r"weight_hh: expected shape \(4n=12, n=3\), got \(12, 4\)"):
        split_lstm_weights(W_ih, np.zeros((12, 4)))
    with pytest.raises(ValueError, match=r"bias_hh: expected shape \(4n=12,\), got \(3,\)"):
        split_lstm_weights(W_ih, W_hh, b_ih, np.zeros(3))
    with pytest.raises(TypeError, match=r"weight_ih: expected a floating-point array .*int64"):
        split_lstm_weights(np.zeros((12, 2), dtype=np.int64), W_hh)
    with pytest.raises(TypeError, match=r"bias_ih: expected numpy arrays like weight_ih, got Tensor"):
        split_lstm_weights(W_ih, W_hh, torch.from_numpy(b_ih))
    with pytest.raises(TypeError, match=r"weight_hh: expected torch tensors like weight_ih, got ndarray"):
        split_lstm_weights(torch.from_numpy(W_ih), W_hh)
    with pytest.raises(TypeError, match=r"expected one dtype, got float64, float32"):
        split_lstm_weights(W_ih, W_hh.astype(np.float32))
    with pytest.raises(TypeError, match=r"weight_ih: expected a numpy array or torch tensor, got list"):
        split_lstm_weights([[0.0]] * 4, W_hh)


def test_fuse_rejects_bad_input():
    p = split_lstm_weights(*random_fused(3, 2, np.random.default_rng(0)))
    with pytest.raises(TypeError, match=r"params: expected a dict .*got list"):
        fuse_lstm_weights([p])
    with pytest.raises(ValueError, match=r"missing \['b_c'\]"):
        fuse_lstm_weights({k: v for k, v in p.items() if k != "b_c"})
    with pytest.raises(ValueError, match=r"params\['W_hf'\]: expected shape \(n=3, n=3\), got \(3, 2\)"):
        fuse_lstm_weights({**p, "W_hf": np.zeros((3, 2))})
    with pytest.raises(ValueError, match=r"params\['W_xo'\]: expected shape \(n=3, d=2\), got \(3, 5\)"):
        fuse_lstm_weights({**p, "W_xo": np.zeros((3, 5))})
    with pytest.raises(ValueError, match=r"params\['b_i'\]: expected shape \(n=3,\), got \(4,\)"):
        fuse_lstm_weights({**p, "b_i": np.zeros(4)})
    with pytest.raises(TypeError, match=r"params\['W_hc'\]: expected the same array type .*got Tensor"):
        fuse_lstm_weights({**p, "W_hc": torch.zeros(3, 3)})
    with pytest.raises(ValueError, match=r"params\['W_xi'\]: expected shape \(n, d\), got \(3,\)"):
        fuse_lstm_weights({**p, "W_xi": np.zeros(3)})


# --- from torch modules -----------------------------------------------------------

@pytest.mark.parametrize("cls", [nn.LSTM, LSTM], ids=["nn.LSTM", "lstm_lib.LSTM"])
@pytest.mark.parametrize("bias", [True, False])
def test_lstm_params_from_torch_every_layer_and_direction(cls, bias):
    torch.manual_seed(0)
    d, n, T, B = 3, 4, 6, 2
    m = cls(d, n, num_layers=2, bidirectional=True, bias=bias, dtype=torch.float64)
    x = torch.randn(T, B, d, dtype=torch.float64)
    h0 = torch.randn(4, B, n, dtype=torch.float64)
    c0 = torch.randn(4, B, n, dtype=torch.float64)
    with torch.no_grad():
        out, (h_n, c_n) = m(x, (h0, c0))
    layer_in = x.numpy()
    for layer in range(2):
        halves = []
        for k, reverse in enumerate([False, True]):
            p = lstm_params_from_torch(m, layer, reverse)
            assert list(p) == KEYS
            assert all(v.dtype == np.float64 for v in p.values())
            if not bias:
                assert all(np.array_equal(p[f"b_{g}"], np.zeros(n)) for g in LSTM_GATES)
            s = 2 * layer + k
            seq = layer_in[::-1] if reverse else layer_in
            h, c_T = numpy_lstm(p, seq, h0[s].numpy(), c0[s].numpy())
            np.testing.assert_allclose(h[-1], h_n[s].numpy(), rtol=0, atol=1e-12)
            np.testing.assert_allclose(c_T, c_n[s].numpy(), rtol=0, atol=1e-12)
            halves.append(h[::-1] if reverse else h)
        layer_in = np.concatenate(halves, axis=2)
    np.testing.assert_allclose(layer_in, out.numpy(), rtol=0, atol=1e-12)


def test_params_from_torch_are_float64_copies():
    m = nn.LSTM(2, 3)                                     # float32 module
    p = lstm_params_from_torch(m)
    assert p["W_xi"].dtype == np.float64
    np.testing.assert_array_equal(p["W_hf"], m.weight_hh_l0.detach().double().numpy()[3:6])
    p["W_hf"][:] = 7.0
    assert not (m.weight_hh_l0[3:6] == 7.0).any()


@pytest.mark.parametrize("cls", [nn.RNN, RNN], ids=["nn.RNN", "lstm_lib.RNN"])
@pytest.mark.parametrize("bias", [True, False])
def test_rnn_params_from_torch(cls, bias):
    torch.manual_seed(1)
    d, n = 2, 3
    m = cls(d, n, num_layers=2, bias=bias, dtype=torch.float64)
    x = torch.randn(5, 2, d, dtype=torch.float64)
    with torch.no_grad():
        out, h_n = m(x)
    p0, p1 = rnn_params_from_torch(m, 0), rnn_params_from_torch(m, 1)
    assert set(p0) == {"W_xh", "W_hh", "b_h"}
    assert p0["W_xh"].shape == (n, d) and p1["W_xh"].shape == (n, n)
    expected_b = (m.bias_ih_l0 + m.bias_hh_l0).detach().numpy() if bias else np.zeros(n)
    np.testing.assert_allclose(p0["b_h"], expected_b, rtol=0, atol=1e-15)
    h = numpy_rnn(p1, numpy_rnn(p0, x.numpy(), np.zeros((2, n))), np.zeros((2, n)))
    np.testing.assert_allclose(h, out.numpy(), rtol=0, atol=1e-12)


def test_params_from_torch_reject_bad_arguments():
    with pytest.raises(TypeError, match=r"module: expected torch.nn.LSTM or lstm_lib.modules.LSTM, got RNN"):
        lstm_params_from_torch(nn.RNN(2, 3))
    with pytest.raises(TypeError, match=r"module: expected torch.nn.RNN or lstm_lib.modules.RNN, got LSTM"):
        rnn_params_from_torch(LSTM(2, 3))
    with pytest.raises(ValueError, match=r"layer: expected an integer in \[0, 1\] \(num_layers=2\), got 2"):
        lstm_params_from_torch(nn.LSTM(2, 3, num_layers=2), layer=2)
    with pytest.raises(ValueError, match=r"layer: expected an integer in \[0, 0\] .*got -1"):
        rnn_params_from_torch(RNN(2, 3), layer=-1)
    with pytest.raises(ValueError, match=r"reverse: expected False for a unidirectional module"):
        lstm_params_from_torch(LSTM(2, 3), reverse=True)
    with pytest.raises(TypeError, match=r"reverse: expected a bool, got 1"):
        lstm_params_from_torch(LSTM(2, 3, bidirectional=True), reverse=1)
    with pytest.raises(NotImplementedError, match=r"proj_size > 0 is not supported, got proj_size=2"):
        lstm_params_from_torch(nn.LSTM(2, 3, proj_size=2))


def test_cross_check_with_numpy_reference():
    """lstm_lib.LSTM/RNN (autograd) against the hand-written numpy reference (BPTT)."""
    reference = pytest.importorskip("lstm_lib.reference")
    torch.manual_seed(2)
    T, B, d, n = 5, 2, 3, 4
    m = LSTM(d, n, dtype=torch.float64)
    x = torch.randn(T, B, d, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(1, B, n, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(1, B, n, dtype=torch.float64, requires_grad=True)
    dh = torch.randn(T, B, n, dtype=torch.float64)
    dc_T = torch.randn(B, n, dtype=torch.float64)
    out, (_, c_n) = m(x, (h0, c0))
    ((out * dh).sum() + (c_n[0] * dc_T).sum()).backward()
    p = lstm_params_from_torch(m)
    trace = reference.lstm_forward(p, x.detach().numpy(), h0[0].detach().numpy(),
                                   c0[0].detach().numpy())
    np.testing.assert_allclose(trace.h, out.detach().numpy(), rtol=0, atol=1e-10)
    grads = reference.lstm_backward(p, trace, dh=dh.numpy(), dc_T=dc_T.numpy())
    # dL/db_g is the gradient of bias_ih's block g (and equally of bias_hh's)
    ours = split_lstm_weights(m.weight_ih_l0.grad.numpy(), m.weight_hh_l0.grad.numpy(),
                              m.bias_ih_l0.grad.numpy())
    for k in KEYS:
        np.testing.assert_allclose(grads[k], ours[k], rtol=0, atol=1e-10, err_msg=k)
    np.testing.assert_allclose(grads["x"], x.grad.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(grads["h0"], h0.grad[0].numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(grads["c0"], c0.grad[0].numpy(), rtol=0, atol=1e-10)

    r = RNN(d, n, dtype=torch.float64)
    out, _ = r(x.detach())
    trace = reference.rnn_forward(rnn_params_from_torch(r), x.detach().numpy())
    np.testing.assert_allclose(trace.h, out.detach().numpy(), rtol=0, atol=1e-10)


# --- parameter counts -------------------------------------------------------------

COUNT_CONFIGS = [(d, n, L, bi, bias) for d, n in [(1, 1), (3, 5), (7, 2)]
                 for L in (1, 2, 3) for bi in (False, True) for bias in (True, False)]


@pytest.mark.parametrize("d, n, num_layers, bidirectional, bias", COUNT_CONFIGS)
def test_param_counts_match_numel(d, n, num_layers, bidirectional, bias):
    cfg = dict(num_layers=num_layers, bidirectional=bidirectional, bias=bias)
    k = 2 if bias else 0
    for cls in (nn.LSTM, LSTM):
        got = sum(p.numel() for p in cls(d, n, **cfg).parameters())
        assert lstm_param_count(d, n, num_layers, bidirectional, biases_per_gate=k) == got
    for cls in (nn.RNN, RNN):
        got = sum(p.numel() for p in cls(d, n, **cfg).parameters())
        assert rnn_param_count(d, n, num_layers, bidirectional, biases=k) == got


@settings(max_examples=20, deadline=None)
@given(d=st.integers(1, 40), n=st.integers(1, 40), num_layers=st.integers(1, 4),
       bidirectional=st.booleans())
def test_param_count_formulas(d, n, num_layers, bidirectional):
    D = 2 if bidirectional else 1
    first = 4 * (n * d + n * n + 2 * n)                  # NOTATION: nn.LSTM, one layer
    later = 4 * (n * D * n + n * n + 2 * n)
    expected = D * (first + (num_layers - 1) * later)
    assert lstm_param_count(d, n, num_layers, bidirectional) == expected
    # one bias per gate drops 4n per layer and direction; bias=False drops 8n
    assert lstm_param_count(d, n, num_layers, bidirectional, 1) == expected - D * num_layers * 4 * n
    assert lstm_param_count(d, n, num_layers, bidirectional, 0) == expected - D * num_layers * 8 * n
    rnn = D * ((n * d + n * n + 2 * n) + (num_layers - 1) * (n * D * n + n * n + 2 * n))
    assert rnn_param_count(d, n, num_layers, bidirectional) == rnn
    assert rnn_param_count(d, n, num_layers, bidirectional, 1) == rnn - D * num_layers * n


def test_param_count_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"input_size: expected a positive integer, got 0"):
        lstm_param_count(0, 3)
    with pytest.raises(ValueError, match=r"hidden_size: expected a positive integer, got 2.5"):
        rnn_param_count(3, 2.5)
    with pytest.raises(ValueError, match=r"num_layers: expected a positive integer, got -1"):
        lstm_param_count(3, 2, num_layers=-1)
    with pytest.raises(TypeError, match=r"bidirectional: expected a bool, got 'yes'"):
        lstm_param_count(3, 2, bidirectional="yes")
    with pytest.raises(ValueError, match=r"biases_per_gate: expected 0, 1 or 2 bias vectors, got 3"):
        lstm_param_count(3, 2, biases_per_gate=3)
    with pytest.raises(ValueError, match=r"biases: expected 0, 1 or 2 bias vectors, got True"):
        rnn_param_count(3, 2, biases=True)


# --- initialisation helpers -------------------------------------------------------

@pytest.mark.parametrize("cls", [nn.LSTM, LSTM], ids=["nn.LSTM", "lstm_lib.LSTM"])
def test_set_forget_bias_sets_effective_sum(cls):
    n = 5
    m = cls(3, n, num_layers=2, bidirectional=True)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    assert set_forget_bias(m, 1.0) is m
    names = [k for k in before if k.startswith("bias_ih")]
    assert len(names) == 4
    for name in names:
        hh = name.replace("bias_ih", "bias_hh")
        total = (getattr(m, name) + getattr(m, hh)).detach()
        assert torch.equal(total[n:2 * n], torch.ones(n))
        for key in (name, hh):                            # gates i, c, o untouched
            after = m.state_dict()[key]
            assert torch.equal(after[:n], before[key][:n])
            assert torch.equal(after[2 * n:], before[key][2 * n:])
    for key in before:
        if key.startswith("weight"):
            assert torch.equal(m.state_dict()[key], before[key])


def test_set_forget_bias_changes_the_forget_gate():
    # Same module, same input: raising b_f by 2 raises every forget activation,
    # so with a zero candidate path the kept cell state c_1 = f * c_0 grows in size.
    torch.manual_seed(0)
    m = nn.LSTM(2, 3, dtype=torch.float64)
    x = torch.randn(1, 4, 2, dtype=torch.float64)
    c0 = torch.ones(1, 4, 3, dtype=torch.float64)
    with torch.no_grad():
        m.weight_ih_l0[6:9] = 0.0                        # W_xc = 0
        m.weight_hh_l0[6:9] = 0.0                        # W_hc = 0
        m.bias_ih_l0[6:9] = 0.0
        m.bias_hh_l0[6:9] = 0.0                          # so c_tilde = 0
        m.weight_hh_l0.zero_()
        c_low = m(x, (torch.zeros_like(c0), c0))[1][1]
        set_forget_bias(m, 0.0)
        f_expected = torch.sigmoid(x[0] @ m.weight_ih_l0[3:6].T)
        c_zero = m(x, (torch.zeros_like(c0), c0))[1][1]
        set_forget_bias(m, 2.0)
        c_high = m(x, (torch.zeros_like(c0), c0))[1][1]
    assert torch.allclose(c_zero[0], f_expected, rtol=0, atol=1e-14)
    assert (c_high > c_zero).all()
    assert not torch.equal(c_low, c_zero)


def test_set_gate_bias_reaches_the_gate():
    """With every weight zero, each gate's activation is the sigmoid of the bias we set."""
    lstm = LSTM(2, 3)
    with torch.no_grad():
        for p in lstm.parameters():
            p.zero_()
    for gate, value in [("i", -2.0), ("f", 1.5), ("o", 0.5)]:
        assert set_gate_bias(lstm, gate, value) is lstm
    params = lstm_params_from_torch(lstm)                     # per-gate view of the fused blocks
    trace = lstm_forward(params, np.zeros((1, 1, 2)))
    assert np.allclose(trace.i, 1 / (1 + np.exp(2.0)), rtol=1e-12)
    assert np.allclose(trace.f, 1 / (1 + np.exp(-1.5)), rtol=1e-12)
    assert np.allclose(trace.o, 1 / (1 + np.exp(-0.5)), rtol=1e-12)
    assert np.all(trace.c_tilde == 0.0)
    with pytest.raises(ValueError, match=r"gate: expected one of \('i', 'f', 'c', 'o'\), got 'g'"):
        set_gate_bias(lstm, "g", 1.0)


@pytest.mark.parametrize("cls", [nn.LSTM, LSTM], ids=["nn.LSTM", "lstm_lib.LSTM"])
def test_set_forget_bias_is_set_gate_bias_f(cls):
    torch.manual_seed(0)
    a, b = cls(3, 4, num_layers=2), cls(3, 4, num_layers=2)
    b.load_state_dict(a.state_dict())
    set_forget_bias(a, 1.25)
    set_gate_bias(b, "f", 1.25)
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key])


def test_modules_are_recognised_by_what_they_store():
    """weights does not import lstm_lib.modules: a module is an LSTM if its mode says so."""
    assert LSTM(2, 3).mode == nn.LSTM(2, 3).mode == "LSTM"
    assert RNN(2, 3).mode == nn.RNN(2, 3).mode == "RNN_TANH"
    assert RNN(2, 3, nonlinearity="relu").mode == nn.RNN(2, 3, nonlinearity="relu").mode
    with pytest.raises(TypeError, match=r"expected torch.nn.LSTM or lstm_lib.modules.LSTM, got GRU"):
        lstm_params_from_torch(nn.GRU(2, 3))
    with pytest.raises(TypeError, match=r"expected torch.nn.RNN or lstm_lib.modules.RNN, got Linear"):
        rnn_params_from_torch(nn.Linear(2, 3))
    p = rnn_params_from_torch(RNN(2, 3, nonlinearity="relu"))
    assert set(p) == {"W_xh", "W_hh", "b_h"}


def test_set_forget_bias_rejects_bad_arguments():
    with pytest.raises(TypeError, match=r"module: expected torch.nn.LSTM or lstm_lib.modules.LSTM, got RNN"):
        set_forget_bias(RNN(2, 3), 1.0)
    with pytest.raises(ValueError, match=r"module: expected an LSTM with bias=True, got bias=False"):
        set_forget_bias(nn.LSTM(2, 3, bias=False), 1.0)
    for bad in (float("nan"), float("inf"), "1", None, True):
        with pytest.raises(ValueError, match=r"value: expected a finite number, got"):
            set_forget_bias(LSTM(2, 3), bad)


@pytest.mark.parametrize("module", [nn.LSTM(3, 4, num_layers=2, bidirectional=True),
                                    LSTM(3, 4, num_layers=2), nn.RNN(3, 5), RNN(3, 5, 2)],
                         ids=["nn.LSTM", "lstm_lib.LSTM", "nn.RNN", "lstm_lib.RNN"])
@pytest.mark.parametrize("gain", [1.0, 0.5])
def test_orthogonal_recurrent_every_block(module, gain):
    before = {k: v.clone() for k, v in module.state_dict().items()}
    assert orthogonal_recurrent_(module, gain=gain) is module
    n = module.hidden_size
    for key, W in module.state_dict().items():
        if not key.startswith("weight_hh"):
            assert torch.equal(W, before[key])           # only the recurrent weights change
            continue
        assert not torch.equal(W, before[key])
        for k in range(W.shape[0] // n):
            Q = W[k * n:(k + 1) * n].double()
            s = torch.linalg.svdvals(Q)                  # every singular value = gain
            assert torch.allclose(s, torch.full_like(s, gain), rtol=0, atol=1e-5), (key, k)


def test_orthogonal_recurrent_uses_the_generator():
    a, b = LSTM(2, 3), LSTM(2, 3)
    orthogonal_recurrent_(a, generator=torch.Generator().manual_seed(5))
    orthogonal_recurrent_(b, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a.weight_hh_l0, b.weight_hh_l0)
    blocks = a.weight_hh_l0.detach().reshape(4, 3, 3)
    assert not torch.equal(blocks[0], blocks[1])          # each block drawn on its own


def test_orthogonal_recurrent_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"module: expected recurrent weights named "
                                         r"weight_hh_l\*, found none in Linear"):
        orthogonal_recurrent_(nn.Linear(2, 3))
    with pytest.raises(TypeError, match=r"module: expected a torch.nn.Module, got ndarray"):
        orthogonal_recurrent_(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"gain: expected a finite number, got nan"):
        orthogonal_recurrent_(LSTM(2, 3), gain=float("nan"))
    with pytest.raises(NotImplementedError, match=r"proj_size > 0 is not supported"):
        orthogonal_recurrent_(nn.LSTM(2, 4, proj_size=2))


# --- devices ---------------------------------------------------------------------------

def test_split_and_fuse_name_a_tensor_on_another_device():
    w_ih, w_hh, b = torch.zeros(16, 3), torch.zeros(16, 4), torch.zeros(16)
    with pytest.raises(ValueError, match=r"^weight_hh: expected device cpu \(weight_ih's device\), got meta"):
        split_lstm_weights(w_ih, w_hh.to("meta"))
    with pytest.raises(ValueError, match=r"^bias_hh: expected device cpu \(weight_ih's device\), got meta"):
        split_lstm_weights(w_ih, w_hh, b, b.to("meta"))
    params = split_lstm_weights(w_ih, w_hh, b, b)
    params["W_xo"] = params["W_xo"].to("meta")
    with pytest.raises(ValueError, match=r"^params\['W_xo'\]: expected device cpu "
                                         r"\(params\['W_xi'\]'s device\), got meta"):
        fuse_lstm_weights(params)
    meta = split_lstm_weights(w_ih.to("meta"), w_hh.to("meta"))     # one device: fine
    assert all(v.device.type == "meta" for v in meta.values())


@pytest.mark.parametrize("fn, cls", [(lstm_params_from_torch, LSTM), (rnn_params_from_torch, RNN),
                                     (lstm_params_from_torch, nn.LSTM)])
def test_params_from_a_module_on_meta_is_named(fn, cls):
    with pytest.raises(ValueError, match=r"^module: its parameters are on the meta device "
                                         r"\(shapes without values\)"):
        fn(cls(3, 4, device="meta"))
