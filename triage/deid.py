"""De-identification of patient messages before an admin sees them.

Identifiers become typed placeholders such as ``<NAME>`` or ``<PHONE>``; the
clinical words stay, so a reviewed message is still worth learning from.

Why a pattern set and not Presidio: Presidio needs a spaCy language model per
language (EN, DE, ES), which must be downloaded and weighs 15-500 MB each, and
its NER is trained on news text, not lowercase DMs with typos. DM identifiers
are mostly structured (numbers, dates, emails, URLs) or announced by a cue
("my name is", "ich heiße", "me llamo", "казвам се", "Frau", "Sr.", "г-жа"), which patterns catch
and tests pin down. A name given with no cue at all is caught only when it is
a common first name or surname from the lists below: that is the known gap.

Placeholders use angle brackets because square brackets are Rasa's entity
annotation syntax in training data.
"""
from __future__ import annotations

import re
from typing import Callable, List, Optional, Tuple, Union

NAME, PHONE, EMAIL, DATE, AGE, ADDRESS, URL = "NAME", "PHONE", "EMAIL", "DATE", "AGE", "ADDRESS", "URL"
INSURANCE, MEMBER, RECORD, ID = "INSURANCE_ID", "MEMBER_ID", "RECORD_NUMBER", "ID"
TYPES = (NAME, PHONE, EMAIL, DATE, AGE, ADDRESS, URL, INSURANCE, MEMBER, RECORD, ID)
PLACEHOLDER = re.compile(r"<(?:" + "|".join(TYPES) + r")>")

_I = re.IGNORECASE

# --- structured identifiers ------------------------------------------------

_URL = re.compile(r"\b(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|de|es|uk|io|info|eu|at|ch|mx|bg)/\S*", _I)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")

_MONTHS = (r"jan(?:uary|uar|\.)?|feb(?:ruary|ruar|\.)?|mar(?:ch|\.)?|märz|maerz|apr(?:il|\.)?|may|mai|june?|juni?|"
           r"july?|juli?|aug(?:ust|\.)?|sep(?:t(?:ember)?|\.)?|oct(?:ober|\.)?|okt(?:ober|\.)?|nov(?:ember|\.)?|"
           r"dec(?:ember|\.)?|dez(?:ember|\.)?|enero|febrero|marzo|abril|mayo|junio|julio|agosto|"
           r"septiembre|setiembre|octubre|noviembre|diciembre")
# Bulgarian months only after a day: "май" alone is also "it seems" ("май съм настинал").
_MONTHS_BG = r"януари|февруари|март|април|май|юни|юли|август|септември|октомври|ноември|декември"
_DATE = re.compile(
    r"\b(?:\d{1,2}[./-]\d{1,2}[./-]\d{4}\s?г\.?"                                   # 12.03.1975 г. (BG year mark)
    r"|\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})|\d{4}-\d{1,2}-\d{1,2}"             # 04/12/1988, 4.12.88, 1988-12-04
    rf"|\d{{1,2}}(?:-?(?:ти|ви|ри))?\s*(?:{_MONTHS_BG})(?:\s*\d{{4}}(?:\s?г\.?)?)?"   # 3 март 1982 г., 12-ти май
    rf"|\d{{1,2}}(?:st|nd|rd|th|\.)?\s*(?:de\s+)?(?:{_MONTHS})(?:,?\s*(?:de(?:l)?\s+)?\d{{4}})?"  # 4 dec 1988, 4. März, 4 de marzo de 1988
    rf"|(?:{_MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s*\d{{4}})?"              # December 4th, 1988
    r"|(?:0?[1-9]|[12]\d|3[01])(?:/(?:0?[1-9]|1[0-2])|\.(?:0?[1-9]|1[0-2])\.)(?=\s|$|[,;!?)])"  # 04/12, 4.12.
    r")(?:\b|(?<=\.))\.?", _I)
# A date of birth written as bare digits after its cue: "dob 04121988", "geb. 4121988"
_DOB_DIGITS = re.compile(r"\b(dob|d\.o\.b\.?|born|geb(?:oren|\.)?|geburtsdatum|nacido|nacida|fecha de nacimiento|"
                         r"роден|родена|дата на раждане|рождена дата)"
                         r"(\s*[:\-]?\s*(?:on\s+|am\s+|el\s+|in\s+|en\s+|im jahr\s+|(?:съм\s+)?(?:на|през|в)\s+)?)"
                         r"(\d{6,8}|(?:19|20)\d\d)\b", _I)

_AGE = re.compile(
    r"\b(?:i'?m|i am|im|he'?s|she'?s|he is|she is|aged?)\s+(\d{1,3})\b(?!\s*(?:min|h\b|hours?|days?|weeks?|months?|"
    r"tage|wochen|monate|días|dias|semanas|meses|mg|ml|%|kg|am\b|pm\b|uhr|:|\.\d))"
    r"|\b\d{1,3}\s*(?:-\s*)?(?:years?[\s-]old|yrs?[\s-]old|y/?o\b|yo\b|year-old|jahre alt|jähriger?|jährige|jaehrige[rn]?|años|anos)"
    r"|\b(?:ich bin|bin)\s+(\d{1,3})\b(?!\s*(?:min|tage|mg|kg|%|uhr))"
    r"|\b(?:tengo|tiene)\s+(\d{1,3})\b(?=\s*(?:años|anos|$|[,.!?]))"
    r"|\b(?:alter|edad)\s*:?\s*\d{1,3}\b"
    r"|\bна\s+\d{1,3}\s*(?:години|годинки|год\.?|г\.)(?!\w)|\b\d{1,3}[\s-]*годишн\w*", _I)  # "на 34 години", "5-годишно"

# Numbers announced by what they are; the type follows the cue.
_ID_CUES: List[Tuple[str, str]] = [
    (INSURANCE, r"insurance|insurer|policy|versicherten|versicherungs|versicherung|krankenkassen|kassen|"
                r"póliza|poliza|seguro|afiliaci[oó]n|afiliado|tarjeta sanitaria|n[uú]mero de la tarjeta|medicaid|medicare|"
                r"здравноосигурителн\w*|осигурителен|здравн\w* книжк\w*|полица|застраховк\w*"),
    (MEMBER, r"member(?:ship)?|mitglieds?|socio|miembro|членск\w*"),
    (RECORD, r"record|mrn|medical record|patient|chart|nhs|case|akten|patienten|fall|historia(?: cl[ií]nica)?|"
             r"expediente|paciente|caso|befund|referenz|reference|ref|пациент|досие|амбулаторен лист|амб\. лист"),
    # ЕГН: the Bulgarian 10-digit personal number; ЛНЧ for foreigners
    (ID, r"ssn|social security|dni|nie|nif|passport|pass|ausweis|pasaporte|id|steuer|tax|"
         r"егн|egn|лнч|лична карта|л\.\s?к\.|лк|паспорт"),
]
_ID_VALUE = r"[A-Z]{0,4}[-\s]?\d[\dA-Z\-/ ]{3,}\d|[A-Z]{1,4}\d{4,}[A-Z]?|\d{4,}"
_CUED_ID = [(kind, re.compile(
    rf"\b(?:{cue})(?:[\w\-]*)\s*(?:#|no\.?|nr\.?|n[º°o]\.?|num(?:ber|mer|ero|\.)?|número|nummer|id|number is|is|ist|es|"
    rf"номер(?: на \w+)?(?: е)?|№|е|:)?"
    rf"\s*(?:#|:)?\s*(?P<value>{_ID_VALUE})\b", _I)) for kind, cue in _ID_CUES]

_PHONE = re.compile(r"(?<![\w<])(?:\+|00)?\(?\d[\d\s().\-/]{5,}\d(?![\w>])")
_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
# A bare ЕГН is told from a 10-digit phone number by its birth date and check digit
# (mobile numbers start 087-089/098, which no valid ЕГН month allows).
_TEN_DIGITS = re.compile(r"(?<![\w+<])\d{10}(?![\w>])")
_EGN_WEIGHTS = (2, 4, 8, 5, 10, 9, 7, 3, 6)


def _is_egn(match: re.Match) -> bool:
    digits = match.group(0)
    month, day = int(digits[2:4]), int(digits[4:6])
    month -= 40 if month > 40 else 20 if month > 20 else 0  # +20: born before 1900, +40: born from 2000
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return False
    return sum(int(d) * w for d, w in zip(digits, _EGN_WEIGHTS)) % 11 % 10 == int(digits[9])


# Anything still left that mixes letters and digits like a code, or is a long number.
_LONG_NUMBER = re.compile(r"\b(?=[A-Za-z-]*\d)(?=\d*[A-Za-z])[A-Za-z\d]{6,}(?:-[A-Za-z\d]+)*\b|\b\d{5,}\b")

# --- addresses -------------------------------------------------------------

_STREET_EN = r"(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|way|court|ct|place|pl|terrace|close|crescent)"
_ADDRESS = re.compile(
    rf"\b\d{{1,5}}[a-z]?\s+(?:[A-Za-z][\w'-]*\s+){{1,3}}{_STREET_EN}\b\.?(?:,?\s*(?:apt|apartment|unit|flat)\.?\s*\w+)?"
    r"|\b[A-ZÄÖÜ][\wäöüß-]*(?:stra(?:ß|ss)e|str\.|weg|gasse|allee|platz|ring|damm|ufer)\s*\d{1,4}\s?[a-z]?\b"
    r"|\b(?:[A-ZÄÖÜ][\wäöüß]+\s)(?:Stra(?:ß|ss)e|Weg|Allee|Platz|Gasse|Ring)\s*\d{1,4}\s?[a-z]?\b"
    r"|\b(?:calle|c/|avenida|avda\.?|av\.|plaza|pza\.?|paseo|camino|carrera|ronda|travesía)\s+(?:de\s+(?:la\s+|los\s+|las\s+)?)?"
    r"[\wáéíóúñ]+(?:\s+[\wáéíóúñ]+){0,2}\s*,?\s*(?:n[º°o]\.?\s*)?\d{1,4}(?:\s*,?\s*\d+[º°]?\s*[a-z]?)?\b"
    r"|\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b"                          # UK postcode
    r"|\b\d{5}\s+[A-ZÄÖÜ][\wäöüß]+(?:\s(?:am|an der|de)\s[A-ZÄÖÜ][\wäöüß]+)?",  # 10115 Berlin, 28013 Madrid
    _I)
# The cue words above are case-insensitive, but German street names must start with a capital
# to be told apart from words like "Dauerweg"; a lowercase one still has its number.

# Bulgarian addresses are announced by abbreviations: "ул. „Шипка“ № 12", "жк Младост 3, бл. 312, вх. Б, ап. 15".
# A chain of them is one address. "кв. м" (square metres) is not a quarter.
_BG_ADDRESS_PART = (
    r"(?:ул|бул)\.\s*[„\"«]?[\w-]+(?:\s+[\w-]+){0,2}?[“”\"»]?\s*,?\s*(?:№\s*)?\d{1,4}[а-я]?\b"
    r"|(?:ул|бул)\.\s*[„\"«]?[\w-]+[“”\"»]?"
    r"|(?:жк|ж\.\s?к\.|кв\.)\s*[„\"«]?(?!м\b)[\w-]+(?:\s+\d{1,4}[а-я]?\b)?[“”\"»]?"
    r"|(?:бл|вх|ет|ап)\.?\s*(?:№\s*)?(?:\d{1,4}[а-я]?|[а-яa-z])\b"
)
_ADDRESS_BG = re.compile(rf"\b(?:{_BG_ADDRESS_PART})(?:\s*,?\s*(?:{_BG_ADDRESS_PART}))*", _I)

# --- names -----------------------------------------------------------------

_FIRST_NAMES = set("""
james john robert michael william david richard joseph thomas charles christopher daniel matthew anthony mark
donald steven paul andrew joshua kenneth kevin brian george timothy ronald jason edward jeffrey ryan jacob gary
nicholas eric jonathan stephen larry justin scott brandon benjamin samuel gregory alexander patrick frank raymond
jack dennis jerry tyler aaron jose adam nathan henry zachary douglas peter kyle noah ethan jeremy walter christian
keith roger terry austin sean gerald carl harold dylan arthur lawrence jordan jesse bryan billy bruce gabriel joe
logan alan juan albert willie elijah wayne randy vincent mason roy ralph bobby russell bradley philip eugene
claire mary patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy betty sandra margaret ashley
kimberly emily donna michelle carol amanda melissa deborah stephanie dorothy rebecca sharon laura cynthia amy
kathleen angela shirley brenda emma anna pamela nicole samantha katherine christine helen debra rachel carolyn
janet maria catherine heather diane olivia julie joyce victoria ruth virginia lauren kelly christina joan evelyn
judith andrea hannah megan cheryl jacqueline martha madison teresa gloria sara janice ann kathryn abigail sophia
frances jean alice judy isabella julia grace amber denise danielle marilyn beverly charlotte natalie theresa
diana brittany doris kayla alexis lori marie tom tim jim bob mike dave steve chris liz kate jenny jess becky
hans jürgen juergen klaus wolfgang uwe michael stefan andreas thomas frank peter dieter günter guenter horst
helmut manfred werner gerhard bernd rainer karl heinz walter jan lukas leon finn felix jonas maximilian paul
tobias florian sebastian markus matthias christian alexander tim niklas moritz jannik julian philipp
ursula petra sabine monika gabriele renate karin brigitte ingrid helga birgit claudia susanne andrea heike
stefanie nicole katharina julia laura lena lea leonie hannah sophie marie mia emilia lina johanna anja silke
katrin kerstin jutta gisela hildegard erika elke angelika martina daniela sandra
josé jose antonio manuel francisco david juan javier daniel carlos jesús jesus alejandro miguel rafael pedro
pablo ángel angel sergio fernando jorge luis alberto álvaro alvaro adrián adrian diego raúl raul enrique ramón
ramon vicente iván ivan rubén ruben óscar oscar andrés andres joaquín joaquin santiago eduardo víctor victor
roberto jaime mario ignacio alfonso salvador ricardo marcos emilio julián julian guillermo gonzalo hugo
carmen maría josefa isabel dolores pilar teresa ana laura francisca antonia cristina marta mercedes lucía lucia
rosario paula raquel manuela elena sara concepción concepcion beatriz rocío rocio nuria silvia patricia irene
alba andrea claudia sofía sofia valentina camila valeria daniela ximena lupita guadalupe rosa juana inés ines
иван георги димитър петър христо николай стефан тодор йордан васил александър стоян атанас красимир пламен
борис боян мартин калоян кристиян християн павел емил валентин румен методи божидар драгомир венцислав
веселин цветан марин любомир младен станислав деян живко илия кирил симеон станимир огнян ангел
гошо пешо митко ицо ники сашо тошо наско мишо ваньо киро данчо
мария иванка елена йорданка пенка десислава гергана милена снежана даниела силвия мариела теодора галина
радка станка цветелина людмила лиляна катя таня ваня нина лили кристина николета антония биляна ралица
виктория александра габриела преслава симона гергана зорница надежда вяра весела калина роза ива светла
ани мими дани тони деси гери поли ели мари
""".split())
_SURNAMES = set("""
smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez wilson
anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark ramirez lewis robinson
walker young allen king wright scott torres nguyen hill flores green adams nelson baker hall rivera campbell
mitchell carter roberts o'brien murphy kelly
müller mueller schmidt schneider fischer weber meyer wagner becker schulz hoffmann schäfer schaefer koch bauer
richter klein wolf schröder schroeder neumann schwarz zimmermann braun krüger krueger hofmann hartmann lange
schmitt werner schmitz krause meier lehmann huber kaiser fuchs peters lang scholz möller moeller weiß weiss jung
hahn vogel friedrich keller günther guenther
garcía gonzález rodríguez fernández fernandez lópez martínez sánchez pérez gómez gomez martín jiménez jimenez
ruiz hernández díaz diaz moreno muñoz munoz álvarez alvarez romero alonso gutiérrez gutierrez navarro torres
domínguez dominguez vázquez vazquez ramos gil ramírez serrano blanco molina morales suárez suarez ortega
delgado castro ortiz rubio marín marin sanz núñez nunez iglesias medina garrido cortés cortes castillo santos
lozano guerrero cano prieto méndez mendez cruz calvo gallego vidal león leon márquez marquez herrera peña pena
иванов иванова петров петрова георгиев георгиева димитров димитрова николов николова стоянов стоянова
христов христова тодоров тодорова илиев илиева ангелов ангелова атанасов атанасова йорданов йорданова
колев колева попов попова маринов маринова михайлов михайлова костов костова василев василева петков петкова
стефанов стефанова кирилов кирилова станков станкова найденов найденова калоянов калоянова
""".split())
# Words a cue may be followed by that are not names ("I am sick", "soy diabético").
_NOT_NAMES = set("""
a an the and or but so not no very really just also still too here there sick ill tired worried scared afraid
pregnant diabetic asthmatic allergic in on at from with about for to of your a patient new calling writing
looking trying asking wondering having feeling going getting sorry ok okay fine good bad better worse
ein eine einer der die das und oder aber nicht sehr auch noch krank müde schwanger diabetiker allergisch
patient patientin neu neue hier da am im beim zum zur wegen
dob born geb date fecha dr mr mrs ms prof herr frau sr sra
monday tuesday wednesday thursday friday saturday sunday today tomorrow tonight january february march april
june july august september october november december christmas easter covid mri ct x-ray er a&e ok i my me
un una el la los las y o pero no muy también todavía enfermo enferma cansado cansada embarazada diabético
diabética diabetico diabetica alérgico alérgica alergico alergica paciente nuevo nueva de del en con por para
и или но не много съм сте е ли се ще да на за от в с по при ми ме си тук там болен болна бременна диабетик
пациент пациентка нов нова днес утре коледа великден понеделник вторник сряда четвъртък петък събота неделя
доктор докторе лекар лекарка сестра регистратура клиниката тя той ви вие вас ваш ваша вашия вашата нас тях него нея
всички всичко мерси благодаря здравейте екип екипа екипе
""".split())
# Eponymous conditions keep their name: they are clinical words, not people.
_EPONYMS = {"parkinson", "parkinson's", "parkinsons", "alzheimer", "alzheimer's", "alzheimers", "crohn", "crohn's",
            "hashimoto", "hashimoto's", "hodgkin", "hodgkin's", "addison", "addison's", "cushing", "cushing's",
            "graves", "graves'", "tourette", "tourette's", "down", "asperger", "asperger's", "lyme", "huntington",
            "huntington's", "raynaud", "bell's", "achilles", "covid", "pfizer", "moderna"}

_WORD_TAIL = r"[\wÄÖÜäöüßÁÉÍÓÚÑáéíóúñ\u0400-\u04ff'’-]*"
_WORD = r"[A-Za-zÄÖÜäöüßÁÉÍÓÚÑáéíóúñ\u0400-\u04ff]" + _WORD_TAIL
# After these anything but a stop word is a name: "my name is li wei".
_STRONG_NAME_CUE = re.compile(
    r"\b(?:my name is|my name's|name is|name's|i am called|mein name ist|ich heiße|ich heisse|name\s*:|"
    r"me llamo|mi nombre es|nombre\s*:|казвам се|казва се|името ми е|името му е|името ѝ е|името и е|"
    r"моето име е|имената ми са|име\s*:)\s+", _I)
# After these only a capitalised word or a known first name is taken as a name:
# "my son is talking", "ich bin müde", "soy diabético" are not names.
_WEAK_NAME_CUE = re.compile(
    r"\b(?:names|call me|this is|it'?s|its|i'?m|im|i am|ich bin|hier ist|hier spricht|soy|habla|le escribe|"
    r"my (?:son|daughter|wife|husband|mum|mom|mother|dad|father|partner|brother|sister|baby|child|kid|grandma|grandpa)|"
    r"mein(?:e)? (?:sohn|tochter|frau|mann|mutter|vater|partner(?:in)?|bruder|schwester|kind|oma|opa)|"
    r"mi (?:hijo|hija|esposa|esposo|marido|mujer|madre|padre|mamá|mama|papá|papa|pareja|hermano|hermana|bebé|bebe|abuela|abuelo)|"
    r"аз съм|тук е|пише ви|обажда се|(?:синът|сина|дъщеря|съпругът|съпруга|съпругата|мъжът|мъжа|жена|майка|баща|детето|"
    r"бебето|баба|дядо|брат|сестра) ми"
    r")\s+(?:is\s+|ist\s+|es\s+|е\s+)?", _I)
# Followed by a name only when it is capitalised: "booking for Jake Morrison", "cita para Pedro".
_CAPITAL_CUE = re.compile(r"\b(?:for|on behalf of|para|de parte de|patient|paciente|от името на|пациент|пациентка)\s+"
                          r"(?=[A-ZÁÉÍÓÚÑА-Я])")
# English titles take any word ("dr jones"); "Frau", "Don", "Sr." only a capitalised one,
# since "meine frau hat" and "don't" are not names.
# Bulgarian "д-р", "г-н", "г-жа" take any word like "dr"; "доктор" only a capitalised one ("доктор ли сте").
# Not "др.": "и др." is "etc.".
_TITLE = re.compile(rf"\b(?:(?i:mr|mrs|ms|miss|mx|dr|prof|д-р|г-н|г-жа|г-ца)\.?\s+(?P<name>{_WORD}(?:\s+{_WORD})?)"
                    rf"|(?:Herr|Frau|Hr\.|Fr\.|Sr\.?|Sra\.?|Srta\.?|[Ss]eñor|[Ss]eñora|Don|Doña|[Дд]октор|[Дд]-р)\s+"
                    rf"(?P<cname>[A-ZÄÖÜÁÉÍÓÚÑА-Я]{_WORD_TAIL}(?:\s+{_WORD})?))")
_SIGN_OFF = re.compile(r"(?:^|[\s,.!])(?:thanks|thank you|thx|regards|best|cheers|cheers|danke|grüße|gruesse|gruß|lg|"
                       r"vg|mfg|gracias|saludos|un saludo|atentamente|поздрави|поздрав|с уважение|мерси|благодаря|"
                       r"благодаря ви|благодаря предварително)\s*[,!.]?\s*[-–—]?\s*"
                       rf"(?P<name>{_WORD}(?:\s+{_WORD})?)\s*[.!]?\s*$", _I)
_DASH_SIGNATURE = re.compile(rf"(?:^|\s)[-–—~]\s*(?P<name>{_WORD}(?:\s+{_WORD})?)\s*$")


def _is_name_word(word: str, require_capital: bool) -> bool:
    low = word.lower().strip("'’")
    if low in _NOT_NAMES or low in _EPONYMS or PLACEHOLDER.fullmatch(word):
        return False
    if low in _FIRST_NAMES or low in _SURNAMES:
        return True
    return (not require_capital) or word[:1].isupper()


def _name_span(text: str, start: int, require_capital: bool, max_words: int = 3,
               lowercase_rest: bool = False) -> Tuple[int, int]:
    """The name that starts at ``start``: up to three name-like words."""
    end = start
    position = start
    for count, match in enumerate(re.finditer(rf"\s*({_WORD})", text[start:])):
        if match.start() != position - start or count >= max_words:
            break
        word = match.group(1)
        if not _is_name_word(word, require_capital or count > 0):
            break
        # After the first word only capitalised or known names continue the name.
        if count > 0 and not lowercase_rest and not (word[:1].isupper() or word.lower() in _SURNAMES or word.lower() in _FIRST_NAMES):
            break
        end = start + match.end(1)
        position = start + match.end()
    return start, end


class _Redactor:
    def __init__(self, text: str) -> None:
        self.text = text

    def sub(self, pattern: re.Pattern, kind: str, group: Union[str, int] = 0,
            when: Optional[Callable[[re.Match], bool]] = None) -> None:
        """Replaces ``group`` of each match (the whole match when the group is absent) for which ``when`` holds."""
        def repl(match: re.Match) -> str:
            if when is not None and not when(match):
                return match.group(0)
            start, end = match.span(group)
            if start < 0:
                start, end = match.span()
            offset, whole = match.start(), match.group(0)
            return whole[: start - offset] + f"<{kind}>" + whole[end - offset:]
        self.text = pattern.sub(repl, self.text)

    def names(self, finder: Callable[[str], List[Tuple[int, int]]]) -> None:
        spans = sorted(finder(self.text), reverse=True)
        for start, end in spans:
            if end > start:
                self.text = self.text[:start] + f"<{NAME}>" + self.text[end:]


def _cued_names(text: str) -> List[Tuple[int, int]]:
    spans = [_name_span(text, cue.end(), require_capital=False, max_words=2, lowercase_rest=True)
             for cue in _STRONG_NAME_CUE.finditer(text)]
    for cue in _WEAK_NAME_CUE.finditer(text):
        start, end = _name_span(text, cue.end(), require_capital=False, max_words=3)
        if end > start:
            first = text[start:end].split()[0]
            if first[:1].isupper() or first.lower() in _FIRST_NAMES:
                spans.append((start, end))
    for cue in _CAPITAL_CUE.finditer(text):
        spans.append(_name_span(text, cue.end(), require_capital=True, max_words=3))
    for pattern in (_TITLE, _SIGN_OFF, _DASH_SIGNATURE):
        for match in pattern.finditer(text):
            group = "name" if match.groupdict().get("name") else "cname"
            start = match.start(group)
            first = match.group(group).split()[0]
            if pattern is not _TITLE and not _is_name_word(first, require_capital=True):
                continue
            if first.lower() in _NOT_NAMES or first.lower() in _EPONYMS:
                continue
            s, e = _name_span(text, start, require_capital=pattern is not _TITLE, max_words=2)
            spans.append((s, e))
    return _merge(spans)


def _known_names(text: str) -> List[Tuple[int, int]]:
    """First names from the list anywhere, with a following surname."""
    spans = []
    for match in re.finditer(_WORD, text):
        word = match.group(0)
        low = word.lower()
        if low in _FIRST_NAMES and low not in _NOT_NAMES and _plausible_name_use(text, match, word):
            spans.append(_name_span(text, match.start(), require_capital=False, max_words=3))
        elif word[:1].isupper() and low in _SURNAMES and match.start() > 0:
            spans.append((match.start(), match.end()))
    return _merge(spans)


# First names that are also everyday words: replaced only when capitalised mid-sentence.
_AMBIGUOUS_FIRST_NAMES = {"mark", "will", "grace", "rose", "joy", "hope", "faith", "may", "june", "april",
                          "bill", "pat", "sue", "ray", "frank", "dean", "art", "jan", "don", "mario", "rosa",
                          "paul", "angel", "jesus", "jesús", "dolores", "mercedes", "pilar", "rocio", "rocío",
                          "victoria", "ruth", "alba", "gloria", "amber", "carol", "ines", "inés", "lena",
                          "ana", "sara", "mia", "elena", "irene", "paula", "marta", "lang", "jung", "young", "king",
                          "long", "brown", "white", "green", "hill", "hall", "wolf", "vogel", "lange", "klein",
                          # Bulgarian names that are also words: hope, faith, merry, rose, willow, bright, flame,
                          # ruddy, angel, foam; and "ели" (firs), "поли" (skirts), "мари" ("hey you")
                          "надежда", "вяра", "весела", "роза", "ива", "светла", "калина", "пламен", "румен", "ангел",
                          "пенка", "ели", "поли", "мари"}


def _plausible_name_use(text: str, match: re.Match, word: str) -> bool:
    if word.lower() not in _AMBIGUOUS_FIRST_NAMES:
        return True
    return word[:1].isupper() and match.start() > 0 and text[:match.start()].rstrip()[-1:] not in ".!?"


def _merge(spans: List[Tuple[int, int]]) -> List[Tuple[int, int]]:
    merged: List[Tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def deidentify(text: str) -> str:
    """The message with every identifier replaced by a typed placeholder."""
    r = _Redactor(text or "")
    r.sub(_URL, URL)
    r.sub(_EMAIL, EMAIL)
    r.sub(_DOB_DIGITS, DATE, 3)
    r.sub(_SSN, ID)
    r.sub(_TEN_DIGITS, ID, when=_is_egn)
    for kind, pattern in _CUED_ID:
        r.sub(pattern, kind, "value")
    r.sub(_DATE, DATE)
    r.sub(_ADDRESS, ADDRESS)
    r.sub(_ADDRESS_BG, ADDRESS)
    r.sub(_AGE, AGE)
    r.sub(_PHONE, PHONE)
    r.sub(_LONG_NUMBER, ID)
    r.names(_cued_names)
    r.names(_known_names)
    return re.sub(r"(<(" + "|".join(TYPES) + r")>)(\s*\1)+", r"\1", r.text)
