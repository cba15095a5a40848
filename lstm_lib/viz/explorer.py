"""Slider explorers: one pure function, two views.

An explorer is a pure function of a few control values that returns a
:class:`View` (panels of lines or bars, plus one sentence saying what the
frame shows). :class:`Explorer` turns that function into

* a **live view** for Jupyter: ipywidgets sliders and an ``Image`` widget
  redrawn with matplotlib whenever a slider moves; and
* a **kernel-free view** for the website: every combination of control
  values is computed in Python ahead of time, stored as data in the page,
  and drawn as SVG by a few lines of JavaScript that only *look up* frames.

Both views call the same function over the same grid of values, so what the
reader sees on the website is what Jupyter would show. The callbacks never
print or plot into cell output (nbval runs without a widget front-end, where
such output would land in the cell). Tests set control values directly and
check the function against the equations.

One way to make an explorer: declare the function's sliders with
:func:`sliders` where the function is written, and give the words around it
(title, caption) where it is shown::

    @sliders(Control("f", "forget gate f", np.linspace(0.5, 1, 21)))
    def decay(f):
        k = np.arange(50)
        return View([Panel([Series(k, f ** k, "f^k")], logy=True)],
                    text=f"f = {f:.2f}: after 50 steps f^k = {f ** 49:.2g}")

    Explorer(decay, title="Decay", caption="Each step keeps a share f.").show()

Labels may carry sub- and superscripts: ``c_t``, ``W_hh``, ``σ_max^k``,
``∂c_(T−k)`` (a script is ``_`` or ``^`` followed by letters and digits, or by
a group in parentheses or braces, whose brackets are not shown). The website
draws them as SVG sub- and superscripts, the live view as mathtext, the
slider labels as HTML ``<sub>`` and ``<sup>``.

The website stores each distinct array, and each distinct description of a
panel or a series, once: frames refer to them by number (:meth:`Explorer.packed`).
Its panels are drawn at the page's own scale, side by side when the explorer
is at least ``STACK_BELOW`` px wide and one above the other below that.

The kernel-free view's JavaScript is ``static/explorer.js`` and the site's
style for it ``static/explorer.css``, files shipped with the package; the
JavaScript is written into each explorer's HTML, so a page needs no other file.
"""
from __future__ import annotations

import functools
import hashlib
import html
import io
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Callable, Sequence

import numpy as np

from .plotting import LINESTYLES, PALETTE, RC

STYLES = ("solid", "dashed", "dotted", "dashdot")
MARKER_NAMES = (None, "o", "s", "^", "v", "D")
MAX_FRAMES = 2000  # the website stores every frame; more would make pages heavy
MIN_VALUES = 20    # the course's rule: at least 20 values per control
STACK_BELOW = 600  # px: a narrower explorer shows its panels one above the other (explorer.js)

#: a sub- or superscript in a label: _t, _max, ^k, _(T−k), ^{2}
SCRIPT = re.compile(r"([_^])(?:\(([^()]*)\)|\{([^{}]*)\}|([0-9A-Za-z]+))")


def label_parts(text: str) -> list[tuple[str, str]]:
    """A label split into ``(text, kind)`` runs, kind ``""``, ``"sub"`` or ``"sup"``.

    >>> label_parts("σ_max^k of W_hh")
    [('σ', ''), ('max', 'sub'), ('k', 'sup'), (' of W', ''), ('hh', 'sub')]
    """
    parts, pos = [], 0
    for m in SCRIPT.finditer(text):
        if m.start() > pos:
            parts.append((text[pos:m.start()], ""))
        script = next(g for g in m.groups()[1:] if g is not None)
        parts.append((script, "sub" if m.group(1) == "_" else "sup"))
        pos = m.end()
    if pos < len(text):
        parts.append((text[pos:], ""))
    return parts


def label_html(text: str) -> str:
    """A label as HTML, its scripts as ``<sub>`` and ``<sup>``."""
    return "".join(html.escape(t) if k == "" else f"<{k}>{html.escape(t)}</{k}>"
                   for t, k in label_parts(text))


def label_mathtext(text: str) -> str:
    """A label for matplotlib: each script and the character it follows as upright mathtext."""
    def esc(t):
        return re.sub(r"([\\{}$%#&_^~])", r"\\\1", t)

    out = []
    for t, k in label_parts(text):
        if k == "":
            out.append(t.replace("$", r"\$"))
            continue
        base = ""
        if out and out[-1] and not out[-1].endswith("$"):
            base, out[-1] = out[-1][-1], out[-1][:-1]
        elif out and out[-1].endswith("$"):       # a second script on the same base: x_a^b
            out[-1] = out[-1][:-1]
            out.append(("_" if k == "sub" else "^") + "{\\mathregular{" + esc(t) + "}}$")
            continue
        out.append("$\\mathregular{" + esc(base) + "}" + ("_" if k == "sub" else "^")
                   + "{\\mathregular{" + esc(t) + "}}$")
    return "".join(out)


# --------------------------------------------------------------------- data

@dataclass(frozen=True)
class Series:
    """One line (or set of bars) in a panel.

    ``style`` is the line style and ``marker`` the point marker, so that lines
    differ by more than colour; ``color`` indexes ``plotting.PALETTE``
    (default: the series' position in its panel).
    """
    x: Sequence[float]
    y: Sequence[float]
    label: str = ""
    style: str = "solid"
    marker: str | None = None
    color: int | None = None
    kind: str = "line"

    def __post_init__(self):
        x = np.asarray(self.x, dtype=float).ravel()
        y = np.asarray(self.y, dtype=float).ravel()
        if x.shape != y.shape:
            raise ValueError(f"Series {self.label!r}: x and y must have the same length, "
                             f"got {x.shape[0]} and {y.shape[0]}")
        if self.style not in STYLES:
            raise ValueError(f"Series {self.label!r}: style must be one of {STYLES}, got {self.style!r}")
        if self.marker not in MARKER_NAMES:
            raise ValueError(f"Series {self.label!r}: marker must be one of {MARKER_NAMES}, "
                             f"got {self.marker!r}")
        if self.kind not in ("line", "bar"):
            raise ValueError(f"Series {self.label!r}: kind must be 'line' or 'bar', got {self.kind!r}")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)


@dataclass(frozen=True)
class Panel:
    """One set of axes: series, labels, optional log-scale y and fixed limits.

    Fix ``ylim`` (and ``xlim``) when frames should be compared by eye: a
    moving axis hides the change the slider makes. ``hlines`` draws labelled
    horizontal reference lines, e.g. ``[(1/6, "predict the mean")]``.
    """
    series: Sequence[Series]
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    logy: bool = False
    ylim: tuple | None = None
    xlim: tuple | None = None
    hlines: Sequence[tuple] = field(default_factory=tuple)


@dataclass(frozen=True)
class View:
    """What one frame shows: panels side by side and a sentence describing it.

    ``text`` is the readout under the figure and its alt text, so it should
    say what the reader sees, with numbers ("with f = 0.90, the gradient
    scale after 20 steps is 0.12").
    """
    panels: Sequence[Panel]
    text: str

    def to_dict(self, digits: int = 3) -> dict:
        """A JSON-ready description, floats rounded to ``digits`` significant digits.

        Three digits put every point within 0.5% of its value: at most about a
        pixel on a 220-pixel linear axis, under a tenth of one on a logarithmic
        axis over six decades.
        """
        def num(v):
            v = float(v)
            if not math.isfinite(v):
                return None
            v = float(f"{v:.{digits}g}")
            return int(v) if v.is_integer() and abs(v) < 1e15 else v

        panels = []
        for p in self.panels:
            series = []
            for k, s in enumerate(p.series):
                series.append({
                    "x": [num(v) for v in s.x], "y": [num(v) for v in s.y],
                    "label": s.label, "style": s.style, "marker": s.marker,
                    "color": PALETTE[(k if s.color is None else s.color) % len(PALETTE)],
                    "kind": s.kind,
                })
            panels.append({
                "series": series, "title": p.title, "xlabel": p.xlabel,
                "ylabel": p.ylabel, "logy": bool(p.logy),
                "ylim": None if p.ylim is None else [num(v) for v in p.ylim],
                "xlim": None if p.xlim is None else [num(v) for v in p.xlim],
                "hlines": [[num(y), str(lbl)] for y, lbl in p.hlines],
            })
        return {"panels": panels, "text": self.text}

    def to_figure(self, width_per_panel: float = 4.2, height: float = 3.2):
        """Draw the view with matplotlib (the live view draws exactly this).

        The course's style (``plotting.RC``) applies whether or not the
        notebook called ``use_style``; labels' scripts become mathtext.
        """
        import matplotlib
        import matplotlib.pyplot as plt
        from matplotlib.figure import Figure

        n = max(1, len(self.panels))
        with matplotlib.rc_context(RC):
            # Figure() rather than plt.figure(): nothing is registered with pyplot,
            # so nothing is displayed as a side effect in a notebook.
            fig = Figure(figsize=(width_per_panel * n, height), facecolor="white",
                         layout="constrained")
            axes = fig.subplots(1, n, squeeze=False)[0]
            dash = dict(zip(STYLES, LINESTYLES[:4]))
            for ax, p in zip(axes, self.panels):
                for k, s in enumerate(p.series):
                    color = PALETTE[(k if s.color is None else s.color) % len(PALETTE)]
                    label = label_mathtext(s.label) if s.label else None
                    if s.kind == "bar":
                        width = 0.8 * (np.min(np.diff(s.x)) if len(s.x) > 1 else 1.0)
                        ax.bar(s.x, s.y, width=width, color=color, alpha=0.75,
                               hatch=[None, "//", "..", "xx"][k % 4], edgecolor=color,
                               label=label)
                    else:
                        every = max(1, len(s.x) // 15)
                        ax.plot(s.x, s.y, color=color, linestyle=dash[s.style],
                                marker=s.marker, markevery=every, label=label)
                for y, lbl in p.hlines:
                    ax.axhline(y, color="#555555", linestyle=(0, (4, 3)), linewidth=1.0)
                    ax.annotate(label_mathtext(lbl), xy=(0.01, y),
                                xycoords=("axes fraction", "data"), xytext=(0, 3),
                                textcoords="offset points", color="#333333")
                if p.logy:
                    ax.set_yscale("log")
                if p.ylim is not None:
                    ax.set_ylim(*p.ylim)
                if p.xlim is not None:
                    ax.set_xlim(*p.xlim)
                ax.set_title(label_mathtext(p.title))
                ax.set_xlabel(label_mathtext(p.xlabel))
                ax.set_ylabel(label_mathtext(p.ylabel))
                if any(s.label for s in p.series):
                    ax.legend(loc="best")
        plt.close("all")
        return fig

    def to_png(self) -> bytes:
        """PNG bytes of :meth:`to_figure` (what the live widget shows)."""
        buf = io.BytesIO()
        self.to_figure().savefig(buf, format="png", dpi=90)
        return buf.getvalue()


@dataclass(frozen=True)
class Control:
    """A slider: the argument ``name`` of the pure function, over ``values``."""
    name: str
    label: str
    values: Sequence[float]
    initial: float | None = None
    fmt: str = "{:.2f}"

    def __post_init__(self):
        vals = [float(v) for v in np.asarray(self.values, dtype=float).ravel()]
        if len(vals) < MIN_VALUES:
            raise ValueError(f"Control {self.name!r}: expected at least {MIN_VALUES} values, "
                             f"got {len(vals)}")
        if not all(math.isfinite(v) for v in vals):
            raise ValueError(f"Control {self.name!r}: expected finite values")
        object.__setattr__(self, "values", tuple(vals))
        if self.initial is not None and self.index_of(self.initial) is None:
            raise ValueError(f"Control {self.name!r}: initial value {self.initial!r} "
                             f"is not one of its values")

    def index_of(self, value) -> int | None:
        for k, v in enumerate(self.values):
            if math.isclose(v, float(value), rel_tol=1e-9, abs_tol=1e-12):
                return k
        return None

    @property
    def initial_index(self) -> int:
        if self.initial is None:
            return len(self.values) // 2
        return self.index_of(self.initial)

    def label_of(self, value) -> str:
        return self.fmt.format(value)


# ------------------------------------------------------------------ explorer

def sliders(*controls: Control):
    """Declare a pure view function's sliders: ``@sliders(Control(...), ...)``.

    The function is returned as it is, with ``func.controls`` set, so that
    ``Explorer(func)`` needs no controls of its own.
    """
    def declare(func):
        func.controls = tuple(controls)
        return func
    return declare


@functools.cache
def static_file(name: str) -> str:
    """The text of one of the package's static files (``explorer.js``, ``explorer.css``)."""
    return (resources.files(__package__) / "static" / name).read_text(encoding="utf-8")


class Explorer:
    """A live ipywidgets explorer and its kernel-free twin, over one pure function.

    ``func(**{c.name: value for c in controls})`` must return a :class:`View`
    and depend on nothing but its arguments. ``controls`` defaults to those
    declared with :func:`sliders`.
    """

    def __init__(self, func: Callable[..., View], controls: Sequence[Control] | None = None,
                 title: str = "", caption: str = ""):
        controls = list(getattr(func, "controls", ()) if controls is None else controls)
        if not controls:
            raise ValueError("Explorer: expected at least one Control, got none")
        names = [c.name for c in controls]
        if len(set(names)) != len(names):
            raise ValueError(f"Explorer: control names must be distinct, got {names}")
        n_frames = math.prod(len(c.values) for c in controls)
        if n_frames > MAX_FRAMES:
            raise ValueError(f"Explorer: the website stores every combination of values; "
                             f"expected at most {MAX_FRAMES}, got {n_frames}")
        self.func, self.controls = func, controls
        self.title, self.caption = title, caption

    # -- the pure part -------------------------------------------------------
    def view(self, **values) -> View:
        """The frame for these control values (missing ones take their initial value)."""
        unknown = set(values) - {c.name for c in self.controls}
        if unknown:
            raise ValueError(f"Explorer: unknown control(s) {sorted(unknown)}; "
                             f"expected {[c.name for c in self.controls]}")
        args = {c.name: values.get(c.name, c.values[c.initial_index]) for c in self.controls}
        for c in self.controls:
            if c.index_of(args[c.name]) is None:
                raise ValueError(f"Explorer: {c.name}={args[c.name]!r} is not on the control's grid")
        out = self.func(**args)
        if not isinstance(out, View):
            raise TypeError(f"Explorer: the function must return a View, got {type(out).__name__}")
        return out

    def grid(self):
        """Every combination of control values, in row-major order (last control fastest)."""
        return list(itertools.product(*(c.values for c in self.controls)))

    def frames(self) -> list[dict]:
        """Every frame as data, in :meth:`grid` order."""
        names = [c.name for c in self.controls]
        return [self.view(**dict(zip(names, combo))).to_dict() for combo in self.grid()]

    def packed(self) -> dict:
        """What the website stores: every frame, each distinct array and description once.

        ``arrays`` holds each distinct list of numbers and ``parts`` each
        distinct description of a panel (its title apart, as that often
        names the slider values) or of a series (without its numbers), and
        each distinct title; a frame is ``[text, [[panel part, title part,
        [[series part, x array, y array], ...]], ...]]``. The same x values of every frame, and every
        series or panel that does not change with the sliders, are stored once.
        """
        arrays, parts, index = [], [], {}

        def ref(table, value):
            key = (id(table), json.dumps(value, separators=(",", ":"), sort_keys=True))
            if key not in index:
                index[key] = len(table)
                table.append(value)
            return index[key]

        frames = []
        for frame in self.frames():
            panels = []
            for p in frame["panels"]:
                series = [[ref(parts, {k: v for k, v in s.items() if k not in ("x", "y")}),
                           ref(arrays, s["x"]), ref(arrays, s["y"])] for s in p["series"]]
                panels.append([ref(parts, {k: v for k, v in p.items() if k not in ("series", "title")}),
                               ref(parts, p["title"]), series])
            frames.append([frame["text"], panels])
        return {"arrays": arrays, "parts": parts, "frames": frames}

    def unpack(self, data: dict, k: int) -> dict:
        """Frame ``k`` of :meth:`packed` data as :meth:`frames` gives it (what the page draws)."""
        text, panels = data["frames"][k]
        return {"panels": [{**data["parts"][p], "title": data["parts"][title], "series": [
                    {**data["parts"][s], "x": data["arrays"][x], "y": data["arrays"][y]}
                    for s, x, y in series]} for p, title, series in panels], "text": text}

    @property
    def uid(self) -> str:
        """A stable id (no randomness, so committed outputs re-execute identically)."""
        key = json.dumps([self.title, getattr(self.func, "__qualname__", ""),
                          [[c.name, c.values] for c in self.controls]])
        return "lstmx-" + hashlib.sha1(key.encode()).hexdigest()[:10]

    # -- the live view (Jupyter) ----------------------------------------------
    def widget(self):
        """ipywidgets sliders over the same grid, and an Image redrawn on change."""
        import ipywidgets as W

        sliders = []
        for c in self.controls:
            options = [(c.label_of(v), v) for v in c.values]
            sliders.append(W.SelectionSlider(
                options=options, value=c.values[c.initial_index], description=label_html(c.label),
                description_allow_html=True,
                continuous_update=False, style={"description_width": "initial"},
                layout=W.Layout(width="480px")))
        image = W.Image(format="png")
        readout = W.HTML()

        def redraw(_change=None):
            v = self.view(**{c.name: s.value for c, s in zip(self.controls, sliders)})
            image.value = v.to_png()
            readout.value = f"<p>{label_html(v.text)}</p>"

        for s in sliders:
            s.observe(redraw, names="value")
        redraw()
        box = W.VBox([W.HTML(f"<b>{label_html(self.title)}</b>"), *sliders, image, readout])
        box.sliders, box.image, box.readout = sliders, image, readout  # handles for tests
        return box

    # -- the kernel-free view (website) ---------------------------------------
    def static_html(self) -> str:
        """A self-contained HTML explorer: labelled range inputs, SVG drawn from stored frames."""
        uid = self.uid
        data = {
            "controls": [{"name": c.name, "label": c.label,
                          "labels": [c.label_of(v) for v in c.values],
                          "initial": c.initial_index} for c in self.controls],
            "stack_below": STACK_BELOW,
            **self.packed(),
        }
        payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")
        first = self.view()
        rows = []
        for k, c in enumerate(self.controls):
            cid = f"{uid}-c{k}"
            rows.append(
                f'<div class="lstmx-control"><label for="{cid}">{label_html(c.label)}</label> '
                f'<input type="range" id="{cid}" min="0" max="{len(c.values) - 1}" step="1" '
                f'value="{c.initial_index}" aria-valuetext="{html.escape(c.label_of(c.values[c.initial_index]))}"> '
                f'<output for="{cid}">{html.escape(c.label_of(c.values[c.initial_index]))}</output></div>')
        caption = f'<p class="lstmx-caption">{label_html(self.caption)}</p>' if self.caption else ""
        title = f'<p class="lstmx-title"><strong>{label_html(self.title)}</strong></p>' if self.title else ""
        return (
            f'<div class="lstmx" id="{uid}" data-lstmx="1">{title}'
            f'<p class="lstmx-note">Move the slider{"s" if len(self.controls) > 1 else ""}: '
            f'every frame was computed in Python ahead of time, so this works without a kernel. '
            f'In JupyterLab the same explorer runs live.</p>'
            f'{"".join(rows)}'
            f'<svg class="lstmx-svg" role="img" aria-label="{html.escape(first.text)}" '
            f'xmlns="http://www.w3.org/2000/svg"></svg>'
            f'<p class="lstmx-readout" aria-live="polite">{label_html(first.text)}</p>{caption}'
            f'<script type="application/json" class="lstmx-data">{payload}</script>'
            f'<script>\n{static_file("explorer.js")}</script></div>'
        )

    def show(self):
        """Display the explorer: live in Jupyter, kernel-free on the website.

        One output carries both: the ipywidgets view (JupyterLab renders it
        when a kernel runs) and the static HTML (the website renders it; the
        book's configuration drops the widget view for HTML builds).
        """
        from IPython.display import display

        bundle = dict(self.widget()._repr_mimebundle_())
        bundle["text/html"] = self.static_html()
        bundle["text/plain"] = f"Explorer: {self.title or self.uid}"
        display(bundle, raw=True)
