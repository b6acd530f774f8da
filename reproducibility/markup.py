"""The structure of a README or another Markdown / reStructuredText file, read once: headings,
sections, code blocks (fenced, indented, rst `::` and HTML `<pre>`), tables (pipe, HTML, rst grid
and simple) and the prose outside code. Nothing is rendered; the readers are line-based and never
fail on odd input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from reproducibility.repo_view import RepoView

README_SUFFIXES = ("", ".md", ".markdown", ".rst", ".txt", ".mdown", ".mkd")
DOCUMENT_SUFFIXES = (".md", ".markdown", ".rst", ".mdown", ".mkd")

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+|(?=[A-Za-z]))(.*?)[ \t#]*$")
_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+:.<>_])\1{2,}[ \t]*$")
_HTML_HEADING = re.compile(r"<h([1-6])\b[^>]*>(.*?)</h\1\s*>", re.I)
_BOLD_LINE = re.compile(r"^[ \t]*(?:\*\*|__)([^*_].*?)(?:\*\*|__):?[ \t]*$")
_PIPE_DELIMITER = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*$")
_RST_GRID = re.compile(r"^[ \t]*\+[-=]{2,}(?:\+[-=]*)*\+[ \t]*$")
_RST_SIMPLE = re.compile(r"^[ \t]*={2,}(?:[ \t]+={2,})+[ \t]*$")
_RST_DIRECTIVE_CODE = re.compile(r"^[ \t]*\.\.[ \t]+(?:code-block|code|sourcecode|highlight)::", re.I)
_LIST_OR_QUOTE = re.compile(r"^[ \t]*(?:[-*+>|]|\d+[.)])[ \t]")
_TAG = re.compile(r"<[^>\n]*>")
_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)|!\[[^\]\n]*\]\[[^\]\n]*\]")
_LINK_TARGET = re.compile(r"\]\([^)\n]*\)")
_URL = re.compile(r"(?:https?|ftp)://[^\s<>()\"']+|www\.[^\s<>()\"']+", re.I)


@dataclass(frozen=True)
class Heading:
    line: int
    level: int  # 1-6 for Markdown and HTML, by order of appearance for underlines; 7 for a bold line
    text: str  # without markup, lower-case


@dataclass(frozen=True)
class Block:
    """A code block or a table: where it starts and its lines."""

    line: int
    lines: tuple[str, ...]


@dataclass
class Document:
    path: str
    text: str
    headings: list[Heading] = field(default_factory=list)
    code_blocks: list[Block] = field(default_factory=list)
    tables: list[Block] = field(default_factory=list)
    code_lines: set[int] = field(default_factory=set)  # line numbers inside code blocks

    @cached_property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    @cached_property
    def prose(self) -> str:
        """The text outside code blocks, one line per line (code lines left blank)."""
        return "\n".join("" if number in self.code_lines else line for number, line in enumerate(self.lines, 1))

    def section(self, heading: Heading) -> list[tuple[int, str]]:
        """The lines under a heading, up to the next heading of the same or a higher level (heading
        lines inside it excluded)."""
        end = len(self.lines)
        inner: set[int] = set()
        for other in self.headings:
            if other.line <= heading.line:
                continue
            if other.level <= heading.level:
                end = other.line - 1
                break
            inner.add(other.line)
        return [
            (number, self.lines[number - 1])
            for number in range(heading.line + 1, end + 1)
            if number not in inner and not _is_underline_of(self, number, inner)
        ]

    @cached_property
    def heading_lines(self) -> set[int]:
        return {heading.line for heading in self.headings}


def _is_underline_of(document: Document, number: int, heading_lines: set[int]) -> bool:
    return number - 1 in heading_lines and bool(_UNDERLINE.match(document.lines[number - 1]))


def visible(text: str) -> str:
    """Text as a reader sees it: no HTML tags, no images, no link targets, no bare URLs."""
    text = _IMAGE.sub(" ", text)
    text = _LINK_TARGET.sub("]", text)
    text = _TAG.sub(" ", text)
    return _URL.sub(" ", text)


def parse(path: str, text: str) -> Document:
    """Headings, code blocks and tables of one document."""
    document = Document(path, text)
    lines = document.lines
    rst = path.lower().endswith(".rst")
    underline_styles: list[tuple[str, bool]] = []
    fence: str | None = None
    block_start = 0
    block: list[str] = []
    pending_literal = False  # an rst `::` paragraph or code directive: the next indented block is code
    in_pre = False
    table: list[str] = []
    table_start = 0

    def close_block() -> None:
        nonlocal block, block_start
        if block:
            document.code_blocks.append(Block(block_start, tuple(block)))
        block, block_start = [], 0

    def close_table() -> None:
        nonlocal table, table_start
        if table:
            document.tables.append(Block(table_start, tuple(table)))
        table, table_start = [], 0

    indented = False  # inside an indented (Markdown or rst literal) code block
    previous_blank = True
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if fence is not None:  # inside a fenced block, up to a fence of the same kind
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                fence = None
                close_block()
            else:
                block.append(line)
                document.code_lines.add(number)
            continue
        if in_pre:
            document.code_lines.add(number)
            head, closing, _ = line.partition("</pre")
            block.append(head)
            if closing:
                in_pre = False
                close_block()
            continue
        if indented:
            if not stripped or line[:1] in (" ", "\t"):
                if stripped:
                    block.append(line)
                    document.code_lines.add(number)
                previous_blank = not stripped
                continue
            indented = False
            close_block()
        if match := _FENCE.match(line):
            close_table()
            fence, block_start = match.group(1), number
            document.code_lines.add(number)
            previous_blank = False
            continue
        lower = line.lower()
        if "<pre" in lower and "</pre" not in lower:
            close_table()
            in_pre, block_start = True, number
            block = [_TAG.sub("", line)]
            document.code_lines.add(number)
            continue
        starts_code = pending_literal or (not rst and _indented_code(line))
        if stripped and line[:1] in (" ", "\t") and previous_blank and starts_code:
            close_table()
            indented, pending_literal = True, False
            block_start, block = number, [line]
            document.code_lines.add(number)
            previous_blank = False
            continue
        if stripped:
            pending_literal = stripped.endswith("::") or bool(_RST_DIRECTIVE_CODE.match(line))
        _read_heading(document, lines, number, line, underline_styles)
        if _in_table(lines, number, line, bool(table)):
            if not table:
                table_start = number
            table.append(line)
        elif table:
            close_table()
        previous_blank = not stripped
    close_block()
    close_table()
    return document


def _indented_code(line: str) -> bool:
    """A Markdown indented code block: four spaces or a tab, not a list item's continuation."""
    return line.startswith(("    ", "\t")) and not _LIST_OR_QUOTE.match(line)


def _read_heading(document: Document, lines: list[str], number: int, line: str, styles: list[tuple[str, bool]]) -> None:
    if match := _ATX.match(line):
        document.headings.append(Heading(number, len(match.group(1)), _heading_text(match.group(2))))
        return
    if match := _HTML_HEADING.search(line):
        document.headings.append(Heading(number, int(match.group(1)), _heading_text(match.group(2))))
        return
    underline = _UNDERLINE.match(line)
    if underline and number >= 2:
        title = lines[number - 2]
        if title.strip() and not _UNDERLINE.match(title) and not _LIST_OR_QUOTE.match(title) and "|" not in title:
            overlined = number >= 3 and lines[number - 3].strip() == line.strip()
            style = (underline.group(1), overlined)
            if style not in styles:
                styles.append(style)
            heading = Heading(number - 1, min(styles.index(style) + 1, 6), _heading_text(title))
            if not any(h.line == heading.line for h in document.headings):
                document.headings.append(heading)
        return
    if match := _BOLD_LINE.match(line):
        document.headings.append(Heading(number, 7, _heading_text(match.group(1))))


def _heading_text(text: str) -> str:
    return " ".join(visible(text).replace("*", " ").replace("`", " ").split()).lower()


def _in_table(lines: list[str], number: int, line: str, continues: bool) -> bool:
    """Whether a line belongs to a table: a pipe table (from the row above its delimiter row on), an
    HTML table row, an rst grid or simple table; `continues` says the line above was in one."""
    stripped = line.strip()
    if not stripped:
        return False
    if _RST_GRID.match(line) or _RST_SIMPLE.match(line):
        return True
    if stripped.lower().startswith(("<table", "<tr", "<td", "<th", "</table", "</tr")):
        return True
    if "|" not in line:
        return False
    return (
        continues
        or bool(_PIPE_DELIMITER.match(line))
        or (number < len(lines) and bool(_PIPE_DELIMITER.match(lines[number])))
    )


def is_readme(name: str) -> bool:
    lower = name.lower()
    stem, dot, suffix = lower.partition(".")
    return stem == "readme" and ("." + suffix if dot else "") in README_SUFFIXES


def readmes(view: RepoView) -> list[Document]:
    """Every README of the repository, parsed once: the top-level one first, then by depth."""
    return view.memo("markup:readmes", lambda: _documents(view, [e.path for e in view.files if is_readme(e.name)]))


def top_readme(view: RepoView) -> Document | None:
    """The README at the top of the repository (README.md before .rst, .txt and the others)."""
    top = [document for document in readmes(view) if "/" not in document.path]
    order = {suffix: index for index, suffix in enumerate((".md", ".markdown", ".rst", ".txt", ""))}
    top.sort(key=lambda d: order.get("." + d.path.lower().rpartition(".")[2] if "." in d.path else "", 9))
    return top[0] if top else None


def documents(view: RepoView) -> list[Document]:
    """Every README, Markdown and reStructuredText file, parsed once."""

    def read() -> list[Document]:
        seen = {document.path for document in readmes(view)}
        others = [e.path for e in view.files if e.suffix in DOCUMENT_SUFFIXES and e.path not in seen]
        return readmes(view) + _documents(view, others)

    return view.memo("markup:documents", read)


def _documents(view: RepoView, paths: list[str]) -> list[Document]:
    found = [parse(path, text) for path in paths if (text := view.text(path)) is not None]
    return sorted(found, key=lambda d: (d.path.count("/"), d.path.lower()))
