/* The course's search ranking and snippets (Sphinx inlines this file, named by
 * html_search_scorer in _config.yml, into language_data.js on the search page).
 *
 * Ranking: Sphinx scores a section whose title holds the query about as high as
 * any page that merely mentions its words, so "forget gate" listed the section
 * "The forget gate" far down. Here a section or page whose title holds the
 * whole query comes first, the closer the title is to the query the higher.
 *
 * Snippets: the maths on the pages is typeset at build time; a snippet shows
 * it as plain text (c_T, σ(x)) instead of MathJax's markup or TeX sources.
 */
var Scorer = {
  score: (result) => {
    const [docname, title, anchor, descr, score, filename] = result;
    const query = (new URLSearchParams(window.location.search).get("q") || "").toLowerCase().trim();
    if (!query || !title) return score;
    const own = String(title).split(" > ").pop().toLowerCase().trim();
    if (own.includes(query)) {
      return score + 100 + Math.round(50 * query.length / own.length);
    }
    return score;
  },
  objNameMatch: 11,
  objPartialMatch: 6,
  objPrio: {0: 15, 1: 5, 2: -5},
  objPrioDefault: 0,
  title: 15,
  partialTitle: 7,
  term: 5,
  partialTerm: 2,
};

(function () {
  /* MathML (the assistive copy MathJax keeps beside its output) as plain text. */
  function mathText(node) {
    const kids = [...node.children];
    const part = (k) => (kids[k] ? mathText(kids[k]) : "");
    const group = (s) => (s.length > 1 ? "(" + s + ")" : s);
    switch (node.localName) {
      case "msub": return part(0) + "_" + group(part(1));
      case "msup": return part(0) + "^" + group(part(1));
      case "msubsup": return part(0) + "_" + group(part(1)) + "^" + group(part(2));
      case "mfrac": return group(part(0)) + "/" + group(part(1));
      case "msqrt": return "√" + group(kids.map(mathText).join(""));
      case "mi": case "mn": case "mtext": return node.textContent;
      case "mo": {
        const t = node.textContent;
        return /^[=<>≤≥≈+−×⋅⊙→←]$/.test(t) ? " " + t + " " : t;
      }
      case "mspace": return " ";
      default: return kids.length ? kids.map(mathText).join("") : node.textContent;
    }
  }
  function install() {
    if (typeof Search === "undefined" || !Search.htmlToText || Search._courseMath) return;
    const original = Search.htmlToText;
    Search.htmlToText = (htmlString, anchor) => {
      const doc = new DOMParser().parseFromString(htmlString, "text/html");
      doc.querySelectorAll("mjx-container").forEach((box) => {
        const math = box.querySelector("mjx-assistive-mml math");
        box.replaceWith(doc.createTextNode(math ? mathText(math).replace(/\s+/g, " ").trim() : ""));
      });
      return original(doc.documentElement.outerHTML, anchor);
    };
    Search._courseMath = true;
  }
  install();
  document.addEventListener("DOMContentLoaded", install);
})();
