"""What is inside the chapter pages, measured in a real browser (headless Chromium).

For every page of the built site, at a desktop width (1280 px) and a phone
width (390 px):

* **figure and explorer text is legible at its displayed size**: every
  ``<text>`` and ``<tspan>`` of every figure (an SVG image, read from its file
  and laid out at the size the page shows it), of every inline SVG in a cell
  output and of every kernel-free explorer is at least ``MIN_TEXT_PX[width]``
  CSS pixels: its font size times the scale at which it is drawn. A raster
  figure must carry its smallest font size in a PNG text chunk
  (``min-font-px``, in pixels of the image) to be measurable; one without it
  fails, unless it is listed in ``NOT_YET_MEASURABLE`` with its reason;
* **explorer panels are stacked on narrow screens**: below
  ``STACK_BELOW_PX`` of explorer width, no two panels sit side by side;
* **no code scrolls sideways at 1280 px**: with every collapsed cell opened,
  no ``<pre>`` (code cells, library listings, printed output) is wider than
  its box;
* **equations fit**: no displayed equation is wider than the box the page
  gives it (except those listed, with the reason, in ``WIDE_EQUATIONS``),
  and no equation number overlaps its equation, at both widths;
* **the explorers' notes read in dark mode**: the explorer's own text has a
  contrast of at least 4.5 against what is behind it.

Each page's measurements (HTML size and how much of it is explorer data,
the smallest figure and explorer text at each width, overflowing code lines
and equations) are written to ``_build/reading/metrics.json`` and printed by
the last test. These budgets hold for every page the course will grow:
new chapters and new explorers are measured the same way.

Needs Chromium, as tests/test_site.py (whose fixtures it uses) does.
"""
from __future__ import annotations

import json
import re
import struct
import zlib
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from test_site import ROOT, SITE, _pages, browser, site, wait_for_explorers  # noqa: F401  (fixtures)

#: the smallest text, in CSS px at the size it is shown, per viewport width
MIN_TEXT_PX = {1280: 11.0, 390: 9.0}
#: an explorer narrower than this shows its panels one above the other
STACK_BELOW_PX = 600
#: contrast of the explorers' own text (WCAG AA for normal text)
MIN_CONTRAST = 4.5
#: figures that cannot be measured yet, with the reason (a name is a figure id or its prefix)
NOT_YET_MEASURABLE: dict[str, str] = {}
#: displayed equations that may be wider than their box at one width, with the reason
#: ("*": every equation of the page). An entry that no longer overflows fails the
#: test, so it is removed as soon as it is not needed.
WIDE_EQUATIONS: dict[tuple[str, str, int], str] = {}
METRICS: dict[str, dict] = {}
OUT = ROOT / "_build" / "reading" / "metrics.json"


def _book_pages() -> list[str]:
    return [p for p in _pages() if p.startswith("book/")]


# ------------------------------------------------------------------ measuring
MEASURE = r"""
async () => {
  const out = {figures: [], inline: [], explorers: [], equations: [], rasters: []};
  const main = document.querySelector('main') || document.body;
  const label = el => {
    const fig = el.closest('figure');
    if (fig && fig.id) return fig.id;
    const lx = el.closest('.lstmx');
    if (lx) return lx.id;
    const cell = el.closest('.cell');
    return cell ? 'cell ' + [...document.querySelectorAll('.cell')].indexOf(cell) : el.tagName;
  };
  // the smallest text of an SVG element laid out in the page: font size times drawn scale
  const smallest = svg => {
    let min = Infinity, n = 0, what = '';
    for (const t of svg.querySelectorAll('text, tspan')) {
      if (t.tagName === 'text' && t.querySelector('tspan')) continue;   // its tspans count
      if (!t.textContent.trim()) continue;
      const m = t.getScreenCTM();
      if (!m) continue;
      const px = parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b);
      n += 1;
      if (px < min) { min = px; what = t.textContent.trim().slice(0, 30); }
    }
    return {min: n ? +min.toFixed(2) : null, n, what};
  };
  // figures shown as SVG images: read the file, lay it out at the shown size, measure
  const box = document.createElement('div');
  box.style.cssText = 'position:absolute;left:-20000px;top:0;visibility:hidden';
  document.body.appendChild(box);
  for (const img of main.querySelectorAll('img')) {
    const cs = getComputedStyle(img);
    const width = img.getBoundingClientRect().width - parseFloat(cs.paddingLeft)
      - parseFloat(cs.paddingRight) - parseFloat(cs.borderLeftWidth) - parseFloat(cs.borderRightWidth);
    const path = new URL(img.src).pathname;
    if (!path.endsWith('.svg')) {
      out.rasters.push({name: label(img), src: path, width, natural: img.naturalWidth});
      continue;
    }
    const text = await (await fetch(img.src)).text();
    const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
    const svg = document.importNode(doc.documentElement, true);
    svg.setAttribute('width', width + 'px');
    svg.removeAttribute('height');
    box.replaceChildren(svg);
    out.figures.push({name: label(img), src: path, width: +width.toFixed(1), ...smallest(svg)});
  }
  box.remove();
  // SVG drawn into the page by cell outputs: explorers and inline figures
  for (const svg of main.querySelectorAll('.cell_output svg')) {
    if (svg.parentElement.closest('svg')) continue;
    const rec = {name: label(svg), width: +svg.getBoundingClientRect().width.toFixed(1),
                 ...smallest(svg)};
    if (svg.closest('.lstmx')) {
      const panels = [...svg.querySelectorAll('.lstmx-panel')].map(g => g.getBoundingClientRect());
      let side = false;
      for (let i = 0; i < panels.length; i++)
        for (let j = i + 1; j < panels.length; j++)
          if (panels[j].top < panels[i].bottom - 1 && panels[i].top < panels[j].bottom - 1) side = true;
      rec.panels = panels.length;
      rec.side_by_side = side;
      rec.box = svg.closest('.lstmx').getBoundingClientRect().width;
      out.explorers.push(rec);
    } else {
      out.inline.push(rec);
    }
  }
  // displayed equations: the box the page gives them, and their number
  for (const div of main.querySelectorAll('div.math')) {
    const mjx = div.querySelector('mjx-container');
    if (!mjx) continue;
    const math = mjx.querySelector('mjx-math') || mjx;
    const eqno = div.querySelector('.eqno');
    const name = eqno ? eqno.textContent.replace('#', '').trim() : (div.id || 'unnumbered');
    const over = mjx.scrollWidth - mjx.clientWidth;
    let overlap = false;
    if (eqno) {
      const a = math.getBoundingClientRect(), b = eqno.getBoundingClientRect();
      overlap = a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
    }
    out.equations.push({name, over, overlap, width: Math.round(math.getBoundingClientRect().width),
                        box: mjx.clientWidth});
  }
  return out;
}
"""

CODE = r"""
() => {
  for (const d of document.querySelectorAll('main details')) d.open = true;
  const blocks = [];
  for (const pre of document.querySelectorAll('main pre')) {
    if (!pre.offsetParent) continue;
    const cs = getComputedStyle(pre);
    const room = pre.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    const lines = pre.innerText.replace(/\n$/, '').split('\n');
    const over = pre.scrollWidth - pre.clientWidth;
    const where = pre.closest('.cell_input') ? 'input' : pre.closest('.cell_output') ? 'output' : 'text';
    const long = [];
    if (over > 1) {
      const probe = document.createElement('span');
      probe.style.whiteSpace = 'pre';
      pre.appendChild(probe);
      for (const line of lines) {
        probe.textContent = line;
        if (probe.getBoundingClientRect().width > room + 1) long.push(line);
      }
      probe.remove();
    }
    long.sort((a, b) => b.length - a.length);
    blocks.push({where, lines: lines.length, over, long: long.length, first: long[0] || ''});
  }
  for (const d of document.querySelectorAll('main details')) d.open = false;
  return blocks;
}
"""

CONTRAST = r"""
() => {
  const rgb = s => (s.match(/[\d.]+/g) || []).map(Number);
  const lum = c => {
    const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) return c;
    }
    return [255, 255, 255];
  };
  const worst = [];
  for (const el of document.querySelectorAll('.lstmx-note, .lstmx-title, .lstmx-caption, .lstmx-readout, .lstmx-control label, .lstmx-control output')) {
    const fg = lum(rgb(getComputedStyle(el).color)), bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    worst.push({cls: el.className, ratio: +ratio.toFixed(2)});
  }
  return worst;
}
"""


def _png_min_font_px(path: Path) -> float | None:
    """The ``min-font-px`` text chunk of a PNG (the figure's smallest font, in image pixels)."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    pos = 8
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + size]
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            if key == b"min-font-px":
                return float(value)
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            if key == b"min-font-px":
                return float(zlib.decompress(rest[1:]))
        pos += 12 + size
    return None


def _exempt(name: str) -> str | None:
    return next((why for key, why in NOT_YET_MEASURABLE.items() if name.startswith(key)), None)


def _page_weight(name: str) -> dict:
    """Bytes of the page's HTML, and of the explorers' data and script inside it."""
    text = (SITE / name).read_text(encoding="utf-8")
    data = sum(len(m.encode()) for m in re.findall(
        r'<script type="[^"]*" class="lstmx-data"[^>]*>(.*?)</script>', text, re.S))
    script = sum(len(m.encode()) for m in re.findall(         # 0 once the script is a shared file
        r'<div class="lstmx"[^>]*>.*?<script>(.*?)</script>', text, re.S))
    return {"html_bytes": len(text.encode()), "explorer_data_bytes": data,
            "explorer_script_bytes": script, "explorers": text.count('data-lstmx="1"')}


def _open(browser, site, name, width):
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.goto(f"{site}/{name}", wait_until="load")
    page.wait_for_function("!window.MathJax || (MathJax.startup && MathJax.startup.promise)",
                           timeout=15000)
    page.evaluate("window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    wait_for_explorers(page)
    page.wait_for_timeout(300)
    return page


def _settle(page):
    """Let resize observers redraw (two animation frames), then a little more."""
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.wait_for_timeout(200)


@pytest.mark.parametrize("name", _book_pages())
def test_reading(browser, site, name):  # noqa: F811
    """One load per page: measured at 1280 px (light, then dark mode), then resized to 390 px."""
    record = _page_weight(name)
    problems = []
    page = _open(browser, site, name, 1280)
    try:
        measured = {1280: page.evaluate(MEASURE)}
        code = page.evaluate(CODE)
        if record["explorers"]:
            page.evaluate("document.documentElement.dataset.theme = 'dark'")
            _settle(page)
            contrast = page.evaluate(CONTRAST)
            page.evaluate("document.documentElement.dataset.theme = 'light'")
        page.set_viewport_size({"width": 390, "height": 900})
        _settle(page)
        measured[390] = page.evaluate(MEASURE)
    finally:
        page.context.close()
    used = set()
    for width, min_px in MIN_TEXT_PX.items():
        got = measured[width]
        sizes = []
        for kind in ("figures", "inline", "explorers"):
            for fig in got[kind]:
                if fig["min"] is None:
                    continue
                sizes.append(fig["min"])
                if fig["min"] < min_px:
                    problems.append(f"{width} px: {kind[:-1]} {fig['name']}: text {fig['min']} px "
                                    f"< {min_px} ({fig['what']!r})")
        for r in got["rasters"]:
            found = _png_min_font_px(SITE / unquote(urlparse(r["src"]).path).lstrip("/"))
            if found is None:
                if not _exempt(r["name"]):
                    problems.append(f"{width} px: raster figure {r['name']} ({r['src']}) has no "
                                    f"recorded font size (min-font-px)")
                continue
            px = found * r["width"] / max(1, r["natural"])
            sizes.append(round(px, 2))
            if px < min_px:
                problems.append(f"{width} px: raster figure {r['name']}: text {px:.1f} px < {min_px}")
        for ex in got["explorers"]:
            if ex["box"] < STACK_BELOW_PX and ex["side_by_side"]:
                problems.append(f"{width} px: explorer {ex['name']} ({ex['box']:.0f} px wide) "
                                f"shows panels side by side")
        for eq in got["equations"]:
            why = (WIDE_EQUATIONS.get((name, eq["name"], width))
                   or WIDE_EQUATIONS.get((name, "*", width)))
            if eq["over"] > 1 and why:
                used.add((name, eq["name"] if (name, eq["name"], width) in WIDE_EQUATIONS
                          else "*", width))
            elif eq["over"] > 1:
                problems.append(f"{width} px: equation {eq['name']} is {eq['width']} px wide in a "
                                f"{eq['box']} px box")
            elif eq["overlap"]:
                problems.append(f"{width} px: the number of equation {eq['name']} overlaps it")
        record[str(width)] = {
            "min_figure_px": min((f["min"] for f in got["figures"] + got["inline"]
                                  if f["min"] is not None), default=None),
            "min_explorer_px": min((f["min"] for f in got["explorers"] if f["min"] is not None),
                                   default=None),
            "min_text_px": min(sizes, default=None),
            "figures": len(got["figures"]) + len(got["inline"]) + len(got["rasters"]),
            "unmeasured_rasters": [r["name"] for r in got["rasters"]
                                   if _png_min_font_px(SITE / r["src"].lstrip("/")) is None],
            "equations": len(got["equations"]),
            "equations_too_wide": sum(e["over"] > 1 for e in got["equations"]),
            "equation_numbers_overlapping": sum(e["overlap"] and e["over"] <= 1
                                                for e in got["equations"]),
        }
    problems += [f"{w} px: equation {eq} of WIDE_EQUATIONS fits now: remove the entry"
                 for (page, eq, w) in WIDE_EQUATIONS if page == name and (page, eq, w) not in used]
    for blk in code:
        if blk["over"] > 1:
            problems.append(f"1280 px: a {blk['where']} code block scrolls by {blk['over']} px "
                            f"({blk['long']} line(s) too long, the longest "
                            f"{len(blk['first'])} characters: {blk['first'][:60]!r})")
    record["code_blocks"] = len(code)
    record["code_lines"] = sum(b["lines"] for b in code)
    record["code_blocks_scrolling"] = sum(b["over"] > 1 for b in code)
    record["code_lines_scrolling"] = sum(b["long"] for b in code)
    if record["explorers"]:
        record["explorer_min_contrast_dark"] = min(c["ratio"] for c in contrast)
        problems += [f"dark mode: explorer text {c['cls']} has contrast {c['ratio']} < {MIN_CONTRAST}"
                     for c in contrast if c["ratio"] < MIN_CONTRAST]
    METRICS[name] = record
    assert problems == [], f"{len(problems)} reading problem(s) on {name}:\n" + "\n".join(problems)


def test_report_reading_metrics(site):  # noqa: F811
    """Print each page's measurements and write them to _build/reading/metrics.json."""
    if not METRICS:
        pytest.skip("page tests did not run")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(METRICS, indent=1, sort_keys=True))
    rows = [f"{'page':<38}{'HTML KiB':>9}{'explorer':>9}{'min px 1280':>12}{'min px 390':>11}"
            f"{'code lines over':>16}{'eqs over 1280/390':>18}"]
    for name, m in sorted(METRICS.items()):
        share = (m["explorer_data_bytes"] + m["explorer_script_bytes"]) / m["html_bytes"]
        rows.append(f"{name:<38}{m['html_bytes'] / 1024:9.0f}{share:9.0%}"
                    f"{m['1280']['min_text_px'] or '-':>12}{m['390']['min_text_px'] or '-':>11}"
                    f"{m.get('code_lines_scrolling', 0):>16}"
                    f"{m['1280']['equations_too_wide']:>10}/{m['390']['equations_too_wide']}")
    print("\nReading metrics:\n" + "\n".join(rows))
