"""isolate_pod tells an isolating NetworkPolicy from one someone else made under its name."""

from kubernetes import client

from responder.actions.isolate import IsolatePod, isolating_spec

SERIALIZE = client.ApiClient().sanitize_for_serialization


def _ours(**allowances) -> dict:
    return SERIALIZE(IsolatePod(action="isolate_pod", **allowances).network_policy("shop").spec)


def test_our_spec_as_the_api_server_returns_it_is_isolating():
    returned = {
        "podSelector": {"matchLabels": {"falco-responder/isolated": "true"}},
        "policyTypes": ["Egress", "Ingress"],
    }
    assert isolating_spec(returned) == isolating_spec(_ours())


def test_a_permissive_policy_under_our_name_is_not_isolating():
    allow_all = {
        "podSelector": {"matchLabels": {"falco-responder/isolated": "true"}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{}],
        "egress": [{}],
    }
    assert isolating_spec(allow_all) != isolating_spec(_ours())
    elsewhere = {
        **allow_all,
        "ingress": [],
        "egress": [],
        "podSelector": {"matchLabels": {"x": "y"}},
    }
    assert isolating_spec(elsewhere) != isolating_spec(_ours())
    ingress_only = {**allow_all, "ingress": [], "egress": [], "policyTypes": ["Ingress"]}
    assert isolating_spec(ingress_only) != isolating_spec(_ours())


def test_allowances_are_part_of_the_spec():
    assert isolating_spec(_ours(allow_cidrs=["10.0.0.0/8"])) != isolating_spec(
        _ours(allow_cidrs=["0.0.0.0/0"])
    )
