"""Encryption at rest for personal case fields, and the pseudonymous conversation id.

Envelope: ``nd1.<key id>.<base64url(nonce | AES-256-GCM ciphertext+tag)>``. The key id
picks the key in the ring, so older keys keep decrypting after a rotation. The
associated data binds a ciphertext to its case and field: moved to another row
or column, it no longer decrypts.

Keys: ``ND_CASE_KEYS`` (comma separated base64 keys of 32 bytes, first = current)
and ``ND_HMAC_KEY`` (base64, 32 bytes or more); whichever is absent comes from
the key file (``ND_KEY_FILE``, default ``<state dir>/keys/case.keys``), created
on first use with 0600 rights in a 0700 directory.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
from pathlib import Path
from typing import Any, Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.cases import config

log = logging.getLogger(__name__)

PREFIX = "nd1"
KEY_BYTES = 32
NONCE_BYTES = 12


class CryptoError(Exception):
    """Base class: nothing in these messages ever quotes a key or a value."""


class KeyConfigError(CryptoError):
    """Keys missing or malformed in the environment or the key file."""


class UnknownKeyError(CryptoError):
    """The ciphertext was written with a key that is not in the ring (wrong key)."""


class TamperedError(CryptoError):
    """Authentication failed: the ciphertext was altered, moved to another field or case, or the key is wrong."""


def generate_key() -> str:
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def key_id(key: bytes) -> str:
    # Derived from the key itself: nothing to keep in sync, and it reveals nothing of the key.
    return hashlib.sha256(b"nd-case-key-id\0" + key).hexdigest()[:12]


def _b64decode(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyConfigError(f"{what}: base64 invalide") from exc


def _aad(case_id: str, field: str) -> bytes:
    return json.dumps(["nd-case", case_id, field]).encode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class KeyRing:
    """The current key (encrypts), older keys (decrypt only) and the HMAC secret."""

    def __init__(self, keys: Sequence[bytes], hmac_key: bytes, *, key_file: Path | None = None):
        if not keys:
            raise KeyConfigError("aucune clé de chiffrement")
        if len(hmac_key) < 32:
            raise KeyConfigError("clé HMAC trop courte (32 octets au moins)")
        self._hmac_key = hmac_key
        self._key_file = key_file  # set when the case keys come from the file: rotate() writes it
        self._lock = threading.Lock()
        self._set_keys(list(keys))

    def _set_keys(self, keys: list[bytes]) -> None:
        for k in keys:
            if len(k) != KEY_BYTES:
                raise KeyConfigError(f"clé de chiffrement de {len(k)} octets, {KEY_BYTES} attendus")
        ids = [key_id(k) for k in keys]
        # One assignment, so a reload never shows another thread a half-updated ring.
        self._ring = (
            list(dict.fromkeys(ids)),
            {kid: AESGCM(k) for kid, k in zip(ids, keys, strict=True)},
            dict(zip(ids, keys, strict=True)),
        )

    @property
    def _order(self) -> list[str]:
        return self._ring[0]

    @property
    def _ciphers(self) -> dict[str, AESGCM]:
        return self._ring[1]

    @property
    def _keys(self) -> dict[str, bytes]:
        return self._ring[2]

    # -- encryption ---------------------------------------------------------
    @property
    def current_key_id(self) -> str:
        return self._order[0]

    @property
    def key_ids(self) -> list[str]:
        return list(self._order)

    def encrypt(self, plaintext: bytes | str, *, case_id: str, field: str) -> str:
        if isinstance(plaintext, str):
            plaintext = plaintext.encode()
        order, ciphers, _ = self._ring
        kid = order[0]
        nonce = os.urandom(NONCE_BYTES)
        ct = ciphers[kid].encrypt(nonce, plaintext, _aad(case_id, field))
        return f"{PREFIX}.{kid}.{_b64url(nonce + ct)}"

    def decrypt(self, token: str, *, case_id: str, field: str) -> bytes:
        kid, blob = self._parse(token)
        cipher = self._ciphers.get(kid)
        if cipher is None and self._reload():
            cipher = self._ciphers.get(kid)  # another process rotated the key file
        if cipher is None:
            raise UnknownKeyError(f"clé {kid} absente du trousseau : mauvaise clé ou clé retirée trop tôt")
        try:
            return cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad(case_id, field))
        except InvalidTag:
            raise TamperedError(
                f"authentification refusée pour le champ {field!r} : donnée altérée, déplacée ou mauvaise clé"
            ) from None

    def encrypt_json(self, value: Any, *, case_id: str, field: str) -> str:
        return self.encrypt(json.dumps(value, ensure_ascii=False), case_id=case_id, field=field)

    def decrypt_json(self, token: str, *, case_id: str, field: str) -> Any:
        return json.loads(self.decrypt(token, case_id=case_id, field=field))

    def token_key_id(self, token: str) -> str:
        return self._parse(token)[0]

    def is_current(self, token: str) -> bool:
        return self.token_key_id(token) == self.current_key_id

    def reencrypt(self, token: str, *, case_id: str, field: str) -> str:
        return self.encrypt(self.decrypt(token, case_id=case_id, field=field), case_id=case_id, field=field)

    @staticmethod
    def _parse(token: str) -> tuple[str, bytes]:
        try:
            prefix, kid, body = token.split(".", 2)
            blob = _unb64url(body)
        except (AttributeError, ValueError, binascii.Error):
            raise TamperedError("enveloppe chiffrée illisible") from None
        if prefix != PREFIX or len(blob) < NONCE_BYTES + 16:
            raise TamperedError("enveloppe chiffrée illisible")
        return kid, blob

    # -- pseudonymous id ----------------------------------------------------
    def conversation_id(self, raw_channel_id: str, channel: str) -> str:
        msg = json.dumps([channel, str(raw_channel_id)]).encode()
        return hmac.new(self._hmac_key, msg, hashlib.sha256).hexdigest()

    def derive_key(self, purpose: str) -> bytes:
        """A secret of its own for `purpose` (e.g. the console's CSRF tokens), from the HMAC key:
        shared by every process that reads the same keys, never the key itself."""
        return hmac.new(self._hmac_key, b"nd-derive:" + purpose.encode(), hashlib.sha256).digest()

    # -- rotation -----------------------------------------------------------
    @property
    def from_file(self) -> bool:
        return self._key_file is not None

    def rotate(self) -> str:
        """Add a new current key to the key file; returns its id. Older keys still decrypt."""
        if self._key_file is None:
            raise KeyConfigError(
                "les clés viennent de ND_CASE_KEYS : placez une nouvelle clé en tête "
                "de la variable (python -m bot rotate-keys --generate en donne une)"
            )
        with self._lock:
            data = _read_key_file(self._key_file)
            data["case_keys"].insert(0, generate_key())
            _write_key_file(self._key_file, data)
            self._set_keys([_b64decode(k, "clé") for k in data["case_keys"]])
        log.info("nouvelle clé de chiffrement %s", self.current_key_id)
        return self.current_key_id

    def drop_old_keys(self) -> list[str]:
        """Keep only the current key in the key file; returns the ids dropped."""
        if self._key_file is None:
            raise KeyConfigError("les clés viennent de ND_CASE_KEYS : retirez les anciennes de la variable")
        with self._lock:
            data = _read_key_file(self._key_file)
            current = [k for k in data["case_keys"] if key_id(_b64decode(k, "clé")) == self.current_key_id]
            if not current:
                raise KeyConfigError("la clé courante n'est plus dans le fichier de clés")
            dropped = [kid for kid in self._order[1:]]
            data["case_keys"] = current[:1]
            _write_key_file(self._key_file, data)
            self._set_keys([_b64decode(current[0], "clé")])
        return dropped

    def _reload(self) -> bool:
        if self._key_file is None:
            return False
        with self._lock:
            try:
                data = _read_key_file(self._key_file)
                self._set_keys([_b64decode(k, "clé") for k in data["case_keys"]])
            except (OSError, CryptoError):
                return False
        return True


# -- key file -----------------------------------------------------------------
def _read_key_file(path: Path) -> dict[str, Any]:
    try:
        mode = path.stat().st_mode
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        raise KeyConfigError(f"fichier de clés illisible : {path}") from exc
    if mode & 0o077:
        log.warning("le fichier de clés %s est lisible par d'autres que son propriétaire (chmod 600)", path)
    if not isinstance(data, dict) or not data.get("case_keys") or not data.get("hmac_key"):
        raise KeyConfigError(f"fichier de clés incomplet : {path}")
    return data


def _write_key_file(path: Path, data: dict[str, Any], *, exclusive: bool = False) -> bool:
    """Atomic write with 0600 rights. exclusive: never replace an existing file (returns False)."""
    config.make_private_dir(path.parent)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        if exclusive:
            try:
                os.link(tmp, path)  # fails if another process created it first
            except FileExistsError:
                return False
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return True


def _load_or_create_key_file(path: Path) -> dict[str, Any]:
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        pass
    data = {"version": 1, "case_keys": [generate_key()], "hmac_key": base64.b64encode(secrets.token_bytes(32)).decode()}
    if _write_key_file(path, data, exclusive=True):
        log.info("fichier de clés créé : %s", path)
        return data
    return _read_key_file(path)


def load_keyring(env: Mapping[str, str] | None = None) -> KeyRing:
    env = os.environ if env is None else env
    env_keys = [k for k in (env.get("ND_CASE_KEYS") or "").split(",") if k.strip()]
    env_hmac = (env.get("ND_HMAC_KEY") or "").strip()
    file_data = None
    key_path = config.key_file(env)
    if not env_keys or not env_hmac:
        file_data = _load_or_create_key_file(key_path)
    if env_keys:
        keys = [_b64decode(k, "ND_CASE_KEYS") for k in env_keys]
    else:
        assert file_data is not None
        keys = [_b64decode(k, "fichier de clés") for k in file_data["case_keys"]]
    hmac_key = _b64decode(env_hmac, "ND_HMAC_KEY") if env_hmac else _b64decode(file_data["hmac_key"], "fichier de clés")  # type: ignore[index]
    return KeyRing(keys, hmac_key, key_file=None if env_keys else key_path)


_default: KeyRing | None = None
_default_lock = threading.Lock()


def default_keyring() -> KeyRing:
    """The process-wide ring, loaded once from the environment or the key file."""
    global _default
    with _default_lock:
        if _default is None:
            _default = load_keyring()
        return _default


def reset_default_keyring() -> None:
    global _default
    with _default_lock:
        _default = None


def conversation_id(raw_channel_id: str, channel: str, keyring: KeyRing | None = None) -> str:
    """HMAC-SHA256 of (channel, raw id), hex: stable per conversation, not reversible."""
    return (keyring or default_keyring()).conversation_id(raw_channel_id, channel)
