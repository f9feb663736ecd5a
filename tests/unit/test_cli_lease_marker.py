import json
from datetime import UTC, datetime, timedelta

from falco_responder_cli.lease_marker import (
    LeaseMarker,
    held_elsewhere,
    held_elsewhere_warning,
)

SUB = "projects/p/subscriptions/dead"
NOW = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)


def test_a_run_sees_the_marks_of_other_runs_not_its_own(tmp_path):
    killed, other_sub, current = (
        LeaseMarker(SUB, tmp_path),
        LeaseMarker("projects/p/subscriptions/else", tmp_path),
        LeaseMarker(SUB, tmp_path),
    )
    killed.mark(120, NOW + timedelta(seconds=60))
    other_sub.mark(5, NOW + timedelta(seconds=60))
    current.mark(7, NOW + timedelta(seconds=60))
    [lease] = current.others(NOW)
    assert (lease.count, lease.until) == (120, NOW + timedelta(seconds=60))
    assert held_elsewhere([lease]) == (120, NOW + timedelta(seconds=60))


def test_the_latest_hold_counts_and_a_removed_marker_is_gone(tmp_path):
    marker = LeaseMarker(SUB, tmp_path)
    marker.mark(100, NOW + timedelta(seconds=66))
    marker.mark(40, NOW + timedelta(seconds=10))  # holds granted earlier still run
    assert json.loads(marker.path.read_text())["until"] == (NOW + timedelta(seconds=66)).isoformat()
    marker.remove()
    assert LeaseMarker(SUB, tmp_path).others(NOW) == []


def test_expired_and_unreadable_markers_are_cleared(tmp_path):
    LeaseMarker(SUB, tmp_path).mark(3, NOW - timedelta(seconds=1))
    (tmp_path / "garbage.json").write_text("{not json")
    assert LeaseMarker(SUB, tmp_path).others(NOW) == []
    assert list(tmp_path.iterdir()) == []


def test_nothing_held_elsewhere_means_no_warning(tmp_path):
    assert held_elsewhere_warning([], SUB) is None


def test_the_warning_says_how_many_and_until_when(tmp_path):
    LeaseMarker(SUB, tmp_path).mark(120, NOW + timedelta(seconds=60))
    warning = held_elsewhere_warning(LeaseMarker(SUB, tmp_path).others(NOW), SUB)
    assert warning.startswith(f"warning: up to 120 messages of {SUB} may still be held")
    assert "until 2026-11-28T01:01:00+00:00" in warning


def test_a_marker_that_cannot_be_written_warns_once_and_harms_nothing(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    marker = LeaseMarker(SUB, tmp_path / "file" / "leases")
    marker.mark(1, NOW)
    marker.mark(2, NOW)
    assert capsys.readouterr().err.count("cannot write the lease marker") == 1
    assert marker.others(NOW) == []
