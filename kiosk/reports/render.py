"""The two post-event PDFs, drawn with reportlab from kiosk.reports.service's figures.

Charts are reportlab graphics (vector, no image library): the arrival curve with its peak 15 minutes marked,
check-ins, matches and contacts per hour, the networking funnel and how connected people became. Every section
says so when it has no data. User text goes through `rich` (prints literally, any script).
"""
from __future__ import annotations

import io
from datetime import timedelta

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, KeepTogether, PageBreak, Spacer, Table, TableStyle

from ..badges.fonts import font_stack
from .pdf import GIVE, INK, LINE, MUTED, PAPER, SERIES, TAKE, ReportDoc, para, plain, rich, table, when
from .service import AttendeeSummary, EventFigures

WIDTH = 174 * mm  # A4 less the margins


def _font() -> str:
    return font_stack(False).primary


def _bold() -> str:
    return font_stack(True).primary


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _empty(text: str):
    return para(plain(text), "empty")


def _section(title: str, *flowables) -> list:
    """A heading kept with what follows it (a chart or a table's first rows never start a page alone)."""
    return [CondPageBreak(45 * mm), para(plain(title), "h2"), *flowables]


# --------------------------------------------------------------------------------------------------- charts

def _axis_fonts(chart) -> None:
    for axis in (chart.categoryAxis if hasattr(chart, "categoryAxis") else chart.xValueAxis,
                 chart.valueAxis if hasattr(chart, "valueAxis") else chart.yValueAxis):
        axis.labels.fontName = _font()
        axis.labels.fontSize = 7
        axis.labels.fillColor = MUTED
        axis.strokeColor = LINE


def arrival_chart(f: EventFigures) -> Drawing:
    """Check-ins over time (cumulative), the busiest 15 minutes shaded."""
    d = Drawing(WIDTH, 62 * mm)
    first = f.arrivals[0]
    span = max((f.arrivals[-1] - first).total_seconds() / 60, 15)
    points = [(0, 0)] + [((t - first).total_seconds() / 60, i + 1) for i, t in enumerate(f.arrivals)]
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 12 * mm, 10 * mm, WIDTH - 16 * mm, 48 * mm
    plot.data = [points]
    plot.lines[0].strokeColor = GIVE
    plot.lines[0].strokeWidth = 1.6
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = 0, span
    step = next(s for s in (15, 30, 60, 120, 240, 480, 1440) if span / s <= 8)
    plot.xValueAxis.valueSteps = [m for m in range(0, int(span) + step, step) if m <= span]
    tz = f.tz
    plot.xValueAxis.labelTextFormat = lambda m: (first + timedelta(minutes=m)).astimezone(tz).strftime("%H:%M")
    plot.yValueAxis.valueMin = 0
    _axis_fonts(plot)
    if f.peak_start is not None:
        x0 = plot.x + plot.width * (f.peak_start - first).total_seconds() / 60 / span
        w = max(plot.width * 15 / span, 1.5)
        d.add(Rect(x0, plot.y, min(w, plot.x + plot.width - x0), plot.height, fillColor=colors.HexColor("#fde68a"),
                   strokeColor=None, fillOpacity=0.6))
        d.add(String(min(x0 + 2, plot.x + plot.width - 60), plot.y + plot.height - 8,
                     f"peak: {f.peak_count} in 15 min", fontName=_bold(), fontSize=7, fillColor=TAKE))
    d.add(plot)
    return d


def per_hour_chart(f: EventFigures) -> Drawing:
    """Check-ins, matches and contacts per hour, side by side."""
    d = Drawing(WIDTH, 64 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 12 * mm, 16 * mm, WIDTH - 16 * mm, 44 * mm
    chart.data = [f.checkins_per_hour, f.matches_per_hour, f.contacts_per_hour]
    labels = [h.strftime("%H:00") for h in f.hours]
    if len(labels) > 16:
        labels = [lab if i % -(-len(labels) // 16) == 0 else "" for i, lab in enumerate(labels)]
    chart.categoryAxis.categoryNames = labels
    chart.valueAxis.valueMin = 0
    chart.barSpacing, chart.groupSpacing = 0.5, 4
    for i, colour in enumerate((GIVE, TAKE, SERIES[2])):
        chart.bars[i].fillColor = colour
        chart.bars[i].strokeColor = None
    _axis_fonts(chart)
    d.add(chart)
    legend = Legend()
    legend.x, legend.y = 12 * mm, 5 * mm
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.fontName, legend.fontSize = _font(), 7.5
    legend.colorNamePairs = [(GIVE, "check-ins"), (TAKE, "matches suggested"), (SERIES[2], "contacts swapped")]
    d.add(legend)
    return d


def funnel_chart(f: EventFigures) -> Drawing:
    """The networking funnel as horizontal bars: suggested, accepted, met; scans, contact pairs, mutual."""
    stages = [("matches suggested", f.suggested, GIVE), ("accepted", f.accepted, GIVE), ("met", f.met, GIVE),
              ("badge scans", f.scans, TAKE), ("contacts swapped", f.contact_pairs, TAKE),
              ("both ways (mutual)", f.mutual_pairs, TAKE)]
    d = Drawing(WIDTH, 58 * mm)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 38 * mm, 4 * mm, WIDTH - 62 * mm, 52 * mm
    chart.data = [[v for _, v, _ in reversed(stages)]]
    chart.categoryAxis.categoryNames = [label for label, _, _ in reversed(stages)]
    chart.valueAxis.valueMin = 0
    chart.valueAxis.visible = False
    chart.bars[0].strokeColor = None
    for i, (_, _, colour) in enumerate(reversed(stages)):
        chart.bars[(0, i)].fillColor = colour
    chart.barLabelFormat = "%d"
    chart.barLabels.fontName, chart.barLabels.fontSize = _bold(), 8
    chart.barLabels.boxAnchor, chart.barLabels.dx = "w", 3
    _axis_fonts(chart)
    chart.categoryAxis.labels.fontSize = 8
    chart.categoryAxis.labels.fillColor = INK
    d.add(chart)
    return d


def degree_chart(f: EventFigures) -> Drawing:
    """How many people made 0, 1, 2, 3-4... contacts."""
    d = Drawing(WIDTH / 2, 48 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 10 * mm, 10 * mm, WIDTH / 2 - 14 * mm, 34 * mm
    chart.data = [[n for _, n in f.degree_histogram]]
    chart.categoryAxis.categoryNames = [label for label, _ in f.degree_histogram]
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor, chart.bars[0].strokeColor = SERIES[2], None
    _axis_fonts(chart)
    d.add(chart)
    d.add(String(10 * mm, 2, "contacts per person", fontName=_font(), fontSize=7, fillColor=MUTED))
    return d


# --------------------------------------------------------------------------------------------------- organizer

def _headline(f: EventFigures) -> Table:
    figures = [
        (f.registered, "registered"), (f.checked_in, "checked in"), (_pct(f.show_rate), "show rate"),
        (f.walk_ins, "walk-ins"), (f.suggested, "matches suggested"), (f.accepted, "matches accepted"),
        (f.met, "matches met"), (f.contact_pairs, "contacts swapped"),
        (_pct(f.connected_share), "made a new contact"),
    ]
    cells = [[para(plain(value), "figure"), para(plain(label), "label")] for value, label in figures]
    rows = [[Table([[c[0]], [c[1]]], colWidths=[WIDTH / 3 - 6]) for c in cells[i:i + 3]] for i in range(0, 9, 3)]
    t = Table(rows, colWidths=[WIDTH / 3] * 3)
    t.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.6, LINE), ("INNERGRID", (0, 0), (-1, -1), 0.6, LINE),
                           ("BACKGROUND", (0, 0), (-1, -1), PAPER), ("TOPPADDING", (0, 0), (-1, -1), 6),
                           ("BOTTOMPADDING", (0, 0), (-1, -1), 6)]))
    return t


def _counts_table(pairs: list[tuple[str, int]], title: str) -> Table:
    rows = [[plain(title), plain("people")]] + [[rich(label, limit=60), plain(n)] for label, n in pairs]
    return table(rows, [58 * mm, 20 * mm], numeric=(1,))


def _side_by_side(left, right) -> Table:
    t = Table([[left, right]], colWidths=[WIDTH / 2, WIDTH / 2], hAlign="LEFT")
    t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return t


def _themes_table(groups, what: str) -> Table:
    rows = [[plain("theme"), plain(what), plain("for example")]]
    for g in groups:
        rows.append([rich(g.label, bold=True, limit=40), plain(g.count),
                     "<br/>".join("\u2022 " + rich(e, limit=90) for e in g.examples)])
    return table(rows, [38 * mm, 18 * mm, WIDTH - 56 * mm], numeric=(1,))


def organizer_story(f: EventFigures) -> list:
    """The organizer report's flowables."""
    e = f.event
    dates = " \u2013 ".join(when(t, f.tz, "%d %b %Y") for t in (e.starts_at, e.ends_at) if t) or "dates not set"
    story = [para(plain("Post-event report"), "label"), para(rich(e.name, bold=True), "h1"),
             para(plain(dates) + (" \u00b7 " + rich(e.venue) if e.venue else ""), "body"), Spacer(1, 6 * mm),
             _headline(f), Spacer(1, 4 * mm)]
    if not f.checked_in:
        story.append(_empty("Nobody checked in at this event, so there is no networking to report yet."))

    # attendance
    attendance = [para(plain(f"{f.checked_in} of {f.registered} registered people came ({_pct(f.show_rate)}), "
                             f"{f.walk_ins} of them walk-ins."), "body")]
    if f.arrivals:
        attendance += [Spacer(1, 2 * mm), arrival_chart(f),
                       para(plain(f"The busiest 15 minutes began at {when(f.peak_start, f.tz, '%H:%M')}: "
                                  f"{f.peak_count} check-ins. Plan kiosks and staff for that rate "
                                  f"({f.peak_count * 4} an hour)."), "small")]
    else:
        attendance.append(_empty("No check-ins, so no arrival curve."))
    story += _section("Attendance", *attendance)

    # funnel
    funnel = []
    if f.suggested or f.scans:
        accepted = f"{_pct(f.accepted / f.suggested)} accepted, {_pct(f.met / f.suggested)} met" if f.suggested \
            else "no matches"
        funnel += [funnel_chart(f), para(plain(
            f"Of {f.suggested} matches suggested, {accepted}. {f.scans} badge scans made {f.contact_pairs} "
            f"contacts, {f.mutual_pairs} of them both ways."), "body")]
    else:
        funnel.append(_empty("No matches were suggested and no badges were scanned."))
    if f.hours and (f.suggested or f.scans or f.checked_in):
        funnel.append(KeepTogether([para(plain("Per hour"), "h3"), per_hour_chart(f)]))
    if f.ticket_types:
        rows = [[plain(h) for h in ("ticket type", "registered", "came", "show rate", "matches", "met",
                                    "contacts")]]
        for t in f.ticket_types:
            rows.append([rich(t["ticket_type"], limit=40), plain(t["registered"]), plain(t["checked_in"]),
                         plain(_pct(t["checked_in"] / t["registered"]) if t["registered"] else "\u2014"),
                         plain(t["suggested"]), plain(t["met"]), plain(t["contacts"])])
        funnel += [para(plain("Per ticket type"), "h3"), table(rows, [50 * mm] + [20.5 * mm] * 6,
                                                               numeric=(1, 2, 3, 4, 5, 6)),
                   para(plain("A match counts once for each side's ticket type; contacts by the scanner's."),
                        "small")]
    funnel.append(para(plain("Networking rounds"), "h3"))
    if f.rounds:
        rows = [[plain(h) for h in ("round", "started", "people", "groups", "met", "take-up")]]
        for r in f.rounds:
            rows.append([plain(r["number"]), plain(when(r["starts_at"], f.tz, "%H:%M")), plain(r["people"]),
                         plain(r["groups"]), plain(r["met"]),
                         plain(_pct(r["accepted"] / r["matches"]) if r["matches"] else "\u2014")])
        funnel.append(table(rows, [20 * mm, 30 * mm, 25 * mm, 25 * mm, 25 * mm, 25 * mm], numeric=(2, 3, 4, 5)))
        funnel.append(para(plain("Take-up: the share of a round's pairs who accepted or marked that they met."),
                           "small"))
    else:
        funnel.append(_empty("No networking rounds were run."))
    story += _section("The networking funnel", *funnel)

    # offers and needs
    cards = []
    if f.top_offer_tags or f.top_need_tags:
        cards.append(_side_by_side(_counts_table(f.top_offer_tags, "offered (tags)"),
                                   _counts_table(f.top_need_tags, "looked for (tags)")))
    if f.offer_themes or f.need_themes:
        cards.append(KeepTogether([para(plain("Words people used most"), "h3"), _side_by_side(
            _counts_table(f.offer_themes, "in offers"), _counts_table(f.need_themes, "in needs"))]))
    if not cards:
        cards.append(_empty("Nobody filled in their cards."))
    story += _section("What people offered and looked for", *cards)

    unmet = [para(plain(f"{f.unmet_need_count} of {f.need_count} needs were offered by nobody at the event "
                        "(no shared topic, no shared word, nothing close in meaning): whom to invite next time."),
                  "body")] if f.need_count else []
    unmet.append(_themes_table(f.unmet_needs, "needs") if f.unmet_needs else
                 _empty("Every need had someone at the event who offered it." if f.need_count
                        else "Nobody said what they were looking for."))
    if f.unneeded_offers:
        unmet += [para(plain("Offers nobody needed"), "h3"), _themes_table(f.unneeded_offers, "offers")]
    story += _section("Unmet needs", *unmet)

    network = []
    if f.checked_in:
        network.append(para(plain(
            f"{f.contact_pairs} contacts joined {f.checked_in - f.isolated} of the {f.checked_in} people who came "
            f"into {f.components} group(s); the largest holds {f.largest_component} people. "
            f"{f.isolated} people ({_pct(f.isolated / f.checked_in)}) made no contact by badge scan."), "body"))
        network.append(degree_chart(f))
    else:
        network.append(_empty("Nobody came, so nobody connected."))
    story += _section("The network", *network)

    if f.sponsors:
        rows = [[plain(h) for h in ("sponsor", "leads", "hot", "warm", "cold", "unrated")]]
        rows += [[rich(s["name"], limit=50), plain(s["leads"]), plain(s["hot"]), plain(s["warm"]), plain(s["cold"]),
                  plain(s["unrated"])] for s in f.sponsors]
        story += _section("Sponsors", table(rows, [64 * mm] + [22 * mm] * 5, numeric=(1, 2, 3, 4, 5)))
    else:
        story += _section("Sponsors", _empty("No sponsor scanned leads at this event."))

    story += [PageBreak(), para(plain("Appendix: attendees"), "h2"),
              para(plain("Everyone registered, with their counts. Erased people keep their row (the counts add up) "
                         "without their name; contact details are not in this report."), "small"), Spacer(1, 2 * mm)]
    rows = [[plain(h) for h in ("#", "name", "company", "ticket", "checked in", "matches", "met", "contacts")]]
    for p in f.people:
        rows.append([plain(p["badge"]), rich(p["name"], limit=40) if p["name"] else plain("(erased)"),
                     rich(p["company"], limit=30), rich(p["ticket_type"], limit=16),
                     plain(when(p["checked_in_at"], f.tz, "%d %b %H:%M") if p["checked_in_at"] else "\u2014"),
                     plain(p["matches"]), plain(p["met"]), plain(p["contacts"])])
    story.append(table(rows, [11 * mm, 42 * mm, 32 * mm, 20 * mm, 24 * mm, 17 * mm, 11 * mm, 17 * mm],
                       numeric=(0, 5, 6, 7)))
    return story


def organizer_report(f: EventFigures) -> bytes:
    """The organizer's PDF."""
    buffer = io.BytesIO()
    doc = ReportDoc(buffer, title=f"{f.event.name}: post-event report",
                    footer=f"{f.event.name} \u00b7 post-event report \u00b7 Give & Take")
    doc.build(organizer_story(f))
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------------- attendee

def _items(items: list[dict]) -> str:
    return "<br/>".join("\u2022 " + (rich(i["text"]) or rich(", ".join(i["tags"]))) for i in items)


def attendee_story(s: AttendeeSummary) -> list:
    """One attendee's summary flowables."""
    me = s.me
    story = [para(plain("Your summary of"), "label"), para(rich(s.event.name, bold=True), "h1"),
             para(rich(me.full_name, bold=True) + (" \u00b7 " + rich(me.company) if me.company else "")
                  + plain(f" \u00b7 badge #{me.id}"), "body"), Spacer(1, 3 * mm)]
    story += _section("Your cards", _side_by_side(
        [para(plain("I can offer"), "h3"), para(_items(s.offers)) if s.offers else _empty("Nothing yet.")],
        [para(plain("I'm looking for"), "h3"), para(_items(s.needs)) if s.needs else _empty("Nothing yet.")]))

    people = []
    for m in s.met:
        shared = m["shared"]
        details = [rich(v) for k, v in shared.items() if k in ("email", "phone", "website")]
        role = " \u00b7 ".join(rich(shared[k]) for k in ("title", "company") if shared.get(k))
        block = [para(rich(m["name"], bold=True) + plain(f"  #{m['badge']}")
                      + (plain("  \u2605 follow up") if m["follow_up"] else ""), "h3")]
        if role:
            block.append(para(role, "small"))
        block.append(para(" \u00b7 ".join(details) if details else plain("Shared no contact details."),
                          "body" if details else "small"))
        if m["offer"]:
            block.append(para(plain("Offers: ") + rich(m["offer"]), "body"))
        if m["note"]:
            block.append(para(plain("Your note: ") + rich(m["note"].replace("\n", " ")), "body"))
        people.append(KeepTogether(block))
    if not people:
        people.append(_empty("You did not swap contacts with anyone by badge scan."))
    if s.scanned_me:
        people += [para(plain("Also scanned your badge (you did not connect back)"), "h3"),
                   para("<br/>".join("\u2022 " + rich(p["first_name"]) + (", " + rich(p["company"]) if p["company"]
                                                                         else "") for p in s.scanned_me))]
    story += _section("People you met", *people)

    follow = []
    for m in s.not_met:
        follow.append(KeepTogether([para(rich(m["name"], bold=True) + plain(f"  #{m['badge']}")
                                         + (" \u00b7 " + rich(m["company"]) if m["company"] else ""), "h3"),
                                    para(rich(m["line"], ltr=True), "body")]))
    if not follow:
        follow.append(_empty("You met every match (or had none)."))
    story += _section("Matches you have not met yet", *follow)

    if s.gave:
        gave = [para("<br/>".join("\u2022 " + plain("You offered ") + rich(f"“{g['offer']}”") + plain(" and ")
                                  + rich(g["name"]) + plain(" was looking for ") + rich(f"“{g['need']}”")
                                  for g in s.gave))]
    else:
        gave = [_empty("None of your matches or contacts recorded your offer meeting their need yet.")]
    story += _section("What you gave", *gave)
    return story


def attendee_pdf(s: AttendeeSummary) -> bytes:
    """One attendee's summary PDF."""
    buffer = io.BytesIO()
    doc = ReportDoc(buffer, title=f"{s.event.name}: your summary", footer=f"{s.event.name} \u00b7 your summary \u00b7 "
                    f"{s.me.full_name}")
    doc.build(attendee_story(s))
    return buffer.getvalue()
