"""Long-range tasks for the lab: seeded generators of (input, target) batches.

Every generator is time-major like the rest of the library: the input ``x``
has shape (T, B, d). Each takes an integer seed or a ``numpy.random.Generator``
(``rng``), so a batch is reproducible from its seed alone, and returns a
:class:`Batch` of torch float32 inputs.

* :func:`adding_problem`: the adding problem in the form of Le, Jaitly and
  Hinton (2015) and Arjovsky, Shah and Bengio (2016). Target: the sum of two
  marked values, one marked in each half of the sequence.
* :func:`hochreiter_adding`: the original variant, Experiment 4 of Hochreiter
  and Schmidhuber (1997), with sequences of random length and the target
  0.5 + (X_1 + X_2) / 4. :func:`hochreiter_correct` is their per-sequence test
  (absolute error below 0.04) and :class:`SuccessCriterion` their stopping rule.
* :func:`copy_memory`: the copy task of Arjovsky et al.: remember a string
  of symbols across a gap of blanks and reproduce it after a delimiter.
* :func:`temporal_order`: Experiment 6 of Hochreiter and Schmidhuber (1997):
  classify a sequence by the order of two (or three) widely separated symbols.
* :func:`associative_recall`: L (key, value) pairs, then the L keys again in
  another order, each to be answered with its value: a memory that must hold
  L values at once, for the encoder-decoder models of
  :mod:`lstm_lib.lab.seq2seq` (Chapter 9's bottleneck).

Sequences of random length (:func:`hochreiter_adding`, :func:`temporal_order`)
are padded with zero vectors after their end; ``Batch.lengths`` holds each
length L_b, and the model's answer is read at step L_b (index L_b - 1), which
padding placed after it cannot change.
"""
from __future__ import annotations

import math
import numbers
from collections import deque
from dataclasses import dataclass

import numpy as np
import torch

from ..checks import check_in_range, check_positive_int

__all__ = [
    "Batch", "adding_problem", "adding_baseline_mse", "hochreiter_adding",
    "hochreiter_correct", "SuccessCriterion", "copy_memory", "copy_baseline_ce",
    "COPY_BLANK", "COPY_DELIMITER", "temporal_order", "ORDER_SYMBOLS", "associative_recall",
    "recall_bits",
]


@dataclass(eq=False)
class Batch:
    """One batch of a task.

    x: (T, B, d) float32 inputs. y: targets, (B,) float32 for regression,
    (B,) int64 class indices for classification, (T, B) int64 tokens for the
    copy task. lengths: (B,) int64 length of each sequence (None when every
    sequence fills all T steps). meta: task-specific details (marker positions,
    tokens), numpy arrays, for tests and plots.
    """
    x: torch.Tensor
    y: torch.Tensor
    lengths: torch.Tensor | None = None
    meta: dict | None = None


def _rng(rng) -> np.random.Generator:
    """A numpy Generator from an int seed or an existing Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, bool) or not isinstance(rng, numbers.Integral) or rng < 0:
        raise TypeError(f"rng: expected a non-negative int seed or a numpy.random.Generator, "
                        f"got {rng!r}")
    return np.random.default_rng(int(rng))


def _at_least(value, name, low):
    value = check_positive_int(value, name)
    if value < low:
        raise ValueError(f"{name}: expected an integer >= {low}, got {value}")
    return value


# --------------------------------------------------------------------------- adding problem

def adding_problem(T, batch_size, rng=0) -> Batch:
    """The adding problem (Le et al., 2015; Arjovsky et al., 2016).

    Each step t carries two numbers, x_t = (v_t, m_t): a value v_t ~ U[0, 1]
    and a marker m_t in {0, 1}. Exactly two markers are 1, one at a uniformly
    drawn step of the first half [0, T//2) and one in the second half
    [T//2, T). The target is the sum of the two marked values, y in [0, 2].

    Returns Batch(x (T, B, 2), y (B,), meta={"positions": (B, 2) marked steps}).
    Always predicting the mean, E[y] = 1, scores MSE Var(y) = 2/12 = 1/6
    (:func:`adding_baseline_mse`).
    """
    T = _at_least(T, "T", 2)
    B = check_positive_int(batch_size, "batch_size")
    g = _rng(rng)
    values = g.random((T, B))
    first = g.integers(0, T // 2, size=B)
    second = g.integers(T // 2, T, size=B)
    markers = np.zeros((T, B))
    cols = np.arange(B)
    markers[first, cols] = 1.0
    markers[second, cols] = 1.0
    y = values[first, cols] + values[second, cols]
    x = np.stack([values, markers], axis=-1)
    return Batch(x=torch.as_tensor(x, dtype=torch.float32),
                 y=torch.as_tensor(y, dtype=torch.float32),
                 meta={"positions": np.stack([first, second], axis=1)})


def adding_baseline_mse() -> float:
    """MSE of the best constant answer on :func:`adding_problem`: Var(v_1 + v_2) = 1/6.

    The two marked values are independent U[0, 1], each of variance 1/12, so
    their sum has mean 1 and variance 2/12 = 1/6; no constant does better.
    """
    return 1.0 / 6.0


def hochreiter_adding(T, batch_size, rng=0) -> Batch:
    """Experiment 4 of Hochreiter and Schmidhuber (1997), the original adding problem.

    Each step carries (v_t, m_t) with v_t ~ U[-1, 1]. Each sequence has its own
    length L, an integer drawn uniformly from [T, T + T//10]. The first marked
    pair is one of the first ten (its value is X_1), the second one of the
    T/2 - 1 still unmarked pairs among the first T/2 (value X_2); both get
    m_t = 1. Every other marker is 0, except on the first and the final pair,
    where it is -1 (unless that pair is marked). A marked first pair has its
    value set to 0, as in the paper. Target at step L: 0.5 + (X_1 + X_2)/4, in [0, 1].

    T >= 20. Returns Batch(x (T + T//10, B, 2) zero-padded after each end,
    y (B,), lengths (B,), meta={"positions": (B, 2), "values": (B, 2)}).
    """
    T = _at_least(T, "T", 20)
    B = check_positive_int(batch_size, "batch_size")
    g = _rng(rng)
    T_max = T + T // 10
    lengths = g.integers(T, T_max + 1, size=B)
    values = g.uniform(-1.0, 1.0, size=(T_max, B))
    first = g.integers(0, 10, size=B)
    # one of the T/2 - 1 positions in [0, T/2) other than `first`, uniformly
    second = g.integers(0, T // 2 - 1, size=B)
    second = second + (second >= first)
    cols = np.arange(B)
    markers = np.zeros((T_max, B))
    markers[0, cols] = -1.0
    markers[lengths - 1, cols] = -1.0
    markers[first, cols] = 1.0
    markers[second, cols] = 1.0
    values[0, (first == 0) | (second == 0)] = 0.0
    steps = np.arange(T_max)[:, None]
    beyond = steps >= lengths[None, :]          # padding after each sequence's end
    values[beyond] = 0.0
    markers[beyond] = 0.0
    X = np.stack([values[first, cols], values[second, cols]], axis=1)
    y = 0.5 + X.sum(axis=1) / 4.0
    x = np.stack([values, markers], axis=-1)
    return Batch(x=torch.as_tensor(x, dtype=torch.float32),
                 y=torch.as_tensor(y, dtype=torch.float32),
                 lengths=torch.as_tensor(lengths, dtype=torch.int64),
                 meta={"positions": np.stack([first, second], axis=1), "values": X})


def hochreiter_correct(prediction, target, tol=0.04) -> torch.Tensor:
    """Hochreiter and Schmidhuber's test: a sequence is processed correctly if
    the absolute error at its end is below ``tol`` (0.04). Returns a bool tensor (B,)."""
    check_in_range(tol, "tol", 0, None, inclusive=False)
    prediction = torch.as_tensor(prediction)
    target = torch.as_tensor(target)
    if prediction.shape != target.shape:
        raise ValueError(f"prediction: expected the target's shape {tuple(target.shape)}, "
                         f"got {tuple(prediction.shape)}")
    return (prediction - target).abs() < tol


class SuccessCriterion:
    """Experiment 4's stopping rule, counted on the training stream.

    Training stops once each of the ``window`` (2,000) most recent training
    sequences was processed correctly (absolute error < ``tol``, judged by the
    forward pass that trained on it) and the mean squared error over that window
    is below ``mse`` (0.01). With squared errors over the same window, the second
    condition follows from the first (each squared error is below 0.04^2 = 0.0016).
    ``update(prediction, target)`` adds one batch and returns True once met;
    ``seen`` counts the training sequences so far.
    """

    def __init__(self, window=2000, tol=0.04, mse=0.01):
        self.window = check_positive_int(window, "window")
        self.tol = check_in_range(tol, "tol", 0, None, inclusive=False)
        self.mse = check_in_range(mse, "mse", 0, None, inclusive=False)
        self._errors = deque(maxlen=self.window)
        self.seen = 0

    def update(self, prediction, target) -> bool:
        err = (torch.as_tensor(prediction).detach() - torch.as_tensor(target)).abs()
        self._errors.extend(err.reshape(-1).tolist())
        self.seen += err.numel()
        return self.met

    @property
    def met(self) -> bool:
        if len(self._errors) < self.window:
            return False
        errors = np.asarray(self._errors)
        return bool((errors < self.tol).all() and (errors ** 2).mean() < self.mse)

    @property
    def fraction_correct(self) -> float:
        """Fraction of the window's sequences within ``tol`` (0 before any update)."""
        if not self._errors:
            return 0.0
        return float((np.asarray(self._errors) < self.tol).mean())


# --------------------------------------------------------------------------- copy memory

COPY_BLANK = 0          # token of the blank
COPY_DELIMITER = 9      # token of the delimiter ("now reproduce")


def copy_memory(T, batch_size, rng=0, length=10, alphabet=8) -> Batch:
    """The copy-memory task (Arjovsky et al., 2016).

    Tokens: 0 is the blank, 1..alphabet are the symbols, alphabet + 1 the
    delimiter. The input is ``length`` random symbols, T - 1 blanks, the
    delimiter, then ``length`` blanks: T + 2*length steps in all. The target is
    a blank at each of the first T + length steps, then the ``length`` symbols
    in their original order.

    Returns Batch(x (T + 2*length, B, alphabet + 2) one-hot float32,
    y (T + 2*length, B) int64 target tokens, meta={"tokens": input tokens}).
    With the defaults (length 10, alphabet 8) the delimiter is token 9 and
    d = 10.
    """
    T = check_positive_int(T, "T")
    B = check_positive_int(batch_size, "batch_size")
    length = check_positive_int(length, "length")
    alphabet = _at_least(alphabet, "alphabet", 2)
    g = _rng(rng)
    total = T + 2 * length
    symbols = g.integers(1, alphabet + 1, size=(length, B))
    tokens = np.zeros((total, B), dtype=np.int64)
    tokens[:length] = symbols
    tokens[T + length - 1] = alphabet + 1                 # the delimiter
    target = np.zeros((total, B), dtype=np.int64)
    target[T + length:] = symbols
    x = np.eye(alphabet + 2, dtype=np.float32)[tokens]
    return Batch(x=torch.as_tensor(x), y=torch.as_tensor(target),
                 meta={"tokens": tokens})


def copy_baseline_ce(T, length=10, alphabet=8) -> float:
    """Cross-entropy per step (nats) of the best memoryless strategy on :func:`copy_memory`.

    Predict a blank with certainty for the first T + length steps (cost 0), and
    a uniform guess over the alphabet for the last ``length`` (cost ln alphabet
    each): length * ln(alphabet) / (T + 2*length), i.e. 10 ln 8 / (T + 20).
    """
    T = check_positive_int(T, "T")
    length = check_positive_int(length, "length")
    alphabet = _at_least(alphabet, "alphabet", 2)
    return length * math.log(alphabet) / (T + 2 * length)


# --------------------------------------------------------------------------- temporal order

ORDER_SYMBOLS = ("a", "b", "c", "d", "X", "Y", "B", "E")   # token k is ORDER_SYMBOLS[k]

# Windows (1-based positions, inclusive) of the relevant symbols, from the paper.
_ORDER_WINDOWS = {2: ((10, 20), (50, 60)), 3: ((10, 20), (33, 43), (66, 76))}


def temporal_order(batch_size, rng=0, n_relevant=2, min_length=100, max_length=110) -> Batch:
    """The temporal-order problem, Experiment 6 of Hochreiter and Schmidhuber (1997).

    A sequence of L symbols, L uniform in [min_length, max_length] (100..110),
    starts with E and ends with B (the trigger). Every other position holds a
    random distractor from {a, b, c, d}, except ``n_relevant`` positions, each
    X or Y, drawn (1-based) from [10, 20] and [50, 60] (Experiment 6a, two
    symbols, 4 classes) or [10, 20], [33, 43] and [66, 76] (6b, three symbols,
    8 classes). The class is the sequence of X/Y read in order as a binary
    number (X = 0, Y = 1): XX -> 0, XY -> 1, YX -> 2, YY -> 3.

    Returns Batch(x (max_length, B, 8) one-hot, zero after each end, y (B,) int64
    classes, lengths (B,), meta={"tokens", "positions" (B, n_relevant) 0-based}).
    """
    B = check_positive_int(batch_size, "batch_size")
    if n_relevant not in _ORDER_WINDOWS:
        raise ValueError(f"n_relevant: expected 2 (Experiment 6a) or 3 (6b), got {n_relevant!r}")
    windows = _ORDER_WINDOWS[n_relevant]
    last_window_end = windows[-1][1]
    min_length = _at_least(min_length, "min_length", last_window_end + 1)
    max_length = check_positive_int(max_length, "max_length")
    if max_length < min_length:
        raise ValueError(f"max_length: expected >= min_length={min_length}, got {max_length}")
    g = _rng(rng)
    lengths = g.integers(min_length, max_length + 1, size=B)
    tokens = g.integers(0, 4, size=(max_length, B))          # distractors a, b, c, d
    cols = np.arange(B)
    positions = np.stack([g.integers(lo - 1, hi, size=B) for lo, hi in windows], axis=1)
    bits = g.integers(0, 2, size=(B, n_relevant))             # 0 = X, 1 = Y
    for k in range(n_relevant):
        tokens[positions[:, k], cols] = 4 + bits[:, k]
    tokens[0, cols] = ORDER_SYMBOLS.index("E")
    tokens[lengths - 1, cols] = ORDER_SYMBOLS.index("B")
    x = np.eye(len(ORDER_SYMBOLS), dtype=np.float32)[tokens]
    x[np.arange(max_length)[:, None] >= lengths[None, :]] = 0.0
    tokens = np.where(np.arange(max_length)[:, None] < lengths[None, :], tokens, -1)
    y = (bits * (2 ** np.arange(n_relevant - 1, -1, -1))).sum(axis=1)
    return Batch(x=torch.as_tensor(x), y=torch.as_tensor(y, dtype=torch.int64),
                 lengths=torch.as_tensor(lengths, dtype=torch.int64),
                 meta={"tokens": tokens, "positions": positions})


# --------------------------------------------------------------------------- associative recall

def associative_recall(L, batch_size, rng=0, values=2) -> Batch:
    """Associative recall: L (key, value) pairs, then the L keys as questions.

    The keys are 0..L-1 in a random order, each paired with a value drawn
    uniformly from 0..values-1; then come the same L keys in another random
    order, and the answer to each is its value. Nothing in the questions
    hints at the answers, so a network that reads the pairs first and the
    questions after must hold all L values at once: L log2(values) bits
    (:func:`recall_bits`).

    Input x (2L, B, L + values), one-hot: the first L steps are the pairs
    (key in the first L columns, value in the last ``values``), the last L
    steps the questions (key only, the value columns zero). Target y (L, B)
    int64: the value asked at each question step. meta: "keys", "values"
    (the pairs, (L, B) each) and "queries" ((L, B) keys asked).
    """
    L = check_positive_int(L, "L")
    B = check_positive_int(batch_size, "batch_size")
    values = _at_least(values, "values", 2)
    g = _rng(rng)
    keys = g.random((L, B)).argsort(axis=0)                  # a random order of 0..L-1
    vals = g.integers(0, values, size=(L, B))
    queries = g.random((L, B)).argsort(axis=0)               # another one
    answer = np.empty((L, B), dtype=np.int64)
    cols = np.arange(B)
    value_of = np.empty((L, B), dtype=np.int64)              # value_of[k, b]: the value of key k
    value_of[keys, cols] = vals
    answer[:] = value_of[queries, cols]
    x = np.zeros((2 * L, B, L + values), dtype=np.float32)
    steps = np.arange(L)[:, None]
    x[steps, cols, keys] = 1.0
    x[steps, cols, L + vals] = 1.0
    x[L + steps, cols, queries] = 1.0
    return Batch(x=torch.as_tensor(x), y=torch.as_tensor(answer),
                 meta={"keys": keys, "values": vals, "queries": queries})


def recall_bits(L, values=2) -> float:
    """Bits an answer sheet for :func:`associative_recall` must hold: L log2(values).

    The L values are independent and uniform, so no code shorter than this
    describes them all; every question may be asked, so all of them must be kept.
    """
    L = check_positive_int(L, "L")
    values = _at_least(values, "values", 2)
    return L * math.log2(values)
