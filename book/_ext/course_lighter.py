"""Lighter pages: the same page in fewer bytes, nothing a reader sees changed.

Run after the build (``build-finished``) over the written output; each step is
idempotent, so pages an incremental build did not rewrite are left as they are.
Measured by tests/test_site.py (the page budget) and checked by
tests/test_lighter.py (the page draws and reads the same).

* The kernel-free explorers' frames: a notebook stores them as JSON (what
  nbval compares and JupyterLab reads); the site stores the same JSON gzipped
  and base64-encoded (a quarter of the bytes), and ``explorer.js`` unpacks it
  with the browser's DecompressionStream. The explorer's script, inlined by
  each notebook output, becomes one shared file (``_static/explorer.js``).
* Python listings: Pygments wraps every name and punctuation mark in a
  ``<span>`` whose only style is the listing's own colour, in both themes.
  Those spans are dropped (the classes are read from the built
  ``pygments.css``, so another style keeps every span it colours), and
  ``course.css`` draws a listing's own text in that colour.
* Figures (Matplotlib SVG): no metadata block, no indentation, path and
  text coordinates rounded to 0.01 pt (a figure is about 460 pt wide), no
  ``rotate(-0 ...)``, and the main font family named in a stylesheet rule,
  not on every glyph.
* MyST-NB's stylesheet without its rules for ANSI-coloured output when no
  page has any (a third of its bytes).
"""
from __future__ import annotations

import base64
import gzip
import json
import os
import re
from importlib import resources
from pathlib import Path

EXPLORER_JS = "explorer.js"             # under _static

# ------------------------------------------------------------------ explorers

_DATA = re.compile(r'<script type="application/json" class="lstmx-data">(.*?)</script>', re.S)
_INLINE = re.compile(r"<script>\n\(function\(\)\{\nif\(!window\.lstmxDraw\).*?</script>", re.S)


def pack_explorers(markup: str, script_href: str) -> str:
    """``markup`` with each explorer's data gzipped (base64) and its script a shared file."""
    def pack(m):
        text = m.group(1)
        json.loads(text)        # only JSON is packed: anything else is a bug upstream
        blob = base64.b64encode(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
        return ('<script type="application/octet-stream" class="lstmx-data" '
                f'data-encoding="gzip+base64">{blob.decode("ascii")}</script>')
    markup = _DATA.sub(pack, markup)
    return _INLINE.sub(f'<script src="{script_href}"></script>', markup)


def unpack_explorer_data(blob: str) -> dict:
    """What the browser recovers from :func:`pack_explorers`'s data (for tests)."""
    return json.loads(gzip.decompress(base64.b64decode(blob)).decode("utf-8"))


# ------------------------------------------------------------------ code listings

_RULE = re.compile(r'(?:html\[data-theme="(?P<theme>\w+)"\]\s*)?\.highlight(?:\s+\.(?P<cls>[\w-]+))?'
                   r'\s*\{(?P<body>[^}]*)\}')


def _declarations(body: str) -> dict:
    out = {}
    for part in body.split(";"):
        if ":" in part:
            key, value = part.split(":", 1)
            out[key.strip().lower()] = value.strip().lower()
    return out


def plain_token_classes(pygments_css: str) -> set[str]:
    """Pygments token classes styled, in every theme, only with the listing's own colour."""
    base, styled = {}, {}
    for m in _RULE.finditer(pygments_css):
        theme, cls, decl = m.group("theme") or "", m.group("cls"), _declarations(m.group("body"))
        if cls is None:
            if "color" in decl:
                base[theme] = decl["color"]
        else:
            styled.setdefault(cls, {}).setdefault(theme, {}).update(decl)
    if not base:
        return set()
    plain = set()
    for cls, themes in styled.items():
        if set(themes) == set(base) and all(
                themes[t] == {"color": base[t]} for t in base):
            plain.add(cls)
    return plain


# Python listings only (code cells and library listings), not outputs: course.css draws
# these listings' own text in the listing colour, which is what the dropped spans said.
LISTINGS = ("python", "ipython3")
_PRE = re.compile(r'(<div class="highlight-(?:' + "|".join(LISTINGS) + r') notranslate">'
                  r'<div class="highlight"><pre>)(.*?)(</pre>)', re.S)


def unwrap_plain_spans(markup: str, classes: set[str]) -> str:
    """Python listings in ``markup`` without the spans of ``classes`` (their text kept)."""
    if not classes:
        return markup
    span = re.compile(r'<span class="(?:' + "|".join(map(re.escape, sorted(classes)))
                      + r')">([^<]*)</span>')
    return _PRE.sub(lambda m: m.group(1) + span.sub(r"\1", m.group(2)) + m.group(3), markup)


# ------------------------------------------------------------------ figures

_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
_COORDS = re.compile(r'\b(d|x|y|points)="([^"]*)"')
_LONG = re.compile(r"(-?\d+\.\d\d)\d+")


def _round(value: str) -> str:
    value = _LONG.sub(r"\1", value)
    return re.sub(r"(\d+\.\d*?)0+\b", lambda m: m.group(1).rstrip("."), value)


_TEXT_TAG = re.compile(r"<(?:text|tspan)\b[^>]*>")
_FAMILY = re.compile(r";? ?font-family: ([^;\"]+)")


def _hoist_font_family(svg: str) -> str:
    """The most used font family said once (a stylesheet rule), not on every glyph.

    Only when every tspan, and every text with characters of its own (not only
    tspans), names a family inline: the rule then gives each glyph that had
    this family the same family, and any other family stays inline (an inline
    style wins over a rule).
    """
    for m in re.finditer(r"(<text\b[^>]*>)(.*?)</text>", svg, re.S):
        own = re.sub(r"<tspan\b[^>]*>.*?</tspan>", "", m.group(2), flags=re.S).strip()
        spans = re.findall(r"<tspan\b[^>]*>", m.group(2))
        if not all(_FAMILY.search(t) for t in spans) or (own and not _FAMILY.search(m.group(1))):
            return svg
    named = [f for t in _TEXT_TAG.findall(svg) for f in _FAMILY.findall(t)]
    style = '<style type="text/css">'
    if not named or style not in svg:
        return svg
    family = max(set(named), key=named.count)

    def strip(m):
        tag = _FAMILY.sub(lambda f: "" if f.group(1) == family else f.group(0), m.group(0))
        return tag.replace(' style=""', "").replace('style="; ', 'style="')
    svg = _TEXT_TAG.sub(strip, svg)
    return svg.replace(style, f"{style}text,tspan{{font-family:{family}}}", 1)


_NO_ROTATION = re.compile(r' transform="rotate\(-?0 [-\d.]+ [-\d.]+\)"')


def lighter_svg(svg: str) -> str:
    """A Matplotlib SVG without metadata, indentation or turns by zero degrees,
    coordinates to 0.01 pt, and its main font family named once."""
    svg = _METADATA.sub("", svg)
    svg = re.sub(r"\n[ \t]+", "\n", svg)
    svg = _COORDS.sub(lambda m: f'{m.group(1)}="{_round(m.group(2))}"', svg)
    svg = _NO_ROTATION.sub("", svg)          # a turn by zero degrees about any point
    return _hoist_font_family(svg)


# ------------------------------------------------------------------ notebook styles

_ANSI_RULE = re.compile(r"(?:^|(?<=\}))\s*[^{}]*\.-Color\b[^{}]*\{[^{}]*\}")


def drop_ansi_colours(css: str, pages: list[str]) -> str:
    """MyST-NB's ~250 rules for ANSI-coloured output, dropped when no page has any."""
    if any("-Color" in page for page in pages):
        return css
    return _ANSI_RULE.sub("", css)


# ------------------------------------------------------------------ the build step

def _pages(out: Path) -> list[Path]:
    return [p for p in out.rglob("*.html") if not {"_static", "_sources"} & set(p.parts)]


def _lighten(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    static = out / "_static"
    source = resources.files("lstm_lib.viz") / "static" / EXPLORER_JS
    (static / EXPLORER_JS).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    css = static / "pygments.css"
    plain = plain_token_classes(css.read_text(encoding="utf-8")) if css.exists() else set()
    texts = []
    for page in _pages(out):
        text = page.read_text(encoding="utf-8")
        href = Path(os.path.relpath(static / EXPLORER_JS, page.parent)).as_posix()
        new = unwrap_plain_spans(pack_explorers(text, href), plain)
        if new != text:
            page.write_text(new, encoding="utf-8")
        texts.append(new)
    for sheet in static.glob("mystnb.*.css"):
        text = sheet.read_text(encoding="utf-8")
        new = drop_ansi_colours(text, texts)
        if new != text:
            sheet.write_text(new, encoding="utf-8")
    for figure in (out / "_images").glob("*.svg"):
        text = figure.read_text(encoding="utf-8")
        new = lighter_svg(text)
        if new != text:
            figure.write_text(new, encoding="utf-8")


def setup(app):
    # after course_site's build-finished steps (they typeset maths and read the pages)
    app.connect("build-finished", _lighten, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
