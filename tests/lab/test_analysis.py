"""lstm_lib.lab.analysis: a trained LSTM's gates through the numpy reference."""
import numpy as np
import pytest

from lstm_lib.lab import analysis, tasks
from lstm_lib.lab import train as tr
from lstm_lib.reference import LSTMTrace


def test_lstm_trace_matches_the_module():
    """The reference, fed the module's weights, reproduces the module's h_t."""
    model = tr.make_model("lstm", 2, 5, 1, forget_bias=1.0, seed=2)
    batch = tasks.adding_problem(12, 4, rng=0)
    trace = analysis.lstm_trace(model, batch.x)
    h, _ = model.rnn(batch.x)
    assert np.abs(trace.h - h.detach().double().numpy()).max() <= 1e-5
    assert trace.f.shape == (12, 4, 5) and ((trace.f > 0) & (trace.f < 1)).all()


def _synthetic_trace(T=10, B=40, n=3, seed=0):
    """Unit 0 writes v_1 at p_1 and keeps it (f = 1 after p_1, 0.5 before, input gate
    0.9 at the marks, 0.2 elsewhere); unit 1 writes v_1 but forgets it (f = 0.5);
    unit 2 holds noise."""
    g = np.random.default_rng(seed)
    p1 = g.integers(1, T // 2, size=B)
    p2 = p1 + T // 2 - 1
    v1 = g.random(B)
    f = np.full((T, B, n), 0.5)
    i = np.full((T, B, n), 0.2)
    c = g.normal(size=(T, B, n))
    for b in range(B):
        f[p1[b] + 1:, b, 0] = 1.0
        i[[p1[b], p2[b]], b, 0] = 0.9
        c[: p1[b], b, 0] = 0.0
        c[p1[b]:, b, 0] = v1[b]
        c[p1[b] - 1, b, 1] = 0.0
        c[p1[b], b, 1] = v1[b]                   # written, then left to decay
    z = np.zeros((B, n))
    trace = LSTMTrace(x=np.zeros((T, B, 2)), h0=z, c0=z, f=f, i=i, c_tilde=f, o=f, c=c, h=c)
    return trace, np.stack([p1, p2], axis=1), v1


def test_hold_statistics_on_a_known_trace():
    T = 10
    trace, pos, v1 = _synthetic_trace(T=T)
    s = analysis.hold_statistics(trace, pos, v1)
    assert s["writers"] == [0, 1] and s["holders"] == [0]
    assert s["write_correlation"][0] == pytest.approx(1.0)
    assert s["final_correlation"][0] == pytest.approx(1.0)
    assert s["retained"][0] == 1.0
    expected = np.median(0.5 ** (T - 1 - pos[:, 0]))          # unit 1: 0.5 per held step
    assert s["retained"][1] == pytest.approx(expected)
    assert s["f_hold_median"][0] == 1.0 and s["f_hold_min"][0] == 1.0
    assert s["f_before_median"][0] == 0.5 and s["f_hold_median"][1] == 0.5
    assert s["i_marked_median"][0] == pytest.approx(0.9)
    assert s["i_unmarked_median"][0] == pytest.approx(0.2)
    assert s["f_min"] == 0.5 and s["n_units"] == 3 and s["n_sequences"] == 40


def test_hold_statistics_checks_shapes():
    trace, pos, v1 = _synthetic_trace()
    with pytest.raises(ValueError, match="positions"):
        analysis.hold_statistics(trace, pos[:, :1], v1)
