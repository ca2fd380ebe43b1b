"""Alembic environment: runs migrations with our engine settings (SQLite pragmas, batch mode)."""
from __future__ import annotations

from alembic import context

from kiosk.db import Base, make_engine
import kiosk.models  # noqa: F401  (registers every table on Base.metadata)

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    # No statement timeout: rebuilding a big table may take longer than any request should, and nobody waits on it.
    engine = make_engine(config.get_main_option("sqlalchemy.url"), statement_timeout_ms=0)
    try:
        with engine.connect() as connection:
            # SQLite cannot ALTER most things: batch mode copies the table, which needs foreign keys off meanwhile.
            context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                              compare_type=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
