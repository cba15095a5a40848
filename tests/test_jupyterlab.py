"""The Jupyter path, checked in a real browser: every chapter reads in JupyterLab as on the website.

Starts JupyterLab on 127.0.0.1 (no token, no browser) on a copy of the book,
and in headless Chromium:

* opens every notebook with its committed outputs, before any kernel runs (one
  after another in one JupyterLab page), and checks the rendered Markdown
  (jupyterlab-myst): no raw role, no unresolved ``{eval}`` key, no
  ``name:format`` placeholder, no warning marker (a citation or cross-reference
  that did not resolve), and every number the prose quotes present with the
  text the built website shows;
* runs Chapter 2 top to bottom (Run All) and checks the same again, now with
  the values the kernel computed, then moves a live slider and checks that the
  explorer's picture and readout change;
* shows the clickable LSTM cell's stored output as text (untrusted), and after
  it runs, every part answers a click and the keyboard.

Same browser rules as tests/test_site.py: skipped without Chromium unless
COURSE_REQUIRE_BROWSER=1.
"""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lstm_lib.viz import prose
from test_site import CHROMIUM, REQUIRED, SITE, ensure_site
from test_site import browser, site  # noqa: F401  (fixtures: one Chromium per process)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "book").glob("*.ipynb"))
RUN_ALL = ("book/02-cell-state.ipynb",)   # the slider test needs Chapter 2; one live run keeps CI short
# (every notebook is also read before any kernel runs, and Chapter 3's cell runs live below)

RAW = ("{eval}", "{bib}", "{glue", "{cite", "{exercise}", "{solution}", "{doc}", "{eq}", "{ref}",
       "{numref}", "{term}")
NAME_FORMAT = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+:[,.]?\d*[a-z%]")  # ch2_value:.1f


def test_every_lab_extension_is_compatible():
    """`jupyter labextension list` flags no extension as incompatible with this JupyterLab."""
    out = subprocess.run([str(Path(sys.executable).parent / "jupyter"), "labextension", "list"],
                         capture_output=True, text=True)
    listing = out.stdout + out.stderr
    assert "jupyterlab-myst" in listing and "enabled" in listing
    assert "not compatible" not in listing, listing


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        msg = f"Chromium not found at {CHROMIUM}: install it or set COURSE_CHROMIUM"
        if REQUIRED:
            pytest.fail(msg)
        pytest.skip(msg)
    port = _free_port()
    home = tmp_path_factory.mktemp("jupyter")
    # serve a copy: JupyterLab autosaves, and the committed notebooks must stay as they are
    served = home / "course"
    served.mkdir()
    for name in ("book", "results"):
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, served / name)
    # Every cell in the page, so the test can read them all (JupyterLab renders only the
    # cells near the viewport by default), and no announcement pop-up.
    settings = home / "settings" / "@jupyterlab"
    (settings / "notebook-extension").mkdir(parents=True)
    (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"}))
    (settings / "apputils-extension").mkdir(parents=True)
    (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_WORKSPACES_DIR=str(home / "ws"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"))
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
           "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
           "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={served}",
           "--allow-root", "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
           "--LabApp.expose_app_in_browser=True",    # window.jupyterapp: open notebooks without a reload
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/status", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("JupyterLab did not start within 60 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _quoted_values(notebook: str) -> list[str]:
    """The distinct texts the notebook's prose quotes through {eval}, those with a digit."""
    nb = json.loads((ROOT / notebook).read_text(encoding="utf-8"))
    values = {key: text for _, key, text in prose.records(nb)}
    quoted = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for expr in prose.expressions("".join(cell["source"])):
                text = values[expr]
                if re.search(r"\d", text) and text not in quoted:
                    quoted.append(text)
    return quoted


def _website_text(notebook: str) -> str:
    page = SITE / Path(notebook).with_suffix(".html")
    body = page.read_text(encoding="utf-8")
    body = re.sub(r"<(script|style)\b[\s\S]*?</\1>", " ", body)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def _wait_until_rendered(page):
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60000)
    page.wait_for_selector(".jp-MarkdownCell .myst", timeout=60000)
    # jupyterlab-myst renders cell by cell: wait until every Markdown cell is rendered
    page.wait_for_function("""() => {
        const n = document.querySelectorAll('.jp-MarkdownCell').length;
        return n > 0 && document.querySelectorAll('.jp-MarkdownCell .myst').length === n; }""",
                           polling=250, timeout=60000)
    page.wait_for_timeout(500)


def _check_prose(page, notebook, when):
    """The rendered Markdown of an open notebook reads as on the website."""
    cells = page.locator(".jp-MarkdownCell .myst")
    text = " ".join(cells.evaluate_all("els => els.map(e => e.textContent)"))
    n_md = page.locator(".jp-MarkdownCell").count()
    assert cells.count() == n_md, f"{notebook} ({when}): {cells.count()} of {n_md} Markdown cells rendered"
    assert text.strip(), f"{notebook} ({when}): no rendered Markdown"
    for raw in RAW:
        assert raw not in text, f"{notebook} ({when}): raw MyST {raw} visible in JupyterLab"
    nb = json.loads((ROOT / notebook).read_text(encoding="utf-8"))
    keys = sorted({key for _, key, _ in prose.records(nb) if key in text})
    assert keys == [], f"{notebook} ({when}): unresolved values {keys[:5]}"
    placeholders = NAME_FORMAT.findall(text)
    assert placeholders == [], f"{notebook} ({when}): name:format placeholders {placeholders[:5]}"
    warnings = page.locator(".jp-MarkdownCell .myst .text-yellow-600, "
                            ".jp-MarkdownCell .myst [title$='Not Found'], "
                            "[data-mime-type='application/vnd.jupyter.stderr'] .myst")
    found = [w for w in warnings.all_inner_texts()]
    assert found == [], f"{notebook} ({when}): warning markers {found[:5]}"
    errors = page.locator(".jp-MarkdownCell [data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, f"{notebook} ({when}): an inline value raised an error"
    values = _quoted_values(notebook)
    assert len(values) >= 3, f"{notebook}: fewer than three computed numbers in the prose"
    flat = re.sub(r"\s+", " ", text)
    missing = [v for v in values if v not in flat]
    assert missing == [], f"{notebook} ({when}): numbers not shown in JupyterLab: {missing[:5]}"
    site = re.sub(r"\s+", " ", _website_text(notebook))
    missing = [v for v in values if v not in site]
    assert missing == [], f"{notebook}: numbers not shown on the website: {missing[:5]}"
    return len(values)


@pytest.fixture(scope="module")
def lab_page(browser, lab):
    """One JupyterLab page for the module, in which the tests open notebook after notebook.

    Loading JupyterLab takes seconds; opening a notebook in the running application
    (its document manager, what File > Open runs) does not.
    """
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{lab}/lab?reset")         # a fresh workspace: no notebook open
    page.wait_for_function("window.jupyterapp && document.querySelector('.jp-LabShell')", timeout=60000)
    page.evaluate("jupyterapp.restored")
    yield page
    page.close()


def _open(page, notebook):
    """Open the notebook alone and wait until it is rendered. The one before is closed without
    a question (after a Run All it has changes, which the served copy need not keep)."""
    page.evaluate("""async path => {
        for (const w of [...jupyterapp.shell.widgets('main')]) w.dispose();
        await jupyterapp.commands.execute('docmanager:open', {path}); }""", notebook)
    _wait_until_rendered(page)
    shown = page.evaluate("(jupyterapp.shell.currentWidget || {context: {}}).context.path")
    count = page.locator(".jp-Notebook").count()
    assert shown == notebook and count == 1, f"JupyterLab shows {shown!r} and {count} notebook(s), not {notebook}"


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_chapter_reads_before_any_kernel_runs(lab_page, notebook):
    """The notebook with its committed outputs, its prose checked (no cell runs)."""
    ensure_site()
    _open(lab_page, notebook)
    _check_prose(lab_page, notebook, "stored outputs, no kernel")


def _run_all(page):
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60000)
    page.locator(".jp-Notebook").first.click()
    page.keyboard.press("Escape")
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    page.wait_for_function(
        "document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt').length > 0 && "
        "[...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]"
        ".every(p => /\\[\\d+\\]/.test(p.textContent))", timeout=240000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60000)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
    assert tracebacks == [], f"cells raised: {tracebacks[:2]}"


@pytest.mark.parametrize("notebook", RUN_ALL)
def test_chapter_after_run_all(lab_page, notebook):
    ensure_site()
    page = lab_page
    _open(page, notebook)
    _run_all(page)
    # the Markdown cells' values come back from the kernel one cell after another
    deadline = time.monotonic() + 60
    while True:
        try:
            _check_prose(page, notebook, "after Run All")
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            page.wait_for_timeout(1000)
    if notebook == "book/02-cell-state.ipynb":
        _move_a_live_slider(page)


def _move_a_live_slider(page):
    # the first live explorer: a slider and an image
    widget = page.locator(".jupyter-widgets.widget-vbox:has(.widget-image)").first
    widget.wait_for(timeout=30000)
    widget.scroll_into_view_if_needed()
    img = widget.locator("img").first
    before = img.get_attribute("src")
    readout_before = widget.locator(".widget-html").last.inner_text()
    handle = widget.locator(".noUi-handle, .widget-slider [role='slider']").first
    handle.focus()
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function(
        "([el, src]) => el.getAttribute('src') !== src",
        arg=[img.element_handle(), before], timeout=30000)
    assert widget.locator(".widget-html").last.inner_text() != readout_before


# ------------------------------------------------------------ the clickable cell in JupyterLab

CELL_SOURCE = """from lstm_lib import reference
from lstm_lib.chapters import gates
from lstm_lib.viz import diagram
ex = gates.worked_example()
step = reference.lstm_step(ex["params"], ex["x_t"], ex["h_prev"], ex["c_prev"])
diagram.clickable(step, x_t=ex["x_t"], h_prev=ex["h_prev"], c_prev=ex["c_prev"], alt="The cell.")"""


def _scratch_notebook(lab) -> tuple:
    """A scratch notebook with the clickable cell's stored output, put through the contents API."""
    from lstm_lib import reference as ref
    from lstm_lib.chapters import gates
    from lstm_lib.viz import diagram

    ex = gates.worked_example()
    step = ref.lstm_step(ex["params"], ex["x_t"], ex["h_prev"], ex["c_prev"])
    cell = diagram.clickable(step, x_t=ex["x_t"], h_prev=ex["h_prev"], c_prev=ex["c_prev"], alt="The cell.")
    nb = {"nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "cells": [{"cell_type": "markdown", "id": "md", "metadata": {}, "source": "# Scratch: the clickable cell"},
                    {"cell_type": "code", "id": "code", "metadata": {}, "execution_count": 1,
                     "source": CELL_SOURCE,
                     "outputs": [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                                  "data": cell._repr_mimebundle_()}]}]}
    name = "scratch-clickable-cell.ipynb"
    req = urllib.request.Request(f"{lab}/api/contents/{name}", method="PUT",
                                 data=json.dumps({"type": "notebook", "format": "json", "content": nb}).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=30).read()
    return name, cell


def _shot(page, name):
    if os.environ.get("COURSE_SHOTS"):
        Path(os.environ["COURSE_SHOTS"]).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(os.environ["COURSE_SHOTS"]) / f"{name}.png"))


def test_clickable_cell_in_jupyterlab(lab, lab_page):
    """Stored output (untrusted: no script runs): the parts are listed as text. After the cell
    runs (trusted output): every part answers a click, and Enter, with its equation and numbers."""
    from lstm_lib.viz import diagram

    name, cell = _scratch_notebook(lab)
    page = lab_page
    _open(page, name)
    out = page.locator(".jp-OutputArea-output .lstmc").first
    out.wait_for(timeout=30000)
    assert out.get_attribute("data-ready") is None                      # no script ran
    items = out.locator(".lstmc-list .lstmc-item")
    assert items.count() == len(diagram.PARTS)
    assert all(items.nth(k).is_visible() for k in range(items.count()))
    out.scroll_into_view_if_needed()
    _shot(page, "jupyterlab-clickable-untrusted")
    # the drawing's text does not leak into the view (the sanitizer drops <svg>, keeps text)
    text = out.inner_text()
    assert text.startswith("Each part of the cell is listed below"), text[:200]
    assert "σittanh" not in text.replace(" ", "").replace("\n", "")
    # the sanitizer keeps classes, drops data-* attributes: read the forget gate's row by its text
    forget = items.nth(diagram.PART_KEYS.index("forget")).locator("tbody td").last
    assert forget.inner_text() == diagram.format_rows(cell.values["f"])
    _run_all(page)
    out = page.locator(".jp-OutputArea-output .lstmc[data-ready='1']").first
    out.wait_for(timeout=30000)
    readout = out.locator(".lstmc-readout")
    for k, p in enumerate(diagram.PARTS):
        button = out.locator(f"[data-part='{p.key}']")
        if k % 2:
            button.focus()
            page.keyboard.press("Enter")
        else:
            button.locator(".hit").dispatch_event("click")
        assert out.get_attribute("data-selected") == p.key
        assert button.get_attribute("aria-pressed") == "true"
        for _, _, key in p.rows:
            cell_text = readout.locator(f"td[data-v='{key}']").inner_text()
            assert cell_text == diagram.format_rows(cell.values[key]), (p.key, key)
        eq = readout.locator(".lstmc-eq").first
        assert eq.is_visible() and eq.inner_text().strip(), p.key
    lit = set(out.locator("svg .on").evaluate_all("els => els.map(e => e.getAttribute('data-k'))"))
    assert lit == set(diagram.PARTS[-1].path)
    out.scroll_into_view_if_needed()
    _shot(page, "jupyterlab-clickable-after-run")
