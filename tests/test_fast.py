"""lstm_lib.fast (the hand-written backward pass) against the readable loop and torch.nn.LSTM.

Three implementations of one function: ``LSTM(fast=True)`` (the default, whose
time loop is ``fast.lstm_layer_fast``), ``LSTM(fast=False)`` (``modules.lstm_layer``
under autograd) and ``torch.nn.LSTM``. Outputs, final states and every gradient
(parameters, input, initial states) must agree to 1e-10 (float64) or 1e-5
(float32) relative to scale: ||a - b||_inf <= tol * max(1, ||b||_inf).
"""
import itertools
import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lstm_lib import fast
from lstm_lib.fast import LSTMLayerFunction, lstm_layer_fast
from lstm_lib.modules import LSTM, RNN, lstm_layer
from helpers import assert_close, make_inputs

TOL = {torch.float64: 1e-10, torch.float32: 1e-5}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def count_fast_calls(monkeypatch):
    """Count the calls of the fast time loop made through ``LSTM._layer``."""
    calls = []
    original = fast.lstm_layer_fast

    def spy(*args):
        calls.append(tuple(args[0].shape))
        return original(*args)

    monkeypatch.setattr(fast, "lstm_layer_fast", spy)
    return calls


# --- the layer function: lstm_layer_fast against lstm_layer --------------------------

def layer_inputs(T, B, n, dtype, seed=0, requires=(True, True, True, True)):
    g = torch.Generator().manual_seed(seed)
    x_proj = torch.randn(T, B, 4 * n, generator=g, dtype=dtype)
    h0 = 0.5 * torch.randn(B, n, generator=g, dtype=dtype)
    c0 = 0.5 * torch.randn(B, n, generator=g, dtype=dtype)
    W_hh = 0.7 * torch.randn(4 * n, n, generator=g, dtype=dtype)
    return [v.requires_grad_(r) for v, r in zip((x_proj, h0, c0, W_hh), requires)]


def run_layer(fn, inputs, weights):
    """Forward through ``fn``, a loss on the chosen outputs, and the gradients of every input."""
    inputs = [v.detach().clone().requires_grad_(v.requires_grad) for v in inputs]
    h, (h_T, c_T) = fn(*inputs)
    loss = sum((w * y).sum() for w, y in zip(weights, (h, h_T, c_T)) if w is not None)
    leaves = [v for v in inputs if v.requires_grad]
    grads = torch.autograd.grad(loss, leaves) if leaves else []
    return [h, h_T, c_T], list(grads)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("T, B, n", [(1, 1, 1), (5, 3, 4), (7, 1, 2), (2, 6, 1), (12, 4, 8)])
@pytest.mark.parametrize("loss_on", ["all", "output", "h_T", "c_T", "output_sum"])
def test_layer_matches_readable_loop(T, B, n, dtype, loss_on):
    inputs = layer_inputs(T, B, n, dtype)
    g = torch.Generator().manual_seed(1)
    w = [torch.randn(shape, generator=g, dtype=dtype) for shape in ((T, B, n), (B, n), (B, n))]
    if loss_on == "output_sum":                  # out.sum(): an expanded (stride 0) gradient
        w = [torch.ones(1, dtype=dtype).expand(T, B, n), None, None]
    elif loss_on != "all":
        keep = ["output", "h_T", "c_T"].index(loss_on)
        w = [v if k == keep else None for k, v in enumerate(w)]
    outs_a, grads_a = run_layer(lstm_layer_fast, inputs, w)
    outs_b, grads_b = run_layer(lstm_layer, inputs, w)
    for name, a, b in zip(["h", "h_T", "c_T"], outs_a, outs_b):
        assert_close(a, b, TOL[dtype], name)
    assert len(grads_a) == len(grads_b) == 4
    for name, a, b in zip(["x_proj", "h0", "c0", "W_hh"], grads_a, grads_b):
        assert_close(a, b, TOL[dtype], f"grad {name}")
    assert torch.equal(outs_a[1], outs_a[0][-1])            # h_T is the last output


@pytest.mark.parametrize("requires", [(True, False, False, True), (False, False, False, True),
                                      (True, True, False, False), (False, False, True, False)])
def test_layer_gradients_for_a_subset_of_inputs(requires):
    """Only the inputs that need a gradient get one, and those match the readable loop."""
    inputs = layer_inputs(6, 3, 4, torch.float64, seed=3, requires=requires)
    w = [torch.randn(6, 3, 4, dtype=torch.float64), None, None]
    _, grads_a = run_layer(lstm_layer_fast, inputs, w)
    _, grads_b = run_layer(lstm_layer, inputs, w)
    assert len(grads_a) == sum(requires)
    for a, b in zip(grads_a, grads_b):
        assert_close(a, b, 1e-10, "gradient")


def test_layer_gradcheck_float64():
    """Finite differences against the hand-written backward pass, every input at once."""
    inputs = layer_inputs(4, 2, 3, torch.float64, seed=5)
    fn = lambda *a: LSTMLayerFunction.apply(*a)   # noqa: E731
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-8, rtol=1e-6)


def test_layer_without_grad_and_inputs_untouched():
    """No graph when nothing needs a gradient; the inputs are never written to."""
    inputs = layer_inputs(5, 2, 3, torch.float64, requires=(False,) * 4)
    copies = [v.clone() for v in inputs]
    h, (h_T, c_T) = lstm_layer_fast(*inputs)
    assert h.grad_fn is None and not h.requires_grad
    h_ref, (h_T_ref, c_T_ref) = lstm_layer(*inputs)
    for a, b in ((h, h_ref), (h_T, h_T_ref), (c_T, c_T_ref)):
        assert_close(a, b, 1e-12, "no-grad forward")
    for a, b in zip(inputs, copies):
        assert torch.equal(a, b)
    with torch.no_grad():                         # and under no_grad with inputs that require grad
        h2, _ = lstm_layer_fast(*layer_inputs(5, 2, 3, torch.float64))
    assert h2.grad_fn is None
    assert_close(h2, h_ref, 1e-12, "no_grad forward")


def test_layer_gradgradcheck_float64():
    """Second derivatives of the fast layer (create_graph=True) against finite differences."""
    inputs = layer_inputs(3, 2, 2, torch.float64, seed=7)
    fn = lambda *a: LSTMLayerFunction.apply(*a)   # noqa: E731
    assert torch.autograd.gradgradcheck(fn, inputs, eps=1e-6, atol=1e-7, rtol=1e-5)
    assert torch.autograd.gradgradcheck(lambda *a: lstm_layer(*a)[0], inputs)   # the readable one


def test_the_recomputation_for_second_derivatives_is_the_layer():
    """create_graph=True differentiates fast._layer_by_autograd: the same function as the
    readable lstm_layer (fast.py cannot import modules, which imports it)."""
    inputs = layer_inputs(6, 3, 4, torch.float64, seed=8)
    h, h_T, c_T = fast._layer_by_autograd(*inputs)
    h_ref, (h_T_ref, c_T_ref) = lstm_layer(*inputs)
    for a, b in ((h, h_ref), (h_T, h_T_ref), (c_T, c_T_ref)):
        assert_close(a, b, 1e-14, "recomputation")


# Gradient penalties: a first loss, its gradient with create_graph=True, then a penalty on
# that gradient, differentiated again. Linear first losses (out.sum()) used to give silently
# wrong second derivatives on the fast path; non-linear ones, an error.
FIRST_LOSSES = {
    "out.sum()": lambda out, h, c, w: out.sum(),
    "weighted out": lambda out, h, c, w: (w * out).sum(),
    "(out**2).sum()": lambda out, h, c, w: (out ** 2).sum(),
    "h_n and c_n": lambda out, h, c, w: h.sum() + (h * c).sum() + c.sum(),
}
PENALTY_CONFIGS = [dict(num_layers=1), dict(num_layers=2), dict(bidirectional=True),
                   dict(num_layers=2, bidirectional=True, batch_first=True)]


def penalty_gradients(module, x, hx, first_loss, w):
    """d/d(everything) of L1 + sum of squares of dL1/d(x, h0, c0, parameters)."""
    leaves = [x.clone().requires_grad_(True)] + [s.clone().requires_grad_(True) for s in hx]
    params = list(module.parameters())
    out, (h_n, c_n) = module(leaves[0], tuple(leaves[1:]))
    loss = first_loss(out, h_n, c_n, w)
    first = torch.autograd.grad(loss, leaves + params, create_graph=True)
    penalty = loss + sum((g ** 2).sum() for g in first)
    second = torch.autograd.grad(penalty, leaves + params)
    return [g.detach() for g in first], list(second)


@pytest.mark.parametrize("cfg", PENALTY_CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
@pytest.mark.parametrize("first_loss", list(FIRST_LOSSES), ids=list(FIRST_LOSSES))
def test_gradient_penalty_matches_torch(cfg, first_loss):
    """Double backward through LSTM(fast=True) equals torch.nn.LSTM's, every gradient, to 1e-10."""
    fast_m, slow_m, ref = make_three(torch.float64, input_size=3, hidden_size=4, **cfg)
    D = 2 if cfg.get("bidirectional") else 1
    L = cfg.get("num_layers", 1)
    x, hx = make_inputs("lstm", 3, 4, 5, 2, L, D == 2, cfg.get("batch_first", False), True,
                        True, torch.float64, seed=4)
    out_shape = (2, 5, D * 4) if cfg.get("batch_first") else (5, 2, D * 4)
    w = torch.randn(out_shape, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    names = ["input", "h_0", "c_0"] + [name for name, _ in ref.named_parameters()]
    first_b, second_b = penalty_gradients(ref, x, hx, FIRST_LOSSES[first_loss], w)
    for module in (fast_m, slow_m):
        first_a, second_a = penalty_gradients(module, x, hx, FIRST_LOSSES[first_loss], w)
        for name, a, b in zip(names, first_a, first_b):
            assert_close(a, b, 1e-10, f"first derivative {name}")
        for name, a, b in zip(names, second_a, second_b):
            assert a is not None, f"second derivative {name}: None"
            assert_close(a, b, 1e-10, f"second derivative {name}")


def test_gradient_penalty_through_backward_and_parameter_grads():
    """The usual training-loop form: .backward() on the penalty fills every .grad as torch does."""
    fast_m, _, ref = make_three(torch.float64, input_size=3, hidden_size=4)
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    grads = []
    for m in (fast_m, ref):
        xx = x.clone().requires_grad_(True)
        out, _ = m(xx)
        (gx,) = torch.autograd.grad(out.sum(), xx, create_graph=True)
        m.zero_grad()
        (gx ** 2).sum().backward()
        grads.append([p.grad for p in m.parameters()])
    for a, b in zip(*grads):
        assert a is not None
        assert_close(a, b, 1e-10, "parameter grad of the penalty")


def test_first_order_backward_still_takes_the_hand_written_pass(monkeypatch):
    """Without create_graph the backward pass is the fast one (no recomputation)."""
    recomputed = []
    monkeypatch.setattr(fast, "_backward_by_autograd",
                        lambda *a: recomputed.append(1) or pytest.fail("recomputed"))
    m = LSTM(3, 4, dtype=torch.float64)
    out, _ = m(torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True))
    out.sum().backward()
    assert recomputed == [] and m.weight_hh_l0.grad is not None


# --- the module: fast path, readable path and torch.nn.LSTM ---------------------------

def make_three(dtype, seed=0, **cfg):
    """(fast, readable, torch's) with the same random parameters."""
    torch.manual_seed(seed)
    ref = nn.LSTM(**cfg, dtype=dtype)
    with torch.no_grad():
        for p in ref.parameters():
            p.normal_(0.0, 0.5)
    fast_m, slow_m = LSTM(**cfg, dtype=dtype), LSTM(**cfg, dtype=dtype, fast=False)
    fast_m.load_state_dict(ref.state_dict())
    slow_m.load_state_dict(ref.state_dict())
    return fast_m, slow_m, ref


def run_with_grads(module, x, hx, seed=2):
    """Forward, a random loss on output and both final states, backward; all results."""
    x = x.clone().requires_grad_(True)
    leaves = [x]
    if hx is not None:
        hx = tuple(s.clone().requires_grad_(True) for s in hx)
        leaves += list(hx)
    module.zero_grad()
    out, (h_n, c_n) = module(x, hx)
    g = torch.Generator().manual_seed(seed)
    loss = sum((t * torch.randn(t.shape, generator=g, dtype=t.dtype)).sum()
               for t in (out, h_n, c_n))
    loss.backward()
    grads = {name: p.grad.clone() for name, p in module.named_parameters()}
    return [out, h_n, c_n], grads, [leaf.grad.clone() for leaf in leaves]


def compare_three(fast_m, slow_m, ref, x, hx, tol):
    results = [run_with_grads(m, x, hx) for m in (fast_m, slow_m, ref)]
    (outs_f, grads_f, leaf_f) = results[0]
    for other, label in ((results[1], "readable"), (results[2], "torch.nn")):
        outs_o, grads_o, leaf_o = other
        for name, a, b in zip(["output", "h_n", "c_n"], outs_f, outs_o):
            assert_close(a, b, tol, f"{name} vs {label}")
        assert grads_f.keys() == grads_o.keys()
        for name in grads_o:
            assert_close(grads_f[name], grads_o[name], tol, f"grad {name} vs {label}")
        assert len(leaf_f) == len(leaf_o)
        for name, a, b in zip(["input", "h_0", "c_0"], leaf_f, leaf_o):
            assert_close(a, b, tol, f"grad {name} vs {label}")
    return outs_f[0]


CONFIGS = list(itertools.product([1, 2, 3], [False, True], [False, True], [True, False],
                                 [False, True], [True, False]))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(
    "num_layers, bidirectional, batch_first, batched, with_state, bias", CONFIGS,
    ids=[f"L{L}-{'bi' if bi else 'uni'}-{'bf' if bf else 'tm'}-"
         f"{'batched' if bt else 'unbatched'}-{'h0' if ws else 'noh0'}-{'bias' if b else 'nobias'}"
         for L, bi, bf, bt, ws, b in CONFIGS])
def test_fast_module_matches_readable_and_torch(num_layers, bidirectional, batch_first, batched,
                                                with_state, bias, dtype, count_fast_calls):
    d, n, T, B = 3, 4, 5, 2
    fast_m, slow_m, ref = make_three(dtype, input_size=d, hidden_size=n, num_layers=num_layers,
                                     bias=bias, batch_first=batch_first,
                                     bidirectional=bidirectional)
    x, hx = make_inputs("lstm", d, n, T, B, num_layers, bidirectional, batch_first, batched,
                        with_state, dtype)
    out = compare_three(fast_m, slow_m, ref, x, hx, TOL[dtype])
    D = 2 if bidirectional else 1
    # The fast loop ran once per layer and direction (for the fast module only).
    assert count_fast_calls == [(T, B if batched else 1, 4 * n)] * (num_layers * D)
    assert out.dtype == dtype


@settings(max_examples=15, deadline=None)
@given(d=st.integers(1, 5), n=st.integers(1, 5), T=st.integers(1, 6), B=st.integers(1, 4),
       num_layers=st.integers(1, 2), bidirectional=st.booleans(), batch_first=st.booleans(),
       with_state=st.booleans(), seed=st.integers(0, 2**16))
def test_fast_module_random_sizes(d, n, T, B, num_layers, bidirectional, batch_first,
                                  with_state, seed):
    fast_m, slow_m, ref = make_three(torch.float64, seed, input_size=d, hidden_size=n,
                                     num_layers=num_layers, batch_first=batch_first,
                                     bidirectional=bidirectional)
    x, hx = make_inputs("lstm", d, n, T, B, num_layers, bidirectional, batch_first, True,
                        with_state, torch.float64, seed + 1)
    compare_three(fast_m, slow_m, ref, x, hx, TOL[torch.float64])


def test_fast_module_at_a_realistic_size_float32():
    """Benchmark-like sizes (long sequence, saturated gates): still within float32's tolerance."""
    fast_m, slow_m, ref = make_three(torch.float32, input_size=16, hidden_size=32, num_layers=2)
    with torch.no_grad():
        for m in (fast_m, slow_m, ref):
            for p in m.parameters():
                p.mul_(0.3)
    x = torch.randn(60, 8, 16, generator=torch.Generator().manual_seed(0))
    compare_three(fast_m, slow_m, ref, x, None, TOL[torch.float32])


def test_fast_path_under_deterministic_algorithms():
    """The lab trains with torch.use_deterministic_algorithms(True): same results, twice."""
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        torch.manual_seed(0)
        m = LSTM(3, 6)
        x = torch.randn(9, 4, 3)
        grads = []
        for _ in range(2):
            m.zero_grad()
            out, (h_n, c_n) = m(x)
            (out.square().sum() + c_n.sum()).backward()
            grads.append([p.grad.clone() for p in m.parameters()])
        for a, b in zip(*grads):
            assert torch.equal(a, b)
    finally:
        torch.use_deterministic_algorithms(before)


# --- when the fast path runs, and the switch --------------------------------------------

def test_applies_only_to_float32_and_float64_on_cpu():
    assert fast.applies(torch.zeros(2, 1, 4))
    assert fast.applies(torch.zeros(2, 1, 4, dtype=torch.float64))
    assert not fast.applies(torch.zeros(2, 1, 4, dtype=torch.bfloat16))
    assert not fast.applies(torch.zeros(2, 1, 4, dtype=torch.float16))
    assert not fast.applies(torch.zeros(2, 1, 4, device="meta"))


def test_other_dtypes_take_the_readable_path(count_fast_calls):
    torch.manual_seed(0)
    m = LSTM(3, 4, dtype=torch.bfloat16)
    out, _ = m(torch.randn(5, 2, 3, dtype=torch.bfloat16))
    assert out.shape == (5, 2, 4) and count_fast_calls == []


def test_fast_flag_validation_repr_and_state_dict(count_fast_calls):
    with pytest.raises(TypeError, match=r"fast: expected a bool, got 'yes'"):
        LSTM(3, 4, fast="yes")
    with pytest.raises(TypeError, match=r"fast: expected a bool, got 1"):
        LSTM(3, 4, fast=1)
    assert repr(LSTM(3, 4)) == "LSTM(3, 4)"
    assert repr(LSTM(3, 4, fast=False)) == "LSTM(3, 4, fast=False)"
    torch.manual_seed(0)
    a = LSTM(3, 4, num_layers=2)
    torch.manual_seed(0)
    b = LSTM(3, 4, num_layers=2, fast=False)
    assert list(a.state_dict()) == list(b.state_dict())
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    x = torch.randn(4, 2, 3)
    b(x)
    assert count_fast_calls == []                         # fast=False: never the fast loop
    b.fast = True                                         # the attribute switches paths
    b(x)
    assert len(count_fast_calls) == 2


# --- from scratch: no PyTorch recurrent kernel runs ------------------------------------

FORBIDDEN = re.compile(r"lstm|rnn|gru", re.IGNORECASE)


def recurrent_kernels(model, x, y):
    """Names of profiled events that look like a PyTorch recurrent kernel, in one training
    step (forward, loss, backward, optimizer step). Our own autograd Function is allowed."""
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        out, _ = model(x)
        loss = ((out[-1] - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    names = {e.name for e in prof.events()}
    assert any(n.startswith("aten::") for n in names), "the profiler recorded no operators"
    own = LSTMLayerFunction.__name__
    return names, sorted(n for n in names if FORBIDDEN.search(n) and own not in n)


@pytest.mark.parametrize("make", [
    lambda: LSTM(2, 8), lambda: LSTM(2, 8, num_layers=2, bidirectional=True),
    lambda: LSTM(2, 8, fast=False), lambda: RNN(2, 8)],
    ids=["lstm-fast", "lstm-2layer-bi-fast", "lstm-readable", "rnn"])
def test_training_step_runs_no_pytorch_recurrent_kernel(make):
    torch.manual_seed(0)
    model = make()
    D = 2 if model.bidirectional else 1
    x, y = torch.randn(10, 4, 2), torch.randn(4, D * 8)
    names, bad = recurrent_kernels(model, x, y)
    assert bad == [], f"PyTorch recurrent kernels ran: {bad}"
    assert "aten::addmm" in names or "aten::mm" in names


def test_the_profiler_check_catches_torch_nn_lstm():
    """The check above is not vacuous: torch.nn.LSTM's training step trips it."""
    torch.manual_seed(0)
    _, bad = recurrent_kernels(nn.LSTM(2, 8), torch.randn(10, 4, 2), torch.randn(4, 8))
    assert bad, "expected torch.nn.LSTM to run a recurrent kernel"
