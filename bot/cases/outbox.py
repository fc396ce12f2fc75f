"""No case lost when the database is down.

``submit`` tries the store a few times; if it still fails, the request is kept,
encrypted, in a local file named by the conversation HMAC, and ``flush`` replays
it later. Each file is a small journal of what she asked, in order: ``create``
(with the reference she was already given) and ``withdraw`` (with the time she
asked). Both are idempotent in the store, so a replay interrupted half-way can
simply start again: never a lost request, never a duplicate, and a withdrawal
never cancels a request she made after it.

Files are written atomically (temp file + rename) with 0600 rights; one lock
file serialises outbox writers across threads and processes.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import logging
import os
import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from bot.cases import config
from bot.cases.crypto import CryptoError, KeyRing
from bot.cases.model import Case, CaseDraft, is_conversation_id, new_reference, utcnow
from bot.cases.store import CaseStore, StoreUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")
SUFFIX = ".case"
CREATED, PENDING, DONE = "created", "pending", "done"


class OutboxBusy(Exception):
    """The outbox lock was not obtained in time."""


@dataclass(frozen=True)
class SubmitResult:
    status: str  # created (in the store) | pending (kept in the outbox)
    reference: str  # what to tell her, in both cases
    case: Case | None = None  # when created
    updated: bool = False  # her open case's contact plan was replaced by this request

    @property
    def pending(self) -> bool:
        return self.status == PENDING


@dataclass(frozen=True)
class WithdrawResult:
    status: str  # done | pending (the store will be told by flush)
    references: list[str]


@dataclass(frozen=True)
class FlushReport:
    replayed: int  # conversations whose journal reached the store
    remaining: int  # still waiting (the store is still down)
    quarantined: int  # unreadable files set aside (wrong key, damaged)


class Outbox:
    def __init__(
        self,
        store: CaseStore,
        directory: Path | None = None,
        *,
        keyring: KeyRing | None = None,
        attempts: int = 3,
        backoff: float = 0.25,
        lock_timeout: float = 15.0,
        clock: Callable[[], dt.datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.store = store
        self.directory = Path(directory or config.outbox_dir())
        self.keyring = keyring or store.keyring
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.lock_timeout = lock_timeout
        self.clock = clock
        self.sleep = sleep

    # -- public -----------------------------------------------------------------------
    def submit(self, draft: CaseDraft) -> SubmitResult:
        """Create her case, or keep it for later; she gets her reference either way."""
        draft = replace(
            draft, reference=draft.reference or new_reference(), created_at=draft.created_at or self.clock()
        )
        conv = draft.conversation_id
        if not self._path(conv).exists():
            try:
                case, updated = self._retrying(lambda: self.store.create_or_update(draft))
                return SubmitResult(CREATED, case.reference, case, updated)
            except Exception as exc:  # noqa: BLE001 - whatever the cause, keep the request
                log.warning("dossier %s mis en attente (%s)", draft.reference, type(exc).__name__)
        with self._locked():
            ops = self._read(conv)
            if ops:
                # Something older is waiting for this conversation: it goes first.
                try:
                    self._apply(conv, ops)
                    case, updated = self._retrying(lambda: self.store.create_or_update(draft))
                    self._remove(conv)
                    return SubmitResult(CREATED, case.reference, case, updated)
                except Exception as exc:  # noqa: BLE001
                    log.warning("dossier %s mis en attente (%s)", draft.reference, type(exc).__name__)
            waiting = self._pending_create(ops)
            if waiting is not None:  # she asked again: same request, same reference
                return SubmitResult(PENDING, waiting["draft"]["reference"])
            ops.append({"op": "create", "draft": draft.to_dict()})
            self._write(conv, ops)
        return SubmitResult(PENDING, draft.reference)  # type: ignore[arg-type]

    def withdraw(self, conversation_id: str) -> WithdrawResult:
        """She withdraws: waiting requests are dropped at once, stored cases erased now or by flush."""
        requested_at = self.clock()
        with self._locked():
            # Every waiting create predates this withdrawal: dropping the file cancels it.
            try:
                done = self._retrying(lambda: self.store.withdraw(conversation_id, requested_at=requested_at))
                self._remove(conversation_id)
                return WithdrawResult(DONE, [c.reference for c in done])
            except Exception as exc:  # noqa: BLE001
                log.warning("retrait mis en attente (%s)", type(exc).__name__)
                self._write(conversation_id, [{"op": "withdraw", "requested_at": requested_at.isoformat()}])
                return WithdrawResult(PENDING, [])

    def flush(self) -> FlushReport:
        """Replay waiting journals, oldest first; stop at the first store failure."""
        replayed = quarantined = failed = 0
        paths = self._files()
        for i, path in enumerate(paths):
            conv = path.name[: -len(SUFFIX)]
            with self._locked():
                if not path.exists():
                    continue  # replayed by someone else meanwhile
                try:
                    ops = self._decode(conv, path.read_text())
                except (CryptoError, ValueError, KeyError):
                    self._quarantine(path)
                    quarantined += 1
                    continue
                try:
                    self._apply(conv, ops)
                except StoreUnavailable:
                    remaining = failed + len(paths) - i
                    log.warning("outbox : magasin toujours indisponible, %d en attente", remaining)
                    return FlushReport(replayed, remaining, quarantined)
                except Exception as exc:  # noqa: BLE001
                    # Kept for the next flush (never dropped), and it must not block the others.
                    log.error("outbox : rejeu refusé (%s), gardé pour plus tard", type(exc).__name__)
                    failed += 1
                    continue
                path.unlink()
                replayed += 1
        if replayed:
            log.info("outbox : %d demande(s) transmise(s)", replayed)
        return FlushReport(replayed, failed, quarantined)

    def status_of(self, reference: str, conversation_id: str) -> tuple[str | None, str]:
        """(where, reference to give her) for the request made with `reference`: created (in the
        store; her open case's reference if it took the request as a plan change), pending
        (waiting here) or None (neither). For a slow write: what to tell her next."""
        case = self.store.get(reference)
        if case is not None and case.conversation_id == conversation_id:
            return CREATED, case.reference
        with self._locked():
            ops = self._read(conversation_id)
        if any(op.get("op") == "create" and op["draft"].get("reference") == reference for op in ops):
            return PENDING, reference
        if case is None:
            open_case = self.store.open_case(conversation_id)
            if open_case is not None:
                return CREATED, open_case.reference
        return None, reference

    def pending(self) -> list[str]:
        """Conversation ids with something waiting."""
        return [p.name[: -len(SUFFIX)] for p in self._files()]

    def start_flusher(self, interval: float = 30.0) -> threading.Event:
        """Flush every `interval` seconds in a daemon thread; set the returned event to stop."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval):
                try:
                    if self._files():
                        self.flush()
                except Exception as exc:  # noqa: BLE001 - keep the thread alive
                    log.warning("outbox : échec du rejeu (%s)", type(exc).__name__)

        threading.Thread(target=loop, name="nd-outbox-flush", daemon=True).start()
        return stop

    def reencrypt(self) -> int:
        """Rewrite files not under the current key (key rotation); returns how many."""
        count = 0
        for path in self._files():
            conv = path.name[: -len(SUFFIX)]
            with self._locked():
                if not path.exists():
                    continue
                try:
                    token = path.read_text()
                    if self.keyring.is_current(token):
                        continue
                    ops = self._decode(conv, token)
                except (CryptoError, ValueError, KeyError):
                    self._quarantine(path)
                    continue
                self._write(conv, ops)
                count += 1
        return count

    def count_stale(self) -> int:
        stale = 0
        for path in self._files():
            try:
                stale += not self.keyring.is_current(path.read_text())
            except (FileNotFoundError, CryptoError):
                continue  # replayed meanwhile, or damaged: reencrypt() sets it aside
        return stale

    # -- replay -------------------------------------------------------------------------
    def _apply(self, conv: str, ops: list[dict[str, Any]]) -> None:
        for op in ops:
            if op["op"] == "create":
                self.store.create(CaseDraft.from_dict(op["draft"]))
            elif op["op"] == "withdraw":
                self.store.withdraw(conv, requested_at=dt.datetime.fromisoformat(op["requested_at"]))
            else:
                raise ValueError("opération inconnue dans l'outbox")

    @staticmethod
    def _pending_create(ops: list[dict[str, Any]]) -> dict[str, Any] | None:
        creates = [op for op in ops if op["op"] == "create"]
        return creates[-1] if creates and ops[-1]["op"] == "create" else None

    def _retrying(self, fn: Callable[[], T]) -> T:
        for attempt in range(self.attempts):
            try:
                return fn()
            except StoreUnavailable:
                if attempt == self.attempts - 1:
                    raise
                self.sleep(self.backoff * (2**attempt))
        raise AssertionError("unreachable")

    # -- files --------------------------------------------------------------------------
    def _path(self, conversation_id: str) -> Path:
        if not is_conversation_id(conversation_id):  # also keeps paths inside the directory
            raise ValueError("conversation_id: HMAC hexadécimal attendu")
        return self.directory / f"{conversation_id}{SUFFIX}"

    def _files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        found = []
        for p in self.directory.iterdir():
            if p.name.endswith(SUFFIX) and is_conversation_id(p.name[: -len(SUFFIX)]):
                try:
                    found.append((p.stat().st_mtime, p.name, p))
                except FileNotFoundError:
                    continue  # replayed by another process meanwhile
        return [p for _, _, p in sorted(found)]

    def _decode(self, conv: str, token: str) -> list[dict[str, Any]]:
        ops = self.keyring.decrypt_json(token, case_id=conv, field="outbox")["ops"]
        if not isinstance(ops, list):
            raise ValueError("journal d'outbox invalide")
        return ops

    def _read(self, conv: str) -> list[dict[str, Any]]:
        path = self._path(conv)
        try:
            token = path.read_text()
        except FileNotFoundError:
            return []
        try:
            return self._decode(conv, token)
        except (CryptoError, ValueError, KeyError):
            self._quarantine(path)
            return []

    def _write(self, conv: str, ops: list[dict[str, Any]]) -> None:
        token = self.keyring.encrypt_json({"ops": ops}, case_id=conv, field="outbox")
        path = self._path(conv)
        config.make_private_dir(self.directory)
        tmp = self.directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(token)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)  # atomic: a reader sees the old journal or the new one
        finally:
            if tmp.exists():
                tmp.unlink()
        self._fsync_dir()

    def _remove(self, conv: str) -> None:
        try:
            self._path(conv).unlink()
        except FileNotFoundError:
            pass

    def _quarantine(self, path: Path) -> None:
        target = config.make_private_dir(self.directory / "quarantine") / path.name
        os.replace(path, target)
        log.error("outbox : un fichier illisible (mauvaise clé ou altéré) mis en quarantaine")

    def _fsync_dir(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        config.make_private_dir(self.directory)
        fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                        raise OutboxBusy("outbox occupée") from exc
                    time.sleep(0.02)
            yield
        finally:
            os.close(fd)  # releases the lock


_default: Outbox | None = None
_default_lock = threading.Lock()


def default_outbox() -> Outbox:
    """The process-wide outbox and store, built from the environment on first use (no I/O)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Outbox(CaseStore())
        return _default
