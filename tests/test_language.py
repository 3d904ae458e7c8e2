import pytest

from triage.language import detect

CASES = [
    ("when r u open tmrw", "en"), ("where do I park", "en"), ("thx", "en"),
    ("wann habt ihr offen", "de"), ("Öffnungszeiten?", "de"), ("danke!!", "de"),
    ("kann ich meinen termin verschieben", "de"), ("Hi, ich brauche einen Termin", "de"),
    ("cuando abren", "es"), ("hola", "es"), ("necesito cambiar mi cita pls", "es"),
    ("tengo fiebre desde ayer", "es"),
    ("bonjour, je voudrais un rendez-vous", "other"), ("Ciao, vorrei un appuntamento", "other"),
    ("Olá, quero marcar uma consulta", "other"), ("привет", "other"), ("你好，我想预约", "other"),
]


@pytest.mark.parametrize("text,language", CASES)
def test_detect(text, language):
    assert detect(text) == language


def test_hint_breaks_ties_for_words_every_language_uses():
    assert detect("ok", hint="de") == "de"
    assert detect("👍", hint="es") == "es"
    assert detect("👍") == "en"
    assert detect("👍", default="de") == "de"
