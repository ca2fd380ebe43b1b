"""What the engine takes in: Card and Profile, their limits, and the errors for input it cannot take."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

#: Longest card text accepted; a card is a sentence or two, not a CV.
MAX_CARD_CHARS = 600
#: Most cards of one kind per profile.
MAX_CARDS = 12
OFFER, NEED = "offer", "need"
#: Who may meet whom by group: anyone, only people of different groups, only people of the same group. A person
#: in no group (None) is bound by no rule and may meet anyone.
GROUP_RULES = ("any", "across", "within")


def groups_allow(rule: str, ga, gb) -> np.ndarray:
    """Whether people of group codes ga and gb (arrays, -1 for no group) may meet under `rule` (GROUP_RULES)."""
    ga, gb = np.asarray(ga), np.asarray(gb)
    if rule == "any":
        return np.ones(np.broadcast(ga, gb).shape, dtype=bool)
    free = (ga < 0) | (gb < 0)
    return free | (ga != gb) if rule == "across" else free | (ga == gb)


class MatcherError(Exception):
    """Base of the matcher's domain errors."""


class UnknownProfile(MatcherError, KeyError):
    """The id is not (or no longer) in the engine."""

    def __str__(self) -> str:
        return f"unknown profile {self.args[0]!r}" if self.args else "unknown profile"


class InvalidProfile(MatcherError, ValueError):
    """A profile or card the engine cannot take, with the reason in the message."""


class InvalidCard(InvalidProfile):
    """A card with empty or too long text, bad tags or a bad embedding."""


class DuplicateProfile(InvalidProfile):
    """The same id twice in one batch."""


@dataclass(frozen=True)
class Card:
    """One thing a person offers or needs: text, organizer tags, and the cached semantic vector if known."""

    text: str
    tags: tuple[str, ...] = ()
    embedding: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: The tags casefolded, in the same order: what matching compares (set in __post_init__).
    tag_keys: tuple[str, ...] = field(default=(), init=False, compare=False, repr=False)

    def __post_init__(self):
        if not isinstance(self.text, str):
            raise InvalidCard(f"card text must be a string, not {type(self.text).__name__}")
        text = " ".join(self.text.split())
        if not text:
            raise InvalidCard("card text is empty")
        if len(text) > MAX_CARD_CHARS:
            raise InvalidCard(f"card text is {len(text)} characters; at most {MAX_CARD_CHARS} are allowed")
        tags = (self.tags,) if isinstance(self.tags, str) else tuple(self.tags or ())
        if not all(isinstance(t, str) for t in tags):
            raise InvalidCard("card tags must be strings")
        # Tags are the organizer's labels: kept as written (reasons and starters quote them), compared case- and
        # space-insensitively through `tag_keys`, each kept once (the first spelling wins).
        labels: dict[str, str] = {}
        for t in tags:
            label = " ".join(t.split())
            if label:
                labels.setdefault(label.casefold(), label)
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "tags", tuple(labels.values()))
        object.__setattr__(self, "tag_keys", tuple(labels))


@dataclass
class Profile:
    """A person present at the event, with what they offer and what they need."""

    id: int
    offers: list[Card]
    needs: list[Card]
    company: str | None = None
    name: str = ""
    #: The organizer's group (mentors, founders...), any hashable label or id; None for nobody's group. Whether
    #: two groups may meet is the engine's `group_rule`, not the profile's.
    group: str | int | None = None

    def without_embeddings(self) -> "Profile":
        """The same person with no vectors on the cards (what the engine keeps: its stores hold the vectors)."""
        return dataclasses.replace(self, offers=[dataclasses.replace(c, embedding=None) for c in self.offers],
                                   needs=[dataclasses.replace(c, embedding=None) for c in self.needs])


def check_profile(profile: Profile) -> None:
    """Raise InvalidProfile unless profile is a Profile with an integer id and at most MAX_CARDS of each kind."""
    if not isinstance(profile, Profile):
        raise InvalidProfile(f"expected a Profile, got {type(profile).__name__}")
    if isinstance(profile.id, bool) or not isinstance(profile.id, (int, np.integer)):
        raise InvalidProfile(f"profile id must be an integer, not {profile.id!r}")
    for kind, cards in ((OFFER, profile.offers), (NEED, profile.needs)):
        if not isinstance(cards, (list, tuple)) or not all(isinstance(c, Card) for c in cards):
            raise InvalidProfile(f"profile {profile.id}: {kind}s must be a list of Card")
        if len(cards) > MAX_CARDS:
            raise InvalidProfile(f"profile {profile.id}: {len(cards)} {kind}s; at most {MAX_CARDS} are allowed")
    if profile.group is not None and (isinstance(profile.group, bool) or
                                      not isinstance(profile.group, (str, int, np.integer))):
        raise InvalidProfile(f"profile {profile.id}: group must be a string, an integer or None")
