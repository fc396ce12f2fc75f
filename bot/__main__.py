"""Command line: python -m bot <command>."""

from __future__ import annotations

import argparse
import sys

from bot.config import settings
from bot.knowledge.loader import KnowledgeError


def check_knowledge() -> int:
    from bot.answers import build_answers, is_template, knowledge_warnings

    try:
        answers = build_answers()
    except KnowledgeError as exc:
        print("Connaissances invalides :\n" + str(exc), file=sys.stderr)
        return 1
    # Render every topic once, so that an unknown placeholder fails here and not in front of a victim.
    for topic_id in answers.kb.topics:
        extra = {name: "x" for name in answers.placeholders_in(topic_id) if name not in answers.values}
        if extra and not is_template(topic_id):
            print(f"{topic_id}: placeholders inconnus {sorted(extra)}", file=sys.stderr)
            return 1
        answers.render(topic_id, **extra)
    for warning in knowledge_warnings():
        print(f"attention : {warning}", file=sys.stderr)  # warns, does not fail
    kb = answers.kb
    facts = sum(len(t.facts) for t in kb.topics.values())
    print(
        f"{len(kb.topics)} sujets, {facts} faits sourcés, "
        f"{len(answers.territories.by_code)} territoires ({settings().knowledge_dir})"
    )
    return 0


def _case_store():
    # Imported here so that check-knowledge does not need SQLAlchemy or the keys.
    from bot.cases.crypto import load_keyring
    from bot.cases.store import CaseStore

    return CaseStore(keyring=load_keyring())  # its own ring: rotation must not touch a shared one


def migrate() -> int:
    from bot.cases.migrate import current_revision

    store = _case_store()
    store.migrate()
    print(f"schéma des dossiers à jour (révision {current_revision(store.engine)})")
    return 0


def purge(days: int | None) -> int:
    from bot.cases import config

    days = config.retention_days() if days is None else days
    count = _case_store().purge(days)
    print(f"{count} dossier(s) clos ou retiré(s) depuis plus de {days} jours effacé(s)")
    return 0


def rotate_keys(generate: bool, drop_old: bool) -> int:
    from bot.cases.crypto import CryptoError, generate_key
    from bot.cases.outbox import Outbox

    if generate:  # for ND_CASE_KEYS users: put it first in the variable, then rotate-keys
        print(generate_key())
        return 0
    store = _case_store()
    outbox = Outbox(store)
    ring = store.keyring
    try:
        if drop_old:
            # Conversations saved between the rotation and the restart still use the old key.
            if not _reseal_conversations(ring):
                return 1
            stale = store.count_stale() + outbox.count_stale()
            if stale:
                print(
                    f"{stale} champ(s) encore chiffré(s) avec une ancienne clé : relancez "
                    "rotate-keys (après avoir redémarré les services)",
                    file=sys.stderr,
                )
                return 1
            if not ring.from_file:
                print("tout est chiffré avec la première clé : retirez les autres de ND_CASE_KEYS")
                return 0
            dropped = ring.drop_old_keys()
            print(f"{len(dropped)} ancienne(s) clé(s) retirée(s) ; clé courante {ring.current_key_id}")
            return 0
        if ring.from_file:
            ring.rotate()
        fields = store.reencrypt()
        files = outbox.reencrypt()
        if not _reseal_conversations(ring):
            return 1
    except CryptoError as exc:
        print(f"rotation impossible : {exc}", file=sys.stderr)
        return 1
    print(
        f"clé courante {ring.current_key_id} ; {fields} champ(s) et {files} fichier(s) d'outbox "
        "rechiffré(s). Redémarrez les services, puis `python -m bot rotate-keys --drop-old` "
        "retire les anciennes clés."
    )
    return 0


def _reseal_conversations(ring) -> bool:
    """Conversations kept in Redis (ND_REDIS_HOST) or SQL (ND_TRACKER_DB_URL), sealed again."""
    import os

    if not (os.environ.get("ND_REDIS_HOST") or os.environ.get("ND_TRACKER_DB_URL")):
        return True  # in memory only: nothing at rest
    from connectors.tracker_store import reseal_conversations  # Rasa's stores: only when configured

    try:
        done = reseal_conversations(keyring=ring)
    except Exception as exc:  # the store down: say so, the operator runs it again
        print(
            f"conversations non rechiffrées ({type(exc).__name__}) : relancez quand le stockage répond", file=sys.stderr
        )
        return False
    for where, count in done.items():
        print(f"{count} conversation(s) ou événement(s) rechiffré(s) ({where})")
    return True


def flush_outbox() -> int:
    from bot.cases.outbox import Outbox

    report = Outbox(_case_store()).flush()
    print(
        f"{report.replayed} demande(s) transmise(s), {report.remaining} en attente, "
        f"{report.quarantined} illisible(s) en quarantaine"
    )
    return 0 if report.remaining == 0 and report.quarantined == 0 else 1


def _read_password() -> str:
    # Never on the command line: it would stay in the shell history and in `ps`.
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("Mot de passe (12 caractères au moins) : ")
    return sys.stdin.readline().rstrip("\n")


def operator(action: str, login: str | None, supervisor: bool, territories: list[str]) -> int:
    from bot.console.accounts import AccountError, Accounts

    accounts = Accounts(_case_store())
    if action == "list":
        for o in accounts.all():
            scope = "tous les territoires" if o.supervisor else ", ".join(o.territories)
            print(
                f"{o.login}\t{'superviseur' if o.supervisor else 'opérateur'}\t{scope}"
                f"{'' if o.active else chr(9) + 'désactivé'}"
            )
        return 0
    if not login:
        print(f"operator {action} : indiquez l'identifiant", file=sys.stderr)
        return 2
    try:
        if action == "add":
            created = accounts.add(login, _read_password(), supervisor, territories)
            scope = "tous les territoires" if created.supervisor else ", ".join(created.territories)
            print(f"compte {created.login} créé ({'superviseur' if created.supervisor else 'opérateur'} ; {scope})")
        else:
            known = accounts.get(login)
            if known is None:
                raise AccountError(f"compte inconnu : {login}")
            if action == "passwd":
                accounts.set_password(known.login, _read_password())
                print(f"mot de passe de {known.login} changé ; ses sessions sont fermées")
            else:
                accounts.update(
                    known.login, supervisor=known.supervisor, territories=known.territories, active=action == "enable"
                )
                print(f"compte {known.login} {'réactivé' if action == 'enable' else 'désactivé'}")
            accounts.audit(
                "#cli", {"passwd": "mot_de_passe"}.get(action, "compte_modifie"), None, f"{known.login} {action}"
            )
    except AccountError as exc:
        print(f"compte non {'créé' if action == 'add' else 'modifié'} : {exc}", file=sys.stderr)
        return 1
    return 0


def demo_admin() -> int:
    """On a fresh install only, and never with ND_DEMO=0 (production): a demo supervisor, its password printed once."""
    import os
    import secrets

    if os.environ.get("ND_DEMO", "1").strip() == "0":
        print("Console : ND_DEMO=0, pas de compte de démonstration (python -m bot operator add pour en créer).")
        return 0

    from bot.console.accounts import Accounts

    accounts = Accounts(_case_store())
    if accounts.count():
        print("Console : des comptes existent déjà (python -m bot operator add pour en créer).")
        return 0
    password = secrets.token_urlsafe(12)
    accounts.add("demo", password, supervisor=True)
    print(
        f"Console : compte de démonstration créé. Identifiant « demo », mot de passe « {password} » "
        "(affiché une seule fois ; changez-le dans Opérateurs)."
    )
    return 0


def scheduler(once: bool) -> int:
    """Purge, outbox replay (every minute) and the daily check of late cases, in its own process."""
    import logging
    import signal
    import threading

    from bot.cases.scheduler import Scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    jobs = Scheduler(_case_store())
    if once:
        done = jobs.tick()
        print(", ".join(f"{k} : {v}" for k, v in sorted(done.items())) or "rien fait (base indisponible ?)")
        return 0 if len(done) == 3 else 1
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    jobs.run_forever(stop)
    return 0


def console(host: str, port: int, demo: bool = False) -> int:
    from bot.console.app import create_app, env_session_minutes

    try:
        env_session_minutes()
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if demo:
        from bot.cases.store import StoreUnavailable

        try:
            demo_admin()
        except StoreUnavailable as exc:
            print(str(exc), file=sys.stderr)
            return 1
    app = create_app()
    app.run(host=host, port=port, access_log=False, workers=1)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Nouveau départ")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check-knowledge", help="valide les fichiers de connaissances")
    sub.add_parser("migrate", help="met le schéma des dossiers à jour (alembic upgrade head)")
    p = sub.add_parser("purge", help="efface les dossiers clos ou retirés après la durée de conservation")
    p.add_argument(
        "--days", type=int, default=None, help="durée de conservation en jours (défaut : ND_RETENTION_DAYS, 30)"
    )
    p = sub.add_parser("rotate-keys", help="ajoute une clé de chiffrement et rechiffre tout")
    p.add_argument("--drop-old", action="store_true", help="retire les anciennes clés, si plus rien n'en dépend")
    p.add_argument("--generate", action="store_true", help="affiche une nouvelle clé (pour ND_CASE_KEYS)")
    sub.add_parser("flush-outbox", help="transmet les demandes gardées pendant une panne de la base")
    p = sub.add_parser("operator", help="comptes de la console (mot de passe lu sur l'entrée standard)")
    p.add_argument("action", choices=["add", "passwd", "disable", "enable", "list"])
    p.add_argument("login", nargs="?")
    p.add_argument("--supervisor", action="store_true")
    p.add_argument("--territory", action="append", default=[], help="code de département (répétable)")
    p = sub.add_parser("console", help="lance la console des opérateurs")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument(
        "--demo-admin",
        action="store_true",
        help="d'abord, sur une installation neuve, crée un superviseur de démonstration",
    )
    p = sub.add_parser("scheduler", help="purge, rejeu de l'outbox (chaque minute), dossiers en retard (chaque jour)")
    p.add_argument("--once", action="store_true", help="chaque tâche une fois, puis s'arrête (cron, CronJob)")
    sub.add_parser("demo-admin", help="crée un superviseur de démonstration si aucun compte n'existe")
    # The Telegram commands live in connectors/telegram.py (Rasa side): imported only when used.
    p = sub.add_parser("telegram", help="Telegram : set-webhook URL, ou poll (développement local)")
    p.add_argument("telegram_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command == "telegram":
        from connectors.telegram import main as telegram_main

        return telegram_main(args.telegram_args)
    if args.command == "check-knowledge":
        return check_knowledge()
    if args.command == "console":
        return console(args.host, args.port, args.demo_admin)
    if args.command == "scheduler":
        return scheduler(args.once)
    if args.command in ("migrate", "purge", "rotate-keys", "flush-outbox", "operator", "demo-admin"):
        from bot.cases.store import StoreUnavailable

        try:
            if args.command == "migrate":
                return migrate()
            if args.command == "purge":
                return purge(args.days)
            if args.command == "rotate-keys":
                return rotate_keys(args.generate, args.drop_old)
            if args.command == "operator":
                return operator(args.action, args.login, args.supervisor, args.territory)
            if args.command == "demo-admin":
                return demo_admin()
            return flush_outbox()
        except StoreUnavailable as exc:
            print(str(exc), file=sys.stderr)
            return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
