"""What happened between people: pairs never to offer again, and accepted matches counted per fairness window."""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

from .roster import Roster
from .scoring import Match

EXCLUDE_REASONS = ("matched", "declined", "met", "round")
#: Reasons that also keep a pair out of rounds. "matched" (suggested live, not met yet) does not: a round is a
#: good time for a suggested pair to meet at last.
ROUND_BLOCKING = ("declined", "met", "round")
#: When a pair is excluded again for another reason, the stronger one stays: a "no thanks" is final, a meeting
#: (a scan, a round) outweighs a suggestion. Stronger last.
_STRENGTH = {reason: i for i, reason in enumerate(("matched", "round", "met", "declined"))}


class Ledger:
    """Exclusions and recorded matches; keeps the roster's at-capacity mask in step with the capacity windows."""

    def __init__(self, roster: Roster, capacity: int, window_s: float, clock: Callable[[], float]):
        self.roster = roster
        self.capacity = capacity
        self.window_s = window_s
        self.clock = clock
        self.excluded: dict[tuple[int, int], str] = {}  # (lower id, higher id) -> reason
        self.excluded_by: dict[int, set[int]] = {}
        self.blocked_by: dict[int, set[int]] = {}  # the same for ROUND_BLOCKING reasons only
        self.full: set[int] = set()  # people at capacity when last checked
        self._accepted: dict[int, deque[float]] = {}
        self._next_release = math.inf  # no one in full can fall under capacity before this clock time

    def exclude(self, a: int, b: int, reason: str = "matched") -> None:
        """Never suggest or pair a and b again."""
        if reason not in EXCLUDE_REASONS:
            raise ValueError(f"unknown exclusion reason {reason!r}; expected one of {', '.join(EXCLUDE_REASONS)}")
        a, b = int(a), int(b)
        if a == b:
            raise ValueError("a person cannot be excluded from themself")
        key = (min(a, b), max(a, b))
        old = self.excluded.get(key)
        if old is not None and _STRENGTH[old] >= _STRENGTH[reason]:
            return
        self.excluded[key] = reason
        if reason in ROUND_BLOCKING:
            self.blocked_by.setdefault(a, set()).add(b)
            self.blocked_by.setdefault(b, set()).add(a)
        self.excluded_by.setdefault(a, set()).add(b)
        self.excluded_by.setdefault(b, set()).add(a)

    def is_excluded(self, a: int, b: int) -> bool:
        return (min(a, b), max(a, b)) in self.excluded

    def reason(self, a: int, b: int) -> str | None:
        """Why a and b are excluded (the strongest reason), or None."""
        return self.excluded.get((min(a, b), max(a, b)))

    def blocks_round(self, a: int, b: int) -> bool:
        """Whether a and b may not be paired in a round: they declined, met, or were paired in an earlier one."""
        return self.excluded.get((min(a, b), max(a, b))) in ROUND_BLOCKING

    def excluded_pairs(self, rounds: bool = True) -> list[tuple[int, int]]:
        """Pairs a round may not use (lower id first): declined, met, and with `rounds` earlier rounds' pairs.

        Pairs only suggested live ("matched") are not among them: they may meet in a round.
        """
        return [pair for pair, reason in self.excluded.items()
                if reason in ROUND_BLOCKING and (rounds or reason != "round")]

    def record(self, match: Match, at: float | None = None) -> None:
        """An accepted match: it counts toward both people's capacity from `at` (default now) and excludes the pair."""
        now = self.clock() if at is None else float(at)
        for pid in (match.a, match.b):
            times = self._accepted.setdefault(pid, deque())
            times.append(now)
            if len(times) > 1 and times[-2] > now:  # an older time given late: keep the window in order
                self._accepted[pid] = times = deque(sorted(times))
            if self.load(pid) >= self.capacity:
                self.full.add(pid)
                self.roster.mark_full(pid, True)
                self._next_release = min(self._next_release, times[0] + self.window_s)
        self.exclude(match.a, match.b, "matched")

    def unrecord(self, match: Match) -> None:
        """Undo the latest `record(match)`: the pair is no longer excluded and the match no longer counts."""
        key = (min(match.a, match.b), max(match.a, match.b))
        if self.excluded.get(key) == "matched":
            del self.excluded[key]
            self.excluded_by.get(key[0], set()).discard(key[1])
            self.excluded_by.get(key[1], set()).discard(key[0])
        for pid in (match.a, match.b):
            times = self._accepted.get(pid)
            if times:
                times.pop()
            if pid in self.full and self.load(pid) < self.capacity:
                self.full.discard(pid)
                self.roster.mark_full(pid, False)

    def load(self, pid: int) -> int:
        """Accepted matches of a person within the current fairness window."""
        times = self._accepted.get(pid)
        if not times:
            return 0
        horizon = self.clock() - self.window_s
        while times and times[0] <= horizon:
            times.popleft()
        return len(times)

    def release_due(self) -> None:
        """Take people whose fairness window moved on out of `full`, if the earliest window can have moved."""
        if not (self.full and self.clock() >= self._next_release):
            return
        for other in list(self.full):
            if self.load(other) < self.capacity:
                self.full.discard(other)
                self.roster.mark_full(other, False)
        self._next_release = min((self._accepted[o][0] + self.window_s for o in self.full), default=math.inf)
