"""Chapter 3: the LSTM cell drawn by code, one step at a time.

One drawing of the cell, five views of it:

* ``overview``  the whole cell; the cell-state line (the carry line) is highlighted;
* ``forget``    f_t = sigma(W_xf x_t + W_hf h_{t-1} + b_f);
* ``input``     i_t = sigma(...) and the candidate c_tilde_t = tanh(...);
* ``update``    c_t = f_t * c_{t-1} + i_t * c_tilde_t;
* ``output``    o_t = sigma(...) and h_t = o_t * tanh(c_t).

Each view highlights the path that step uses and prints its equation under
the drawing. The highlighted path is drawn thicker *and* in colour (from the
colour-blind-safe ``plotting.PALETTE``); the rest of the cell stays thin and
grey, so the highlight survives grey-scale printing and colour blindness.
The background is white, so the figure stays legible in a dark theme.

Every drawn piece carries a ``gid`` (for example ``"line:f_up"`` or
``"box:f"``), so tests can find it and check how it is drawn;
``text_overlaps`` lists pairs of text labels whose boxes intersect (the
chapter asserts there are none).

``cell_stepper`` returns an ipywidgets view (toggle buttons driving an
``Image`` of PNG bytes) for Jupyter. It never prints and never uses an
``Output`` widget. The website shows the same five PNG drawings as
ordinary figures (``cell_image``); their alt text and captions are the
chapter's words, so they live in the notebook, which also hands the captions
to the stepper.
"""
from __future__ import annotations

import functools
import html
import io
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from .plotting import PALETTE

HIGHLIGHT_COLOR = PALETTE[1]      # vermillion (Okabe-Ito)
HIGHLIGHT_FILL = "#FBE1D3"        # a light tint of it for highlighted boxes
DIM_COLOR = "#8C8C8C"             # the rest of the cell
TEXT_COLOR = "#111111"
HIGHLIGHT_WIDTH = 4.0             # line width of the highlighted path (points)
DIM_WIDTH = 1.3                   # line width of everything else

# ------------------------------------------------------------------ geometry
# Data coordinates of the drawing (x to the right, y up). Gates sit in a row
# at GATE_Y; the cell-state line runs along C_Y; the input bus along BUS_Y.
C_Y, BUS_Y, GATE_Y, MIX_Y, OUT_Y, TANH_Y = 6.0, 1.0, 2.4, 4.2, 3.4, 4.75
GATE_X = {"f": 3.0, "i": 5.0, "c": 7.0, "o": 9.0}
X_IN = 1.6                      # where x_t joins the bus
OUT_X = 10.3                    # the output column (tanh(c_t) and h_t)
NODE_R = 0.28                   # radius of the x and + nodes
BOX_W, BOX_H = 1.55, 0.9        # gate boxes
NODES = {"forget_mul": (GATE_X["f"], C_Y), "add": (6.0, C_Y),
         "input_mul": (6.0, MIX_Y), "output_mul": (OUT_X, OUT_Y)}
GATE_TEXT = {"f": ("σ", "forget gate"), "i": ("σ", "input gate"),
             "c": ("tanh", "candidate"), "o": ("σ", "output gate")}

# Every path as a polyline; the last segment ends in an arrowhead when the
# path flows into a node or box (``ARROW_PATHS``).
PATHS = {
    "c_in": [(0.95, C_Y), (GATE_X["f"] - NODE_R, C_Y)],
    "c_mid": [(GATE_X["f"] + NODE_R, C_Y), (6.0 - NODE_R, C_Y)],
    "c_out": [(6.0 + NODE_R, C_Y), (11.35, C_Y)],
    "c_to_tanh": [(OUT_X, C_Y), (OUT_X, TANH_Y + 0.3)],
    "tanh_to_mul": [(OUT_X, TANH_Y - 0.3), (OUT_X, OUT_Y + NODE_R)],
    "h_in": [(0.95, BUS_Y), (X_IN, BUS_Y)],
    "x_in": [(X_IN, 0.45), (X_IN, BUS_Y)],
    "bus_f": [(X_IN, BUS_Y), (GATE_X["f"], BUS_Y)],
    "bus_i": [(GATE_X["f"], BUS_Y), (GATE_X["i"], BUS_Y)],
    "bus_c": [(GATE_X["i"], BUS_Y), (GATE_X["c"], BUS_Y)],
    "bus_o": [(GATE_X["c"], BUS_Y), (GATE_X["o"], BUS_Y)],
    "rise_f": [(GATE_X["f"], BUS_Y), (GATE_X["f"], GATE_Y - BOX_H / 2)],
    "rise_i": [(GATE_X["i"], BUS_Y), (GATE_X["i"], GATE_Y - BOX_H / 2)],
    "rise_c": [(GATE_X["c"], BUS_Y), (GATE_X["c"], GATE_Y - BOX_H / 2)],
    "rise_o": [(GATE_X["o"], BUS_Y), (GATE_X["o"], GATE_Y - BOX_H / 2)],
    "f_up": [(GATE_X["f"], GATE_Y + BOX_H / 2), (GATE_X["f"], C_Y - NODE_R)],
    "i_up": [(GATE_X["i"], GATE_Y + BOX_H / 2), (GATE_X["i"], MIX_Y), (6.0 - NODE_R, MIX_Y)],
    "c_up": [(GATE_X["c"], GATE_Y + BOX_H / 2), (GATE_X["c"], MIX_Y), (6.0 + NODE_R, MIX_Y)],
    "write_up": [(6.0, MIX_Y + NODE_R), (6.0, C_Y - NODE_R)],
    "o_up": [(GATE_X["o"], GATE_Y + BOX_H / 2), (GATE_X["o"], OUT_Y), (OUT_X - NODE_R, OUT_Y)],
    "h_out": [(OUT_X + NODE_R, OUT_Y), (11.35, OUT_Y)],
}
ARROW_PATHS = {"c_in", "c_mid", "c_out", "c_to_tanh", "tanh_to_mul", "rise_f", "rise_i",
               "rise_c", "rise_o", "f_up", "i_up", "c_up", "write_up", "o_up", "h_out"}

# Labels: (text, x, y, horizontal alignment, vertical alignment, font size)
LABELS = {
    "c_prev": (r"$c_{t-1}$", 0.85, C_Y, "right", "center", 13),
    "c_next": (r"$c_t$", 11.45, C_Y, "left", "center", 13),
    "h_prev": (r"$h_{t-1}$", 0.85, BUS_Y, "right", "center", 13),
    "x": (r"$x_t$", X_IN, 0.38, "center", "top", 13),
    "h_next": (r"$h_t$", 11.45, OUT_Y, "left", "center", 13),
    "f": (r"$f_t$", GATE_X["f"] + 0.15, 4.3, "left", "center", 12),
    "i": (r"$i_t$", GATE_X["i"] - 0.15, 3.45, "right", "center", 12),
    "c_tilde": (r"$\tilde{c}_t$", GATE_X["c"] + 0.15, 3.45, "left", "center", 12),
    "o": (r"$o_t$", GATE_X["o"] + 0.55, OUT_Y + 0.12, "center", "bottom", 12),
    "keep": (r"$f_t \odot c_{t-1}$", 4.5, C_Y + 0.14, "center", "bottom", 10),
    "write": (r"$i_t \odot \tilde{c}_t$", 6.15, 5.05, "left", "center", 10),
    "tanh_c": (r"$\tanh(c_t)$", OUT_X + 0.15, 4.05, "left", "center", 10),
    "carry": ("cell state: the carry line", 8.45, C_Y + 0.14, "center", "bottom", 9),
    "bus": (r"$[h_{t-1},\, x_t]$ feed all four", 5.9, BUS_Y - 0.18, "center", "top", 9),
    "frame": ("one LSTM cell, step t", 2.25, 6.72, "left", "bottom", 9),
}


# ------------------------------------------------------------------- steps

@dataclass(frozen=True)
class Step:
    """One view of the cell: what it highlights and the words drawn with it.

    ``highlight`` holds gids of paths (``line:...``), boxes (``box:...``) and
    nodes (``node:...``). ``title``, ``equations`` (matplotlib mathtext) and
    ``reading`` are drawn under the cell.
    """
    key: str
    button: str
    title: str
    equations: tuple
    reading: str
    highlight: frozenset


_BUS = ["line:h_in", "line:x_in"]
STEPS = (
    Step("overview", "Overview", "Overview: the whole cell at step t",
         (r"$c_t = f_t \odot c_{t-1} + i_t \odot \tilde{c}_t$", r"$h_t = o_t \odot \tanh(c_t)$"),
         r"Three gates and the candidate all read $[h_{t-1}, x_t]$; on its way across, $c$ meets one $\times$ and one $+$.",
         frozenset({"line:c_in", "line:c_mid", "line:c_out", "node:forget_mul", "node:add"})),
    Step("forget", "1 Forget", "Step 1 of 4: the forget gate decides what to keep",
         (r"$f_t = \sigma(W_{xf}\,x_t + W_{hf}\,h_{t-1} + b_f)$",),
         r"Each coordinate of $f_t$ is a valve in (0, 1) on the same coordinate of $c_{t-1}$: near 1 means keep.",
         frozenset(_BUS + ["line:bus_f", "line:rise_f", "box:f", "line:f_up",
                           "node:forget_mul", "line:c_in"])),
    Step("input", "2 Input and candidate", "Step 2 of 4: the input gate and the candidate propose a write",
         (r"$i_t = \sigma(W_{xi}\,x_t + W_{hi}\,h_{t-1} + b_i)$",
          r"$\tilde{c}_t = \tanh(W_{xc}\,x_t + W_{hc}\,h_{t-1} + b_c)$"),
         r"$\tilde{c}_t$ is signed content in (−1, 1); $i_t$ in (0, 1) sets how much of it is written.",
         frozenset(_BUS + ["line:bus_f", "line:bus_i", "line:bus_c", "line:rise_i", "line:rise_c",
                           "box:i", "box:c", "line:i_up", "line:c_up", "node:input_mul"])),
    Step("update", "3 Cell update", "Step 3 of 4: the cell state is updated by one addition",
         (r"$c_t = f_t \odot c_{t-1} + i_t \odot \tilde{c}_t$",),
         r"What is kept and what is written are added; a gradient passes the $+$ node unchanged.",
         frozenset({"line:c_in", "node:forget_mul", "line:c_mid", "node:add", "line:write_up",
                    "node:input_mul", "line:c_out"})),
    Step("output", "4 Output", "Step 4 of 4: the output gate decides what to show",
         (r"$o_t = \sigma(W_{xo}\,x_t + W_{ho}\,h_{t-1} + b_o)$",
          r"$h_t = o_t \odot \tanh(c_t)$"),
         r"$h_t$ is a gated view of the memory; $c_t$ itself travels on unchanged.",
         frozenset(_BUS + ["line:bus_f", "line:bus_i", "line:bus_c", "line:bus_o", "line:rise_o",
                           "box:o", "line:o_up", "line:c_to_tanh", "box:tanh",
                           "line:tanh_to_mul", "node:output_mul", "line:h_out"])),
)
STEP_KEYS = tuple(s.key for s in STEPS)
_BY_KEY = {s.key: s for s in STEPS}


def get_step(step) -> Step:
    """The :class:`Step` named ``step`` (one of ``STEP_KEYS``), or ``step`` itself."""
    if isinstance(step, Step):
        return step
    if step not in _BY_KEY:
        raise ValueError(f"step: expected one of {STEP_KEYS}, got {step!r}")
    return _BY_KEY[step]


# ------------------------------------------------------------------ drawing

def _line_style(on: bool) -> dict:
    return {"color": HIGHLIGHT_COLOR if on else DIM_COLOR,
            "linewidth": HIGHLIGHT_WIDTH if on else DIM_WIDTH,
            "solid_capstyle": "round", "zorder": 3 if on else 2}


def _draw_path(ax, name: str, on: bool) -> None:
    pts = PATHS[name]
    st = _line_style(on)
    gid = f"line:{name}"
    # the path up to its last corner as a line, the last segment as an arrow
    body = pts[:-1] if name in ARROW_PATHS else pts
    if len(body) >= 2:
        ln = Line2D([p[0] for p in body], [p[1] for p in body], **st)
        ln.set_gid(gid)
        ax.add_line(ln)
    if name in ARROW_PATHS:
        a = FancyArrowPatch(pts[-2], pts[-1], arrowstyle="-|>",
                            mutation_scale=16 if on else 11, color=st["color"],
                            linewidth=st["linewidth"], zorder=st["zorder"],
                            shrinkA=0, shrinkB=0)
        a.set_gid(gid)
        ax.add_patch(a)


def _draw_box(ax, gid, xy, w, h, on: bool) -> None:
    box = FancyBboxPatch((xy[0] - w / 2, xy[1] - h / 2), w, h,
                         boxstyle="round,pad=0.02,rounding_size=0.12",
                         facecolor=HIGHLIGHT_FILL if on else "white",
                         edgecolor=HIGHLIGHT_COLOR if on else DIM_COLOR,
                         linewidth=3.0 if on else DIM_WIDTH, zorder=4)
    box.set_gid(gid)
    ax.add_patch(box)


def _text(ax, gid, s, x, y, ha="center", va="center", size=11, **kw):
    t = ax.text(x, y, s, ha=ha, va=va, fontsize=size, color=TEXT_COLOR, zorder=6, **kw)
    t.set_gid(gid)
    return t


def draw_cell(step="overview", width: float = 9.0) -> Figure:
    """Draw the LSTM cell with ``step``'s path highlighted and its equation below.

    step: one of ``STEP_KEYS`` ("overview", "forget", "input", "update", "output").
    width: figure width in inches (the height follows).
    Returns a matplotlib ``Figure`` (not registered with pyplot, so nothing is
    shown twice in a notebook) with a white background.
    """
    s = get_step(step)
    on = s.highlight
    height = width * 0.74
    fig = Figure(figsize=(width, height), facecolor="white", layout="none")
    ax = fig.add_axes((0.0, 0.25, 1.0, 0.75))
    eq = fig.add_axes((0.0, 0.0, 1.0, 0.25))
    for a in (ax, eq):
        a.set_facecolor("white")
        a.set_axis_off()
    ax.set_xlim(-0.35, 12.35)
    ax.set_ylim(0.0, 7.1)
    eq.set_xlim(0, 1)
    eq.set_ylim(0, 1)

    # the cell's frame
    frame = FancyBboxPatch((2.05, 1.55), 9.0, 5.1, boxstyle="round,pad=0.0,rounding_size=0.35",
                           facecolor="#F7F7F7", edgecolor="#BBBBBB", linewidth=1.0, zorder=0)
    frame.set_gid("frame")
    ax.add_patch(frame)

    for name in PATHS:
        _draw_path(ax, name, f"line:{name}" in on)
    ax.add_patch(Circle((X_IN, BUS_Y), 0.07, color=DIM_COLOR, zorder=5))
    ax.add_patch(Circle((OUT_X, C_Y), 0.08,
                        color=HIGHLIGHT_COLOR if "line:c_to_tanh" in on else DIM_COLOR, zorder=5))

    for g, x in GATE_X.items():
        lit = f"box:{g}" in on
        _draw_box(ax, f"box:{g}", (x, GATE_Y), BOX_W, BOX_H, lit)
        sym, name = GATE_TEXT[g]
        _text(ax, f"boxtext:{g}", sym, x, GATE_Y + 0.15, size=14 if sym == "σ" else 12,
              fontweight="bold" if lit else "normal")
        _text(ax, f"boxname:{g}", name, x, GATE_Y - 0.24, size=8.5)
    _draw_box(ax, "box:tanh", (OUT_X, TANH_Y), 0.95, 0.6, "box:tanh" in on)
    _text(ax, "boxtext:tanh", "tanh", OUT_X, TANH_Y, size=11)

    for name, (x, y) in NODES.items():
        lit = f"node:{name}" in on
        c = Circle((x, y), NODE_R, facecolor=HIGHLIGHT_FILL if lit else "white",
                   edgecolor=HIGHLIGHT_COLOR if lit else DIM_COLOR,
                   linewidth=3.0 if lit else DIM_WIDTH, zorder=4)
        c.set_gid(f"node:{name}")
        ax.add_patch(c)
        _text(ax, f"nodetext:{name}", "+" if name == "add" else "×", x, y - 0.01, size=14,
              fontweight="bold")

    for key, (s_, x, y, ha, va, size) in LABELS.items():
        _text(ax, f"label:{key}", s_, x, y, ha=ha, va=va, size=size)

    # the equation strip: title, equations, a key for the two line styles
    _text(eq, "eq:title", s.title, 0.03, 0.90, ha="left", va="center", size=11.5,
          fontweight="bold")
    ys = {1: (0.58,), 2: (0.68, 0.44)}[len(s.equations)]
    for k, (e, y) in enumerate(zip(s.equations, ys)):
        _text(eq, f"eq:{k}", e, 0.5, y, size=14)
    _text(eq, "eq:reading", s.reading, 0.03, 0.2, ha="left", size=9.5, style="italic")
    for k, (lit, words) in enumerate(((True, "this step's path (thick)"),
                                      (False, "rest of the cell (thin, grey)"))):
        y = 0.06
        x0 = 0.03 + 0.36 * k
        key_line = Line2D([x0, x0 + 0.05], [y, y], **_line_style(lit))
        key_line.set_gid(f"key:{'on' if lit else 'off'}")
        eq.add_line(key_line)
        _text(eq, f"key:{k}", words, x0 + 0.065, y, ha="left", size=9)
    return fig


# ------------------------------------------------------------ checks, bytes

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
    """Pairs of text labels in ``fig`` whose bounding boxes intersect.

    Each box is grown by ``pad`` pixels on every side first, so labels that
    merely touch count as overlapping. An empty list means every label is
    readable on its own.
    """
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


@functools.lru_cache(maxsize=None)
def cell_png(step="overview", dpi: int = 90) -> bytes:
    """PNG bytes of ``draw_cell(step)`` (cached: the stepper swaps these)."""
    buf = io.BytesIO()
    draw_cell(step).savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


def cell_image(step="overview"):
    """``draw_cell(step)`` as an IPython PNG image, for a notebook cell's output.

    The same bytes the stepper shows; a notebook displays this as an ordinary
    image output, which the website turns into a figure with alt text.
    """
    from IPython.display import Image

    return Image(data=cell_png(get_step(step).key), format="png")


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
    image = W.Image(format="png", layout=W.Layout(max_width="720px"))
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
