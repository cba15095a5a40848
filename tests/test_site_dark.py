"""The website in dark mode and on a phone, checked in headless Chromium.

A second file beside tests/test_site.py, so that pytest-xdist (one worker per
file) runs the two halves of the browser checks side by side. For every page:

* dark mode (the reader's system asks for it): zero serious or critical findings
  of the pinned axe-core's colour rules (nothing light on light, nothing dark on
  dark; tests/test_site.py runs every rule in light mode);
* at 1280 and at 390 px: no displayed equation whose number overlaps it, none
  wider than its column (it would scroll sideways), and at 390 px no sideways
  scrolling of the page itself.

Every equation, and every equation number, must fit; there is no exemption list.
"""
from __future__ import annotations

import pytest

from test_site import COLOUR_RULES, _open, _pages, axe_serious, browser, site  # noqa: F401  (fixtures)


@pytest.mark.parametrize("name", _pages())
def test_page_dark(browser, site, name):
    page, log = _open(browser, site, name, color_scheme="dark")
    try:
        assert page.evaluate("document.documentElement.dataset.theme") == "dark", \
            f"{name} is not in dark mode when the system asks for it"
        assert log.errors == [], f"console errors on {name} (dark): {log.errors}"
        # the light pass (tests/test_site.py) runs every rule; colours are what dark mode changes
        serious = axe_serious(page, rules=COLOUR_RULES)
        assert serious == [], f"axe findings on {name} (dark): {serious}"
        # the equations at 1280 px, on this page (layout does not depend on the theme)
        _check_equations(page, name, 1280)
    finally:
        page.context.close()


EQUATION_LAYOUT = """() => [...document.querySelectorAll('div.math')].map((box, k) => {
    const eq = box.querySelector(':scope > mjx-container');
    const no = box.querySelector(':scope > span.eqno');
    const math = eq && eq.querySelector('mjx-math');
    const r = (el) => el ? el.getBoundingClientRect() : null;
    const a = r(math), b = r(no);
    const overlap = !!(a && b && a.width && b.width && a.left < b.right && b.left < a.right
                       && a.top < b.bottom && b.top < a.bottom);
    return {k, id: box.id || '', number: no ? no.innerText.trim() : '',
            overlap, wide: eq ? eq.scrollWidth - eq.clientWidth : 0,
            beyond: box.getBoundingClientRect().right - document.documentElement.clientWidth};
})"""


def _check_equations(page, name, width):
    page.wait_for_timeout(200)     # course.js fits equations on load
    layout = page.evaluate(EQUATION_LAYOUT)
    overlapping = [e for e in layout if e["overlap"]]
    assert overlapping == [], f"equation numbers over equations on {name} at {width} px: {overlapping}"
    outside = [e for e in layout if e["beyond"] > 1]
    assert outside == [], f"equations beyond the page's edge on {name} at {width} px: {outside}"
    if width < 600:
        over = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert over <= 1, f"{name} scrolls sideways by {over} px at {width} px"
    wide = [e for e in layout if e["wide"] > 1]
    assert wide == [], f"displayed equations scroll sideways on {name} at {width} px: {wide}"


@pytest.mark.parametrize("name", _pages())
def test_equations_fit_on_a_phone(browser, site, name):
    """At 390 px (at 1280 px: test_page_dark, on the page it has open)."""
    page, _ = _open(browser, site, name, width=390)
    try:
        _check_equations(page, name, 390)
    finally:
        page.context.close()
