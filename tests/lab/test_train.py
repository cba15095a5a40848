"""lstm_lib.lab.train: the readout, clipping, losses, metrics and the loop.

Clipping and the global norm are held against torch.nn.utils; the model
head against torch.nn.LSTM / nn.RNN with the same weights; the loop is
checked to be deterministic, to record the pre-clipping norm, and to stop
when told to.
"""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lstm_lib.lab import tasks
from lstm_lib.lab import train as tr
from lstm_lib.modules import GRU, LSTM, RNN
from helpers import assert_close

torch.set_num_threads(1)


def _params_with_grads(seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    ps = [nn.Parameter(torch.randn(3, 4, generator=g, dtype=torch.float64)),
          nn.Parameter(torch.randn(5, generator=g, dtype=torch.float64)),
          nn.Parameter(torch.randn(2, generator=g, dtype=torch.float64))]
    for p in ps[:2]:
        p.grad = scale * torch.randn(p.shape, generator=g, dtype=torch.float64)
    return ps                                # the last parameter has no gradient


# --------------------------------------------------------------------------- clipping

def test_global_grad_norm_is_norm_of_concatenation():
    ps = _params_with_grads()
    flat = torch.cat([ps[0].grad.reshape(-1), ps[1].grad.reshape(-1)])
    assert tr.global_grad_norm(ps) == pytest.approx(float(flat.norm()), rel=1e-12)
    assert tr.global_grad_norm([nn.Parameter(torch.zeros(2))]) == 0.0


@pytest.mark.parametrize("max_norm", [0.1, 1.0, 2.5, 1e6])
def test_clip_matches_torch(max_norm):
    ours, ref = _params_with_grads(scale=2.0), _params_with_grads(scale=2.0)
    before = [p.grad.clone() for p in ours[:2]]
    n_ours = tr.clip_grad_norm(ours, max_norm)
    n_ref = torch.nn.utils.clip_grad_norm_(ref, max_norm)
    assert n_ours == pytest.approx(float(n_ref), rel=1e-12)
    # the rule exactly: g * min(1, tau / ||g||)
    for a, g0 in zip(ours[:2], before):
        assert_close(a.grad, g0 * min(1.0, max_norm / n_ours), 1e-12)
    # torch divides by ||g|| + 1e-6, hence the looser tolerance against it
    for a, b in zip(ours[:2], ref[:2]):
        assert_close(a.grad, b.grad, 1e-6)
    if n_ours <= max_norm:                               # below the threshold: untouched
        for a, g0 in zip(ours[:2], before):
            assert torch.equal(a.grad, g0)
    else:                                                # above: the new norm is tau, same direction
        assert tr.global_grad_norm(ours) == pytest.approx(max_norm, rel=1e-10)
        cos = F.cosine_similarity(ours[0].grad.reshape(-1), before[0].reshape(-1), dim=0)
        assert float(cos) == pytest.approx(1.0, abs=1e-12)


def test_clip_rejects_bad_threshold():
    with pytest.raises(ValueError, match="max_norm"):
        tr.clip_grad_norm(_params_with_grads(), 0.0)


# --------------------------------------------------------------------------- the model head

def test_model_uses_lstm_lib_modules():
    assert isinstance(tr.make_model("lstm", 2, 5, 1).rnn, LSTM)
    assert isinstance(tr.make_model("rnn", 2, 5, 1).rnn, RNN)
    with pytest.raises(ValueError, match="cell"):
        tr.make_model("cnn", 2, 5, 1)
    with pytest.raises(ValueError, match="forget_bias"):
        tr.make_model("rnn", 2, 5, 1, forget_bias=1.0)
    with pytest.raises(ValueError, match="readout"):
        tr.make_model("lstm", 2, 5, 1, readout="first")


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_model_matches_torch_nn(cell):
    """Our head on lstm_lib's module equals the same head on torch.nn's module."""
    model = tr.make_model(cell, 3, 6, 2, seed=4).double()
    ref_rnn = (nn.LSTM if cell == "lstm" else nn.RNN)(3, 6, dtype=torch.float64)
    ref_rnn.load_state_dict(model.rnn.state_dict())
    x = torch.randn(7, 5, 3, dtype=torch.float64)
    expected = model.head(ref_rnn(x)[0][-1])
    assert_close(model(x), expected, 1e-10)
    model.readout = "all"
    assert_close(model(x), model.head(ref_rnn(x)[0]), 1e-10)


def test_forget_and_input_bias_are_set():
    model = tr.make_model("lstm", 2, 4, 1, forget_bias=3.0, input_bias=-3.0)
    b = model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0
    assert torch.equal(b[4:8], torch.full((4,), 3.0))        # f block: PyTorch's second
    assert torch.equal(b[0:4], torch.full((4,), -3.0))       # i block: first
    plain = tr.make_model("lstm", 2, 4, 1, forget_bias=3.0)
    assert torch.equal(model.rnn.weight_hh_l0, plain.rnn.weight_hh_l0)   # weights untouched
    assert torch.equal(b[8:], (plain.rnn.bias_ih_l0 + plain.rnn.bias_hh_l0)[8:])
    with pytest.raises(ValueError, match="input_bias"):
        tr.make_model("rnn", 2, 4, 1, input_bias=-3.0)


def test_readout_at_each_length_ignores_padding():
    """Reading h at step L_b equals running sequence b alone, truncated to L_b."""
    model = tr.make_model("lstm", 2, 4, 1, seed=1)
    batch = tasks.hochreiter_adding(20, 6, rng=0)
    out = model(batch.x, batch.lengths)
    for b in range(6):
        L = int(batch.lengths[b])
        alone = model(batch.x[:L, b:b + 1])
        assert_close(out[b], alone[0], 1e-6)
    bad = batch.lengths.clone()
    bad[0] = 0
    with pytest.raises(ValueError, match="lengths"):
        model(batch.x, bad)


def test_make_model_is_seeded():
    a, b = tr.make_model("lstm", 2, 4, 1, seed=3), tr.make_model("lstm", 2, 4, 1, seed=3)
    c = tr.make_model("lstm", 2, 4, 1, seed=4)
    for (ka, va), (_, vb), (_, vc) in zip(a.state_dict().items(), b.state_dict().items(),
                                          c.state_dict().items()):
        assert torch.equal(va, vb), ka
    assert not all(torch.equal(va, vc) for va, vc in zip(a.state_dict().values(),
                                                          c.state_dict().values()))


# --------------------------------------------------------------------------- losses and metrics

def test_losses_and_metrics_by_hand():
    torch.manual_seed(0)
    reg = tr.make_model("lstm", 2, 3, 1)
    b = tasks.adding_problem(6, 8, rng=1)
    loss, y_hat = tr.mse_loss(reg, b)
    assert loss.item() == pytest.approx(float(((reg(b.x).squeeze(-1) - b.y) ** 2).mean().detach()))
    m = tr.regression_metrics(reg, b)
    assert m["mse"] == pytest.approx(loss.item(), rel=1e-6)
    assert m["within_tol"] == pytest.approx(float(((y_hat - b.y).abs() < 0.04).float().mean()))

    cls = tr.make_model("rnn", 8, 3, 4)
    b = tasks.temporal_order(10, rng=2)
    loss, logits = tr.class_loss(cls, b)
    logp = torch.log_softmax(logits, -1)
    assert loss.item() == pytest.approx((-logp[torch.arange(10), b.y].mean()).item(), rel=1e-6)
    acc = tr.classification_metrics(cls, b)["accuracy"]
    assert acc == pytest.approx(float((logits.argmax(-1) == b.y).float().mean()))

    cp = tr.make_model("lstm", 10, 3, 10, readout="all")
    b = tasks.copy_memory(3, 5, rng=3)
    loss, logits = tr.copy_loss(cp, b)
    assert logits.shape == (23, 5, 10)
    logp = torch.log_softmax(logits, -1)
    manual = -logp.gather(-1, b.y.unsqueeze(-1)).mean()
    assert loss.item() == pytest.approx(manual.item(), rel=1e-6)
    cm = tr.copy_metrics(cp, b)
    assert cm["ce"] == pytest.approx(loss.item(), rel=1e-6)
    hits = (logits[-10:].argmax(-1) == b.y[-10:]).float().mean()
    assert cm["copy_accuracy"] == pytest.approx(float(hits))


# --------------------------------------------------------------------------- truncated BPTT

@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_truncated_loss_keeps_the_forward_and_cuts_the_gradient(cell):
    """Same loss as mse_loss; the gradient reaches the last chunk only, and all of it there."""
    model = tr.make_model(cell, 2, 5, 1, seed=3, dtype=torch.float64)
    b = tasks.adding_problem(12, 6, rng=4)
    grads = {}
    for name, fn in [("full", tr.mse_loss), ("k5", tr.truncated_mse_loss(5)),
                     ("k12", tr.truncated_mse_loss(12))]:
        x = b.x.double().clone().requires_grad_(True)
        loss, _ = fn(model, tasks.Batch(x=x, y=b.y, meta=b.meta))
        loss.backward()
        grads[name] = (loss.item(), x.grad.clone())
    assert grads["k5"][0] == pytest.approx(grads["full"][0], rel=1e-12)     # the forward is unchanged
    g5, g = grads["k5"][1], grads["full"][1]
    assert torch.count_nonzero(g5[:10]) == 0                                # chunks [0,5), [5,10): cut
    assert torch.allclose(g5[10:], g[10:], rtol=1e-10, atol=0)               # last chunk: exact
    assert torch.count_nonzero(g[:10]) > 0                                   # full BPTT reaches them
    assert torch.equal(grads["k12"][1], g)                                   # one chunk is full BPTT


def test_truncated_loss_rejects_bad_input():
    with pytest.raises(ValueError, match="k"):
        tr.truncated_mse_loss(0)
    model = tr.make_model("lstm", 2, 3, 1)
    with pytest.raises(ValueError, match="lengths"):
        tr.truncated_mse_loss(5)(model, tasks.hochreiter_adding(20, 2, rng=0))


def test_adding_metrics_reads_the_weights_on_the_marked_values():
    b = tasks.adding_problem(9, 64, rng=5)
    pos, cols = b.meta["positions"], np.arange(64)

    class Uses(nn.Module):      # answers 0.3 + 0.25 v_{p1} + 1.0 v_{p2}, exactly
        def __init__(self):
            super().__init__()
            self.dummy = nn.Parameter(torch.zeros(()))

        def forward(self, x, lengths=None):
            v = x[:, :, 0]
            return (0.3 + 0.25 * v[pos[:, 0], cols] + v[pos[:, 1], cols]).unsqueeze(-1)

    m = tr.adding_metrics(Uses(), b)
    assert m["w_first"] == pytest.approx(0.25, abs=1e-6)
    assert m["w_second"] == pytest.approx(1.0, abs=1e-6)
    assert m["mse"] == pytest.approx(tr.regression_metrics(Uses(), b)["mse"])


# --------------------------------------------------------------------------- the loop

T_SHORT = 4   # a short adding problem keeps these tests fast


def _run(clip=1.0, steps=30, seed=0, **kw):
    model = tr.make_model("lstm", 2, 8, 1, forget_bias=1.0, seed=seed)
    rng = np.random.default_rng(seed)
    test = tasks.adding_problem(T_SHORT, 256, rng=99)
    hist = tr.train(model, lambda: tasks.adding_problem(T_SHORT, 16, rng), tr.mse_loss, steps,
                    lr=2e-2, clip=clip, evaluate=lambda m: tr.regression_metrics(m, test),
                    eval_every=10, **kw)
    return model, hist


def test_train_learns_and_records():
    model, hist = _run(steps=150)
    assert hist["step"] == list(range(0, 151, 10))
    assert hist["sequences"] == [16 * s for s in hist["step"]]
    assert len(hist["grad_norm"]) == 150 and hist["steps_run"] == 150
    assert hist["sequences_seen"] == 2400 and hist["stopped"] is None
    assert hist["first_grad_norm"] == hist["grad_norm"][0]
    # on a short adding problem (T = 4) the LSTM beats the 1/6 baseline within 150 steps
    assert hist["mse"][0] > 0.1 and hist["mse"][-1] < 0.5 * tasks.adding_baseline_mse()


def test_first_grad_norm_is_the_unclipped_norm():
    model = tr.make_model("lstm", 2, 8, 1, forget_bias=1.0, seed=0)
    batch = tasks.adding_problem(T_SHORT, 16, rng=np.random.default_rng(0))
    loss, _ = tr.mse_loss(model, batch)
    loss.backward()
    expected = tr.global_grad_norm(model.parameters())
    _, clipped = _run(clip=1e-3, steps=1)
    _, free = _run(clip=None, steps=1)
    assert clipped["first_grad_norm"] == pytest.approx(expected, rel=1e-6)
    assert free["first_grad_norm"] == pytest.approx(expected, rel=1e-6)


def test_train_is_deterministic():
    tr.set_deterministic(1)
    try:
        m1, h1 = _run(steps=20)
        m2, h2 = _run(steps=20)
    finally:
        torch.use_deterministic_algorithms(False)
    assert h1["mse"] == h2["mse"] and h1["grad_norm"] == h2["grad_norm"]
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(a, b)


def test_clipping_changes_the_trajectory():
    _, a = _run(clip=1e-2, steps=20)
    _, b = _run(clip=None, steps=20)
    assert a["grad_norm"][0] == b["grad_norm"][0]           # same start
    assert a["mse"][-1] != b["mse"][-1]


def test_stop_when_and_on_batch():
    _, h = _run(steps=100, stop_when=lambda m: m["mse"] < 10.0)
    assert h["stopped"] == "metric" and h["steps_run"] == 10   # first evaluation after step 0
    calls = []

    def on_batch(batch, output):
        calls.append(output.shape)
        return len(calls) == 7

    _, h = _run(steps=100, on_batch=on_batch)
    assert h["stopped"] == "on_batch" and h["steps_run"] == 7
    assert calls[0] == (16,) and h["step"][-1] == 7              # evaluated where it stopped


def test_train_rejects_bad_arguments():
    with pytest.raises(ValueError, match="steps"):
        _run(steps=0)
    with pytest.raises(ValueError, match="clip"):
        _run(clip=-1.0)


def test_first_crossing():
    hist = {"sequences": [0, 10, 20, 30], "mse": [0.2, 0.05, 0.009, 0.02],
            "accuracy": [0.2, 0.5, 0.96, 0.99]}
    assert tr.first_crossing(hist, "mse", 0.01) == 20
    assert tr.first_crossing(hist, "mse", 0.001) is None
    assert tr.first_crossing(hist, "accuracy", 0.905, below=False) == 20
    assert math.isclose(tr.first_crossing(hist, "accuracy", 0.1, below=False), 0)


def test_train_draws_and_closes_a_labelled_bar(monkeypatch):
    made = []

    class Bar:
        def __init__(self, total, desc):
            self.total, self.desc, self.n, self.closed, self.postfix = total, desc, 0, False, None
            made.append(self)

        def update(self, k):
            self.n += k

        def set_postfix_str(self, s):
            self.postfix = s

        def close(self):
            self.closed = True

    monkeypatch.setattr(tr, "progress_bar", lambda total, desc: Bar(total, desc))
    model = tr.make_model("lstm", 2, 3, 1, seed=0)
    rng = np.random.default_rng(0)
    test = tasks.adding_problem(5, 8, rng=1)
    hist = tr.train(model, lambda: tasks.adding_problem(5, 4, rng), tr.mse_loss, 6,
                    evaluate=lambda m: tr.regression_metrics(m, test), eval_every=3,
                    progress="LSTM")
    (bar,) = made
    assert (bar.desc, bar.total, bar.n, bar.closed) == ("LSTM", 6, 6, True)
    assert bar.postfix.startswith("mse=") and hist["steps_run"] == 6


def test_make_model_float64_starts_from_the_float32_draw_and_reads_float32_batches():
    m32 = tr.make_model("lstm", 2, 4, 1, forget_bias=1.0, seed=3)
    m64 = tr.make_model("lstm", 2, 4, 1, forget_bias=1.0, seed=3, dtype=torch.float64)
    for (name, p32), (_, p64) in zip(m32.named_parameters(), m64.named_parameters()):
        assert p64.dtype == torch.float64 and torch.equal(p32.double(), p64), name
    x = torch.randn(5, 3, 2)                                   # the tasks make float32 batches
    assert m64(x).dtype == torch.float64
    assert torch.allclose(m64(x).float(), m32(x), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="dtype"):
        tr.make_model("lstm", 2, 4, 1, dtype=torch.float16)


# --------------------------------------------------------------------------- the GRU, and equal parameter counts

def test_gru_model_and_its_errors():
    m = tr.make_model("gru", 2, 5, 1, seed=3, dtype=torch.float64)
    assert isinstance(m.rnn, GRU) and m.cell == "gru"
    assert tr.CELLS == ("lstm", "gru", "rnn")
    with pytest.raises(ValueError, match=r"forget_bias: a GRU has no forget gate"):
        tr.make_model("gru", 2, 5, 1, forget_bias=1.0)
    with pytest.raises(ValueError, match=r"input_bias: a GRU has no input gate"):
        tr.make_model("gru", 2, 5, 1, input_bias=-1.0)
    batch = tasks.adding_problem(6, 4, rng=0)
    ref = nn.GRU(2, 5, dtype=torch.float64)
    ref.load_state_dict(m.rnn.state_dict())
    h, _ = ref(batch.x.double())
    assert_close(m(batch.x), m.head(h[-1]), 1e-12, "GRU model read-out")


@pytest.mark.parametrize("cell", tr.CELLS)
@pytest.mark.parametrize("d, n, out", [(2, 16, 1), (10, 64, 10), (6, 1, 4)])
def test_parameter_count_is_the_models_numel(cell, d, n, out):
    m = tr.make_model(cell, d, n, out)
    assert tr.parameter_count(cell, d, n, out) == sum(p.numel() for p in m.parameters())


def test_hidden_for_parameters_is_the_nearest_count():
    target = tr.parameter_count("lstm", 2, 16, 1)
    assert tr.hidden_for_parameters("lstm", 2, 1, target) == 16
    for cell in ("gru", "rnn"):
        n = tr.hidden_for_parameters(cell, 2, 1, target)
        gap = abs(tr.parameter_count(cell, 2, n, 1) - target)
        assert gap <= abs(tr.parameter_count(cell, 2, n - 1, 1) - target)
        assert gap <= abs(tr.parameter_count(cell, 2, n + 1, 1) - target)
    assert tr.hidden_for_parameters("gru", 2, 1, target) == 19
    assert tr.hidden_for_parameters("rnn", 2, 1, target) == 34
    assert tr.hidden_for_parameters("rnn", 2, 1, 1) == 1           # never below one unit
    with pytest.raises(ValueError, match=r"target: expected a positive integer"):
        tr.hidden_for_parameters("gru", 2, 1, 0)
    with pytest.raises(ValueError, match=r"cell: expected one of"):
        tr.parameter_count("cnn", 2, 3, 1)
