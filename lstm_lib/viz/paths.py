"""Chapter 5: the three kinds of path a gradient takes back through an unrolled LSTM.

Three steps of the cell are drawn as a graph of its two states: the cell
states c_{T−2}, c_{T−1}, c_T in a row on top, the hidden states under them,
and the loss L read from h_T. Four kinds of edge join them, forward in time:

* ``carry``  c_{s−1} → c_s, the carry line (its Jacobian diag(f_s));
* ``read``   c_s → h_s, the read-out h_s = o_s ⊙ tanh(c_s);
* ``gate``   h_{s−1} → c_s, through the gates and the candidate of step s;
* ``hh``     h_{s−1} → h_s, through the output gate of step s;

plus ``h_T → L``. A gradient on c_{T−2} is a sum over every path from
c_{T−2} to L, walked backwards. The figure has one panel per kind of path
(:data:`KINDS`), with one such path highlighted: *carry only* (carry edges,
then the read-out at the end), *hidden only* (no carry edge at all) and
*mixed* (both). These are the three parts of ``chapters.gradients.two_track``.

The drawing is a :class:`~lstm_lib.viz.scene.Scene` like the cell diagram's
(same fonts, the same smallest text, ``MIN_FONT``): SVG on the website, a PNG
elsewhere; the highlighted path is thick and coloured, the rest thin and grey.
Alt text and caption come from the notebook.
"""
from __future__ import annotations

from . import scene as S
from .scene import Box, Path, Scene, Text

__all__ = ["KINDS", "EXAMPLES", "edge_kind", "paths_scene", "paths_figure", "MIN_FONT", "WIDTH"]

WIDTH = 400.0
MIN_FONT = 13.5          # as the cell diagram: 11.3 px when a phone shows it 336 px wide
FULL_SCALE, SMALL_SCALE = 1.5, 1.0
COL_X = (62.0, 174.0, 286.0)          # columns: step T−2, T−1, T
LOSS_X = 368.0
NODE_W, NODE_H = 62.0, 30.0
PANEL_H = 176.0
C_DY, H_DY = 84.0, 148.0              # the rows of c and h inside a panel
V = 16.0

#: The three kinds of path, in the order of the panels: (key, title, what it pays).
KINDS = (
    ("carry", "carry only", "× f at every step, no weight matrix"),
    ("hidden", "hidden only", "crosses a weight matrix at every step"),
    ("mixed", "mixed", "leaves the cell state and comes back"),
)

#: The highlighted example path of each kind: nodes from c_{T−2} to L. A node
#: is ``"c2"``, ``"h1"``, ... (c or h, then the gap: 2 for T−2, 0 for T) or ``"L"``.
EXAMPLES = {
    "carry": ("c2", "c1", "c0", "h0", "L"),
    "hidden": ("c2", "h2", "h1", "h0", "L"),
    "mixed": ("c2", "c1", "h1", "c0", "h0", "L"),
}


FOOTER = ("Arrows point forward in time; a gradient walks each path backwards, "
          "from L to c_{T−2}.")


def _index(k: int) -> str:
    return "T" if k == 0 else f"T−{k}"


def edge_kind(a: str, b: str) -> str:
    """The kind of the forward edge a → b: carry, read, gate, hh or loss."""
    if b == "L":
        if a != "h0":
            raise ValueError(f"edge {a}→L: only h_T is read by the loss")
        return "loss"
    (sa, ka), (sb, kb) = (a[0], int(a[1])), (b[0], int(b[1]))
    if ka == kb and (sa, sb) == ("c", "h"):
        return "read"
    if ka == kb + 1:
        return {("c", "c"): "carry", ("h", "c"): "gate", ("h", "h"): "hh"}.get((sa, sb), "none")
    raise ValueError(f"edge {a}→{b}: no such edge in the unrolled cell")


def _edges():
    """Every forward edge of the drawing: (a, b)."""
    out = []
    for k in (2, 1, 0):
        out.append((f"c{k}", f"h{k}"))
        if k > 0:
            out += [(f"c{k}", f"c{k - 1}"), (f"h{k}", f"c{k - 1}"), (f"h{k}", f"h{k - 1}")]
    out.append(("h0", "L"))
    return out


def _centre(node: str, y0: float):
    if node == "L":
        return LOSS_X, y0 + H_DY
    x = COL_X[2 - int(node[1])]
    return x, y0 + (C_DY if node[0] == "c" else H_DY)


def _edge_points(a: str, b: str, y0: float) -> tuple:
    (xa, ya), (xb, yb) = _centre(a, y0), _centre(b, y0)
    kind = edge_kind(a, b)
    hw, hh = NODE_W / 2, NODE_H / 2
    if kind in ("carry", "hh"):
        return (xa + hw, ya), (xb - hw, yb)
    if kind == "loss":
        return (xa + hw, ya), (xb - 20, yb)
    if kind == "read":
        return (xa, ya + hh), (xb, yb - hh)
    return (xa + hw, ya - 6), (xb - hw, yb + 8)          # gate: up and to the right


def paths_scene() -> Scene:
    """The three panels as one :class:`Scene`; the example path of each panel is highlighted."""
    items, on = [], set()
    for p, (kind, title, pays) in enumerate(KINDS):
        y0 = p * PANEL_H
        items.append(S.Frame(f"frame:{kind}", 2, y0 + 4, WIDTH - 4, PANEL_H - 8, r=10))
        items.append(Text(f"title:{kind}", 12, y0 + 24, title, 15.0, "start", bold=True))
        items.append(Text(f"pays:{kind}", 12, y0 + 45, pays, MIN_FONT, "start", italic=True))
        example = EXAMPLES[kind]
        lit = set(zip(example, example[1:]))
        for a, b in _edges():
            key = f"{kind}:{a}-{b}"
            items.append(Path(key, _edge_points(a, b, y0), arrow=True, dashed=False))
            if (a, b) in lit:
                on.add(key)
        for k in (2, 1, 0):
            for s in "ch":
                x, y = _centre(f"{s}{k}", y0)
                key = f"{kind}:node:{s}{k}"
                items.append(Box(key, x, y, NODE_W, NODE_H))
                items.append(Text(f"{kind}:label:{s}{k}", x, y + 6, f"{s}_{{{_index(k)}}}", V,
                                  font="var"))
                if f"{s}{k}" in example:
                    on.add(key)
        x, y = _centre("L", y0)
        items.append(Box(f"{kind}:node:L", x, y, 36, NODE_H))
        items.append(Text(f"{kind}:label:L", x, y + 6, "L", V, font="var"))
        on.add(f"{kind}:node:L")
    y = len(KINDS) * PANEL_H + 18
    for j, line in enumerate(S.wrap(FOOTER, MIN_FONT, WIDTH - 16)):
        items.append(Text(f"footer:{j}", 8, y, line, MIN_FONT, "start"))
        y += 20
    return Scene(WIDTH, y - 6, tuple(items), frozenset(on), MIN_FONT)


def paths_figure(*, alt: str, size: str = "full") -> S.SceneFigure:
    """The three kinds of path, for a notebook cell (caption in the cell's metadata).

    alt: the figure's alt text (the notebook's words). size: ``"full"`` (600 px
    wide where there is room) or ``"small"`` (400 px).
    """
    if size not in ("full", "small"):
        raise ValueError(f"size: expected 'full' or 'small', got {size!r}")
    return S.SceneFigure(paths_scene(), alt, scale=FULL_SCALE if size == "full" else SMALL_SCALE)
