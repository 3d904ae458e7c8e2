"""Deterministic red-flag layer: crisis terms in EN, DE and ES.

It runs after the model and can only raise a decision to ``crisis``; it never
lowers one. Patterns match the folded form from ``triage.text`` (lowercase, no
accents, ß -> ss, punctuation -> spaces), so they are written without accents.
A red flag that over-fires costs an urgent handoff; one that misses can cost a
life, so patterns err on the broad side.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Sequence, Tuple

from triage.text import fold, fold_umlaut_spelling, windows

SELF_HARM_INTENT = "crisis_self_harm"
EMERGENCY_INTENT = "crisis_medical_emergency"

# category -> crisis intent it implies
CATEGORY_INTENT = {
    "suicidal_ideation": SELF_HARM_INTENT,
    "self_harm": SELF_HARM_INTENT,
    "overdose": SELF_HARM_INTENT,
    "chest_pain": EMERGENCY_INTENT,
    "not_breathing": EMERGENCY_INTENT,
    "stroke": EMERGENCY_INTENT,
    "anaphylaxis": EMERGENCY_INTENT,
    "seizure": EMERGENCY_INTENT,
    "unconscious": EMERGENCY_INTENT,
    "severe_bleeding": EMERGENCY_INTENT,
}

_SUICIDAL = [
    # en
    r"\b(kill(s|ing)?|kil|hang(s|ing)?|shoot(s|ing)?|drown(s|ing)?) (my ?self|myslef|mysef|him ?self|her ?self|them ?sel(f|ves)|your ?self)\b",
    r"\bsu+ic+id(e|al|ed)?\b", r"\bsuicde\b", r"\bsucide\b", r"\bsuiside\b",
    r"\bend(ing)? (my|it) (own )?(life|lfe|all)\b", r"\btake my (own )?life\b",
    r"\b(want|wants|wanna|wanted|going|gonna|ready|plans|planning) (to )?(die|be dead|end it|end (his|her|their) life|disappear forever)\b",
    r"\bwish i (was|were|could be) dead\b", r"\bbetter off (dead|without me)\b",
    r"\b(dont|do not|dnt) want to (live|be alive|exist|wake up|be here anymore|go on)\b",
    r"\bno (reason|point) (to|in) (live|living|going on)\b", r"\bnot worth living\b",
    r"\bunalive\b", r"\b(gonna|wanna|going to|want to|will) kms\b",
    r"\bjump(ing)? (off|from) (a|the|my) (bridge|roof|building|balcony|cliff)\b",
    r"\bcant go on (anymore|any more|living)\b", r"\bsay(ing)? goodbye to everyone\b",
    # Hopelessness said without the words "suicide" or "die": staff must hear it now.
    r"\b(dont|do not|cant|cannot|can not) (really |even |honestly |just )?see (the|any) point (anymore|any more|in (living|life|being alive|going on|carrying on|anything|waking up))\b",
    r"\bwhats the point (of|in) (living|life|being alive|going on|waking up)\b",
    # de
    r"\b(mich|mir|sich) (selbst )?(umbringen|umzubringen|toten|erhangen|das leben (nehmen|zu nehmen))\b",
    r"\b(will|mochte|wollte) (nicht mehr leben|sterben)\b",
    r"\bselbstmord", r"\bsuizid", r"\blebensmud", r"\bfreitod\b",
    r"\b(will|mochte|moechte|wurde|wuerde) (lieber )?(nicht mehr leben|sterben|tot sein)\b",
    r"\b(will|kann|mochte) nicht mehr (leben|weiterleben|aufwachen|da sein)\b",
    r"\b(mein leben|allem|alles) (ein ende setzen|beenden)\b", r"\bmein leben beenden\b",
    r"\bkeinen sinn mehr (zu leben|im leben)\b", r"\bvon der brucke springen\b",
    r"\bsehe (einfach |gar )?keinen sinn mehr\b", r"\b(das|mein) leben (hat|macht) (einfach )?keinen sinn( mehr)?\b",
    # es
    r"\bsuicid(io|arme|arse|a|e)\b", r"\b(matarme|matarse|se quiere matar)\b", r"\b(quitarme|quitarse) la vida\b",
    r"\b(quiere|quieren) (morir|morirse)\b",
    r"\b(quiero|quisiera|deseo) (morir|morirme|estar muert[oa]|desaparecer para siempre)\b",
    r"\bno quiero (vivir|seguir viviendo|despertar|seguir aqui|estar vivo|estar viva)\b",
    r"\bya no quiero vivir\b", r"\bacabar con (mi vida|todo)\b", r"\bahorcarme\b",
    r"\bmejor (estaria|estar) muert[oa]\b", r"\bno vale la pena vivir\b",
    r"\btirarme (de|por|desde) (un|el|la) (puente|edificio|ventana|balcon)\b",
    r"\b(no|ya no) (le )?(veo|encuentro) (ningun )?sentido a (la vida|vivir|nada|seguir)\b",
    r"\b(mi|la) vida (ya )?no tiene (ningun )?sentido\b",
    # other languages, so a crisis in French, Italian or Portuguese is not missed
    r"\bje veux mourir\b", r"\bme suicider\b", r"\bvoglio morire\b", r"\bsuicidarmi\b",
    r"\bquero morrer\b", r"\bme matar\b",
]
_SELF_HARM = [
    r"\b(cut|cuts|cutting|burn|burns|burning|hurt|hurts|hurting|harm|harms|harming|scratch|scratching) (my ?self|myslef|him ?self|her ?self|them ?sel(f|ves))\b",
    r"\bself ?harm", r"\bself injur",
    r"\britze mich\b", r"\britzen\b", r"\bselbstverletz", r"\bverletze mich (selbst )?\b",
    r"\bschneide mich\b", r"\bmir (selbst )?weh tun\b",
    r"\bcortarme\b", r"\bme (corto|estoy cortando|lastimo|hago dano)\b", r"\bautolesi",
    r"\bhacerme dano\b", r"\blastimarme\b",
    # Past tense too: "me corte bastante", "ich habe mich geritzt". An accidental cut
    # ("me corte el dedo") then escalates as well, the cheaper mistake.
    r"\bme (corte|he cortado|cortaba|volvi a cortar)\b(?! (el|la|los|las) (pelo|cabello|flequillo|unas|barba)\b)",
    r"\bgeritzt\b", r"\bmich (absichtlich|extra|selbst|wieder|schon wieder) (geschnitten|verletzt|verbrannt)\b",
]
_OVERDOSE = [
    r"\bover ?dos(e|ed|ing)\b", r"\bod d\b", r"\bod ing\b",
    r"\b(took|taken|swallowed|ate|take|taking) (too many|way too many|all (of )?(my|the|his|her)|a (whole )?(bottle|box|pack|packet|handful) of)( \w+)? (pills|tablets|meds|medication|paracetamol|tylenol|sleeping pills)\b",
    r"\b(drank|swallowed|drunk) (bleach|antifreeze|poison|drain cleaner)\b",
    r"\buberdosis\b",
    r"\b(\d{2,}|zehn|zwanzig|dreissig|funfzig)( \w+){0,2} (tabletten|schlaftabletten|pillen|schmerztabletten)( \w+){0,2} (genommen|geschluckt|eingenommen)\b",
    r"\b(took|taken|swallowed|ate|genommen|geschluckt|tome|tomado|trague|tragado)\b( \w+){0,2} (\d{2,}|[5-9]|ten|twenty|fifty|zehn|zwanzig|diez|veinte)( \w+){0,3} (pills|tablets|meds|painkillers|sleeping pills|tabletten|schlaftabletten|pillen|pastillas|pildoras)\b",
    r"\b(took|taken|swallowed|ate|genommen|geschluckt|tome|tomado|tomar|tomo|trague|tragado|tragar)\b.*\b(whole|entire|all|too many|packung|ganze|alle|zu viele|caja|bote|frasco|blister|todas|demasiadas|entera)\b.*\b(pills|tablets|meds|paracetamol|painkillers|tabletten|pillen|schlaftabletten|pastillas|pildoras|tabletas)\b",
    r"\b(zu viele|alle|eine packung|eine ganze packung|eine handvoll) (meiner |der |von meinen )?(tabletten|pillen|medikamente|schlaftabletten)( \w+)? (genommen|geschluckt|eingenommen)\b",
    r"\bsobredosis\b",
    r"\b(tome|me tome|trague|se tomo|ha tomado|he tomado) (todas (las|mis)|muchas|demasiadas|un bote de|una caja de|un punado de)( \w+)? (pastillas|pildoras|tabletas|medicinas)\b",
    r"\b(bebi|tome|trague) (lejia|cloro|veneno)\b",
]
_CHEST = (
    r"\b(chest (pain|pains|hurts|hurting|pressure|tightness|is tight|feels tight|crushing)|crushing (pain )?in (my|the|his|her) chest|pain in (my|the|his|her) chest|tight chest)\b"
    r"|\b(brustschmerz|schmerzen in der brust|druck auf der brust|engegefuhl in der brust|stechen in der brust|brust tut weh)"
    r"|\b(dolor (en el |de |del )?pecho|opresion en el pecho|me duele el pecho|presion en el pecho)\b"
)
_RADIATING = (
    r"\b(arm|arms|jaw|shoulder|left side)\b.*\b(numb|numbness|tingl\w*|pain|hurts|aching|heavy|weak)\b"
    r"|\b(numb|numbness|tingl\w*|pain|hurts|aching)\b.*\b(arm|arms|jaw|shoulder)\b"
    r"|\b(sweating|sweaty|cold sweat|short of breath|shortness of breath|cant breathe|nauseous)\b"
    r"|\barm\w* (taub|kribbelt|schmerzt|tut weh|schwer)|\b(taub|kribbel\w*)\b.*\barm\b|\bkieferschmerz|\bkalter schweiss|\bschweissausbruch|\batemnot\b"
    r"|\bbrazo\w* (entumecido|adormecido|dormido|duele|hormigue\w*)|\b(hormigueo|entumecimiento|adormecimiento)\b.*\bbrazo\b|\bmandibula\b|\bsudor frio\b|\bsudando\b|\bfalta (de )?aire\b"
)
_NOT_BREATHING = [
    r"\b(cant|cannot|can not|cnt|unable to|struggling to|hard to|barely) (breathe|breath|breth|get air)\b",
    r"\b(not|isnt|stopped|is not|hes not|shes not|wont start) breath(ing|in)\b",
    r"\bgasping\b", r"\b(turning|turned|lips are|lips) blue\b", r"\bblue lips\b", r"\bchoking\b",
    r"\b(bekomme|kriege|krieg|bekommt|kriegt) keine luft\b", r"\bkeine luft mehr\b",
    r"\batmet nicht\b", r"\bkann nicht (mehr )?atmen\b", r"\bblaue lippen\b", r"\berstick",
    r"\bhort auf zu atmen\b", r"\batmung (hat )?aufgehort\b",
    r"\bno (puedo|puede) respirar\b", r"\bno respira\b", r"\bdejo de respirar\b",
    r"\bme (ahogo|estoy ahogando)\b", r"\bse (ahoga|esta ahogando)\b", r"\blabios (morados|azules)\b",
    r"\bno le entra (el )?aire\b",
]
_STROKE = [
    r"\b(having|had|has|is having|think (im|shes|hes|its) having) a stroke\b",
    r"\bstroke (symptoms|signs)\b", r"\bsigns of (a )?stroke\b",
    r"\bface (is )?(drooping|droopy|dropping|numb|crooked)\b", r"\bdrooping (face|mouth|smile)\b",
    r"\bslurr(ed|ing)( (his|her|my|their) )?( speech| words)?\b", r"\bspeech (is )?slurred\b",
    r"\bone side (of (my|his|her|the) (body|face) )?(is )?(numb|weak|paralyzed|paralysed|dropping)\b",
    r"\bsudden (numbness|weakness|confusion)\b",
    r"\bcant (move|feel|lift) (my|his|her) (arm|leg|left|right)\b",
    r"\bschlaganfall\b", r"\bhirnschlag\b", r"\bgesicht hangt\b", r"\bmundwinkel hangt\b",
    r"\bverwaschen\w* sprache\b", r"\bspricht (plotzlich )?verwaschen\b", r"\blallt plotzlich\b",
    r"\bhalbseitig\w* (lahm|taub|gelahmt)", r"\bkann (den|meinen|seinen|ihren) arm nicht (mehr )?(bewegen|heben)\b",
    r"\bderrame( cerebral)?\b", r"\bictus\b", r"\baccidente cerebrovascular\b", r"\bembolia\b",
    r"\b(cara|boca) (caida|torcida|se le cae)\b", r"\bse le cae (la cara|la boca|un lado)\b",
    r"\bhabla (arrastrada|rara de repente|torpe)\b", r"\bno (puede|puedo) mover (el|un|mi|su) (brazo|lado|pierna)\b",
]
_ANAPHYLAXIS = [
    r"\banaphyla", r"\banafila", r"\banaphylaktisch",
    r"\bthroat (is )?(closing|swelling|swollen|tight|closing up)\b", r"\b(tongue|lips|face) (is )?(swelling|swollen)\b.*\b(breath|allerg)",
    r"\ballergic reaction\b.*\b(breath|throat|swell|swollen|wheez)", r"\b(breath|throat|swell|swollen)\w*\b.*\ballergic reaction\b",
    r"\bepi ?pen\b", r"\bepinephrine\b",
    r"\ballergischer schock\b", r"\b(hals|rachen|zunge) schwillt\b", r"\b(hals|rachen) (ist )?(zugeschwollen|zu)\b",
    r"\badrenalin ?pen\b",
    r"\b(choque|shock) anafilactico\b", r"\bse me cierra la garganta\b", r"\bgarganta (se (me )?esta cerrando|cerrandose|hinchada)\b",
    r"\blengua hinchada\b",
]
_SEIZURE = [
    r"\bseiz(ure|ures|ing)\b", r"\bconvuls", r"\b(having|had|has|is having) a fit\b", r"\bfitting\b",
    r"\bkrampfanfall\b", r"\bepileptische\w* anfall\b", r"\b(hat|habe|hatte) einen anfall\b", r"\bkrampft\b",
    r"\bzuckt am ganzen korper\b",
    r"\bconvulsi", r"\bataque epileptico\b", r"\bcrisis epileptica\b",
]
_UNCONSCIOUS = [
    r"\bunconscious\b", r"\bunresponsive\b", r"\b(wont|will not|cant|not) wak(e|ing) (him|her|them)? ?up\b",
    r"\bpassed out and\b",
    r"\bbewusstlos\b", r"\bnicht ansprechbar\b", r"\breagiert nicht (mehr)?\b",
    r"\binconsciente\b", r"\bno reacciona\b", r"\bno (se )?despierta\b", r"\bdesmayad[oa] y no\b",
]
_SEVERE_BLEEDING = [
    r"\b(bleeding|bleed) (heavily|a lot|badly|everywhere|wont stop|out)\b", r"\bwont stop bleeding\b",
    r"\bcant stop (the )?bleeding\b", r"\blots of blood\b", r"\bblood everywhere\b", r"\bheavy bleeding\b",
    r"\bblutet (sehr )?stark\b", r"\bhort nicht auf zu bluten\b", r"\bsehr viel blut\b", r"\bstarke blutung\b",
    r"\bsangra mucho\b", r"\bno para de sangrar\b", r"\bmucha sangre\b", r"\bhemorragia\b", r"\bsangrado abundante\b",
]
_CARDIAC_ALONE = [r"\bheart attack\b", r"\bherzinfarkt\b", r"\binfarto\b", r"\bataque al corazon\b", r"\bcardiac arrest\b", r"\bherzstillstand\b", r"\bparo cardiaco\b"]


def _compile(patterns: Sequence[str]) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


_SIMPLE: List[Tuple[str, re.Pattern]] = [
    ("suicidal_ideation", _compile(_SUICIDAL)),
    ("self_harm", _compile(_SELF_HARM)),
    ("overdose", _compile(_OVERDOSE)),
    ("chest_pain", _compile(_CARDIAC_ALONE)),
    ("not_breathing", _compile(_NOT_BREATHING)),
    ("stroke", _compile(_STROKE)),
    ("anaphylaxis", _compile(_ANAPHYLAXIS)),
    ("seizure", _compile(_SEIZURE)),
    ("unconscious", _compile(_UNCONSCIOUS)),
    ("severe_bleeding", _compile(_SEVERE_BLEEDING)),
]
_CHEST_RE = re.compile(_CHEST)
_RADIATING_RE = re.compile(_RADIATING)


@dataclass(frozen=True)
class RedFlag:
    category: str

    @property
    def intent(self) -> str:
        return CATEGORY_INTENT[self.category]


def scan(text: str) -> List[RedFlag]:
    """Return every red-flag category found anywhere in ``text`` (empty when none)."""
    categories = set()
    for window in windows(text):
        folded = fold(window)
        forms = {folded, fold_umlaut_spelling(folded)}
        for category, pattern in _SIMPLE:
            if category not in categories and any(pattern.search(form) for form in forms):
                categories.add(category)
        # Chest pain alone is a private disclosure; chest pain that radiates or comes
        # with sweating or breathlessness is the classic heart-attack picture.
        if any(_CHEST_RE.search(f) and _RADIATING_RE.search(f) for f in forms):
            categories.add("chest_pain")
    return [RedFlag(category) for category in CATEGORY_INTENT if category in categories]


def crisis_intent(flags: Sequence[RedFlag]) -> str:
    """Self-harm outranks a medical emergency: it needs the crisis line too."""
    intents = {flag.intent for flag in flags}
    return SELF_HARM_INTENT if SELF_HARM_INTENT in intents else EMERGENCY_INTENT
