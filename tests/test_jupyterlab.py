"""The Jupyter path, checked in a real browser: JupyterLab runs a chapter and its sliders are live.

Starts JupyterLab on 127.0.0.1 (no token, no browser), opens a chapter with a
forget-gate explorer in headless Chromium, runs all cells, moves a slider and
checks that the explorer's picture changes. It also checks that the Markdown
cells render as MyST (jupyterlab-myst): no raw ``{exercise}`` or ``{glue:text}``.

Same browser rules as tests/test_site.py: skipped without Chromium unless
COURSE_REQUIRE_BROWSER=1.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from test_site import ARGS, CHROMIUM, REQUIRED

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = os.environ.get("COURSE_LAB_NOTEBOOK", "book/02-cell-state.ipynb")
ROOT = Path(os.environ.get("COURSE_LAB_ROOT", ROOT))


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
    if not (ROOT / NOTEBOOK).exists():
        pytest.fail(f"{NOTEBOOK} is missing")
    port = _free_port()
    home = tmp_path_factory.mktemp("jupyter")
    # serve a copy: JupyterLab autosaves, and the committed notebooks must stay as they are
    served = home / "course"
    served.mkdir()
    for name in ("book", "results"):
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, served / name)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_WORKSPACES_DIR=str(home / "ws"))
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
           "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
           "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={served}",
           "--allow-root", "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
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


def test_chapter_runs_and_slider_is_live(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{lab}/lab/tree/{NOTEBOOK}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60000)
        # the kernel must be idle before we run everything
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60000)

        # Markdown renders as MyST: no raw roles or directives in the rendered cells
        page.wait_for_selector(".jp-MarkdownCell .myst", timeout=30000)
        page.wait_for_timeout(1000)
        rendered = page.locator(".jp-MarkdownCell .myst")
        text = " ".join(rendered.all_inner_texts())
        assert text.strip(), "no rendered Markdown found"
        for raw in ("{exercise}", "{glue:text}", "{solution}", "{cite}", "{doc}", "{eq}"):
            assert raw not in text, f"raw MyST {raw} visible in JupyterLab"

        # run all cells
        page.locator(".jp-Notebook").first.click()
        page.keyboard.press("Escape")
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        page.wait_for_function(
            "document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt').length > 0 && "
            "[...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]"
            ".every(p => /\\[\\d+\\]/.test(p.textContent))", timeout=180000)
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
        assert tracebacks == [], f"cells raised: {tracebacks[:2]}"

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
        browser.close()
