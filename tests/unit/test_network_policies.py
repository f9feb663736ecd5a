"""Which NetworkPolicies let an isolated pod's traffic through (responder.network_policies)."""

import pytest

from responder.network_policies import allowed_directions, leaks, selects


def _requirement(key: str, operator: str, *values: str) -> dict:
    return {"key": key, "operator": operator, **({"values": list(values)} if values else {})}


# k8s.io/apimachinery pkg/labels/selector_test.go, TestRequirementSelectorMatching: the
# cases whose operators a LabelSelector may use (In, NotIn, Exists, DoesNotExist).
UPSTREAM_MATCHING = [
    (
        {"x": "foo", "y": "baz"},
        [_requirement("x", "In", "foo"), _requirement("y", "NotIn", "alpha")],
        True,
    ),
    (
        {"x": "foo", "y": "baz"},
        [_requirement("x", "In", "foo"), _requirement("y", "In", "alpha")],
        False,
    ),
    ({"y": ""}, [_requirement("x", "NotIn", ""), _requirement("y", "Exists")], True),
    ({"y": ""}, [_requirement("x", "DoesNotExist"), _requirement("y", "Exists")], True),
    ({"y": ""}, [_requirement("x", "NotIn", ""), _requirement("y", "DoesNotExist")], False),
    ({"y": "baz"}, [_requirement("x", "In", "")], False),
]


@pytest.mark.parametrize(("labels", "expressions", "selected"), UPSTREAM_MATCHING)
def test_match_expressions_select_as_upstreams_requirements_do(labels, expressions, selected):
    assert selects({"matchExpressions": expressions}, labels) is selected


def test_an_empty_selector_selects_every_pod_and_match_labels_must_all_hold():
    assert selects({}, {}) and selects(None, {"app": "web"})
    assert selects({"matchLabels": {"app": "web"}}, {"app": "web", "tier": "a"})
    assert not selects({"matchLabels": {"app": "web", "tier": "b"}}, {"app": "web", "tier": "a"})
    both = {"matchLabels": {"app": "web"}, "matchExpressions": [_requirement("tier", "Exists")]}
    assert not selects(both, {"app": "web"})


def test_an_operator_unknown_here_counts_as_selecting():
    # Reported rather than passed over: it might let traffic through.
    assert selects({"matchExpressions": [_requirement("x", "Gt", "1")]}, {})


@pytest.mark.parametrize(
    ("spec", "directions"),
    [
        # Without policyTypes: Ingress always, Egress where there is an egress section.
        ({"podSelector": {}, "ingress": [{}]}, ["Ingress"]),
        ({"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}, ["Egress"]),
        ({"podSelector": {}, "ingress": [{"ports": [{"port": 80}]}], "egress": []}, ["Ingress"]),
        ({"podSelector": {}}, []),
        # With them: only the directions named, whatever sections are there.
        ({"podSelector": {}, "policyTypes": ["Ingress"], "egress": [{}]}, []),
        ({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}, ["Egress"]),
        ({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, []),  # deny-all
        (
            {
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{}],
                "egress": [{}],
            },
            ["Ingress", "Egress"],
        ),
    ],
)
def test_a_policy_allows_traffic_in_the_directions_it_governs_with_a_rule(spec, directions):
    assert allowed_directions(spec) == directions


def test_leaks_are_the_policies_selecting_the_pod_and_allowing_traffic():
    labels = {"app": "web", "falco-responder/isolated": "true"}
    policies = [
        {"metadata": {"name": "allow-all"}, "spec": {"podSelector": {}, "ingress": [{}]}},
        {
            "metadata": {"name": "other-app"},
            "spec": {"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{}]},
        },
        {
            "metadata": {"name": "deny-egress"},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"]},
        },
        {
            "metadata": {"name": "web-out"},
            "spec": {
                "podSelector": {"matchLabels": {"app": "web"}},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{}],
                "egress": [{}],
            },
        },
        {
            "metadata": {"name": "not-isolated-only"},
            "spec": {
                "podSelector": {
                    "matchExpressions": [_requirement("falco-responder/isolated", "DoesNotExist")]
                },
                "ingress": [{}],
            },
        },
    ]
    assert leaks(policies, labels) == {"allow-all": ["Ingress"], "web-out": ["Ingress", "Egress"]}
