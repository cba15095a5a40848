// Typeset TeX with MathJax at build time (called by course_site.py, one process per page).
//
// usage: node mathjax_render.js MATHJAX_DIR < {"items": [{"tex": "...", "display": true}], "fontURL": "..."}
// prints {"html": ["<mjx-container ...>", ...], "css": "...", "errors": ["...", ...]}
//
// MATHJAX_DIR is the MathJax 3 distribution that sphinx-mathjax-offline installs (its
// node-main.js runs the same components as the browser's tex-chtml.js). The output is
// MathJax's CommonHTML with assistive MathML, as the browser made it; "css" holds the
// rules for exactly the characters used, with fonts under fontURL.
"use strict";
const fs = require("fs");
const dir = process.argv[2];
const request = JSON.parse(fs.readFileSync(0, "utf8"));

require(dir + "/node-main.js").init({
  loader: {load: ["input/tex", "output/chtml", "a11y/assistive-mml"]},
  tex: {packages: {"[+]": ["ams"]}},
  chtml: {fontURL: request.fontURL},
  startup: {typeset: false},
}).then(async (MathJax) => {
  const adaptor = MathJax.startup.adaptor;
  const html = [], errors = [];
  for (const item of request.items) {
    // the promise variant lets the TeX input autoload packages (\boldsymbol, \cancel, ...)
    const node = await MathJax.tex2chtmlPromise(item.tex, {display: item.display});
    const out = adaptor.outerHTML(node);
    if (out.includes("mjx-merror")) {
      errors.push(item.tex + ": " + adaptor.textContent(node));
    }
    html.push(out);
  }
  const css = adaptor.textContent(MathJax.chtmlStylesheet());
  process.stdout.write(JSON.stringify({html, css, errors}));
}).catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
