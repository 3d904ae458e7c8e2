"""Per-message language detection for EN, DE and ES, offline and deterministic.

Patient DMs are short ("appt tmrw?", "danke!!"), full of typos and often
without accents; statistical detectors trained on prose guess badly on them.
Function words and DM vocabulary of the three supported languages, plus a few
common other languages so that French or Italian is recognised as unsupported
rather than forced into English.
"""
from __future__ import annotations

import re
from typing import Dict, Optional

from triage.text import fold

SUPPORTED = ("en", "de", "es")
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
        okay vale super bye""",
    "fr": """je suis vous nous est les des une avec pour dans sur mais bonjour merci oui non mon ma mes votre
        quand ou comment pourquoi rendez avoir etre tres bien aujourd hui demain""",
    "it": """sono io il lo gli della delle che per con non buongiorno ciao grazie prego vorrei posso quando dove
        come perche appuntamento oggi domani molto bene""",
    "pt": """eu voce nao sim obrigado obrigada ola bom dia com para uma uns umas meu minha quando onde como
        porque consulta hoje amanha muito estou tenho""",
    "nl": """ik het een niet wel dank bedankt hallo goedemorgen mijn jij u wij zijn heb kan wanneer waar hoe
        afspraak vandaag morgen graag""",
}
_WEIGHTS = {lang: set(words.split()) for lang, words in _WORDS.items()}
# A word shared by several languages says little; it scores less.
_COUNTS: Dict[str, int] = {}
for _words in _WEIGHTS.values():
    for _w in _words:
        _COUNTS[_w] = _COUNTS.get(_w, 0) + 1

_CHAR_HINTS = (
    (re.compile(r"[äöüß]"), "de", 2.0),
    (re.compile(r"[ñ¿¡]"), "es", 2.0),
    (re.compile(r"[áíóú]"), "es", 0.5),
    (re.compile(r"[çœàèù]"), "fr", 1.0),
    (re.compile(r"[ãõ]"), "pt", 2.0),
)
_NON_LATIN = re.compile(r"[\u0400-\u04FF\u0600-\u06FF\u0590-\u05FF\u0900-\u097F\u3040-\u30FF\u4E00-\u9FFF\uAC00-\uD7AF\u0E00-\u0E7F]")


def scores(text: str) -> Dict[str, float]:
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


def detect(text: str, hint: Optional[str] = None, default: str = "en") -> str:
    """Return "en", "de", "es", or "other" for a message in another language.

    ``hint`` (the conversation's previous language or the channel's locale)
    breaks ties, so "ok" after a German conversation stays German.
    """
    letters = [ch for ch in text or "" if ch.isalpha()]
    if letters and len(_NON_LATIN.findall(text)) > len(letters) / 2:
        return OTHER
    result = scores(text)
    best = max(result.values())
    fallback = hint if hint in SUPPORTED else default
    if best <= 0:
        return fallback
    leaders = [lang for lang, score in result.items() if score == best]
    if fallback in leaders:
        return fallback
    leader = leaders[0]
    if leader in SUPPORTED:
        return leader
    # Another language must clearly lead before we stop answering in ours.
    supported_best = max(result[lang] for lang in SUPPORTED)
    return OTHER if best >= 1.0 and best > 1.5 * supported_best else fallback
