"""The LSTM cell drawn by code: one drawing, clickable or still.

One drawing of the cell (a :class:`~lstm_lib.viz.scene.Scene`: paths, gate
boxes, × and + nodes, labels) is shown four ways:

* :func:`clickable`: the chapter's main diagram, inline SVG in a notebook's
  HTML output. Every part of the cell (:data:`PARTS`: the inputs, the forget,
  input and output gates, the candidate, the three × nodes, the + node, the
  cell-state line, the tanh, h_t) is a button: a click, or Tab then Enter or
  Space, highlights the part's path and shows its equation, the shapes of
  what flows through it (d, n, B as in the course's notation) and the numbers
  of one worked step, passed in by the chapter. It needs no kernel: the
  website shows it as it is, and JupyterLab runs its small script in a
  trusted output. Where scripts cannot run (an untrusted notebook, a reader
  without JavaScript), every part is listed as text instead.
* :func:`figure`: a still picture (SVG for the website, a 2x PNG for a PDF
  and an untrusted notebook) of the cell with one path highlighted: one of
  the five views of the stepper (``overview``, ``forget``, ``input``,
  ``update``, ``output``, with their equations underneath), a named path
  (``carry``: the cell-state line; ``gates``: the four gates), one part, or
  none; ``size="small"`` for a preview.
* :func:`draw_cell` / :func:`cell_png` / :func:`cell_image`: the five views
  as a matplotlib figure and PNG bytes, and :func:`cell_stepper`, the
  ipywidgets view that swaps them.

The highlighted path is drawn thick *and* in colour, the rest thin and grey.
Every text is at least :data:`MIN_FONT` units high; the website shows the
drawing at :data:`FULL_SCALE` (600 px wide) and shrinks it to the column on a
phone (about 336 px at a 390 px wide screen), where a label is still
``MIN_FONT * 336 / 400`` = 11.3 px.

Drawn parts carry keys (``"line:f_up"``, ``"box:f"``, ``"node:add"``,
``"label:c_prev"``): the SVG's ``data-k`` and the matplotlib artists'
``gid``, so tests find them. What is drawn comes in as arguments: this module
computes no LSTM; the chapter passes the numbers of its worked step.
"""
from __future__ import annotations

import functools
import hashlib
import html
import json
from dataclasses import dataclass

import numpy as np

from . import prose
from . import scene as S
from .explorer import static_file
from .scene import DIM_WIDTH, HIGHLIGHT_WIDTH, Box, Dot, Frame, Group, Node, Path, Scene, Text

__all__ = ["PARTS", "PART_KEYS", "Part", "get_part", "STEPS", "STEP_KEYS", "Step", "get_step",
           "HIGHLIGHTS", "highlight_of", "clickable", "Clickable", "worked_values", "format_rows",
           "bytes_report", "figure", "cell_scene", "draw_cell", "cell_png", "cell_image",
           "cell_stepper", "show_stepper", "text_boxes", "text_overlaps", "texts_outside",
           "HIGHLIGHT_WIDTH", "DIM_WIDTH"]

HIGHLIGHT_COLOR, HIGHLIGHT_FILL = S.HIGHLIGHT_COLOR, S.HIGHLIGHT_FILL
DIM_COLOR, TEXT_COLOR = S.DIM_COLOR, S.TEXT_COLOR

# ------------------------------------------------------------------ geometry
# Units: x to the right, y down. The cell-state line runs along C_Y, the
# input bus along BUS_Y, the gates sit in a row at GATE_Y.
WIDTH, HEIGHT = 400.0, 262.0
MIN_FONT = 13.5                 # the smallest text, in units (11.3 px at 336 px wide)
FULL_SCALE, SMALL_SCALE = 1.5, 1.0
C_Y, BUS_Y, GATE_Y, MIX_Y, OUT_Y, TANH_Y = 46.0, 216.0, 170.0, 110.0, 132.0, 90.0
GATE_X = {"f": 106.0, "i": 164.0, "c": 228.0, "o": 292.0}
X_IN, OUT_X, ADD_X = 40.0, 336.0, 196.0
NODE_R = 11.0
BOX_W, BOX_H = 44.0, 34.0
TANH_W, TANH_H = 46.0, 26.0
LEFT, RIGHT = 4.0, 396.0
NODES = {"forget_mul": (GATE_X["f"], C_Y, "×"), "add": (ADD_X, C_Y, "+"),
         "input_mul": (ADD_X, MIX_Y, "×"), "output_mul": (OUT_X, OUT_Y, "×")}
GATE_TEXT = {"f": ("σ", "forget gate"), "i": ("σ", "input gate"),
             "c": ("tanh", "candidate"), "o": ("σ", "output gate")}

_top, _bot = GATE_Y - BOX_H / 2, GATE_Y + BOX_H / 2
PATHS = {
    "c_in": [(LEFT, C_Y), (GATE_X["f"] - NODE_R, C_Y)],
    "c_mid": [(GATE_X["f"] + NODE_R, C_Y), (ADD_X - NODE_R, C_Y)],
    "c_out": [(ADD_X + NODE_R, C_Y), (RIGHT, C_Y)],
    "c_to_tanh": [(OUT_X, C_Y), (OUT_X, TANH_Y - TANH_H / 2)],
    "tanh_to_mul": [(OUT_X, TANH_Y + TANH_H / 2), (OUT_X, OUT_Y - NODE_R)],
    "h_in": [(LEFT, BUS_Y), (X_IN, BUS_Y)],
    "x_in": [(X_IN, HEIGHT - 6), (X_IN, BUS_Y)],
    "bus_f": [(X_IN, BUS_Y), (GATE_X["f"], BUS_Y)],
    "bus_i": [(GATE_X["f"], BUS_Y), (GATE_X["i"], BUS_Y)],
    "bus_c": [(GATE_X["i"], BUS_Y), (GATE_X["c"], BUS_Y)],
    "bus_o": [(GATE_X["c"], BUS_Y), (GATE_X["o"], BUS_Y)],
    "rise_f": [(GATE_X["f"], BUS_Y), (GATE_X["f"], _bot)],
    "rise_i": [(GATE_X["i"], BUS_Y), (GATE_X["i"], _bot)],
    "rise_c": [(GATE_X["c"], BUS_Y), (GATE_X["c"], _bot)],
    "rise_o": [(GATE_X["o"], BUS_Y), (GATE_X["o"], _bot)],
    "f_up": [(GATE_X["f"], _top), (GATE_X["f"], C_Y + NODE_R)],
    "i_up": [(GATE_X["i"], _top), (GATE_X["i"], MIX_Y), (ADD_X - NODE_R, MIX_Y)],
    "c_up": [(GATE_X["c"], _top), (GATE_X["c"], MIX_Y), (ADD_X + NODE_R, MIX_Y)],
    "write_up": [(ADD_X, MIX_Y - NODE_R), (ADD_X, C_Y + NODE_R)],
    "o_up": [(GATE_X["o"], _top), (GATE_X["o"], OUT_Y), (OUT_X - NODE_R, OUT_Y)],
    "h_out": [(OUT_X + NODE_R, OUT_Y), (RIGHT, OUT_Y)],
}
ARROW_PATHS = frozenset(PATHS) - {"h_in", "x_in", "bus_f", "bus_i", "bus_c", "bus_o"}

# Labels: key -> (markup, x, y, anchor, size, font)
V = 17.0                        # the size of a symbol such as c_{t−1}
LABELS = {
    "c_prev": ("c_{t−1}", LEFT + 2, C_Y - 13, "start", V, "var"),
    "c_next": ("c_{t}", RIGHT, C_Y - 13, "end", V, "var"),
    "h_prev": ("h_{t−1}", LEFT + 2, BUS_Y - 13, "start", V, "var"),
    "x": ("x_{t}", X_IN + 8, HEIGHT - 10, "start", V, "var"),
    "h_next": ("h_{t}", RIGHT, OUT_Y - 10, "end", V, "var"),
    "f": ("f_{t}", GATE_X["f"] + 6, 114, "start", V, "var"),
    "i": ("i_{t}", GATE_X["i"] - 6, 142, "end", V, "var"),
    "c_tilde": ("c\u0303_{t}", GATE_X["c"] + 6, 142, "start", V, "var"),
    "o": ("o_{t}", GATE_X["o"] + 5, OUT_Y - 7, "start", V, "var"),
    "keep": ("f_{t} ⊙ c_{t−1}", (GATE_X["f"] + ADD_X) / 2, C_Y - 13, "middle", 14.0, "var"),
    "write": ("i_{t} ⊙ c\u0303_{t}", ADD_X + 6, 80, "start", 14.0, "var"),
}


def _items() -> list:
    """Every item of the bare cell, in drawing order."""
    items = [Frame("frame", 62, 20, 302, 214)]
    items += [Path(f"line:{k}", tuple(p), arrow=k in ARROW_PATHS) for k, p in PATHS.items()]
    items += [Dot("dot:bus", X_IN, BUS_Y), Dot("dot:c", OUT_X, C_Y)]
    for g, x in GATE_X.items():
        sym = GATE_TEXT[g][0]
        items.append(Box(f"box:{g}", x, GATE_Y, BOX_W, BOX_H))
        items.append(Text(f"boxtext:{g}", x, GATE_Y + (7 if sym == "σ" else 5), sym,
                          20.0 if sym == "σ" else 15.0, font="eq" if sym == "σ" else "word"))
    items.append(Box("box:tanh", OUT_X, TANH_Y, TANH_W, TANH_H))
    items.append(Text("boxtext:tanh", OUT_X, TANH_Y + 5, "tanh", 14.0))
    for k, (x, y, sym) in NODES.items():
        items.append(Node(f"node:{k}", x, y, NODE_R, sym))
    for k, (m, x, y, anchor, size, font) in LABELS.items():
        items.append(Text(f"label:{k}", x, y, m, size, anchor, font))
    return items


# -------------------------------------------------------------------- parts

@dataclass(frozen=True)
class Part:
    """One clickable part of the cell.

    ``items``: keys of what is drawn inside its button; ``hit``: its click and
    focus area (see :class:`~lstm_lib.viz.scene.Group`); ``path``: the keys it
    highlights. ``tex`` are its equations in TeX (the website typesets them),
    ``eq`` the same in the scene's markup (the fallback without MathJax).
    ``rows``: the vectors that flow through it, ``(symbol, dims, value key)``;
    ``weights``: the parameters it reads, ``(symbol, dims)``.
    """
    key: str
    name: str
    symbol: str
    items: tuple
    hit: tuple
    path: frozenset
    tex: tuple
    eq: tuple
    role: str
    rows: tuple
    weights: tuple = ()


_IN = ("line:h_in", "line:x_in", "dot:bus")
_BUS = {"f": ("line:bus_f",), "i": ("line:bus_f", "line:bus_i"),
        "c": ("line:bus_f", "line:bus_i", "line:bus_c"),
        "o": ("line:bus_f", "line:bus_i", "line:bus_c", "line:bus_o")}
_CARRY = ("line:c_in", "node:forget_mul", "line:c_mid", "node:add", "line:c_out", "label:c_prev",
          "label:c_next")


def _gate_path(g: str, out: tuple) -> frozenset:
    return frozenset(_IN + _BUS[g] + (f"line:rise_{g}", f"box:{g}") + out)


def _box_hit(x, y, w=BOX_W, h=BOX_H):
    return ("rect", x - w / 2 - 3, y - h / 2 - 3, w + 6, h + 6)


def _node_hit(k):
    x, y, _ = NODES[k]
    return ("circle", x, y, NODE_R + 5)


def _pre_tex(g):
    return f"W_{{x{g}}}\\,x_t + W_{{h{g}}}\\,h_{{t-1}} + b_{g}"


def _pre_eq(g):
    return f"W_{{x{g}}} x_{{t}} + W_{{h{g}}} h_{{t−1}} + b_{{{g}}}"


def _gate_weights(g):
    return ((f"W_{{x{g}}}", ("n", "d")), (f"W_{{h{g}}}", ("n", "n")), (f"b_{{{g}}}", ("n",)))


BN, BD = ("B", "n"), ("B", "d")
PARTS = (
    Part("inputs", "Inputs", "x_{t}, h_{t−1}", ("label:h_prev", "label:x"),
         ("rect", 3, 196, 297, 62),
         frozenset(_IN + _BUS["o"] + tuple(f"line:rise_{g}" for g in GATE_X) + ("label:h_prev", "label:x")),
         (r"z_{\bullet,t} = W_{x\bullet}\,x_t + W_{h\bullet}\,h_{t-1} + b_\bullet",),
         ("z_{•,t} = W_{x•} x_{t} + W_{h•} h_{t−1} + b_{•}",),
         "The step's input x_{t} and the previous hidden state h_{t−1}: the three gates and the "
         "candidate each read both, through weights of their own (z_{•,t} is one pre-activation, "
         "• standing for f, i, c or o).",
         (("x_{t}", BD, "x_t"), ("h_{t−1}", BN, "h_prev")),
         (("W_{x•}", ("n", "d")), ("W_{h•}", ("n", "n")), ("b_{•}", ("n",)))),
    Part("forget", "Forget gate", "f_{t}", ("box:f", "boxtext:f", "label:f"), _box_hit(GATE_X["f"], GATE_Y),
         _gate_path("f", ("line:f_up", "node:forget_mul", "label:f")),
         (r"f_t = \sigma(" + _pre_tex("f") + ")",), ("f_{t} = σ(" + _pre_eq("f") + ")",),
         "A valve in (0, 1) on each coordinate of the memory: near 1 means keep c_{t−1}, "
         "near 0 means erase it.",
         (("f_{t}", BN, "f"),), _gate_weights("f")),
    Part("forget_mul", "Forget multiply (keep)", "f_{t} ⊙ c_{t−1}", ("node:forget_mul", "label:keep"),
         _node_hit("forget_mul"),
         frozenset({"line:c_in", "line:f_up", "node:forget_mul", "line:c_mid", "label:keep",
                    "label:c_prev"}),
         (r"f_t \odot c_{t-1}",), ("f_{t} ⊙ c_{t−1}",),
         "Keeps the share f_{t} of the old cell state, coordinate by coordinate (⊙ multiplies "
         "element by element).",
         (("c_{t−1}", BN, "c_prev"), ("f_{t}", BN, "f"), ("f_{t} ⊙ c_{t−1}", BN, "kept"))),
    Part("input", "Input gate", "i_{t}", ("box:i", "boxtext:i", "label:i"), _box_hit(GATE_X["i"], GATE_Y),
         _gate_path("i", ("line:i_up", "node:input_mul", "label:i")),
         (r"i_t = \sigma(" + _pre_tex("i") + ")",), ("i_{t} = σ(" + _pre_eq("i") + ")",),
         "How much of the candidate is written, in (0, 1) for each coordinate.",
         (("i_{t}", BN, "i"),), _gate_weights("i")),
    Part("candidate", "Candidate", "c\u0303_{t}", ("box:c", "boxtext:c", "label:c_tilde"),
         _box_hit(GATE_X["c"], GATE_Y),
         _gate_path("c", ("line:c_up", "node:input_mul", "label:c_tilde")),
         (r"\tilde c_t = \tanh(" + _pre_tex("c") + ")",), ("c\u0303_{t} = tanh(" + _pre_eq("c") + ")",),
         "The signed content proposed for writing, in (−1, 1) (PyTorch calls it g_{t}).",
         (("c\u0303_{t}", BN, "c_tilde"),), _gate_weights("c")),
    Part("input_mul", "Input multiply (write)", "i_{t} ⊙ c\u0303_{t}", ("node:input_mul", "label:write"),
         _node_hit("input_mul"),
         frozenset({"line:i_up", "line:c_up", "node:input_mul", "line:write_up", "label:write"}),
         (r"i_t \odot \tilde c_t",), ("i_{t} ⊙ c\u0303_{t}",),
         "The write: the candidate scaled by the input gate.",
         (("i_{t}", BN, "i"), ("c\u0303_{t}", BN, "c_tilde"), ("i_{t} ⊙ c\u0303_{t}", BN, "written"))),
    Part("add", "Add: the new cell state", "c_{t}", ("node:add",), _node_hit("add"),
         frozenset({"line:c_mid", "line:write_up", "node:add", "line:c_out", "label:c_next"}),
         (r"c_t = f_t \odot c_{t-1} + i_t \odot \tilde c_t",),
         ("c_{t} = f_{t} ⊙ c_{t−1} + i_{t} ⊙ c\u0303_{t}",),
         "What was kept plus what is written. A gradient passes a + node unchanged.",
         (("f_{t} ⊙ c_{t−1}", BN, "kept"), ("i_{t} ⊙ c\u0303_{t}", BN, "written"), ("c_{t}", BN, "c"))),
    Part("cell", "Cell-state line (the carry line)", "c_{t−1} → c_{t}", ("label:c_prev", "label:c_next"),
         ("rect", 3, C_Y - 30, WIDTH - 6, 40), frozenset(_CARRY),
         (r"c_t = f_t \odot c_{t-1} + i_t \odot \tilde c_t",
          r"\frac{\partial c_t}{\partial c_{t-1}} = \operatorname{diag}(f_t)"),
         ("c_{t} = f_{t} ⊙ c_{t−1} + i_{t} ⊙ c\u0303_{t}", "∂c_{t} / ∂c_{t−1} = diag(f_{t})"),
         "The memory, carried from step to step. On its way across it meets one × (by f_{t}) "
         "and one +, so its Jacobian is the diagonal matrix diag(f_{t}).",
         (("c_{t−1}", BN, "c_prev"), ("f_{t}", BN, "f"), ("c_{t}", BN, "c"))),
    Part("tanh", "tanh of the cell state", "tanh(c_{t})", ("box:tanh", "boxtext:tanh"),
         _box_hit(OUT_X, TANH_Y, TANH_W, TANH_H),
         frozenset({"dot:c", "line:c_to_tanh", "box:tanh", "line:tanh_to_mul"}),
         (r"\tanh(c_t)",), ("tanh(c_{t})",),
         "Squashes the new cell state into (−1, 1) before the cell shows it; c_{t} itself "
         "travels on unchanged.",
         (("c_{t}", BN, "c"), ("tanh(c_{t})", BN, "tanh_c"))),
    Part("output", "Output gate", "o_{t}", ("box:o", "boxtext:o", "label:o"), _box_hit(GATE_X["o"], GATE_Y),
         _gate_path("o", ("line:o_up", "node:output_mul", "label:o")),
         (r"o_t = \sigma(" + _pre_tex("o") + ")",), ("o_{t} = σ(" + _pre_eq("o") + ")",),
         "How much of each coordinate of tanh(c_{t}) the cell shows, in (0, 1).",
         (("o_{t}", BN, "o"),), _gate_weights("o")),
    Part("output_mul", "Output multiply", "o_{t} ⊙ tanh(c_{t})", ("node:output_mul",), _node_hit("output_mul"),
         frozenset({"line:o_up", "line:tanh_to_mul", "node:output_mul", "line:h_out", "label:h_next"}),
         (r"h_t = o_t \odot \tanh(c_t)",), ("h_{t} = o_{t} ⊙ tanh(c_{t})",),
         "The part of the memory the cell shows: the hidden state.",
         (("o_{t}", BN, "o"), ("tanh(c_{t})", BN, "tanh_c"), ("h_{t}", BN, "h"))),
    Part("h", "Hidden state", "h_{t}", ("label:h_next",), ("rect", 352, OUT_Y - 30, 45, 40),
         frozenset({"line:h_out", "label:h_next"}),
         (r"h_t = o_t \odot \tanh(c_t)",), ("h_{t} = o_{t} ⊙ tanh(c_{t})",),
         "The cell's output at step t: the next step reads it as h_{t−1}, and so does the layer "
         "above (or the model's head).",
         (("h_{t}", BN, "h"),)),
)
PART_KEYS = tuple(p.key for p in PARTS)
_PART = {p.key: p for p in PARTS}
VALUE_KEYS = ("x_t", "h_prev", "c_prev", "f", "i", "c_tilde", "o", "c", "h")
DERIVED = ("kept", "written", "tanh_c")


def get_part(key) -> Part:
    if key not in _PART:
        raise ValueError(f"part: expected one of {PART_KEYS}, got {key!r}")
    return _PART[key]


# ------------------------------------------------------------ the five views

@dataclass(frozen=True)
class Step:
    """One view of the cell: what it highlights and the words drawn with it.

    ``highlight`` holds keys of paths (``line:...``), boxes (``box:...``) and
    nodes (``node:...``). ``title``, ``equations`` (the scene's markup) and
    ``reading`` are drawn under the cell.
    """
    key: str
    button: str
    title: str
    equations: tuple
    reading: str
    highlight: frozenset


_BUSLINES = ["line:h_in", "line:x_in", "dot:bus"]
STEPS = (
    Step("overview", "Overview", "Overview: the whole cell at step t",
         ("c_{t} = f_{t} ⊙ c_{t−1} + i_{t} ⊙ c\u0303_{t}", "h_{t} = o_{t} ⊙ tanh(c_{t})"),
         "Three gates and the candidate all read h_{t−1} and x_{t}; on its way across, c meets "
         "one × and one +.",
         frozenset({"line:c_in", "line:c_mid", "line:c_out", "node:forget_mul", "node:add"})),
    Step("forget", "1 Forget", "Step 1 of 4: the forget gate decides what to keep",
         ("f_{t} = σ(" + _pre_eq("f") + ")",),
         "Each coordinate of f_{t} is a valve in (0, 1) on the same coordinate of c_{t−1}: "
         "near 1 means keep.",
         frozenset(_BUSLINES + ["line:bus_f", "line:rise_f", "box:f", "line:f_up",
                                "node:forget_mul", "line:c_in"])),
    Step("input", "2 Input and candidate", "Step 2 of 4: the input gate and the candidate propose a write",
         ("i_{t} = σ(" + _pre_eq("i") + ")", "c\u0303_{t} = tanh(" + _pre_eq("c") + ")"),
         "c\u0303_{t} is signed content in (−1, 1); i_{t} in (0, 1) sets how much of it is written.",
         frozenset(_BUSLINES + ["line:bus_f", "line:bus_i", "line:bus_c", "line:rise_i",
                                "line:rise_c", "box:i", "box:c", "line:i_up", "line:c_up",
                                "node:input_mul"])),
    Step("update", "3 Cell update", "Step 3 of 4: the cell state is updated by one addition",
         ("c_{t} = f_{t} ⊙ c_{t−1} + i_{t} ⊙ c\u0303_{t}",),
         "What is kept and what is written are added; a gradient passes the + node unchanged.",
         frozenset({"line:c_in", "node:forget_mul", "line:c_mid", "node:add", "line:write_up",
                    "node:input_mul", "line:c_out"})),
    Step("output", "4 Output", "Step 4 of 4: the output gate decides what to show",
         ("o_{t} = σ(" + _pre_eq("o") + ")", "h_{t} = o_{t} ⊙ tanh(c_{t})"),
         "h_{t} is a gated view of the memory; c_{t} itself travels on unchanged.",
         frozenset(_BUSLINES + ["line:bus_f", "line:bus_i", "line:bus_c", "line:bus_o",
                                "line:rise_o", "box:o", "line:o_up", "dot:c", "line:c_to_tanh",
                                "box:tanh", "line:tanh_to_mul", "node:output_mul", "line:h_out"])),
)
STEP_KEYS = tuple(s.key for s in STEPS)
_BY_KEY = {s.key: s for s in STEPS}

#: Named paths a chapter can highlight: the carry line (Chapters 2 and 5), the four gates
#: (Chapter 4), nothing (a preview of the whole cell).
HIGHLIGHTS = {
    "carry": frozenset(_CARRY),
    "gates": frozenset(_IN + _BUS["o"] + tuple(f"line:rise_{g}" for g in GATE_X)
                       + tuple(f"box:{g}" for g in GATE_X)
                       + ("line:f_up", "line:i_up", "line:c_up", "line:o_up")),
    "none": frozenset(),
}


def get_step(step) -> Step:
    """The :class:`Step` named ``step`` (one of ``STEP_KEYS``), or ``step`` itself."""
    if isinstance(step, Step):
        return step
    if step not in _BY_KEY:
        raise ValueError(f"step: expected one of {STEP_KEYS}, got {step!r}")
    return _BY_KEY[step]


def highlight_of(what) -> frozenset:
    """The keys highlighted by ``what``: a view, a named path, a part, or keys themselves."""
    if isinstance(what, Step):
        return what.highlight
    if isinstance(what, str):
        if what in _BY_KEY:
            return _BY_KEY[what].highlight
        if what in HIGHLIGHTS:
            return HIGHLIGHTS[what]
        if what in _PART:
            return _PART[what].path
        raise ValueError(f"highlight: expected a view {STEP_KEYS}, a named path "
                         f"{tuple(HIGHLIGHTS)} or a part {PART_KEYS}, got {what!r}")
    keys = frozenset(what)
    known = {it.key for it in _items()}
    if not keys <= known:
        raise ValueError(f"highlight: unknown keys {sorted(keys - known)}")
    return keys


# ------------------------------------------------------------------ scenes

def cell_scene(highlight="none", *, equations: bool = False) -> Scene:
    """The cell as a :class:`Scene`, ``highlight`` lit (see :func:`highlight_of`).

    equations: add the view's title, equations, reading and a key to the line
    styles underneath (``highlight`` must then be a view), as the stepper's
    figures have.
    """
    items = _items()
    height = HEIGHT
    on = highlight_of(highlight)
    if equations:
        step = get_step(highlight)
        y = HEIGHT + 22
        for k, line in enumerate(S.wrap(step.title, 15.0, WIDTH - 16)):
            items.append(Text(f"eq:title{k}", 8, y, line, 15.0, "start", bold=True))
            y += 21
        y += 10
        for k, e in enumerate(step.equations):
            items.append(Text(f"eq:{k}", WIDTH / 2, y, e, V, "middle", "eq"))
            y += 30
        for k, line in enumerate(S.wrap(step.reading, MIN_FONT, WIDTH - 16)):
            items.append(Text(f"eq:reading{k}", 8, y, line, MIN_FONT, "start", italic=True))
            y += 20
        y += 6
        for k, (lit, words) in enumerate(((True, "this step's path (thick, coloured)"),
                                          (False, "the rest of the cell (thin, grey)"))):
            items.append(Path(f"key:{'on' if lit else 'off'}", ((8, y - 5), (36, y - 5))))
            items.append(Text(f"key:{k}", 44, y, words, MIN_FONT, "start"))
            if lit:
                on = on | {"key:on"}
            y += 21
        height = y
    groups = {p.key: p.items for p in PARTS}
    return Scene(WIDTH, height, tuple(items), frozenset(on), MIN_FONT, groups)


# -------------------------------------------------------------- still figures

def figure(what="overview", *, alt: str, size: str = "full", equations=None) -> S.SceneFigure:
    """A still picture of the cell for a notebook: one call, one output.

    what: a view of the stepper (``overview``, ``forget``, ``input``,
      ``update``, ``output``), a named path (``carry``, ``gates``, ``none``),
      a part (:data:`PART_KEYS`) or a set of item keys: what is highlighted.
    alt: the alt text, from the notebook (also the SVG's title and the
      output's plain text). The website takes the caption and alt text from
      the cell's ``mystnb`` metadata.
    size: ``"full"`` (600 px wide where there is room) or ``"small"`` (400 px:
      a preview).
    equations: draw the view's title, equations and reading underneath
      (default: for the five views only).
    """
    if size not in ("full", "small"):
        raise ValueError(f"size: expected 'full' or 'small', got {size!r}")
    if equations is None:
        equations = isinstance(what, Step) or (isinstance(what, str) and what in _BY_KEY)
    sc = cell_scene(what, equations=bool(equations))
    png = None
    if equations and size == "full":                     # the stepper's bytes, cached
        png = functools.partial(cell_png, get_step(what).key)
    return S.SceneFigure(sc, alt, scale=FULL_SCALE if size == "full" else SMALL_SCALE, png=png)


def draw_cell(step="overview", scale: float = 1.0):
    """The view ``step`` (one of ``STEP_KEYS``) as a matplotlib ``Figure``, equations underneath.

    Every artist's ``gid`` is its key; at ``scale=1`` highlighted lines are
    ``HIGHLIGHT_WIDTH`` points wide and the others ``DIM_WIDTH`` (both times
    ``scale`` otherwise). White background. (:func:`cell_png` draws the same at
    ``FULL_SCALE``.)
    """
    return S.to_figure(cell_scene(get_step(step), equations=True), scale=scale)


@functools.lru_cache(maxsize=None)
def cell_png(step="overview", dpi: int = 144) -> bytes:
    """PNG bytes of the view ``step`` (a 2x raster of its 600 px width; cached)."""
    return S.png_bytes(cell_scene(get_step(step), equations=True), scale=FULL_SCALE, dpi=dpi)


def cell_image(step="overview"):
    """The view ``step`` as an IPython PNG image, displayed 600 px wide (the stepper's bytes)."""
    from IPython.display import Image

    return Image(data=cell_png(get_step(step).key), format="png",
                 width=int(WIDTH * FULL_SCALE))


# ------------------------------------------------------------ checks

def _renderer(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def text_boxes(fig) -> dict:
    """Window-space bounding boxes of every non-empty text in ``fig``, keyed by gid."""
    r = _renderer(fig)
    out = {}
    for ax in fig.axes:
        for t in ax.texts:
            if t.get_text():
                out[t.get_gid() or t.get_text()] = t.get_window_extent(r)
    return out


def text_overlaps(fig, pad: float = 1.0) -> list:
    """Pairs of text labels in ``fig`` whose bounding boxes intersect (grown by ``pad`` px)."""
    boxes = list(text_boxes(fig).items())
    bad = []
    for a in range(len(boxes)):
        for b in range(a + 1, len(boxes)):
            (na, ba), (nb, bb) = boxes[a], boxes[b]
            if (ba.x0 - pad < bb.x1 and bb.x0 - pad < ba.x1
                    and ba.y0 - pad < bb.y1 and bb.y0 - pad < ba.y1):
                bad.append((na, nb))
    return bad


def texts_outside(fig) -> list:
    """Gids of text labels that reach outside the figure (would be clipped)."""
    w, h = fig.bbox.width, fig.bbox.height
    return [k for k, b in text_boxes(fig).items()
            if b.x0 < 0 or b.y0 < 0 or b.x1 > w or b.y1 > h]


# ------------------------------------------------------------ the clickable cell

def _markup_html(m: str) -> str:
    out = []
    for s, level in S.runs(m):
        e = html.escape(s)
        out.append(e if level == 0 else (f"<sub>{e}</sub>" if level < 0 else f"<sup>{e}</sup>"))
    return "".join(out)


def _dims(dims, sizes) -> str:
    sym = "×".join(dims)
    return f"{sym} = {'×'.join(str(sizes[d]) for d in dims)}" if len(dims) > 1 else f"{sym} = {sizes[dims[0]]}"


def _as_rows(name, a, width: str):
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected an array of numbers, got {type(a).__name__}") from None
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (B, {width}) (a batch of rows), "
                         f"got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected finite numbers")
    return arr


def worked_values(step, x_t, h_prev, c_prev) -> dict:
    """The numbers the clickable cell shows, checked, with three derived ones.

    step: a mapping with the LSTM step's ``f, i, c_tilde, o, c, h`` (each
    (B, n)), as ``lstm_lib.reference.lstm_step`` returns; x_t (B, d); h_prev and
    c_prev (B, n). Adds ``kept = f ⊙ c_prev``, ``written = i ⊙ c_tilde`` and
    ``tanh_c = tanh(c)``. Raises if the shapes disagree, or if c and h are
    not the cell's update of these values (so the numbers shown belong together).
    """
    missing = [k for k in ("f", "i", "c_tilde", "o", "c", "h") if k not in step]
    if missing:
        raise ValueError(f"step: expected the keys f, i, c_tilde, o, c, h (as lstm_step returns), "
                         f"missing {missing}")
    v = {"x_t": _as_rows("x_t", x_t, "d"), "h_prev": _as_rows("h_prev", h_prev, "n"),
         "c_prev": _as_rows("c_prev", c_prev, "n")}
    for k in ("f", "i", "c_tilde", "o", "c", "h"):
        v[k] = _as_rows(f"step[{k!r}]", step[k], "n")
    B, n = v["c_prev"].shape
    for k in ("h_prev", "f", "i", "c_tilde", "o", "c", "h"):
        if v[k].shape != (B, n):
            raise ValueError(f"{k}: expected shape (B, n) = {(B, n)} like c_prev, got {v[k].shape}")
    if v["x_t"].shape[0] != B:
        raise ValueError(f"x_t: expected {B} rows (B) like c_prev, got shape {v['x_t'].shape}")
    if B > 4 or n > 6 or v["x_t"].shape[1] > 6:
        raise ValueError(f"the worked example is printed in full: expected B <= 4 and n, d <= 6, "
                         f"got B={B}, n={n}, d={v['x_t'].shape[1]}")
    v["kept"] = v["f"] * v["c_prev"]
    v["written"] = v["i"] * v["c_tilde"]
    v["tanh_c"] = np.tanh(v["c"])
    for name, got, want in (("c", v["c"], v["kept"] + v["written"]),
                            ("h", v["h"], v["o"] * v["tanh_c"])):
        if not np.allclose(got, want, rtol=1e-9, atol=1e-12):
            raise ValueError(f"step[{name!r}] is not the cell's update of these values "
                             f"(c = f c_prev + i c_tilde, h = o tanh(c)): the numbers shown "
                             f"must come from one step")
    return v


def format_rows(a, digits: int = 3) -> str:
    """A (B, k) array as text: ``(0.913, 0.063)``, rows separated by ``; ``.

    Each number has ``digits`` decimals and a true minus sign, and must print
    the same on any CPU (:func:`lstm_lib.viz.prose.check_margin`)."""
    fmt = f".{digits}f"
    rows = []
    for row in np.asarray(a, dtype=np.float64):
        cells = []
        for x in row:
            prose.check_margin(float(x), fmt, 1e-9, "a number of the worked example")
            cells.append(prose.format_value(float(x), fmt))
        rows.append("(" + ", ".join(cells) + ")")
    return "; ".join(rows)


def _item_html(p: Part, values: dict, sizes: dict) -> str:
    eqs = "".join(
        f'<p class="lstmc-eq"><span class="lstmc-tex mathjax_process" style="display:none">\\({t}\\)</span>'
        f'<span class="lstmc-txt">{_markup_html(e)}</span></p>' for t, e in zip(p.tex, p.eq))
    rows = "".join(
        f'<tr><th scope="row">{_markup_html(sym)}</th><td>{_dims(d, sizes)}</td>'
        f'<td data-v="{key}">{format_rows(values[key])}</td></tr>' for sym, d, key in p.rows)
    weights = ""
    if p.weights:
        weights = ('<p class="lstmc-w">Weights: ' + ", ".join(
            f"{_markup_html(sym)} ({_dims(d, sizes)})" for sym, d in p.weights) + ".</p>")
    return (f'<div class="lstmc-item" data-item="{p.key}">'
            f'<p class="lstmc-name"><strong>{html.escape(p.name)}</strong> '
            f'<span class="lstmc-sym">{_markup_html(p.symbol)}</span></p>{eqs}'
            f'<p class="lstmc-role">{_markup_html(p.role)}</p>'
            f'<table class="lstmc-nums"><thead><tr><th scope="col">vector</th>'
            f'<th scope="col">shape</th><th scope="col">worked step</th></tr></thead>'
            f'<tbody>{rows}</tbody></table>{weights}</div>')


class Clickable:
    """The clickable cell: an HTML output (inline SVG, a readout, a list, a script).

    Made by :func:`clickable`; ``html()`` is what a notebook stores,
    ``values`` the numbers shown, ``uid`` the stable id of its root element.
    """

    def __init__(self, values: dict, alt: str, caption: str, start: str):
        self.values, self.alt, self.caption, self.start = values, alt, caption, start
        B, n = values["c_prev"].shape
        self.sizes = {"B": B, "n": n, "d": values["x_t"].shape[1]}

    @property
    def uid(self) -> str:
        """A stable id: from the words and the numbers as printed (the same on any CPU)."""
        key = json.dumps([self.alt, self.caption, self.start,
                          {k: format_rows(v) for k, v in sorted(self.values.items())}])
        return "lstmc-" + hashlib.sha1(key.encode()).hexdigest()[:10]

    def svg(self) -> str:
        sc = cell_scene(_PART[self.start].path)
        groups = [Group(p.key, p.name, p.hit) for p in PARTS]
        return S.to_svg(sc, title=self.alt, css_class="lstmc-svg", groups=groups, background=None,
                        responsive=True, role="group", scale=FULL_SCALE)

    def html(self) -> str:
        uid = self.uid
        data = json.dumps({"start": self.start,
                           "paths": {p.key: sorted(p.path) for p in PARTS}},
                          separators=(",", ":"))
        items = "".join(_item_html(p, self.values, self.sizes) for p in PARTS)
        sizes = ", ".join(f"{k} = {v}" for k, v in self.sizes.items())
        caption = (f'<p class="lstmc-caption">{html.escape(self.caption)}</p>'
                   if self.caption else "")
        return (
            f'<div class="lstmc" id="{uid}" data-lstmc="1">'
            f'<style>{static_file("cell.css")}</style>'
            f'<p class="lstmc-how lstmc-if-js" style="display:none">Click a part of the cell, or '
            f'move to it with Tab and press Enter or Space: its path lights up, and its '
            f'equation, shapes and the numbers of one worked step ({sizes}) appear below '
            f'the drawing.</p>'
            f'<p class="lstmc-how lstmc-if-nojs">Each part of the cell is listed below with its '
            f'equation, the shapes that flow through it and the numbers of one worked step '
            f'({sizes}). Where scripts run (the website; JupyterLab once the notebook is trusted '
            f'or run), a click on a part of the drawing shows the same.</p>'
            f'<div class="lstmc-draw" style="display:none">{self.svg()}</div>'
            f'<div class="lstmc-readout" aria-live="polite"></div>{caption}'
            f'<details class="lstmc-list" open><summary>Every part of the cell as text: '
            f'equation, shapes, numbers</summary>{items}</details>'
            f'<script type="application/json" class="lstmc-data">{data}</script>'
            f'<script>\n{static_file("cell.js")}</script></div>')

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.html(),
                "text/plain": f"{self.alt} (clickable in a browser; {len(PARTS)} parts)"}

    def __repr__(self) -> str:
        return f"Clickable({self.uid})"


def clickable(step, *, x_t, h_prev, c_prev, alt: str, caption: str = "",
              start: str = "cell") -> Clickable:
    """The clickable LSTM cell for one worked step; display it as a cell's result.

    step: the step's values, as ``lstm_lib.reference.lstm_step`` returns them
      (``f, i, c_tilde, o, c, h``, each (B, n)); x_t (B, d), h_prev and
      c_prev (B, n): what the step read. B, n and d are at most 4, 6 and 6.
    alt: the drawing's accessible name (the notebook's words).
    caption: a line under the drawing (the notebook's words; optional).
    start: the part selected at first (default the cell-state line).
    """
    if not isinstance(alt, str) or not alt.strip():
        raise ValueError(f"alt: expected the drawing's accessible name, got {alt!r}")
    if not isinstance(caption, str):
        raise TypeError(f"caption: expected a str, got {type(caption).__name__}")
    get_part(start)
    return Clickable(worked_values(step, x_t, h_prev, c_prev), alt.strip(), caption.strip(), start)


# -------------------------------------------------------------- the stepper

def cell_stepper(initial: str = "overview", captions=None):
    """An ipywidgets view: toggle buttons choose the step, an Image shows it.

    The Image's value is PNG bytes from :func:`cell_png`; a line of HTML
    under it gives the step's title and its caption from ``captions`` (a dict
    from step key to text, the chapter's figure captions; none if omitted).
    The callback only swaps bytes and text: no printing, no ``Output``
    widget. The returned box has the handles ``buttons``, ``image`` and
    ``readout`` (for tests).
    """
    captions = dict(captions or {})
    import ipywidgets as W

    get_step(initial)
    buttons = W.ToggleButtons(options=[(s.button, s.key) for s in STEPS], value=initial,
                              description="Step:", style={"button_width": "auto"})
    image = W.Image(format="png", layout=W.Layout(max_width=f"{int(WIDTH * FULL_SCALE)}px"))
    readout = W.HTML()

    def show(change=None):
        s = get_step(buttons.value)
        image.value = cell_png(s.key)
        caption = html.escape(captions.get(s.key, ""))
        readout.value = f"<p><b>{html.escape(s.title)}.</b> {caption}</p>"

    buttons.observe(show, names="value")
    show()
    box = W.VBox([buttons, image, readout])
    box.buttons, box.image, box.readout = buttons, image, readout
    return box


def show_stepper(initial: str = "overview", captions=None) -> None:
    """Display the stepper in Jupyter, with a short plain-text stand-in.

    The plain text is what a notebook without a widget front-end shows (and
    what nbval compares); the website shows the five figures instead.
    """
    from IPython.display import display

    bundle = dict(cell_stepper(initial, captions)._repr_mimebundle_())
    bundle["text/plain"] = ("LSTM cell stepper: " + ", ".join(s.button for s in STEPS)
                            + " (live in Jupyter)")
    display(bundle, raw=True)


def bytes_report(c: Clickable) -> dict:
    """Bytes of the clickable cell's HTML and of its pieces (UTF-8)."""
    h = c.html().encode()
    return {"html": len(h), "svg": len(c.svg().encode()), "css": len(static_file("cell.css").encode()),
            "js": len(static_file("cell.js").encode())}

