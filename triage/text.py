"""Text normalisation shared by every deterministic matcher.

Matchers work on one canonical form so that a lexicon entry written once
("uberdosis") matches "Überdosis", "UEBERDOSIS" and "überdosis!!".
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
