"""How long each chapter reads: its main path and its total, in words.

    python scripts/words.py            # a table for every notebook in book/

The main path is the prose a reader follows from top to bottom: Markdown outside
dropdowns, exercises, solutions and code. A math span (``$...$`` or a
``$$...$$`` block) and a role (``{eval}`ch2.x```, ``{ref}`...```) count as one
word each; code (fenced blocks and code cells) counts for nothing. The total
counts every Markdown word, dropdowns, exercises and solutions included.
tests/test_words.py holds every numbered chapter's main path to MAIN_PATH_BUDGET.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAIN_PATH_BUDGET = 3500

_FENCE = re.compile(r"^(`{3,}|:{3,})\s*(\{[^}]*\})?(.*)$")
_HIDDEN = ("{dropdown}", "{exercise}", "{solution}", "{solution-start}", "{toggle}")


def _words(text: str) -> int:
    text = re.sub(r"\$\$.*?\$\$(\s*\([\w-]+\))?", " MATH ", text, flags=re.S)  # display math (and its label): one word
    text = re.sub(r"\$[^$\n]+\$", " MATH ", text)                  # inline math: one word
    text = re.sub(r"\{[a-z:-]+\}`[^`]*`", " ROLE ", text)          # a role: one word
    text = re.sub(r"`[^`]*`", " CODE ", text)                      # inline code: one word
    text = re.sub(r"^\(\S+\)=\s*$", " ", text, flags=re.M)         # labels
    text = re.sub(r"<[^>]+>", " ", text)                           # raw HTML tags
    return len(re.findall(r"[A-Za-z0-9\u00C0-\u024F\u0370-\u03FF'’-]+", text))


def _split(markdown: str):
    """Yield (hidden, text) pieces of one Markdown cell: hidden = inside a dropdown,
    an exercise, a solution or an admonition with the dropdown class; code fences drop out."""
    stack = []                       # open fences: (marker, hidden, is_code)
    buf, hidden_now = [], False
    lines = markdown.split("\n")
    k = 0
    while k < len(lines):
        line = lines[k]
        m = _FENCE.match(line.strip())
        if m:
            marker, directive, rest = m.group(1), m.group(2) or "", m.group(3)
            closing = stack and line.strip() == stack[-1][0]
            if closing:
                stack.pop()
                k += 1
                continue
            if directive or rest.strip() or not stack:
                is_code = not directive                 # ```python, ``` (plain fence)
                hidden = directive in _HIDDEN
                # an admonition with :class: dropdown in its options is hidden too
                j = k + 1
                while j < len(lines) and lines[j].strip().startswith(":"):
                    if "dropdown" in lines[j] and lines[j].strip().startswith(":class:"):
                        hidden = True
                    j += 1
                stack.append((marker, hidden, is_code))
                k += 1
                continue
        inside_code = any(s[2] for s in stack)
        hidden = any(s[1] for s in stack)
        if not inside_code and not (line.strip().startswith(":") and stack):
            yield hidden, line
        k += 1


def count(notebook: Path) -> dict:
    """{'main': words on the main path, 'total': all Markdown words} of one notebook."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    main = total = 0
    in_solution = False               # between {solution-start} and {solution-end} cells
    for cell in nb["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] != "markdown":
            continue
        if "{solution-start}" in src:
            in_solution = True
        parts = list(_split(src))
        shown = _words("\n".join(t for h, t in parts if not h))
        folded = _words("\n".join(t for h, t in parts if h))
        total += shown + folded
        if not in_solution:
            main += shown
        if "{solution-end}" in src:
            in_solution = False
    return {"main": main, "total": total}


def numbered_chapters() -> list[Path]:
    """The notebooks of _toc.yml's numbered part, in order."""
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    part = toc.split("numbered: true", 1)[1].split("- caption:", 1)[0]
    return [ROOT / f"{f}.ipynb" for f in re.findall(r"- file: (\S+)", part)
            if (ROOT / f"{f}.ipynb").exists()]


def main() -> int:
    rows = [(p.relative_to(ROOT).as_posix(), count(p)) for p in sorted((ROOT / "book").glob("*.ipynb"))]
    print(f"{'notebook':<40}{'main path':>10}{'total':>8}")
    for name, c in rows:
        print(f"{name:<40}{c['main']:>10,}{c['total']:>8,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
