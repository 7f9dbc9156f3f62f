"""Turn Confluence storage-format bodies into search text and into Markdown, from one parse.

Search needs the words a reader sees and nothing else: macro parameters, resource ids and task
ids are machinery, inline tags must not split words, and code, table cells, link titles and
panel bodies must survive. People and language models reading a result want the same content
with its structure (headings, lists, tables, code fences, panels), which Markdown carries.

Both renderings come out of a single walk over the lxml tree. Each element is rendered into a
`_Flow`: inline content accumulates as parallel text/Markdown fragments, and block elements
close the current paragraph and append finished blocks `(kind, text, markdown)`. Containers
(lists, tables, panels, quotes) render their children to blocks first and then lay them out,
which keeps code blocks verbatim and lets tables and lists indent or escape what they hold.
Whitespace from the XML source is collapsed once per paragraph, not per text node.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, urljoin, urlsplit

from lxml import etree

from confluence_source.storage_parse import AC_NS, RI_NS, parse_leniently, parse_storage

logger = logging.getLogger(__name__)

UserResolver = Callable[[str], "str | None"]
"""Maps an account id (Cloud), user key or username (Server/DC) to a display name."""
PageUrlResolver = Callable[[str, "str | None"], "str | None"]
"""Maps (page title, space key or None for the current space) to an absolute URL."""
BlogUrlResolver = Callable[[str, "str | None", str], "str | None"]
"""Maps (blog post title, space key or None for the current space, posting day `YYYY/MM/DD`) to an absolute URL."""
AttachmentUrlResolver = Callable[[str], "str | None"]
"""Maps the file name of an attachment of the body's own page (or blog post) to its absolute download URL."""


@dataclass(frozen=True, slots=True)
class ConvertedBody:
    """The two renderings of one body."""

    text: str
    markdown: str


def convert_storage(
    storage: str,
    *,
    user_resolver: UserResolver | None = None,
    page_url: PageUrlResolver | None = None,
    blog_url: BlogUrlResolver | None = None,
    attachment_url: AttachmentUrlResolver | None = None,
    web_base: str | None = None,
) -> ConvertedBody:
    """Render a storage-format body as clean search text and as Markdown.

    `web_base` is what the site's own relative links are relative to (`https://x.atlassian.net/wiki`,
    `https://host/confluence`): the Markdown copy is read away from the site, where a relative link leads nowhere.

    Never raises on a malformed body: it is parsed leniently, and if rendering still fails the
    plain text of the tree is returned for both renderings (the failure is logged).
    """
    if not storage or not storage.strip():
        return ConvertedBody("", "")
    root = parse_storage(storage)
    if _may_hold_invisible(storage):
        _drop_invisible(root)
    try:
        return _Renderer(user_resolver, page_url, blog_url, attachment_url, web_base).render(root)
    except Exception:  # noqa: BLE001 - one odd body must not stop a sync; the text is still indexed
        logger.warning("Falling back to plain text for a storage-format body", exc_info=True)
        text = _plain_text(root)
        return ConvertedBody(text, _escape_md(text))


def storage_to_text(storage: str) -> str:
    """The search text of a storage-format body."""
    return convert_storage(storage).text


# --------------------------------------------------------------------------- names


def _ac(local: str) -> str:
    return f"{{{AC_NS}}}{local}"


def _ri(local: str) -> str:
    return f"{{{RI_NS}}}{local}"


AC_NAME: Final = _ac("name")
AC_PARAMETER: Final = _ac("parameter")
AC_DEFAULT_PARAMETER: Final = _ac("default-parameter")
AC_RICH_TEXT_BODY: Final = _ac("rich-text-body")
AC_PLAIN_TEXT_BODY: Final = _ac("plain-text-body")
AC_LINK_BODY: Final = _ac("link-body")
AC_PLAIN_TEXT_LINK_BODY: Final = _ac("plain-text-link-body")
AC_ANCHOR: Final = _ac("anchor")
AC_ALT: Final = _ac("alt")
AC_TITLE: Final = _ac("title")
AC_CAPTION: Final = _ac("caption")
AC_TASK: Final = _ac("task")
AC_TASK_LIST: Final = _ac("task-list")
AC_TASK_STATUS: Final = _ac("task-status")
AC_TASK_BODY: Final = _ac("task-body")
AC_ADF_NODE: Final = _ac("adf-node")
AC_ADF_ATTRIBUTE: Final = _ac("adf-attribute")
AC_ADF_CONTENT: Final = _ac("adf-content")
AC_ADF_FALLBACK: Final = _ac("adf-fallback")
AC_EMOJI_FALLBACK: Final = _ac("emoji-fallback")
AC_EMOJI_ID: Final = _ac("emoji-id")
AC_EMOJI_SHORTNAME: Final = _ac("emoji-shortname")

RI_PAGE: Final = _ri("page")
RI_BLOG_POST: Final = _ri("blog-post")
RI_ATTACHMENT: Final = _ri("attachment")
RI_USER: Final = _ri("user")
RI_SPACE: Final = _ri("space")
RI_URL: Final = _ri("url")
RI_SHORTCUT: Final = _ri("shortcut")
RI_CONTENT_ENTITY: Final = _ri("content-entity")
RI_CONTENT_TITLE: Final = _ri("content-title")
RI_SPACE_KEY: Final = _ri("space-key")
RI_FILENAME: Final = _ri("filename")
RI_POSTING_DAY: Final = _ri("posting-day")
RI_VALUE: Final = _ri("value")
RI_ACCOUNT_ID: Final = _ri("account-id")
RI_USERKEY: Final = _ri("userkey")
RI_USERNAME: Final = _ri("username")
RI_PARAMETER: Final = _ri("parameter")

_RESOURCES: Final = frozenset(
    {RI_PAGE, RI_BLOG_POST, RI_ATTACHMENT, RI_USER, RI_SPACE, RI_URL, RI_SHORTCUT, RI_CONTENT_ENTITY}
)
# Attributes rendered as text (an image's alt text or title).
_SHOWN_ATTRIBUTES: Final = (AC_ALT, AC_TITLE, "alt", "title")

# Block kinds. Layout decisions (how blocks join, what a table cell can hold) depend on them.
PARA: Final = "p"
HEADING: Final = "h"
CODE: Final = "code"
LIST: Final = "list"
TABLE: Final = "table"
QUOTE: Final = "quote"
RULE: Final = "hr"

Block = tuple[str, str, str]  # (kind, text, markdown)

# U+001E cannot occur in XML text, so it can mark an explicit line break (<br/>, a block
# forced inside an inline element) that survives the whitespace collapse of a paragraph.
BREAK: Final = "\x1e"
_EDGE_SPACE: Final = " \t\n\r\f\xa0\x1e"
_SPACES = re.compile(r"[ \t\n\r\f\xa0]+")
# Whitespace str.split() would also collapse but which is meaningful text (not source layout).
_UNICODE_SPACE_SEARCH = re.compile(r"[\x1c\x1d\x1f\x85\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]").search
_MD_SPECIAL = re.compile(r"[\\`*\[\]]|<(?=[A-Za-z/!?])|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_MD_SPECIAL_SUB = _MD_SPECIAL.sub
_LINE_START_RISKS: Final = frozenset("#>+-0123456789")
_MD_LINE_START = re.compile(r"(?m)^([#>+-])")
_MD_ORDERED_START = re.compile(r"(?m)^(\d{1,9})([.)])(?=\s|$)")
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n{3,}")
_BACKTICKS = re.compile(r"`+")
_LANGUAGE_CHARS = re.compile(r"[^A-Za-z0-9_+#.-]")
_URL_NEEDS_BRACKETS = re.compile(r"[\s()<>]")
# Invisible format characters (soft hyphen, word joiner, BOM/zero-width no-break space) that Elasticsearch's
# standard tokenizer keeps inside a token: `super\xadcali` would never match `supercali`. Word pastes are full of
# soft hyphens. (A zero-width space already splits words there; bidi marks and ZWJ/ZWNJ carry meaning: all kept.)
_INVISIBLE: Final = "\xad\u2060\ufeff"
_INVISIBLE_SUB = re.compile(f"[{_INVISIBLE}]").sub
_INVISIBLE_SEARCH = re.compile(f"[{_INVISIBLE}]").search
# What in the raw body can become one of them in the tree: the character, its named entity (`&shy` is also read
# without `;` by the lenient parser) or any numeric reference. Most bodies hold none, and skip the tree pass.
_INVISIBLE_SOURCES: Final = (*_INVISIBLE, "&shy", "&NoBreak", "&#")

_PANEL_LABELS: Final = {"info": "Info", "note": "Note", "warning": "Warning", "tip": "Tip"}
_ADF_PANEL_LABELS: Final = {
    "info": "Info",
    "note": "Note",
    "warning": "Warning",
    "success": "Success",
    "error": "Error",
    "tip": "Tip",
}
# Confluence's classic emoticon names (storage keeps the name; the editor shows an image).
_EMOTICONS: Final = {
    "smile": "🙂",
    "sad": "🙁",
    "cheeky": "😛",
    "laugh": "😀",
    "wink": "😉",
    "thumbs-up": "👍",
    "thumbs-down": "👎",
    "information": "ℹ️",
    "tick": "✅",
    "cross": "❌",
    "warning": "⚠️",
    "plus": "➕",
    "minus": "➖",
    "question": "❓",
    "light-on": "💡",
    "light-off": "💡",
    "yellow-star": "⭐",
    "red-star": "⭐",
    "green-star": "⭐",
    "blue-star": "⭐",
    "heart": "❤️",
    "broken-heart": "💔",
}
_CODE_MACROS: Final = frozenset({"code", "noformat", "code-block", "codeblock"})
_PANEL_MACROS: Final = frozenset({"info", "note", "warning", "tip", "panel", "expand", "ui-expand"})
_INCLUDE_MACROS: Final = frozenset({"include", "excerpt-include"})
_FILE_MACROS: Final = frozenset(
    {"view-file", "viewfile", "viewpdf", "viewdoc", "viewxls", "viewppt", "multimedia", "pdf-macro"}
)
_MAX_SPAN: Final = 100  # colspan/rowspan beyond this is treated as this (guards the grid size)


# --------------------------------------------------------------------------- small helpers


def _escape_md(text: str) -> str:
    # A few substring scans are an order of magnitude cheaper than running the regex.
    if (
        "\\" in text or "`" in text or "*" in text or "[" in text or "]" in text or "<" in text or "_" in text
    ):
        return _MD_SPECIAL_SUB(_backslash_match, text)
    return text


def _backslash_match(match: re.Match[str]) -> str:
    return "\\" + match.group()


def _collapse(fragment: str) -> str:
    """Collapse source whitespace and trim; explicit breaks become newlines."""
    if BREAK in fragment:
        collapsed = "\n".join([_collapse_line(line) for line in fragment.split(BREAK)]).strip("\n")
        return _BLANK_RUNS.sub("\n\n", collapsed) if "\n\n\n" in collapsed else collapsed
    # str.split() is several times faster than a regex, but it also splits on typographic
    # spaces (em space, ideographic space) that must survive; those rare strings take the regex.
    if fragment.isascii() or _UNICODE_SPACE_SEARCH(fragment) is None:
        return " ".join(fragment.split())
    return _SPACES.sub(" ", fragment).strip(" ")


def _collapse_line(fragment: str) -> str:
    if fragment.isascii() or _UNICODE_SPACE_SEARCH(fragment) is None:
        return " ".join(fragment.split())
    return _SPACES.sub(" ", fragment).strip(" ")


def _escape_line_starts(markdown: str) -> str:
    """Stop a paragraph line that begins with '#', '>', '-', '+' or '1.' turning into structure."""
    if "\n" not in markdown and markdown[:1] not in _LINE_START_RISKS:
        return markdown
    markdown = _MD_LINE_START.sub(r"\\\1", markdown)
    return _MD_ORDERED_START.sub(r"\1\\\2", markdown)


def _clean_code(code: str) -> str:
    lines = [line.rstrip() for line in code.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    start = 0
    while start < len(lines) and not lines[start]:
        start += 1
    return "\n".join(lines[start:])


def _fence(code: str, language: str) -> str:
    longest = max((len(run) for run in _BACKTICKS.findall(code)), default=0) if "`" in code else 0
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code}\n{fence}"


def _code_span(code: str) -> str:
    longest = max((len(run) for run in _BACKTICKS.findall(code)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if code.startswith("`") or code.endswith("`") else ""
    return f"{fence}{pad}{code}{pad}{fence}"


def _md_url(url: str) -> str:
    if _URL_NEEDS_BRACKETS.search(url):
        return "<" + url.replace("<", "%3C").replace(">", "%3E").replace("\n", "") + ">"
    return url


def _md_link(label_md: str, url: str) -> str:
    core = label_md.strip(_EDGE_SPACE)
    if not core:
        core = _escape_md(url)
    lead = label_md[: len(label_md) - len(label_md.lstrip(_EDGE_SPACE))]
    trail = label_md[len(label_md.rstrip(_EDGE_SPACE)) :]
    return f"{lead}[{core}]({_md_url(url)}){trail}"


def _wrap_md(fragment: str, mark: str) -> str:
    """Wrap in emphasis markers, keeping edge whitespace outside (CommonMark needs that)."""
    core = fragment.strip(_EDGE_SPACE)
    if not core:
        return fragment
    lead = fragment[: len(fragment) - len(fragment.lstrip(_EDGE_SPACE))]
    trail = fragment[len(fragment.rstrip(_EDGE_SPACE)) :]
    return f"{lead}{mark}{core}{mark}{trail}"


def _quote_md(markdown: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in markdown.split("\n"))


def _list_item_md(marker: str, body: str) -> str:
    if not body:
        return marker.rstrip()
    indent = " " * len(marker)
    lines = body.split("\n")
    rest = "".join(f"\n{indent}{line}" if line else "\n" for line in lines[1:])
    return marker + lines[0] + rest


def _join_text(blocks: list[Block]) -> str:
    return "\n".join(block[1] for block in blocks if block[1])


def _join_md(blocks: list[Block]) -> str:
    return "\n\n".join(block[2] for block in blocks if block[2])


_TIGHT_BEFORE: Final = frozenset({PARA, LIST, HEADING})
_TIGHT_AFTER: Final = frozenset({LIST})  # a paragraph after another block needs a blank line, or it joins that block


def _join_md_tight(blocks: list[Block]) -> str:
    """Join the blocks of a list item without blank lines where Markdown allows it."""
    out: list[str] = []
    previous = ""
    for kind, _, markdown in blocks:
        if not markdown:
            continue
        if out:
            out.append("\n" if previous in _TIGHT_BEFORE and kind in _TIGHT_AFTER else "\n\n")
        out.append(markdown)
        previous = kind
    return "".join(out)


def _tidy(rendered: str) -> str:
    # The checks first: these regexes scan the whole output, and most bodies need neither.
    if " \n" in rendered or "\t\n" in rendered:
        rendered = _TRAILING_SPACE.sub("", rendered)
    if "\n\n\n" in rendered:
        rendered = _BLANK_RUNS.sub("\n\n", rendered)
    return rendered.rstrip().lstrip("\n")  # leading spaces may be a code block's indentation


def _span(value: str | None) -> int:
    if value is None:
        return 1
    try:
        return min(max(int(value or 1), 1), _MAX_SPAN)
    except ValueError:
        return 1


def _child(element: etree._Element, tag: str) -> etree._Element | None:
    """First child with this tag (cheaper than find(), which goes through ElementPath)."""
    return next(element.iterchildren(tag), None)


def _leaf_text(element: etree._Element) -> str | None:
    """The raw text of an element holding only text, or only one text-only <p>; else None."""
    count = len(element)
    if count == 0:
        return element.text or ""
    if count == 1:
        child = element[0]
        if (
            child.tag == "p"
            and not len(child)
            and not (element.text and element.text.strip())
            and not (child.tail and child.tail.strip())
        ):
            return child.text or ""
    return None


def _start_number(value: str | None) -> int:
    try:
        return max(int(value or 1), 0)
    except ValueError:
        return 1


def _parameters(macro: etree._Element) -> dict[str, str]:
    """A macro's parameters by name; "" is the default (unnamed) parameter."""
    parameters: dict[str, str] = {}
    for child in macro.iterchildren(AC_PARAMETER, AC_DEFAULT_PARAMETER):
        name = "" if child.tag == AC_DEFAULT_PARAMETER else (child.get(AC_NAME) or "")
        parameters.setdefault(name, _all_text(child).strip())
    return parameters


def _all_text(element: etree._Element) -> str:
    """Text of an element and its descendants (CDATA included); .text alone when it has no children."""
    if not len(element):
        return element.text or ""
    return "".join(element.itertext())


def _emoji_from_codepoints(emoji_id: str) -> str:
    """`1f642` or `1f468-200d-1f4bb` -> the emoji; custom emoji ids (not code points) -> ""."""
    characters = []
    for part in emoji_id.split("-"):
        if not 4 <= len(part) <= 6:
            return ""
        try:
            codepoint = int(part, 16)
        except ValueError:
            return ""
        if codepoint > 0x10FFFF or 0xD800 <= codepoint <= 0xDFFF:
            return ""
        characters.append(chr(codepoint))
    return "".join(characters)


def _may_hold_invisible(storage: str) -> bool:
    # Substring scans: a regex alternation over a large body costs a tenth of its conversion.
    return any(source in storage for source in _INVISIBLE_SOURCES)


def _drop_invisible(root: etree._Element) -> None:
    """Remove the invisible characters of `_INVISIBLE` from all text (code included) and from the attributes shown as
    text, before rendering: removing them afterwards could expose a `<` or a line-start `#` that escaping let pass
    because of them. Resource attributes (page titles, file names) stay as written: links are resolved by them."""
    for element in root.iter():
        if isinstance(element.tag, str):
            text = element.text
            if text and _INVISIBLE_SEARCH(text):
                element.text = _INVISIBLE_SUB("", text)
            for name in _SHOWN_ATTRIBUTES:
                value = element.get(name)
                if value and _INVISIBLE_SEARCH(value):
                    element.set(name, _INVISIBLE_SUB("", value))
        tail = element.tail
        if tail and _INVISIBLE_SEARCH(tail):
            element.tail = _INVISIBLE_SUB("", tail)


def _plain_text(root: etree._Element) -> str:
    """Last-resort rendering: all text outside macro parameters, one block per line."""
    parts: list[str] = []
    skip_depth = 0
    for event, element in etree.iterwalk(root, events=("start", "end")):
        tag = element.tag
        if event == "start":
            if tag == AC_PARAMETER:
                skip_depth += 1
            elif isinstance(tag, str) and tag in _PLAIN_TEXT_BREAKS:
                parts.append(BREAK)
            if not skip_depth and element.text:
                parts.append(element.text)
        else:
            if tag == AC_PARAMETER:
                skip_depth -= 1
            if isinstance(tag, str) and tag in _PLAIN_TEXT_BREAKS:
                parts.append(BREAK)
            if not skip_depth and element.tail and element is not root:
                parts.append(element.tail)
    return _tidy(_collapse("".join(parts)))


_PLAIN_TEXT_BREAKS: Final = frozenset(
    {"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", AC_TASK}
)


# --------------------------------------------------------------------------- rendering


class _Flow:
    """Finished blocks plus the paragraph being built (parallel text and Markdown fragments)."""

    __slots__ = ("blocks", "md", "text")

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.text: list[str] = []
        self.md: list[str] = []

    def add(self, text: str, markdown: str) -> None:
        self.text.append(text)
        self.md.append(markdown)

    def flush(self) -> None:
        if not self.text:
            return
        joined_text = "".join(self.text)
        joined_md = "".join(self.md)
        text = _collapse(joined_text)
        markdown = text if joined_md == joined_text else _collapse(joined_md)
        self.text.clear()
        self.md.clear()
        if text or markdown:
            self.blocks.append((PARA, text, _escape_line_starts(markdown)))

    def add_block(self, kind: str, text: str, markdown: str) -> None:
        if self.text:
            self.flush()
        self.blocks.append((kind, text, markdown))

    def finish(self) -> list[Block]:
        self.flush()
        return self.blocks


Handler = Callable[["_Renderer", etree._Element, _Flow], None]
MacroHandler = Callable[["_Renderer", etree._Element, _Flow, str], None]


# ADF nodes rendered from their own content (panels, expands); others are read from their content or fallback.
_ADF_CONTAINERS: Final = frozenset({"panel", "expand", "nested-expand"})


class _Renderer:
    """Renders one parsed body. Holds the callbacks and a per-body cache of user names."""

    def __init__(self, user_resolver: UserResolver | None, page_url: PageUrlResolver | None,
                 blog_url: BlogUrlResolver | None = None, attachment_url: AttachmentUrlResolver | None = None,
                 web_base: str | None = None) -> None:
        self.user_resolver = user_resolver
        self.page_url = page_url
        self.blog_url = blog_url
        self.attachment_url = attachment_url
        self.web_base = web_base.rstrip("/") + "/" if web_base else None  # a directory, for urljoin
        self.user_names: dict[str, str | None] = {}

    def render(self, root: etree._Element) -> ConvertedBody:
        blocks = self.blocks_of(root)
        # Blank-line runs are collapsed in the text only: in Markdown they can only come from
        # code blocks, which stay verbatim.
        return ConvertedBody(_tidy(_join_text(blocks)), _join_md(blocks).rstrip().lstrip("\n"))

    # ---- traversal

    def blocks_of(self, element: etree._Element) -> list[Block]:
        raw = _leaf_text(element)
        if raw is not None:
            # Fast path for the most common containers: <td><p>words</p></td>, <li>words</li>.
            text = _collapse(raw)
            return [(PARA, text, _escape_line_starts(_escape_md(text)))] if text else []
        flow = _Flow()
        self.children(element, flow)
        return flow.finish()

    def children(self, element: etree._Element, flow: _Flow) -> None:
        texts = flow.text
        mds = flow.md
        text = element.text
        if text:
            texts.append(text)
            mds.append(_escape_md(text))
        for child in element:
            handler = _HANDLERS.get(child.tag)
            if handler is None:
                handler = _handler_for_unknown(child.tag)
            handler(self, child, flow)
            tail = child.tail
            if tail:
                texts.append(tail)
                mds.append(_escape_md(tail))

    def element(self, element: etree._Element, flow: _Flow) -> None:
        handler = _HANDLERS.get(element.tag) or _handler_for_unknown(element.tag)
        handler(self, element, flow)

    def inline_of(self, element: etree._Element, flow: _Flow) -> tuple[str, str] | None:
        """Render an inline element's children to (text, markdown).

        If the element holds blocks (a <p> inside <strong>, a table inside a link), its words
        are added to `flow` as separate lines instead, without the inline formatting, and
        None is returned.
        """
        if not len(element):
            text = element.text or ""
            return text, _escape_md(text)
        inner = _Flow()
        self.children(element, inner)
        if not inner.blocks:
            return "".join(inner.text), "".join(inner.md)
        # Words after the last block continue the surrounding line, so they stay inline.
        trailing_text = "".join(inner.text)
        trailing_md = "".join(inner.md)
        blocks = inner.blocks
        flow.add(
            BREAK + BREAK.join(b[1].replace("\n", BREAK) for b in blocks if b[1]) + BREAK + trailing_text,
            BREAK + BREAK.join(b[2].replace("\n", BREAK) for b in blocks if b[2]) + BREAK + trailing_md,
        )
        return None

    # ---- structure

    def skip(self, element: etree._Element, flow: _Flow) -> None:
        """Machinery (parameters, ids, placeholders, scripts): no readable content."""

    def transparent(self, element: etree._Element, flow: _Flow) -> None:
        self.children(element, flow)

    def block_container(self, element: etree._Element, flow: _Flow) -> None:
        if flow.text:
            flow.flush()
        if not len(element):
            text = element.text
            if text:
                text = _collapse(text)
                if text:
                    flow.blocks.append((PARA, text, _escape_line_starts(_escape_md(text))))
            return
        self.children(element, flow)
        if flow.text:
            flow.flush()

    def line_break(self, element: etree._Element, flow: _Flow) -> None:
        flow.add(BREAK, BREAK)

    def rule(self, element: etree._Element, flow: _Flow) -> None:
        flow.add_block(RULE, "", "---")

    def heading(self, element: etree._Element, flow: _Flow) -> None:
        blocks = self.blocks_of(element)
        text = " ".join(b[1].replace("\n", " ") for b in blocks if b[1])
        markdown = " ".join(b[2].replace("\n", " ") for b in blocks if b[2])
        if text or markdown:
            flow.add_block(HEADING, text, "#" * int(element.tag[-1]) + " " + markdown)

    def preformatted(self, element: etree._Element, flow: _Flow) -> None:
        for line_break in element.iter("br"):
            line_break.tail = "\n" + (line_break.tail or "")
        code = _clean_code("".join(element.itertext()))
        if code:
            flow.add_block(CODE, code, _fence(code, ""))

    def blockquote(self, element: etree._Element, flow: _Flow) -> None:
        blocks = self.blocks_of(element)
        if blocks:
            flow.add_block(QUOTE, _join_text(blocks), _quote_md(_join_md(blocks)))

    def unordered_list(self, element: etree._Element, flow: _Flow) -> None:
        self._list(element, flow, ordered=False)

    def ordered_list(self, element: etree._Element, flow: _Flow) -> None:
        self._list(element, flow, ordered=True)

    def _list(self, element: etree._Element, flow: _Flow, ordered: bool) -> None:
        number = _start_number(element.get("start")) if ordered else 1
        texts: list[str] = []
        items: list[str] = []
        if element.text and element.text.strip():
            stray = element.text.strip()
            texts.append(stray)
            items.append(_list_item_md("- ", _escape_md(stray)))
        for child in element:
            if child.tag == "li":
                blocks = self.blocks_of(child)
                marker = f"{number}. " if ordered else "- "
                number += 1
                if len(blocks) == 1:  # the usual one-paragraph item
                    text, markdown = blocks[0][1], blocks[0][2]
                else:
                    text, markdown = _join_text(blocks), _join_md_tight(blocks)
                if text:
                    texts.append(text)
                one_line = markdown and "\n" not in markdown
                items.append(marker + markdown if one_line else _list_item_md(marker, markdown))
            else:
                # A nested list (or anything else) directly inside the list belongs to the item before it.
                inner = _Flow()
                self.element(child, inner)
                blocks = inner.finish()
                self._attach_to_last_item(texts, items, blocks)
            if child.tail and child.tail.strip():
                stray = child.tail.strip()
                self._attach_to_last_item(texts, items, [(PARA, stray, _escape_md(stray))])
        if texts or any(items):
            flow.add_block(LIST, "\n".join(texts), "\n".join(items))

    @staticmethod
    def _attach_to_last_item(texts: list[str], items: list[str], blocks: list[Block]) -> None:
        text = _join_text(blocks)
        markdown = _join_md_tight(blocks)
        if text:
            texts.append(text)
        if not markdown:
            return
        if items:
            items[-1] += "\n" + "\n".join(f"  {line}" if line else "" for line in markdown.split("\n"))
        else:
            items.append(_list_item_md("- ", markdown))

    # ---- tables

    def table(self, element: etree._Element, flow: _Flow) -> None:
        rows: list[list[tuple[str, str, int, int]]] = []
        caption: list[Block] = []
        for child in element:
            tag = child.tag
            if tag in ("thead", "tbody", "tfoot"):
                rows.extend(self._row(row) for row in child if row.tag == "tr")
            elif tag == "tr":
                rows.append(self._row(child))
            elif tag == "caption":
                caption = self.blocks_of(child)
        rows = [row for row in rows if row]
        if caption:
            flow.add_block(PARA, _join_text(caption), _join_md(caption))
        if not rows:
            return
        text = "\n".join(
            " | ".join(cell[0] for cell in row if cell[0]) for row in rows if any(cell[0] for cell in row)
        )
        flow.add_block(TABLE, text, _pipe_table(rows))

    def _row(self, row: etree._Element) -> list[tuple[str, str, int, int]]:
        cells = []
        for cell in row:
            if cell.tag in ("td", "th"):
                text, markdown = self._cell(cell)
                cells.append((text, markdown, _span(cell.get("colspan")), _span(cell.get("rowspan"))))
        return cells

    def _cell(self, cell: etree._Element) -> tuple[str, str]:
        raw = _leaf_text(cell)
        if raw is not None:  # fast path: a cell holding words only
            text = _collapse(raw).replace("\n", " ")
            markdown = _escape_md(text)
            return text, markdown.replace("|", "\\|") if "|" in markdown else markdown
        blocks = self.blocks_of(cell)
        text = " ".join(b[1].replace("\n", " ") for b in blocks if b[1])
        parts = []
        for kind, block_text, markdown in blocks:
            if kind == CODE:
                markdown = "<br>".join(_code_span(line) for line in block_text.split("\n") if line.strip())
            elif kind == HEADING:
                markdown = _wrap_md(markdown.lstrip("#").strip(), "**")
            elif kind == TABLE:  # a Markdown table cannot hold one: its rows become lines, cells apart by ";"
                markdown = "<br>".join(_escape_md(line.replace(" | ", "; ")) for line in block_text.split("\n")
                                       if line.strip())
            if markdown and kind != RULE:
                parts.append(markdown)
        markdown = "<br>".join(parts).replace("\n", "<br>").replace("|", "\\|")
        return text, markdown

    # ---- inline formatting

    def _emphasis(self, element: etree._Element, flow: _Flow, mark: str) -> None:
        rendered = self.inline_of(element, flow)
        if rendered is not None:
            flow.add(rendered[0], _wrap_md(rendered[1], mark))

    def strong(self, element: etree._Element, flow: _Flow) -> None:
        self._emphasis(element, flow, "**")

    def italic(self, element: etree._Element, flow: _Flow) -> None:
        self._emphasis(element, flow, "*")

    def strikethrough(self, element: etree._Element, flow: _Flow) -> None:
        self._emphasis(element, flow, "~~")

    def code_span(self, element: etree._Element, flow: _Flow) -> None:
        rendered = self.inline_of(element, flow)
        if rendered is None:
            return
        text = rendered[0]
        code = _collapse_line(text.replace(BREAK, " "))
        if not code:
            flow.add(text, rendered[1])
            return
        lead = " " if text[:1] in _EDGE_SPACE else ""
        trail = " " if text[-1:] in _EDGE_SPACE else ""
        flow.add(text, lead + _code_span(code) + trail)

    def time(self, element: etree._Element, flow: _Flow) -> None:
        if len(element) or (element.text and element.text.strip()):
            self.children(element, flow)
            return
        moment = element.get("datetime") or ""
        flow.add(moment, _escape_md(moment))

    # ---- links, mentions, images, emoticons

    def html_link(self, element: etree._Element, flow: _Flow) -> None:
        href = (element.get("href") or "").strip()
        rendered = self.inline_of(element, flow)
        if rendered is None:
            return
        text, markdown = rendered
        target = self._followable(href)
        if not target:
            flow.add(text, markdown)
            return
        if not text.strip(_EDGE_SPACE):
            text = text + href
        flow.add(text, _md_link(markdown, target))

    def _followable(self, value: str) -> str:
        """A link target or image source for the Markdown copy: as a browser on the site resolves it; "" for none,
        and for script and data URLs, which no reader of the copy should follow."""
        value = value.strip()
        if not value or value.lower().startswith(("javascript:", "data:")):
            return ""
        return self._absolute(value)

    def _absolute(self, href: str) -> str:
        """A relative href as a browser on the site resolves it, so the Markdown copy still leads there.

        A root-relative href already holds Cloud's `/wiki` or a Data Center context path, so it is joined to the
        origin only (urljoin does that); a path-relative one is taken relative to the site base, the page's own
        URL being unknown here. Anchors and hrefs with a scheme (`https:`, `mailto:`) are left as written.
        """
        if self.web_base is None or not href or href.startswith("#"):
            return href
        try:
            return href if urlsplit(href).scheme else urljoin(self.web_base, href)
        except ValueError:  # an unparseable href (a broken IPv6 host): as written
            return href

    def confluence_link(self, element: etree._Element, flow: _Flow) -> None:
        target: etree._Element | None = None
        label: tuple[str, str] | None = None
        for child in element:
            tag = child.tag
            if tag in _RESOURCES:
                target = child
            elif tag == AC_PLAIN_TEXT_LINK_BODY:
                body = _all_text(child)
                label = (body, _escape_md(body))
            elif tag == AC_LINK_BODY:
                label = self.inline_of(child, flow)
                if label is None:
                    return
        has_label = label is not None and bool(label[0].strip(_EDGE_SPACE))
        if target is not None and target.tag == RI_USER:
            name = self._mention(target, label[0] if label is not None and has_label else "")
            flow.add(name, _escape_md(name))
            return
        anchor = element.get(AC_ANCHOR)
        default_label, url = self._resource(target, anchor)
        if label is None or not has_label:
            label = (default_label, _escape_md(default_label))
        flow.add(label[0], _md_link(label[1], url) if url else label[1])

    def _resource(self, target: etree._Element | None, anchor: str | None) -> tuple[str, str | None]:
        """The readable name of a link target and, where one can be built, its URL."""
        fragment = "#" + quote(anchor, safe="") if anchor else ""
        if target is None:
            return (anchor or "", fragment or None)
        tag = target.tag
        if tag in (RI_PAGE, RI_BLOG_POST):
            title = target.get(RI_CONTENT_TITLE) or ""
            url = self._content_url(target)
            if url is None and not title and fragment:
                url = fragment
            elif url is not None:
                url += fragment
            return (title or anchor or "", url)
        if tag == RI_ATTACHMENT:
            filename = target.get(RI_FILENAME) or ""
            return (filename, self._attachment_url(target))
        if tag == RI_URL:
            value = (target.get(RI_VALUE) or "").strip()
            return (value, self._followable(value) or None)
        if tag == RI_SPACE:
            return (target.get(RI_SPACE_KEY) or "", None)
        if tag == RI_SHORTCUT:
            return (target.get(RI_PARAMETER) or "", None)
        return (anchor or "", None)

    def _page_url(self, title: str, space_key: str | None) -> str | None:
        if self.page_url is None or not title:
            return None
        return self.page_url(title, space_key or None)

    def _content_url(self, target: etree._Element) -> str | None:
        """The URL of the page (`ri:page`) or blog post (`ri:blog-post`, by its posting day: a blog post is not
        found by a page's title URL, and may share its title with a page) a link names."""
        title = (target.get(RI_CONTENT_TITLE) or "").strip()
        if target.tag != RI_BLOG_POST:
            return self._page_url(title, target.get(RI_SPACE_KEY))
        day = target.get(RI_POSTING_DAY)
        if self.blog_url is None or not title or not day:
            return None
        return self.blog_url(title, target.get(RI_SPACE_KEY) or None, day)

    def _attachment_url(self, attachment: etree._Element) -> str | None:
        """Where a link to an attachment leads: its download URL when it belongs to the body's own page; the page
        holding it when the link names another one (whose id, part of the download URL, the body does not give)."""
        owner = _child(attachment, RI_PAGE)
        if owner is None:
            owner = _child(attachment, RI_BLOG_POST)
        if owner is not None:
            return self._content_url(owner)
        return self._own_attachment_url(attachment)

    def _own_attachment_url(self, attachment: etree._Element) -> str | None:
        """The download URL of an attachment of the body's own page; None for another page's (or without one)."""
        filename = attachment.get(RI_FILENAME) or ""
        if self.attachment_url is None or not filename or len(attachment):
            return None
        return self.attachment_url(filename)

    def _mention(self, user: etree._Element, label: str) -> str:
        """`@Display Name` of a `ri:user` (a mention, a macro's user parameter); else the label or the identifier."""
        account_id = user.get(RI_ACCOUNT_ID)
        user_key = user.get(RI_USERKEY)
        username = user.get(RI_USERNAME)
        lookup = account_id or user_key or username
        if lookup and self.user_resolver is not None:
            if lookup not in self.user_names:
                self.user_names[lookup] = self.user_resolver(lookup)
            name = self.user_names[lookup]
            if name:
                return "@" + name
        if label:
            return label
        shown = username or account_id or user_key
        return "@" + shown if shown else ""

    def user(self, element: etree._Element, flow: _Flow) -> None:
        """A bare ri:user outside a link (seen in some exports): still a mention."""
        name = self._mention(element, "")
        flow.add(name, _escape_md(name))

    def image(self, element: etree._Element, flow: _Flow) -> None:
        alt = (element.get(AC_ALT) or element.get(AC_TITLE) or "").strip()
        name = ""
        source = ""
        caption = ""
        for child in element:
            tag = child.tag
            if tag == RI_ATTACHMENT:
                name = child.get(RI_FILENAME) or ""
                source = self._own_attachment_url(child) or ""
            elif tag == RI_URL:
                source = self._followable(child.get(RI_VALUE) or "")
            elif tag == AC_CAPTION:
                caption = " ".join(block[1].replace("\n", " ") for block in self.blocks_of(child) if block[1])
        self._add_image(flow, element, alt, name, source, caption)

    def html_image(self, element: etree._Element, flow: _Flow) -> None:
        source = self._absolute((element.get("src") or "").strip())
        alt = (element.get("alt") or element.get("title") or "").strip()
        self._add_image(flow, element, alt, "", source, "")

    @staticmethod
    def _add_image(
        flow: _Flow, element: etree._Element, alt: str, name: str, source: str, caption: str
    ) -> None:
        """The text is what describes the image (alt text, caption) and its file name, so searching for either finds
        the page. Markdown: the description is the image's alt text and the link holds the file name; an image with
        nothing to link to is its text."""
        text = " ".join(dict.fromkeys(part for part in (alt, caption, name) if part))
        if not source:
            if text:
                _add_token(flow, element, text, _escape_md(text))
            return
        label = alt or caption or name
        markdown = f"![{_escape_md(label)}]({_md_url(source)})"
        if caption and caption != label:
            markdown = f"{markdown} {_escape_md(caption)}"
        _add_token(flow, element, text, markdown)

    def emoticon(self, element: etree._Element, flow: _Flow) -> None:
        fallback = (element.get(AC_EMOJI_FALLBACK) or "").strip()
        if fallback and not fallback.startswith(":") and not fallback.isascii():
            emoji = fallback
        else:
            emoji = _emoji_from_codepoints(element.get(AC_EMOJI_ID) or "")
            name = element.get(AC_NAME) or ""
            # Cloud stores every emoji that has no classic emoticon as "blue-star"; for a
            # custom emoji (no code points) that name is a placeholder, not a star.
            if not emoji and not (name == "blue-star" and element.get(AC_EMOJI_SHORTNAME)):
                emoji = _EMOTICONS.get(name, "")
        if emoji:
            flow.add(emoji, emoji)

    # ---- tasks

    def task_list(self, element: etree._Element, flow: _Flow) -> None:
        texts, items = self._tasks(element)
        if texts or items:
            flow.add_block(LIST, "\n".join(texts), "\n".join(items))

    def _tasks(self, element: etree._Element) -> tuple[list[str], list[str]]:
        texts: list[str] = []
        items: list[str] = []
        for child in element:
            if child.tag == AC_TASK:
                done = False
                blocks: list[Block] = []
                for part in child:
                    if part.tag == AC_TASK_STATUS:
                        done = (part.text or "").strip().lower() == "complete"
                    elif part.tag == AC_TASK_BODY:
                        blocks = self.blocks_of(part)
                box = "[x]" if done else "[ ]"
                text = _join_text(blocks)
                texts.append(f"{box} {text}" if text else box)
                items.append(_list_item_md(f"- {box} ", _join_md_tight(blocks)))
            elif child.tag == AC_TASK_LIST:
                nested_texts, nested_items = self._tasks(child)
                texts.extend(nested_texts)
                nested = "\n".join(nested_items)
                if items:
                    items[-1] += "\n" + "\n".join(f"  {line}" if line else "" for line in nested.split("\n"))
                elif nested:
                    items.append(nested)
        return texts, items

    # ---- Cloud editor (ADF) extensions

    def adf_extension(self, element: etree._Element, flow: _Flow) -> None:
        # The fallback is a pre-rendered copy of the node; reading both would index everything twice. A node of a
        # kind without content here (an inline card, say: only attributes) is read from its fallback instead.
        node = _child(element, AC_ADF_NODE)
        fallback = _child(element, AC_ADF_FALLBACK)
        if node is not None and (fallback is None or node.get("type") in _ADF_CONTAINERS
                                 or _child(node, AC_ADF_CONTENT) is not None or _child(node, AC_ADF_NODE) is not None):
            self.adf_node(node, flow)
        elif fallback is not None:
            self.children(fallback, flow)  # inline where the extension stands inline (a card in a sentence)

    def adf_node(self, element: etree._Element, flow: _Flow) -> None:
        node_type = element.get("type")
        if node_type in _ADF_CONTAINERS:
            attributes = {
                child.get("key"): _collapse(child.text or "") for child in element.iterchildren(AC_ADF_ATTRIBUTE)
            }
            content = _child(element, AC_ADF_CONTENT)
            blocks = self.blocks_of(content) if content is not None else []
            label = _ADF_PANEL_LABELS.get(attributes.get("panel-type", "").lower())
            self._panel(flow, label, attributes.get("title", ""), blocks)
            return
        flow.flush()
        for child in element:
            if child.tag in (AC_ADF_CONTENT, AC_ADF_NODE):
                self.element(child, flow)
        flow.flush()

    # ---- macros

    def macro(self, element: etree._Element, flow: _Flow) -> None:
        name = (element.get(AC_NAME) or "").strip().lower()
        _MACROS.get(name, _Renderer.other_macro)(self, element, flow, name)

    def code_macro(self, element: etree._Element, flow: _Flow, name: str) -> None:
        parameters = _parameters(element)
        language = "" if name == "noformat" else (parameters.get("language") or parameters.get("lang") or "")
        language = _LANGUAGE_CHARS.sub("", language).lower()
        if language == "none":
            language = ""
        title = _collapse(parameters.get("title", ""))
        body = _child(element, AC_PLAIN_TEXT_BODY)
        code = _clean_code(_all_text(body)) if body is not None else ""
        if title:
            flow.add_block(PARA, title, _wrap_md(_escape_md(title), "**"))
        if code:
            flow.add_block(CODE, code, _fence(code, language))

    def panel_macro(self, element: etree._Element, flow: _Flow, name: str) -> None:
        title = _collapse(_parameters(element).get("title", ""))
        body = _child(element, AC_RICH_TEXT_BODY)
        blocks = self.blocks_of(body) if body is not None else []
        self._panel(flow, _PANEL_LABELS.get(name), title, blocks)

    def _panel(self, flow: _Flow, label: str | None, title: str, blocks: list[Block]) -> None:
        text = "\n".join(part for part in (title, _join_text(blocks)) if part)
        if not text:
            return
        markdown_blocks = [block[2] for block in blocks if block[2]]
        if title:
            heading = f"{label}: {title}" if label else title
            markdown_blocks.insert(0, f"**{_escape_md(heading)}**")
        elif label:
            if blocks and blocks[0][0] == PARA:
                markdown_blocks[0] = f"**{label}:** {markdown_blocks[0]}"
            else:
                markdown_blocks.insert(0, f"**{label}:**")
        flow.add_block(QUOTE, text, _quote_md("\n\n".join(markdown_blocks)))

    def jira_macro(self, element: etree._Element, flow: _Flow, name: str) -> None:
        parameters = _parameters(element)
        key = parameters.get("key") or parameters.get("") or ""
        if key and not any(ch.isspace() for ch in key) and len(key) <= 64:
            _add_token(flow, element, key, _escape_md(key))

    def status_macro(self, element: etree._Element, flow: _Flow, name: str) -> None:
        title = _collapse(_parameters(element).get("title", ""))
        if title:
            _add_token(flow, element, title, _escape_md(title))

    def include_macro(self, element: etree._Element, flow: _Flow, name: str) -> None:
        page = next(element.iter(RI_PAGE), None)
        if page is None:
            page = next(element.iter(RI_BLOG_POST), None)
        if page is not None:
            title = (page.get(RI_CONTENT_TITLE) or "").strip()
            url = self._content_url(page) if title else None
        else:
            # Old wiki-converted form: the default parameter is "Title" or "SPACE:Title".
            reference = _parameters(element).get("", "")
            space_key, _, title = reference.rpartition(":") if ":" in reference else ("", "", reference)
            title = title.strip()
            url = self._page_url(title, space_key or None)
        if not title:
            return
        link = _md_link(_escape_md(title), url) if url else _escape_md(title)
        flow.add_block(PARA, title, f"*Included from:* {link}")

    def file_macro(self, element: etree._Element, flow: _Flow, name: str) -> None:
        attachment = next(element.iter(RI_ATTACHMENT), None)
        filename = (attachment.get(RI_FILENAME) or "") if attachment is not None else ""
        if filename:
            url = self._attachment_url(attachment) if attachment is not None else None
            flow.add_block(PARA, filename, _md_link(_escape_md(filename), url) if url else _escape_md(filename))

    def html_macro(self, element: etree._Element, flow: _Flow, name: str) -> None:
        body = _child(element, AC_PLAIN_TEXT_BODY)
        source = _all_text(body) if body is not None else ""
        if source.strip():
            root = parse_leniently(source)
            if _may_hold_invisible(source):  # its entities (`&shy;`) are only read now
                _drop_invisible(root)
            self.block_container(root, flow)

    def anchor_macro(self, element: etree._Element, flow: _Flow, name: str) -> None:
        """Anchors are link targets with no visible text."""

    def tooltip_macro(self, element: etree._Element, flow: _Flow, name: str) -> None:
        """The page shows the `linkText` parameter in the sentence; the body is the tooltip shown on hover, still the
        author's words, kept after it in parentheses (flattened to one line, as the tooltip reads)."""
        link_text = _collapse(_parameters(element).get("linkText", ""))
        body = _child(element, AC_RICH_TEXT_BODY)
        tip = " ".join(b[1].replace("\n", " ") for b in self.blocks_of(body) if b[1]) if body is not None else ""
        text = f"{link_text} ({tip})" if link_text and tip else link_text or tip
        if text:
            _add_token(flow, element, text, _escape_md(text))

    def profile_macro(self, element: etree._Element, flow: _Flow, name: str) -> None:
        """The User Profile macro shows the user's name: its `user` parameter holds a `ri:user`, named as a mention
        is (older wiki-converted bodies hold the bare username)."""
        parameter = next((p for p in element.iterchildren(AC_PARAMETER) if p.get(AC_NAME) == "user"), None)
        if parameter is None:
            return
        user = _child(parameter, RI_USER)
        if user is not None:
            shown = self._mention(user, "")
        else:
            username = _collapse(_all_text(parameter))
            shown = "@" + username if username else ""
        if shown:
            _add_token(flow, element, shown, _escape_md(shown))

    def other_macro(self, element: etree._Element, flow: _Flow, name: str) -> None:
        """Unknown macros: keep what the author wrote in the body, drop the parameters.

        Macros without a body (toc, children, attachments, jira queries, ...) render content
        Confluence computes at view time; there is nothing of the author's to keep.
        """
        rich = _child(element, AC_RICH_TEXT_BODY)
        if rich is not None:
            self.children(rich, flow)
            return
        plain = _child(element, AC_PLAIN_TEXT_BODY)
        if plain is not None:
            code = _clean_code(_all_text(plain))
            if code:
                flow.add_block(CODE, code, _fence(code, _LANGUAGE_CHARS.sub("", name)))


def _add_token(flow: _Flow, element: etree._Element, text: str, markdown: str) -> None:
    """Add an atomic token (issue key, status, image) so it cannot fuse with a neighbouring word."""
    before = flow.text[-1][-1:] if flow.text else ""
    after = (element.tail or "")[:1]
    lead = " " if before.isalnum() else ""
    trail = " " if after.isalnum() else ""
    flow.add(f"{lead}{text}{trail}", f"{lead}{markdown}{trail}")


def _pipe_table(rows: list[list[tuple[str, str, int, int]]]) -> str:
    """A GFM table. Spanned cells are repeated as empty cells so every row has the same width."""
    grid: list[list[str]] = []
    carried: dict[int, int] = {}  # column -> rows still covered by a rowspan from above
    for row in rows:
        out: list[str] = []
        column = 0
        for _, markdown, colspan, rowspan in row:
            while carried.get(column):
                carried[column] -= 1
                out.append("")
                column += 1
            out.append(markdown)
            out.extend([""] * (colspan - 1))
            if rowspan > 1:
                for covered in range(column, column + colspan):
                    carried[covered] = rowspan - 1
            column += colspan
        while carried.get(column):
            carried[column] -= 1
            out.append("")
            column += 1
        grid.append(out)
    width = max(len(row) for row in grid)
    lines = []
    for index, row in enumerate(grid):
        row = row + [""] * (width - len(row))
        lines.append("| " + " | ".join(row) + " |")
        if index == 0:
            lines.append("|" + "|".join(["---"] * width) + "|")
    return "\n".join(lines)


def _handler_for_unknown(tag: object) -> Handler:
    # Unknown elements are invisible wrappers; comments and processing instructions are dropped.
    return _Renderer.transparent if isinstance(tag, str) else _Renderer.skip


_R = _Renderer
_HANDLERS: dict[object, Handler] = {
    **dict.fromkeys(
        [
            "p", "div", "section", "article", "main", "header", "footer", "aside", "nav", "figure",
            "figcaption", "center", "details", "summary", "dl", "dt", "dd", "address", "li",
            _ac("rich-text-body"), _ac("layout"), _ac("layout-section"), _ac("layout-cell"),
            _ac("adf-content"), _ac("task-body"),
        ],
        _R.block_container,
    ),
    **dict.fromkeys(["h1", "h2", "h3", "h4", "h5", "h6"], _R.heading),
    **dict.fromkeys(["strong", "b"], _R.strong),
    **dict.fromkeys(["em", "i", "cite", "dfn"], _R.italic),
    **dict.fromkeys(["s", "del", "strike"], _R.strikethrough),
    **dict.fromkeys(["code", "tt", "kbd", "samp"], _R.code_span),
    **dict.fromkeys(
        [
            "script", "style", "head", "title", "colgroup", "col", "template",
            AC_PARAMETER, AC_DEFAULT_PARAMETER, _ac("placeholder"), _ac("task-id"), _ac("task-uuid"),
            AC_TASK_STATUS, AC_ADF_ATTRIBUTE, AC_ADF_FALLBACK, _ri("page"), _ri("attachment"),
            _ri("blog-post"), _ri("space"), _ri("url"), _ri("shortcut"), _ri("content-entity"),
        ],
        _R.skip,
    ),
    "br": _R.line_break,
    "hr": _R.rule,
    "pre": _R.preformatted,
    "blockquote": _R.blockquote,
    "ul": _R.unordered_list,
    "ol": _R.ordered_list,
    "table": _R.table,
    "a": _R.html_link,
    "img": _R.html_image,
    "time": _R.time,
    _ac("structured-macro"): _R.macro,
    _ac("macro"): _R.macro,
    _ac("link"): _R.confluence_link,
    _ac("image"): _R.image,
    _ac("emoticon"): _R.emoticon,
    _ac("task-list"): _R.task_list,
    _ac("adf-extension"): _R.adf_extension,
    AC_ADF_NODE: _R.adf_node,
    RI_USER: _R.user,
    etree.Comment: _R.skip,
    etree.ProcessingInstruction: _R.skip,
    etree.Entity: _R.skip,
}
_MACROS: dict[str, MacroHandler] = {
    **dict.fromkeys(_CODE_MACROS, _R.code_macro),
    **dict.fromkeys(_PANEL_MACROS, _R.panel_macro),
    **dict.fromkeys(_INCLUDE_MACROS, _R.include_macro),
    **dict.fromkeys(_FILE_MACROS, _R.file_macro),
    "jira": _R.jira_macro,
    "status": _R.status_macro,
    "html": _R.html_macro,
    "anchor": _R.anchor_macro,
    "tooltip": _R.tooltip_macro,
    "profile": _R.profile_macro,
}
