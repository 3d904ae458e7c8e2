"""The deterministic red-flag layer: every category, in EN, DE, ES and BG."""
import time

import pytest

from triage import redflags

CRISIS = [
    # (text, category)
    ("I want to kill myself", "suicidal_ideation"),
    ("i dont want to be here anymore", "suicidal_ideation"),
    ("Honestly I'm thinking about suicide", "suicidal_ideation"),
    ("ich will nicht mehr leben", "suicidal_ideation"),
    ("Ich denke an Selbstmord", "suicidal_ideation"),
    ("quiero morirme 😢", "suicidal_ideation"),
    ("my friend just texted that she wants to die", "suicidal_ideation"),
    ("my son says he is going to kill himself", "suicidal_ideation"),
    ("meine Freundin will sich umbringen", "suicidal_ideation"),
    ("mi hermano se quiere matar", "suicidal_ideation"),
    ("pienso en suicidarme", "suicidal_ideation"),
    ("je veux mourir", "suicidal_ideation"),
    ("i've been feeling really low for months and i don't really see the point anymore", "suicidal_ideation"),
    ("honestly whats the point of living", "suicidal_ideation"),
    ("ich sehe einfach keinen Sinn mehr", "suicidal_ideation"),
    ("mein Leben hat keinen Sinn", "suicidal_ideation"),
    ("ya no le veo sentido a nada", "suicidal_ideation"),
    ("mi vida ya no tiene sentido", "suicidal_ideation"),
    ("I've been cutting myself again", "self_harm"),
    ("ich ritze mich", "self_harm"),
    ("hab mich gestern wieder geritzt", "self_harm"),
    ("esta noche me corté bastante", "self_harm"),
    ("me he cortado los brazos otra vez", "self_harm"),
    ("hab mich absichtlich geschnitten", "self_harm"),
    ("my daughter cuts herself", "self_harm"),
    ("me estoy cortando otra vez", "self_harm"),
    ("I took all my sleeping pills", "overdose"),
    ("I took 10 of my sleeping pills about an hour ago", "overdose"),
    ("ich habe 20 tabletten genommen", "overdose"),
    ("just swallowed a whole bottle of tylenol", "overdose"),
    ("Ich habe eine Überdosis genommen", "overdose"),
    ("habe eine ganze packung tabletten geschluckt", "overdose"),
    ("tomé una sobredosis", "overdose"),
    ("me acabo de tomar una caja entera de pastillas", "overdose"),
    ("chest pain and my left arm is numb", "chest_pain"),
    ("crushing pain in my chest and I'm sweating", "chest_pain"),
    ("Brustschmerzen und linker Arm taub", "chest_pain"),
    ("dolor en el pecho y el brazo dormido", "chest_pain"),
    ("I think I'm having a heart attack", "chest_pain"),
    ("my dad isn't breathing", "not_breathing"),
    ("I can't breathe", "not_breathing"),
    ("mein Baby atmet nicht", "not_breathing"),
    ("ich bekomme keine Luft", "not_breathing"),
    ("mi padre no respira", "not_breathing"),
    ("her face is drooping and her speech is slurred", "stroke"),
    ("ich glaube er hat einen Schlaganfall", "stroke"),
    ("creo que tiene un derrame cerebral", "stroke"),
    ("my throat is closing up after peanuts", "anaphylaxis"),
    ("allergischer Schock", "anaphylaxis"),
    ("se me cierra la garganta", "anaphylaxis"),
    ("my son is having a seizure", "seizure"),
    ("sie hat einen Krampfanfall", "seizure"),
    ("mi hija está convulsionando", "seizure"),
    ("she's unconscious", "unconscious"),
    ("er ist bewusstlos", "unconscious"),
    ("está inconsciente", "unconscious"),
    ("the bleeding won't stop", "severe_bleeding"),
    ("es blutet stark", "severe_bleeding"),
    ("sangra mucho", "severe_bleeding"),
]

NOT_CRISIS = [
    "what are your opening hours",
    "Do you offer HIV testing?",
    "I had chest pain yesterday, can I book a check?",  # chest pain alone: private, not crisis
    "my arm hurts after the vaccine",
    "how do I request a refill?",
    "wann habt ihr offen",
    "ich brauche ein Rezept für meine Tabletten",
    "cuál es el horario de visitas",
    "I'm stuck in traffic, late for my appointment",
    "do you have a stroke unit",
    "he took 2 tablets of ibuprofen for his headache",
    "me corté el pelo, ¿cambia la hora de la cita?",
    "i don't see the point of the new booking app, can i just call?",
    "der alte Termin macht keinen Sinn mehr, kann ich verschieben?",
    "no veo sentido a pagar la factura dos veces",
]


# Told by someone else, or already done (past tense): the model missed these.
OVERDOSE_TAKEN_OR_THIRD_PERSON = [
    ("i took like 30 of my antidepressants an hour ago", "overdose"),
    ("I swallowed everything in the medicine cabinet", "overdose"),
    ("she took a whole bottle of her sleeping pills last night", "overdose"),
    ("i've taken way too many painkillers today", "overdose"),
    ("i'm going to take all my pills tonight", "overdose"),
    ("my brother took a bunch of pills and won't wake up", "overdose"),
    ("my brother took a bunch of pills and won't wake up", "unconscious"),
    ("my mum swallowed a load of her meds and is really drowsy", "overdose"),
    ("hab vorhin alle meine Tabletten geschluckt", "overdose"),
    ("ich habe die ganze Packung Paracetamol genommen", "overdose"),
    ("ich habe 30 von meinen Antidepressiva genommen", "overdose"),
    ("er hat alle seine Schlaftabletten geschluckt", "overdose"),
    ("mi hermano se tomó todas sus pastillas y no despierta", "overdose"),
    ("my sister swallowed all of her lithium", "overdose"),
    ("i downed a whole pack of paracetamol", "overdose"),
    ("mein Sohn hat eine ganze Packung Schlaftabletten genommen", "overdose"),
    ("me tomé 20 pastillas de paracetamol", "overdose"),
    ("my wife took all her sleeping tablets and I can't wake her", "unconscious"),
]
EMERGENCY_TOLD_BY_SOMEONE_ELSE = [
    ("my girlfriend cut her wrists and it won't stop bleeding", "self_harm"),
    ("my girlfriend cut her wrists and it won't stop bleeding", "severe_bleeding"),
    ("he slit his wrists, there's so much blood", "severe_bleeding"),
    ("er hat sich die Pulsadern aufgeschnitten", "self_harm"),
    ("mi novia se cortó las venas y sangra mucho", "self_harm"),
    ("my dad is clutching his chest and sweating", "chest_pain"),
    ("my dad has chest pain and his arm is numb", "chest_pain"),
    ("her chest hurts and she's sweating and grey", "chest_pain"),
    ("my mum has a crushing pain in her chest and her jaw aches", "chest_pain"),
    ("mein Vater fasst sich an die Brust und schwitzt", "chest_pain"),
    ("mi padre se agarra el pecho y está sudando", "chest_pain"),
    ("a mi madre le duele el pecho y le duele el brazo izquierdo", "chest_pain"),
    ("my husband's face is drooping and he can't talk properly", "stroke"),
    ("my mum suddenly can't speak and one side of her face is drooping", "stroke"),
    ("dad's speech is slurred all of a sudden", "stroke"),
    ("mi madre tiene la cara torcida y no puede hablar", "stroke"),
    ("a mi abuelo se le cae la boca y arrastra las palabras", "stroke"),
    ("my son has been jerking for 5 minutes and won't respond", "seizure"),
    ("my son has been shaking for 5 minutes and won't respond", "seizure"),
    ("my son has been shaking for 5 minutes and won't respond", "unconscious"),
    ("my daughter's whole body is shaking and her eyes rolled back", "seizure"),
    ("mi hijo lleva cinco minutos convulsionando", "seizure"),
    ("mi hija está temblando y no responde", "seizure"),
    ("my dad collapsed clutching his chest", "chest_pain"),
    ("he says his chest feels tight and his left arm is tingling", "chest_pain"),
    ("meine Mutter hat Druck auf der Brust und der linke Arm ist taub", "chest_pain"),
    ("my wife's face looks droopy on one side and her arm is weak", "stroke"),
    ("mein Mann spricht plötzlich verwaschen", "stroke"),
    ("mi padre de repente no puede hablar", "stroke"),
    ("my husband is not responding", "unconscious"),
    ("mi abuela no reacciona", "unconscious"),
    ("she's bleeding really badly from her arm", "severe_bleeding"),
]
# Plans and idioms that never say "suicide", "kill" or "die".
IDIOMS = [
    ("ich springe heute vom Dach", "suicidal_ideation"),
    ("ich stehe auf der Brücke", "suicidal_ideation"),
    ("ich will vom Balkon springen", "suicidal_ideation"),
    ("ich werfe mich vor den zug", "suicidal_ideation"),
    ("me voy a tirar por la ventana", "suicidal_ideation"),
    ("estoy en la azotea y voy a saltar", "suicidal_ideation"),
    ("quiero tirarme de la azotea", "suicidal_ideation"),
    ("i'm on the bridge and i'm going to jump", "suicidal_ideation"),
    ("i'm sitting on the railway tracks", "suicidal_ideation"),
    ("ich tu mir heute nacht was an", "self_harm"),
    ("ich werde mir etwas antun", "self_harm"),
    ("ich habe Angst, dass ich mir was antue", "self_harm"),
    ("ich mach heute schluss", "suicidal_ideation"),
    ("ich will mit allem Schluss machen", "suicidal_ideation"),
    ("ich will einfach nicht mehr aufwachen", "suicidal_ideation"),
    ("ich hoffe ich wache morgen nicht mehr auf", "suicidal_ideation"),
    ("me voy a hacer daño", "self_harm"),
    ("tengo miedo de hacerme algo", "self_harm"),
    ("voy a hacer una locura", "suicidal_ideation"),
    ("no quiero despertar mañana", "suicidal_ideation"),
    ("ojalá no despertar mañana", "suicidal_ideation"),
    ("me quiero ir para siempre", "suicidal_ideation"),
    ("me voy a quitar de en medio", "suicidal_ideation"),
    ("i'm standing on the ledge", "suicidal_ideation"),
    ("me tiro del puente", "suicidal_ideation"),
    ("ich werde mich vom Hochhaus stürzen", "suicidal_ideation"),
    ("ich will nicht mehr", "suicidal_ideation"),
    ("ich könnte mir etwas antun", "self_harm"),
]
SLANG_AND_GOODBYES = [
    ("i'm going to unalive myself", "suicidal_ideation"),
    ("kms", "suicidal_ideation"),
    ("i just wanna kms", "suicidal_ideation"),
    ("thinking about sewerslide", "suicidal_ideation"),
    ("i'm going to end it tonight", "suicidal_ideation"),
    ("i won't be here tomorrow", "suicidal_ideation"),
    ("gonna catch the bus tonight, this is my goodbye", "suicidal_ideation"),
    ("i wrote my note", "suicidal_ideation"),
    ("i've made my plan", "suicidal_ideation"),
    ("i bought a rope", "suicidal_ideation"),
    ("ich habe meinen Abschiedsbrief geschrieben", "suicidal_ideation"),
    ("ya escribí mi carta de despedida", "suicidal_ideation"),
    ("tonight i'm ending it all", "suicidal_ideation"),
    ("i have a noose ready", "suicidal_ideation"),
]
BULGARIAN = [
    ("искам да умра", "suicidal_ideation"),
    ("ще се самоубия", "suicidal_ideation"),
    ("мисля за самоубийство", "suicidal_ideation"),
    ("не искам да живея повече", "suicidal_ideation"),
    ("ще сложа край на живота си", "suicidal_ideation"),
    ("ще скоча от моста", "suicidal_ideation"),
    ("утре ще скоча от терасата", "suicidal_ideation"),
    ("няма смисъл да живея", "suicidal_ideation"),
    ("iskam da umra", "suicidal_ideation"),
    ("shte se samoubiya", "suicidal_ideation"),
    ("режа се", "self_harm"),
    ("нарязах се снощи", "self_harm"),
    ("ще си направя нещо", "self_harm"),
    ("наранявам се нарочно", "self_harm"),
    ("дъщеря ми се реже", "self_harm"),
    ("тя си наряза ръцете", "self_harm"),
    ("синът ми изпи всичките си хапчета", "overdose"),
    ("тате глътна 30 таблетки", "overdose"),
    ("болят ме гърдите и ме боли лявата ръка", "chest_pain"),
    ("мъжът ми има болка в гърдите и се изпоти", "chest_pain"),
    ("устата му се изкриви", "stroke"),
    ("гърлото ми се затваря", "anaphylaxis"),
    ("изпих всички хапчета", "overdose"),
    ("глътнах цяла кутия приспивателни", "overdose"),
    ("мисля, че е свръхдоза", "overdose"),
    ("имам болка в гърдите и ми изтръпна ръката", "chest_pain"),
    ("баща ми има болки в гърдите и студена пот", "chest_pain"),
    ("детето не може да диша", "not_breathing"),
    ("баща ми не диша", "not_breathing"),
    ("бебето посиня", "not_breathing"),
    ("майка ми посиня", "not_breathing"),
    ("мисля, че майка ми получава инсулт", "stroke"),
    ("лицето ѝ увисна", "stroke"),
    ("дядо говори завалено изведнъж", "stroke"),
    # Bulgarian typed in Latin letters
    ("baba ne moje da govori, litseto i uvisna", "stroke"),
    ("tate govori zavaleno i ustata mu e izkrivena", "stroke"),
    ("анафилактичен шок след ужилване", "anaphylaxis"),
    ("подува се гърлото ми", "anaphylaxis"),
    ("синът ми има гърч", "seizure"),
    ("гърчи се на пода", "seizure"),
    ("има епилептичен припадък", "seizure"),
    ("баща ми е в безсъзнание", "unconscious"),
    ("не реагира, когато го викам", "unconscious"),
    ("мама не се събужда", "unconscious"),
    ("кърви много от главата", "severe_bleeding"),
    ("не спира да кърви", "severe_bleeding"),
    ("силно кървене след раждането", "severe_bleeding"),
]
# Hopelessness, burden, feeling unsafe, means put aside; and more emergencies told by others.
MORE_PHRASINGS = [
    ("i'm so tired of living", 'suicidal_ideation'),
    ('nobody would even notice if i was gone', 'suicidal_ideation'),
    ("i don't feel safe with myself tonight", 'suicidal_ideation'),
    ("i can't keep myself safe anymore", 'suicidal_ideation'),
    ('i just want to fall asleep and never wake up', 'suicidal_ideation'),
    ("i've been saving up my sleeping pills", 'suicidal_ideation'),
    ("i've had enough of life", 'suicidal_ideation'),
    ("i'm going to off myself", 'suicidal_ideation'),
    ('ctb tonight', 'suicidal_ideation'),
    ('er bringt sich um', 'suicidal_ideation'),
    ('heute abend mache ich schluss', 'suicidal_ideation'),
    ('ich bin so müde vom Leben', 'suicidal_ideation'),
    ('alles hat keinen Sinn mehr', 'suicidal_ideation'),
    ('meine Schwester hat geschrieben, dass sie sterben will', 'suicidal_ideation'),
    ('ich wäre lieber tot', 'suicidal_ideation'),
    ('ich habe einen Strick gekauft', 'suicidal_ideation'),
    ('ich nehme jetzt alles aus dem Medizinschrank', 'suicidal_ideation'),
    ('mi hermano se quiere suicidar', 'suicidal_ideation'),
    ('me quiero matar', 'suicidal_ideation'),
    ('hoy me quito la vida', 'suicidal_ideation'),
    ('todos estarían mejor sin mí', 'suicidal_ideation'),
    ('estoy harta de vivir', 'suicidal_ideation'),
    ('esta noche acabo con todo', 'suicidal_ideation'),
    ('estoy sentada en las vías', 'suicidal_ideation'),
    ('писна ми да живея', 'suicidal_ideation'),
    ('по-добре да ме няма', 'suicidal_ideation'),
    ('качих се на покрива', 'suicidal_ideation'),
    ('написах прощално писмо на мама', 'suicidal_ideation'),
    ('купих си въже', 'suicidal_ideation'),
    ('i burned myself again last night', 'self_harm'),
    ('she cut her arms really deep', 'self_harm'),
    ('me quemé a propósito', 'self_harm'),
    ('днес се нарязах', 'self_harm'),
    ('i took the whole bottle', 'overdose'),
    ('изгълтах всички хапчета', 'overdose'),
    ('izpih vsichkite hapcheta', 'overdose'),
    ('me voy a tomar todas las pastillas', 'overdose'),
    ('mein Sohn hat Putzmittel getrunken', 'overdose'),
    ('mi hijo se ha bebido lejía', 'overdose'),
    ('мисля да ги изпия всичките', 'overdose'),
    ("there's a weight pressing on his chest and he's grey", 'chest_pain'),
    ('my dad grabbed his chest and fell', 'chest_pain'),
    ('mein Opa sagt, es drückt auf der Brust und ihm ist übel', 'chest_pain'),
    ('a mi padre le aprieta el pecho y está pálido', 'chest_pain'),
    ('болка в гърдите, която стига до лявата ръка', 'chest_pain'),
    ('her lips went blue', 'not_breathing'),
    ("he's struggling for air", 'not_breathing'),
    ('mein Kind kriegt nach dem Essen keine Luft mehr', 'not_breathing'),
    ('el bebé se está poniendo morado', 'not_breathing'),
    ('задушавам се', 'not_breathing'),
    ('dads mouth has dropped on one side', 'stroke'),
    ('her speech went slurry', 'stroke'),
    ('das Gesicht von meinem Vater hängt plötzlich', 'stroke'),
    ('a mi madre se le ha torcido la boca', 'stroke'),
    ('мама не може да движи ръката си', 'stroke'),
    ('my son ate a peanut and his lips are swelling', 'anaphylaxis'),
    ("he's having a severe allergic reaction", 'anaphylaxis'),
    ('a mi hijo se le está hinchando la garganta', 'anaphylaxis'),
    ('deteto se gurchi', 'seizure'),
    ("my grandad went limp and isn't coming round", 'unconscious'),
    ('mi padre no reacciona y no consigo despertarlo', 'unconscious'),
    ('er kippt immer wieder weg', 'unconscious'),
    ('майка ми е в bezsaznanie', 'unconscious'),
    ('blood is soaking through the bandage', 'severe_bleeding'),
    ('my husband is vomiting blood', 'severe_bleeding'),
    ('está sangrando muchísimo', 'severe_bleeding'),
    ('кръвта шурти', 'severe_bleeding'),
    ('karvi mnogo', 'severe_bleeding'),
    ('mi hijo está convulsionando ahora mismo', 'seizure'),
    ('my son had a seizure 5 minutes ago and is still drowsy', 'seizure'),
    ('my dad is having a heart attack, should I book an ambulance?', 'chest_pain'),
    ('ich glaube, mein Vater hat gerade einen Herzinfarkt', 'chest_pain'),
    ('Mein Mann hat einen Herzinfarkt, er kann nicht zum Termin kommen', 'chest_pain'),
    ('mi madre tiene un infarto, tengo que cancelar la cita', 'chest_pain'),
    ('estoy en el puente, díganle a la clínica que lo siento', 'suicidal_ideation'),
    ("i won't be here tomorrow. tell the doctor thank you for everything", 'suicidal_ideation'),
    ('my coworker grabbed his chest and fell down', 'chest_pain'),
    ('мъжът ми се хвана за гърдите и падна', 'chest_pain'),
]
ALL_CRISIS = (CRISIS + OVERDOSE_TAKEN_OR_THIRD_PERSON + EMERGENCY_TOLD_BY_SOMEONE_ELSE + IDIOMS + SLANG_AND_GOODBYES
              + BULGARIAN + MORE_PHRASINGS)

# Routine questions that share words with a crisis; each once fired or nearly did.
NOT_CRISIS += [
    "do you have a stroke unit?",
    "ist die Schlaganfall-Station am Wochenende offen?",
    "¿tienen unidad de ictus?",
    "имате ли отделение за инсулт?",
    "I cut my finger cooking",
    "my dad had a heart check-up last year",
    "I need to book a seizure medication review",
    "necesito receta del medicamento para las convulsiones",
    "thanks for fitting me in",
    "can i jump the queue",
    "ich springe kurz rein für den termin",
    "режа си косата",
    "killing time before my appointment",
    "this traffic is killing me",
    "should i take all my pills before the blood test?",
    "I took the bus and all the staff were nice, can i get my pills refilled?",
    "he took 10 mg of melatonin, is that ok?",
    "взех 2 хапчета аналгин",
    "the clinic is about 5 kms from my house",
    "which bus do i catch to get to the clinic?",
    "I won't be here tomorrow, can I move my appointment?",
    "dr smith won't be here tomorrow?",
    "I wrote a note for the school, can the doctor sign it?",
    "I've made a plan for my diet, can we discuss it?",
    "the app is not responding",
    "your website isn't responding",
    "the doctor won't respond to my emails",
    "die App reagiert nicht mehr",
    "сайтът не реагира",
    "ich mache für heute Schluss, danke",
    "ich mache Schluss mit meinem Freund",
    "do you take lots of blood for the test?",
    "¿sacan mucha sangre en el análisis?",
    "voy a hacerme algo de comer antes de la cita",
    "ще си направя нещо за ядене преди часа",
    "коляното ми посиня след удара",
    "трябва ми рецепта за хапчетата",
    "ich will nicht mehr warten, wann ist mein Termin?",
    "как се реже този хап?",
    "I took all of her advice and booked a check-up",
    "my mom can't wake up early, can we book the afternoon?",
    "can i take lithium and ibuprofen together?",
    "i'm standing on the platform, is the clinic close to the station?",
    "i'm on the bridge, which exit for the clinic?",
    'voy a tomar todas las pastillas del tratamiento',
    "I'll take all my meds tomorrow as prescribed",
    'ich werde alle Tabletten wie verordnet nehmen',
    'трябва да изпия всички хапчета от курса',
    'my son cut his legs badly on broken glass, can we come in?',
    # History, a follow-up or the way to the clinic: the bare words do not make a crisis.
    'this is my last appointment before the move, goodbye everyone at reception',
    'do you see kids with seizures?',
    'my son had a seizure last year, can we book a follow-up?',
    "i can't breathe through my nose since the cold, can i book?",
    'mein Vater hatte letztes Jahr einen Herzinfarkt, ich brauche einen Kontrolltermin',
    'mi hijo tiene convulsiones febriles, ¿puedo pedir cita con el neurólogo?',
    'estoy en el puente de la calle mayor, ¿dónde está la clínica?',
    'стоя на моста, къде е входът на клиниката?',
    'i have chest pain since i fell off my bike',
    'паднах и ме боли в гърдите',
    "i'm tired of waiting, when is my appointment?",
    'sie ist oft ohnmächtig, ich brauche einen Termin',
    'my arm goes limp sometimes, should i see someone?',
    'mi madre se desmaya a veces, quiero pedir cita',
    "my husband isn't answering me about the insurance papers",
    'can i end things with my old doctor and switch?',
    'i need to end my contract with the clinic',
    "the queue isn't moving at all",
    'my ears are ringing, nobody can hear me',
    'ich stricke gern, habt ihr ein Wartezimmer?',
    'se mata a trabajar y necesita una cita',
    'ich bin müde und brauche eine Krankmeldung',
    'nada tiene sentido en esta factura',
    'ще сложа край на абонамента',
    "i'm tired of this app",
    'es blutet ein bisschen nach der Blutabnahme',
    'my face looks red after the cream',
]


@pytest.mark.parametrize("text,category", ALL_CRISIS)
def test_red_flag_is_found(text, category):
    found = {flag.category for flag in redflags.scan(text)}
    assert category in found, f"{category} not found in {found}"


@pytest.mark.parametrize("text", NOT_CRISIS)
def test_routine_and_plain_sensitive_messages_raise_no_red_flag(text):
    assert redflags.scan(text) == []


def test_every_category_is_covered_by_the_table():
    assert {category for _, category in CRISIS} == set(redflags.CATEGORY_INTENT)


def test_every_category_is_covered_in_bulgarian():
    assert {category for _, category in BULGARIAN} == set(redflags.CATEGORY_INTENT)


def test_patterns_are_written_in_folded_form():
    """fold() turns "й" into "и" and drops accents and capitals: a pattern with
    one of them could never match."""
    matchers = [matcher for _, matcher in redflags._SIMPLE] + [redflags._CHEST_PAIN, redflags._RADIATION]
    for pattern in (p.pattern for matcher in matchers for p in matcher.every):
        unfoldable = {ch for ch in pattern if ch.isalpha() and not ("a" <= ch <= "z" or "а" <= ch <= "я") or ch == "й"}
        assert not unfoldable, (unfoldable, pattern)


def test_self_harm_outranks_an_emergency():
    flags = redflags.scan("I took an overdose and now I can't breathe")
    assert redflags.crisis_intent(flags) == "crisis_self_harm"
    assert redflags.crisis_intent(redflags.scan("he's not breathing")) == "crisis_medical_emergency"


def test_crisis_at_the_end_of_a_very_long_message_is_found():
    filler = "I have been having a hard time with work and my family and everything. " * 1500
    assert len(filler) > 100_000
    assert [f.category for f in redflags.scan(filler + " I want to end my life")] == ["suicidal_ideation"]
    assert redflags.scan(filler) == []



@pytest.mark.parametrize("filler", [
    "I have been having a hard time with work and my family and everything. ",
    "i took all of my ",  # once 1.6 s: nested .* gaps retried from every "took"
    "chest pain and my arm ",
    "alle zu viele tabletten ",
    "he is not and she wont ",
    "искам да не ще се ",
])
def test_scanning_a_long_message_stays_fast(filler):
    text = (filler * 2000)[:20_000]
    best = min(_cpu_seconds(redflags.scan, text) for _ in range(3))
    assert best < 0.05, f"{best * 1000:.0f} ms"


def _cpu_seconds(function, argument):
    # CPU time of this process, so that other processes on a busy machine do not count.
    start = time.process_time()
    function(argument)
    return time.process_time() - start
