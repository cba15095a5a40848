"""book/_ext/course_lighter.py: the same page in fewer bytes, nothing a reader sees changed.

Unit tests of each step on small inputs, then checks on the built site: the
explorers' data unpacks to exactly what the notebooks store, listings keep
their colours in both themes, and figures keep their drawing.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import course_lighter as cl  # noqa: E402

from test_site import SITE, browser, site, wait_for_explorers  # noqa: E402,F401  (fixtures)

PYGMENTS = """
html[data-theme="light"] .highlight { background: #fefefe; color: #080808 }
html[data-theme="light"] .highlight .k { color: #6730C5 } /* Keyword */
html[data-theme="light"] .highlight .n { color: #080808 } /* Name */
html[data-theme="light"] .highlight .p { color: #080808 } /* Punctuation */
html[data-theme="light"] .highlight .gh { color: #080808; font-weight: bold }
html[data-theme="light"] .highlight .x { color: #080808 }
html[data-theme="dark"] .highlight { background: #2b2b2b; color: #F8F8F2 }
html[data-theme="dark"] .highlight .k { color: #DCC6E0 }
html[data-theme="dark"] .highlight .n { color: #F8F8F2 }
html[data-theme="dark"] .highlight .p { color: #F8F8F2 }
html[data-theme="dark"] .highlight .gh { color: #F8F8F2; font-weight: bold }
html[data-theme="dark"] .highlight .x { color: #ABE338 }
"""


def test_plain_classes_are_those_with_only_the_listing_colour_in_every_theme():
    # .gh is bold, .x is coloured in the dark theme, .k everywhere: all kept
    assert cl.plain_token_classes(PYGMENTS) == {"n", "p"}
    assert cl.plain_token_classes("") == set()
    one_theme = ".highlight { color: #111 }\n.highlight .n { color: #111 }\n.highlight .o { color: #f00 }"
    assert cl.plain_token_classes(one_theme) == {"n"}


def test_unwrap_only_inside_listings_and_keeps_the_text():
    output = '<div class="highlight-myst-ansi notranslate"><div class="highlight"><pre><span class="n">1</span></pre></div></div>'
    page = ('<p><span class="n">prose</span></p><div class="highlight-python notranslate">'
            '<div class="highlight"><pre><span></span>'
            '<span class="k">def</span> <span class="n">f</span><span class="p">(</span>'
            '<span class="n">x</span><span class="p">):</span></pre></div></div>' + output)
    out = cl.unwrap_plain_spans(page, {"n", "p"})
    assert out == ('<p><span class="n">prose</span></p><div class="highlight-python notranslate">'
                   '<div class="highlight"><pre><span></span>'
                   '<span class="k">def</span> f(x):</pre></div></div>' + output)
    assert re.sub("<[^>]+>", "", out) == re.sub("<[^>]+>", "", page)
    assert cl.unwrap_plain_spans(out, {"n", "p"}) == out            # idempotent
    assert cl.unwrap_plain_spans(page, set()) == page


def test_explorer_data_round_trips_and_the_script_becomes_shared():
    data = {"frames": [["f = 0.5", [[0, 1, [[0, 0, 1]]]]]], "arrays": [[0, 1, 2], [1, 0.5, 0.25]],
            "parts": [{"label": "c_t </b>"}], "text": "ü"}
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    page = (f'<div class="lstmx" id="x" data-lstmx="1"><svg></svg>'
            f'<script type="application/json" class="lstmx-data">{payload}</script>'
            f'<script>\n(function(){{\nif(!window.lstmxDraw){{ var a=1; }}\n}})();</script></div>')
    out = cl.pack_explorers(page, "../_static/explorer.js")
    blob = re.search(r'data-encoding="gzip\+base64">([A-Za-z0-9+/=]+)</script>', out).group(1)
    assert cl.unpack_explorer_data(blob) == data
    assert '<script src="../_static/explorer.js"></script></div>' in out
    assert "lstmxDraw" not in out and "application/json" not in out
    assert cl.pack_explorers(out, "../_static/explorer.js") == out   # idempotent
    with pytest.raises(json.JSONDecodeError):
        cl.pack_explorers('<script type="application/json" class="lstmx-data">{oops</script>', "e.js")


SVG = """<?xml version="1.0" encoding="utf-8" standalone="no"?>
<svg xmlns="http://www.w3.org/2000/svg" width="316.8pt" height="475.2pt" viewBox="0 0 316.8 475.2" version="1.1">
 <metadata>
  <rdf:RDF><cc:Work><dc:title>Matplotlib v3.11.2</dc:title></cc:Work></rdf:RDF>
 </metadata>
 <defs>
  <style type="text/css">*{stroke-linejoin: round; stroke-linecap: butt}</style>
 </defs>
 <g id="axes_1">
  <path d="M 54.203052 181.062489 L 313.79976 18.1 z" style="fill: #ffffff; stroke-width: 0.8"/>
  <use xlink:href="#m0a1" x="66.002903" y="181.062489" style="fill: #0072b2"/>
  <text><tspan x="0" y="-0.919" style="font-size: 12px; font-family: 'DejaVu Sans'">1</tspan>
   <tspan x="7.634766" y="-5.875" style="font-size: 8.4px; font-family: 'DejaVu Sans'">−</tspan></text>
 </g>
</svg>
"""


def test_lighter_svg_keeps_the_drawing():
    out = cl.lighter_svg(SVG)
    assert "<metadata>" not in out and "\n " not in out
    assert 'd="M 54.2 181.06 L 313.79 18.1 z"' in out            # 0.01 pt, truncated
    assert 'x="66" y="181.06"' in out and 'x="7.63" y="-5.87"' in out
    assert 'viewBox="0 0 316.8 475.2"' in out and 'stroke-width: 0.8' in out   # not coordinates
    assert "text,tspan{font-family:'DejaVu Sans'}" in out and "font-family: 'DejaVu" not in out
    assert 'style="font-size: 12px"' in out and 'style="font-size: 8.4px"' in out
    nums = lambda s, attr: [float(v) for a in re.findall(rf'\b{attr}="([^"]*)"', s)
                            for v in re.findall(r"-?\d+\.?\d*", a)]
    for attr in ("d", "x", "y"):
        before, after = nums(SVG, attr), nums(out, attr)
        assert len(before) == len(after) and max(abs(a - b) for a, b in zip(before, after)) < 0.01
    assert cl.lighter_svg(out) == out                                # idempotent


def test_font_family_stays_where_text_differs():
    two = SVG.replace("font-size: 8.4px; font-family: 'DejaVu Sans'", "font-size: 8.4px; font-family: 'DejaVu Serif'")
    out = cl.lighter_svg(two)
    rule = re.search(r"text,tspan\{font-family:([^}]*)\}", out).group(1)
    inline = re.findall(r"font-family: ([^;\"]+)", out)
    assert sorted(inline + [rule]) == ["'DejaVu Sans'", "'DejaVu Serif'"]   # one each way
    bare = SVG.replace("font-size: 8.4px; font-family: 'DejaVu Sans'", "font-size: 8.4px")
    assert "text,tspan{" not in cl.lighter_svg(bare)           # one text inherits: leave it


def test_ansi_rules_dropped_only_when_no_page_has_colour():
    css = (".cell_output { color: red }\ndiv.highlight .-Color-Bold {\n  font-weight: bold;\n}\n"
           "div.highlight .-Color[class*=-C254] {\n  color: #e4e4e4;\n}\n.tail { margin: 0 }\n")
    assert cl.drop_ansi_colours(css, ["<p>plain</p>"]) == ".cell_output { color: red }\n.tail { margin: 0 }\n"
    assert cl.drop_ansi_colours(css, ['<span class="-Color -Color-Red">x</span>']) == css


# --------------------------------------------------------------------- the built site

def _chapter_pages():
    return sorted((SITE / "book").glob("*.html")) if SITE.exists() else []


def test_site_explorers_store_what_the_notebooks_store(site):  # noqa: F811
    """Every explorer on the site unpacks to the JSON its notebook's output holds."""
    stored = {}
    for nb in sorted((ROOT / "book").glob("*.ipynb")):
        text = nb.read_text(encoding="utf-8")
        for m in re.finditer(r'class=\\"lstmx\\" id=\\"(lstmx-[0-9a-f]+)\\".*?'
                             r'class=\\"lstmx-data\\">(.*?)</script>', text, re.S):
            stored[m.group(1)] = json.loads(json.loads(f'"{m.group(2)}"'))
    assert stored, "no explorer found in the notebooks"
    seen = 0
    for page in _chapter_pages():
        text = page.read_text(encoding="utf-8")
        assert 'class="lstmx-data">' not in text, f"{page.name}: explorer data left unpacked"
        for m in re.finditer(r'<div class="lstmx" id="(lstmx-[0-9a-f]+)".*?data-encoding="gzip\+base64">'
                             r'([A-Za-z0-9+/=]+)</script><script src="\.\./_static/explorer\.js">',
                             text, re.S):
            assert cl.unpack_explorer_data(m.group(2)) == stored[m.group(1)], m.group(1)
            seen += 1
    assert seen == len(stored)
    shipped = (SITE / "_static" / cl.EXPLORER_JS).read_text(encoding="utf-8")
    assert shipped == (ROOT / "lstm_lib" / "viz" / "static" / cl.EXPLORER_JS).read_text(encoding="utf-8")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_listings_keep_their_colours(browser, site, scheme):  # noqa: F811
    """Text left without a span is drawn in the colour its span gave it, in both themes."""
    page = browser.new_context(viewport={"width": 1280, "height": 900},
                               color_scheme=scheme).new_page()
    try:
        page.goto(f"{site}/book/05-lstm-gradients.html", wait_until="load")
        wait_for_explorers(page)
        plain = sorted(cl.plain_token_classes((SITE / "_static" / "pygments.css").read_text()))
        assert {"n", "p"} <= set(plain)
        found = page.evaluate("""classes => [...document.querySelectorAll(
            'div.highlight-python > div.highlight > pre, div.highlight-ipython3 > div.highlight > pre')].map(pre => {
            const own = getComputedStyle(pre).color;
            return classes.map(c => { const s = document.createElement('span'); s.className = c;
                pre.appendChild(s); const col = getComputedStyle(s).color; s.remove(); return [c, col, own]; });
          })""", plain)
        assert found, "no code listing on the page"
        wrong = {(c, col, own) for rows in found for c, col, own in rows if col != own}
        assert wrong == set(), f"{scheme}: unwrapped text would change colour: {sorted(wrong)[:5]}"
        assert page.evaluate("document.documentElement.dataset.theme") == scheme
    finally:
        page.context.close()


def test_the_main_family_is_hoisted_and_others_stay():
    svg = SVG.replace(
        "<text><tspan", "<text style=\"font-size: 12px; font-family: 'DejaVu Sans', 'Bitstream Vera Sans', "
        "sans-serif; text-anchor: middle\" x=\"184\" y=\"12.11\" transform=\"rotate(-0 184.001406 12.118365)\">"
        "at initialization</text><text><tspan")
    out = cl.lighter_svg(svg)
    assert "text,tspan{font-family:'DejaVu Sans'}" in out                 # two of three glyph runs
    assert ("<text style=\"font-size: 12px; font-family: 'DejaVu Sans', 'Bitstream Vera Sans', "
            "sans-serif; text-anchor: middle\" x=\"184\" y=\"12.11\">at initialization</text>") in out
