"""Nothing a submission produced runs in the teacher's browser.

The Formgrader and the feedback HTML show a graded notebook's outputs and markdown as HTML.
``notebook(nb)`` cleans them with bleach (what nbconvert's ``SanitizeHTML`` uses): formatting,
tables, links and images stay; scripts, event handlers (``on*=``), ``javascript:`` links,
iframes, objects and SVG go. Outputs keep only types that are data (text, PNG/JPEG/GIF,
LaTeX, JSON, a widget's model id); JavaScript and SVG outputs and the saved widget state
(whose HTML widgets would be rendered) are removed.
"""

import re

import bleach

TAGS = bleach.ALLOWED_TAGS | {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "span", "div", "sub", "sup", "del", "s", "u",
    "kbd", "small", "dl", "dt", "dd", "details", "summary", "img",
    "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption",
}
ATTRIBUTES = {"*": {"class", "title", "align"}, "a": {"href"}, "img": {"src", "alt", "width", "height"},
              "th": {"colspan", "rowspan"}, "td": {"colspan", "rowspan"}, "table": {"border"}}
PROTOCOLS = {"http", "https", "mailto", "data"}  # data: for inline images only (see _allowed)
DATA_TYPES = {"text/plain", "text/latex", "image/png", "image/jpeg", "image/gif", "application/json",
              "application/vnd.jupyter.widget-view+json"}
HTML_TYPES = {"text/html", "text/markdown"}
CODE_BLOCKS = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
TEXT_LT = re.compile(r"&lt;(?![A-Za-z/!?])")


def _allowed(tag, name, value):
    if name not in ATTRIBUTES["*"] | ATTRIBUTES.get(tag, set()):
        return False
    return not (name == "href" and value.strip().lower().startswith("data:"))  # a data: page is a page


def html(text):
    """Markup with only harmless tags and attributes. bleach keeps a script's text when it strips
    the tag; script and style blocks are dropped whole first, as their text is code."""
    return bleach.clean(CODE_BLOCKS.sub("", text), tags=TAGS, attributes=_allowed, protocols=PROTOCOLS, strip=True)


def markdown(text):
    """Markdown with its HTML cleaned. bleach escapes '>', '&' and a '<' that opens no tag as
    it would in HTML; in markdown that would break quotes and code, and none of them can start
    markup once the tags are clean, so they are put back."""
    clean = html(text).replace("&gt;", ">").replace("&amp;", "&")
    return TEXT_LT.sub("<", clean)


def _metadata(meta):
    """Output metadata the templates write into attributes (unquoted): only numeric sizes."""
    return {mime: {k: v for k, v in value.items() if k in ("width", "height") and isinstance(v, (int, float))}
            for mime, value in meta.items() if isinstance(value, dict)}


def output(out):
    if out.get("output_type") not in ("display_data", "execute_result"):
        return out  # streams and errors are shown as escaped text
    data = out.get("data", {})
    for mime in list(data):
        if mime in HTML_TYPES:
            value = data[mime] if isinstance(data[mime], str) else "".join(data[mime])
            data[mime] = html(value) if mime == "text/html" else markdown(value)
        elif mime not in DATA_TYPES:
            del data[mime]
    out["metadata"] = _metadata(out.get("metadata", {}))
    return out


def notebook(nb, given=()):
    """Clean every output, markdown and raw cell of nb (in place) and return it. Cells whose
    text is that of a cell in given (the release, the teacher's) stay as they are: cleaning can
    lose text, e.g. a `<placeholder>` in a code span."""
    for cell in nb.cells:
        if cell.cell_type in ("markdown", "raw") and cell.source not in given:
            cell.source = markdown(cell.source)
        elif cell.cell_type == "code":
            cell.outputs = [output(out) for out in cell.get("outputs", [])]
    nb.metadata.pop("widgets", None)
    return nb
