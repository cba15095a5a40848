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

// Displayed equations: shrink one that is wider than its column (down to 3/4 of its
// size); one still wider scrolls inside its own box, so it must take keyboard focus.
(function () {
  function fit() {
    document.querySelectorAll("div.math > mjx-container[display='true']").forEach(function (box) {
      box.style.fontSize = "";
      var need = box.scrollWidth, have = box.clientWidth;
      if (need > have + 1) {
        var scale = Math.max(0.75, have / need);
        box.style.fontSize = (113 * scale).toFixed(1) + "%";
      }
      if (box.scrollWidth > box.clientWidth + 1) { box.setAttribute("tabindex", "0"); }
      else { box.removeAttribute("tabindex"); }
    });
    document.querySelectorAll("mjx-container:not([display='true'])").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) { box.setAttribute("tabindex", "0"); }
    });
  }
  window.addEventListener("load", fit);
  var pending;
  window.addEventListener("resize", function () { clearTimeout(pending); pending = setTimeout(fit, 150); });
})();
