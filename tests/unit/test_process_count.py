"""`plenary run --processes N|auto`: auto is one per core; a number is bounded by the cores,
since each process is a whole web node (its own fold of the stream, tail and memory)."""

from __future__ import annotations

import pytest

from dashboard.serve.processes import PER_CORE_MAX, cores, process_count


def test_auto_is_one_per_core():
    assert process_count("auto", available=2) == 2
    assert process_count("auto") == cores()


@pytest.mark.parametrize("given", ["1", "2", "3", "4"])
def test_up_to_twice_the_cores_is_taken(given):
    assert process_count(given, available=2) == int(given)


@pytest.mark.parametrize("given", ["5", "256", "0", "-1"])
def test_beyond_the_bound_is_refused_naming_the_option_and_the_bound(given):
    with pytest.raises(ValueError) as refused:
        process_count(given, available=2)
    said = str(refused.value)
    assert said.startswith("--processes must be from 1 to 4 "), said
    assert f"not {given}" in said and "\n" not in said


def test_the_bound_follows_the_cores():
    assert process_count(str(PER_CORE_MAX * 8), available=8) == PER_CORE_MAX * 8
    with pytest.raises(ValueError):
        process_count(str(PER_CORE_MAX * 8 + 1), available=8)


def test_a_word_is_refused():
    with pytest.raises(ValueError, match=r"--processes must be a number or auto, not 'many'"):
        process_count("many", available=2)
