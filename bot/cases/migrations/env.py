"""Alembic environment: the store's metadata, and DATABASE_URL unless a connection is given."""

from __future__ import annotations

from typing import Any

from alembic import context

from bot.cases import config as case_config
from bot.cases.schema import metadata


def _configure(**kwargs: Any) -> None:
    context.configure(target_metadata=metadata, compare_type=True, **kwargs)


def run_offline() -> None:
    url = context.config.get_main_option("sqlalchemy.url") or case_config.database_url()
    _configure(url=url, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Any) -> None:
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:  # migrate(): the caller holds the transaction and its lock
        _run(connection)
        return
    from bot.cases.store import make_engine

    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or case_config.database_url())
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
