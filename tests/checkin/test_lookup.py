"""Finding yourself at the kiosk: a one-character CJK surname is enough, a typo still finds you, and what comes
back is only a first name, a last initial and a company (however loose the search)."""
from __future__ import annotations

from kiosk.attendees.service import erase_attendee
from kiosk.db import db
from kiosk.models import Attendee, Event
from tests.factories import make_attendee


def _people(app, event_id: int, *names: tuple[str, str, str]) -> dict[str, int]:
    with app.app_context():
        s = db.session
        event = s.get(Event, event_id)
        ids = {f"{first} {last}": make_attendee(s, event, first_name=first, last_name=last, company=company).id
               for first, last, company in names}
        s.commit()
        return ids


def _found(client, q: str) -> list[dict]:
    return client.get("/kiosk/lookup", query_string={"q": q}).get_json()["results"]


def _names(results: list[dict]) -> list[str]:
    return [f"{r['first_name']} {r['last_initial']}" for r in results]


def test_a_one_character_cjk_surname_is_enough_and_one_latin_letter_is_not(app, kiosk_client, event_people):
    _people(app, event_people["event_id"], ("伟", "李", "Huawei"), ("花子", "山田", ""), ("지민", "김", "Naver"))
    assert _names(_found(kiosk_client, "李")) == ["伟 李."]
    assert _names(_found(kiosk_client, "山")) == ["花子 山."]
    assert _names(_found(kiosk_client, "김")) == ["지민 김."]
    short = kiosk_client.get("/kiosk/lookup?q=a").get_json()
    assert short["results"] == [] and "at least 2" in short["message"]


def test_a_typo_still_finds_the_person_and_shows_only_enough_to_choose(app, kiosk_client, event_people):
    _people(app, event_people["event_id"], ("Aisha", "Khan", "Northwind"), ("Aiden", "Brooks", ""),
            ("Maximilian", "Oberhausen", "Tiefbau"))
    results = _found(kiosk_client, "Aisah")  # two letters swapped
    assert [(r["first_name"], r["last_initial"], r["company"]) for r in results] == [("Aisha", "K.", "Northwind")]
    assert set(results[0]) == {"choice", "first_name", "last_initial", "company", "checked_in"}
    assert _names(_found(kiosk_client, "aisha kahn")) == ["Aisha K."]      # a typo in each word
    assert _names(_found(kiosk_client, "Aish Kha")) == ["Aisha K."]        # half typed: plain prefixes
    assert _names(_found(kiosk_client, "Aosh")) == ["Aisha K."]            # half typed, with a typo
    assert _names(_found(kiosk_client, "Oberhasuen")) == ["Maximilian O."]
    assert _names(_found(kiosk_client, "Obrehasuen")) == ["Maximilian O."]  # two edits in a long name
    assert _found(kiosk_client, "Aisha Brooks") == []                      # every word must fit the same person
    assert _found(kiosk_client, "Zorro") == []


def test_exact_prefixes_come_first_and_short_queries_forgive_nothing(app, kiosk_client, event_people):
    _people(app, event_people["event_id"], ("Anna", "Berg", ""), ("Amir", "Haddad", ""))
    # "Ama" is one letter from Ana, Anna and Amir's start: three letters would match half a room, so no typos.
    assert _found(kiosk_client, "Ama") == []
    found = _names(_found(kiosk_client, "Anna"))
    assert found[0] == "Anna B." and "Ana G." in found  # the exact one first, then the near one


def test_loose_search_never_returns_more_than_a_handful_nor_erased_people(app, kiosk_client, event_people):
    ids = _people(app, event_people["event_id"], *[("Mariam", f"Test{i:02d}", "") for i in range(12)],
                  ("Miriam", "Gone", ""))
    assert len(_found(kiosk_client, "Mariam")) == 8
    assert "Miriam G." in _names(_found(kiosk_client, "Miriam"))
    with app.app_context():
        erase_attendee(db.session, db.session.get(Attendee, ids["Miriam Gone"]))
        db.session.commit()
    assert "Miriam G." not in _names(_found(kiosk_client, "Miriam")) + _names(_found(kiosk_client, "Miriem"))
