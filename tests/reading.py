"""What is inside a page of the website, measured in the browser: the reading checks.

tests/test_site.py opens every page of the built site once and, after its own
checks, hands the page to ``read`` here, which measures it at a desktop width
(1280 px), then resized to a phone width (390 px):

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
* **equations fit**, at both widths: no displayed equation is wider than the
  box the page gives it (except those listed, with the reason, in
  ``WIDE_EQUATIONS``), none reaches beyond the page's edge, and no equation
  number overlaps its equation; at 390 px the page itself does not scroll
  sideways;
* **the explorers' own text reads in dark mode**: a contrast of at least
  ``MIN_CONTRAST`` against what is behind it (the page is in dark mode when
  ``read`` is called).

Each page's measurements (HTML size and how much of it is explorer data,
the smallest figure and explorer text at each width, overflowing code lines
and equations) go to ``_build/reading/metrics.json``, printed by
tests/test_site.py's last test. These budgets hold for every page the course
will grow: new chapters and new explorers are measured the same way.
"""
from __future__ import annotations

import json
import re
import struct
import zlib
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"

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
OUT = ROOT / "_build" / "reading" / "metrics.json"


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
  // figures shown as SVG images: read the files, lay each out at its shown size, measure.
  // All read before any is laid out, and all laid out at once: one layout, not one per figure.
  const shown = [];
  for (const img of main.querySelectorAll('img')) {
    const cs = getComputedStyle(img);
    const width = img.getBoundingClientRect().width - parseFloat(cs.paddingLeft)
      - parseFloat(cs.paddingRight) - parseFloat(cs.borderLeftWidth) - parseFloat(cs.borderRightWidth);
    const path = new URL(img.src).pathname;
    if (path.endsWith('.svg')) shown.push({img, width, path});
    else out.rasters.push({name: label(img), src: path, width, natural: img.naturalWidth});
  }
  const texts = await Promise.all(shown.map(f => fetch(f.img.src).then(r => r.text())));
  const box = document.createElement('div');
  box.style.cssText = 'position:absolute;left:-20000px;top:0;visibility:hidden;contain:content';
  const svgs = texts.map((text, k) => {
    const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
    const svg = document.importNode(doc.documentElement, true);
    svg.setAttribute('width', shown[k].width + 'px');
    svg.removeAttribute('height');
    const holder = document.createElement('div');   // one block each: no two side by side
    holder.appendChild(svg);
    box.appendChild(holder);
    return svg;
  });
  document.body.appendChild(box);
  shown.forEach((f, k) => out.figures.push({name: label(f.img), src: f.path, width: +f.width.toFixed(1),
                                            ...smallest(svgs[k])}));
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
      overlap = !!(a.width && b.width && a.left < b.right && b.left < a.right
                   && a.top < b.bottom && b.top < a.bottom);
    }
    out.equations.push({name, over, overlap, width: Math.round(math.getBoundingClientRect().width),
                        box: mjx.clientWidth,
                        beyond: +(div.getBoundingClientRect().right - document.documentElement.clientWidth).toFixed(1)});
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


def page_weight(name: str) -> dict:
    """Bytes of the page's HTML, and of the explorers' data and script inside it."""
    text = (SITE / name).read_text(encoding="utf-8")
    data = sum(len(m.encode()) for m in re.findall(
        r'<script type="[^"]*" class="lstmx-data"[^>]*>(.*?)</script>', text, re.S))
    script = sum(len(m.encode()) for m in re.findall(         # 0 once the script is a shared file
        r'<div class="lstmx"[^>]*>.*?<script>(.*?)</script>', text, re.S))
    return {"html_bytes": len(text.encode()), "explorer_data_bytes": data,
            "explorer_script_bytes": script, "explorers": text.count('data-lstmx="1"')}


def settle(page):
    """Let resize observers redraw (two animation frames), then a little more."""
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.wait_for_timeout(200)


def read(page, name: str) -> tuple[dict, list[str]]:
    """Measure an open page (in dark mode, at 1280 px; left at 390 px): its record and problems."""
    record = page_weight(name)
    problems = []
    contrast = page.evaluate(CONTRAST) if record["explorers"] else []
    measured = {1280: page.evaluate(MEASURE)}
    code = page.evaluate(CODE)
    page.set_viewport_size({"width": 390, "height": 900})
    settle(page)
    measured[390] = page.evaluate(MEASURE)
    sideways = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    if sideways > 1:
        problems.append(f"390 px: the page scrolls sideways by {sideways} px")
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
            if eq["beyond"] > 1:
                problems.append(f"{width} px: equation {eq['name']} reaches {eq['beyond']} px beyond "
                                f"the page's edge")
            if eq["overlap"]:
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
            "equation_numbers_overlapping": sum(e["overlap"] for e in got["equations"]),
        }
    problems += [f"{w} px: equation {eq} of WIDE_EQUATIONS fits now: remove the entry"
                 for (where, eq, w) in WIDE_EQUATIONS if where == name and (where, eq, w) not in used]
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
    return record, problems


def report(metrics: dict[str, dict]) -> str:
    """Write every page's record to _build/reading/metrics.json; a table of them, to print."""
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(metrics, indent=1, sort_keys=True))
    rows = [f"{'page':<38}{'HTML KiB':>9}{'explorer':>9}{'min px 1280':>12}{'min px 390':>11}"
            f"{'code lines over':>16}{'eqs over 1280/390':>18}"]
    for name, m in sorted(metrics.items()):
        share = (m["explorer_data_bytes"] + m["explorer_script_bytes"]) / m["html_bytes"]
        rows.append(f"{name:<38}{m['html_bytes'] / 1024:9.0f}{share:9.0%}"
                    f"{m['1280']['min_text_px'] or '-':>12}{m['390']['min_text_px'] or '-':>11}"
                    f"{m.get('code_lines_scrolling', 0):>16}"
                    f"{m['1280']['equations_too_wide']:>10}/{m['390']['equations_too_wide']}")
    return "\n".join(rows)
