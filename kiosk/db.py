"""The database: engine set-up (SQLite pragmas, PostgreSQL pool), sessions, and the declarative base."""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from flask import current_app
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker

log = logging.getLogger(__name__)
_AFTER_COMMIT = "givetake.after_commit"

# Stable constraint names, so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: How long a writer waits for SQLite's lock before failing (ms); kiosks write concurrently.
SQLITE_BUSY_TIMEOUT_MS = 15000
#: How long SQLite itself waits inside one attempt (ms). A writer then sleeps and tries again until the timeout
#: above: SQLite's wait is a blocking C sleep, which on gevent would stop every greenlet while another process
#: (a CLI import, say) holds the lock; `time.sleep` lets them run.
SQLITE_ATTEMPT_MS = 10
#: How long to wait for PostgreSQL to accept a connection (s). Down or restarting, it refuses at once; a host that
#: vanished from the network would otherwise hold a kiosk's request until TCP gives up, minutes later.
PG_CONNECT_TIMEOUT_S = 5
#: Longest one statement may run on PostgreSQL (ms), lock waits included: the bound SQLite writers have too.
PG_STATEMENT_TIMEOUT_MS = SQLITE_BUSY_TIMEOUT_MS


class Base(DeclarativeBase):
    """Declarative base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers (screen, dashboard) run while a kiosk writes; synchronous=FULL makes an acknowledged
    # check-in survive a power cut, not only a crash; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_ATTEMPT_MS}")
    cursor.close()


class _SerializedWriterConnection(sqlite3.Connection):
    """A pysqlite connection whose write transactions queue on a lock in this process.

    SQLite's own busy handler is not a queue: a waiting writer sleeps and retries while newcomers get in, so under
    a burst of kiosks one unlucky check-in can wait past the timeout. Writers of one process (the laptop tier)
    wait here instead, blocked on a lock, and go as soon as the previous one commits. Subclassed per engine
    (`write_lock` is per database).
    """

    write_lock: threading.RLock
    holds_write_lock = False

    def begin_write(self) -> None:
        if not self.write_lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise sqlite3.OperationalError("database is locked (other writers kept it for too long)")
        self.holds_write_lock = True
        try:
            deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
            while True:
                try:
                    self.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as exc:  # another process holds the lock
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.005)
        except BaseException:
            self._release()
            raise

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def _release(self) -> None:
        if self.holds_write_lock:
            self.holds_write_lock = False
            self.write_lock.release()


#: Statements that take no write lock: reads (SQLite autocommits each one) and transaction control.
_NO_WRITE_LOCK = ("SELECT", "PRAGMA", "EXPLAIN", "BEGIN", "COMMIT", "END", "ROLLBACK")


def _sqlite_begin(conn) -> None:
    # A transaction starts lazily: reads run on their own (autocommit, like PostgreSQL's read committed), and the
    # first write takes the write lock with BEGIN IMMEDIATE (see _sqlite_before_write). So a POST holds the lock
    # for its writes only, not from its first SELECT, and a page that only reads never waits for a kiosk. Long
    # read-only work (reports, exports, a round's snapshot) asks for `sqlite_deferred`: one consistent snapshot.
    if conn.get_execution_options().get("sqlite_deferred"):
        conn.exec_driver_sql("BEGIN")


def _sqlite_before_write(conn, _cursor, statement: str, _parameters, _context, _executemany) -> None:
    # Take the write lock before the first statement that writes. A deferred transaction that read first could
    # fail with "database is locked" without waiting for busy_timeout, which would lose a kiosk's write.
    dbapi = conn.connection.dbapi_connection
    if dbapi.in_transaction or statement.lstrip()[:8].upper().startswith(_NO_WRITE_LOCK):
        return
    dbapi.begin_write()


def _private_sqlite_file(url: str) -> None:
    # The database holds every attendee's email: readable by its owner only, like the secret key beside it.
    # (SQLite gives the -wal and -shm files the database file's permissions.)
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)


def _postgres_connect_args(url: str, statement_timeout_ms: int) -> dict:
    # libpq settings that bound every wait, unless the URL sets them itself (?connect_timeout=...&options=...).
    query = make_url(url).query
    args = {}
    if "connect_timeout" not in query:
        args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    if "options" not in query:
        args["options"] = f"-c statement_timeout={statement_timeout_ms}"
    return args


def make_engine(url: str, *, statement_timeout_ms: int = PG_STATEMENT_TIMEOUT_MS, **kwargs) -> Engine:
    """Create an engine with the settings each backend needs for concurrent kiosks.

    On PostgreSQL every connection waits at most PG_CONNECT_TIMEOUT_S to connect and `statement_timeout_ms` for
    a statement (0: no limit, for migrations); pooled connections are pinged before use, so after a restart of
    the server the first request on each dead connection gets a fresh one instead of an error.
    """
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        factory = type("SerializedWriterConnection", (_SerializedWriterConnection,),
                       {"write_lock": threading.RLock()})
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                                  "check_same_thread": False, "factory": factory,
                                                  "isolation_level": None}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "before_cursor_execute", _sqlite_before_write)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs["connect_args"] = {**_postgres_connect_args(url, statement_timeout_ms), **kwargs.get("connect_args", {})}
    return create_engine(url, **kwargs)


#: PostgreSQL's SQLSTATE for "could not extend file: No space left on device".
_PG_DISK_FULL = "53100"


def storage_failure(exc: BaseException) -> str | None:
    """What failed when the store, not the request, is the cause: "full" or "unavailable"; None otherwise.

    "full": the database cannot grow (SQLite's SQLITE_FULL, PostgreSQL's disk_full): nothing was written, and
    nothing will be until someone frees disk space. "unavailable": PostgreSQL is down, restarting, unreachable or
    timed out, or no pooled connection came free in time: the same request may well work in a moment (with an
    Idempotency-Key it is safe to send again). Anything else (a constraint, a bug) is None.
    """
    if isinstance(exc, sa_exc.TimeoutError):  # the pool had no connection to give within pool_timeout
        return "unavailable"
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    if isinstance(exc.orig, sqlite3.Error):
        # SQLite on the laptop: "database is locked" stays an error of its own (kiosk.db's write lock).
        return "full" if getattr(exc.orig, "sqlite_errorname", "") == "SQLITE_FULL" else None
    if getattr(exc.orig, "sqlstate", None) == _PG_DISK_FULL:
        return "full"
    if exc.connection_invalidated or isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return "unavailable"
    return None


class Database:
    """An engine with a session factory and a thread-local session for request handlers."""

    def __init__(self, url: str, **engine_kwargs):
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.Session = sessionmaker(self.engine, expire_on_commit=False)
        self.scoped = scoped_session(self.Session)

    @property
    def is_sqlite(self) -> bool:
        """True on the embedded default."""
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A fresh session in one transaction: committed on success, rolled back on error (for threads, CLI)."""
        with self.Session() as session, session.begin():
            yield session

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A session for long read-only work that does not take SQLite's write lock."""
        with Session(self.engine.execution_options(sqlite_deferred=True), expire_on_commit=False) as session:
            yield session

    def dispose(self) -> None:
        """Close every pooled connection (tests, shutdown)."""
        self.scoped.remove()
        self.engine.dispose()


class _CurrentDatabase:
    """`db.session` is the current app's thread-local session; `db.database` the app's `Database`."""

    @property
    def database(self) -> Database:
        return current_app.extensions["givetake.db"]

    @property
    def session(self) -> Session:
        return self.database.scoped()


db = _CurrentDatabase()


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` once the session's transaction commits; forget it if the transaction rolls back.

    Emits, matcher work and print jobs go out this way, so nobody hears of a check-in that did not happen and
    the matcher always finds the committed rows.
    """
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for action in session.info.pop(_AFTER_COMMIT, []):
        try:
            action()
        except Exception:  # the commit stands; one failed side effect must not block the others
            log.exception("after-commit action failed")


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)
