"""`givetake backup`: consistent copies of a SQLite database that is being written, rotation, clear failures, and
the pg_dump command it prints for PostgreSQL (run here against the real server)."""
from __future__ import annotations

import json
import os
import shlex
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from kiosk.backups.service import (RECORD_NAME, backup_name, backup_sqlite, backups_in, destination, pg_dump_command,
                                   rotate)
from kiosk.checkin.service import check_in
from kiosk.db import db
from kiosk.models import Attendee, utcnow
from tests.conftest import build_app
from tests.factories import make_attendee, make_event
from tests.realparts import need, need_program

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app(tmp_path):
    """The app on a SQLite file, matcher off (check-ins here are only writes to copy, not work for MiniLM)."""
    app = build_app(tmp_path / "instance", MATCHER="off")
    yield app
    app.extensions["givetake.db"].dispose()


def _people(app, n: int) -> list[int]:
    with app.app_context():
        event = make_event(db.session, slug="backup-conf")
        ids = [make_attendee(db.session, event, company="Acme " * 20,
                             offers=[f"Offer number {i} " + "x" * 200]).id for i in range(n)]
        db.session.commit()
    return ids


def _givetake(app, *args: str, timeout: float = 120, wrap: list[str] = ()) -> subprocess.CompletedProcess:
    """The `givetake` command of this checkout, as its own process, on the app's instance and database (`wrap`:
    a command prefix to run it under)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIVETAKE_")}
    env.update(GIVETAKE_INSTANCE_PATH=app.instance_path, GIVETAKE_DATABASE_URL=app.config["DATABASE_URL"],
               GIVETAKE_SECRET_KEY=app.config["SECRET_KEY"], GIVETAKE_MATCHER="off")
    return subprocess.run([*wrap, sys.executable, "-c", "from kiosk.launch import main; main()", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)


def _checked_in(path: Path) -> tuple[set[int], int, str]:
    """(checked-in attendee ids, check-in messages logged, integrity_check) of a backup file, opened read-only."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        ids = {row[0] for row in conn.execute("SELECT id FROM attendees WHERE checked_in_at IS NOT NULL")}
        logged = conn.execute("SELECT count(*) FROM event_log WHERE type = 'checkin'").fetchone()[0]
        return ids, logged, verdict
    finally:
        conn.close()


def test_a_backup_taken_while_check_ins_are_written_is_whole_and_has_every_committed_row(app, tmp_path):
    ids = _people(app, 600)
    committed: list[int] = []
    stop = threading.Event()

    def kiosks():
        # Check-ins as the server does them: one transaction each (the attendee row and its logged message).
        with app.app_context():
            for attendee_id in ids:
                if stop.is_set():
                    return
                session = db.session
                attendee = session.get(Attendee, attendee_id)
                check_in(session, attendee.event, attendee)
                session.commit()
                committed.append(attendee_id)
                session.close()

    writer = threading.Thread(target=kiosks, daemon=True)
    writer.start()
    try:
        usb = tmp_path / "usb"
        usb.mkdir()
        checks = []
        for _ in range(3):
            while len(committed) < 20 + 40 * len(checks) and writer.is_alive():
                time.sleep(0.01)
            before = set(committed)
            result = _givetake(app, "backup", str(usb))
            after = set(committed)
            assert result.returncode == 0, result.stderr
            checks.append((before, after))
    finally:
        stop.set()
        writer.join(30)
    backups = backups_in(usb, "backup-conf")[::-1]  # oldest first, as they were taken
    assert len(backups) == 3 and len(list(usb.iterdir())) == 3
    assert any(len(after) > len(before) for before, after in checks), "no check-in was written during a backup"
    for path, (before, after) in zip(backups, checks):
        found, logged, verdict = _checked_in(path)
        assert verdict == "ok"
        assert before <= found <= after  # every row committed before the copy began; nothing never committed
        assert logged == len(found)  # whole transactions only: each check-in with its message, never one alone
        assert not Path(f"{path}-wal").exists() and not Path(f"{path}-shm").exists()  # one self-contained file
        assert path.stat().st_mode & 0o077 == 0  # it holds everyone's email, like the database itself
    record = json.loads((Path(app.instance_path) / RECORD_NAME).read_text())
    assert record["path"] == str(backups[-1]) and record["error"] is None


def test_a_server_writing_between_every_step_still_gets_a_whole_copy(app, tmp_path):
    """SQLite restarts a stepped copy when another connection writes; after a few restarts it is taken in one step."""
    ids = _people(app, 400)
    source = app.config["DATABASE_URL"].split("///", 1)[1]
    writer = sqlite3.connect(source, timeout=15, isolation_level=None)
    writes = []

    def progress(done, total):
        if done < total:  # the server commits while the copy is half done, every time
            writer.execute("UPDATE attendees SET company = 'written mid-copy' WHERE id = ?", (ids[len(writes)],))
            writes.append(done)

    result = backup_sqlite(source, tmp_path / "copy.sqlite3", progress)
    writer.close()
    assert len(writes) >= 4  # the stepped copy was restarted until it gave up stepping
    conn = sqlite3.connect(result.path)
    changed = conn.execute("SELECT count(*) FROM attendees WHERE company = 'written mid-copy'").fetchone()[0]
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok" and changed == len(writes)
    conn.close()


def test_every_with_a_tiny_interval_makes_rotated_copies_and_touches_nothing_else(app, tmp_path):
    _people(app, 5)
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / "notes.txt").write_text("the organizer's own file")
    (usb / "other-event-20250101-090000.sqlite3").write_bytes(b"another event's backup")
    result = _givetake(app, "backup", str(usb), "--every", "0.005", "--keep", "2", "--count", "4")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Backup written:") == 4 and "removed 1 older" in result.stdout
    ours = backups_in(usb, "backup-conf")  # newest first
    assert len(ours) == 2 and {p.name for p in usb.iterdir() if p.name.startswith("backup-conf-")} == \
        {p.name for p in ours}
    assert (usb / "notes.txt").exists() and (usb / "other-event-20250101-090000.sqlite3").exists()
    assert not [p for p in usb.iterdir() if "partial" in p.name]
    for path in ours:
        assert _checked_in(path)[2] == "ok"
    record = json.loads((Path(app.instance_path) / RECORD_NAME).read_text())
    assert record["path"] == str(ours[0])  # the newest, and it is one of those kept


def test_a_backup_after_rotation_in_the_same_second_is_named_newest(tmp_path):
    """Three backups in one second, rotation removed the first: the fourth must not take the freed name (it would
    sort as the oldest and be the next one rotation deletes; seen as a flake of the --every test)."""
    now = datetime(2026, 12, 3, 8, 55, 0).astimezone()
    for n in range(3):
        path, is_folder = destination(tmp_path, "e", now)
        assert is_folder and path.name == backup_name("e", now, n)
        path.write_bytes(b"")
    (tmp_path / backup_name("e", now, 0)).unlink()
    newest, _ = destination(tmp_path, "e", now)
    assert newest.name == backup_name("e", now, 3)
    newest.write_bytes(b"")
    assert backups_in(tmp_path, "e")[0] == newest


def test_rotation_keeps_the_newest_by_their_time_not_by_the_order_on_disk(tmp_path):
    names = ["e-20261203-085500.sqlite3", "e-20261203-085500-1.sqlite3", "e-20261203-090500.sqlite3",
             "e-20261203-080000.sqlite3"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    removed = rotate(tmp_path, "e", keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e-20261203-085500-1.sqlite3", "e-20261203-090500.sqlite3"]
    assert len(removed) == 2


def test_a_target_that_cannot_be_written_fails_clearly_and_is_recorded(app, tmp_path):
    _people(app, 3)
    missing = _givetake(app, "backup", str(tmp_path / "not-mounted" / "stick"))
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "is the USB stick plugged in and mounted?" in missing.stderr
    refused = _givetake(app, "backup", "/proc/")  # read-only even for root
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "Cannot write to /proc" in refused.stderr
    record = json.loads((Path(app.instance_path) / RECORD_NAME).read_text())
    assert "Cannot write to /proc" in record["error"] and record.get("path") is None  # never a backup so far


def _in_own_mounts(mount: str, folder: Path) -> list[str]:
    """A command prefix that runs the rest in a private mount namespace with `mount` (a shell command; "$0" is
    `folder`) done first:
    a real read-only or full filesystem for that one process, invisible to everything else on the machine."""
    need_program("unshare", "mount")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True)
    need("a private mount namespace (unshare -m, as root)", probe.returncode == 0, probe.stderr.strip())
    return ["unshare", "-m", "sh", "-c", f'{mount} && exec "$@"', str(folder)]


def test_a_read_only_stick_and_a_full_one_fail_clearly(app, tmp_path):
    _people(app, 20)
    stick = tmp_path / "stick"
    stick.mkdir()
    (stick / "older-backup.sqlite3").write_bytes(b"kept")
    read_only = _givetake(app, "backup", str(stick), wrap=_in_own_mounts('mount --bind -o ro "$0" "$0"', stick))
    assert read_only.returncode == 1 and "Traceback" not in read_only.stderr, read_only.stderr
    assert f"Cannot write to {stick} (Read-only file system)" in read_only.stderr
    full = _givetake(app, "backup", str(stick), wrap=_in_own_mounts('mount -t tmpfs -o size=64k tmpfs "$0"', stick))
    assert full.returncode == 1 and "Traceback" not in full.stderr, full.stderr
    assert f"{stick} is full: the backup needs about" in full.stderr
    assert [p.name for p in stick.iterdir()] == ["older-backup.sqlite3"]  # nothing half-written left behind


@pytest.mark.postgres
def test_on_postgresql_it_prints_the_pg_dump_command_and_that_command_works(pg_url, tmp_path):
    need_program("pg_dump", "pg_restore")
    app = build_app(tmp_path / "instance", pg_url, MATCHER="off")
    try:
        _people(app, 3)
        out = tmp_path / "usb"
        out.mkdir()
        result = _givetake(app, "backup", str(out))
        assert result.returncode == 1, result.stdout + result.stderr  # nothing was backed up by this command
        assert "back PostgreSQL up with pg_dump" in result.stderr
        command = next(line.strip() for line in result.stdout.splitlines() if line.strip().startswith("pg_dump "))
        assert "+psycopg" not in command and "backup-conf-" in command
        assert "s3cret" not in pg_dump_command(pg_url.replace("postgres@", "postgres:s3cret@"), out, "x", utcnow())
        dumped = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=120)
        assert dumped.returncode == 0, dumped.stderr
        (dump,) = out.iterdir()
        listing = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True, check=True)
        assert "TABLE DATA public attendees" in listing.stdout
    finally:
        app.extensions["givetake.db"].dispose()
