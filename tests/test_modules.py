"""lstm_lib.modules.LSTM / RNN against torch.nn.LSTM / torch.nn.RNN.

Same state_dict in both, then outputs, final states and every gradient
(parameters, input, initial states) must agree to 1e-10 (float64) or
1e-5 (float32) relative to scale: ||a - b||_inf <= tol * max(1, ||b||_inf).
"""
import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lstm_lib.modules import LSTM, RNN, lstm_layer, rnn_layer
from helpers import assert_close, make_inputs

TOL = {torch.float64: 1e-10, torch.float32: 1e-5}


pytestmark = pytest.mark.usefixtures("one_thread")


def make_pair(kind, dtype=torch.float64, seed=0, **cfg):
    """(ours, torch's) with the same parameters; kind is 'lstm', 'tanh' or 'relu'."""
    torch.manual_seed(seed)
    if kind == "lstm":
        ref = nn.LSTM(**cfg, dtype=dtype)
        ours = LSTM(**cfg, dtype=dtype)
    else:
        ref = nn.RNN(**cfg, nonlinearity=kind, dtype=dtype)
        ours = RNN(**cfg, nonlinearity=kind, dtype=dtype)
    # Fresh random parameters (not the init) so that loading really matters.
    with torch.no_grad():
        for p in ref.parameters():
            p.normal_(0.0, 0.5)
    ours.load_state_dict(ref.state_dict())
    return ours, ref


def run_with_grads(module, x, hx, seed=2):
    """Forward, a loss touching output and final states, backward; return all results."""
    x = x.clone().requires_grad_(True)
    leaves = [x]
    if hx is not None:
        hx = tuple(s.clone().requires_grad_(True) for s in hx) if isinstance(hx, tuple) \
            else hx.clone().requires_grad_(True)
        leaves += list(hx) if isinstance(hx, tuple) else [hx]
    module.zero_grad()
    out, states = module(x, hx)
    states = list(states) if isinstance(states, tuple) else [states]
    g = torch.Generator().manual_seed(seed)
    loss = sum((t * torch.randn(t.shape, generator=g, dtype=t.dtype)).sum()
               for t in [out] + states)
    loss.backward()
    grads = {name: p.grad.clone() for name, p in module.named_parameters()}
    leaf_grads = [leaf.grad.clone() for leaf in leaves]
    return out, states, grads, leaf_grads


def compare(ours, ref, x, hx, tol):
    out_a, st_a, grads_a, leaf_a = run_with_grads(ours, x, hx)
    out_b, st_b, grads_b, leaf_b = run_with_grads(ref, x, hx)
    assert_close(out_a, out_b, tol, "output")
    assert len(st_a) == len(st_b)
    for k, (a, b) in enumerate(zip(st_a, st_b)):
        assert_close(a, b, tol, f"final state {k}")
    assert grads_a.keys() == grads_b.keys()
    for name in grads_b:
        assert_close(grads_a[name], grads_b[name], tol, f"grad {name}")
    for k, (a, b) in enumerate(zip(leaf_a, leaf_b)):
        assert_close(a, b, tol, f"grad of input/initial state {k}")
    return out_a, out_b


# Every combination for the LSTM and the tanh RNN; ReLU on a smaller grid
# (its code path differs from tanh only in the activation).
CONFIGS = list(itertools.product(
    ["lstm", "tanh"], [1, 2, 3], [False, True], [False, True],
    [True, False], [False, True], [True, False])) + list(itertools.product(
    ["relu"], [1, 2], [False, True], [False], [True, False], [False, True], [True]))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(
    "kind, num_layers, bidirectional, batch_first, batched, with_state, bias", CONFIGS,
    ids=[f"{k}-L{L}-{'bi' if bi else 'uni'}-{'bf' if bf else 'tm'}-"
         f"{'batched' if bt else 'unbatched'}-{'h0' if ws else 'noh0'}-{'bias' if b else 'nobias'}"
         for k, L, bi, bf, bt, ws, b in CONFIGS])
def test_matches_torch(kind, num_layers, bidirectional, batch_first, batched,
                       with_state, bias, dtype):
    d, n, T, B = 3, 4, 5, 2
    ours, ref = make_pair(kind, dtype, input_size=d, hidden_size=n, num_layers=num_layers,
                          bias=bias, batch_first=batch_first, bidirectional=bidirectional)
    x, hx = make_inputs(kind, d, n, T, B, num_layers, bidirectional, batch_first, batched,
                        with_state, dtype)
    out, _ = compare(ours, ref, x, hx, TOL[dtype])
    D = 2 if bidirectional else 1
    expected = ((B, T, D * n) if batch_first else (T, B, D * n)) if batched else (T, D * n)
    assert tuple(out.shape) == expected
    assert out.dtype == dtype


@settings(max_examples=20, deadline=None)
@given(kind=st.sampled_from(["lstm", "tanh"]), d=st.integers(1, 5), n=st.integers(1, 5),
       T=st.integers(1, 6), B=st.integers(1, 4), num_layers=st.integers(1, 2),
       bidirectional=st.booleans(), batch_first=st.booleans(), batched=st.booleans(),
       with_state=st.booleans(), seed=st.integers(0, 2**16))
def test_matches_torch_random_sizes(kind, d, n, T, B, num_layers, bidirectional,
                                    batch_first, batched, with_state, seed):
    ours, ref = make_pair(kind, torch.float64, seed, input_size=d, hidden_size=n,
                          num_layers=num_layers, batch_first=batch_first,
                          bidirectional=bidirectional)
    x, hx = make_inputs(kind, d, n, T, B, num_layers, bidirectional, batch_first, batched,
                        with_state, torch.float64, seed + 1)
    compare(ours, ref, x, hx, TOL[torch.float64])


# --- state_dict, initialisation, constructor --------------------------------------

STATE_CONFIGS = [dict(input_size=3, hidden_size=4),
                 dict(input_size=2, hidden_size=3, num_layers=3, bidirectional=True),
                 dict(input_size=5, hidden_size=2, num_layers=2, bias=False),
                 dict(input_size=1, hidden_size=1, bidirectional=True, bias=False)]


@pytest.mark.parametrize("kind", ["lstm", "tanh"])
@pytest.mark.parametrize("cfg", STATE_CONFIGS)
def test_state_dict_keys_shapes_and_loading_both_ways(kind, cfg):
    ours = LSTM(**cfg) if kind == "lstm" else RNN(**cfg)
    ref = nn.LSTM(**cfg) if kind == "lstm" else nn.RNN(**cfg)
    sd_ours, sd_ref = ours.state_dict(), ref.state_dict()
    assert list(sd_ours) == list(sd_ref)
    assert {k: v.shape for k, v in sd_ours.items()} == {k: v.shape for k, v in sd_ref.items()}
    # torch -> ours
    ours.load_state_dict(sd_ref)
    for k in sd_ref:
        assert torch.equal(ours.state_dict()[k], sd_ref[k])
    # ours -> torch, after changing ours
    with torch.no_grad():
        for p in ours.parameters():
            p.add_(0.25)
    ref.load_state_dict(ours.state_dict())
    for k, v in ours.state_dict().items():
        assert torch.equal(ref.state_dict()[k], v)
    x = torch.randn(4, 2, cfg["input_size"])
    out_ours, _ = ours(x)
    out_ref, _ = ref(x)
    assert_close(out_ours, out_ref, 1e-5, "output after loading")


@pytest.mark.parametrize("kind", ["lstm", "tanh", "relu"])
def test_same_seed_gives_same_initialisation_as_torch(kind):
    cfg = dict(input_size=3, hidden_size=7, num_layers=2, bidirectional=True)
    torch.manual_seed(123)
    ours = LSTM(**cfg) if kind == "lstm" else RNN(**cfg, nonlinearity=kind)
    torch.manual_seed(123)
    ref = nn.LSTM(**cfg) if kind == "lstm" else nn.RNN(**cfg, nonlinearity=kind)
    for (name, a), (_, b) in zip(ours.named_parameters(), ref.named_parameters()):
        assert torch.equal(a, b), name


def test_reset_parameters_draws_uniform_within_bound():
    torch.manual_seed(0)
    n = 25
    m = LSTM(4, n, num_layers=2)
    before = [p.clone() for p in m.parameters()]
    m.reset_parameters()
    bound = 1 / math.sqrt(n)
    values = torch.cat([p.detach().flatten() for p in m.parameters()])
    assert values.abs().max() <= bound
    assert values.abs().max() > 0.95 * bound          # really spread over the interval
    assert abs(values.mean().item()) < 0.1 * bound
    assert not any(torch.equal(a, b) for a, b in zip(before, m.parameters()))


@pytest.mark.parametrize("forget_bias", [1.0, -2.0, 0.0])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_forget_bias_sets_effective_sum(forget_bias, bidirectional):
    n = 3
    m = LSTM(2, n, num_layers=2, bidirectional=bidirectional, forget_bias=forget_bias)
    names = [k for k in m.state_dict() if k.startswith("bias_ih")]
    assert len(names) == 2 * (2 if bidirectional else 1)
    for name in names:
        b_ih, b_hh = getattr(m, name), getattr(m, name.replace("bias_ih", "bias_hh"))
        total = (b_ih + b_hh).detach()
        assert torch.equal(total[n:2 * n], torch.full((n,), forget_bias))
        assert torch.equal(b_hh[n:2 * n].detach(), torch.zeros(n))
        # the other gates' blocks keep their random draws
        assert b_hh[:n].abs().max() > 0 and b_hh[2 * n:].abs().max() > 0
    m.reset_parameters()                                  # reapplied after a reset
    assert torch.equal((m.bias_ih_l1 + m.bias_hh_l1).detach()[n:2 * n],
                       torch.full((n,), forget_bias))


def test_forget_bias_acts_as_the_forget_gate_bias():
    # With every weight and every other bias zero, c_tilde = tanh(0) = 0, so one
    # step keeps c_1 = sigmoid(b_f) * c_0: the forget gate is the bias alone.
    m = LSTM(2, 3, forget_bias=1.5, dtype=torch.float64)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.startswith("weight"):
                p.zero_()
        m.bias_ih_l0[:3] = 0.0
        m.bias_ih_l0[6:] = 0.0
        m.bias_hh_l0[:3] = 0.0
        m.bias_hh_l0[6:] = 0.0
    c0 = torch.tensor([[[1.0, -2.0, 0.5]]], dtype=torch.float64)
    x = torch.randn(1, 1, 2, dtype=torch.float64)
    _, (_, c1) = m(x, (torch.zeros_like(c0), c0))
    assert_close(c1, torch.sigmoid(torch.tensor(1.5, dtype=torch.float64)) * c0, 1e-15, "c_1")


def test_attributes_repr_dtype_and_default_arguments():
    m = LSTM(3, 4, 2, True, True, 0.0, True, 0, None, torch.float64, forget_bias=1.0)
    assert (m.input_size, m.hidden_size, m.num_layers, m.bias, m.batch_first,
            m.dropout, m.bidirectional, m.proj_size) == (3, 4, 2, True, True, 0.0, True, 0)
    assert all(p.dtype == torch.float64 for p in m.parameters())
    assert repr(m) == ("LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True, "
                       "forget_bias=1.0)")
    r = RNN(3, 4, 1, "relu", False)                      # nn.RNN's positional order
    assert (r.nonlinearity, r.bias) == ("relu", False)
    assert repr(r) == "RNN(3, 4, nonlinearity='relu', bias=False)"
    assert repr(RNN(2, 5)) == "RNN(2, 5)"


def test_layer_functions_follow_the_equations_step_by_step():
    torch.manual_seed(0)
    T, B, n = 3, 2, 4
    x_proj = torch.randn(T, B, 4 * n, dtype=torch.float64)
    h0, c0 = torch.randn(B, n, dtype=torch.float64), torch.randn(B, n, dtype=torch.float64)
    W_hh = torch.randn(4 * n, n, dtype=torch.float64)
    h_all, (h_T, c_T) = lstm_layer(x_proj, h0, c0, W_hh)
    h, c = h0.numpy(), c0.numpy()
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    for t in range(T):
        z = x_proj[t].numpy() + h @ W_hh.numpy().T
        i, f = sig(z[:, :n]), sig(z[:, n:2 * n])
        c_tilde, o = np.tanh(z[:, 2 * n:3 * n]), sig(z[:, 3 * n:])
        c = f * c + i * c_tilde
        h = o * np.tanh(c)
        np.testing.assert_allclose(h_all[t].numpy(), h, rtol=0, atol=1e-14)
    np.testing.assert_allclose(c_T.numpy(), c, rtol=0, atol=1e-14)
    assert torch.equal(h_T, h_all[-1])
    x_proj = x_proj[..., :n]
    W = W_hh[:n]
    hs, hT = rnn_layer(x_proj, h0, W, "relu")
    h = h0.numpy()
    for t in range(T):
        h = np.maximum(0, x_proj[t].numpy() + h @ W.numpy().T)
    np.testing.assert_allclose(hT.numpy(), h, rtol=0, atol=1e-14)
    assert torch.equal(hs[-1], hT)


# --- bad input: every error names what was expected and what was received --------

def test_constructor_rejects_bad_arguments():
    with pytest.raises(NotImplementedError, match=r"proj_size > 0.*got proj_size=2"):
        LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match=r"proj_size: expected a non-negative integer, got -1"):
        LSTM(3, 4, proj_size=-1)
    with pytest.raises(ValueError, match=r"dropout: expected a value in \[0, 1\], got 1.5"):
        LSTM(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match=r"dropout: expected a finite number, got 'a'"):
        LSTM(3, 4, dropout="a")
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match=r"input_size: expected a positive integer"):
            LSTM(bad, 4)
        with pytest.raises(ValueError, match=r"hidden_size: expected a positive integer"):
            RNN(3, bad)
        with pytest.raises(ValueError, match=r"num_layers: expected a positive integer"):
            LSTM(3, 4, num_layers=bad)
    with pytest.raises(TypeError, match=r"bias: expected a bool, got 'yes'"):
        LSTM(3, 4, bias="yes")
    with pytest.raises(TypeError, match=r"batch_first: expected a bool, got 1"):
        RNN(3, 4, batch_first=1)
    with pytest.raises(TypeError, match=r"bidirectional: expected a bool, got None"):
        LSTM(3, 4, bidirectional=None)
    with pytest.raises(ValueError, match=r"nonlinearity: expected 'tanh' or 'relu', got 'sigmoid'"):
        RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"forget_bias: expected a finite number, got nan"):
        LSTM(3, 4, forget_bias=float("nan"))
    with pytest.raises(ValueError, match=r"forget_bias: needs bias=True, got bias=False"):
        LSTM(3, 4, bias=False, forget_bias=1.0)
    with pytest.raises(TypeError, match=r"positional arguments"):
        LSTM(3, 4, 1, True, False, 0.0, False, 0, None, None, 1.0)   # keyword only


@pytest.mark.parametrize("module", [LSTM(3, 4), RNN(3, 4)], ids=["lstm", "rnn"])
def test_forward_rejects_bad_inputs(module):
    with pytest.raises(ValueError, match=r"input: expected a 2 or 3-D input .*got 1-D with shape \(5,\)"):
        module(torch.randn(5))
    with pytest.raises(ValueError, match=r"got 4-D with shape \(5, 2, 3, 1\)"):
        module(torch.randn(5, 2, 3, 1))
    with pytest.raises(ValueError, match=r"input: expected shape \(T, B, d=3\), got \(5, 2, 4\)"):
        module(torch.randn(5, 2, 4))
    with pytest.raises(ValueError, match=r"input: expected shape \(T, d=3\), got \(5, 4\)"):
        module(torch.randn(5, 4))
    with pytest.raises(ValueError, match=r"input: expected at least one time step, got T=0"):
        module(torch.randn(0, 2, 3))
    with pytest.raises(TypeError, match=r"input: expected a floating-point tensor .*got dtype torch.int64"):
        module(torch.ones(5, 2, 3, dtype=torch.int64))
    with pytest.raises(TypeError, match=r"input: expected a torch.Tensor, got ndarray"):
        module(np.zeros((5, 2, 3)))
    with pytest.raises(TypeError, match=r"input: expected dtype torch.float32 .*got torch.float64"):
        module(torch.randn(5, 2, 3, dtype=torch.float64))
    for bad in (float("nan"), float("inf"), -float("inf")):
        x = torch.randn(5, 2, 3)
        x[2, 1, 0] = bad
        with pytest.raises(ValueError, match=r"input: expected finite values, got NaN or inf"):
            module(x)
    with pytest.raises(NotImplementedError, match=r"PackedSequence input is not supported"):
        packed = nn.utils.rnn.pack_padded_sequence(torch.randn(5, 2, 3), [5, 3])
        module(packed)


def test_batch_first_shape_message():
    with pytest.raises(ValueError, match=r"input: expected shape \(B, T, d=3\), got \(2, 5, 4\)"):
        LSTM(3, 4, batch_first=True)(torch.randn(2, 5, 4))


def test_lstm_rejects_bad_states():
    m = LSTM(3, 4, num_layers=2, bidirectional=True)
    x = torch.randn(5, 2, 3)
    h, c = torch.zeros(4, 2, 4), torch.zeros(4, 2, 4)
    m(x, (h, c))                                           # the right shapes work
    with pytest.raises(TypeError, match=r"hx: expected a tuple \(h_0, c_0\) of two tensors, got a Tensor"):
        m(x, h)
    with pytest.raises(TypeError, match=r"got a tuple of length 3"):
        m(x, (h, c, c))
    bad_shapes = {(2, 2, 4): r"\(num_layers\*D=4, B=2, hidden_size=4\), got \(2, 2, 4\)",
                  (4, 3, 4): r"got \(4, 3, 4\)",
                  (4, 2, 5): r"got \(4, 2, 5\)",
                  (4, 4): r"\(num_layers\*D=4, B=2, hidden_size=4\), got \(4, 4\)"}
    for shape, msg in bad_shapes.items():
        with pytest.raises(ValueError, match=r"hx\[0\] \(h_0\): expected shape .*" + msg):
            m(x, (torch.zeros(shape), c))
        with pytest.raises(ValueError, match=r"hx\[1\] \(c_0\): expected shape .*" + msg):
            m(x, (h, torch.zeros(shape)))
    with pytest.raises(ValueError, match=r"hx\[0\] \(h_0\): expected shape "
                                         r"\(num_layers\*D=4, hidden_size=4\), got \(4, 1, 4\)"):
        m(torch.randn(5, 3), (torch.zeros(4, 1, 4), torch.zeros(4, 1, 4)))
    with pytest.raises(TypeError, match=r"hx\[1\] \(c_0\): expected a floating-point tensor .*torch.int32"):
        m(x, (h, torch.zeros(4, 2, 4, dtype=torch.int32)))
    with pytest.raises(TypeError, match=r"hx\[0\] \(h_0\): expected dtype torch.float32 .*got torch.float64"):
        m(x, (h.double(), c))
    with pytest.raises(TypeError, match=r"hx\[0\] \(h_0\): expected a torch.Tensor, got ndarray"):
        m(x, (h.numpy(), c))
    c_bad = c.clone()
    c_bad[3, 1, 2] = float("nan")
    with pytest.raises(ValueError, match=r"hx\[1\] \(c_0\): expected finite values, got NaN or inf"):
        m(x, (h, c_bad))
    h_bad = h.clone()
    h_bad[0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match=r"hx\[0\] \(h_0\): expected finite values"):
        m(x, (h_bad, c))


def test_rnn_rejects_bad_states():
    m = RNN(3, 4, batch_first=True)
    x = torch.randn(2, 5, 3)
    with pytest.raises(TypeError, match=r"hx: expected a tensor h_0, got a tuple"):
        m(x, (torch.zeros(1, 2, 4),))
    with pytest.raises(ValueError, match=r"hx \(h_0\): expected shape "
                                         r"\(num_layers\*D=1, B=2, hidden_size=4\), got \(1, 5, 4\)"):
        m(x, torch.zeros(1, 5, 4))
    h = torch.zeros(1, 2, 4)
    h[0, 1, 3] = float("nan")
    with pytest.raises(ValueError, match=r"hx \(h_0\): expected finite values"):
        m(x, h)


@pytest.mark.parametrize("cls", [LSTM, RNN], ids=["lstm", "rnn"])
def test_non_finite_weights_are_refused_at_load_and_on_request(cls):
    """forward checks inputs and states, not the weights (as torch.nn); loading refuses
    NaN or inf weights before copying any, and check_weights() looks when asked."""
    name = "weight_hh_l0"
    module = cls(3, 4, num_layers=2)
    assert module.check_weights() is module
    state = {k: v.clone() for k, v in module.state_dict().items()}
    bad = dict(state)
    bad[name] = state[name].clone()
    bad[name][0, 0] = float("nan")
    with pytest.raises(ValueError, match=rf"{name}: expected finite values, got NaN or inf"):
        module.load_state_dict(bad)
    for key, value in module.state_dict().items():             # nothing was copied
        assert torch.equal(value, state[key])
    with torch.no_grad():
        getattr(module, name)[0, 0] = float("inf")
    out, _ = module(torch.randn(5, 2, 3))                        # no scan of the weights here
    with pytest.raises(ValueError, match=rf"{name}: expected finite values, got NaN or inf"):
        module.check_weights()


def test_a_checked_load_still_loads_from_torch_nn():
    ours = LSTM(3, 4, num_layers=2, bidirectional=True)
    theirs = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    ours.load_state_dict(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value)


# --- devices: like shapes and dtypes, a mismatch is named ------------------------------
# "meta" is a device every torch has: tensors with shapes and no values.

@pytest.mark.parametrize("cls", [LSTM, RNN], ids=["lstm", "rnn"])
def test_input_on_another_device_is_named(cls):
    m = cls(3, 4)
    with pytest.raises(ValueError, match=r"^input: expected device cpu \(the parameters' "
                                         r"device\), got meta; move one with \.to\(\)"):
        m(torch.randn(5, 2, 3, device="meta"))
    on_meta = cls(3, 4, device="meta")
    with pytest.raises(ValueError, match=r"^input: expected device meta \(the parameters' "
                                         r"device\), got cpu"):
        on_meta(torch.randn(5, 2, 3))


def test_states_on_another_device_are_named():
    m = LSTM(3, 4)
    x = torch.randn(5, 2, 3)
    h, c = torch.zeros(1, 2, 4), torch.zeros(1, 2, 4)
    with pytest.raises(ValueError, match=r"^hx\[0\] \(h_0\): expected device cpu \(the "
                                         r"parameters' device\), got meta"):
        m(x, (h.to("meta"), c))
    with pytest.raises(ValueError, match=r"^hx\[1\] \(c_0\): expected device cpu .*got meta"):
        m(x, (h, c.to("meta")))
    with pytest.raises(ValueError, match=r"^hx \(h_0\): expected device cpu .*got meta"):
        RNN(3, 4)(x, h.to("meta"))


@pytest.mark.parametrize("cls", [LSTM, RNN], ids=["lstm", "rnn"])
def test_parameters_on_two_devices_are_named(cls):
    m = cls(3, 4, num_layers=2)
    m.weight_hh_l1 = nn.Parameter(torch.empty(m.weight_hh_l1.shape, device="meta"))
    with pytest.raises(ValueError, match=r"^weight_hh_l1: expected device cpu \(weight_ih_l0's "
                                         r"device\), got meta"):
        m(torch.randn(5, 2, 3))
    m = cls(3, 4)
    m.bias_hh_l0 = nn.Parameter(m.bias_hh_l0.detach().double())
    with pytest.raises(TypeError, match=r"^bias_hh_l0: expected dtype torch.float32 "
                                        r"\(weight_ih_l0's dtype\), got torch.float64"):
        m(torch.randn(5, 2, 3))


@pytest.mark.parametrize("kind", ["lstm", "tanh"])
@pytest.mark.parametrize("batched", [True, False])
def test_everything_on_meta_runs_like_torch(kind, batched):
    """A module and its input on the meta device: shapes, no values, as torch.nn."""
    cfg = dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True, device="meta")
    ours = LSTM(**cfg) if kind == "lstm" else RNN(**cfg)
    ref = nn.LSTM(**cfg) if kind == "lstm" else nn.RNN(**cfg)
    x = torch.empty((5, 2, 3) if batched else (5, 3), device="meta")
    a, b = ours(x), ref(x)
    assert a[0].shape == b[0].shape and a[0].device.type == "meta"
    sa = a[1] if kind == "lstm" else (a[1],)
    sb = b[1] if kind == "lstm" else (b[1],)
    assert [s.shape for s in sa] == [s.shape for s in sb]
    assert ours.check_weights() is ours                       # nothing to scan: no values


def test_loading_meta_tensors_into_a_real_module_is_named():
    with pytest.raises(ValueError, match=r"^weight_ih_l0: expected a tensor with values, "
                                         r"got one on the meta device"):
        LSTM(3, 4).load_state_dict(LSTM(3, 4, device="meta").state_dict())
    LSTM(3, 4, device="meta").load_state_dict(LSTM(3, 4, device="meta").state_dict())


# --- drop-in gaps closed: dropout between layers, flatten_parameters, all_weights -------

@pytest.mark.parametrize("cls, ref", [(LSTM, nn.LSTM), (RNN, nn.RNN)], ids=["lstm", "rnn"])
def test_dropout_with_one_layer_warns_like_torch_and_does_nothing(cls, ref):
    with pytest.warns(UserWarning, match=r"non-zero dropout expects num_layers greater than 1, "
                                         r"but got dropout=0\.5 and num_layers=1"):
        ours = cls(3, 4, dropout=0.5, dtype=torch.float64)
    with pytest.warns(UserWarning, match=r"non-zero dropout expects num_layers greater than 1"):
        theirs = ref(3, 4, dropout=0.5, dtype=torch.float64)
    ours.load_state_dict(theirs.state_dict())
    ours.train()
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    assert_close(ours(x)[0], theirs(x)[0], 1e-12)
    assert ours.dropout == 0.5


@pytest.mark.parametrize("cls, ref", [(LSTM, nn.LSTM), (RNN, nn.RNN)], ids=["lstm", "rnn"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_dropout_in_eval_mode_equals_torch(cls, ref, bidirectional):
    torch.manual_seed(0)
    cfg = dict(input_size=3, hidden_size=4, num_layers=3, dropout=0.4,
               bidirectional=bidirectional, dtype=torch.float64)
    ours, theirs = cls(**cfg), ref(**cfg)
    ours.load_state_dict(theirs.state_dict())
    ours.eval(), theirs.eval()
    x = torch.randn(7, 2, 3, dtype=torch.float64)
    a, b = ours(x), theirs(x)
    assert_close(a[0], b[0], 1e-10)
    for sa, sb in zip(a[1] if cls is LSTM else (a[1],), b[1] if cls is LSTM else (b[1],)):
        assert_close(sa, sb, 1e-10)


@pytest.mark.parametrize("p", [0.25, 0.6])
def test_dropout_statistics_between_layers_only(p):
    """Two ReLU layers, the second an identity (W_ih = I, W_hh = 0, no bias): its output is
    the first layer's output after dropout. In training mode each positive entry is zeroed
    with probability p and the others are scaled by 1/(1-p), once (not again after the last
    layer); the final state of layer 0 is not dropped; eval mode drops nothing."""
    torch.manual_seed(1)
    n = 40
    m = RNN(5, n, num_layers=2, nonlinearity="relu", bias=False, dropout=p,
            dtype=torch.float64)
    with torch.no_grad():
        m.weight_ih_l1.copy_(torch.eye(n, dtype=torch.float64))
        m.weight_hh_l1.zero_()
    x = torch.randn(30, 40, 5, dtype=torch.float64)
    m.eval()
    clean, h_clean = m(x)
    m.train()
    dropped, h_dropped = m(x)
    kept = clean > 0
    ratio = dropped[kept] / clean[kept]
    zero = ratio == 0
    assert kept.sum() > 10_000
    assert abs(float(zero.double().mean()) - p) < 0.02                    # fraction zeroed
    assert_close(ratio[~zero], torch.full_like(ratio[~zero], 1 / (1 - p)), 1e-12)  # inverted scaling
    assert torch.equal(h_dropped[0], h_clean[0])       # layer 0's final state: before dropout
    assert torch.equal(m.eval()(x)[0], clean)          # eval mode: deterministic, nothing dropped


def test_dropout_in_training_mode_reaches_the_gradients():
    torch.manual_seed(2)
    m = LSTM(3, 8, num_layers=2, dropout=0.5, dtype=torch.float64)
    x = torch.randn(5, 4, 3, dtype=torch.float64)
    out, _ = m(x)
    out.sum().backward()
    assert all(p.grad is not None and p.grad.isfinite().all() for p in m.parameters())
    assert not torch.equal(m(x)[0], m(x)[0])           # two draws of the mask differ


@pytest.mark.parametrize("cls, ref", [(LSTM, nn.LSTM), (RNN, nn.RNN)], ids=["lstm", "rnn"])
@pytest.mark.parametrize("bias, bidirectional", [(True, False), (False, True), (True, True)])
def test_all_weights_has_torch_structure_and_flatten_parameters_is_a_no_op(
        cls, ref, bias, bidirectional):
    cfg = dict(input_size=3, hidden_size=4, num_layers=2, bias=bias, bidirectional=bidirectional)
    ours, theirs = cls(**cfg), ref(**cfg)
    names = [[n for n, p in theirs.named_parameters() if any(p is w for w in ws)]
             for ws in theirs.all_weights]
    assert [[type(w) for w in ws] for ws in ours.all_weights] == \
        [[type(w) for w in ws] for ws in theirs.all_weights]
    assert [len(ns) for ns in names] == [len(ws) for ws in ours.all_weights]
    assert all(a is b for ns, ws in zip(names, ours.all_weights)
               for a, b in zip((getattr(ours, n) for n in ns), ws))
    before = {k: v.clone() for k, v in ours.state_dict().items()}
    assert ours.flatten_parameters() is None
    assert all(torch.equal(v, before[k]) for k, v in ours.state_dict().items())


@pytest.mark.parametrize("cls", [LSTM, RNN], ids=["lstm", "rnn"])
def test_constructor_names_a_dtype_that_is_not_floating_and_a_device_that_is_not_one(cls):
    for bad in (torch.int64, torch.bool, torch.complex64, "float32", np.float64):
        with pytest.raises(TypeError, match=r"^dtype: expected a floating-point torch dtype "
                                            r"\(float32 or float64; float16 or bfloat16 also "
                                            r"run\), got "):
            cls(3, 4, dtype=bad)
    with pytest.raises(TypeError, match=r"^device: expected a torch.device or its name, got 1.5"):
        cls(3, 4, device=1.5)
    assert cls(3, 4, dtype=torch.float16).weight_ih_l0.dtype == torch.float16
