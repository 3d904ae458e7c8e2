"""triage.text.clean: one form of the text, applied once at the edge by every channel (issue 15)."""
import unicodedata

import pytest

from triage import redflags
from triage.text import clean

RLO, RLE, PDF, LRO = "\u202e", "\u202b", "\u202c", "\u202d"


def rlo(text):
    """How a right-to-left override hides a sentence: stored reversed, shown as written."""
    return RLO + text[::-1]


@pytest.mark.parametrize("raw,meant", [
    ("I want to kill myself\ud83d", "I want to kill myself\ufffd"),  # a broken emoji (lone high surrogate)
    ("\udc00quiero matarme", "\ufffdquiero matarme"),  # a lone low surrogate
    ("\ud83d\ude00 hi", "😀 hi"),  # a pair that arrived split is one emoji again
    (rlo("I want to kill myself"), "I want to kill myself"),
    (rlo("quiero matarme") + PDF + " gracias", "quiero matarme gracias"),
    ("please " + RLE + "now help" + PDF + "!", "please help now!"),  # RLE: words shown right to left
    ("x" + RLO + "cba" + LRO + "def" + PDF + "ghi", "xihgdefabc"),  # nested: the LTR part keeps its order
    ("ki\u200bll my\u00adself", "kill myself"),  # zero-width space, soft hyphen
    ("\ufeffi\u200ewant\u200f to \u2066die\u2069", "iwant to die"),  # BOM, LRM/RLM, isolates
    ("ｋｉｌｌ ｍｙｓｅｌｆ", "kill myself"),  # NFKC: full-width letters
    ("Überdosis ß", "Überdosis ß"),
    ("", ""),
])
def test_clean_gives_the_text_the_patient_meant(raw, meant):
    assert clean(raw) == meant


def test_clean_is_idempotent_and_always_encodable():
    for raw in ("abc\ud83d", rlo("I want to die"), "a\u202bb c\u202cd", "👩\u200d⚕️ ok"):
        once = clean(raw)
        assert clean(once) == once
        once.encode("utf-8")  # never raises
        assert not [ch for ch in once if unicodedata.category(ch) == "Cf" and ch != "\u200d"]


def test_emoji_zwj_sequences_stay_and_a_zwj_inside_a_word_goes():
    family = "👨\u200d👩\u200d👧"
    assert clean(f"{family} and me") == f"{family} and me"
    assert clean("su\u200dicide") == "suicide"


@pytest.mark.parametrize("text", ["I want to kill myself", "quiero matarme"])
def test_red_flags_see_the_cleaned_variants(text):
    for raw in (text + "\ud83d", rlo(text), text.replace(" ", " \u200b")):
        assert redflags.scan(clean(raw)), repr(raw)
    assert not redflags.scan(rlo(text))  # what the matchers saw before: reversed words
