"""From card similarities to a person-to-person score: fusion, direction, reciprocity, reasons and a starter.

- card evidence (offer -> need) = calibrate(w_sem * max(cos, 0) + w_lex * lexical + w_tag * tags), >= 0, uncapped;
  the card similarity shown is the evidence capped at 1
- directional s(a -> b) = the best pair of a's offers with b's needs
- reciprocal R(a, b) = BLEND * max(s_ab, s_ba) + (1 - BLEND) * harmonic_mean(s_ab, s_ba)

Suggestions are ranked by R of the uncapped evidence (`Match.evidence`); `Match.score` is R of the capped
similarities, in [0, 1], for display. Capping before ranking made every strong candidate tie at 1.0.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np

#: Share of the reciprocal score that a one-way match keeps: R(x, 0) = BLEND * x, while R(x, x) = x.
BLEND = 0.5
#: A direction counts as given ("both" rather than one-way) when it reaches this share of the stronger one...
DIRECTION_SHARE = 0.5
#: ...and at least this card similarity.
DIRECTION_MIN = 0.15


@dataclass(frozen=True)
class Fusion:
    """Weights of the three signals, the linear map that calibrates their sum, and the floor for live matches."""

    semantic: float
    lexical: float
    tags: float
    zero: float  # a raw sum at or below this is "unrelated" (evidence 0)
    one: float   # a raw sum at this is a sure match (evidence 1, the displayed similarity's ceiling)
    #: Reciprocal score a live suggestion must exceed: below it the evidence is what unrelated pairs also reach.
    floor: float = 0.0

    def raw(self, cos, lex, tags):
        """Weighted sum of the signals, before calibration (arrays or floats)."""
        return self.semantic * np.maximum(cos, 0.0) + self.lexical * lex + self.tags * tags

    def uncapped(self, raw):
        """The calibrated value without its ceiling: 1 at `one`, and more above it (ranking uses this)."""
        return np.maximum((raw - self.zero) / (self.one - self.zero), 0.0)

    def calibrate(self, raw):
        """The calibrated value in [0, 1] (for display)."""
        return np.minimum(self.uncapped(raw), 1.0)

    def evidence(self, cos, lex, tags):
        """Uncapped calibrated offer -> need evidence (>= 0): strong pairs keep their order above 1."""
        return self.uncapped(self.raw(cos, lex, tags))

    def similarity(self, cos, lex, tags):
        """Calibrated offer -> need similarity in [0, 1]."""
        return self.calibrate(self.raw(cos, lex, tags))


# Calibrated on matcher/data/eval_set.json (docs/matcher.md, "Calibration"). The text weights maximize fused
# recall@5 there; `zero` is the 90th percentile of the raw score of unrelated need/offer pairs (so nine in ten
# unrelated pairs score 0) and `one` the 95th percentile of the correct pairs. One shared tag on single-tag cards
# adds `tags` to the raw sum: enough on its own to lift an unrelated text pair into a middling match.
FUSED = Fusion(semantic=0.85, lexical=0.15, tags=0.35, zero=0.187, one=0.593, floor=0.143)
LEXICAL_ONLY = Fusion(semantic=0.0, lexical=1.0, tags=0.5, zero=0.05, one=0.50, floor=0.09)


def reciprocal(s_ab, s_ba):
    """Reciprocal score: a two-way match outranks a one-way match of the same strength, which still counts."""
    s_ab = np.asarray(s_ab, dtype=np.float64)
    s_ba = np.asarray(s_ba, dtype=np.float64)
    total = s_ab + s_ba
    harmonic = np.divide(2.0 * s_ab * s_ba, total, out=np.zeros_like(total), where=total > 0)
    out = BLEND * np.maximum(s_ab, s_ba) + (1.0 - BLEND) * harmonic
    return float(out) if out.ndim == 0 else out


def direction(s_ab: float, s_ba: float) -> str:
    """'both' when each side gives something real, else the stronger side ('a->b' or 'b->a')."""
    strong = max(s_ab, s_ba)
    if min(s_ab, s_ba) >= max(DIRECTION_MIN, DIRECTION_SHARE * strong):
        return "both"
    return "a->b" if s_ab >= s_ba else "b->a"


@dataclass
class Reason:
    """One offer that meets one need: who gives, who takes, the two texts and the tags they share."""

    giver: int
    taker: int
    offer: str
    need: str
    tags: list[str] = field(default_factory=list)
    score: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Match:
    """A suggested pair, always with a < b; `direction` says who gives to whom.

    `score` is for display (in [0, 1]); `evidence` is the same reciprocal score without the ceiling, which is what
    suggestions are ranked by. `starter` is the third-person line (the screen); `starters` has each person's own
    line, addressed to them (their phone).
    """

    a: int
    b: int
    score: float
    direction: str
    reasons: list[Reason]
    starter: str
    starters: dict[int, str] = field(default_factory=dict)
    evidence: float | None = None

    def __post_init__(self):
        if self.evidence is None:
            self.evidence = self.score

    def starter_for(self, pid: int) -> str:
        """The starter addressed to pid ("Ask Ben about design; they want to hear about funding")."""
        return self.starters.get(pid, self.starter)

    def to_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "score": self.score, "evidence": self.evidence,
                "direction": self.direction, "reasons": [r.to_dict() for r in self.reasons],
                "starter": self.starter, "starters": {str(k): v for k, v in self.starters.items()}}


# Openings people write before the actual topic; stripped so a starter reads "help Kenji with grant writing".
_NEED_FILLER = re.compile(
    r"^(?:(?:i am|i'm|we are|we're|i|we)\s+)?(?:(?:currently|really|desperately|also)\s+)?"
    r"(?:looking for|searching for|hoping to find|trying to find|want to find|would love|need|needs|seeking|want)?\s*"
    r"(?:(?:someone|somebody|anyone|a person|people|an? expert|advice|help|feedback|input|a hand)\s*"
    r"(?:who can|who could|who knows|who has|to|with|on|for|that can|about)?\s*)?"
    r"(?:help(?:ing)?\s+(?:me|us)?\s*(?:with|to)?\s*)?", re.IGNORECASE)
_OFFER_FILLER = re.compile(r"^(?:i|we)\s+can\s+help(?:\s+you)?\s+with\s+", re.IGNORECASE)


def topic(text: str, tags: list[str] | tuple[str, ...] = (), max_chars: int = 60, offer: bool = False) -> str:
    """A short phrase for a starter: the shared tags if any, else the card text without its opening filler."""
    if tags:
        return " and ".join(tags[:2])
    cleaned = (_OFFER_FILLER if offer else _NEED_FILLER).sub("", text.strip()).strip(" .,:;!-") or text.strip()
    cleaned = cleaned.splitlines()[0] if cleaned else cleaned
    if len(cleaned) > max_chars:
        cut = cleaned[:max_chars].rsplit(" ", 1)[0]
        cleaned = (cut or cleaned[:max_chars]).rstrip(" ,;:-") + "…"
    return cleaned


def display_name(name: str, pid: int) -> str:
    """First name for a starter, or '#<id>' for a profile without a name."""
    first = name.strip().split()[0] if name and name.strip() else ""
    return first or f"#{pid}"


def starter(reasons: list[Reason], names: dict[int, str]) -> str:
    """'Ana can help Kenji with grant writing; ask Kenji about Series A', from the best reason of each side."""
    if not reasons:
        return ""
    first = reasons[0]
    giver, taker = names[first.giver], names[first.taker]
    line = f"{giver} can help {taker} with {topic(first.need, first.tags)}"
    back = next((r for r in reasons[1:] if r.giver == first.taker), None)
    if back is not None:
        return f"{line}; ask {taker} about {_offer_phrase(back)}"
    return f"{line}; ask {giver} about {_offer_phrase(first)}"


def reader_topics(reasons: list[Reason], reader: int) -> tuple[str | None, str | None]:
    """What the reader can ask the other person about, and what the other wants to hear about from the reader.

    Either is None when that direction gives nothing. Shared tags are the topic (in the organizer's casing); free
    text is quoted. The app words these for the phone in the reader's language.
    """
    ask = next((r for r in reasons if r.taker == reader), None)
    tell = next((r for r in reasons if r.giver == reader), None)
    return (_offer_phrase(ask) if ask is not None else None,
            _need_phrase(tell) if tell is not None else None)


def reader_starter(reasons: list[Reason], reader: int, names: dict[int, str]) -> str:
    """The starter addressed to `reader`: 'Ask Ben about design; they want to hear about funding'."""
    other = next((r.giver if r.taker == reader else r.taker for r in reasons), None)
    if other is None:
        return ""
    ask, tell = reader_topics(reasons, reader)
    name = names[other]
    if ask and tell:
        return f"Ask {name} about {ask}; they want to hear about {tell}"
    if ask:
        return f"Ask {name} about {ask}"
    return f"{name} wants to hear about {tell}"


def _need_phrase(reason: Reason) -> str:
    """A need as a topic: its shared tags, or its text quoted."""
    return topic(reason.need, reason.tags) if reason.tags else f"“{topic(reason.need)}”"


def _offer_phrase(reason: Reason) -> str:
    """Shared tags read as a topic ("Series A"); free text is quoted, since offers are written as sentences."""
    return topic(reason.offer, reason.tags) if reason.tags else f"“{topic(reason.offer, offer=True)}”"
