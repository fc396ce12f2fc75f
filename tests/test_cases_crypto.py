"""Encryption at rest: round trip, tampering, swapped fields, wrong key, rotation, key file."""

import base64
import os
import stat
import threading

import pytest

from bot.cases import crypto
from bot.cases.crypto import KeyConfigError, KeyRing, TamperedError, UnknownKeyError, load_keyring
from tests.cases_support import _case_env  # noqa: F401


def ring() -> KeyRing:
    return KeyRing([os.urandom(32)], os.urandom(32))


def test_round_trip_and_no_plaintext_in_envelope():
    r = ring()
    token = r.encrypt("06 12 34 56 78, mot de passe Hirondelle", case_id="ABCDEFGH", field="contact")
    assert token.startswith(f"nd1.{r.current_key_id}.")
    assert "Hirondelle" not in token and "06 12" not in token
    assert r.decrypt(token, case_id="ABCDEFGH", field="contact").decode() == "06 12 34 56 78, mot de passe Hirondelle"
    value = {"answers": {"logement": "chez ma sœur"}, "n": [1, 2]}
    assert r.decrypt_json(r.encrypt_json(value, case_id="C", field="f"), case_id="C", field="f") == value
    # Fresh nonce every time: equal values do not give equal ciphertexts.
    assert r.encrypt("x", case_id="C", field="f") != r.encrypt("x", case_id="C", field="f")


def test_tampering_is_detected():
    r = ring()
    token = r.encrypt("secret", case_id="C", field="f")
    prefix, kid, body = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    for i in (0, 12, len(raw) - 1):  # nonce, ciphertext, tag
        bad = bytearray(raw)
        bad[i] ^= 1
        forged = f"{prefix}.{kid}.{base64.urlsafe_b64encode(bytes(bad)).rstrip(b'=').decode()}"
        with pytest.raises(TamperedError):
            r.decrypt(forged, case_id="C", field="f")
    for garbage in ("", "nd1.abc", "plain text", token[:-10], "nd2" + token[3:]):
        with pytest.raises(TamperedError):
            r.decrypt(garbage, case_id="C", field="f")


def test_swapped_field_or_case_is_detected():
    r = ring()
    token = r.encrypt("+33612345678", case_id="CASEAAAA", field="contact")
    with pytest.raises(TamperedError, match="eligibility"):
        r.decrypt(token, case_id="CASEAAAA", field="eligibility")
    with pytest.raises(TamperedError):
        r.decrypt(token, case_id="CASEBBBB", field="contact")


def test_wrong_key_is_refused():
    mine, theirs = ring(), ring()
    token = mine.encrypt("secret", case_id="C", field="f")
    with pytest.raises(UnknownKeyError, match=mine.current_key_id):
        theirs.decrypt(token, case_id="C", field="f")
    # Same key id, other key material: authentication fails.
    forged = token.replace(mine.current_key_id, theirs.current_key_id)
    with pytest.raises(TamperedError):
        theirs.decrypt(forged, case_id="C", field="f")


def test_key_file_created_on_first_use_with_private_rights(tmp_path, monkeypatch):
    path = tmp_path / "state" / "keys" / "case.keys"
    assert not path.exists()
    first = load_keyring()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    again = load_keyring()
    assert again.current_key_id == first.current_key_id
    assert again.conversation_id("42", "web") == first.conversation_id("42", "web")
    # ND_KEY_FILE moves it.
    monkeypatch.setenv("ND_KEY_FILE", str(tmp_path / "elsewhere" / "k.json"))
    assert load_keyring().current_key_id != first.current_key_id
    assert (tmp_path / "elsewhere" / "k.json").exists()


def test_concurrent_first_use_agrees_on_one_key(tmp_path):
    rings = []
    threads = [threading.Thread(target=lambda: rings.append(load_keyring())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.current_key_id for r in rings}) == 1
    assert not [p for p in (tmp_path / "state" / "keys").iterdir() if p.name.endswith(".tmp")]


def test_keys_from_environment(tmp_path, monkeypatch):
    k1, k2 = crypto.generate_key(), crypto.generate_key()
    monkeypatch.setenv("ND_CASE_KEYS", f"{k1}, {k2}")
    monkeypatch.setenv("ND_HMAC_KEY", base64.b64encode(os.urandom(32)).decode())
    r = load_keyring()
    assert r.current_key_id == crypto.key_id(base64.b64decode(k1))
    assert r.key_ids[1] == crypto.key_id(base64.b64decode(k2))
    assert not (tmp_path / "state").exists()  # nothing written when the environment has it all
    with pytest.raises(KeyConfigError, match="ND_CASE_KEYS"):
        r.rotate()
    monkeypatch.setenv("ND_CASE_KEYS", "not base64!")
    with pytest.raises(KeyConfigError):
        load_keyring()
    monkeypatch.setenv("ND_CASE_KEYS", base64.b64encode(b"short").decode())
    with pytest.raises(KeyConfigError, match="octets"):
        load_keyring()


def test_rotation_keeps_old_data_readable_then_drops_old_keys(tmp_path):
    r = load_keyring()
    old_id = r.current_key_id
    old = r.encrypt("ancien", case_id="C", field="f")
    new_id = r.rotate()
    assert new_id != old_id and r.key_ids == [new_id, old_id]
    assert r.decrypt(old, case_id="C", field="f") == b"ancien"
    assert not r.is_current(old)
    fresh = r.reencrypt(old, case_id="C", field="f")
    assert r.token_key_id(fresh) == new_id
    assert load_keyring().key_ids == [new_id, old_id]  # persisted, still 0600
    assert stat.S_IMODE((tmp_path / "state" / "keys" / "case.keys").stat().st_mode) == 0o600
    assert r.drop_old_keys() == [old_id]
    assert r.decrypt(fresh, case_id="C", field="f") == b"ancien"
    with pytest.raises(UnknownKeyError):
        r.decrypt(old, case_id="C", field="f")


def test_a_process_reads_data_encrypted_after_another_one_rotated():
    server, cli = load_keyring(), load_keyring()
    cli.rotate()
    token = cli.encrypt("nouveau", case_id="C", field="f")
    assert server.decrypt(token, case_id="C", field="f") == b"nouveau"  # reloads the key file


def test_conversation_id_is_a_keyed_hash():
    r = ring()
    cid = r.conversation_id("123456789", "telegram")
    assert len(cid) == 64 and int(cid, 16) >= 0 and "123456789" not in cid
    assert r.conversation_id("123456789", "telegram") == cid
    assert r.conversation_id("123456789", "web") != cid
    assert ring().conversation_id("123456789", "telegram") != cid  # other secret


def test_module_level_conversation_id_uses_the_default_ring():
    crypto.reset_default_keyring()
    try:
        assert crypto.conversation_id("1", "web") == load_keyring().conversation_id("1", "web")
    finally:
        crypto.reset_default_keyring()
