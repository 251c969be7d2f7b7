"""The conference day's plan (pure): what is said when, where the episodes fall."""

from __future__ import annotations

import pytest

from tests.faults.day_plan import (
    DAY_S,
    MAX_WORD,
    SENTENCE_S,
    SLOT_S,
    Kind,
    conference_day,
)


@pytest.mark.parametrize("hours", [1.0, 2.0, 8.0])
def test_every_word_is_said_once_in_order_and_breaks_are_silent(hours: float) -> None:
    plan = conference_day(hours * 3600)
    said = [plan.word_of_slot(s) for s in range(plan.slots)]
    words = [w for w in said if w]
    assert words == list(range(1, plan.words + 1))
    assert all(plan.time_of_word(said[s]) == s * SLOT_S for s in range(plan.slots) if said[s])
    for talk in plan.talks:
        assert talk.start_s % SENTENCE_S == 0
        assert talk.end_s % SENTENCE_S == 0
        assert plan.talk_at(talk.start_s) == talk
        assert plan.talk_at(talk.end_s) is not talk  # a break (or the next talk) follows
    breaks = [s for s in range(plan.slots) if plan.talk_at(s * SLOT_S) is None]
    assert breaks
    assert all(said[s] == 0 for s in breaks)


@pytest.mark.parametrize(
    ("slot", "word"),
    [(0, 1), (3, 4), (4, 0), (5, 5), (9, 0), (10, 9)],
)
def test_a_sentence_is_four_words_and_a_pause(slot: int, word: int) -> None:
    assert conference_day(3600).word_of_slot(slot) == word


def test_the_full_day_fits_the_encoding_and_keeps_its_schedule() -> None:
    plan = conference_day()
    assert plan.length_s == DAY_S
    assert plan.words <= MAX_WORD
    assert [t.start_s / 3600 for t in plan.talks] == [0, 1, 2.25, 4, 5, 6.25, 7.25]
    assert all(t.end_s - t.start_s == 2700 for t in plan.talks)


@pytest.mark.parametrize("hours", [1.0, 8.0])
def test_every_episode_starts_mid_sentence_in_a_talk_and_none_overlap(hours: float) -> None:
    plan = conference_day(hours * 3600)
    kinds = [e.kind for e in plan.episodes]
    assert sorted(set(kinds)) == sorted(Kind)
    assert kinds.count(Kind.PARTITION) == 2
    for episode, after in zip(plan.episodes, plan.episodes[1:], strict=False):
        assert episode.end_s <= after.at_s
    for episode in plan.episodes:
        assert plan.talk_at(episode.at_s) is not None
        assert plan.word_of_slot(int(episode.at_s / SLOT_S)) != 0  # a word is being said


def test_words_between_is_what_the_slots_say() -> None:
    plan = conference_day(3600)
    talk = plan.talks[1]
    assert plan.words_between(talk.start_s, talk.start_s + SENTENCE_S) == [
        talk.first_word + i for i in range(4)
    ]
    assert plan.words_between(talk.end_s, plan.talks[2].start_s) == []


@pytest.mark.parametrize("seconds", [0, -1, 600, 1800])
def test_a_day_too_short_for_its_episodes_is_refused(seconds: float) -> None:
    with pytest.raises(ValueError, match="day"):
        conference_day(seconds)


def test_a_word_the_day_does_not_have_has_no_time() -> None:
    plan = conference_day(3600)
    with pytest.raises(ValueError, match="no word"):
        plan.time_of_word(plan.words + 1)
