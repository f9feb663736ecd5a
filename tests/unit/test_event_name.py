"""record_event's Event names are always valid, whatever the pod's name."""

import pytest

from responder.actions.event import event_name
from shared.k8s_names import dns1123_subdomain_error


@pytest.mark.parametrize(
    "pod",
    ["web", "a" * 253, "a" * 219 + "." + "b" * 33, "a" * 219 + "-" + "b" * 33, "x." * 126 + "y"],
)
def test_an_event_name_is_a_valid_subdomain_for_any_valid_pod_name(pod):
    assert dns1123_subdomain_error(pod) is None
    name = event_name(pod, "5b1b0c6a-8a9b-4a63-9d1e-2f5d2a7c9e11", "FalcoAlert")
    assert dns1123_subdomain_error(name) is None, name


def test_an_event_name_is_the_same_for_a_redelivery_and_differs_by_alert_and_reason():
    long = "a" * 253
    assert event_name(long, "A", "R") == event_name(long, "A", "R")
    assert (
        len({event_name(long, "A", "R"), event_name(long, "B", "R"), event_name(long, "A", "S")})
        == 3
    )
    assert event_name("web", "A", "R").startswith("web.falco-responder.")
