"""How input problems read: one line for one problem, a list for several."""

from __future__ import annotations

from scripts.errors import InvalidInput, SeedIncomplete


def test_one_problem_is_one_line() -> None:
    error = InvalidInput(["f.jsonl:3: missing key attribute 'id'"], note="nothing was written")
    assert str(error) == "f.jsonl:3: missing key attribute 'id' (nothing was written)"


def test_many_problems_are_listed_then_capped() -> None:
    problems = [f"f.jsonl:{n}: bad" for n in range(1, 26)]
    lines = str(InvalidInput(problems, note="nothing was written")).splitlines()
    assert lines[:2] == ["f.jsonl:1: bad", "f.jsonl:2: bad"]
    assert lines[-2:] == ["... and 5 more problem(s)", "nothing was written"]
    assert len(lines) == 22


def test_seed_incomplete_says_how_far_it_got() -> None:
    error = SeedIncomplete("Tasks", 300, 1500, "cannot reach the endpoint")
    assert str(error).startswith("seeding Tasks stopped after 300 of 1500 items: cannot reach")
    assert (error.written, error.total) == (300, 1500)
