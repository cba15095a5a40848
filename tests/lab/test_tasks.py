"""lstm_lib.lab.tasks: every generator against its definition, seeded and checked.

Each task is checked exactly on its structure (shapes, markers, targets
recomputed from the inputs) and statistically on its baselines (the
memoryless answers score what the chapter derives).
"""
import math

import numpy as np
import pytest
import torch

from lstm_lib.lab import tasks


# --------------------------------------------------------------------------- adding problem

@pytest.mark.parametrize("T", [2, 3, 10, 101])
def test_adding_structure_and_target(T):
    b = tasks.adding_problem(T, 64, rng=3)
    x, y = b.x.numpy(), b.y.numpy()
    assert b.x.shape == (T, 64, 2) and b.x.dtype == torch.float32
    assert b.y.shape == (64,) and b.lengths is None
    values, markers = x[..., 0], x[..., 1]
    assert ((values >= 0) & (values <= 1)).all()
    assert set(np.unique(markers)) <= {0.0, 1.0}
    assert (markers.sum(0) == 2).all()                     # exactly two markers each
    first_half = markers[: T // 2].sum(0)
    second_half = markers[T // 2:].sum(0)
    assert (first_half == 1).all() and (second_half == 1).all()
    np.testing.assert_allclose(y, (values * markers).sum(0), rtol=1e-6)
    pos = b.meta["positions"]
    assert (pos[:, 0] < T // 2).all() and (pos[:, 1] >= T // 2).all()


def test_adding_seeded():
    a, b = tasks.adding_problem(50, 8, rng=7), tasks.adding_problem(50, 8, rng=7)
    c = tasks.adding_problem(50, 8, rng=8)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, c.x)
    g = np.random.default_rng(7)
    first, second = tasks.adding_problem(50, 8, g), tasks.adding_problem(50, 8, g)
    assert torch.equal(first.x, a.x) and not torch.equal(second.x, a.x)


def test_adding_baseline_is_variance_of_target():
    """Predicting the mean (1) scores MSE 1/6: checked on 200,000 draws."""
    assert tasks.adding_baseline_mse() == pytest.approx(1 / 6)
    y = tasks.adding_problem(4, 200_000, rng=0).y.double()
    mse_const = float(((y - 1.0) ** 2).mean())
    assert mse_const == pytest.approx(1 / 6, abs=3e-3)
    assert float(y.mean()) == pytest.approx(1.0, abs=5e-3)


def test_adding_marker_positions_uniform():
    T = 10
    pos = tasks.adding_problem(T, 50_000, rng=1).meta["positions"]
    counts = np.bincount(pos[:, 0], minlength=T // 2)
    assert counts.min() > 0.9 * 50_000 / (T // 2)          # every first-half step is used
    assert set(np.unique(pos[:, 1])) == set(range(T // 2, T))


@pytest.mark.parametrize("bad, err", [(0, ValueError), (1, ValueError), (-3, ValueError),
                                      (2.5, ValueError), (True, ValueError)])
def test_adding_rejects_bad_T(bad, err):
    with pytest.raises(err, match="T"):
        tasks.adding_problem(bad, 4)


def test_adding_rejects_bad_rng():
    with pytest.raises(TypeError, match="rng"):
        tasks.adding_problem(10, 4, rng="seed")


# --------------------------------------------------------------------------- Experiment 4

@pytest.mark.parametrize("T", [20, 100, 500])
def test_hochreiter_structure(T):
    b = tasks.hochreiter_adding(T, 400, rng=5)
    x, y, L = b.x.numpy(), b.y.numpy(), b.lengths.numpy()
    T_max = T + T // 10
    assert x.shape == (T_max, 400, 2) and y.shape == (400,) and L.shape == (400,)
    assert L.min() >= T and L.max() <= T_max
    assert set(np.unique(L)) == set(range(T, T_max + 1))  # every allowed length appears
    pos, X = b.meta["positions"], b.meta["values"]
    assert (pos[:, 0] < 10).all()                           # X_1: one of the first ten
    assert (pos[:, 1] < T // 2).all() and (pos[:, 0] != pos[:, 1]).all()
    for k in range(400):
        v, m = x[: L[k], k, 0], x[: L[k], k, 1]
        assert (np.abs(v) <= 1).all()
        marked = np.flatnonzero(m == 1)
        assert sorted(marked) == sorted(pos[k])
        assert m[L[k] - 1] == -1                            # final pair
        assert m[0] == (1 if 0 in pos[k] else -1)           # first pair
        others = np.setdiff1d(np.arange(1, L[k] - 1), marked)
        assert (m[others] == 0).all()
        if 0 in pos[k]:
            assert v[0] == 0                                # a marked first pair is zeroed
        np.testing.assert_allclose(sorted(v[marked]), sorted(X[k]), atol=1e-6)
        assert (x[L[k]:, k] == 0).all()                     # padding after the end
    np.testing.assert_allclose(y, 0.5 + X.sum(1) / 4, rtol=1e-6)
    assert ((y >= 0) & (y <= 1)).all()


def test_hochreiter_second_marker_covers_first_half():
    T = 40
    pos = tasks.hochreiter_adding(T, 20_000, rng=2).meta["positions"]
    assert set(np.unique(pos[:, 0])) == set(range(10))
    assert set(np.unique(pos[:, 1])) == set(range(T // 2))


def test_hochreiter_rejects_short_T():
    with pytest.raises(ValueError, match="T: expected an integer >= 20"):
        tasks.hochreiter_adding(19, 4)


def test_hochreiter_correct():
    ok = tasks.hochreiter_correct(torch.tensor([0.5, 0.5, 0.5]), torch.tensor([0.53, 0.45, 0.6]))
    assert ok.tolist() == [True, False, False]
    with pytest.raises(ValueError, match="shape"):
        tasks.hochreiter_correct(torch.zeros(3), torch.zeros(4))


def test_success_criterion_window():
    crit = tasks.SuccessCriterion(window=10)
    target = torch.zeros(4)
    assert not crit.update(torch.full((4,), 0.01), target)        # 4 seen: window not full
    assert not crit.update(torch.full((4,), 0.01), target)        # 8 seen
    assert crit.update(torch.full((4,), 0.01), target)            # 12 seen: last 10 correct
    assert crit.seen == 12
    # one wrong answer keeps it unmet until it leaves the window of the last 10
    assert not crit.update(torch.tensor([0.0, 0.0, 0.0, 0.05]), target)
    assert crit.fraction_correct == pytest.approx(0.9)
    assert not crit.update(torch.zeros(4), target)
    assert not crit.update(torch.zeros(4), target)
    assert crit.update(torch.zeros(4), target)                    # the wrong one is 12 back


def test_success_criterion_mse_condition_is_implied():
    """Every |error| < 0.04 forces the window's MSE below 0.0016 < 0.01."""
    crit = tasks.SuccessCriterion(window=100)
    err = torch.full((100,), 0.0399)
    assert crit.update(err, torch.zeros(100))
    with pytest.raises(ValueError, match="window"):
        tasks.SuccessCriterion(window=0)


# --------------------------------------------------------------------------- copy memory

@pytest.mark.parametrize("T, length, alphabet", [(1, 10, 8), (5, 10, 8), (30, 3, 4)])
def test_copy_structure(T, length, alphabet):
    b = tasks.copy_memory(T, 16, rng=4, length=length, alphabet=alphabet)
    total = T + 2 * length
    assert b.x.shape == (total, 16, alphabet + 2) and b.y.shape == (total, 16)
    assert b.y.dtype == torch.int64
    tok = b.meta["tokens"]
    np.testing.assert_array_equal(b.x.argmax(-1).numpy(), tok)
    assert (b.x.sum(-1) == 1).all()                              # one-hot
    symbols = tok[:length]
    assert ((symbols >= 1) & (symbols <= alphabet)).all()
    assert (tok[length: T + length - 1] == tasks.COPY_BLANK).all()
    assert (tok[T + length - 1] == alphabet + 1).all()           # the delimiter
    assert (tok[T + length:] == tasks.COPY_BLANK).all()
    y = b.y.numpy()
    assert (y[: T + length] == tasks.COPY_BLANK).all()
    np.testing.assert_array_equal(y[T + length:], symbols)       # reproduced in order
    assert tasks.COPY_DELIMITER == 9


def test_copy_baseline_matches_memoryless_strategy():
    """Blank with certainty, then uniform over the alphabet: 10 ln 8 / (T + 20)."""
    T = 15
    b = tasks.copy_memory(T, 256, rng=0)
    probs = torch.zeros(T + 20, 256, 10)
    probs[: T + 10, :, tasks.COPY_BLANK] = 1.0
    probs[T + 10:, :, 1:9] = 1 / 8
    logp = torch.log(probs.clamp_min(1e-300).double())
    ce = float(-logp.gather(-1, b.y.unsqueeze(-1)).mean())
    assert ce == pytest.approx(10 * math.log(8) / (T + 20), rel=1e-9)
    assert tasks.copy_baseline_ce(T) == pytest.approx(ce, rel=1e-9)
    assert tasks.copy_baseline_ce(T, length=3, alphabet=4) == pytest.approx(3 * math.log(4) / (T + 6))


def test_copy_rejects_bad_arguments():
    with pytest.raises(ValueError, match="T"):
        tasks.copy_memory(0, 4)
    with pytest.raises(ValueError, match="alphabet"):
        tasks.copy_memory(5, 4, alphabet=1)


# --------------------------------------------------------------------------- temporal order

@pytest.mark.parametrize("n_relevant", [2, 3])
def test_temporal_order_structure(n_relevant):
    b = tasks.temporal_order(500, rng=9, n_relevant=n_relevant)
    x, y, L = b.x.numpy(), b.y.numpy(), b.lengths.numpy()
    tok, pos = b.meta["tokens"], b.meta["positions"]
    assert x.shape == (110, 500, 8) and y.shape == (500,)
    assert L.min() >= 100 and L.max() <= 110
    assert set(np.unique(y)) == set(range(2 ** n_relevant))
    windows = {2: [(10, 20), (50, 60)], 3: [(10, 20), (33, 43), (66, 76)]}[n_relevant]
    S = tasks.ORDER_SYMBOLS
    for k in range(500):
        seq = tok[: L[k], k]
        assert S[seq[0]] == "E" and S[seq[-1]] == "B"
        relevant = np.flatnonzero((seq == S.index("X")) | (seq == S.index("Y")))
        np.testing.assert_array_equal(relevant, pos[k])
        for p, (lo, hi) in zip(pos[k], windows):
            assert lo <= p + 1 <= hi                           # 1-based windows
        middle = np.setdiff1d(np.arange(1, L[k] - 1), relevant)
        assert (seq[middle] < 4).all()                        # distractors a, b, c, d
        bits = [int(S[seq[p]] == "Y") for p in relevant]
        assert y[k] == int("".join(map(str, bits)), 2)        # XX=0, XY=1, YX=2, YY=3
        assert (x[L[k]:, k] == 0).all() and (tok[L[k]:, k] == -1).all()
        np.testing.assert_array_equal(x[: L[k], k].argmax(-1), seq)


def test_temporal_order_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_relevant"):
        tasks.temporal_order(4, n_relevant=4)
    with pytest.raises(ValueError, match="max_length"):
        tasks.temporal_order(4, min_length=100, max_length=90)
    with pytest.raises(ValueError, match="min_length"):
        tasks.temporal_order(4, min_length=50)


# --------------------------------------------------------------------------- associative recall

@pytest.mark.parametrize("L,values", [(1, 2), (3, 2), (8, 2), (5, 4)])
def test_recall_structure_and_answers(L, values):
    b = tasks.associative_recall(L, 64, rng=4, values=values)
    x = b.x.numpy()
    assert b.x.shape == (2 * L, 64, L + values) and b.x.dtype == torch.float32
    assert b.y.shape == (L, 64) and b.y.dtype == torch.int64
    keys, vals, queries = b.meta["keys"], b.meta["values"], b.meta["queries"]
    for col in range(64):
        assert sorted(keys[:, col]) == list(range(L)) == sorted(queries[:, col])
    # the pairs: one key and one value per step; the questions: one key, no value
    assert (x[:L, :, :L].sum(-1) == 1).all() and (x[:L, :, L:].sum(-1) == 1).all()
    assert (x[L:, :, :L].sum(-1) == 1).all() and (x[L:, :, L:] == 0).all()
    np.testing.assert_array_equal(x[:L, :, :L].argmax(-1), keys)
    np.testing.assert_array_equal(x[:L, :, L:].argmax(-1), vals)
    np.testing.assert_array_equal(x[L:, :, :L].argmax(-1), queries)
    # each answer is the value paired with the key asked
    for col in range(64):
        paired = dict(zip(keys[:, col], vals[:, col]))
        assert b.y[:, col].tolist() == [paired[k] for k in queries[:, col]]


def test_recall_seeded_and_uniform():
    a, b = tasks.associative_recall(6, 4, rng=1), tasks.associative_recall(6, 4, rng=1)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    many = tasks.associative_recall(4, 20_000, rng=2)
    assert abs(float(many.y.double().mean()) - 0.5) < 0.01           # values uniform
    first_key = np.bincount(many.meta["keys"][0], minlength=4) / 20_000
    assert np.abs(first_key - 0.25).max() < 0.015                     # orders uniform


def test_recall_bits():
    assert tasks.recall_bits(8) == 8.0 and tasks.recall_bits(3, values=8) == 9.0


@pytest.mark.parametrize("kwargs,match", [({"L": 0}, "L: expected a positive integer"),
                                          ({"values": 1}, "values: expected an integer >= 2"),
                                          ({"batch_size": 0}, "batch_size")])
def test_recall_bad_input(kwargs, match):
    args = {**dict(L=3, batch_size=2, rng=0), **kwargs}
    with pytest.raises(ValueError, match=match):
        tasks.associative_recall(**args)
