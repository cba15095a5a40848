"""Text coloured by a value per character: what a recurrent cell does as it reads.

:func:`coloured_text` returns an object that a notebook shows as HTML (every
style inline, no script, no stylesheet: the website, JupyterLab's sanitizer and
a saved notebook all keep it) and as plain text elsewhere. Each character's
background is one of :data:`COLOURS`, a diverging scale from blue (-1) through
a light grey (0) to orange (+1), the pair that stays distinct under the common
colour-vision deficiencies. Every background is light enough that the text
(near-black, set explicitly) has a WCAG contrast ratio of at least 7 on it, in
the site's light and dark modes alike: the block carries its own white
background, as the course's figures do.

Values are binned: bin k of K covers [-1 + 2k/K, -1 + 2(k+1)/K) (values beyond
±1 are clipped). :func:`bin_margin` says how far the values lie from the
nearest edge; a value within a rounding error of an edge could fall into the
other bin on another CPU, so a notebook checks that the margin is far above it.
"""
from __future__ import annotations

import html

import numpy as np

__all__ = ["COLOURS", "TEXT_COLOUR", "coloured_text", "bins", "bin_margin", "contrast_ratio"]

TEXT_COLOUR = "#111111"
#: Backgrounds of the bins, from -1 (blue) through 0 (grey) to +1 (orange).
COLOURS = ["#6baed6", "#9ecae1", "#c6dbef", "#e3edf7", "#f4f4f4",
           "#fdebd3", "#fdd0a2", "#fdae6b", "#f98e3e"]
_FONT = "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px"


def bins(values, k=len(COLOURS)) -> np.ndarray:
    """The bin (0 .. k-1) of each value in [-1, 1] (values outside are clipped)."""
    v = np.clip(np.asarray(values, dtype=np.float64), -1.0, 1.0)
    return np.minimum(np.floor((v + 1.0) * k / 2.0).astype(int), k - 1)


def bin_margin(values, k=len(COLOURS)) -> float:
    """The smallest distance from a value to an edge between two bins (inf if there is no value).

    Only the k - 1 inner edges count: a value near -1 or +1 stays in the end bin
    on either side of it, since values beyond are clipped into that bin.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0 or k < 2:
        return float("inf")
    scaled = (np.clip(v, -1.0, 1.0) + 1.0) * k / 2.0
    edge = np.clip(np.round(scaled), 1, k - 1)
    return float(np.min(np.abs(scaled - edge)) * 2.0 / k)


def _luminance(colour: str) -> float:
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255.0
    lin = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(lin @ np.array([0.2126, 0.7152, 0.0722]))


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two colours given as '#rrggbb' (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


class ColouredText:
    """Text with a background colour per character: HTML for notebooks, plain text otherwise."""

    def __init__(self, text, values, title, caption, legend):
        self.text, self.values = text, np.asarray(values, dtype=np.float64)
        self.title, self.caption, self.legend = title, caption, legend

    def _runs(self):
        b = bins(self.values)
        start = 0
        for k in range(1, len(self.text) + 1):
            if k == len(self.text) or b[k] != b[start]:
                yield self.text[start:k], int(b[start])
                start = k

    def _repr_html_(self) -> str:
        body = "".join(f'<span style="background-color:{COLOURS[b]}">{html.escape(chunk)}</span>'
                       for chunk, b in self._runs())
        legend = "".join(f'<span style="background-color:{c};padding:0 0.6em">&#8203;</span>'
                         for c in COLOURS)
        return (f'<figure style="margin:0.5em 0 1em;padding:0.6em 0.8em;background-color:#ffffff;'
                f'color:{TEXT_COLOUR};border:1px solid #cccccc;border-radius:4px">'
                f'<figcaption style="font-size:14px;margin-bottom:0.4em;'
                f'color:{TEXT_COLOUR}">'   # not the theme's: dark mode's is for a dark page
                f'<strong>{html.escape(self.title)}</strong> {html.escape(self.caption)}'
                f'<span style="display:block;font-size:13px;margin-top:0.2em">'
                f'{html.escape(self.legend[0])} {legend} {html.escape(self.legend[1])}</span>'
                f'</figcaption>'
                f'<pre style="margin:0;white-space:pre-wrap;word-break:break-all;line-height:1.45;'
                f'background-color:#ffffff;color:{TEXT_COLOUR};{_FONT}">{body}</pre></figure>')

    def __repr__(self) -> str:
        return f"{self.title} {self.caption}\n{self.text}"


def coloured_text(text, values, title="", caption="", legend=("-1", "+1")) -> ColouredText:
    """``text`` with each character's background set by its value in [-1, 1].

    values: one number per character. title and caption: shown above the text
    (the caption should say in words what the colours show, for readers who
    cannot tell them apart). legend: the labels at the two ends of the scale.
    """
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str, got {type(text).__name__}")
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (len(text),):
        raise ValueError(f"values: expected one per character, shape ({len(text)},), "
                         f"got {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("values: expected finite numbers, got NaN or inf")
    return ColouredText(text, values, title, caption, tuple(legend))
