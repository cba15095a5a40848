"""Small vector drawings: one description, drawn as SVG and with matplotlib.

The course's diagrams (the LSTM cell, the unrolled RNN) are lists of a few
kinds of item in a coordinate system of *units* (x to the right, y down, as
in SVG): paths with an optional arrowhead, rounded boxes, circular nodes,
dots, a background frame and text. A :class:`Scene` holds them, with the set
of item keys that are highlighted. Two writers read the same scene:

* :func:`to_svg` writes an SVG document (real ``<text>``, so a browser test
  can measure font sizes); each item carries its key in ``data-k`` and a
  class, so a stylesheet can restyle it (dark mode, a highlight that moves);
* :func:`to_figure` draws it with matplotlib (for PNG bytes, which a PDF or an
  untrusted JupyterLab notebook shows). Every artist has the item's key as its
  ``gid``.

Text uses a small markup: ``c_{t−1}`` is c with the subscript t−1, ``x^{2}``
a superscript; everything else is literal Unicode. A text's ``font`` is
``"var"`` (an italic serif symbol such as c_{t−1}), ``"eq"`` (an upright
serif equation) or ``"word"`` (sans-serif prose). Subscripts are drawn
smaller, never below the scene's ``min_font``, so that a test of the smallest
text holds for them too.

A highlighted path is drawn thick *and* in colour, the rest thin and grey, so
the highlight survives grey-scale printing and colour blindness.
"""
from __future__ import annotations

import base64
import html
import io
import math
import re
from dataclasses import dataclass, field
from typing import Sequence

from .plotting import PALETTE

# ---------------------------------------------------------------- the look
HIGHLIGHT_COLOR = PALETTE[1]      # vermillion (Okabe-Ito)
HIGHLIGHT_FILL = "#FBE1D3"        # a light tint of it for highlighted boxes
DIM_COLOR = "#808080"             # the rest of the drawing (3.9:1 on white)
TEXT_COLOR = "#111111"
FRAME_FILL, FRAME_EDGE = "#F5F5F5", "#BBBBBB"
HIGHLIGHT_WIDTH = 4.0             # line width of a highlighted path (units)
DIM_WIDTH = 1.3                   # line width of everything else
BOX_WIDTH_ON = 3.0                # outline of a highlighted box or node
HEAD = 9.0                        # arrowhead length (units)

FONTS = {
    "word": "'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif",
    "var": "'DejaVu Serif', Georgia, 'Times New Roman', serif",
    "eq": "'DejaVu Serif', Georgia, 'Times New Roman', serif",
}
SUB_RATIO = 0.78                  # subscript size / text size
CHAR_EM = 0.6                     # a generous average character width, in em (for layout)


# ------------------------------------------------------------------- items

@dataclass(frozen=True)
class Path:
    """A polyline through ``points``; with ``arrow``, an arrowhead at its end."""
    key: str
    points: tuple
    arrow: bool = False
    dashed: bool = False


@dataclass(frozen=True)
class Box:
    """A rounded rectangle centred on (x, y)."""
    key: str
    x: float
    y: float
    w: float
    h: float
    r: float = 6.0


@dataclass(frozen=True)
class Node:
    """A circle centred on (x, y) with a symbol in it (× or +)."""
    key: str
    x: float
    y: float
    r: float
    symbol: str
    size: float = 18.0


@dataclass(frozen=True)
class Dot:
    """A small filled junction dot (it takes its path's colour when highlighted)."""
    key: str
    x: float
    y: float
    r: float = 3.0


@dataclass(frozen=True)
class Frame:
    """A light background rectangle (the cell's outline); never highlighted."""
    key: str
    x: float
    y: float
    w: float
    h: float
    r: float = 14.0


@dataclass(frozen=True)
class Text:
    """Text at (x, y) (the baseline); ``anchor`` is start, middle or end."""
    key: str
    x: float
    y: float
    markup: str
    size: float
    anchor: str = "middle"
    font: str = "word"
    bold: bool = False
    italic: bool = False

    def __post_init__(self):
        if self.anchor not in ("start", "middle", "end"):
            raise ValueError(f"Text {self.key!r}: anchor must be start, middle or end, got {self.anchor!r}")
        if self.font not in FONTS:
            raise ValueError(f"Text {self.key!r}: font must be one of {tuple(FONTS)}, got {self.font!r}")
        runs(self.markup)   # fails early on bad markup


ITEM_TYPES = (Path, Box, Node, Dot, Frame, Text)


@dataclass(frozen=True)
class Scene:
    """Items in a ``width`` x ``height`` box of units, and the keys highlighted.

    ``groups`` maps a group name to the keys of items drawn together (the
    clickable parts of an interactive drawing); ``min_font`` is the smallest
    font size any text, subscripts included, may have.
    """
    width: float
    height: float
    items: tuple
    highlight: frozenset = frozenset()
    min_font: float = 12.0
    groups: dict = field(default_factory=dict)

    def __post_init__(self):
        for it in self.items:
            if not isinstance(it, ITEM_TYPES):
                raise TypeError(f"Scene: expected items of {[t.__name__ for t in ITEM_TYPES]}, "
                                f"got {type(it).__name__}")
        keys = [it.key for it in self.items]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError(f"Scene: item keys must be unique, got duplicates {dup}")
        unknown = sorted(set(self.highlight) - set(keys))
        if unknown:
            raise ValueError(f"Scene: highlight names keys that no item has: {unknown}")
        for it in self.items:
            if isinstance(it, Text) and it.size < self.min_font:
                raise ValueError(f"Text {it.key!r}: size {it.size} is below the scene's "
                                 f"min_font {self.min_font}")
        for name, members in self.groups.items():
            missing = sorted(set(members) - set(keys))
            if missing:
                raise ValueError(f"Scene: group {name!r} names keys that no item has: {missing}")

    def item(self, key: str):
        for it in self.items:
            if it.key == key:
                return it
        raise KeyError(f"no item {key!r} in the scene; keys: {[i.key for i in self.items]}")

    def texts(self) -> list:
        return [it for it in self.items if isinstance(it, Text)]

    def with_highlight(self, keys) -> "Scene":
        return Scene(self.width, self.height, self.items, frozenset(keys), self.min_font,
                     dict(self.groups))


# ----------------------------------------------------------- text markup

_TOKEN = re.compile(r"([_^])\{([^{}]*)\}")


def runs(markup: str) -> list:
    """Split markup into runs ``(text, level)``: level 0 normal, -1 subscript, +1 superscript.

    >>> runs("c_{t−1} + x^{2}")
    [('c', 0), ('t−1', -1), (' + x', 0), ('2', 1)]
    """
    if not isinstance(markup, str):
        raise TypeError(f"text markup: expected a str, got {type(markup).__name__}")
    out, pos = [], 0
    for m in _TOKEN.finditer(markup):
        if m.start() > pos:
            out.append((markup[pos:m.start()], 0))
        out.append((m.group(2), -1 if m.group(1) == "_" else 1))
        pos = m.end()
    if pos < len(markup):
        out.append((markup[pos:], 0))
    rest = _TOKEN.sub("", markup)
    if "_{" in rest or "^{" in rest or "{" in rest or "}" in rest:
        raise ValueError(f"text markup {markup!r}: unbalanced or nested braces "
                         f"(write c_{{t−1}}, one level only)")
    return out


def plain(markup: str) -> str:
    """The markup's characters without sub/superscript marks (for alt text and ids)."""
    return "".join(t for t, _ in runs(markup))


def sub_size(size: float, min_font: float) -> float:
    return round(max(size * SUB_RATIO, min_font), 2)


def text_width(t: Text, min_font: float = 0.0) -> float:
    """A generous estimate of the text's width in units (CHAR_EM per character)."""
    w = 0.0
    for s, level in runs(t.markup):
        size = t.size if level == 0 else sub_size(t.size, min_font)
        w += len(s.replace("\u0303", "")) * CHAR_EM * size
    return w


def text_box(t: Text, min_font: float = 0.0) -> tuple:
    """An estimated (x0, y0, x1, y1) box of a text item, in units."""
    w = text_width(t, min_font)
    x0 = {"start": t.x, "middle": t.x - w / 2, "end": t.x - w}[t.anchor]
    has_sub = any(level < 0 for _, level in runs(t.markup))
    return (x0, t.y - 0.8 * t.size, x0 + w, t.y + (0.45 if has_sub else 0.22) * t.size)


def wrap(text: str, size: float, width: float) -> list:
    """Split plain text into lines no wider than ``width`` units (by the CHAR_EM estimate)."""
    per_line = max(8, int(width / (CHAR_EM * size)))
    lines, cur = [], ""
    for word in text.split():
        cand = f"{cur} {word}".strip()
        if cur and len(plain(cand)) > per_line:
            lines.append(cur)
            cur = word
        else:
            cur = cand
    if cur:
        lines.append(cur)
    return lines


# ---------------------------------------------------------------- geometry

def arrowhead(points, length: float = HEAD) -> tuple:
    """The three corners of an arrowhead at the end of the polyline ``points``."""
    (x0, y0), (x1, y1) = points[-2], points[-1]
    dx, dy = x1 - x0, y1 - y0
    d = math.hypot(dx, dy) or 1.0
    ux, uy = dx / d, dy / d
    bx, by = x1 - ux * length, y1 - uy * length
    half = length * 0.45
    return ((x1, y1), (bx - uy * half, by + ux * half), (bx + uy * half, by - ux * half))


def _shorten(points, length: float) -> list:
    """The polyline with its last segment pulled back by ``length`` (room for the head)."""
    pts = [tuple(p) for p in points]
    (x0, y0), (x1, y1) = pts[-2], pts[-1]
    d = math.hypot(x1 - x0, y1 - y0) or 1.0
    pts[-1] = (x1 - (x1 - x0) / d * length * 0.8, y1 - (y1 - y0) / d * length * 0.8)
    return pts


def _n(v: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros (stable output)."""
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


# --------------------------------------------------------------------- SVG

def _attrs(**kw) -> str:
    out = []
    for k, v in kw.items():
        if v is None:
            continue
        k = k.rstrip("_").replace("_", "-")
        out.append(f'{k}="{html.escape(str(v), quote=True)}"')
    return " ".join(out)


def _svg_text(t: Text, min_font: float, on: bool) -> str:
    parts, level_now = [], 0
    small = sub_size(t.size, min_font)
    for s, level in runs(t.markup):
        if level == level_now == 0:
            parts.append(html.escape(s))
            continue
        shift = {0: 0.0, -1: 0.32, 1: -0.42}
        dy = (shift[level] - shift[level_now]) * t.size
        size = t.size if level == 0 else small
        parts.append(f'<tspan {_attrs(dy=_n(dy), font_size=_n(size))}>{html.escape(s)}</tspan>')
        level_now = level
    cls = "tx" + (" on" if on else "")
    return (f'<text {_attrs(class_=cls, data_k=t.key, x=_n(t.x), y=_n(t.y), font_size=_n(t.size), text_anchor=t.anchor, font_family=FONTS[t.font], font_style="italic" if (t.italic or t.font == "var") else None, font_weight="bold" if t.bold else None, fill=TEXT_COLOR)}>'
            f'{"".join(parts)}</text>')


def _svg_item(it, on: bool, min_font: float) -> str:
    cls_on = " on" if on else ""
    if isinstance(it, Path):
        colour = HIGHLIGHT_COLOR if on else DIM_COLOR
        width = HIGHLIGHT_WIDTH if on else DIM_WIDTH
        pts = _shorten(it.points, HEAD) if it.arrow else it.points
        body = (f'<polyline {_attrs(points=" ".join(f"{_n(x)},{_n(y)}" for x, y in pts), fill="none", stroke=colour, stroke_width=_n(width), stroke_linecap="round", stroke_linejoin="round", stroke_dasharray="7 5" if it.dashed else None)}/>')
        if it.arrow:
            head = arrowhead(it.points)
            body += f'<polygon {_attrs(class_="hd", points=" ".join(f"{_n(x)},{_n(y)}" for x, y in head), fill=colour)}/>'
        return f'<g {_attrs(class_="ln" + (" dash" if it.dashed else "") + cls_on, data_k=it.key)}>{body}</g>'
    if isinstance(it, Box):
        return (f'<rect {_attrs(class_="bx" + cls_on, data_k=it.key, x=_n(it.x - it.w / 2), y=_n(it.y - it.h / 2), width=_n(it.w), height=_n(it.h), rx=_n(it.r), fill=HIGHLIGHT_FILL if on else "#FFFFFF", stroke=HIGHLIGHT_COLOR if on else DIM_COLOR, stroke_width=_n(BOX_WIDTH_ON if on else DIM_WIDTH))}/>')
    if isinstance(it, Node):
        circ = f'<circle {_attrs(class_="nd" + cls_on, data_k=it.key, cx=_n(it.x), cy=_n(it.y), r=_n(it.r), fill=HIGHLIGHT_FILL if on else "#FFFFFF", stroke=HIGHLIGHT_COLOR if on else DIM_COLOR, stroke_width=_n(BOX_WIDTH_ON if on else DIM_WIDTH))}/>'
        sym = Text(it.key + ":symbol", it.x, it.y + it.size * 0.36, it.symbol, it.size, font="word", bold=True)
        return circ + _svg_text(sym, min_font, False)
    if isinstance(it, Dot):
        return f'<circle {_attrs(class_="dt" + cls_on, data_k=it.key, cx=_n(it.x), cy=_n(it.y), r=_n(it.r), fill=HIGHLIGHT_COLOR if on else DIM_COLOR)}/>'
    if isinstance(it, Frame):
        return f'<rect {_attrs(class_="fr", data_k=it.key, x=_n(it.x), y=_n(it.y), width=_n(it.w), height=_n(it.h), rx=_n(it.r), fill=FRAME_FILL, stroke=FRAME_EDGE, stroke_width=1)}/>'
    if isinstance(it, Text):
        return _svg_text(it, min_font, on)
    raise TypeError(f"cannot draw {type(it).__name__}")


@dataclass(frozen=True)
class Group:
    """A clickable group of a scene's items (an interactive drawing's part).

    ``hit`` is the area that takes clicks and shows the focus ring:
    ``("rect", x, y, w, h)`` or ``("circle", cx, cy, r)``; ``label`` is its
    accessible name.
    """
    name: str
    label: str
    hit: tuple


def to_svg(scene: Scene, *, scale: float = 1.0, title: str = "", css_class: str = "",
           groups: Sequence[Group] = (), background: str | None = "#FFFFFF",
           responsive: bool = False, role: str = "img") -> str:
    """The scene as an SVG document (a string).

    scale: the drawing's natural size is ``scale`` x (width, height) pixels.
    title: the accessible name (a ``<title>`` and ``aria-label``); required
      for ``role="img"``.
    groups: clickable parts (see :class:`Group`), each the items of
      ``scene.groups[name]``, drawn after every other item, as
      ``<g role="button" tabindex="0">`` with a transparent hit area and a
      focus ring (both styled by the page's stylesheet); the group's texts
      are drawn over it, outside the button, ``aria-hidden`` and letting
      clicks through.
    responsive: width 100% of the container, up to the natural size.
    """
    if role == "img" and not title.strip():
        raise ValueError("to_svg: a drawing shown as an image needs a title (its alt text), got none")
    on = scene.highlight
    grouped = {k: g.name for g in groups for k in scene.groups.get(g.name, ())}
    for g in groups:
        if g.name not in scene.groups:
            raise ValueError(f"to_svg: group {g.name!r} is not one of the scene's groups "
                             f"{sorted(scene.groups)}")
    w, h = scene.width * scale, scene.height * scale
    size = (_attrs(width="100%", style=f"max-width:{_n(w)}px;height:auto") if responsive
            else _attrs(width=_n(w), height=_n(h)))
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" {_attrs(class_=css_class or None)} '
            f'viewBox="0 0 {_n(scene.width)} {_n(scene.height)}" {size} '
            f'{_attrs(role=role, aria_label=title or None)}>')
    out = [head]
    if title:
        out.append(f"<title>{html.escape(title)}</title>")
    if background:
        out.append(f'<rect class="bg" width="100%" height="100%" fill="{background}"/>')
    for it in scene.items:
        if it.key not in grouped:
            out.append(_svg_item(it, it.key in on, scene.min_font))
    for g in groups:
        members = [it for it in scene.items if it.key in set(scene.groups[g.name])]
        shape, *geo = g.hit
        if shape == "rect":
            x, y, gw, gh = geo
            hit = _attrs(x=_n(x), y=_n(y), width=_n(gw), height=_n(gh), rx=6)
            ring = _attrs(x=_n(x - 2), y=_n(y - 2), width=_n(gw + 4), height=_n(gh + 4), rx=8)
            tag = "rect"
        elif shape == "circle":
            cx, cy, r = geo
            hit, ring, tag = _attrs(cx=_n(cx), cy=_n(cy), r=_n(r)), _attrs(cx=_n(cx), cy=_n(cy), r=_n(r + 2)), "circle"
        else:
            raise ValueError(f"Group {g.name!r}: hit must be ('rect', x, y, w, h) or "
                             f"('circle', cx, cy, r), got {g.hit!r}")
        out.append(f'<g {_attrs(class_="pt", role="button", tabindex=0, aria_pressed="false", aria_label=g.label, data_part=g.name)}>')
        out.extend(_svg_item(it, it.key in on, scene.min_font) for it in members if not isinstance(it, Text))
        out.append(f'<{tag} class="hit" {hit} fill="#000" fill-opacity="0"/>')
        out.append(f'<{tag} class="ring" {ring} fill="none" stroke="none"/>')
        out.append("</g>")
        # The part's words and symbols are drawn over its button but outside it, hidden
        # from assistive technology and letting clicks through to the button: its name is
        # its label, and a name that leaves out text shown inside the button fails
        # WCAG 2.5.3 (axe-core: label-content-name-mismatch).
        texts = [it for it in members if isinstance(it, Text)]
        if texts:
            out.append('<g aria-hidden="true" pointer-events="none">')
            out.extend(_svg_item(it, it.key in on, scene.min_font) for it in texts)
            out.append("</g>")
    out.append("</svg>")
    return "".join(out)


# -------------------------------------------------------------- matplotlib

_MATH = {"σ": r"\sigma", "⊙": r"\odot", "−": "-", "×": r"\times", "∂": r"\partial",
         "⋯": r"\cdots", "ℓ": r"\ell", "·": r"\cdot", "→": r"\rightarrow", "←": r"\leftarrow",
         "ℝ": r"\mathbb{R}", "Σ": r"\Sigma", "≈": r"\approx"}


def _math_escape(s: str, regular: bool) -> str:
    out = []
    for k, ch in enumerate(s):
        if ch == "\u0303":
            continue
        if k + 1 < len(s) and s[k + 1] == "\u0303":
            out.append(r"\tilde{" + ch + "}")
        elif ch in _MATH:
            out.append(_MATH[ch] + (" " if _MATH[ch].startswith("\\") else ""))
        elif ch == " ":
            out.append(r"\ " if regular else " ")
        elif ch in "#$%&{}":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def mathtext(t: Text) -> str:
    """The text as a matplotlib string: mathtext for symbols and sub/superscripts."""
    rs = runs(t.markup)
    if t.font == "word" and all(level == 0 for _, level in rs) and "\u0303" not in t.markup:
        return t.markup.replace("$", r"\$")
    regular = t.font != "var"
    body = ""
    for s, level in rs:
        e = _math_escape(s, regular)
        body += e if level == 0 else ("_{" if level < 0 else "^{") + e + "}"
    return f"$\\mathregular{{{body}}}$" if regular else f"${body}$"


def to_figure(scene: Scene, *, scale: float = 1.0):
    """The scene drawn with matplotlib: a ``Figure`` (not registered with pyplot).

    One unit is one point at ``scale=1``; every artist's ``gid`` is its item's
    key, lines of highlighted paths are ``HIGHLIGHT_WIDTH`` wide, the others
    ``DIM_WIDTH`` (times ``scale``).
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle, FancyBboxPatch, Polygon

    s = scale
    fig = Figure(figsize=(scene.width * s / 72, scene.height * s / 72), facecolor="white",
                 layout="none")
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, scene.width)
    ax.set_ylim(scene.height, 0)
    ax.set_axis_off()
    on = scene.highlight
    ha = {"start": "left", "middle": "center", "end": "right"}
    for z, it in enumerate(scene.items):
        lit = it.key in on
        if isinstance(it, Path):
            colour = HIGHLIGHT_COLOR if lit else DIM_COLOR
            pts = _shorten(it.points, HEAD) if it.arrow else it.points
            ln = Line2D([p[0] for p in pts], [p[1] for p in pts], color=colour,
                        linewidth=(HIGHLIGHT_WIDTH if lit else DIM_WIDTH) * s,
                        linestyle=(0, (7 / DIM_WIDTH, 5 / DIM_WIDTH)) if it.dashed else "solid",
                        solid_capstyle="round", zorder=3 if lit else 2)
            ln.set_gid(it.key)
            ax.add_line(ln)
            if it.arrow:
                hd = Polygon(arrowhead(it.points), closed=True, facecolor=colour, edgecolor="none",
                             zorder=3 if lit else 2)
                hd.set_gid(it.key)
                ax.add_patch(hd)
        elif isinstance(it, (Box, Frame)):
            frame = isinstance(it, Frame)
            x0, y0 = (it.x, it.y) if frame else (it.x - it.w / 2, it.y - it.h / 2)
            p = FancyBboxPatch((x0, y0), it.w, it.h, boxstyle=f"round,pad=0,rounding_size={it.r}",
                               facecolor=FRAME_FILL if frame else (HIGHLIGHT_FILL if lit else "white"),
                               edgecolor=FRAME_EDGE if frame else (HIGHLIGHT_COLOR if lit else DIM_COLOR),
                               linewidth=(1.0 if frame else (BOX_WIDTH_ON if lit else DIM_WIDTH)) * s,
                               zorder=0 if frame else 4)
            p.set_gid(it.key)
            ax.add_patch(p)
        elif isinstance(it, Node):
            c = Circle((it.x, it.y), it.r, facecolor=HIGHLIGHT_FILL if lit else "white",
                       edgecolor=HIGHLIGHT_COLOR if lit else DIM_COLOR,
                       linewidth=(BOX_WIDTH_ON if lit else DIM_WIDTH) * s, zorder=4)
            c.set_gid(it.key)
            ax.add_patch(c)
            t = ax.text(it.x, it.y + 0.5, it.symbol, ha="center", va="center", fontsize=it.size * s,
                        fontweight="bold", color=TEXT_COLOR, zorder=6)
            t.set_gid(it.key + ":symbol")
        elif isinstance(it, Dot):
            c = Circle((it.x, it.y), it.r, color=HIGHLIGHT_COLOR if lit else DIM_COLOR, zorder=5)
            c.set_gid(it.key)
            ax.add_patch(c)
        elif isinstance(it, Text):
            t = ax.text(it.x, it.y, mathtext(it), ha=ha[it.anchor], va="baseline",
                        fontsize=it.size * s, color=TEXT_COLOR, zorder=6,
                        fontweight="bold" if it.bold else "normal",
                        style="italic" if it.italic else "normal",
                        family="serif" if it.font != "word" else "sans-serif")
            t.set_gid(it.key)
    return fig


def png_bytes(scene: Scene, *, scale: float = 1.0, dpi: int = 144) -> bytes:
    """PNG bytes of :func:`to_figure` (``dpi=144`` is a 2x raster of ``scale`` x 72 dpi)."""
    buf = io.BytesIO()
    to_figure(scene, scale=scale).savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


# ---------------------------------------------------------- figure output

class SceneFigure:
    """A still drawing for a notebook: SVG for the website, a 2x PNG for the rest.

    Displayed in a notebook it is one output with ``image/svg+xml`` (what the
    website and a trusted JupyterLab show), ``image/png`` (what a PDF build and
    an untrusted notebook show) and ``text/plain`` (its alt text). The
    chapter's caption and alt text for the website live in the cell's
    ``mystnb`` metadata; ``alt`` is also written into the SVG's ``<title>``.
    """

    def __init__(self, scene: Scene, alt: str, *, scale: float = 1.5, png=None):
        if not isinstance(alt, str) or not alt.strip():
            raise ValueError("alt: expected the figure's alt text (what it shows), got "
                             f"{alt!r}")
        if not (isinstance(scale, (int, float)) and 0.25 <= scale <= 4):
            raise ValueError(f"scale: expected a number in [0.25, 4], got {scale!r}")
        self.scene, self.alt, self.scale = scene, alt.strip(), float(scale)
        self._png = png       # optional: a function returning these PNG bytes (a cache)

    @property
    def width(self) -> float:
        """Displayed width in CSS pixels (the natural size; narrower screens shrink it)."""
        return self.scene.width * self.scale

    @property
    def height(self) -> float:
        return self.scene.height * self.scale

    def svg(self) -> str:
        return to_svg(self.scene, scale=self.scale, title=self.alt)

    def png(self) -> bytes:
        """PNG bytes: a 2x raster of the displayed size."""
        return self._png() if self._png else png_bytes(self.scene, scale=self.scale, dpi=144)

    def figure(self):
        return to_figure(self.scene, scale=self.scale)

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {"image/svg+xml": self.svg(),
                "image/png": base64.b64encode(self.png()).decode("ascii"),
                "text/plain": self.alt}
        meta = {"image/png": {"width": round(self.width), "height": round(self.height)}}
        return data, meta

    def __repr__(self) -> str:
        return self.alt
