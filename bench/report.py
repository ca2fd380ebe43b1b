"""`python -m bench report`: the organizer's report and every attendee's summary for a 5,000-attendee event.

Ours: `event_figures` + `organizer_report` (charts, themes, unmet needs, every table in the bundled fonts with
per-run fallback, shaping and escaping), and `summaries` + `attendee_pdf` for everyone who came. Peer: reportlab's
plain `SimpleDocTemplate` rendering the same tables (the organizer's appendix, ticket types, sponsors; each
attendee's contacts and matches) from the same figures, in Helvetica, with no charts and no font fallback (so
non-Latin names come out as boxes): the cost of the naive report, measured in the same run.

Targets on 2 cores: the organizer's report within 20 s, attendee summaries at 50 a second or more.
"""
from __future__ import annotations

import io
import os
import tempfile
import time
from pathlib import Path
from typing import Iterable

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

from bench.common import result

TARGET_ORGANIZER_S = 20.0
TARGET_SUMMARIES_PER_S = 50.0
PEER = "reportlab SimpleDocTemplate, same tables, Helvetica"


def _app(folder: Path):
    os.environ.setdefault("GIVETAKE_MATCHER", "off")
    from kiosk import schema
    from kiosk.app import create_app
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(folder), "SECRET_KEY": "bench", "MATCHER": "off"})
    schema.upgrade(app.config["DATABASE_URL"])
    return app


def _peer_organizer(f) -> bytes:
    """The same tables as ours, the plain reportlab way."""
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, invariant=True)
    story = [Paragraph(f.event.name, styles["Title"]),
             Paragraph(f"{f.registered} registered, {f.checked_in} checked in", styles["Normal"]), Spacer(1, 12)]
    story.append(Table([["ticket type", "registered", "came", "matches", "met", "contacts"]] +
                       [[t["ticket_type"], t["registered"], t["checked_in"], t["suggested"], t["met"], t["contacts"]]
                        for t in f.ticket_types], repeatRows=1))
    story.append(Table([["sponsor", "leads", "hot", "warm", "cold"]] +
                       [[s["name"], s["leads"], s["hot"], s["warm"], s["cold"]] for s in f.sponsors], repeatRows=1))
    story.append(Table([["tag", "people"]] + [[t, n] for t, n in f.top_offer_tags], repeatRows=1))
    story.append(Table([["#", "name", "company", "ticket", "matches", "met", "contacts"]] +
                       [[p["badge"], Paragraph(p["name"] or "(erased)", styles["Normal"]),
                         Paragraph(p["company"] or "", styles["Normal"]), p["ticket_type"], p["matches"], p["met"],
                         p["contacts"]] for p in f.people], repeatRows=1, splitByRow=True))
    doc.build(story)
    return buffer.getvalue()


def _peer_attendee(s) -> bytes:
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, invariant=True)
    story = [Paragraph(s.event.name, styles["Title"]), Paragraph(s.me.full_name, styles["Heading2"])]
    story += [Paragraph(i["text"], styles["Normal"]) for i in s.offers + s.needs]
    if s.met:
        story.append(Table([["name", "details", "offers", "note"]] +
                           [[Paragraph(m["name"], styles["Normal"]),
                             Paragraph(", ".join(m["shared"].values()), styles["Normal"]),
                             Paragraph(m["offer"], styles["Normal"]), Paragraph(m["note"], styles["Normal"])]
                            for m in s.met], repeatRows=1))
    if s.not_met:
        story.append(Table([["match", "follow up"]] + [[Paragraph(m["name"], styles["Normal"]),
                                                        Paragraph(m["line"], styles["Normal"])] for m in s.not_met],
                           repeatRows=1))
    doc.build(story)
    return buffer.getvalue()


def run(quick: bool = False) -> Iterable[dict]:
    from kiosk.db import db
    from kiosk.demo import add_demo_networking, create_demo_event
    from kiosk.reports import render, service

    n = 500 if quick else 5000
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(Path(tmp))
        with app.app_context():
            s = db.session
            event = create_demo_event(s, attendees=n, checked_in_share=0.7)
            add_demo_networking(s, event, matches_per_person=3)
            s.commit()
            event_id = event.id
        with app.app_context():
            from kiosk.models import Event
            s = db.session
            event = s.get(Event, event_id)
            render.organizer_report(service.event_figures(s, event))  # fonts loaded, caches warm: not the measure
            started = time.perf_counter()
            figures = service.event_figures(s, event)
            counted = time.perf_counter()
            pdf = render.organizer_report(figures)
            ours = time.perf_counter() - started
            peer_started = time.perf_counter()
            _peer_organizer(figures)
            peer = time.perf_counter() - peer_started
            yield result("report", "organizer_report_s", ours, "s", n, PEER, peer, higher_is_better=False,
                         figures_s=round(counted - started, 3), pages=pdf.count(b"/Type /Page\n"),
                         target_s=TARGET_ORGANIZER_S)

            started = time.perf_counter()
            made = 0
            all_summaries = []
            for summary in service.summaries(s, event):
                render.attendee_pdf(summary)
                all_summaries.append(summary)
                made += 1
            ours = made / (time.perf_counter() - started)
            peer_started = time.perf_counter()
            for summary in all_summaries:
                _peer_attendee(summary)
            peer = len(all_summaries) / (time.perf_counter() - peer_started)
            yield result("report", "attendee_summaries_per_s", ours, "1/s", made, PEER, peer,
                         target_per_s=TARGET_SUMMARIES_PER_S)
        app.extensions["givetake.db"].dispose()
