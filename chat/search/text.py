"""The text a message is indexed as, the terms of a query, and highlights.

chat_search_text() here and the SQL function of the same name (migration
0006_search) must split text the same way: the character classes are code
point ranges, not the database's locale, so that they agree everywhere.
"""

import html
import re
from dataclasses import dataclass

# Han (with 々〆〇), Hiragana, Katakana, Hangul: found by any substring of two
# or more characters, since they are written without spaces between words.
CJK_RANGES = (
    "\u1100-\u11ff"  # Hangul Jamo
    "\u3005-\u3007"  # 々 〆 〇
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3130-\u318f"  # Hangul compatibility Jamo
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\ua960-\ua97f"  # Hangul Jamo extended A
    "\uac00-\ud7af"  # Hangul syllables
    "\ud7b0-\ud7ff"  # Hangul Jamo extended B
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # half-width Katakana
    "\U00020000-\U0003134f"  # CJK extensions B to G
)
# What separates words: ASCII punctuation and controls, Latin-1 punctuation,
# general punctuation, CJK and full-width punctuation.
SEPARATOR_RANGES = (
    "\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\xbf"
    "\u2000-\u206f"
    "\u3000-\u3004\u3008-\u303f"
    "\ufe10-\ufe1f\ufe30-\ufe4f"
    "\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
)
CJK_RUN = re.compile(f"[{CJK_RANGES}]+")
PIECES = re.compile(f"[{CJK_RANGES}]+|[^{CJK_RANGES}{SEPARATOR_RANGES}]+")

# A query reads at most this many characters and terms.
MAX_QUERY_LENGTH = 200
MAX_TERMS = 16


def cjk_pairs(run: str) -> list[str]:
    """上海东 -> 上海 海东 东: every pair, then the last character alone."""
    return [run[i : i + 2] for i in range(len(run) - 1)] + [run[-1]]


def chat_search_text(body: str | None) -> str:
    """The words a message is indexed as, separated by spaces."""
    if not body:
        return ""
    words: list[str] = []
    for piece in PIECES.findall(body):
        if CJK_RUN.fullmatch(piece):
            words += cjk_pairs(piece)
        else:
            words.append(piece)
    return " ".join(words)


@dataclass(frozen=True)
class Term:
    """One term of a query: a word, or a run of CJK characters (a substring)."""

    text: str
    cjk: bool
    prefix: bool = False

    @property
    def tokens(self) -> list[str]:
        """The indexed words it is a phrase of (pairs for CJK)."""
        if self.cjk:
            return cjk_pairs(self.text)[:-1] or [self.text]
        return [self.text]


def query_terms(query: str) -> list[Term]:
    """The terms of what a user typed; the last word matches as a prefix.

    A CJK run of one character matches as a prefix too (of a pair, or a
    character that ends a run), so 海 finds 上海东.
    """
    parts: list[str] = []
    for piece in PIECES.findall(query[:MAX_QUERY_LENGTH]):
        parts += [part for part in _split_mixed(piece) if part not in parts]
    parts = parts[:MAX_TERMS]
    typing = query[:MAX_QUERY_LENGTH].rstrip() == query[:MAX_QUERY_LENGTH]
    terms = []
    for number, part in enumerate(parts):
        cjk = bool(CJK_RUN.fullmatch(part))
        last_word = number == len(parts) - 1 and typing and not cjk
        terms.append(Term(part, cjk=cjk, prefix=last_word or (cjk and len(part) == 1)))
    return terms


def _split_mixed(piece: str) -> list[str]:
    """hello上海 -> hello, 上海: CJK runs apart from the letters around them."""
    parts: list[str] = []
    last = 0
    for run in CJK_RUN.finditer(piece):
        if run.start() > last:
            parts.append(piece[last : run.start()])
        parts.append(run.group())
        last = run.end()
    if last < len(piece):
        parts.append(piece[last:])
    return parts


def postgres_tsquery(terms: list[Term]) -> str:
    """The terms as to_tsquery('simple', ...) text: quoted operands, joined by &.

    Terms hold no separators, so no quote or backslash; to_tsquery reads each
    operand through the same parser and lower-casing as the document.
    """
    parts = []
    for term in terms:
        operands = [f"'{token}'" for token in term.tokens]
        if term.prefix:
            operands[-1] += ":*"
        parts.append("(" + " <-> ".join(operands) + ")")
    return " & ".join(parts)


def sqlite_match(terms: list[Term]) -> str:
    """The terms as an FTS5 MATCH expression: a phrase each, the last maybe a prefix."""
    parts = []
    for term in terms:
        phrase = '"' + " ".join(term.tokens).replace('"', '""') + '"'
        parts.append(phrase + ("*" if term.prefix else ""))
    return " AND ".join(parts)


# How much of a long message a highlight shows around its first match.
CONTEXT_CHARACTERS = 60


def highlight(body: str, terms: list[Term]) -> str:
    """The body as escaped HTML with each match in <mark>, cut around the first."""
    spans = sorted(_match_spans(body, terms))
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    begin, finish = 0, len(body)
    if merged and len(body) > 2 * CONTEXT_CHARACTERS + 40:
        begin = max(0, merged[0][0] - CONTEXT_CHARACTERS)
        finish = min(len(body), merged[0][1] + 2 * CONTEXT_CHARACTERS)
    out = ["…" if begin else ""]
    position = begin
    for start, end in merged:
        if end <= begin or start >= finish:
            continue
        start, end = max(start, begin), min(end, finish)
        out.append(html.escape(body[position:start]))
        out.append("<mark>" + html.escape(body[start:end]) + "</mark>")
        position = end
    out.append(html.escape(body[position:finish]))
    out.append("…" if finish < len(body) else "")
    return "".join(out)


def _match_spans(body: str, terms: list[Term]):
    """Where each term occurs: CJK anywhere, words at word boundaries."""
    for term in terms:
        if term.cjk:
            pattern = re.escape(term.text)
        else:
            edge = f"(?<![^{CJK_RANGES}{SEPARATOR_RANGES}])"
            end = "" if term.prefix else f"(?![^{CJK_RANGES}{SEPARATOR_RANGES}])"
            pattern = edge + re.escape(term.text) + end
        for found in re.finditer(pattern, body, re.IGNORECASE):
            yield found.start(), found.end()
