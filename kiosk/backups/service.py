"""Copies of the SQLite database made with SQLite's online backup API, safe while `givetake serve` writes.

A copy is written under a temporary name next to its final one, checked (`PRAGMA integrity_check`), synced to
the device and only then renamed into place: a USB stick pulled out mid-copy leaves the previous backup whole and
at most a `.partial` file. The copy is a single file (rollback journal, not WAL), so it opens anywhere as it is.
The last backup (or the last failed attempt) is recorded in the instance folder for the ready-for-doors panel.

This runs in its own process (`givetake backup`), never in the serving one.
"""
from __future__ import annotations

import errno
import json
import os
import re
import shlex
import shutil
import sqlite3
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from sqlalchemy.engine import URL, make_url

#: The record of the last backup, in the instance folder (read by kiosk.admin.readiness).
RECORD_NAME = "last-backup.json"
SUFFIX = ".sqlite3"
#: What our backup files are called: <label>-<YYYYmmdd-HHMMSS>[-n].sqlite3. Rotation deletes only these.
_NAME = re.compile(r"^(?P<label>[a-z0-9][a-z0-9-]*)-(?P<stamp>\d{8}-\d{6})(?:-(?P<n>\d+))?\.sqlite3$")
#: A copy whose source changed under it more often than this is taken again in one step (one read snapshot).
MAX_RESTARTS = 3


class BackupError(Exception):
    """A backup that could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    """One backup written: where, when (UTC), how big, how long it took."""

    path: str
    at: datetime
    bytes: int
    seconds: float


def sqlite_path(url: str) -> str | None:
    """The database file of a SQLite URL; None for another database (PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    return parsed.database or ""


def label_of(slug: str | None) -> str:
    """The start of backup file names: the event's short name, or "givetake"."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", (slug or "").lower()).strip("-")
    return cleaned or "givetake"


def backup_name(label: str, now: datetime, n: int = 0) -> str:
    """A backup file's name: the label and the local time, e.g. `summit-20261203-085500.sqlite3`."""
    stamp = now.astimezone().strftime("%Y%m%d-%H%M%S")
    return f"{label}-{stamp}{f'-{n}' if n else ''}{SUFFIX}"


def destination(target: Path, label: str, now: datetime) -> tuple[Path, bool]:
    """Where a backup to `target` goes, and whether `target` is a folder (then the file is named by time).

    A folder must exist already: a USB stick that is not mounted leaves only an empty mount point, and a backup
    written there would be lost with the laptop.
    """
    target = target.expanduser()
    if target.is_dir():
        # After the newest number this second, never a freed lower one: rotation may have removed the first backups
        # of this second, and a new one named like them would sort as the oldest and be the next one deleted.
        stamp = backup_name(label, now)[len(label) + 1:-len(SUFFIX)]
        taken = [int(m["n"] or 0) for p in target.iterdir()
                 if (m := _NAME.match(p.name)) and m["label"] == label and m["stamp"] == stamp]
        n = max(taken) + 1 if taken else 0
        if n >= 1000:
            raise BackupError(f"{target} already has 1,000 backups for this second")
        return target / backup_name(label, now, n), True
    if str(target).endswith(os.sep) or not target.parent.is_dir():
        folder = target if str(target).endswith(os.sep) else target.parent
        raise BackupError(f"There is no folder {folder}: is the USB stick plugged in and mounted? "
                          "(Give an existing folder or a file in one.)")
    return target, False


def _is_full(exc: BaseException) -> bool:
    return (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)) or \
        "disk is full" in str(exc) or "SQLITE_FULL" in str(exc)


def _explain(exc: BaseException, folder: Path, needed: int) -> BackupError:
    """A backup failure as the organizer can act on it."""
    if _is_full(exc):
        return BackupError(f"{folder} is full: the backup needs about {_mb(needed)} (free some space or use "
                           "another stick).")
    # (ENOENT here: the folder exists but refuses new files, as /proc does.)
    unwritable = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT)
    if isinstance(exc, PermissionError) or (isinstance(exc, OSError) and exc.errno in unwritable) \
            or "readonly" in str(exc) or "unable to open" in str(exc):
        why = "" if getattr(exc, "errno", None) == errno.ENOENT else f" ({getattr(exc, 'strerror', None) or exc})"
        return BackupError(f"Cannot write to {folder}{why}: is the stick read-only or owned by another user? "
                           "Choose a folder you can write to.")
    return BackupError(f"The backup to {folder} failed: {exc}")


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _fsync_dir(folder: Path) -> None:
    # The rename is durable only once the folder itself is synced; some filesystems (and Windows) cannot.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _SourceChanged(Exception):
    """The server wrote while the copy was stepping: the backup API would start over, so copy in one step."""


def backup_sqlite(source: str, final: Path, progress: Callable[[int, int], None] | None = None) -> BackupResult:
    """Copy the SQLite database `source` to `final` (atomically, synced, checked); `progress(done, total)` in bytes.

    The copy steps through the file in chunks so progress shows; when the server writes meanwhile (SQLite then
    restarts the copy) it is taken again in one step, a single read snapshot: WAL lets the server go on writing.
    """
    if not source or source == ":memory:" or not os.path.isfile(source):
        raise BackupError(f"There is no database file at {source or '(none)'} to back up.")
    started = time.monotonic()
    folder = final.parent
    partial = folder / f".{final.name}.partial-{os.getpid()}"
    src = sqlite3.connect(source, timeout=15)
    try:
        page_size, pages = (src.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_size", "page_count"))
        needed = page_size * pages
        try:
            usage = shutil.disk_usage(folder)
        except OSError as exc:
            raise _explain(exc, folder, needed) from exc
        if usage.total and usage.free < needed + page_size * 16:  # (a total of 0: /proc and the like)
            raise BackupError(f"{folder} is full: the backup needs about {_mb(needed)}, {_mb(usage.free)} are free "
                              "(free some space or use another stick).")
        try:
            _copy(src, partial, pages, page_size, progress)
            _settle(partial)
            os.replace(partial, final)
            _fsync_dir(folder)
        except BackupError:
            raise
        except (OSError, sqlite3.Error) as exc:
            raise _explain(exc, folder, needed) from exc
        finally:
            if partial.exists():
                try:
                    partial.unlink()
                except OSError:
                    pass
    finally:
        src.close()
    return BackupResult(path=str(final), at=datetime.now(timezone.utc), bytes=final.stat().st_size,
                        seconds=round(time.monotonic() - started, 3))


def _copy(src: sqlite3.Connection, partial: Path, pages: int, page_size: int, progress) -> None:
    chunk = max(64, pages // 20)
    seen = {"remaining": None, "restarts": 0}

    def step(_status, remaining, total):
        if seen["remaining"] is not None and remaining >= seen["remaining"]:  # started over
            seen["restarts"] += 1
            if seen["restarts"] > MAX_RESTARTS:
                raise _SourceChanged()
        seen["remaining"] = remaining
        if progress:
            progress((total - remaining) * page_size, total * page_size)

    for whole in (False, True):
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the copy holds everyone's email
        os.close(fd)
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst, pages=-1 if whole else chunk, progress=step)
            if progress:
                progress(pages * page_size, pages * page_size)  # (the last step is not reported)
            # One self-contained file: no -wal or -shm next to it on the stick, opens read-only anywhere.
            dst.execute("PRAGMA journal_mode=DELETE")
            verdict = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise BackupError(f"The copy failed its integrity check ({verdict}); the database itself may be "
                                  "damaged: run `givetake doctor`.")
            return
        except _SourceChanged:
            seen["remaining"], seen["restarts"] = None, 0
        finally:
            dst.close()


def _settle(path: Path) -> None:
    """Flush the finished copy to the device before it gets its final name."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backups_in(folder: Path, label: str) -> list[Path]:
    """Our backups with this label in `folder`, newest first (by the time in their names); nothing else."""
    ours = []
    for path in folder.iterdir():
        match = _NAME.match(path.name)
        if match and match["label"] == label and path.is_file():
            ours.append(((match["stamp"], int(match["n"] or 0)), path))
    return [path for _, path in sorted(ours, reverse=True)]


def rotate(folder: Path, label: str, keep: int) -> list[Path]:
    """Delete all but the `keep` newest backups with this label in `folder`; return what was deleted.

    Only files named as we name backups are counted or touched: nothing else on the stick.
    """
    removed = backups_in(folder, label)[keep:]
    for path in removed:
        path.unlink()
    return removed


def record(instance_path: str, result: BackupResult | None = None, error: str | None = None) -> None:
    """Remember the last backup (and the last failure, if the latest attempt failed) for the ready panel."""
    path = Path(instance_path) / RECORD_NAME
    data = last_backup(instance_path) or {}
    if result is not None:
        data.update({**asdict(result), "at": result.at.isoformat(), "error": None, "error_at": None})
    if error is not None:
        data.update({"error": error, "error_at": datetime.now(timezone.utc).isoformat()})
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(temporary, path)


def last_backup(instance_path: str) -> dict | None:
    """What `record` wrote: path, at (ISO, UTC), bytes, seconds, error, error_at; None before the first backup."""
    try:
        data = json.loads((Path(instance_path) / RECORD_NAME).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def pg_dump_command(url: str, target: Path, label: str, now: datetime) -> str:
    """The pg_dump command that backs up a PostgreSQL database to `target` (a folder or a file), no password in it."""
    parsed = make_url(url)
    conninfo = URL.create("postgresql", username=parsed.username, host=parsed.host, port=parsed.port,
                          database=parsed.database, query=parsed.query).render_as_string(hide_password=False)
    out = target / backup_name(label, now).replace(SUFFIX, ".dump") if target.is_dir() else target
    return f"pg_dump --format=custom --file={shlex.quote(str(out))} {shlex.quote(conninfo)}"
