"""One plotting style for the whole course, and a way to show library source.

The palette is Okabe and Ito's colour-blind-safe set. Lines also differ by
style and marker, so a figure reads in grey scale too. Figures have a white
background so that they stay legible in the website's dark mode.
"""
from __future__ import annotations

import inspect
import sys
from pathlib import Path

import matplotlib

# Okabe-Ito: black, orange, sky blue, bluish green, yellow, blue, vermillion, reddish purple
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
           "#56B4E9", "#000000", "#F0E442"]
LINESTYLES = ["solid", "dashed", "dotted", "dashdot",
              (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)), (0, (8, 2)), (0, (3, 1, 1, 1))]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def style(k: int) -> dict:
    """Colour, line style and marker of the k-th line of a figure."""
    k = int(k) % len(PALETTE)
    return {"color": PALETTE[k], "linestyle": LINESTYLES[k], "marker": MARKERS[k]}


#: The width of a figure, in inches. A figure is drawn at this width and shown
#: at its natural size on a desktop (1.33 CSS px per point, so 422 px) and at
#: the column's width on a phone (about 342 px at a 390 px viewport, 1.08 px
#: per point). Panels are stacked one above the other, never side by side.
FIG_WIDTH = 4.4
#: Every text of a figure: 12 pt, so that a sub- or superscript of mathtext
#: (0.7 of it, 8.4 pt) is still 11 px on a desktop and 9 px on a phone.
FONT_SIZE = 12

#: The course's matplotlib settings (``use_style`` applies them; the live
#: explorers draw under them too).
RC = {
    "figure.figsize": (FIG_WIDTH, 3.0),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.facecolor": "white",
    "axes.edgecolor": "#333333",
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.8,
    "lines.markersize": 5,
    "font.size": FONT_SIZE,
    "axes.titlesize": FONT_SIZE,
    "axes.labelsize": FONT_SIZE,
    "xtick.labelsize": FONT_SIZE,
    "ytick.labelsize": FONT_SIZE,
    "legend.fontsize": FONT_SIZE,
    "legend.title_fontsize": FONT_SIZE,
    "figure.titlesize": FONT_SIZE,
    "figure.labelsize": FONT_SIZE,
    "legend.frameon": False,
    "legend.handlelength": 2.6,
    "mathtext.fontset": "dejavusans",
    "svg.fonttype": "none",          # text stays text: legible, searchable, measurable
    "svg.hashsalt": "lstm-course",   # stable ids, so outputs re-execute identically
    "figure.constrained_layout.use": True,
}


def use_style() -> None:
    """Apply the course's matplotlib style (call once in a chapter's first cell).

    In a notebook it also makes every figure an SVG (the website shows it at
    its natural size, its text is text) with a PNG beside it, which JupyterLab
    shows in a notebook it does not trust yet. The figure is saved at exactly
    its size: no tight bounding box, so its width, and the size of its text
    on a page, is known.
    """
    from cycler import cycler

    matplotlib.rcParams.update(RC)
    matplotlib.rcParams["axes.prop_cycle"] = (cycler(color=PALETTE[:7])
                                              + cycler(linestyle=LINESTYLES[:7]))
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:
        return
    if get_ipython() is not None:
        set_matplotlib_formats("svg", "png", bbox_inches=None,
                               metadata={"Date": None})


def legend_below(fig, ncols: int = 1, **kwargs):
    """One legend for the whole figure, under its axes, where no curve can run through it.

    Entries with the same label (the same line drawn in several panels) appear once.
    """
    entries = {}
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    return fig.legend(list(entries.values()), list(entries), loc="outside lower center",
                      ncols=ncols, **kwargs)


# ----------------------------------------------------------------- listings

def _listing(obj):
    """Name, file, first line, the lines shown, and what was left out."""
    import ast
    import textwrap

    obj = inspect.unwrap(obj)          # a decorated function: show the code written, not the wrapper
    lines, start = inspect.getsourcelines(obj)
    file = Path(inspect.getsourcefile(obj)).resolve()
    top = sys.modules[obj.__module__.split(".")[0]]
    root = Path(top.__file__).resolve().parent.parent if hasattr(top, "__path__") else file.parent
    rel = file.relative_to(root).as_posix()
    name = getattr(obj, "__qualname__", getattr(obj, "__name__", "object"))
    text = [line.rstrip("\n") for line in lines]
    skip = _docstring_and_checks(ast.parse(textwrap.dedent("".join(lines))))
    shown, left_out = [], []
    if skip:
        a, b = skip
        indent = text[a][:len(text[a]) - len(text[a].lstrip())]
        what = " and ".join(w for w in ("docstring", "input checks") if w in skip.kinds)
        shown = text[:a] + [f"{indent}# ({what}: lines {start + a}–{start + b} of the file)"] + text[b + 1:]
        left_out = skip.kinds
    else:
        shown = text
    return name, rel, start, start + len(text) - 1, shown, left_out


class _Skip(tuple):
    kinds: list


def _is_check(stmt, later_names) -> bool:
    """An input check: ``if ...: raise``, a call to ``check_*``, or a loop of them."""
    import ast

    if isinstance(stmt, ast.If):
        return not stmt.orelse and all(isinstance(s, ast.Raise) for s in stmt.body)
    if isinstance(stmt, ast.For):
        return not stmt.orelse and all(_is_check(s, later_names) for s in stmt.body)
    value = stmt.value if isinstance(stmt, (ast.Expr, ast.Assign)) else None
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
    if not called.lstrip("_").startswith("check"):
        return False
    if isinstance(stmt, ast.Assign):         # keep it if what it assigns is used later
        targets = {n.id for t in stmt.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        return not targets & later_names
    return True


def _docstring_and_checks(tree):
    """The 0-based line range (first, last) of a function's docstring and leading input checks."""
    import ast

    fn = tree.body[0] if tree.body else None
    if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    body, kinds, first, last = list(fn.body), [], None, None
    if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)):
        first, last = body[0].lineno, body[0].end_lineno
        kinds.append("docstring")
        body = body[1:]
    # the leading statements that are checks (the last statement never is one to hide),
    # shortened until no name they assign is used by the code after them
    checks = 0
    while checks < len(body) - 1 and _is_check(body[checks], set()):
        checks += 1
    while checks:
        used = {n.id for s in body[checks:] for n in ast.walk(s) if isinstance(n, ast.Name)}
        if all(_is_check(s, used) for s in body[:checks]):
            break
        checks -= 1
    if checks:
        first = body[0].lineno if first is None else first
        last = body[checks - 1].end_lineno
    if checks:
        kinds.append("input checks")
    if first is None:
        return None
    out = _Skip((first - 1, last - 1))
    out.kinds = kinds
    return out


def source_markdown(obj) -> str:
    """The real source of a function, class or method as a Markdown code block.

    The heading names the file, from its top-level package down (for example
    ``lstm_lib/chapters/memory.py``), and the line numbers, so readers can find it.
    A function's docstring and the input checks it starts with are left out,
    each replaced by a comment that gives their lines in the file: the listing
    starts with the mathematics.
    """
    name, rel, first, last, shown, _ = _listing(obj)
    head = f"`{name}`, from `{rel}` (lines {first}–{last}):"
    body = "\n".join(shown).rstrip()
    return f"{head}\n\n```python\n{body}\n```\n"


def source_html(obj) -> str:
    """The listing of :func:`source_markdown` as highlighted HTML whose long lines wrap.

    Each line is a block of its own: a line too long for the page continues on
    the next row, indented four characters further than the line itself, so
    no listing scrolls sideways on any screen.
    """
    import html

    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    name, rel, first, last, shown, _ = _listing(obj)
    code = highlight("\n".join(shown) + "\n", PythonLexer(), HtmlFormatter(nowrap=True))
    rows = []
    for line, raw in zip(code.split("\n"), shown):
        hang = len(raw) - len(raw.lstrip(" ")) + 4
        rows.append(f'<span class="course-line" style="display:block;padding-left:{hang}ch;'
                    f'text-indent:-{hang}ch">{line or " "}</span>')
    head = (f'<p class="course-listing-head"><code>{html.escape(name)}</code>, from '
            f'<code>{html.escape(rel)}</code> (lines {first}–{last}):</p>')
    return (f'<div class="course-listing">{head}<div class="highlight-python notranslate">'
            f'<div class="highlight"><pre style="white-space:pre-wrap;overflow-wrap:anywhere">'
            f'{"".join(rows)}</pre></div></div></div>')


def show_source(obj) -> None:
    """Display the real source of ``obj`` (a function, class or method).

    The output is Markdown holding one block of HTML, :func:`source_html`:
    the website places it in the page as it is (no output box around it, the
    theme's code colours in light and dark mode) and JupyterLab renders it
    the same way. It leaves out the docstring and leading input checks, and
    says which lines they were.
    """
    from IPython.display import display

    name, rel, first, last, _, _ = _listing(obj)
    display({"text/markdown": source_html(obj),
             "text/plain": f"{name}, from {rel} (lines {first}-{last})"}, raw=True)
