"""lstm_lib.lab.ngram: interpolated Kneser-Ney, held against a direct implementation of its formula."""
import math
from collections import Counter, defaultdict

import numpy as np
import pytest

from lstm_lib.lab import corpus as C
from lstm_lib.lab.ngram import MAX_ORDER, KneserNey


def reference_kn(train, order, V):
    """The recursion written out with dictionaries, one probability at a time."""
    counts = [Counter() for _ in range(order + 1)]          # counts[L][gram tuple]
    for L in range(1, order + 1):
        for t in range(L - 1, len(train)):
            counts[L][tuple(train[t - L + 1:t + 1])] += 1
    tables = {}
    for L in range(1, order + 1):
        if L == order:
            a = dict(counts[L])
        else:
            before = defaultdict(set)
            for g in counts[L + 1]:
                before[g[1:]].add(g[0])
            a = {g: len(s) for g, s in before.items()}
        n1 = sum(v == 1 for v in a.values())
        n2 = sum(v == 2 for v in a.values())
        D = n1 / (n1 + 2 * n2) if n1 + 2 * n2 else 0.5
        A, U = Counter(), Counter()
        for g, v in a.items():
            A[g[:-1]] += v
            U[g[:-1]] += 1
        tables[L] = (a, A, U, D)

    def prob(context, w):
        p = 1.0 / V
        for L in range(1, order + 1):
            if L - 1 > len(context):
                break
            h = tuple(context[len(context) - (L - 1):]) if L > 1 else ()
            a, A, U, D = tables[L]
            if A[h] > 0:
                p = max(a.get(h + (w,), 0) - D, 0) / A[h] + D * U[h] / A[h] * p
        return p
    return prob


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_matches_the_formula_written_out(order):
    rng = np.random.default_rng(order)
    V = 6
    train = rng.choice(V, size=400, p=[0.4, 0.2, 0.15, 0.1, 0.1, 0.05])
    test = rng.choice(V, size=60)
    kn = KneserNey(order, vocab_size=V).fit(train)
    prob = reference_kn(train.tolist(), order, V)
    logp, where = kn.log2_probs(test, streams=3)                    # pieces of 20
    for lp, t in zip(logp, where):
        start = (t // 20) * 20
        context = test[max(start, t - order + 1):t].tolist()
        assert lp == pytest.approx(math.log2(prob(context, int(test[t]))), abs=1e-12)


@pytest.mark.parametrize("order", [1, 3, 6])
def test_probabilities_sum_to_one_in_every_context(order):
    rng = np.random.default_rng(0)
    V = 5
    train = rng.integers(0, V, size=300)
    kn = KneserNey(order, vocab_size=V).fit(train)
    for _ in range(5):
        context = rng.integers(0, V, size=max(order - 1, 1))     # order 1 ignores its one
        total = sum(2.0 ** kn.log2_probs(np.append(context, w), streams=1)[0][-1] for w in range(V))
        assert total == pytest.approx(1.0, abs=1e-12)


def test_higher_orders_do_better_on_repetitive_text_and_codes_fit_int64():
    text = C.encode("for k in range(10):\n    print(k)\n" * 30)
    bpc = [KneserNey(m).fit(text[:700]).bits_per_char(text[700:], streams=2) for m in (1, 3, MAX_ORDER)]
    assert bpc[0] > bpc[1] > bpc[2]
    code_max = KneserNey(MAX_ORDER).fit(np.full(20, C.V - 1)).levels[-1].grams.max()
    assert 0 < code_max < 2 ** 63


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="at most 9"):
        KneserNey(10)
    with pytest.raises(ValueError, match="at most 128"):
        KneserNey(2, vocab_size=200)
    with pytest.raises(ValueError, match=r"indices in \[0, 97\)"):
        KneserNey(2).fit(np.array([1, 2, 97, 3]))
    with pytest.raises(ValueError, match="at least 3"):
        KneserNey(2).fit(np.array([1, 2]))
    with pytest.raises(RuntimeError, match="fit"):
        KneserNey(2).bits_per_char(np.arange(10), streams=1)


def test_every_order_from_one_fit_equals_each_model_fitted_alone():
    rng = np.random.default_rng(3)
    train, test = rng.integers(0, 7, size=500), rng.integers(0, 7, size=90)
    by_order = KneserNey(5, vocab_size=7).fit(train).bits_per_char_by_order(test, streams=3)
    alone = [KneserNey(m, vocab_size=7).fit(train).bits_per_char(test, streams=3) for m in range(1, 6)]
    assert np.allclose(by_order, alone, rtol=0, atol=1e-12)
