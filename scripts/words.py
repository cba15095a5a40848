"""How long each chapter reads, and which numbers its prose types by hand.

    python scripts/words.py                  # main path and total words of every notebook in book/
    python scripts/words.py --digits [NB..]  # numbers typed into prose, outside math and roles

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


# Numbers that prose may type: each a definition or a quotation, never a result of the
# course's own code (those come through {eval}). Each entry: a pattern for the number, a
# pattern the text just before it must end with (None: any), and why it is allowed.
# Keep the list short.
ALLOWED_NUMBERS = [
    (r"[01]", None, "zero and one: the ends of a gate, 'one step', 'forget gate near 1'"),
    (r"1997|2000", None, "the years that name the 1997 LSTM and the 2000 forget gate"),
    (r"[1-9]", r"(Step|step|Steps|steps|Exercise|exercise|Part|part|Layer|layer|Chapter|Chapters"
               r"|Experiment|experiment|Figure|figure|Table|table) $",
     "an ordinal label: Step 2, Experiment 4, Chapter 3"),
    (r"90\.5%|95\.7%|204,290", None,
     "quoted from the source article's reported experiment (cite it where it stands)"),
    (r"74,000|209,000", None,
     "quoted from Hochreiter and Schmidhuber (1997), Experiment 4 (cite it where it stands)"),
    (r"32,768", r"is $", "at::internal::GRAIN_SIZE, quoted from PyTorch's source (linked where it stands)"),
]
_NUMBER = re.compile(r"(?<![\w.])[-\u2212]?\d(?:[\d,.]*\d)?%?")


def _allowed(number: str, before: str) -> bool:
    return any(re.fullmatch(pattern, number) and (context is None or re.search(context, before))
               for pattern, context, _ in ALLOWED_NUMBERS)


def typed_numbers(markdown: str) -> list[str]:
    """Numbers typed into a Markdown cell outside math, roles, code, labels and link targets
    that ALLOWED_NUMBERS does not allow (each returned with a little context)."""
    s = re.sub(r"\$\$.*?\$\$(\s*\([\w-]+\))?", " ", markdown, flags=re.S)
    s = re.sub(r"\$[^$\n]+\$", " ", s)
    s = re.sub(r"\{[a-z:-]+\}`[^`]*`", " ", s)
    s = re.sub(r"```.*?```", " ", s, flags=re.S)
    s = re.sub(r"`[^`]*`", " ", s)
    s = re.sub(r"^\(\S+\)=\s*$", " ", s, flags=re.M)             # labels
    s = re.sub(r"^\s*:[a-z-]+:.*$", " ", s, flags=re.M)             # directive options
    s = re.sub(r"^\s*\d+\.\s", " ", s, flags=re.M)                 # ordered-list markers
    s = re.sub(r"\]\([^)]*\)", "]", s)                             # link targets
    found = []
    for m in _NUMBER.finditer(s):
        if not _allowed(m.group(0), s[max(0, m.start() - 16):m.start()]):
            found.append(f"...{s[max(0, m.start() - 30):m.end() + 20]}...".replace("\n", " "))
    return found


def typed_in_notebook(notebook: Path) -> list[str]:
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    out = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            out += typed_numbers(src)
    return out


def main() -> int:
    args = sys.argv[1:]
    if args and args[0] == "--digits":
        paths = [Path(a) for a in args[1:]] or sorted((ROOT / "book").glob("*.ipynb"))
        for p in paths:
            found = typed_in_notebook(p)
            print(f"{p.name}: {len(found)} typed number(s)")
            for f in found:
                print("   ", f)
        return 0
    rows = [(p.relative_to(ROOT).as_posix(), count(p)) for p in sorted((ROOT / "book").glob("*.ipynb"))]
    print(f"{'notebook':<40}{'main path':>10}{'total':>8}")
    for name, c in rows:
        print(f"{name:<40}{c['main']:>10,}{c['total']:>8,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
