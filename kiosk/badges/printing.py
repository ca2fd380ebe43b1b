"""Printer-neutral printing: CUPS queues driven through `lp`, `lpstat` and `cancel` (and `ipptool` for job state).

No pycups (it needs a compiler and libcups headers). Every call runs with LANG=C so the output we parse is
English whatever the host's locale, and with a timeout so a wedged cupsd cannot hang a kiosk check-in.
"""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from typing import Sequence

#: Seconds before a CUPS command is given up on.
COMMAND_TIMEOUT = 15.0
SUBMIT_TIMEOUT = 30.0


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


def _run(args: list[str], *, stdin: bytes | None = None,
         timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess:
    env = dict(os.environ, LANG="C", LC_ALL="C")
    try:
        return subprocess.run(args, input=stdin, capture_output=True, timeout=timeout, env=env, check=False)
    except FileNotFoundError as exc:
        raise PrintError(f"{args[0]} not found: install the CUPS client (Debian: cups-client)") from exc
    except subprocess.TimeoutExpired as exc:
        raise PrintError(f"{args[0]} did not answer within {timeout:g} s (is cupsd wedged?)") from exc


def _text(stream: bytes) -> str:
    return stream.decode("utf-8", "replace")


def _scheduler_error(err: str) -> str | None:
    lowered = err.lower()
    if "scheduler is not running" in lowered or "connection refused" in lowered or "bad file descriptor" in lowered:
        return "the CUPS scheduler (cupsd) is not running"
    return None


# ------------------------------------------------------------------------------------------------- queues

_PRINTER_LINE = re.compile(r"^printer (\S+) (?:is (idle)|now (printing)|(disabled))\b")
_ACCEPT_LINE = re.compile(r"^(\S+) (accepting|not accepting) requests")
_DEFAULT_LINE = re.compile(r"^system default destination: (\S+)")


def parse_lpstat(output: str) -> list[Printer]:
    """Printers from `lpstat -l -p -a -d` output (LANG=C); tolerant of lines it does not know."""
    states: dict[str, str] = {}
    stop_reasons: dict[str, list[str]] = {}
    descriptions: dict[str, str] = {}
    accepting: dict[str, bool] = {}
    reject_reasons: dict[str, list[str]] = {}
    default = None
    labeled: set[str] = set()
    current: tuple[str, str] | None = None  # (kind, name) whose indented lines follow
    for raw in output.splitlines():
        if raw[:1] in ("\t", " "):
            line = raw.strip()
            if not current or not line:
                continue
            kind, name = current
            if kind == "printer":
                if line.startswith("Description:"):
                    descriptions[name] = line.partition(":")[2].strip()
                if ":" in line:
                    labeled.add(name)
                elif name not in labeled:
                    # unlabeled lines before the -l details are the printer-state-message ("Paused")
                    stop_reasons.setdefault(name, []).append(line)
            elif kind == "accept":
                reject_reasons.setdefault(name, []).append(line)
            continue
        current = None
        m = _PRINTER_LINE.match(raw)
        if m:
            name = m.group(1)
            states[name] = "idle" if m.group(2) else "printing" if m.group(3) else "stopped"
            current = ("printer", name)
            continue
        m = _ACCEPT_LINE.match(raw)
        if m:
            accepting[m.group(1)] = m.group(2) == "accepting"
            current = ("accept", m.group(1))
            continue
        m = _DEFAULT_LINE.match(raw)
        if m:
            default = m.group(1)
    printers = []
    for name, state in states.items():
        is_accepting = accepting.get(name, True)
        reasons = []
        if state == "stopped":
            reasons.append("stopped" + (f": {'; '.join(stop_reasons[name])}" if stop_reasons.get(name) else ""))
        if not is_accepting:
            reasons.append("not accepting jobs" + (f": {'; '.join(reject_reasons[name])}"
                                                   if reject_reasons.get(name) else ""))
        printers.append(Printer(name=name, state=state, accepting=is_accepting, is_default=name == default,
                                info=descriptions.get(name, ""), reason="; ".join(reasons)))
    return printers


def list_printers() -> list[Printer]:
    """Every CUPS queue with its state; an empty list when none is set up."""
    proc = _run(["lpstat", "-l", "-p", "-a", "-d"])
    out, err = _text(proc.stdout), _text(proc.stderr)
    if proc.returncode != 0:
        if "no destinations added" in err.lower():
            return []
        raise PrintError(_scheduler_error(err) or f"lpstat failed: {err.strip() or proc.returncode}")
    return parse_lpstat(out)


# --------------------------------------------------------------------------------------------------- jobs

_REQUEST_ID = re.compile(r"request id is (\S+)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def submit_job(pdf: bytes, printer: str, *, title: str, media: str | None = None, copies: int = 1) -> str:
    """Send a PDF to a CUPS queue; return the CUPS job id (e.g. "BadgePDF-12")."""
    if not pdf.startswith(b"%PDF"):
        raise PrintError("not a PDF")
    if not printer or printer.startswith("-") or any(ch in printer for ch in " /#\t"):
        raise PrintError(f"not a CUPS queue name: {printer!r}")
    args = ["lp", "-d", printer, "-t", _CONTROL.sub(" ", title)[:200] or "badge", "-n", str(max(1, int(copies)))]
    if media:
        args += ["-o", f"media={media}"]
    proc = _run(args, stdin=pdf, timeout=SUBMIT_TIMEOUT)  # no file argument: lp reads the job from stdin
    out, err = _text(proc.stdout), _text(proc.stderr).strip()
    m = _REQUEST_ID.search(out)
    if proc.returncode != 0 or not m:
        raise PrintError(f"{printer}: {_scheduler_error(err) or err or out.strip() or 'lp failed'}")
    return m.group(1)


def cancel_job(job_id: str) -> None:
    """Cancel a queued or printing job."""
    proc = _run(["cancel", job_id])
    if proc.returncode != 0:
        raise PrintError(f"cancel {job_id}: {_text(proc.stderr).strip()}")


_IPP_GET_JOB = """{
    NAME "Get job state"
    OPERATION Get-Job-Attributes
    GROUP operation-attributes-tag
    ATTR charset attributes-charset utf-8
    ATTR naturalLanguage attributes-natural-language en
    ATTR uri printer-uri $uri
    ATTR integer job-id $job
    ATTR name requesting-user-name $user
    ATTR keyword requested-attributes job-state,job-state-reasons,job-printer-state-message
    STATUS successful-ok
    DISPLAY job-state
    DISPLAY job-state-reasons
    DISPLAY job-printer-state-message
}
"""

# IPP job-state -> ours. "processing-stopped" means the printer stopped under the job: it is still queued.
_IPP_STATES = {"pending": "queued", "pending-held": "queued", "processing": "printing",
               "processing-stopped": "queued", "canceled": "failed", "aborted": "failed", "completed": "done"}


def _cups_server_uri() -> str:
    server = os.environ.get("CUPS_SERVER", "")
    if server and not server.startswith("/"):
        return f"ipp://{server}"
    return "ipp://localhost"


def _split_job_id(job_id: str) -> tuple[str, int]:
    queue, _, number = job_id.rpartition("-")
    if not queue or not number.isdigit():
        raise PrintError(f"not a CUPS job id: {job_id!r}")
    return queue, int(number)


def _ipp_job_state(job_id: str) -> JobStatus | None:
    """Job state straight from the scheduler via ipptool; None when ipptool is not installed."""
    queue, number = _split_job_id(job_id)
    with tempfile.NamedTemporaryFile("w", suffix=".test", prefix="givetake-") as test:
        test.write(_IPP_GET_JOB)
        test.flush()
        try:
            proc = _run(["ipptool", "-T", str(int(COMMAND_TIMEOUT)), "-d", f"job={number}",
                         f"{_cups_server_uri()}/printers/{queue}", test.name])
        except PrintError:
            return None  # ipptool missing (Debian: cups-ipp-utils): fall back to lpstat
    out = _text(proc.stdout)
    if proc.returncode != 0:
        if "does not exist" in out.lower() or "not-found" in out.lower():
            return JobStatus("failed", f"CUPS has no job {job_id}")
        return None
    lines = [ln for ln in out.splitlines() if ln.strip() and not set(ln.strip()) <= {"-", " "}]
    if len(lines) < 2:
        return None
    parts = lines[1].split(None, 2)
    ipp_state = parts[0]
    reasons = parts[1] if len(parts) > 1 else ""
    message = parts[2].strip() if len(parts) > 2 else ""
    state = _IPP_STATES.get(ipp_state, "queued")
    detail = ", ".join(r for r in reasons.split(",") if r and r not in ("none", "processing-to-stop-point",
                                                                        "job-completed-successfully"))
    reason = "; ".join(x for x in (ipp_state if state == "failed" else "", detail, message) if x)
    return JobStatus(state, reason, {"ipp_state": ipp_state, "job_state_reasons": reasons})


def _lpstat_job_ids(which: str) -> set[str]:
    proc = _run(["lpstat", "-W", which, "-o"])
    if proc.returncode != 0:
        err = _text(proc.stderr)
        if _scheduler_error(err):
            raise PrintError(_scheduler_error(err))
    return {line.split()[0] for line in _text(proc.stdout).splitlines() if line and not line[0].isspace()}


def job_status(job_id: str) -> JobStatus:
    """The state of a job submitted with submit_job: queued, printing, done or failed (+ why)."""
    _split_job_id(job_id)
    status = _ipp_job_state(job_id)
    if status is not None:
        if status.state == "queued":
            queue = job_id.rpartition("-")[0]
            printer = next((p for p in list_printers() if p.name == queue), None)
            if printer is not None and not printer.usable:
                return JobStatus("queued", printer.reason or "printer stopped", status.details)
        return status
    # Without ipptool lpstat still tells pending from finished, but not printed from cancelled.
    if job_id in _lpstat_job_ids("not-completed"):
        queue = job_id.rpartition("-")[0]
        printer = next((p for p in list_printers() if p.name == queue), None)
        if printer is not None and printer.state == "printing":
            return JobStatus("printing")
        return JobStatus("queued", printer.reason if printer else "")
    if job_id in _lpstat_job_ids("completed"):
        return JobStatus("done", "finished (install cups-ipp-utils to tell printed from cancelled)")
    return JobStatus("failed", f"CUPS has no job {job_id}")


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
