"""Deterministic health-content signals for the fail-safe and disclosure backstop.

The model decides first. These signals only ever raise a decision:
- any health content + low model confidence -> private (fail-safe);
- a personal health disclosure (a condition, symptom, medication, result...
  together with "I/my/mein/mi..." or an identifier such as a date of birth)
  -> private, even when the model read it as a routine question.

Service mentions ("HIV testing", "diabetes clinic", "flu shot") are removed
before the disclosure check so that a general question about a service stays
routine. Only category names leave this module, never matched text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List

from triage.text import fold, fold_umlaut_spelling

# category -> the sensitive intent a disclosure of that kind maps to
# (in priority order: the most specific category names the intent)
CATEGORY_INTENT = {
    "mental_health": "disclose_mental_health",
    "substance": "disclose_substance_use",
    "pregnancy_sexual": "disclose_pregnancy_sexual_health",
    "medication": "disclose_medication",
    "diagnosis_result": "disclose_diagnosis_results",
    "symptom": "disclose_symptoms",
}
IDENTIFIER_INTENT = "disclose_identifiers_health"

_TERMS: Dict[str, List[str]] = {
    "symptom": [
        # en
        r"pains?", r"painful\w*", r"hurt\w*", r"ach(e|es|ing|y)", r"\w+ache", r"migraine\w*", r"fever\w*", r"temperature",
        r"cough\w*", r"sore", r"rash\w*", r"itch\w*", r"lump\w*", r"bump\w*", r"swell\w*", r"swollen",
        r"bleed\w*", r"blood in", r"vomit\w*", r"throw(ing)? up", r"puk\w*", r"nause\w*", r"diarrh\w*",
        r"dizz\w*", r"faint\w*", r"numb", r"numbness", r"tingl\w*", r"short of breath", r"breathless\w*", r"wheez\w*",
        r"fatigue\w*", r"exhausted", r"insomnia", r"cant sleep", r"discharge", r"burn\w* when i pee",
        r"infect\w*", r"burning (feeling|sensation|pain)", r"wound\w*", r"bruis\w*", r"fractur\w*", r"broke\w* (my )?(arm|leg|wrist|ankle|bone|finger|toe|nose|rib)",
        r"sprain\w*", r"injur\w*", r"palpitation\w*", r"heart (is )?racing", r"blood pressure", r"sugar levels?",
        r"glucose", r"lost (a lot of )?weight", r"weight loss", r"mole", r"cyst\w*", r"ulcer\w*", r"constipat\w*",
        r"sick", r"unwell", r"flu", r"covid\w*", r"corona", r"sinus\w*", r"uti", r"thrush", r"yeast infection",
        r"hemorrhoid\w*", r"haemorrhoid\w*", r"symptom\w*", r"spotting", r"cramp\w*", r"blister\w*", r"stiff neck",
        r"chest", r"breasts?", r"nipples?", r"shaking", r"tremor\w*", r"seizure\w*", r"bitten", r"sting", r"blurry vision",
        r"blurr\w*", r"hearing loss", r"ringing in my ears", r"tinnitus", r"eczema", r"acne", r"psoriasis",
        # de
        r"\w*schmerz\w*", r"weh", r"\w*kopfschmerz\w*", r"migrane", r"\w*fieber\w*", r"\w*husten\w*", r"\w*halsschmerz\w*",
        r"\w*ausschlag", r"juck\w*", r"knoten", r"beule", r"schwellung", r"geschwollen", r"blut(?!abnahme)\w*", r"erbrech\w*",
        r"ubel\w*", r"durchfall", r"schwindel\w*", r"ohnmacht\w*", r"taub", r"kribbel\w*", r"atemnot", r"mude",
        r"erschopft", r"schlaflos\w*", r"kann nicht schlafen", r"ausfluss", r"brennen", r"\w*entzund\w*", r"\w*infektion\w*",
        r"wunde", r"gebrochen", r"verstaucht", r"verletz\w*", r"gesturzt", r"herzrasen", r"zucker", r"muttermal",
        r"zyste", r"krank\w*", r"erkalt\w*", r"grippe", r"symptom\w*", r"\w*krampf\w*", r"ubergeb\w*", r"brust",
        r"hautausschlag", r"sodbrennen", r"senos?", r"verstopfung",
        # es
        r"dolor\w*", r"duele\w*", r"fiebre", r"tos", r"garganta", r"sarpullido", r"erupcion\w*", r"picazon", r"pica",
        r"bulto\w*", r"hinchaz\w*", r"hinchad\w*", r"sangr\w*", r"vomit\w*", r"nause\w*", r"diarrea", r"mare\w*",
        r"desmay\w*", r"entumecid\w*", r"hormigue\w*", r"falta de aire", r"cansancio", r"cansad\w*", r"insomnio",
        r"no puedo dormir", r"flujo", r"ardor", r"infecci\w*", r"herida\w*", r"fractur\w*", r"esguince",
        r"lesion\w*", r"me cai", r"palpitacion\w*", r"presion (alta|arterial|baja)", r"azucar", r"glucosa",
        r"lunar", r"quiste", r"enferm[oa]", r"resfriad\w*", r"gripe", r"sintoma\w*", r"pecho", r"calambre\w*",
        r"colicos?", r"estrenimiento", r"acidez",
        # bg (folded: "й" is "и")
        r"бол(?!ниц)\w*", r"боли", r"болеж\w*", r"температур\w*", r"треска", r"кашл\w*", r"хрем\w*", r"обрив\w*", r"сърб\w*",
        r"подут\w*", r"отток", r"кърв\w*", r"повръщ\w*", r"гади\s+ми", r"диария", r"разстройство", r"виене на свят",
        r"световъртеж\w*", r"припад\w*", r"изтръп\w*", r"задух\w*", r"умор\w*", r"безсъние", r"инфекци\w*", r"рана",
        r"счупи\w*", r"навях\w*", r"травм\w*", r"сърцебиене", r"кръвно", r"захар", r"бенка", r"киста", r"болен", r"болна",
        r"настинк\w*", r"грип\w*", r"симптом\w*", r"гърди\w*", r"корем\w*", r"главобол\w*", r"мигрена", r"пъпк\w*", r"акне",
        r"косопад\w*", r"гърло\w*", r"операци\w*",
    ],
    "diagnosis_result": [
        r"diagnos\w*", r"cancer\w*", r"tumou?r\w*", r"diabet\w*", r"asthma\w*", r"copd", r"hiv", r"aids", r"hepatitis",
        r"stds?", r"stis?", r"chlamydia", r"gonorrh\w*", r"syphilis", r"herpes", r"hpv", r"epilep\w*", r"arthritis",
        r"dementia", r"alzheimer\w*", r"parkinson\w*", r"multiple sclerosis", r"crohn\w*", r"colitis", r"ibs",
        r"celiac", r"coeliac", r"thyroid", r"hypertension", r"heart (disease|condition|failure|problem\w*)",
        r"cholesterol", r"anemi\w*", r"anaemi\w*", r"leuka?emia", r"lymphoma", r"melanoma", r"biops\w*",
        r"results?", r"came back", r"tested positive", r"blood ?work", r"labs", r"lab results?",
        r"mri", r"ct scan", r"ultrasound", r"smear", r"pap", r"psa", r"a1c", r"hba1c", r"stroke",
        r"kidney\w*", r"liver", r"lupus", r"autism", r"autistic",
        # de
        r"diagnose\w*", r"\w*krebs", r"\w*tumor\w*", r"asthma", r"geschlechtskrank\w*", r"chlamydien", r"epilepsie",
        r"demenz", r"schilddruse\w*", r"befund\w*", r"ergebnis\w*", r"laborwert\w*", r"blutwert\w*", r"biopsie",
        r"positiv getestet", r"mrt", r"ct", r"ultraschall", r"herzinsuffizienz", r"bluthochdruck",
        # es
        r"diagnostic\w*", r"vih", r"sida", r"ets", r"clamidia", r"epilepsia", r"artritis", r"demencia",
        r"tiroides", r"resultado\w*", r"analisis", r"biopsia", r"di positivo", r"resonancia", r"ecografia",
        r"hipertension", r"colesterol", r"anemia",
        r"диагноз\w*", r"рак\w*", r"тумор\w*", r"диабет\w*", r"астма", r"хепатит\w*", r"епилепси\w*", r"резултат\w*",
        r"изследван\w*", r"биопси\w*", r"ядрено[\s-]магнитен", r"скенер", r"ехограф\w*", r"холестерол", r"анеми\w*",
        r"щитовидн\w*", r"положителен", r"позитивен", r"хив", r"спин",
    ],
    "medication": [
        r"medication\w*", r"meds", r"medicine\w*", r"pills?", r"tablets?", r"dose\w*", r"dosage", r"side effects?",
        r"antibiotic\w*", r"antidepressant\w*", r"inhaler", r"insulin",
        r"metformin", r"ozempic", r"wegovy", r"mounjaro", r"levothyroxine", r"sertraline", r"zoloft", r"prozac",
        r"lexapro", r"wellbutrin", r"bupropion", r"xanax", r"valium", r"ativan", r"klonopin", r"adderall",
        r"ritalin", r"vyvanse", r"lithium", r"seroquel", r"abilify", r"oxycontin", r"vicodin", r"percocet",
        r"tramadol", r"codeine", r"morphine", r"fentanyl", r"gabapentin", r"lyrica", r"prednison\w*",
        r"cortison\w*", r"amoxicillin", r"warfarin", r"eliquis", r"xarelto", r"ventolin", r"albuterol",
        r"salbutamol", r"methadone", r"suboxone", r"naloxone", r"truvada", r"prep", r"ibuprofen\w*",
        r"paracetamol", r"tylenol", r"advil", r"aspirin\w*", r"novalgin", r"metamizol", r"thyroxin",
        # drug-name endings cover names not listed above
        r"(?!april\b)\w+(pril|sartan|olol|statin|prazole|azepam|zolam|oxetine|triptyline|ipine|mycin|cillin|cycline|floxacin|formin|gliptin|gliflozin|triptan|codone|morphone|fenac|tidine|lukast)",
        # de
        r"\w*medikament\w*", r"\w*tablette\w*", r"pille\w*", r"dosis", r"nebenwirkung\w*", r"antibiotik\w*",
        r"antidepressiv\w*", r"spritze\w*",
        # es
        r"medicament\w*", r"medicina\w*", r"pastilla\w*", r"pildora\w*", r"dosis", r"efectos? secundarios?",
        r"antibiotico\w*", r"antidepresiv\w*", r"insulina", r"inyecci\w*",
        r"лекарств\w*", r"хапч\w*", r"таблетк\w*", r"доз\w*", r"странични ефекти", r"антибиотик\w*", r"антидепресант\w*",
        r"инсулин", r"инжекци\w*", r"ибупрофен", r"парацетамол", r"аналгин", r"аспирин",
    ],
    "mental_health": [
        r"depress\w*", r"anxi\w*", r"panic attack\w*", r"ptsd", r"trauma\w*", r"bipolar", r"schizo\w*", r"psychos\w*",
        r"hearing voices", r"adhd", r"ocd", r"eating disorder", r"anorexi\w*", r"bulimi\w*", r"therapist", r"psychiatrist",
        r"stressed", r"burn ?out", r"lonely", r"hopeless", r"worthless", r"grief", r"grieving", r"crying",
        r"cant cope", r"overwhelmed", r"mental health", r"(mental|nervous) breakdown", r"suicid\w*",
        r"self harm", r"dark thoughts", r"intrusive thoughts", r"not coping", r"struggling (mentally|emotionally|a lot)",
        r"not (feeling )?myself", r"(feel|feeling) (so |really |very )?(low|down|empty|numb|awful|terrible)",
        r"(komme|komm|kommt)\b.{0,40}\bnicht (mehr )?klar", r"(bin|fuhle mich) (so |total |ganz )?(fertig|leer|down|am ende)",
        r"geht (es )?mir (gar nicht gut|sehr schlecht|schlecht|richtig schlecht|dreckig)", r"psychisch\w*",
        r"(estoy|llevo \w+|me siento) (muy |fatal|tan )?(mal|fatal|vaci[oa]|hundid[oa]|sin ganas)", r"no puedo mas",

        r"depression\w*", r"depressiv\w*", r"angst\w*", r"panikattacke\w*", r"psychose", r"stimmen horen",
        r"essstorung", r"einsam", r"hoffnungslos", r"traurig", r"psychiater\w*", r"psychisch\w*", r"zusammenbruch",
        r"depresion", r"deprimid\w*", r"ansiedad", r"ataques? de panico", r"psicosis", r"escucho voces",
        r"trastorno\w*", r"estres", r"estresad\w*", r"sin esperanza", r"triste\w*", r"psiquiatra", r"salud mental",
        r"llorar", r"lloro", r"agobiad\w*",
        r"депреси\w*", r"тревожност\w*", r"паническ\w*", r"псих\w*", r"самота", r"самотн\w*", r"безнадежд\w*",
        r"тъжн\w*", r"тъга", r"стрес\w*", r"не мога повече", r"плача",
    ],
    "pregnancy_sexual": [
        r"pregnan\w*", r"expecting a (baby|child)", r"missed (my )?period", r"period (is )?late", r"late period", r"miscarr\w*",
        r"abortion", r"morning after pill", r"plan b", r"contracept\w*", r"birth control", r"condom broke",
        r"unprotected", r"erectile", r"libido", r"vagina\w*", r"penis", r"testic\w*", r"ovulat\w*", r"ivf",
        r"fertility", r"trying to conceive", r"sexual\w*", r"sex",
        r"schwanger\w*", r"periode", r"regel (ist )?(ausgeblieben|uberfallig|bleibt aus)",
        r"(tage|periode|regel|menstruation|blutung)( \w+){0,4} (uberfallig|ausgeblieben|ausbleib\w*|bleiben aus|bleibt aus|kommt nicht|kommen nicht|verspatet)",
        r"(periode|regel|tage) (ist |sind )?(zu spat|verspatet)", r"fehlgeburt", r"abtreibung", r"pille danach", r"verhutung\w*",
        r"kondom", r"ungeschutzt\w*", r"erektion\w*", r"scheide", r"hoden",
        r"embarazad\w*", r"embarazo", r"no me (baja|llega|ha bajado|ha llegado) (la regla|el periodo)", r"(regla|periodo) atrasad[oa]", r"aborto", r"pastilla del dia despues",
        r"anticoncepti\w*", r"condon", r"sin proteccion", r"sexo", r"me (contagie|contagiaron|pego|pegaron)", r"contagi\w+ (algo|una|de)",
        r"бременн\w*", r"бременност\w*", r"закъснява\w* цикъл", r"цикъл\w*", r"мензис", r"аборт\w*", r"спонтанен аборт",
        r"контрацепци\w*", r"презерватив\w*", r"полов\w*", r"секс\w*", r"ерекци\w*",
    ],
    "substance": [
        r"alcohol\w*", r"drinking", r"drunk", r"weed", r"cannabis", r"marijuana", r"cocaine", r"heroin", r"meth",
        r"opioid\w*", r"opiate\w*", r"addict\w*", r"relapse\w*", r"sober\w*", r"withdrawal", r"detox", r"vaping",
        r"high on", r"drugs",
        r"alkohol\w*", r"betrunken", r"kiffe\w*", r"kokain", r"koks", r"drogen", r"sucht\w+", r"abhangig\w*", r"entzug",
        r"ruckfall",
        r"borrach\w*", r"marihuana", r"porros?", r"cocaina", r"heroina", r"drogas", r"adicci\w*", r"adict\w*",
        r"recaida", r"abstinencia", r"bebo demasiado",
        r"алкохол\w*", r"пия много", r"пиян\w*", r"трева", r"марихуана", r"кокаин", r"хероин", r"наркотиц\w*", r"дрога",
        r"зависимост\w*", r"пристраст\w*", r"абстиненци\w*",
    ],
}

# A condition named next to one of these is a service being asked about.
_SERVICE_NOUNS = (
    r"clinic\w*|medicine|department|ward|unit|cent(er|re)|service\w*|team|specialist\w*|testing|screening|tests?|"
    r"vaccin\w*|shots?|jabs?|boosters?|check\w*|program\w*|support group\w*|"
    r"ambulanz|abteilung|station|zentrum|sprechstunde|impfung\w*|untersuchung\w*|vorsorge|"
    r"clinica|departamento|servicio\w*|unidad|prueba\w*|vacuna\w*|revision\w*|consulta|"
    r"клиника|отделение|кабинет|услуг\w*|изследван\w*|тест\w*|ваксин\w*|преглед\w*|анализ\w*|скрининг"
)
_SERVICE_PHRASE = re.compile(
    rf"\b((get(ting)? )?tested for \w+|do you (do|offer|treat|have|provide|accept) [\w ]{{0,30}}?(?={_SERVICE_NOUNS}|\s*$)|"
    # the service named first: "a test for cholesterol", "prueba de colesterol", "изследване на холестерол"
    rf"(?:\w+ )?(?:{_SERVICE_NOUNS}) (for|of|against|fur|gegen|auf|de|para|contra|на|за|срещу|против) \w+|[\w]+ (?:{_SERVICE_NOUNS}))\b"
)

_PERSONAL = re.compile(
    r"\b(i|im|ive|id|ill|my|me|mine|myself|our|ours|we|weve|were|"
    r"ich|mein\w*|mir|mich|unser\w*|wir|bin|habe|hab|"
    r"yo|mi|mis|tengo|estoy|llevo|soy|nuestr\w*|padezco|sufro|tuve|siento|"
    r"аз|ми|ме|мен|мои|моя|моят|моите|моето|имам|съм|бях|нас|нашия|нашата)\b"
)
_IDENTIFIER_WORDS = re.compile(
    r"\b(dob|d o b|date of birth|born on|birthday is|mrn|patient (id|number|no)|medical record number|"
    r"insurance (number|id|no)|member (id|number)|policy number|ssn|social security|nhs number|"
    r"geburtsdatum|geb|geboren am|versichertennummer|patientennummer|versicherungsnummer|"
    r"fecha de nacimiento|nacid[oa] el|numero de (paciente|seguro|afiliado|historia)|nss|dni)\b"
)
# A request for medical information or advice: staff answer it, never the bot, even when it is
# general ("can ibuprofen cause ulcers?"). Only counted together with health content.
_ADVICE = re.compile(
    r"\b(what (should|can|could|do) i (take|do|use|try)|what (is|s) (good|best|safe) for|how (do|can|should) (i|you|we) "
    r"(treat|cure|get rid of|manage|stop|relieve|ease|heal|prevent)|how to (treat|cure|get rid of|relieve|heal)|"
    r"treatment (for|of|options)|is it (safe|ok|okay|normal|dangerous|bad) (to|if|for|that)|is (this|that|it) normal|"
    r"should i (be worried|worry|go to|see a|take|stop|stay)|side effects? of|can (\w+ ){1,3}cause|does (\w+ ){1,3}cause|"
    r"how (much|many) (\w+ ){0,2}(should|can) i take|how long (does|do|will) (\w+ ){1,3}last|is (\w+ ){1,3}contagious|"
    r"(normal|healthy) (range|level|value)s? (of|for)|what does (\w+ ){1,4}mean|"
    r"was (kann|soll|sollte) ich (da )?(gegen|tun|nehmen|machen)|was hilft (gegen|bei)|wie behandl\w*|"
    r"ist (das|es) (normal|gefahrlich|schlimm)|(darf|kann) ich (\w+ ){1,4}(nehmen|einnehmen)|nebenwirkung\w* (von|bei)|"
    r"muss ich mir sorgen machen|soll ich (zum|in die|ins)|behandlung (von|bei|gegen)|"
    r"que (puedo|debo) (tomar|hacer|usar)|que es bueno para|como (se )?(trata|cura|quita|alivia)|como (curar|tratar|aliviar|quitar)|"
    r"es (normal|peligroso|grave|malo)|(puedo|se puede) tomar|efectos? secundarios? de|debo preocuparme|"
    r"tratamiento (para|de)|"
    r"какво (да|мога да) (пия|взема|правя|направя)|как (да )?(лекувам|се лекува|излекувам|премахна)|нормално ли е|"
    r"опасно ли е|може ли да (пия|взема|приемам)|странични ефекти (на|от)|трябва ли да се (притеснявам|тревожа)|лечение (на|за))\b"
)
# Requests for medical information that need no health word nearby: the phrasing alone is
# medical ("what is the outlook for ...", "do you have information about electromyography").
_STRONG_ADVICE = re.compile(
    r"\b(what (are|is) the (symptoms|signs|causes|treatments?|outlook|prognosis|complications|risk factors) (of|for)|"
    r"what causes|how (is|are) (\w+ ){1,4}(diagnosed|treated|inherited|prevented)|is (\w+ ){1,4}(inherited|hereditary|genetic|curable)|"
    r"how many people (are|get) (affected|diagnosed)|do you have (any )?(information|info) (about|on)|"
    r"who should (get|take|have)|how should (\w+ ){1,3}be (used|taken)|"
    # prevention, support for a condition, whether it needs a doctor: still medical information
    r"how (to|can i|do i|can you|do you) (prevent|avoid getting)|support (groups? )?for (people|those|patients|families) with|"
    r"do i (need|have) to see a doctor (for|about|with)|"
    r"wie (kann man|kann ich) (\w+ ){0,3}vorbeugen|selbsthilfegruppe\w* (fur|bei)|"
    r"como (se puede |puedo )?prevenir|grupos? de apoyo para|"
    r"как (да )?(се )?(предпазя|предотврат\w*)|групи? за подкрепа (на|за)|"
    r"welche (symptome|ursachen|behandlung\w*) (hat|gibt es|bei)|ist (\w+ ){1,3}(erblich|ansteckend|heilbar)|"
    r"cuales son los (sintomas|tratamientos|riesgos)|que causa|es (\w+ ){1,3}(hereditari[oa]|contagios[oa]|curable)|"
    r"какви са симптомите|какво причинява|заразн\w* ли е|наследствен\w* ли е)\b"
)
_DATE = re.compile(r"\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b|\b(19|20)\d{2}-\d{2}-\d{2}\b")
_LONG_NUMBER = re.compile(r"\b[a-z]{0,3}\d{6,}\b", re.IGNORECASE)


def _compile_terms(terms: List[str]) -> re.Pattern:
    return re.compile(r"\b(" + "|".join(terms) + r")\b")


_CATEGORY_RE = {category: _compile_terms(terms) for category, terms in _TERMS.items()}


@dataclass(frozen=True)
class HealthSignals:
    categories: FrozenSet[str] = field(default_factory=frozenset)  # any health content
    disclosure_categories: FrozenSet[str] = field(default_factory=frozenset)
    personal: bool = False
    identifiers: bool = False
    advice: bool = False  # asks for medical information or advice

    @property
    def has_health_content(self) -> bool:
        return bool(self.categories)

    @property
    def is_disclosure(self) -> bool:
        """A personal health disclosure, not a general question about a service."""
        return bool(self.disclosure_categories) and (self.personal or self.identifiers)

    def disclosure_intent(self) -> str:
        if self.identifiers and self.disclosure_categories:
            return IDENTIFIER_INTENT
        for category in CATEGORY_INTENT:  # dict order is priority order
            if category in self.disclosure_categories:
                return CATEGORY_INTENT[category]
        return CATEGORY_INTENT["symptom"]


def _categories(forms) -> FrozenSet[str]:
    return frozenset(
        category
        for category, pattern in _CATEGORY_RE.items()
        if any(pattern.search(form) for form in forms)
    )


def analyze(text: str) -> HealthSignals:
    folded = fold(text)
    forms = (folded, fold_umlaut_spelling(folded))
    categories = _categories(forms)
    if not categories:
        return HealthSignals(advice=bool(_STRONG_ADVICE.search(folded)))
    # Services are removed before the umlaut respelling, which would turn "prueba" into "pruba".
    removed = _SERVICE_PHRASE.sub(" ", folded)
    without_services = (removed, fold_umlaut_spelling(removed))
    disclosure_categories = _categories(without_services)
    return HealthSignals(
        categories=categories,
        disclosure_categories=disclosure_categories,
        personal=bool(_PERSONAL.search(folded)),
        # "what should I do to book a flu shot" names a service, not a health question.
        advice=bool(_STRONG_ADVICE.search(folded) or (disclosure_categories and _ADVICE.search(folded))),
        identifiers=bool(
            _IDENTIFIER_WORDS.search(folded) or _DATE.search(text or "") or _LONG_NUMBER.search(text or "")
        ),
    )
