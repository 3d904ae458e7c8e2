"""Text normalisation: ``clean`` at the edge, ``fold`` for every deterministic matcher.

``clean`` runs once on every incoming message, in each channel, before anything
else, so that red flags, the model, cases and the spool all see the same text.
Matchers then work on one canonical form (``fold``) so that a lexicon entry written
once ("uberdosis") matches "Überdosis", "UEBERDOSIS" and "überdosis!!".
"""
from __future__ import annotations

import re
import unicodedata

_GERMAN_DIGRAPHS = (("ae", "a"), ("oe", "o"), ("ue", "u"))
# Latin and Cyrillic (Bulgarian) letters survive; after NFKD "й" is "и", as Bulgarian DMs often type it.
_NON_WORD = re.compile(r"[^a-z0-9\u0430-\u044f]+")
_APOSTROPHES = re.compile(r"['’`´]")
# fold() keeps this much; longer text is scanned window by window (see windows()).
MAX_SCAN_CHARS = 20_000
WINDOW_CHARS = 2_000
WINDOW_OVERLAP = 300
# A hard ceiling far above any request body we accept (REST 256 KB, webhooks 1 MB).
MAX_TOTAL_CHARS = 2_000_000


# Bidi embeddings and overrides, closed by PDF (U+202C); what they do to the order a reader sees.
_PDF = "\u202c"
_OPENERS = {"\u202a": "ltr", "\u202d": "ltr", "\u202b": "rle", "\u202e": "rlo"}  # LRE, LRO, RLE, RLO
_ZWJ = "\u200d"
_RUN = re.compile(r"\s+|\S+")


def clean(text: str) -> str:
    """The text the patient meant, in one safe form.

    - a lone UTF-16 surrogate (a broken emoji) becomes U+FFFD: it cannot be encoded,
      so it would make sealing, storing and sending fail;
    - a span opened by RLO (or RLE) and closed by PDF or the end is put into the order
      the reader sees: "\u202eflesym llik ot tnaw I" is "I want to kill myself";
    - bidi controls and invisible formatting (category Cf: zero-width spaces and
      joiners, LRM/RLM, isolates, BOM, soft hyphen) are removed, so they cannot split
      words; a zero-width joiner between two emoji stays (family, profession emoji);
    - NFKC, so that full-width and other compatibility forms read as plain letters.
    """
    if not text:
        return text or ""
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")  # pairs joined, lone ones U+FFFD
    if any(ch in _OPENERS for ch in text):
        text = _visual_order(text)
    kept = [ch for i, ch in enumerate(text)
            if unicodedata.category(ch) != "Cf" or (ch == _ZWJ and _between_emoji(text, i))]
    return unicodedata.normalize("NFKC", "".join(kept))


def _visual_order(text: str) -> str:
    """Resolves embeddings and overrides (nested too) into the order they display in."""
    stack = [("ltr", [])]  # (kind, pieces): a piece is a character or a resolved nested span
    for ch in text:
        if ch in _OPENERS:
            stack.append((_OPENERS[ch], []))
        elif ch == _PDF and len(stack) > 1:
            _close(stack)
        else:
            stack[-1][1].append(ch)
    while len(stack) > 1:  # unclosed spans end with the text
        _close(stack)
    return "".join(stack[0][1])


def _close(stack) -> None:
    kind, pieces = stack.pop()
    if kind == "rlo":  # every character right to left
        shown = "".join(reversed(pieces))
    elif kind == "rle":  # left-to-right words, shown right to left
        shown = "".join(reversed(_RUN.findall("".join(pieces))))
    else:
        shown = "".join(pieces)
    stack[-1][1].append(shown)


def _between_emoji(text: str, index: int) -> bool:
    def emoji(ch: str) -> bool:
        return unicodedata.category(ch) == "So" or ch == "\ufe0f" or "\U0001f3fb" <= ch <= "\U0001f3ff"

    return 0 < index < len(text) - 1 and emoji(text[index - 1]) and emoji(text[index + 1])


def fold(text: str) -> str:
    """Lowercase, strip accents, map ß to ss, and keep only words and digits.

    The result is padded with spaces so that patterns can use " word " as a
    cheap whole-word boundary.
    """
    text = (text or "")[:MAX_SCAN_CHARS].lower().replace("ß", "ss").replace("ѐ", "е").replace("ѝ", "и")
    # "can't" -> "cant": DMs drop apostrophes as often as they keep them.
    text = _APOSTROPHES.sub("", text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " " + _NON_WORD.sub(" ", text).strip() + " "


def fold_umlaut_spelling(folded: str) -> str:
    """Second form for German typed without umlauts ("uebelkeit" -> "ubelkeit")."""
    for digraph, vowel in _GERMAN_DIGRAPHS:
        folded = folded.replace(digraph, vowel)
    return folded


def has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text or "")


def windows(text: str):
    """Overlapping slices covering the whole text (up to MAX_TOTAL_CHARS), so that
    a phrase near the end of a very long message is still seen while each regex
    search stays bounded (no quadratic scans over a pasted megabyte)."""
    text = (text or "")[:MAX_TOTAL_CHARS]
    if len(text) <= WINDOW_CHARS:
        yield text
        return
    step = WINDOW_CHARS - WINDOW_OVERLAP
    for start in range(0, len(text) - WINDOW_OVERLAP, step):
        yield text[start:start + WINDOW_CHARS]
