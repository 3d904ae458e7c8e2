"""The one key store: envelope encryption for everything encrypted at rest.

Every record gets a fresh 256-bit data key (DEK). The record is sealed with
AES-256-GCM under the DEK; the DEK is wrapped with AES-256-GCM under the active
master key. The sealed token names the master key id, so a rotation re-wraps
DEKs (small) without touching record ciphertext (large).

Token format (ASCII, one column):  v1.<key id>.<wrapped DEK>.<nonce>.<ciphertext>
(base64url without padding; the wrapped DEK carries its own nonce).

Master keys come from a keyring file (TRIAGE_MASTER_KEY_FILE) or one key in
TRIAGE_MASTER_KEY (base64 of 32 bytes). Never from a database or the repo.
A missing or wrong key raises; nothing ever falls back to plaintext.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Union

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

logger = logging.getLogger(__name__)

VERSION = "v1"
ENV_FILE = "TRIAGE_MASTER_KEY_FILE"
ENV_KEY = "TRIAGE_MASTER_KEY"


class KeyStoreError(RuntimeError):
    """No usable master key, or a keyring that cannot be read or written."""


class DecryptionError(RuntimeError):
    """A record cannot be decrypted: unknown key id, wrong key, or tampered data."""


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _decode_key(value: str, where: str) -> bytes:
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (ValueError, TypeError) as exc:
        raise KeyStoreError(f"{where}: not valid base64") from exc
    if len(key) != 32:
        raise KeyStoreError(f"{where}: a master key must be 32 bytes (base64 of 32 random bytes), got {len(key)}")
    return key


def new_key_material() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


KEY_ID_LENGTH = 13  # "k" and 12 hex digits


def _key_id(key: bytes) -> str:
    return "k" + hashlib.sha256(b"triage-key-id" + key).hexdigest()[:KEY_ID_LENGTH - 1]


@dataclass(frozen=True)
class Sealed:
    key_id: str
    token: str


class KeyStore:
    """Holds master keys in memory; seals and opens records."""

    def __init__(self, keys: Dict[str, bytes], active: str, pseudonym_key: bytes,
                 path: Optional[Path] = None) -> None:
        if active not in keys:
            raise KeyStoreError(f"active key {active} is not in the keyring")
        self._keys = dict(keys)
        self.active = active
        self._pseudonym_key = pseudonym_key
        self.path = path

    # -- loading -------------------------------------------------------------

    @classmethod
    def from_env(cls, environ: Optional[Dict[str, str]] = None) -> "KeyStore":
        environ = os.environ if environ is None else environ
        path = environ.get(ENV_FILE)
        if path:
            return cls.load_file(Path(path))
        value = environ.get(ENV_KEY)
        if value:
            key = _decode_key(value, ENV_KEY)
            # One key from the environment: the pseudonym key is derived from it,
            # so sender references stay stable for as long as that key is used.
            pseudonym = hmac.new(key, b"triage-pseudonym-key", hashlib.sha256).digest()
            return cls({_key_id(key): key}, _key_id(key), pseudonym)
        raise KeyStoreError(
            f"no master key: set {ENV_FILE} to a keyring file or {ENV_KEY} to a base64 key "
            "(`make run` creates a development keyring under var/keys/ if neither is set)"
        )

    @classmethod
    def load_file(cls, path: Path) -> "KeyStore":
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise KeyStoreError(f"{ENV_FILE}: keyring not found: {path}") from exc
        except OSError as exc:
            raise KeyStoreError(f"{ENV_FILE}: cannot read keyring {path}: {exc.strerror}") from exc
        try:
            data = json.loads(raw)
            keys = {kid: _decode_key(value, f"{path}: key {kid}") for kid, value in data["keys"].items()}
            pseudonym = _decode_key(data["pseudonym_key"], f"{path}: pseudonym_key")
            active = data["active"]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyStoreError(f"{path}: not a keyring (expected active, keys, pseudonym_key)") from exc
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            logger.warning("keyring %s is readable by group or others; chmod 600 it", path)
        return cls(keys, active, pseudonym, path)

    @staticmethod
    def create_file(path: Path) -> "KeyStore":
        """A new keyring with one master key. Refuses to overwrite."""
        if path.exists():
            raise KeyStoreError(f"keyring already exists: {path}")
        key = _decode_key(new_key_material(), "new key")
        store = KeyStore({_key_id(key): key}, _key_id(key), secrets.token_bytes(32), path)
        store._save()
        return store

    def _save(self) -> None:
        if self.path is None:
            raise KeyStoreError(f"this key store comes from {ENV_KEY}; rotation needs a keyring file ({ENV_FILE})")
        data = {
            "active": self.active,
            "keys": {kid: base64.b64encode(key).decode("ascii") for kid, key in self._keys.items()},
            "pseudonym_key": base64.b64encode(self._pseudonym_key).decode("ascii"),
            "updated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
        os.replace(tmp, self.path)  # atomic: a crash never leaves half a keyring

    # -- keys ----------------------------------------------------------------

    @property
    def key_ids(self):
        return sorted(self._keys)

    def add_master_key(self) -> str:
        """Adds a new master key, makes it active, saves the keyring. Old keys stay
        so that existing records still open until they are re-wrapped."""
        key = _decode_key(new_key_material(), "new key")
        kid = _key_id(key)
        self._keys[kid] = key
        self.active = kid
        self._save()
        return kid

    def _master(self, kid: str) -> AESGCM:
        key = self._keys.get(kid)
        if key is None:
            raise DecryptionError(f"record was sealed with master key {kid}, which is not in the keyring")
        return AESGCM(key)

    # -- sealing -------------------------------------------------------------

    def seal(self, plaintext: Union[str, bytes], aad: str = "") -> Sealed:
        data = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
        dek = AESGCM.generate_key(bit_length=256)
        nonce = secrets.token_bytes(12)
        ciphertext = AESGCM(dek).encrypt(nonce, data, aad.encode("utf-8"))
        wrap_nonce = secrets.token_bytes(12)
        wrapped = wrap_nonce + self._master(self.active).encrypt(wrap_nonce, dek, self.active.encode("ascii"))
        token = ".".join((VERSION, self.active, _b64e(wrapped), _b64e(nonce), _b64e(ciphertext)))
        return Sealed(self.active, token)

    def _parts(self, token: str):
        parts = (token or "").split(".")
        if len(parts) != 5 or parts[0] != VERSION:
            raise DecryptionError("not a sealed record")
        return parts

    def _unwrap(self, kid: str, wrapped_b64: str) -> bytes:
        wrapped = _b64d(wrapped_b64)
        try:
            return self._master(kid).decrypt(wrapped[:12], wrapped[12:], kid.encode("ascii"))
        except InvalidTag:
            raise DecryptionError(f"master key {kid} does not open this record (wrong key or tampered data)") from None

    def open_bytes(self, token: str, aad: str = "") -> bytes:
        _, kid, wrapped, nonce, ciphertext = self._parts(token)
        dek = self._unwrap(kid, wrapped)
        try:
            return AESGCM(dek).decrypt(_b64d(nonce), _b64d(ciphertext), aad.encode("utf-8"))
        except InvalidTag:
            raise DecryptionError("record does not decrypt: tampered, or opened in the wrong context") from None

    def open(self, token: str, aad: str = "") -> str:
        return self.open_bytes(token, aad).decode("utf-8")

    def rewrap(self, token: str) -> Sealed:
        """The same record under the active master key; the ciphertext is unchanged."""
        _, kid, wrapped, nonce, ciphertext = self._parts(token)
        if kid == self.active:
            return Sealed(kid, token)
        dek = self._unwrap(kid, wrapped)
        wrap_nonce = secrets.token_bytes(12)
        new_wrapped = wrap_nonce + self._master(self.active).encrypt(wrap_nonce, dek, self.active.encode("ascii"))
        return Sealed(self.active, ".".join((VERSION, self.active, _b64e(new_wrapped), nonce, ciphertext)))

    @staticmethod
    def key_id_of(token: str) -> Optional[str]:
        parts = (token or "").split(".")
        return parts[1] if len(parts) == 5 and parts[0] == VERSION else None

    # -- pseudonyms ----------------------------------------------------------

    def pseudonym(self, *parts: str) -> str:
        """A keyed HMAC: stable per input, meaningless without the key. Used for
        sender references and for indexed lookups that must not reveal the value."""
        message = "\x1f".join(parts).encode("utf-8")
        return hmac.new(self._pseudonym_key, message, hashlib.sha256).hexdigest()[:32]

    def derived_key(self, purpose: str) -> bytes:
        """A 256-bit key for one purpose (e.g. "audit-mac"), derived with HKDF from the same
        secret as the pseudonyms: it survives master key rotation as they do, and no value
        pseudonym() ever returns can equal it (a different key, and HKDF's own construction)."""
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                    info=b"triage-derived-key\x1f" + purpose.encode("utf-8")).derive(self._pseudonym_key)


def missing_keys_message(key_ids) -> str:
    return (f"Sealed data here needs master key {', '.join(key_ids)}: restore the keyring that holds it "
            f"({ENV_FILE} or {ENV_KEY}). Not starting: a new key would leave that data unreadable.")


def require_keys(store: KeyStore, key_ids_in_use) -> None:
    """The start-up check (triage/startup.py): every key id that sealed data names is in the keyring."""
    missing = sorted(set(key_ids_in_use) - set(store.key_ids))
    if missing:
        raise KeyStoreError(f"the keyring ({store.path or ENV_KEY}) lacks a master key. "
                            + missing_keys_message(missing))


_default: Optional[KeyStore] = None


def default() -> KeyStore:
    """The process-wide key store from the environment (loaded once)."""
    global _default
    if _default is None:
        _default = KeyStore.from_env()
    return _default


def reset_default() -> None:
    global _default
    _default = None
