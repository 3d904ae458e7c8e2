import pytest

from triage.language import detect

CASES = [
    ("when r u open tmrw", "en"), ("where do I park", "en"), ("thx", "en"),
    ("appt tmrw?", "en"), ("can i get a refill", "en"),
    ("wann habt ihr offen", "de"), ("Öffnungszeiten?", "de"), ("danke!!", "de"),
    ("kann ich meinen termin verschieben", "de"), ("Hi, ich brauche einen Termin", "de"),
    ("cuando abren", "es"), ("hola", "es"), ("necesito cambiar mi cita pls", "es"),
    ("tengo fiebre desde ayer", "es"),
    ("здравейте, кога отваряте?", "bg"), ("искам да си запиша час при лекар", "bg"),
    ("гърдите ме болят от сутринта", "bg"), ("Здрасти", "bg"),
    # Bulgarian typed in Latin letters, as many write online
    ("zdravei, koga otvaryate?", "bg"), ("iskam da si zapisha chas", "bg"),
    ("bonjour, je voudrais un rendez-vous", "other"), ("Ciao, vorrei un appuntamento", "other"),
    ("Olá, quero marcar uma consulta amanhã", "other"), ("你好，我想预约", "other"),
    # Russian is not Bulgarian, though both are Cyrillic
    ("привет как дела, я хочу записаться к врачу", "other"),
]


@pytest.mark.parametrize("text,language", CASES)
def test_detect(text, language):
    assert detect(text) == language


def test_hint_decides_one_word_messages():
    assert detect("ok", hint="de") == "de"
    assert detect("ok", hint="bg") == "bg"
    assert detect("👍", hint="es") == "es"
    assert detect("👍") == "en"
    assert detect("👍", default="de") == "de"
    assert detect("hallo", hint="de") == "de"


def test_a_word_of_one_language_only_overrides_the_hint():
    assert detect("danke", hint="en") == "de"
    assert detect("gracias", hint="de") == "es"
