import pytest

from localdev.local_stack.bench_split import Split, room_above_floor, room_for_ours


def test_ours_is_what_the_floor_and_the_libraries_leave():
    split = Split(total=2.9, floor=0.9, libraries=1.25)
    assert split.ours == pytest.approx(0.75)


def test_the_least_ratio_counts_no_code_of_ours():
    # Even with none of our code, the libraries' calls keep the ratio above the floor's 1x.
    assert Split(total=2.9, floor=0.9, libraries=1.35).least_ratio == pytest.approx(2.5)
    assert Split(total=0.9, floor=0.9, libraries=0).least_ratio == 1


def test_the_text_names_each_part_in_the_unit_asked():
    text = Split(0.0029, 0.0009, 0.00125).text("empty handler", "bare calls", "ms", 1000)
    assert text == "empty handler 0.90 + bare calls 1.25 + ours 0.75 ms"


def test_ours_can_be_negative_and_says_so():
    # A noisy run can measure the parts above the whole: shown, never hidden.
    assert Split(1.0, 0.6, 0.5).text("floor", "libraries", "s") == (
        "floor 0.60 + libraries 0.50 + ours -0.10 s"
    )


def test_the_room_left_for_our_code_is_the_goal_less_the_libraries():
    assert room_for_ours(2.1, 1.2, 2.5, "ms") == "the goal (2.5x) leaves our code 0.48 ms"


def test_libraries_at_or_above_the_goal_leave_no_room():
    for least in (2.5, 2.6):
        assert room_for_ours(least, 1.2, 2.5, "ms") == (
            "the libraries alone reach the goal (2.5x): no room for any code of ours"
        )


def test_a_rate_goal_missed_by_the_bare_calls_leaves_no_room():
    assert room_above_floor(0.30, 0.35) == (
        "the libraries alone miss the goal (0.35): no room for any code of ours"
    )


def test_a_rate_goal_the_bare_calls_meet_is_decided_by_ours():
    for least in (0.35, 0.5):
        assert room_above_floor(least, 0.35) == (
            "the libraries alone meet the goal (0.35): what ours adds decides"
        )
