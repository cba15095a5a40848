"""Chapter 7: a character-level LSTM of the course's own source, and what its cells track.

Four measurements, each a function of arrays:

* :func:`python_properties`: for every character of Python source, the named
  properties a reader can check by eye: inside a string literal, inside a
  comment, bracket depth, indentation and column. Each is what holds *after*
  the character has been read, the moment the network's state describes.
* :func:`find_cells`: the stated procedure that finds, for each property, the
  cell whose state predicts it best: the absolute Pearson correlation of each
  cell's c_t with the property, the cell chosen on one half of the text and
  scored on the other. :func:`cell_report` runs it on a trained model and on its
  two baselines (an untrained model of the same size; the trained model's
  states with the property's positions shuffled).
* :func:`forget_along_strings`: what the chosen string cell's forget gate does
  at positions inside a string opened at least ``age`` characters earlier.
* :func:`load_charlm`: the committed weights, in float64 for analysis.

Positions are laid out as the lab reads a text (``lstm_lib.lab.corpus.pieces``):
S contiguous pieces side by side, each read from a zero state; the first
``burn_in`` characters of every piece, read before the state has any context,
are left out of every statistic.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..lab import charlm as lm
from ..lab.corpus import V

__all__ = ["PROPERTIES", "python_properties", "lay_out", "string_start_in_pieces", "correlations",
           "find_cells",
           "cell_report", "forget_along_strings", "load_charlm"]

#: The named properties, in the order the chapter shows them.
PROPERTIES = ("string", "comment", "bracket_depth", "indent", "column")
_OPEN, _CLOSE = "([{", ")]}"


def python_properties(text: str) -> dict[str, np.ndarray]:
    """Properties of every character of Python source ``text``, after reading it.

    string         1 from an opening quote (prefix letters excluded) up to, not
                   including, the closing quote's end; triple quotes included
    comment        1 from ``#`` outside a string to the end of its line (newline excluded)
    bracket_depth  open ( [ { outside strings and comments, after this character
    indent         leading spaces of the current line (those read so far while
                   still in them)
    column         characters of the current line read so far (0 after a newline)
    string_start   index of the opening quote of the string this character is in, -1 outside

    A backslash inside a string escapes the next character (so ``\\"`` does not end
    it, raw strings included); a single-quoted string ends at a newline that is not
    escaped (source code never leaves one open). Returns int64 arrays of len(text).
    """
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str, got {type(text).__name__}")
    N = len(text)
    inside = np.zeros(N, dtype=np.int64)         # the property: in a string after this character
    literal = np.zeros(N, dtype=bool)            # part of a string token (closing quote included)
    comment = np.zeros(N, dtype=np.int64)
    start_of = np.full(N, -1, dtype=np.int64)
    t = 0
    while t < N:                                 # pass 1: the spans of strings and comments
        ch = text[t]
        if ch == "#":
            end = text.find("\n", t)
            end = N if end < 0 else end
            comment[t:end] = 1
            t = end
        elif ch in "'\"":
            quote = ch * 3 if text.startswith(ch * 3, t) else ch
            k, closed = t + len(quote), False
            while k < N:
                if text[k] == "\\":
                    k += 2                           # the escape and what it escapes
                elif text.startswith(quote, k):
                    k, closed = k + len(quote), True
                    break
                elif text[k] == "\n" and len(quote) == 1:
                    break                            # a one-line string left open: it ends here
                else:
                    k += 1
            end = min(k, N)
            last = end - 1 if closed else end        # reading the last closing quote leaves it
            inside[t:last] = 1
            start_of[t:last] = t
            literal[t:end] = True
            t = end
        else:
            t += 1
    out = {"string": inside, "comment": comment}
    depth_at, indent_at, column_at = (np.zeros(N, dtype=np.int64) for _ in range(3))
    depth = indent = column = 0
    leading = True
    for k, c in enumerate(text):                 # pass 2: brackets, indentation, column
        if not literal[k] and not comment[k]:
            if c in _OPEN:
                depth += 1
            elif c in _CLOSE:
                depth = max(depth - 1, 0)
        if c == "\n":
            column, indent, leading = 0, 0, True
        else:
            column += 1
            if leading and c == " ":
                indent += 1
            else:
                leading = False
        depth_at[k], indent_at[k], column_at[k] = depth, indent, column
    out.update(bracket_depth=depth_at, indent=indent_at, column=column_at, string_start=start_of)
    return out


def lay_out(values, streams, fill=0):
    """``values`` (N, ...) in the layout of ``lstm_lib.lab.corpus.pieces``: (L, S, ...)."""
    values = np.asarray(values)
    N = values.shape[0]
    L = -(-N // streams)
    padded = np.full((L * streams,) + values.shape[1:], fill, dtype=values.dtype)
    padded[:N] = values
    return np.swapaxes(padded.reshape((streams, L) + values.shape[1:]), 0, 1)


def string_start_in_pieces(string_start, streams):
    """:func:`lay_out` of ``string_start``, counted from the start of each piece.

    Returns (L, S): the step, within its own piece, of the opening quote of the
    string each position is in; -1 outside strings; -2 inside a string that
    opened before its piece began (the model, reading from a zero state, never saw it).
    """
    grid = lay_out(np.asarray(string_start), streams, fill=-1)
    L = grid.shape[0]
    local = grid - L * np.arange(streams)[None, :]
    return np.where(grid < 0, -1, np.where(local < 0, -2, local))


def correlations(acts, values) -> np.ndarray:
    """Pearson correlation of each column of ``acts`` (P, n) with ``values`` (P,); 0 if either is constant."""
    a = np.asarray(acts, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    a = a - a.mean(0)
    v = v - v.mean()
    denom = np.sqrt((a * a).sum(0) * (v * v).sum())
    return np.where(denom > 0, (a * v[:, None]).sum(0) / np.where(denom > 0, denom, 1.0), 0.0)


def find_cells(acts, values, select, evaluate) -> dict:
    """The stated procedure: the cell whose activation predicts ``values`` best.

    acts (P, n): each cell's activation at P positions; values (P,): a property
    there; select, evaluate: boolean masks (P,) of two disjoint sets of positions.
    The chosen cell maximises |r| (Pearson) on ``select``; its score is |r| on
    ``evaluate``, counted as negative if the sign of r flipped, so that choosing
    among many cells cannot inflate it. Returns {"cell", "r_select", "score"}.
    """
    r_sel = correlations(acts[select], values[select])
    j = int(np.argmax(np.abs(r_sel)))
    r_eval = correlations(acts[evaluate][:, [j]], values[evaluate])[0]
    return {"cell": j, "r_select": float(r_sel[j]), "score": float(np.sign(r_sel[j]) * r_eval)}


def cell_report(acts, acts_untrained, props, select, evaluate, seed=0) -> dict:
    """:func:`find_cells` for every property, on the trained cells and on the two baselines.

    acts, acts_untrained (P, n): c_t of the trained and the untrained model at the same
    P positions; props: {name: (P,)} for the names in :data:`PROPERTIES`. The
    shuffled baseline permutes the property's values over all P positions (one
    permutation per property, from ``seed``) before the search on the trained cells.
    Returns {name: {"trained": ..., "untrained": ..., "shuffled": ...}}.
    """
    rng = np.random.default_rng(seed)
    report = {}
    for name in PROPERTIES:
        v = np.asarray(props[name], dtype=np.float64)
        shuffled = v[rng.permutation(len(v))]
        report[name] = {"trained": find_cells(acts, v, select, evaluate),
                        "untrained": find_cells(acts_untrained, v, select, evaluate),
                        "shuffled": find_cells(acts, shuffled, select, evaluate)}
    return report


def forget_along_strings(f, string_start, positions, cell, age=40, high=0.9) -> dict:
    """What forget gates do inside strings opened at least ``age`` characters earlier.

    f (L, S, n): forget gates; string_start (L, S): the step of the opening quote in
    the piece's own steps, -1 outside strings, -2 in a string opened before the piece
    (:func:`string_start_in_pieces`); positions: boolean (L, S), the positions the
    statistics may use. At each position t inside a string with
    t - start >= age, the *kept fraction* is prod_{s=t-age+1}^{t} f_s: what the carry
    line keeps of the cell state over the last ``age`` steps (Chapter 2). Returns,
    for ``cell`` and, as a reference, the median over every other cell: the median
    forget gate, its fraction above ``high``, and the median kept fraction there; and
    the same cell's median forget gate outside strings.
    """
    f = np.asarray(f, dtype=np.float64)
    L, S, n = f.shape
    steps = np.arange(L)[:, None]
    long_ = positions & (string_start >= 0) & (steps - string_start >= age)
    outside = positions & (string_start == -1)
    # prod over the window via cumulative sums of log f (one column per piece)
    logf = np.log(f)
    cum = np.concatenate([np.zeros((1, S, n)), np.cumsum(logf, axis=0)], axis=0)
    t_idx, s_idx = np.nonzero(long_)
    kept = np.exp(cum[t_idx + 1, s_idx] - cum[t_idx + 1 - age, s_idx])        # (P, n)
    gates = f[t_idx, s_idx]                                                  # (P, n)
    others = [j for j in range(n) if j != cell]
    return {
        "positions": int(long_.sum()), "age": age, "cell": cell,
        "f_median": float(np.median(gates[:, cell])),
        "f_right_saturated": float(np.mean(gates[:, cell] > high)),
        "kept_median": float(np.median(kept[:, cell])),
        "f_median_outside": float(np.median(f[outside][:, cell])),
        "others_f_median": float(np.median(np.median(gates[:, others], axis=0))),
        "others_kept_median": float(np.median(np.median(kept[:, others], axis=0))),
        "others_kept_max": float(np.max(np.median(kept[:, others], axis=0))),
    }


def load_charlm(path, cell="lstm", hidden_size=None) -> lm.CharLM:
    """A committed state_dict as a float64 :class:`~lstm_lib.lab.charlm.CharLM` in eval mode.

    hidden_size: read from the weights when None.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights {str(path)!r}: found nothing there (they are written by "
                                f"python -m lstm_lib.lab charlm, beside its results file)")
    state = torch.load(path, map_location="cpu", weights_only=True)
    n = state["head.weight"].shape[1] if hidden_size is None else hidden_size
    model = lm.CharLM(cell, n, vocab_size=V)
    model.load_state_dict(state)
    return model.double().eval()
