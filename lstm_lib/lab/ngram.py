"""The n-gram baseline: an interpolated Kneser-Ney model of characters.

An n-gram model predicts the next character from the previous n - 1 only,
with probabilities counted in the training text. Counting alone gives zero
probability to every continuation not seen in training, so the counts are
*smoothed*: interpolated Kneser-Ney (Chen and Goodman's formulation) subtracts a
discount D from every count seen and spreads the mass it frees over the next
shorter context's prediction, down to the uniform distribution over V symbols:

    P_j(w | h) = max(a(h w) - D_j, 0) / A(h)  +  D_j U(h) / A(h) * P_{j-1}(w | h')

h is the context of j characters and h' the same without its oldest one;
a(h w) is the count of the (j+1)-gram h w (for the longest context) or, for the
shorter ones, the number of distinct characters seen before h w (its
*continuation count*); A(h) is the sum of a(h w) over w and U(h) the number of
w with a(h w) > 0. A context never seen (A(h) = 0) passes the shorter one's
prediction through. D_j = n_1 / (n_1 + 2 n_2) from the numbers of j+1-grams
counted once and twice (Ney's estimate).

N-grams are integer codes, 7 bits per character (V = 97 < 128), most recent
character lowest, so an order up to 9 fits in int64. Counting uses np.unique
and lookups np.searchsorted: fitting 660,000 characters up to order 9 takes
about a second.
"""
from __future__ import annotations

import numpy as np

from ..checks import check_positive_int
from .corpus import V, pieces

__all__ = ["KneserNey", "MAX_ORDER"]

BITS = 7
MAX_ORDER = 9


def _codes(ids, length):
    """Codes of every `length`-gram of ids, ending at positions length-1 .. N-1."""
    ids = np.asarray(ids, dtype=np.int64)
    code = np.zeros(len(ids) - length + 1, dtype=np.int64)
    for back in range(length):                   # the character `back` steps before the end
        code |= ids[length - 1 - back: len(ids) - back] << (BITS * back)
    return code


def _discount(counts):
    n1, n2 = np.sum(counts == 1), np.sum(counts == 2)
    return float(n1 / (n1 + 2 * n2)) if n1 + 2 * n2 > 0 else 0.5


class _Level:
    """The counts a(g) of one gram length, with their context totals A(h) and types U(h)."""

    def __init__(self, grams, counts):
        self.grams, self.counts = grams, counts.astype(np.float64)    # grams sorted
        self.discount = _discount(counts)
        self.contexts, first, self.types = np.unique(grams >> BITS, return_index=True,
                                                     return_counts=True)
        self.totals = np.add.reduceat(self.counts, first)

    @staticmethod
    def _lookup(keys, table, values):
        at = np.searchsorted(table, keys)
        at = np.minimum(at, len(table) - 1)
        return np.where(table[at] == keys, values[at], 0)

    def count(self, grams):
        return self._lookup(grams, self.grams, self.counts)

    def context(self, grams):
        ctx = grams >> BITS
        return (self._lookup(ctx, self.contexts, self.totals),
                self._lookup(ctx, self.contexts, self.types))


class KneserNey:
    """Interpolated Kneser-Ney character model of order ``order`` (context of order - 1 characters).

    ``KneserNey(order).fit(train_ids)``; then :meth:`log2_probs` or
    :meth:`bits_per_char` score a text read as contiguous pieces, exactly the
    characters :func:`lstm_lib.lab.charlm.log2_probs` scores, each with the
    context its own piece provides (no more than order - 1 characters).
    """

    def __init__(self, order, vocab_size=V):
        self.order = check_positive_int(order, "order")
        if self.order > MAX_ORDER:
            raise ValueError(f"order: expected at most {MAX_ORDER} (7-bit codes in int64), got {order}")
        self.vocab_size = check_positive_int(vocab_size, "vocab_size")
        if self.vocab_size > 2 ** BITS:
            raise ValueError(f"vocab_size: expected at most {2 ** BITS}, got {vocab_size}")
        self.levels = None

    def fit(self, ids):
        ids = np.asarray(ids, dtype=np.int64)
        if ids.ndim != 1 or len(ids) < self.order + 1:
            raise ValueError(f"ids: expected a 1-D array of at least {self.order + 1} "
                             f"character indices, got shape {ids.shape}")
        if ids.min() < 0 or ids.max() >= self.vocab_size:
            raise ValueError(f"ids: expected indices in [0, {self.vocab_size}), got values in "
                             f"[{int(ids.min())}, {int(ids.max())}]")
        raw = [np.unique(_codes(ids, L), return_counts=True) for L in range(1, self.order + 1)]
        self.raw = [_Level(grams, counts) for grams, counts in raw]   # counts of each L-gram
        self.cont = []                        # continuation counts: distinct characters before it
        for L in range(1, self.order):
            grams, counts = np.unique(raw[L][0] & ((1 << (BITS * L)) - 1), return_counts=True)
            self.cont.append(_Level(grams, counts))
        self.levels = self.cont + self.raw[-1:]       # the model of order `order`
        return self

    @staticmethod
    def _mix(level, grams, usable, p):
        """One step of the recursion: P_j from P_{j-1} = p, where the context was seen."""
        a = level.count(grams)
        A, U = level.context(grams)
        seen = usable & (A > 0)
        A1 = np.where(seen, A, 1.0)
        return np.where(seen, np.maximum(a - level.discount, 0) / A1 + level.discount * U / A1 * p, p)

    def _probs(self, ids, offset, every_order=False):
        """P(ids[t] | its context) for every t, given each one's distance from its piece's start.

        every_order: return a list, the probabilities of the models of order 1 .. order
        (they share their shorter levels, so one pass computes them all).
        """
        ids = np.asarray(ids, dtype=np.int64)
        p = np.full(len(ids), 1.0 / self.vocab_size)
        by_order = []
        for L in range(1, self.order + 1):
            grams = np.zeros(len(ids), dtype=np.int64)
            grams[L - 1:] = _codes(ids, L)
            usable = offset >= L - 1                      # the whole context lies in the piece
            if every_order or L == self.order:
                by_order.append(self._mix(self.raw[L - 1], grams, usable, p))
            if L < self.order:
                p = self._mix(self.cont[L - 1], grams, usable, p)
        return by_order if every_order else by_order[-1]

    def _scored(self, ids, streams, every_order):
        if self.levels is None:
            raise RuntimeError("KneserNey: call fit(train_ids) before scoring")
        x, y, offset = pieces(ids, streams)
        L, S = x.shape
        # the pieces laid end to end; a context reaching across a boundary is not used
        ps = self._probs(x.T.ravel(), offset.T.ravel(), every_order)
        ps = ps if every_order else [ps]
        keep = y >= 0                                  # y[l, s] is x[l + 1, s]
        position = (np.arange(S)[None, :] * L + np.arange(L)[:, None]) + 1
        order = np.argsort(position[keep], kind="stable")
        logps = [np.log2(p.reshape(S, L).T[1:][keep[:-1]])[order] for p in ps]
        return logps, position[keep][order]

    def log2_probs(self, ids, streams):
        """log2 P of every predicted character of ``ids`` read as ``streams`` pieces, and its index."""
        logps, where = self._scored(ids, streams, every_order=False)
        return logps[0], where

    def bits_per_char(self, ids, streams) -> float:
        logp, _ = self.log2_probs(ids, streams)
        return float(-logp.mean())

    def bits_per_char_by_order(self, ids, streams) -> list[float]:
        """Bits per character of the models of every order 1 .. ``order``, from one fit and one pass.

        The model of order m has the continuation counts of this one's shorter levels
        and the plain counts of its level m, so all of them come from this fit.
        """
        logps, _ = self._scored(ids, streams, every_order=True)
        return [float(-lp.mean()) for lp in logps]
