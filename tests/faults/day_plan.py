"""A conference day as data: talks, breaks and the faults that happen during them. Pure.

:func:`conference_day` describes an 8-hour day in one room (seven 45-minute talks between
09:00 and 17:00, short breaks, coffee and lunch) scaled to any length, and the episodes that
befall it, each at a place in a talk: two network partitions between the audio node and the
server, a full disk, a Polly outage and a server killed with SIGKILL. Listener churn runs all
day. The soak (``tests/faults/test_conference_day.py``) plays the plan; the audio node
(``tests/faults/node_day.py``) speaks it. Nothing here does I/O or knows about time on a clock:
positions are seconds of the day's audio ("simulated seconds").

What the speaker says is known exactly: the :mod:`tests.helpers.scripted_engine` encoding, in
0.5 s slots. In a talk, every sentence is four numbered words and a 0.5 s pause; words are
numbered 1, 2, 3... across the whole day; breaks are silence. :meth:`DayPlan.word_of_slot`
says which word a slot carries.
"""

from __future__ import annotations

import enum
import math
from bisect import bisect_right
from dataclasses import dataclass, field

SLOT_S = 0.5
"""One word or one pause."""
WORDS_PER_SENTENCE = 4
SENTENCE_S = (WORDS_PER_SENTENCE + 1) * SLOT_S
MAX_WORD = 32767
"""The largest word number the encoding carries (one signed 16-bit sample)."""
DAY_S = 8 * 3600.0
"""The full day, 09:00 to 17:00."""


class Kind(enum.StrEnum):
    """What goes wrong."""

    PARTITION = "partition"
    """The link between the audio node and the server goes down (no packet passes)."""
    DISK_FULL = "disk_full"
    """The state folder's file system fills up; the space is freed at the end."""
    POLLY_OUTAGE = "polly_outage"
    """Polly answers 503 to everything; it answers again at the end."""
    SERVER_RESTART = "server_restart"
    """The server is killed with SIGKILL and started again (systemd's ``Restart=always``)."""


@dataclass(frozen=True)
class Talk:
    """One talk: ``start_s`` to ``end_s`` of the day, in whole sentences."""

    title: str
    start_s: float
    end_s: float
    first_word: int
    """The number of its first word."""

    @property
    def sentences(self) -> int:
        """Sentences spoken in it."""
        return round((self.end_s - self.start_s) / SENTENCE_S)

    @property
    def last_word(self) -> int:
        """The number of its last word."""
        return self.first_word + self.sentences * WORDS_PER_SENTENCE - 1


@dataclass(frozen=True)
class Episode:
    """A fault from ``at_s`` for ``length_s`` seconds of the day (0: a moment)."""

    kind: Kind
    at_s: float
    length_s: float
    where: str
    """Where in the day, for the report (``"talk 2, a quarter in"``)."""

    @property
    def end_s(self) -> float:
        """When it is over."""
        return self.at_s + self.length_s


@dataclass(frozen=True)
class Audience:
    """Who follows the room's captions all day."""

    stayers: int = 30
    """Subscribers that stay (and redial after a server restart): each must get every final."""
    churners: int = 20
    """Subscribers that leave and come back every few seconds (of wall time) all day."""
    speakers: int = 2
    """Phones with sound on, following the translation into ``speech_lang``."""
    speech_lang: str = "it"


@dataclass(frozen=True)
class DayPlan:
    """The day: talks in order, episodes in order, the audience."""

    length_s: float
    talks: tuple[Talk, ...]
    episodes: tuple[Episode, ...]
    audience: Audience = field(default_factory=Audience)

    @property
    def words(self) -> int:
        """Words spoken in the whole day."""
        return self.talks[-1].last_word if self.talks else 0

    @property
    def slots(self) -> int:
        """0.5 s slots in the whole day."""
        return round(self.length_s / SLOT_S)

    def talk_at(self, at_s: float) -> Talk | None:
        """The talk under way at ``at_s``, or None (a break)."""
        index = bisect_right([t.start_s for t in self.talks], at_s) - 1
        if index >= 0 and at_s < self.talks[index].end_s:
            return self.talks[index]
        return None

    def word_of_slot(self, slot: int) -> int:
        """The word spoken in 0.5 s slot ``slot`` of the day (0: a pause or a break)."""
        talk = self.talk_at(slot * SLOT_S)
        if talk is None:
            return 0
        sentence, place = divmod(slot - round(talk.start_s / SLOT_S), WORDS_PER_SENTENCE + 1)
        if place == WORDS_PER_SENTENCE:
            return 0
        return talk.first_word + sentence * WORDS_PER_SENTENCE + place

    def time_of_word(self, word: int) -> float:
        """When ``word`` is said (its slot's start, seconds of the day); ValueError if the day
        has no such word."""
        for talk in self.talks:
            if talk.first_word <= word <= talk.last_word:
                sentence, place = divmod(word - talk.first_word, WORDS_PER_SENTENCE)
                return talk.start_s + sentence * SENTENCE_S + place * SLOT_S
        raise ValueError(f"the day has no word {word}")

    def words_between(self, start_s: float, end_s: float) -> list[int]:
        """The words whose slot starts within ``[start_s, end_s)`` of the day."""
        first = max(0, math.ceil(start_s / SLOT_S))
        last = min(self.slots, math.ceil(end_s / SLOT_S))
        found = [self.word_of_slot(s) for s in range(first, last)]
        return [w for w in found if w]


FULL_DAY: tuple[tuple[str, str, str], ...] = (
    ("09:00", "09:45", "Opening keynote"),
    ("10:00", "10:45", "Talk 2"),
    ("11:15", "12:00", "Talk 3"),  # 10:45-11:15 coffee
    ("13:00", "13:45", "Talk 4"),  # 12:00-13:00 lunch
    ("14:00", "14:45", "Talk 5"),
    ("15:15", "16:00", "Talk 6"),  # 14:45-15:15 coffee
    ("16:15", "17:00", "Closing talk"),
)
"""The schedule of the full day (a talk at a time, breaks between)."""

EPISODES: tuple[tuple[Kind, int, float, float], ...] = (
    (Kind.PARTITION, 1, 0.25, 90.0),
    (Kind.DISK_FULL, 2, 0.30, 240.0),
    (Kind.POLLY_OUTAGE, 3, 0.20, 300.0),
    (Kind.SERVER_RESTART, 4, 0.40, 0.0),
    (Kind.PARTITION, 5, 0.30, 300.0),
)
"""``(kind, talk index, how far into the talk, seconds of the day it lasts)``. Lengths are in
the day's seconds, not scaled: a 5 min partition is 5 min of audio whatever the day's length
(it may run on into the break)."""


def _seconds(clock: str) -> float:
    hours, minutes = clock.split(":")
    return (int(hours) - 9) * 3600.0 + int(minutes) * 60.0


def _whole_sentences(seconds: float) -> float:
    return max(1, round(seconds / SENTENCE_S)) * SENTENCE_S


def conference_day(length_s: float = DAY_S, audience: Audience | None = None) -> DayPlan:
    """The day's plan, every talk and break scaled by ``length_s / DAY_S`` (talks and breaks
    keep whole sentences). Raises ValueError for a day too short for its episodes to fall in
    talks, or so long its words do not fit the encoding."""
    if length_s <= 0:
        raise ValueError(f"a day of {length_s} s")
    scale = length_s / DAY_S
    talks: list[Talk] = []
    word = 1
    for start, end, title in FULL_DAY:
        begin = _whole_sentences(_seconds(start) * scale) if _seconds(start) else 0.0
        length = _whole_sentences((_seconds(end) - _seconds(start)) * scale)
        talk = Talk(title, begin, begin + length, word)
        talks.append(talk)
        word = talk.last_word + 1
    day_end = _whole_sentences(length_s)
    if talks[-1].end_s > day_end:
        day_end = talks[-1].end_s
    if talks[-1].last_word > MAX_WORD:
        raise ValueError(f"{talks[-1].last_word} words do not fit the encoding ({MAX_WORD})")
    episodes: list[Episode] = []
    for kind, index, into, seconds in EPISODES:
        talk = talks[index]
        at = _whole_sentences(talk.start_s + into * (talk.end_s - talk.start_s)) + 1.25
        if at >= talk.end_s:
            raise ValueError(f"a {length_s:.0f} s day is too short for its episodes")
        where = f"{talk.title}, {into:.0%} in"
        if episodes and at < episodes[-1].end_s:
            raise ValueError(f"a {length_s:.0f} s day is too short: its episodes overlap")
        episodes.append(Episode(kind, at, seconds, where))
    return DayPlan(day_end, tuple(talks), tuple(episodes), audience or Audience())
