"""The OpenAPI 3.1 document for /api/ (a test checks that it lists exactly the routes the app serves)."""
from __future__ import annotations

from functools import lru_cache


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": {"$ref": "#/components/responses/BadRequest"},
    "401": {"$ref": "#/components/responses/Unauthenticated"},
    "403": {"$ref": "#/components/responses/Forbidden"},
    "404": {"$ref": "#/components/responses/NotFound"},
    "422": {"$ref": "#/components/responses/Invalid"},
}
SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}, "description": "Event short name"}
ATTENDEE_ID = {"name": "attendee_id", "in": "path", "required": True, "schema": {"type": "integer"}}
GRANT = {"name": "X-Kiosk-Grant", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 500},
         "description": "Kiosks only (required for them): the grant from attendees/select, lookup-ticket or a walk-in "
                        "naming this attendee. Changes to someone already checked in need a grant from a scan."}
SPONSOR = {"name": "sponsor", "in": "query", "required": False, "schema": {"type": "string", "pattern": "^[0-9]{1,9}$"},
           "description": "Organizers only (required for them): whose leads. A scanner always gets its own sponsor's."}
LEAD_ID = {"name": "lead_id", "in": "path", "required": True, "schema": {"type": "integer"}}
IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 100},
               "description": "Retries with the same key get the first answer again."}


def _op(summary: str, responses: dict, *, params=(), body: dict | None = None, tag: str = "attendees",
        op_id: str) -> dict:
    op = {"summary": summary, "operationId": op_id, "tags": [tag], "parameters": list(params),
          "responses": {**responses, **ERRORS}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


CONTACT_ID = {"name": "contact_id", "in": "path", "required": True, "schema": {"type": "integer"}}
VCARD_VERSION = {"name": "version", "in": "query", "required": False,
                 "schema": {"enum": ["3.0", "4.0"], "default": "3.0"},
                 "description": "3.0 (default: Android's importer refuses 4.0) or 4.0"}
CONTACT = {"type": "object", "description": "A contact as the phone's owner may see it: what the other person shares "
           "(`other.shared`) once I hold their card (`mine`, `mutual`); their cards and match reasons when mutual; "
           "for `theirs` (they scanned me) only their public card, to connect back.",
           "properties": {
               "contact_id": {"type": "integer"}, "state": {"enum": ["mine", "theirs", "mutual"]},
               "other": {"type": "object", "properties": {
                   "id": {"type": "integer"}, "badge": {"type": "integer"}, "first_name": {"type": "string"},
                   "last_name": {"type": "string"},
                   "shared": {"type": "object", "properties": {k: {"type": "string"} for k in (
                       "email", "phone", "website", "company", "title")}}}},
               "offer": {"type": "string"}, "company": {"type": "string"}, "note": {"type": "string"},
               "follow_up": {"type": "boolean"}, "created_at": {"type": "string", "format": "date-time"},
               "offers": {"type": "array", "items": {"type": "object"}},
               "needs": {"type": "array", "items": {"type": "object"}},
               "reasons": {"type": "array", "items": {"type": "object"}}}}


def _phone_paths() -> dict:
    """The attendee phone's routes (kiosk.api.phone): its session cookie authenticates them."""
    phone = [{"phone": []}]
    scanned = _json({"type": "object", "properties": {"contact": _ref("Contact"), "created": {"type": "boolean"},
                                                      "mutual": {"type": "boolean"}}}, "")
    vcf = {"description": "vCard file", "content": {"text/vcard": {"schema": {"type": "string"}}}}

    def op(*args, **kwargs):
        return {**_op(*args, tag="contacts", **kwargs), "security": phone}

    return {
        "/api/me/scan": {"post": op(
            "Scan or type a badge code (a /b/ URL, the token, or '#42 K7M-Q2P'): the contact is made once",
            {"201": {**scanned, "description": "Connected"},
             "200": {**scanned, "description": "Already connected (a resend with the same nonce: 201 again)"},
             "409": _json(_ref("Error"), "badge_replaced: the badge was reprinted"),
             "429": _json(_ref("Error"), "Too many scans")},
            params=[IDEMPOTENCY], body={"type": "object", "required": ["code"], "properties": {
                "code": {"type": "string", "maxLength": 500},
                "nonce": {"type": "string", "maxLength": 64, "description": "makes a resend idempotent"}}},
            op_id="scanBadge")},
        "/api/me/contacts": {"get": op(
            "My contacts, newest first",
            {"200": _json({"type": "object", "properties": {"contacts": {"type": "array",
                                                                          "items": _ref("Contact")}}}, "")},
            op_id="listContacts")},
        "/api/me/contacts/{contact_id}": {
            "get": op("One contact as I may see it now", {"200": _json(
                {"type": "object", "properties": {"contact": _ref("Contact")}}, "")}, params=[CONTACT_ID],
                op_id="getContact"),
            "patch": op("My private note and follow-up flag", {"200": _json(
                {"type": "object", "properties": {"contact": _ref("Contact")}}, "")},
                params=[CONTACT_ID, IDEMPOTENCY], body={"type": "object", "additionalProperties": False, "properties": {
                    "note": {"type": "string", "maxLength": 2000}, "follow_up": {"type": "boolean"}}},
                op_id="updateContact")},
        "/api/me/contacts/{contact_id}/connect": {"post": op(
            "Connect back to someone who scanned me (the contact becomes mutual)",
            {"201": {**scanned, "description": "Connected"}, "200": {**scanned, "description": "Already"}},
            params=[CONTACT_ID, IDEMPOTENCY], op_id="connectBack")},
        "/api/me/contacts.vcf": {"get": op("Every card I hold as one vCard file", {"200": vcf},
                                           params=[VCARD_VERSION], op_id="contactsVcard")},
        "/api/me/contacts/{contact_id}.vcf": {"get": op(
            "One contact's vCard", {"200": vcf, "409": _json(_ref("Error"), "connect_first: they scanned me")},
            params=[CONTACT_ID, VCARD_VERSION], op_id="contactVcard")},
    }


@lru_cache(maxsize=1)
def openapi_document() -> dict:
    """The whole document."""
    card_item = {"type": "object", "properties": {"text": {"type": "string", "maxLength": 500},
                                                  "tags": {"type": "array", "items": {"type": "string"}}},
                 "additionalProperties": False}
    schemas = {
        "Error": {"type": "object", "required": ["code", "message"],
                  "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}}},
        "Choice": {"type": "object", "description": "Just enough to choose yourself from a list: organizers get the "
                   "`id`, kiosks a `choice` to send to attendees/select (never an id).",
                   "properties": {"id": {"type": "integer"}, "choice": {"type": "string"},
                                  "first_name": {"type": "string"},
                                  "last_initial": {"type": "string"}, "company": {"type": "string"},
                                  "checked_in": {"type": "boolean"}}},
        "CardItem": card_item,
        "Attendee": {"type": "object", "properties": {
            "id": {"type": "integer"}, "first_name": {"type": "string"}, "last_name": {"type": "string"},
            "company": {"type": "string"}, "title": {"type": "string"}, "pronouns": {"type": "string"},
            "ticket_type": {"type": "string"}, "source": {"type": "string"},
            "checked_in_at": {"type": ["string", "null"], "format": "date-time"},
            "consent_screen": {"type": "boolean"},
            "consent_share": {"type": "array", "items": {"enum": ["email", "phone", "website", "company", "title"]}},
            "offers": {"type": "array", "items": _ref("CardItem")},
            "needs": {"type": "array", "items": _ref("CardItem")},
            "email": {"type": ["string", "null"], "description": "organizers only"},
            "phone": {"type": ["string", "null"], "description": "organizers only"},
            "website": {"type": ["string", "null"], "description": "organizers only"},
            "ticket_ref": {"type": ["string", "null"], "description": "organizers only"},
            "group": {"type": ["string", "null"], "description": "organizers only: the attendee's group (who may "
                      "meet whom follows the event's rule), null for none"}}},
        "AttendeeEnvelope": {"type": "object", "properties": {"attendee": _ref("Attendee")}},
        "Grant": {"type": "object", "description": "A person chosen at a kiosk, and the grant to serve them.",
                  "properties": {"attendee": _ref("Attendee"), "grant": {"type": "string"}}},
        "CheckIn": {"type": "object", "properties": {
            "attendee_id": {"type": "integer"}, "checked_in": {"type": "boolean"}, "already": {"type": "boolean"},
            "checked_in_at": {"type": "string", "format": "date-time"},
            "personal_token": {"type": "string", "description": "shown once: opens the phone page"},
            "personal_url": {"type": "string"}, "badge_url": {"type": "string"}}},
        "Lead": {"type": "object", "description": "A sponsor's lead: the name, only what the person shares on a "
                 "scan (read now), and the booth's rating, note and answers.",
                 "required": ["id", "attendee", "shared", "rating", "note", "answers", "created_at"],
                 "properties": {
                     "id": {"type": "integer"},
                     "attendee": {"type": "object", "properties": {
                         "first_name": {"type": "string"}, "last_name": {"type": "string"},
                         "badge": {"type": "integer", "description": "the number printed on the badge"}}},
                     "shared": {"type": "object", "additionalProperties": False, "properties": {
                         k: {"type": "string"} for k in ("email", "phone", "website", "company", "title")}},
                     "rating": {"enum": ["hot", "warm", "cold", None]}, "note": {"type": "string"},
                     "answers": {"type": "object", "additionalProperties": {"type": "string"}},
                     "created_at": {"type": "string", "format": "date-time"}}},
        "LeadCapture": {"type": "object", "properties": {"lead": _ref("Lead"), "created": {"type": "boolean"}}},
        "Match": {"type": "object", "properties": {
            "match_id": {"type": "integer"}, "other": {"type": "object"}, "score": {"type": "number"},
            "direction": {"enum": ["a->b", "b->a", "both"]}, "reasons": {"type": "array", "items": {"type": "object"}},
            "starter": {"type": "string", "description": "the conversation starter addressed to this attendee"},
            "opener": {"type": ["object", "null"], "description": "the starter in parts: whom to ask (name) about "
                       "what (ask), what they want to hear about (tell); ask or tell may be null", "properties": {
                           "name": {"type": "string"}, "ask": {"type": ["string", "null"]},
                           "tell": {"type": ["string", "null"]}}},
            "status": {"enum": ["suggested", "accepted", "declined", "met"]},
            "source": {"enum": ["live", "round"]}}},
        "Contact": CONTACT,
    }
    responses = {
        "BadRequest": _json(_ref("Error"), "Malformed request (not JSON, bad header)"),
        "Unauthenticated": _json(_ref("Error"), "No organizer session and no device token"),
        "Forbidden": _json(_ref("Error"), "This caller may not do this"),
        "NotFound": _json(_ref("Error"), "No such event or attendee (for this caller)"),
        "Invalid": _json(_ref("Error"), "Input that does not fit; `details` names the fields"),
    }
    a = [SLUG, ATTENDEE_ID, GRANT]
    paths = {
        "/api/openapi.json": {"get": {"summary": "This document", "operationId": "openapi", "tags": ["meta"],
                                      "security": [], "responses": {"200": {"description": "OpenAPI document"}}}},
        "/api/events/{slug}/attendees/lookup": {"get": _op(
            "Find attendees by the first letters of their name (rate-limited)",
            {"200": _json({"type": "object", "properties": {"results": {"type": "array", "items": _ref("Choice")}}},
                          "Up to 8 people"), "429": _json(_ref("Error"), "Too many lookups")},
            params=[SLUG, {"name": "q", "in": "query", "required": True, "schema": {"type": "string", "minLength": 2}}],
            op_id="lookupAttendees")},
        "/api/events/{slug}/attendees/lookup-ticket": {"post": _op(
            "Find the attendee of a scanned ticket code",
            {"200": _json({"type": "object", "properties": {"attendee": _ref("Choice"), "grant": {"type": "string"}}},
                          "Found (kiosks: their details and a grant, with proof)"),
             "429": _json(_ref("Error"), "Too many lookups")},
            params=[SLUG], body={"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}}},
            op_id="lookupTicket")},
        "/api/events/{slug}/attendees/select": {"post": _op(
            "A kiosk chooses a lookup result: the person and the grant to serve them (rate-limited)",
            {"200": _json(_ref("Grant"), "Chosen"), "429": _json(_ref("Error"), "Too many choices")},
            params=[SLUG], body={"type": "object", "required": ["choice"], "properties": {"choice": {"type": "string"}}},
            op_id="selectAttendee")},
        "/api/events/{slug}/attendees": {"post": _op(
            "Register a walk-in (kiosks get a grant for them)",
            {"201": _json({"oneOf": [_ref("AttendeeEnvelope"), _ref("Grant")]}, "Created"),
             "429": _json(_ref("Error"), "Too many walk-ins")}, params=[SLUG, IDEMPOTENCY],
            body={"type": "object", "required": ["first_name"], "properties": {
                k: {"type": "string"} for k in ("first_name", "last_name", "email", "company", "title", "pronouns",
                                                "phone")}}, op_id="createWalkin")},
        "/api/events/{slug}/attendees/{attendee_id}": {
            "get": _op("An attendee's details and cards", {"200": _json(_ref("AttendeeEnvelope"), "The attendee")},
                       params=a, op_id="getAttendee"),
            "patch": _op("Correct details or change consents", {"200": _json(_ref("AttendeeEnvelope"), "Updated")},
                         params=a + [IDEMPOTENCY], body={"type": "object", "properties": {
                             "first_name": {"type": "string"}, "last_name": {"type": "string"},
                             "company": {"type": "string"}, "title": {"type": "string"},
                             "pronouns": {"type": "string"}, "consent_screen": {"type": "boolean"},
                             "consent_share": {"type": "array", "items": {"type": "string"}},
                             "group": {"type": ["string", "null"],
                                       "description": "organizers only: one of the event's group labels; empty or "
                                                      "null for none"}}},
                         op_id="updateAttendee")},
        "/api/events/{slug}/attendees/{attendee_id}/cards": {"put": _op(
            "Replace the offer and/or need cards", {"200": _json(_ref("AttendeeEnvelope"), "Updated")},
            params=a + [IDEMPOTENCY], body={"type": "object", "properties": {
                "offers": {"type": "array", "items": _ref("CardItem"), "maxItems": 5},
                "needs": {"type": "array", "items": _ref("CardItem"), "maxItems": 5}}}, op_id="updateCards")},
        "/api/events/{slug}/attendees/{attendee_id}/checkin": {"post": _op(
            "Check in (atomic; exactly one caller wins)",
            {"200": _json(_ref("CheckIn"), "Checked in by this call"),
             "409": _json(_ref("Error"), "`already_checked_in`: someone else did it first")},
            params=a + [IDEMPOTENCY], body={"type": "object", "properties": {
                "consent_screen": {"type": "boolean"},
                "consent_share": {"type": "array", "items": {"type": "string"}}}}, op_id="checkIn")},
        "/api/events/{slug}/attendees/{attendee_id}/matches": {"get": _op(
            "An attendee's matches with reasons and starters",
            {"200": _json({"type": "object", "properties": {"matches": {"type": "array", "items": _ref("Match")}}},
                          "Newest first")}, params=a, op_id="getMatches")},
        "/api/events/{slug}/attendees/{attendee_id}/badge": {"get": _op(
            "Where to download the attendee's badge PDF",
            {"200": _json({"type": "object", "properties": {"pdf": {"type": "string"}, "layout": {"type": "string"},
                                                            "qr": {"type": "string"}}}, "Links")},
            params=a, tag="badges", op_id="getBadgeLink")},
        "/api/events/{slug}/leads": {
            "post": _op("A sponsor's scanner captures a badge as a lead (rate-limited)",
                        {"201": _json(_ref("LeadCapture"), "A new lead (or a resend of the same nonce)"),
                         "200": _json(_ref("LeadCapture"), "The booth has this lead already"),
                         "409": _json(_ref("Error"), "`badge_replaced`: an old badge, reprinted since"),
                         "429": _json(_ref("Error"), "Too many captures")},
                        params=[SLUG, SPONSOR, IDEMPOTENCY], tag="leads", op_id="captureLead",
                        body={"type": "object", "required": ["code"], "properties": {
                            "code": {"type": "string", "description": "a badge QR's /b/<token> URL, the token, or "
                                     "the typed \"#42 K7M-Q2P\""},
                            "nonce": {"type": "string", "maxLength": 64}}}),
            "get": _op("The sponsor's leads, newest first",
                       {"200": _json({"type": "object", "properties": {
                           "sponsor": {"type": "object", "properties": {
                               "id": {"type": "integer"}, "name": {"type": "string"},
                               "questions": {"type": "array", "items": {"type": "string"}}}},
                           "leads": {"type": "array", "items": _ref("Lead")}}}, "The leads")},
                       params=[SLUG, SPONSOR], tag="leads", op_id="listLeads")},
        "/api/events/{slug}/leads/{lead_id}": {"patch": _op(
            "Rate a lead, change its note, answer qualifier questions",
            {"200": _json({"type": "object", "properties": {"lead": _ref("Lead")}}, "Updated")},
            params=[SLUG, LEAD_ID, SPONSOR, IDEMPOTENCY], tag="leads", op_id="updateLead",
            body={"type": "object", "additionalProperties": False, "properties": {
                "rating": {"enum": ["hot", "warm", "cold", None]}, "note": {"type": "string", "maxLength": 2000},
                "answers": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 500},
                            "description": "{question: answer} for the sponsor's questions; an empty answer clears"}}})},
        "/api/events/{slug}/leads.csv": {"get": _op(
            "The sponsor's leads as CSV (UTF-8 with BOM; one column per qualifier question)",
            {"200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}},
            params=[SLUG, SPONSOR], tag="leads", op_id="exportLeadsCsv")},
        "/api/events/{slug}/leads.vcf": {"get": _op(
            "The sponsor's leads as vCards (NOTE: rating and note)",
            {"200": {"description": "vCards", "content": {"text/vcard": {"schema": {"type": "string"}}}}},
            params=[SLUG, SPONSOR, {"name": "version", "in": "query", "required": False,
                                    "schema": {"enum": ["3.0", "4.0"]}}], tag="leads", op_id="exportLeadsVcard")},
        "/api/events/{slug}/stats": {"get": _op(
            "Counts for dashboards",
            {"200": _json({"type": "object", "properties": {
                "registered": {"type": "integer"}, "checked_in": {"type": "integer"},
                "matches": {"type": "object"}, "contacts": {"type": "integer"}}}, "Counts")},
            params=[SLUG], tag="events", op_id="getStats")},
        **_phone_paths(),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Give & Take API", "version": "1",
                 "description": "Kiosks, scanners and scripts. Authenticate with a device token "
                                "(`Authorization: Bearer ...`) or an organizer session; cookie-authenticated writes "
                                "need the `X-CSRFToken` header."},
        "servers": [{"url": "/"}],
        "security": [{"device": []}, {"organizer": []}],
        "paths": paths,
        "components": {"schemas": schemas, "responses": responses,
                       "securitySchemes": {"device": {"type": "http", "scheme": "bearer"},
                                           "phone": {"type": "apiKey", "in": "cookie", "name": "session",
                                                     "description": "an attendee's phone, signed in by their "
                                                                    "personal link (/api/me/ only)"},
                                           "organizer": {"type": "apiKey", "in": "cookie", "name": "session"}}},
    }
