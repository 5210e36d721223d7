"""Reading what a page says and how it hides things: its visible text, its ``<meta name>`` tags, its
footer (网站标识码, ICP备案号, 公安机关备案号, the 党政机关 mark) and which of its links CSS hides (暗链).

Every function takes a string of HTML (or a parsed lxml tree) and never raises on bad markup. Nothing
here decides whether something is a defect: the checks do (SC01–SC03, ID01, ID02).

Hidden links are read from inline ``style`` attributes and from the page's own ``<style>`` blocks, by any
selector lxml's cssselect can apply (``:hover`` rules say what is shown on hover, so they un-hide);
external stylesheets are not fetched. Only rules that can hide (or reveal) on their own are evaluated,
and only when the classes and ids they name occur on the page: matching a selector walks the tree. An
element counts as hidden by ``display:none``, ``visibility:hidden``, ``opacity:0``, the ``hidden``
attribute, a left/top of -500px or less (unless declared ``position:static``) or such a margin, a
``text-indent`` of -500px or less, zero width or height with ``overflow:hidden``, ``font-size:0`` around a
link without an image, an absolutely placed ``clip`` rect of no area, or a link colour equal to the
nearest background colour declared on it or an ancestor. Dropdown menus and tabs are not
hidden links: an element shown by a ``:hover`` rule, one in a block that reacts to the mouse (an
``onmouseover``… on it, its parent or anything in its parent), or one whose id or class a script of the
page names, is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import lxml.html
from cssselect import SelectorError
from lxml import etree
from lxml.cssselect import CSSSelector

# The visible text of one page is capped: a 政务公开 page rarely has more, and a runaway page (a whole
# statistics yearbook in one table) must not fill the audit database.
TEXT_LIMIT = 200_000
META_LIMIT = 60  # <meta name> tags kept a page
META_VALUE_LIMIT = 500
FOOTER_TEXT_LIMIT = 4_000
FOOTER_MARKS_LIMIT = 60
OFF_SCREEN_PX = -500.0



def fast_html_parser(**options: Any) -> lxml.html.HTMLParser:
    """lxml.html's parser, its element classes chosen in C rather than by lxml.html's Python lookup,
    which runs for every element a reader touches (a tenth of a page's reading). The tree is the same;
    its elements are all ``HtmlElement``: no ``FormElement``/``InputElement``… with their form helpers
    (``.value``, ``.fields``), which no reader uses."""
    parser = lxml.html.HTMLParser(**options)
    parser.set_element_class_lookup(etree.ElementDefaultClassLookup(
        element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment, pi=lxml.html.HtmlProcessingInstruction,
        entity=lxml.html.HtmlEntity))
    return parser


_PARSER = fast_html_parser(encoding="utf-8", remove_comments=True, remove_pis=True)
_SKIPPED = frozenset({"script", "style", "noscript", "template", "head", "title", "meta", "link", "iframe",
                      "object", "svg", "select", "option"})
# Inline elements: their text continues the line (a number split over two <span>s stays one number).
_INLINE = frozenset({"a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "em", "font", "i", "img", "input",
                     "kbd", "label", "mark", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup",
                     "time", "tt", "u", "var", "wbr", "ins", "del"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u3000\u200b]+")
_FOOTER_TOKEN = re.compile(r"^(foot|footer|bottom|copyright|copy|banquan|bq|dibu|db|site-info)([-_].*)?$|"
                           r"([-_])(foot|footer|bottom|copyright|banquan)$")
_TOGGLE_EVENTS = ("onmouseover", "onmouseenter", "onclick", "onfocus", "onmousemove")


@dataclass
class PageContent:
    """What a reader sees of one page: text (block elements on their own lines), meta tags, footer."""

    text: str
    meta: dict[str, str] = field(default_factory=dict)
    # {"text": the footer's text, "marks": img src/alt/title, link href/title, script src, ids in it}
    footer: dict[str, Any] | None = None


def parse_html(html: str) -> etree._Element | None:
    """A page's tree, or None for an empty or unparsable one (the one parse of every page reader)."""
    if not html or not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html.encode("utf-8", "replace"), parser=_PARSER)
    except (etree.ParserError, ValueError):
        return None


def read_page(html: str | etree._Element, *, footer: bool = False) -> PageContent:
    """The page's visible text, its ``<meta name>`` tags and, with ``footer``, its footer region."""
    root = parse_html(html) if isinstance(html, str) else html
    if root is None:
        return PageContent(text="")
    body = root.find(".//body")
    return PageContent(
        text=visible_text(body if body is not None else root),
        meta=meta_tags(root),
        footer=footer_region(root) if footer else None,
    )


def visible_text(el: etree._Element, limit: int = TEXT_LIMIT) -> str:
    """Text without scripts and styles, a line per block element, spaces collapsed, at most ``limit``."""
    parts: list[str] = []
    # Iterative, not recursive: unclosed <font> tags nest a bad page's tree deep.
    stack: list[tuple[etree._Element, bool]] = [(el, False)]
    while stack:
        node, closing = stack.pop()
        tag = node.tag.lower() if isinstance(node.tag, str) else ""
        block = tag not in _INLINE
        if closing:
            if block:
                parts.append("\n")
            if node.tail and node is not el:
                parts.append(node.tail)
            continue
        if not tag or tag in _SKIPPED:
            if node.tail and node is not el:
                parts.append(node.tail)
            continue
        if block or tag == "br":
            parts.append("\n")
        if tag in ("img", "input") and node.get("alt"):
            parts.append(f" {node.get('alt')} ")
        if node.text:
            parts.append(node.text)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node))
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(parts).splitlines())
    return "\n".join(line for line in lines if line)[:limit]


def meta_tags(root: etree._Element) -> dict[str, str]:
    """``<meta name=… content=…>``: name as written -> content; the first of a name wins."""
    tags: dict[str, str] = {}
    for meta in root.iter("meta"):
        name = (meta.get("name") or "").strip()
        if not name or name in tags or len(tags) >= META_LIMIT:
            continue
        tags[name[:100]] = " ".join((meta.get("content") or "").split())[:META_VALUE_LIMIT]
    return tags


def _tokens(el: etree._Element) -> list[str]:
    return f"{el.get('class') or ''} {el.get('id') or ''}".lower().split()


def _is_footer(el: etree._Element) -> bool:
    return el.tag == "footer" or any(_FOOTER_TOKEN.search(token) for token in _tokens(el))


def footer_region(root: etree._Element) -> dict[str, Any]:
    """The footer's text and marks: every outermost ``<footer>`` or foot/bottom/copyright element, or the
    whole body when the page has none (a footer drawn as a bare table)."""
    body = root.find(".//body")
    body = body if body is not None else root
    regions = [el for el in body.iter(etree.Element)
               if _is_footer(el) and not any(_is_footer(up) for up in el.iterancestors())]
    regions = regions or [body]
    text = "\n".join(visible_text(region) for region in regions)
    marks: list[str] = []
    for region in regions:
        for el in region.iter(etree.Element):
            values = [el.get("id")]
            if el.tag == "img":
                values += [el.get("src"), el.get("alt"), el.get("title")]
            elif el.tag in ("a", "area"):
                values += [el.get("href"), el.get("title")]
            elif el.tag == "script":
                values += [el.get("src")]
            marks += [v.strip() for v in values if v and v.strip() and v.strip() not in marks]
    return {"text": text[-FOOTER_TEXT_LIMIT:], "marks": marks[:FOOTER_MARKS_LIMIT]}


# --- hidden links -----------------------------------------------------------------------------------

_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_SELECTOR_NAMES = re.compile(r"[.#][A-Za-z_][\w-]*")
_PSEUDO_REVEAL = re.compile(r":(hover|focus|focus-within|active)\b")
_NAMED_COLOURS = {"white": "#ffffff", "black": "#000000", "red": "#ff0000", "blue": "#0000ff",
                  "green": "#008000", "gray": "#808080", "grey": "#808080", "silver": "#c0c0c0",
                  "yellow": "#ffff00"}
_LENGTH = re.compile(r"^(-?\d+(?:\.\d+)?)(px|em|rem|pt|%)?$")
_RELEVANT = frozenset({"display", "visibility", "opacity", "position", "left", "top", "margin-left",
                       "margin-top", "text-indent", "width", "height", "overflow", "font-size", "clip",
                       "color", "background", "background-color", "background-image"})


def declarations(style: str | None) -> dict[str, str]:
    """``"display: none; COLOR:#FFF"`` -> {"display": "none", "color": "#fff"} (relevant properties only)."""
    result: dict[str, str] = {}
    for part in _COMMENT.sub("", style or "").split(";"):
        name, colon, value = part.partition(":")
        name = name.strip().lower()
        if colon and name in _RELEVANT:
            result[name] = value.replace("!important", "").strip().lower()
    return result


def style_rules(css: str) -> list[tuple[str, dict[str, str]]]:
    """(selector, declarations) of a ``<style>`` block's plain rules; @media and other at-rule blocks are
    skipped (a print or mobile layout says nothing about what a desktop reader sees)."""
    css = _COMMENT.sub("", css or "").replace("<!--", " ").replace("-->", " ")
    rules: list[tuple[str, dict[str, str]]] = []
    depth, start, skip_depth = 0, 0, None
    selector = ""
    for i, ch in enumerate(css):
        if ch == "{":
            if depth == 0:
                selector = css[start:i].strip()
                if selector.startswith("@"):
                    skip_depth = 0
            depth += 1
            start = i + 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                if skip_depth is None and selector:
                    decls = declarations(css[start:i])
                    if decls:
                        rules += [(part.strip(), decls) for part in selector.split(",") if part.strip()]
                skip_depth = None
            start = i + 1
        elif ch == ";" and depth == 0:
            start = i + 1  # @import/@charset statements
    return rules


@lru_cache(maxsize=2048)
def _selector(text: str) -> CSSSelector | None:
    try:
        return CSSSelector(text)
    except (SelectorError, etree.XPathError, ValueError, TypeError):
        return None


def _px(value: str | None) -> float | None:
    if not value:
        return None
    match = _LENGTH.match(value.split()[0])
    if not match or match[2] == "%":
        return None
    number = float(match[1])
    return number * 16 if match[2] in ("em", "rem") else number


def _colour(value: str | None) -> str | None:
    """A colour as #rrggbb, or None when it is not a plain colour."""
    if not value:
        return None
    for token in re.findall(r"#[0-9a-f]{3,6}\b|rgb\([^)]*\)|[a-z]+", value):
        if token.startswith("#"):
            hexa = token[1:]
            if len(hexa) == 3:
                return "#" + "".join(c * 2 for c in hexa)
            if len(hexa) == 6:
                return token
        elif token.startswith("rgb("):
            numbers = re.findall(r"\d+", token)
            if len(numbers) >= 3:
                return "#" + "".join(f"{min(int(n), 255):02x}" for n in numbers[:3])
        elif token in _NAMED_COLOURS:
            return _NAMED_COLOURS[token]
    return None


def _hides(decls: dict[str, str]) -> bool:
    """Whether a rule's declarations can hide what it applies to, on their own or with an inline style."""
    if decls.get("display") == "none" or decls.get("visibility") in ("hidden", "collapse"):
        return True
    if _px(decls.get("opacity")) == 0 or _px(decls.get("font-size")) == 0 or decls.get("clip", "").startswith("rect"):
        return True
    offsets = (_px(decls.get(prop)) for prop in ("left", "top", "margin-left", "margin-top", "text-indent"))
    if any(offset is not None and offset <= OFF_SCREEN_PX for offset in offsets):
        return True
    sizes = (_px(decls.get(prop)) for prop in ("width", "height"))
    if decls.get("overflow") == "hidden" and any(size is not None and size <= 1 for size in sizes):
        return True
    colour = _colour(decls.get("color"))
    return colour is not None and colour == _colour(decls.get("background-color") or decls.get("background"))


def _reveals(decls: dict[str, str]) -> bool:
    return decls.get("display", "none") != "none" or decls.get("visibility") == "visible"


def _describe(el: etree._Element) -> str:
    name = el.tag if isinstance(el.tag, str) else "?"
    if el.get("id"):
        name += f"#{el.get('id').strip()}"
    classes = (el.get("class") or "").split()
    if classes:
        name += "." + ".".join(classes[:2])
    return name


class HiddenLinks:
    """Why CSS hides each ``<a>``/``<area>`` of a parsed page (before its scripts and styles are removed)."""

    def __init__(self, root: etree._Element):
        self.root = root
        self.styles: dict[etree._Element, dict[str, str]] = {}
        self.revealed: set[etree._Element] = set()
        scripts = " ".join(s.text or "" for s in root.iter("script"))
        # The classes and ids the page uses: a rule naming another one cannot match and is not evaluated.
        self.names: set[str] = set()
        inline_styles: list[tuple[etree._Element, dict[str, str]]] = []  # one walk of the tree for both
        for el in root.iter(etree.Element):
            classes = el.get("class")
            if classes:
                self.names.update(f".{c}" for c in classes.split())
            if el.get("id"):
                self.names.add(f"#{el.get('id').strip()}")
            style = el.get("style")
            if style:
                inline = declarations(style)
                if inline:
                    inline_styles.append((el, inline))
        self.script_names = set(re.findall(r"[A-Za-z_][\w-]*", scripts))
        for style in root.iter("style"):
            for selector, decls in style_rules(style.text or ""):
                self._apply(selector, decls)
        for el, inline in inline_styles:  # inline styles over the page's rules
            self.styles[el] = {**self.styles.get(el, {}), **inline}
        self._cache: dict[etree._Element, str | None] = {}
        self._toggles: dict[etree._Element, bool] = {}

    def _apply(self, selector: str, decls: dict[str, str]) -> None:
        reveal = bool(_PSEUDO_REVEAL.search(selector))
        # Matching a selector costs a walk of the whole tree: only rules that can hide or reveal are applied.
        if not (_reveals(decls) if reveal else _hides(decls)):
            return
        if any(name not in self.names for name in _SELECTOR_NAMES.findall(selector)):
            return
        plain = _PSEUDO_REVEAL.sub("", selector) if reveal else selector
        compiled = _selector(plain)
        if compiled is None:
            return
        try:
            matched = compiled(self.root)
        except (etree.XPathError, ValueError):
            return
        for el in matched:
            if reveal:
                self.revealed.add(el)
            else:
                self.styles[el] = {**self.styles.get(el, {}), **decls}

    def reason(self, link: etree._Element) -> str | None:
        """Why the link is hidden (``"display:none on div#links"``), or None when a reader can see it."""
        if link in self._cache:
            return self._cache[link]
        self._cache[link] = found = self._reason(link)
        return found

    def _toggled(self, el: etree._Element) -> bool:
        """A dropdown or tab: shown on hover, by a mouse handler in its block, or by a script naming it."""
        if el not in self._toggles:
            self._toggles[el] = self._find_toggle(el)
        return self._toggles[el]

    def _find_toggle(self, el: etree._Element) -> bool:
        if el in self.revealed:
            return True
        # A tab or a dropdown: the block it sits in (its parent and all within) reacts to the mouse.
        parent = el.getparent()
        for node in [el, *(parent.iter(etree.Element) if parent is not None else ())]:
            if any(node.get(event) for event in _TOGGLE_EVENTS):
                return True
        names = [el.get("id") or ""] + (el.get("class") or "").split()
        return any(name and name in self.script_names for name in names)

    def _reason(self, link: etree._Element) -> str | None:
        if not self.styles:
            # No stylesheet rule or inline style hides or colours anything here: only a hidden attribute can.
            for el in (link, *link.iterancestors()):
                if isinstance(el.tag, str) and el.get("hidden") is not None and not self._toggled(el):
                    return f"hidden attribute on {_describe(el)}"
            return None
        has_image = link.find(".//img") is not None
        colour: str | None = None
        background_seen = False  # the nearest declared background decides what the text lies on
        visible_set = False
        chain = [link, *link.iterancestors()]
        for el in chain:
            if not isinstance(el.tag, str):
                continue
            style = self.styles.get(el, {})
            display = style.get("display", "")
            if (display == "none" or el.get("hidden") is not None) and not self._toggled(el):
                return f"display:none on {_describe(el)}" if display == "none" else f"hidden attribute on {_describe(el)}"
            visibility = style.get("visibility")
            if visibility == "visible":
                visible_set = True
            elif visibility in ("hidden", "collapse") and not visible_set and not self._toggled(el):
                return f"visibility:{visibility} on {_describe(el)}"
            if style.get("opacity") and _px(style["opacity"]) == 0:
                return f"opacity:0 on {_describe(el)}"
            position = style.get("position")
            # left/top move anything not declared static (its position may come from a stylesheet).
            for prop in ("left", "top", "margin-left", "margin-top"):
                offset = _px(style.get(prop))
                if offset is not None and offset <= OFF_SCREEN_PX and (prop.startswith("margin")
                                                                        or position != "static"):
                    return f"position:{position or '?'};{prop}:{style[prop]} on {_describe(el)}"
            clip = style.get("clip", "")
            if (position in ("absolute", "fixed") and clip.startswith("rect")
                    and all(float(n) <= 1 for n in re.findall(r"\d+(?:\.\d+)?", clip))):
                return f"clip:{clip} on {_describe(el)}"
            indent = _px(style.get("text-indent"))
            if (indent is not None and indent <= OFF_SCREEN_PX and not has_image
                    and "url(" not in style.get("background", "") + style.get("background-image", "")):
                return f"text-indent:{style['text-indent']} on {_describe(el)}"
            if style.get("overflow") == "hidden":
                for prop in ("width", "height"):
                    size = _px(style.get(prop))
                    if size is not None and size <= 1:
                        return f"{prop}:{style[prop]};overflow:hidden on {_describe(el)}"
            if _px(style.get("font-size")) == 0 and not has_image:
                return f"font-size:0 on {_describe(el)}"
            if el is link or colour == "inherit":
                # A link's colour is its own (browsers do not let it inherit), unless it says inherit.
                own = style.get("color")
                colour = "inherit" if own == "inherit" or (own is None and el is not link) else _colour(own)
            background = _colour(style.get("background-color") or style.get("background"))
            if background is not None and not background_seen:
                background_seen = True
                if colour not in (None, "inherit") and colour == background and not has_image:
                    return f"color {colour} on background {background} ({_describe(el)})"
        return None


def hidden_links(root: etree._Element) -> dict[etree._Element, str]:
    """{link element: why it is hidden} for every hidden ``<a href>``/``<area href>`` of the tree."""
    reader = HiddenLinks(root)
    found = {}
    for link in root.iter("a", "area"):
        if link.get("href"):
            why = reader.reason(link)
            if why:
                found[link] = why
    return found
