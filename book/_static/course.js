// Default colour mode before the theme reads it (avoids "Got invalid theme mode").
if (!document.documentElement.dataset.mode) { document.documentElement.dataset.mode = "auto"; }

// Code blocks and outputs may scroll sideways (on narrow screens, or once a
// dropdown opens): keep every one reachable with the keyboard (WCAG 2.1.1;
// axe-core rule scrollable-region-focusable). The theme sets tabindex only on
// blocks that scroll when the page loads, so we run after it.
(function () {
  function mark() {
    document.querySelectorAll("main pre").forEach(function (el) {
      el.setAttribute("tabindex", "0");
    });
  }
  window.addEventListener("load", function () { setTimeout(mark, 0); });
  window.addEventListener("resize", function () { setTimeout(mark, 400); });
  document.addEventListener("click", function () { setTimeout(mark, 0); });
})();
