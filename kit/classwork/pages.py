"""Self-contained HTML pages: one skeleton, escaping, and images embedded as data URIs.

Everything a student wrote (answers, file names, check messages that quote their values)
is escaped, with every invisible or direction-changing character shown as its code; their
Markdown is rendered with raw HTML disabled.
"""
import base64
import functools
import html
import io
import re
import sys
import unicodedata

from markdown_it import MarkdownIt

_MARKDOWN = MarkdownIt("commonmark", {"html": False})  # raw HTML in an answer shows as text


def _image(self, tokens, idx, options, env):
    """An answer's image is shown as its description and address: a page never fetches it."""
    token = tokens[idx]
    alt = "".join(t.content for t in token.children or []) or token.content
    return f'<span class="ref">[imagen: {esc(alt)} &lt;{esc(token.attrGet("src") or "")}&gt;]</span>'


def _link_open(self, tokens, idx, options, env):
    env.setdefault("links", []).append(tokens[idx].attrGet("href") or "")
    return '<span class="ref">'


def _link_close(self, tokens, idx, options, env):
    """A link is its text and its address as text: nothing to click through to, nothing fetched."""
    href = env["links"].pop() if env.get("links") else ""
    return f'</span> <span class="muted">&lt;{esc(href)}&gt;</span>'


_MARKDOWN.add_render_rule("image", _image)
_MARKDOWN.add_render_rule("link_open", _link_open)
_MARKDOWN.add_render_rule("link_close", _link_close)

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:70rem;margin:2rem auto;
padding:0 1rem;color:#1d232a;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.25rem .6rem;text-align:left;
vertical-align:top}th{background:#f3f5f7}td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1a7f37}.fail{color:#cf222e}.muted{color:#57606a}.box{border:1px solid #d0d7de;border-radius:6px;
padding:.6rem 1rem;margin:.6rem 0;background:#fff}.warn{background:#fff8c5;border-color:#d4a72c}
.empty{background:#f6f8fa;color:#57606a;font-style:italic}.flag{background:#ffebe9;border-color:#ff8182}
pre{white-space:pre-wrap;background:#f6f8fa;padding:.5rem;border-radius:6px;font-size:.9rem}
img{max-width:100%;border:1px solid #d0d7de}.pair{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
.score{font-size:2rem;font-weight:600}
"""


HIDDEN = ("Cc", "Cf", "Co", "Cs", "Zl", "Zp")
"""Unicode categories a reader cannot see, or that reorder what they see: controls, formats (the bidirectional
overrides and isolates, zero-width characters, tags), private use, lone surrogates, line and paragraph separators."""


@functools.cache
def _hidden() -> re.Pattern:
    codes = [c for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) in HIDDEN and chr(c) not in "\n\t\r"]
    ranges, start = [], codes[0]
    for previous, code in zip(codes, codes[1:] + [None]):
        if code != previous + 1:
            ranges.append(f"\\U{start:08x}" + (f"-\\U{previous:08x}" if previous != start else ""))
            start = code
    return re.compile(f"[{''.join(ranges)}]")


def visible(text) -> str:
    """``text`` with each character a reader cannot see, or that reorders what they see, written as its code
    (``⟦U+202E⟧``): a student's string then reads the same to everyone, whatever it hides."""
    return _hidden().sub(lambda m: f"⟦U+{ord(m.group()):04X}⟧", str(text))


def esc(value) -> str:
    """Text for a page: invisible characters shown (``visible``), then escaped."""
    return html.escape(visible(value), quote=True)


def markdown(text: str) -> str:
    """Students' (and the rubric's) Markdown as HTML: raw HTML escaped, links and images shown as text, invisible
    characters shown (``visible``)."""
    return _MARKDOWN.render(visible(text or ""), {})


def png(data: bytes, alt: str) -> str:
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def figure(fig, alt: str) -> str:
    """A matplotlib figure, embedded, then closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return png(buffer.getvalue(), alt)


def page(title: str, body: str, lang: str = "es") -> str:
    return (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{esc(title)}</title>'
            f"<style>{STYLE}</style></head><body>\n<h1>{esc(title)}</h1>\n{body}\n</body></html>\n")


def table(header, rows, numeric=()) -> str:
    """Rows of already-escaped cells; columns named in ``numeric`` align right."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td class="n">{c}</td>' if h in numeric else f"<td>{c}</td>"
                                    for h, c in zip(header, r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
