"""The key store: envelope encryption, key ids, rotation, loud failures."""
import base64
import json
import os

import pytest

from triage.keys import DecryptionError, KeyStore, KeyStoreError, new_key_material


@pytest.fixture
def store(tmp_path):
    return KeyStore.create_file(tmp_path / "keys" / "master.json")


def test_round_trip_and_key_id(store):
    sealed = store.seal("my metformin ran out", aad="case:1")
    assert sealed.key_id == store.active and sealed.token.split(".")[1] == store.active
    assert "metformin" not in sealed.token
    assert store.open(sealed.token, aad="case:1") == "my metformin ran out"


def test_every_record_gets_a_fresh_data_key(store):
    a, b = store.seal("same text"), store.seal("same text")
    assert a.token != b.token
    assert a.token.split(".")[2] != b.token.split(".")[2]


def test_ciphertext_is_bound_to_its_context(store):
    sealed = store.seal("secret", aad="case:1")
    with pytest.raises(DecryptionError, match="wrong context"):
        store.open(sealed.token, aad="case:2")


def test_tampering_is_detected(store):
    token = store.seal("secret").token
    parts = token.split(".")
    parts[4] = parts[4][:-2] + ("AA" if parts[4][-2:] != "AA" else "BB")
    with pytest.raises(DecryptionError):
        store.open(".".join(parts))
    with pytest.raises(DecryptionError, match="not a sealed record"):
        store.open("plain text")


def test_wrong_master_key_fails_loudly(store, tmp_path):
    token = store.seal("secret").token
    other = KeyStore.create_file(tmp_path / "other.json")
    with pytest.raises(DecryptionError, match="not in the keyring"):
        other.open(token)
    # Same key id, different key material: still refused, never garbage.
    data = json.loads(store.path.read_text())
    data["keys"][store.active] = new_key_material()
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(data))
    with pytest.raises(DecryptionError, match="does not open this record"):
        KeyStore.load_file(forged).open(token)


def test_rotation_adds_a_key_rewraps_and_old_records_still_open(store):
    old = store.seal("before rotation")
    old_kid = store.active
    new_kid = store.add_master_key()
    assert new_kid != old_kid and store.active == new_kid
    reloaded = KeyStore.load_file(store.path)
    assert reloaded.active == new_kid and set(reloaded.key_ids) == {old_kid, new_kid}
    assert reloaded.open(old.token) == "before rotation"
    rewrapped = reloaded.rewrap(old.token)
    assert rewrapped.key_id == new_kid
    assert rewrapped.token.split(".")[4] == old.token.split(".")[4]  # ciphertext untouched
    assert reloaded.open(rewrapped.token) == "before rotation"


def test_pseudonyms_are_stable_keyed_and_survive_rotation(store, tmp_path):
    ref = store.pseudonym("messenger", "1234567890")
    assert ref == store.pseudonym("messenger", "1234567890")
    assert ref != store.pseudonym("x", "1234567890")
    assert "1234567890" not in ref
    store.add_master_key()
    assert KeyStore.load_file(store.path).pseudonym("messenger", "1234567890") == ref
    assert KeyStore.create_file(tmp_path / "b.json").pseudonym("messenger", "1234567890") != ref


def test_keyring_file_is_private(store):
    assert oct(os.stat(store.path).st_mode & 0o777) == "0o600"


def test_missing_key_fails_loudly(tmp_path):
    with pytest.raises(KeyStoreError, match="no master key"):
        KeyStore.from_env({})
    with pytest.raises(KeyStoreError, match="keyring not found"):
        KeyStore.from_env({"TRIAGE_MASTER_KEY_FILE": str(tmp_path / "missing.json")})
    with pytest.raises(KeyStoreError, match="32 bytes"):
        KeyStore.from_env({"TRIAGE_MASTER_KEY": base64.b64encode(b"short").decode()})
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(KeyStoreError, match="not a keyring"):
        KeyStore.load_file(bad)


def test_key_from_environment_variable():
    store = KeyStore.from_env({"TRIAGE_MASTER_KEY": new_key_material()})
    assert store.open(store.seal("x").token) == "x"
    with pytest.raises(KeyStoreError, match="rotation needs a keyring file"):
        store.add_master_key()


def test_create_refuses_to_overwrite(store):
    with pytest.raises(KeyStoreError, match="already exists"):
        KeyStore.create_file(store.path)
