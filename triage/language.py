"""Per-message language detection for EN, DE, ES and BG, offline and deterministic.

Two readers, combined:
- lingua (``lingua-language-detector``: n-gram models shipped in the wheel, no download) reads
  prose and scripts well: it tells Bulgarian from Russian and Ukrainian, and French or Italian
  from our languages;
- a vocabulary of DM words per language reads what lingua cannot: "appt tmrw?", "thx",
  "danke!!", and Bulgarian typed in Latin letters ("zdravei, koga otvaryate?").
Each gives every language a score in [0, 1]; the sum decides. For a one-word message the
conversation's language (the hint) wins unless the word belongs to one language only, so
"ok" after a German conversation stays German.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Dict, Optional

from triage.text import fold

SUPPORTED = ("en", "de", "es", "bg")
OTHER = "other"

_WORDS: Dict[str, str] = {
    "en": """i im ive my me you your u ur the a an is are was were be been am do does did dont cant can could
        would should will what when where which who why how hi hello hey hiya thanks thank thx ty pls plz please
        need want have has had get got to for of and or with this that it its at on in from about appointment appt
        appts open opening hours visit visiting time today tomorrow tmrw tmr morning afternoon evening book booking
        change cancel reschedule doctor dr help bye goodbye cya yes no ok okay just still any there here much
        address park parking bill billing insurance cover refill prescription records results result feel feeling
        since days week weeks night yesterday really think know going gonna wanna bot human real person""",
    "de": """ich mein meine meinen meiner mir mich du sie ihr ihre ihnen wir uns unser der die das den dem des ein
        eine einen einem ist sind war bin bist habe hast hat haben kann konnen koennen kannst muss moechte mochte
        will wollte wurde wuerde wann wo wie was warum welche welcher hallo moin servus gruss danke dankeschon
        vielen dank bitte und oder nicht kein keine mit fur fuer von zu zum zur auf aus bei nach seit heute
        morgen gestern termin termine offnungszeiten oeffnungszeiten geoffnet geoeffnet besuchszeiten
        sprechstunde arzt arztin praxis krankenkasse versicherung rechnung rezept befund tschuss tschuess
        auf wiedersehen ja nein gut guten tag abend noch schon auch mal doch gibt es etwas jemand ok okay hi
        super bye""",
    "es": """yo mi mis me tu te usted ustedes el la los las un una unos unas es son esta estan estoy soy tengo
        tiene tienen tenemos puedo puede pueden quiero quisiera necesito hay que como cuando donde cual quien
        por porque para con sin sobre desde hasta hola buenas buenos dias tardes noches gracias muchas favor
        porfa porfis adios chao hasta luego si no y o pero muy mas hoy manana ayer cita citas horario horarios
        abierto abren cierran visita visitas medico medica doctor doctora seguro factura receta resultados
        ayuda estacionamiento aparcamiento direccion telefono correo semana del al lo le les ya aun todavia ok
        okay vale super bye se nos""",
    # Cyrillic DM words, and the same typed in Latin letters (as many Bulgarians write online).
    "bg": """здравейте здравей здрасти здрасте здр добър ден вечер утро благодаря мерси моля чао довиждане
        кога къде как какво колко има имате може можете мога искам трябва ли да не се ме ми си съм сте е и
        за от на със час часа преглед лекар лекаря доктор работите отваряте затваряте днес утре вчера
        zdraveite zdravei zdravey zdrasti zdraste dobur dobar den blagodarya blagodaria mersi molya molia
        chao dovizhdane koga kade kude kak kakvo kolko ima imate mozhe moje mozhete moga iskam tryabva triabva
        li ne se mi si sum ste shte za ot na chas chasa pregled lekar doktor rabotite otvaryate otvarqte
        zatvaryate dnes utre vchera dovijdane dovizhdane zapishete zapishi zapisha kakav kakuv koi nai vi
        telefona adresa""",
    "fr": """je suis vous nous est les des une avec pour dans sur mais bonjour merci oui non mon ma mes votre
        quand ou comment pourquoi rendez avoir etre tres bien aujourd hui demain""",
    "it": """sono io il lo gli della delle che per con non buongiorno ciao grazie prego vorrei posso quando dove
        come perche appuntamento oggi domani molto bene""",
    "pt": """eu voce nao sim obrigado obrigada ola bom dia com para uma uns umas meu minha quando onde como
        porque consulta hoje amanha muito estou tenho""",
    "nl": """ik het een niet wel dank bedankt hallo goedemorgen mijn jij u wij zijn heb kan wanneer waar hoe
        afspraak vandaag morgen graag""",
}
_WEIGHTS = {lang: set(fold(words).split()) for lang, words in _WORDS.items()}
# A word shared by several languages says little; it scores less.
_COUNTS: Dict[str, int] = {}
for _words in _WEIGHTS.values():
    for _w in _words:
        _COUNTS[_w] = _COUNTS.get(_w, 0) + 1

_CHAR_HINTS = (
    (re.compile(r"[äöüß]"), "de", 2.0),
    (re.compile(r"[ñ¿¡]"), "es", 2.0),
    (re.compile(r"[áíóú]"), "es", 0.5),
    (re.compile(r"[ъщ]"), "bg", 1.0),
    (re.compile(r"[çœàèù]"), "fr", 1.0),
    (re.compile(r"[ãõ]"), "pt", 2.0),
)
# Languages lingua tells apart. Russian and Ukrainian are here so that Cyrillic is not
# taken for Bulgarian by default; each language costs about 20 MB of n-gram models.
_LINGUA = ("en", "de", "es", "bg", "fr", "it", "pt", "nl", "ru", "uk")
# An unsupported language must lead by this much, over at least this many words, before we stop
# answering in ours (a misread DM answered in French helps nobody).
OTHER_CONFIDENCE = 0.8
OTHER_MIN_WORDS = 3
OTHER_MARGIN = 0.3


@lru_cache(maxsize=1)
def _detector():
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in _LINGUA]
    return LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models().build()


def warm_up() -> None:
    """Loads lingua's models now (at model load) rather than on the first patient's message."""
    _detector()


def vocabulary_scores(text: str) -> Dict[str, float]:
    result = {lang: 0.0 for lang in _WEIGHTS}
    for token in fold(text).split():
        for lang, words in _WEIGHTS.items():
            if token in words:
                result[lang] += 1.0 / _COUNTS[token]
    lowered = (text or "").lower()
    for pattern, lang, weight in _CHAR_HINTS:
        if pattern.search(lowered):
            result[lang] += weight
    return result


def lingua_scores(text: str) -> Dict[str, float]:
    return {value.language.iso_code_639_1.name.lower(): value.value
            for value in _detector().compute_language_confidence_values(text)}


def scores(text: str) -> Dict[str, float]:
    """Both readers' evidence, each in [0, 1] per language, summed."""
    vocabulary = vocabulary_scores(text)
    result = {lang: min(score, 2.0) / 2.0 for lang, score in vocabulary.items()}
    for lang, value in lingua_scores(text).items():
        result[lang] = result.get(lang, 0.0) + value
    return result


def _one_word_language(text: str, fallback: str) -> str:
    """A one-word message keeps the conversation's language, unless the word is one language's own."""
    vocabulary = vocabulary_scores(text)
    unique = [lang for lang, score in vocabulary.items() if score >= 1.0 and lang in SUPPORTED]
    if vocabulary.get(fallback, 0.0) > 0 or len(unique) != 1:
        return fallback
    return unique[0]


def _mostly_other_script(text: str) -> bool:
    """Arabic, Chinese, Hindi...: letters neither Latin nor Cyrillic."""
    letters = [ch for ch in text if ch.isalpha()]
    other = [ch for ch in letters if ch > "\u04ff" and not "\u1e00" <= ch <= "\u1eff"]
    return len(other) > len(letters) / 2


def detect(text: str, hint: Optional[str] = None, default: str = "en") -> str:
    """Return "en", "de", "es", "bg", or "other" for a message in another language.

    ``hint`` (the conversation's previous language or the channel's locale) decides
    one-word messages and ties, so "ok" after a German conversation stays German.
    """
    fallback = hint if hint in SUPPORTED else default
    if not any(ch.isalpha() for ch in text or ""):
        return fallback
    words = fold(text).split()
    if _mostly_other_script(text):
        return OTHER
    if len(words) <= 1 and not re.search(r"[\u0400-\u04FF]", text):
        return _one_word_language(text, fallback)
    combined = scores(text)
    best = max(combined, key=lambda lang: (combined[lang], lang == fallback))
    if best in SUPPORTED:
        return best
    supported = max(SUPPORTED, key=lambda lang: (combined.get(lang, 0.0), lang == fallback))
    confident_other = (len(words) >= OTHER_MIN_WORDS and combined[best] >= OTHER_CONFIDENCE
                       and combined[best] >= combined.get(supported, 0.0) + OTHER_MARGIN)
    if confident_other:
        return OTHER
    return supported if combined.get(supported, 0.0) > 0 else fallback
