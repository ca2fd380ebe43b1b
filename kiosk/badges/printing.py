"""Printer-neutral printing: CUPS queues driven over IPP (HTTP), never through `lp` or `lpstat`.

A serving process must never fork once it has threads (DESIGN.md, Processes): a `lpstat` run while a native
thread did numpy froze the whole gevent server, OpenBLAS's fork handler waiting on its own worker for ever. So
this module speaks IPP to the scheduler itself (kiosk.badges.ipp, over `http.client`, whose sockets gevent makes
cooperative), with a timeout on every request so a wedged cupsd cannot hang a kiosk check-in.

The scheduler is CUPS_SERVER when set (host, host:port or a socket path, as for CUPS's own commands), else
localhost:631.
"""
from __future__ import annotations

import getpass
import http.client
import itertools
import os
import re
import socket
from dataclasses import dataclass, field
from typing import Sequence
from urllib.parse import quote

from . import ipp

#: Seconds before a CUPS request is given up on (connecting, or waiting for the answer).
COMMAND_TIMEOUT = 15.0
SUBMIT_TIMEOUT = 30.0
DEFAULT_SERVER = "localhost"
DEFAULT_PORT = 631
#: IPP name values are at most 255 octets (RFC 8011 section 5.1.3); job names are kept well short of that.
TITLE_CHARS = 200
NOT_RUNNING = "the CUPS scheduler (cupsd) is not running"


class PrintError(Exception):
    """A print that could not be done; `reasons` maps each printer tried to why it failed."""

    def __init__(self, message: str, reasons: dict[str, str] | None = None):
        super().__init__(message)
        self.reasons = dict(reasons or {})


@dataclass(frozen=True)
class Printer:
    """A CUPS queue as the admin sees it."""

    name: str
    state: str  # "idle" | "printing" | "stopped"
    accepting: bool
    is_default: bool
    info: str = ""  # the queue's description
    reason: str = ""  # why it is stopped or rejecting jobs, as CUPS says it

    @property
    def usable(self) -> bool:
        """True if a job sent now would print (not stopped, accepting jobs)."""
        return self.state != "stopped" and self.accepting


@dataclass(frozen=True)
class JobStatus:
    """Where a print job is: "queued", "printing", "done" or "failed", with CUPS's reason."""

    state: str
    reason: str = ""
    details: dict = field(default_factory=dict, compare=False)
    #: True once CUPS began processing the job (its time-at-processing is set): some or all of the badge may have
    #: come out, even when CUPS then cancelled it or put it back in the queue.
    started: bool = False
    #: Why the job's queue cannot print it where it is, "" when it can: the queue was removed or is stopped. (A
    #: queue that only rejects new jobs still prints the ones it has.)
    stranded: str = ""


# ---------------------------------------------------------------------------------------------- transport

_request_ids = itertools.count(1)


@dataclass(frozen=True)
class Server:
    """Where the CUPS scheduler listens: a TCP host and port, or a local socket path."""

    host: str = DEFAULT_SERVER
    port: int = DEFAULT_PORT
    socket_path: str | None = None

    def __str__(self) -> str:
        return self.socket_path or f"{self.host}:{self.port}"

    def uri(self, path: str) -> str:
        """An ipp:// URI on this server (CUPS reads only its path, but it must be a whole URI)."""
        if self.socket_path:
            return f"ipp://localhost{path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ipp://{host}:{self.port}{path}"


def cups_server(environ=os.environ) -> Server:
    """The scheduler CUPS_SERVER names (host, host:port, [v6]:port or /socket/path), else localhost:631."""
    value = (environ.get("CUPS_SERVER") or "").strip()
    if not value:
        return Server()
    if value.startswith("/"):
        return Server(socket_path=value)
    value = value.split("/", 1)[0]  # CUPS allows a "/version=1.1" suffix
    host, port = value, DEFAULT_PORT
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
    elif value.count(":") == 1:
        name, _, number = value.partition(":")
        if not number.isdigit():
            raise PrintError(f"CUPS_SERVER={value!r} is not host[:port]")
        host, port = name, int(number)
    return Server(host or DEFAULT_SERVER, port)


class _UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a local socket (cupsd's /run/cups/cups.sock)."""

    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class _Cups:
    """One HTTP connection to the scheduler, for one or a few IPP requests (closed on exit)."""

    def __init__(self, timeout: float = COMMAND_TIMEOUT):
        self.server = cups_server()
        self.timeout = timeout
        if self.server.socket_path:
            self._conn = _UnixHTTPConnection(self.server.socket_path, timeout)
        else:
            self._conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=timeout)

    def __enter__(self) -> "_Cups":
        return self

    def __exit__(self, *exc) -> None:
        self._conn.close()

    def call(self, path: str, operation: int, *attrs: ipp.Attr, data: bytes = b"") -> ipp.Response:
        """Send one IPP request to `path` ("/", "/printers/X", "/jobs/") and decode the answer."""
        body = ipp.encode_request(operation, next(_request_ids) & 0x7FFFFFFF, [ipp.operation_attributes(*attrs)],
                                  data)
        try:
            self._conn.request("POST", path, body=body, headers={"Content-Type": "application/ipp"})
            answer = self._conn.getresponse()
            payload = answer.read()
        except (ConnectionRefusedError, FileNotFoundError) as exc:
            raise PrintError(NOT_RUNNING + f" (nothing answers at {self.server})") from exc
        except (socket.timeout, TimeoutError) as exc:
            raise PrintError(f"CUPS at {self.server} did not answer within {self.timeout:g} s "
                             "(is cupsd wedged?)") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise PrintError(f"cannot talk to CUPS at {self.server}: {exc}") from exc
        if answer.status != 200:
            raise PrintError(f"CUPS at {self.server} answered HTTP {answer.status} {answer.reason}".strip())
        try:
            return ipp.decode_response(payload)
        except ipp.IPPError as exc:
            raise PrintError(f"CUPS at {self.server} sent a broken answer: {exc}") from exc


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container's odd uid): CUPS still needs one to own the job
        return "givetake"


def _failure(response: ipp.Response) -> str:
    return response.status_message or response.status_name


# ------------------------------------------------------------------------------------------------- queues

_PRINTER_ATTRIBUTES = ("printer-name", "printer-state", "printer-is-accepting-jobs", "printer-info",
                       "printer-state-message", "printer-state-reasons")
_PRINTER_STATES = {"idle": "idle", "processing": "printing", "stopped": "stopped"}
#: printer-state-reasons that say nothing a person would act on (a disabled queue says "paused").
_QUIET_REASONS = {"none", "paused"}


def _printer_of(group: ipp.Group, default: str | None) -> Printer:
    name = str(group.get("printer-name", ""))
    state = _PRINTER_STATES[ipp.PRINTER_STATES.get(group.get("printer-state"), "idle")]
    accepting = bool(group.get("printer-is-accepting-jobs", True))
    message = str(group.get("printer-state-message") or "").strip()
    keywords = [str(r) for r in group.all("printer-state-reasons") if r and str(r) not in _QUIET_REASONS]
    why = message or ", ".join(keywords)
    reasons = []
    if state == "stopped":
        reasons.append("stopped" + (f": {why}" if why else ""))
    if not accepting:
        reasons.append("not accepting jobs" + (f": {why}" if why and state != "stopped" else ""))
    return Printer(name=name, state=state, accepting=accepting, is_default=name == default,
                   info=str(group.get("printer-info") or ""), reason="; ".join(reasons))


def _default_printer(cups: _Cups) -> str | None:
    response = cups.call("/", ipp.CUPS_GET_DEFAULT,
                         ipp.Attr(ipp.KEYWORD, "requested-attributes", "printer-name"))
    if not response.ok:
        return None  # client-error-not-found: no default set
    for group in response.groups_of(ipp.PRINTER_ATTRIBUTES):
        return group.get("printer-name")
    return None


def list_printers(timeout: float = COMMAND_TIMEOUT) -> list[Printer]:
    """Every CUPS queue with its state; an empty list when none is set up."""
    with _Cups(timeout) as cups:
        response = cups.call("/", ipp.CUPS_GET_PRINTERS,
                             ipp.Attr(ipp.KEYWORD, "requested-attributes", *_PRINTER_ATTRIBUTES),
                             ipp.Attr(ipp.NAME, "requesting-user-name", _user()))
        if response.status == ipp.NOT_FOUND:
            return []  # no destinations added
        if not response.ok:
            raise PrintError(f"CUPS could not list printers: {_failure(response)}")
        default = _default_printer(cups)
    return [_printer_of(group, default) for group in response.groups_of(ipp.PRINTER_ATTRIBUTES)
            if group.get("printer-name")]


def _printer_state(cups: _Cups, name: str) -> Printer | None:
    response = cups.call(f"/printers/{quote(name)}", ipp.GET_PRINTER_ATTRIBUTES,
                         ipp.Attr(ipp.URI, "printer-uri", cups.server.uri(f"/printers/{quote(name)}")),
                         ipp.Attr(ipp.KEYWORD, "requested-attributes", *_PRINTER_ATTRIBUTES))
    groups = response.groups_of(ipp.PRINTER_ATTRIBUTES)
    return _printer_of(groups[0], None) if response.ok and groups else None


# --------------------------------------------------------------------------------------------------- jobs

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_KEYWORD = re.compile(r"^[A-Za-z0-9._-]+$")


def _clean_title(title: str) -> str:
    """A job name CUPS will take: no control characters, at most TITLE_CHARS characters and 255 octets."""
    text = " ".join(_CONTROL.sub(" ", title or "").split())[:TITLE_CHARS]
    return text.encode("utf-8")[:255].decode("utf-8", "ignore") or "badge"


def _check_queue_name(printer: str) -> None:
    if not printer or printer.startswith("-") or any(ch in printer for ch in " /#\\\t\n") \
            or _CONTROL.search(printer):
        raise PrintError(f"not a CUPS queue name: {printer!r}")


def submit_job(pdf: bytes, printer: str, *, title: str, media: str | None = None, copies: int = 1) -> str:
    """Send a PDF to a CUPS queue; return the CUPS job id (e.g. "BadgePDF-12")."""
    if not pdf.startswith(b"%PDF"):
        raise PrintError("not a PDF")
    _check_queue_name(printer)
    path = f"/printers/{quote(printer)}"
    with _Cups(SUBMIT_TIMEOUT) as cups:
        attrs = [ipp.Attr(ipp.URI, "printer-uri", cups.server.uri(path)),
                 ipp.Attr(ipp.NAME, "requesting-user-name", _user()),
                 ipp.Attr(ipp.NAME, "job-name", _clean_title(title)),
                 ipp.Attr(ipp.MIME_MEDIA_TYPE, "document-format", "application/pdf")]
        # Job template attributes may go in the operation group too (CUPS and RFC 8011 section 4.2.1.1 allow it).
        attrs.append(ipp.Attr(ipp.INTEGER, "copies", max(1, int(copies))))
        if media:
            attrs.append(ipp.Attr(ipp.KEYWORD if _KEYWORD.match(media) else ipp.NAME, "media", media))
        response = cups.call(path, ipp.PRINT_JOB, *attrs, data=pdf)
    if not response.ok:
        raise PrintError(f"{printer}: {_failure(response)}")
    job_id = next((g.get("job-id") for g in response.groups_of(ipp.JOB_ATTRIBUTES) if g.get("job-id")), None)
    if not isinstance(job_id, int):
        raise PrintError(f"{printer}: CUPS accepted the job but sent no job id")
    return f"{printer}-{job_id}"


def _split_job_id(job_id: str) -> tuple[str, int]:
    queue, _, number = job_id.rpartition("-")
    if not queue or not number.isdigit():
        raise PrintError(f"not a CUPS job id: {job_id!r}")
    return queue, int(number)


def cancel_job(job_id: str) -> None:
    """Cancel a queued or printing job."""
    _, number = _split_job_id(job_id)
    with _Cups() as cups:
        response = cups.call("/jobs/", ipp.CANCEL_JOB,
                             ipp.Attr(ipp.URI, "job-uri", cups.server.uri(f"/jobs/{number}")),
                             ipp.Attr(ipp.NAME, "requesting-user-name", _user()))
    if not response.ok:
        raise PrintError(f"cancel {job_id}: {_failure(response)}")


# IPP job-state -> ours. "processing-stopped" means the printer stopped under the job: it is still queued.
_IPP_STATES = {"pending": "queued", "pending-held": "queued", "processing": "printing",
               "processing-stopped": "queued", "canceled": "failed", "aborted": "failed", "completed": "done"}
#: job-state-reasons that only say the obvious.
_QUIET_JOB_REASONS = {"none", "processing-to-stop-point", "job-completed-successfully", "job-incoming",
                      "job-queued", "job-printing"}


def _stranded_on(queue: str, printer: Printer | None) -> str:
    """Why a queue cannot print the jobs it holds, "" when it can."""
    if printer is None:
        return "removed from CUPS"
    return (printer.reason or "stopped") if printer.state == "stopped" else ""


def job_status(job_id: str) -> JobStatus:
    """The state of a job submitted with submit_job: queued, printing, done or failed (+ why), whether it started,
    and whether its queue can still print it."""
    queue, number = _split_job_id(job_id)
    with _Cups() as cups:
        response = cups.call("/jobs/", ipp.GET_JOB_ATTRIBUTES,
                             ipp.Attr(ipp.URI, "job-uri", cups.server.uri(f"/jobs/{number}")),
                             ipp.Attr(ipp.NAME, "requesting-user-name", _user()),
                             ipp.Attr(ipp.KEYWORD, "requested-attributes", "job-state", "job-state-reasons",
                                      "job-printer-state-message", "job-state-message", "time-at-processing"))
        if response.status == ipp.NOT_FOUND:
            # Deleting a queue drops its waiting jobs outright (the one it was printing stays, cancelled).
            return JobStatus("failed", f"CUPS has no job {job_id}",
                             stranded=_stranded_on(queue, _printer_state(cups, queue)))
        if not response.ok:
            raise PrintError(f"job {job_id}: {_failure(response)}")
        job = next(iter(response.groups_of(ipp.JOB_ATTRIBUTES)), ipp.Group(ipp.JOB_ATTRIBUTES))
        ipp_state = ipp.JOB_STATES.get(job.get("job-state"), "pending")
        keywords = [str(r) for r in job.all("job-state-reasons")]
        message = str(job.get("job-printer-state-message") or job.get("job-state-message") or "").strip()
        state = _IPP_STATES[ipp_state]
        detail = ", ".join(r for r in keywords if r and r not in _QUIET_JOB_REASONS)
        reason = "; ".join(x for x in (ipp_state if state == "failed" else "", detail, message) if x)
        details = {"ipp_state": ipp_state, "job_state_reasons": ",".join(keywords)}
        started = bool(job.get("time-at-processing"))
        if state in ("queued", "failed"):
            printer = _printer_state(cups, queue)
            if state == "queued" and printer is not None and not printer.usable:
                reason = printer.reason or "printer stopped"
            return JobStatus(state, reason, details, started, _stranded_on(queue, printer))
    return JobStatus(state, reason, details, started)


def print_with_failover(pdf: bytes, printers: Sequence[str], *, title: str,
                        media: str | None = None) -> tuple[str, str]:
    """Send to the first usable printer in order; return (printer, job id) or raise PrintError with every reason."""
    if not printers:
        raise PrintError("no printer assigned")
    known = {p.name: p for p in list_printers()}
    reasons: dict[str, str] = {}
    for name in printers:
        printer = known.get(name)
        if printer is None:
            reasons[name] = "no such CUPS queue"
            continue
        if not printer.usable:
            reasons[name] = printer.reason or "not usable"
            continue
        try:
            return name, submit_job(pdf, name, title=title, media=media)
        except PrintError as exc:
            reasons[name] = str(exc)
    summary = "; ".join(f"{name}: {why}" for name, why in reasons.items())
    raise PrintError(f"no printer took the job ({summary})", reasons)

