"""The clickable LSTM cell and the still cell figures, checked in a real browser (headless Chromium).

A small standalone page, written into a temporary directory and served from
127.0.0.1, holds what a chapter page would: the clickable cell (the HTML
output of ``lstm_lib.viz.diagram.clickable`` for Chapter 3's worked example)
laid out in a column as wide as the website's (688 px; 336 px on a 390 px
phone), the website's MathJax (the copy that ``sphinx-mathjax-offline`` ships,
configured as the site configures it, inside a section that MathJax ignores,
as MyST marks a chapter's), the theme's light panel behind HTML outputs in
dark mode, and the still figures as ``<img>``.
At 1280 and 390 px, in light and dark mode (``html[data-theme=dark]``, as on
the website):

* every part is clicked, then reached with Tab and activated with Enter or
  Space; after each, the part is the one pressed, exactly its path is lit,
  and the readout shows its equation (typeset by MathJax) and the worked
  step's numbers, the ones Python formatted;
* the keyboard focus is visible (the focus ring is drawn), the tab order
  follows the parts, no two SVG labels overlap and none leaves the drawing,
  every text is at least 11 px on screen, and axe-core finds no serious or
  critical violation.

Without MathJax the equations read as text (the fallback); without
JavaScript the list of parts is open and the drawing is still there. The
still figures (the stepper's five views, a preview, the unrolled RNN) keep
their text at 11 px or more at both widths.

Screenshots go to the test's temporary directory, and to $COURSE_SHOTS when set.
Same browser rules as tests/test_site.py: skipped without Chromium unless
COURSE_REQUIRE_BROWSER=1.
"""
from __future__ import annotations

import functools
import os
import shutil
import sys
import threading
from pathlib import Path

import pytest

from lstm_lib import reference
from lstm_lib.chapters import gates
from lstm_lib.viz import diagram as D
from lstm_lib.viz import scene as S
from lstm_lib.viz import unrolled as U
from test_site import CHROMIUM, REQUIRED, SITE, _QuietHandler, _Server
from test_site import browser, site  # noqa: F401  (fixtures: one Chromium per process)

WIDTHS = (1280, 390)
THEMES = ("light", "dark")
COLORS = {"light": ("#ffffff", "#222832"), "dark": ("#121212", "#ced6dd")}   # the theme's page colours
MIN_PX = 11.0
ALT = "Diagram of one LSTM cell: the cell state runs along the top, the gates sit in a row below."
STILLS = {f"view-{k}": (lambda k=k: D.figure(k, alt=f"The {k} view.")) for k in D.STEP_KEYS}
STILLS["preview"] = lambda: D.figure("carry", alt="The cell, carry line thick.", size="small")
STILLS["bptt"] = lambda: U.bptt_figure(alt="The RNN unrolled, and the gradient coming back.")

PAGE = """<!doctype html>
<html lang="en" data-theme="{theme}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"><title>The clickable cell</title>
<style>body{{margin:0;font:16px/1.5 system-ui,sans-serif;background:{bg};color:{fg}}}
main{{max-width:688px;margin:0 auto;padding:0 27px}} img{{max-width:100%;height:auto;background:#fff}}
html[data-theme=dark] .output.text_html{{background:#ced6dd;color:#222832}}</style>
{mathjax}</head><body><main><section class="tex2jax_ignore mathjax_ignore"><h1>The clickable cell</h1>
<div class="cell_output"><div class="output text_html">{cell}</div></div>
<p>The still figures.</p>{figures}</section></main></body></html>"""
MATHJAX = ('<script>MathJax = {"options": {"processHtmlClass": '
           '"tex2jax_process|mathjax_process|math|output_area"}}</script>'
           '<script defer src="mathjax/tex-chtml.js"></script>')


def mathjax_dir() -> Path:
    """The website's MathJax: the built site's copy, else the one sphinx-mathjax-offline ships."""
    if (SITE / "_static" / "mathjax" / "tex-chtml.js").exists():
        return SITE / "_static" / "mathjax"
    for entry in sys.path:
        cand = Path(entry) / "sphinx-mathjax-offline" / "static" / "mathjax"
        if (cand / "tex-chtml.js").exists():
            return cand
    pytest.fail("no MathJax copy found (sphinx-mathjax-offline is in requirements.txt)")


@pytest.fixture(scope="module")
def worked():
    ex = gates.worked_example()
    step = reference.lstm_step(ex["params"], ex["x_t"], ex["h_prev"], ex["c_prev"])
    return D.clickable(step, x_t=ex["x_t"], h_prev=ex["h_prev"], c_prev=ex["c_prev"], alt=ALT)


@pytest.fixture(scope="module")
def served(tmp_path_factory, worked):
    if not Path(CHROMIUM).exists():
        msg = f"Chromium not found at {CHROMIUM}: install it or set COURSE_CHROMIUM"
        if REQUIRED:
            pytest.fail(msg)
        pytest.skip(msg)
    root = tmp_path_factory.mktemp("cellpage")
    (root / "mathjax").symlink_to(mathjax_dir(), target_is_directory=True)
    for name, make in STILLS.items():
        (root / f"{name}.svg").write_text(make().svg(), encoding="utf-8")
    figures = "".join(f'<p><img src="{n}.svg" alt="{n}" data-name="{n}"></p>' for n in STILLS)
    for theme in THEMES:
        bg, fg = COLORS[theme]
        for mj, suffix in ((MATHJAX, ""), ("", "-plain")):
            (root / f"cell-{theme}{suffix}.html").write_text(
                PAGE.format(theme=theme, bg=bg, fg=fg, mathjax=mj, cell=worked.html(), figures=figures),
                encoding="utf-8")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


def shot(page, root: Path, name: str):
    path = root / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("COURSE_SHOTS"):
        Path(os.environ["COURSE_SHOTS"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(os.environ["COURSE_SHOTS"]) / path.name)


def open_page(browser, base, name, width, js=True):
    context = browser.new_context(viewport={"width": width, "height": 900}, java_script_enabled=js)
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    offsite = []
    page.on("request", lambda r: None if r.url.startswith(base) else offsite.append(r.url))
    page.goto(f"{base}/{name}", wait_until="load")
    if js:
        page.wait_for_function("!window.MathJax || !MathJax.startup || MathJax.startup.promise",
                               timeout=20000)
        page.evaluate("window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    page.wait_for_timeout(100)
    return page, errors, offsite


# What the page shows, read in one evaluation (keeps the test fast on a busy machine).
STATE = """root => {
  const svg = root.querySelector('svg.lstmc-svg');
  const vb = svg.viewBox.baseVal, k = svg.getBoundingClientRect().width / vb.width;
  const out = root.querySelector('.lstmc-readout');
  const vis = e => { const s = getComputedStyle(e); const r = e.getBoundingClientRect();
                     return s.display !== 'none' && s.visibility !== 'hidden' && r.width > 0 && r.height > 0; };
  const texts = [...svg.querySelectorAll('text')];
  const boxes = texts.map(t => { const b = t.getBBox(); return [t.getAttribute('data-k'), b.x, b.y, b.x + b.width, b.y + b.height]; });
  const overlaps = [];
  for (let a = 0; a < boxes.length; a++) for (let b = a + 1; b < boxes.length; b++) {
    const [na, ax0, ay0, ax1, ay1] = boxes[a], [nb, bx0, by0, bx1, by1] = boxes[b];
    if (ax0 < bx1 && bx0 < ax1 && ay0 < by1 && by0 < ay1) overlaps.push([na, nb]); }
  const outside = boxes.filter(([n, x0, y0, x1, y1]) => x0 < 0 || y0 < 0 || x1 > vb.width || y1 > vb.height).map(b => b[0]);
  const svgPx = [...svg.querySelectorAll('text, tspan')].map(t => parseFloat(getComputedStyle(t).fontSize) * k);
  const htmlPx = [];
  const walk = e => { for (const c of e.childNodes) {
      if (c.nodeType === 3 && c.textContent.trim() && vis(e)) htmlPx.push([parseFloat(getComputedStyle(e).fontSize), c.textContent.trim().slice(0, 20)]);
      else if (c.nodeType === 1 && !c.closest('svg, mjx-container')) walk(c); } };
  walk(out);
  const item = out.querySelector('.lstmc-item');
  const eqs = item ? [...item.querySelectorAll('.lstmc-eq')].map(p => {
      const tex = p.querySelector('.lstmc-tex'), txt = p.querySelector('.lstmc-txt');
      return {typeset: !!tex.querySelector('mjx-container') && vis(tex), fallback: vis(txt) ? txt.textContent : null}; }) : [];
  const nums = item ? Object.fromEntries([...item.querySelectorAll('td[data-v]')].map(td => [td.getAttribute('data-v'), td.textContent])) : {};
  const shapes = item ? [...item.querySelectorAll('tbody td:not([data-v])')].map(td => td.textContent) : [];
  const pressed = [...svg.querySelectorAll('[role=button][aria-pressed=true]')].map(e => e.getAttribute('data-part'));
  const lit = [...svg.querySelectorAll('.on')].map(e => e.getAttribute('data-k'));
  const a = document.activeElement, ring = a && a.querySelector && a.querySelector('.ring');
  const rs = ring ? getComputedStyle(ring) : null;
  return {selected: root.getAttribute('data-selected'), item: item && item.getAttribute('data-item'),
          pressed, lit, eqs, nums, shapes, overlaps, outside, minSvgPx: Math.min(...svgPx),
          minHtml: htmlPx.sort((p, q) => p[0] - q[0])[0] || null, width: svg.getBoundingClientRect().width,
          focused: a && a.getAttribute && a.getAttribute('data-part'),
          ring: rs ? {stroke: rs.stroke, width: parseFloat(rs.strokeWidth) * k} : null,
          readoutVisible: vis(out)};
}"""


# A point where a click reaches the part: scan its hit area for a spot no other part covers.
CLICK_POINT = """([root, key]) => {
  const g = root.querySelector(`[data-part='${key}']`), r = g.querySelector('.hit').getBoundingClientRect();
  for (let fy = 0.5; fy < 1; fy += 0.1) for (const sy of [1, -1]) for (let fx = 0.5; fx < 1; fx += 0.1) for (const sx of [1, -1]) {
    const x = r.left + r.width * (sx > 0 ? fx : 1 - fx), y = r.top + r.height * (sy > 0 ? fy : 1 - fy);
    const e = document.elementFromPoint(x, y);
    if (e && e.closest('[data-part]') === g) return [x, y]; }
  return null;
}"""


def click_part(page, handle, key):
    page.locator(f".lstmc [data-part='{key}']").first.scroll_into_view_if_needed()
    point = page.evaluate(CLICK_POINT, [handle, key])
    assert point is not None, f"no spot of part {key} takes a click"
    page.mouse.click(*point)


def expected(worked, key):
    p = D.get_part(key)
    nums = {k: D.format_rows(worked.values[k]) for _, _, k in p.rows}
    return p, nums


def check_selected(state, worked, key, mathjax, where):
    p, nums = expected(worked, key)
    assert state["selected"] == key and state["item"] == key, where
    assert state["pressed"] == [key], where
    assert set(state["lit"]) == set(p.path), (where, set(state["lit"]) ^ set(p.path))
    assert state["nums"] == nums, where
    assert len(state["shapes"]) == len(p.rows) and all("B×" in s for s in state["shapes"]), where
    assert len(state["eqs"]) == len(p.tex), where
    for eq, markup in zip(state["eqs"], p.eq):
        if mathjax:
            assert eq["typeset"] and eq["fallback"] is None, (where, eq)
        else:
            assert not eq["typeset"] and eq["fallback"] == S.plain(markup), (where, eq)
    assert state["overlaps"] == [], (where, state["overlaps"])
    assert state["outside"] == [], (where, state["outside"])
    assert state["minSvgPx"] >= MIN_PX, (where, state["minSvgPx"])
    assert state["minHtml"] is None or state["minHtml"][0] >= MIN_PX, (where, state["minHtml"])
    assert state["readoutVisible"], where


def axe_serious(page):
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page)
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"][:3]])
            for v in result.response["violations"] if v["impact"] in ("serious", "critical")]


# Each width and each theme, on the standalone page and on the built site between them
# (the other two combinations run below, on the website), to keep the suite short.
@pytest.mark.parametrize("width, theme", [(1280, "dark"), (390, "light")])
def test_click_and_keyboard_every_part(browser, served, worked, width, theme):
    base, root = served
    page, errors, offsite = open_page(browser, base, f"cell-{theme}.html", width)
    try:
        cell = page.locator(".lstmc").first
        assert cell.get_attribute("data-ready") == "1"
        assert page.locator(".lstmc-if-js").first.is_visible()
        assert not page.locator(".lstmc-if-nojs").first.is_visible()
        assert page.locator(".lstmc-list").first.get_attribute("open") is None   # closed by the script
        handle = cell.element_handle()
        state = page.evaluate(STATE, handle)
        check_selected(state, worked, "cell", True, "at load")            # the start part
        expect_px = min(width - 54, 688 - 54) if width < 688 else 600
        assert abs(state["width"] - expect_px) < 2, state["width"]
        # 1. click every part
        for key in D.PART_KEYS:
            click_part(page, handle, key)
            check_selected(page.evaluate(STATE, handle), worked, key, True, f"click {key}")
        shot(page, root, f"cell-{width}-{theme}-clicked-h")
        # 2. the keyboard: Tab from the top of the page reaches every part in order
        page.locator("h1").click()
        for k, key in enumerate(D.PART_KEYS):
            page.keyboard.press("Tab")
            state = page.evaluate(STATE, handle)
            assert state["focused"] == key, (k, state["focused"])
            assert state["ring"]["stroke"] not in ("none", "") and state["ring"]["width"] >= 2, state["ring"]
            page.keyboard.press("Enter" if k % 2 == 0 else " ")
            check_selected(page.evaluate(STATE, handle), worked, key, True, f"key {key}")
            if key == "forget":
                shot(page, root, f"cell-{width}-{theme}-focus-forget")
        page.keyboard.press("Tab")       # then on to the readout's equations (MathJax's menu) or the list
        assert page.evaluate("document.activeElement.closest('.lstmc-readout mjx-container, "
                             ".lstmc-list summary') !== null")
        # 3. accessibility, with one part selected and the list open
        page.locator(".lstmc-list summary").click()
        assert page.locator(".lstmc-list .lstmc-item").nth(11).is_visible()
        assert axe_serious(page) == []
        assert errors == [] and offsite == []
    finally:
        page.context.close()


def test_without_mathjax_the_equations_read_as_text(browser, served, worked):
    base, root = served
    page, errors, _ = open_page(browser, base, "cell-light-plain.html", 390)
    try:
        cell = page.locator(".lstmc").first
        handle = cell.element_handle()
        for key in ("forget", "cell", "output_mul"):
            click_part(page, handle, key)
            check_selected(page.evaluate(STATE, handle), worked, key, False, f"plain {key}")
        shot(page, root, "cell-390-light-no-mathjax")
        assert errors == []
    finally:
        page.context.close()


@pytest.mark.parametrize("theme", THEMES)
def test_without_javascript_the_parts_are_listed(browser, served, theme):
    base, root = served
    page, _, _ = open_page(browser, base, f"cell-{theme}.html", 390, js=False)
    try:
        assert page.locator(".lstmc-if-nojs").first.is_visible()
        assert not page.locator(".lstmc-if-js").first.is_visible()
        assert page.locator("svg.lstmc-svg").first.is_visible()
        items = page.locator(".lstmc-list .lstmc-item")
        assert items.count() == len(D.PARTS)
        for k in range(items.count()):
            assert items.nth(k).is_visible()
            assert items.nth(k).locator(".lstmc-txt").first.is_visible()      # the fallback
            assert not items.nth(k).locator(".lstmc-tex").first.is_visible()   # no raw TeX
        assert not page.locator(".lstmc-readout").first.is_visible()
        shot(page, root, f"cell-390-{theme}-no-javascript")
    finally:
        page.context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_still_figures_are_legible(browser, served, width):
    base, root = served
    page, errors, _ = open_page(browser, base, "cell-light.html", width)
    try:
        shown = page.evaluate("""[...document.querySelectorAll('img[data-name]')].map(i =>
            [i.dataset.name, i.complete && i.naturalWidth > 0, i.getBoundingClientRect().width])""")
        assert len(shown) == len(STILLS)
        for name, loaded, px in shown:
            fig = STILLS[name]()
            assert loaded, name
            smallest = min(t.size for t in fig.scene.texts())
            if any(S.runs(t.markup)[i][1] for t in fig.scene.texts() for i in range(len(S.runs(t.markup)))):
                smallest = min(smallest, fig.scene.min_font)
            on_screen = smallest * px / fig.scene.width
            assert on_screen >= MIN_PX, (name, width, on_screen)
            assert px <= fig.width + 0.5
        shot(page, root, f"stills-{width}")
        assert errors == []
    finally:
        page.context.close()


def test_report_bytes(worked):
    """The weight the clickable cell adds to a page (the HTML output, uncompressed)."""
    report = D.bytes_report(worked)
    import gzip

    zipped = len(gzip.compress(worked.html().encode()))
    print(f"\nclickable cell: {report['html']} bytes of HTML ({zipped} gzipped): SVG {report['svg']}, "
          f"CSS {report['css']}, JS {report['js']}, the rest the list of {len(D.PARTS)} parts")
    assert report["html"] < 40_000 and zipped < 8_000


# --- the same on the built website: Chapter 3's page, as a reader gets it ---------------

@pytest.mark.parametrize("width, theme", [(1280, "light"), (390, "dark")])
def test_every_part_on_the_built_chapter_3_page(browser, site, worked, width, theme, tmp_path):
    """Chapter 3's clickable cell on the built site: every part clicked, then focused and
    activated with Enter or Space; each shows its equation and the worked step's numbers
    (the same step as ``worked``: Chapter 3 draws ``gates.worked_example()``)."""
    page, errors, offsite = open_page(browser, site, "book/03-gates.html", width)
    try:
        if theme == "dark":
            page.evaluate("document.documentElement.dataset.theme = 'dark'")
        cell = page.locator(".lstmc").first
        assert cell.get_attribute("data-ready") == "1"
        handle = cell.element_handle()
        typeset = page.evaluate("!!document.querySelector('.lstmc-readout mjx-container')")
        for key in D.PART_KEYS:
            click_part(page, handle, key)
            check_selected(page.evaluate(STATE, handle), worked, key, typeset, f"site, click {key}")
        for k, key in enumerate(D.PART_KEYS):
            page.locator(f".lstmc [data-part='{key}']").first.focus()
            page.keyboard.press("Enter" if k % 2 == 0 else " ")
            state = page.evaluate(STATE, handle)
            assert state["focused"] == key, (key, state["focused"])
            check_selected(state, worked, key, typeset, f"site, key {key}")
        shot(page, tmp_path, f"site-cell-{width}-{theme}")
        assert errors == [] and offsite == []
    finally:
        page.context.close()
