"""The deterministic red-flag layer: every category, in EN, DE and ES."""
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


@pytest.mark.parametrize("text,category", CRISIS)
def test_red_flag_is_found(text, category):
    found = {flag.category for flag in redflags.scan(text)}
    assert category in found, f"{category} not found in {found}"


@pytest.mark.parametrize("text", NOT_CRISIS)
def test_routine_and_plain_sensitive_messages_raise_no_red_flag(text):
    assert redflags.scan(text) == []


def test_every_category_is_covered_by_the_table():
    assert {category for _, category in CRISIS} == set(redflags.CATEGORY_INTENT)


def test_self_harm_outranks_an_emergency():
    flags = redflags.scan("I took an overdose and now I can't breathe")
    assert redflags.crisis_intent(flags) == "crisis_self_harm"
    assert redflags.crisis_intent(redflags.scan("he's not breathing")) == "crisis_medical_emergency"


def test_crisis_at_the_end_of_a_very_long_message_is_found():
    filler = "I have been having a hard time with work and my family and everything. " * 1500
    assert len(filler) > 100_000
    assert [f.category for f in redflags.scan(filler + " I want to end my life")] == ["suicidal_ideation"]
    assert redflags.scan(filler) == []

