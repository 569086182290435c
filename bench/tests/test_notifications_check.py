"""bench.notifications' exactly-once check fails when it should: a key missing, twice, or not this run's."""

from __future__ import annotations

from bench.notifications import delivery_problems

RUN = "0123456789ab"
SENT = {f"{RUN}-batched-{i}" for i in range(3)} | {f"{RUN}-baseline-0"}


def subjects(*keys: str) -> list[str]:
    return [f"Claim CLM-{n:07d} [bench {key}]" for n, key in enumerate(keys)]


def test_every_key_received_once_is_no_problem():
    assert delivery_problems(SENT, subjects(*sorted(SENT))) == []


def test_a_key_received_twice_is_a_problem_even_when_the_count_matches():
    received = subjects(f"{RUN}-batched-0", f"{RUN}-batched-0", f"{RUN}-batched-1", f"{RUN}-baseline-0")
    problems = delivery_problems(SENT, received)
    assert len(received) == len(SENT)
    assert any("never arrived" in p and f"{RUN}-batched-2" in p for p in problems)
    assert any("more than once" in p and f"{RUN}-batched-0" in p for p in problems)


def test_the_same_number_in_the_other_part_or_another_run_does_not_count():
    received = subjects(f"{RUN}-batched-0", f"{RUN}-batched-1", f"{RUN}-baseline-2", "ffffffffffff-batched-2")
    problems = delivery_problems(SENT, received)
    assert any("never arrived" in p for p in problems)
    assert any("not sent by this run" in p and "ffffffffffff-batched-2" in p for p in problems)


def test_a_message_without_a_key_is_a_problem():
    received = [*subjects(*sorted(SENT)), "Claim CLM-0000001"]
    assert any("not sent by this run" in p for p in delivery_problems(SENT, received))
