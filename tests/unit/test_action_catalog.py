"""Each action tells its own docs; `policy actions` and the policy page's table come from them."""

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from falco_responder_cli import action_catalog
from falco_responder_cli.action_catalog import action_classes, action_name
from falco_responder_cli.main import cli
from responder.actions import BaseAction
from responder.actions.evidence import CaptureEvidence
from responder.actions.pod import DeletePod, EvictPod
from responder.actions.scale import ScaleToZero
from responder.policy import Policy

POLICY_PAGE = Path(__file__).resolve().parents[2] / "docs" / "policy.md"
ACTIONS = action_classes()


def _policy_actions(*args: str) -> str:
    result = CliRunner().invoke(cli, ["policy", "actions", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def _defined(cls: type[BaseAction]) -> set[type[BaseAction]]:
    """`cls` and its subclasses that have an `action` key."""
    below = {c for sub in cls.__subclasses__() for c in _defined(sub)}
    return below | ({cls} if "action" in cls.model_fields else set())


def test_every_action_class_is_one_a_rule_can_name():
    assert set(ACTIONS) == _defined(BaseAction)
    assert len({action_name(cls) for cls in ACTIONS}) == len(ACTIONS)


@pytest.mark.parametrize("cls", ACTIONS, ids=action_name)
def test_every_action_says_what_it_does_and_why_it_is_idempotent(cls):
    assert isinstance(cls.description, str) and cls.description.strip()
    assert isinstance(cls.idempotent, str) and cls.idempotent.strip()
    assert "\n" not in cls.description + cls.idempotent  # one table row each


@pytest.mark.parametrize("cls", ACTIONS, ids=action_name)
def test_every_example_is_a_valid_entry_of_a_rule_for_that_action(cls):
    assert cls.example["action"] == action_name(cls)
    policy = Policy.model_validate(
        {"rules": [{"name": "example", "match": {}, "actions": [cls.example]}]}
    )
    (action,) = policy.rules[0].actions
    assert type(action) is cls


@pytest.mark.parametrize("cls", ACTIONS, ids=action_name)
def test_a_field_description_only_ever_says_the_default_in_words(cls):
    described = [f.description for f in cls.model_fields.values() if f.description]
    assert all(d.startswith(action_catalog.DEFAULT_IN_WORDS) for d in described)


def test_parameters_and_defaults_come_from_the_fields():
    assert action_catalog.parameters(DeletePod) == [("grace_period_seconds", "1")]
    assert action_catalog.parameters(EvictPod) == [("grace_period_seconds", "the pod's own")]
    assert action_catalog.parameters(ScaleToZero) == []
    assert dict(action_catalog.parameters(CaptureEvidence)) == {
        "bucket": "$EVIDENCE_BUCKET",
        "log_lines": "1000",
        "max_bytes": str(1024 * 1024),
        "max_total_bytes": str(8 * 1024 * 1024),
        "previous_logs": "true",
    }
    assert action_catalog.common_parameters() == [("continue_on_failure", "false")]


def test_rbac_is_each_rule_of_the_action_with_its_api_group_unless_core():
    assert action_catalog.rbac_text(ScaleToZero.rbac) == (
        "apps replicasets: get; apps deployments, statefulsets: get, patch"
    )


def test_policy_actions_lists_every_action_with_its_facts_and_example():
    listing = _policy_actions()
    blocks = listing.split("\n\n")
    assert len(blocks) == len(ACTIONS) + 1
    for cls, block in zip(ACTIONS, blocks, strict=False):
        assert block.startswith(f"{action_name(cls)}: {cls.description}\n")
        assert f"  destructive: {'yes' if cls.destructive else 'no'}\n" in block
        assert f"  rbac:        {action_catalog.rbac_text(cls.rbac)}\n" in block
        example = block.split("  example:\n", 1)[1]
        assert yaml.safe_load(example) == [cls.example]
    assert blocks[-1] == "Every action also takes continue_on_failure (false).\n"


def test_the_policy_page_action_table_is_the_generated_one():
    text = POLICY_PAGE.read_text(encoding="utf-8")
    start = text.index(action_catalog.TABLE_START) + len(action_catalog.TABLE_START)
    on_the_page = text[start : text.index(action_catalog.TABLE_END, start)].strip("\n")
    assert on_the_page == _policy_actions("--markdown").strip("\n"), (
        "docs/policy.md's action table is stale: replace it with the output of "
        "`falco-responder policy actions --markdown`"
    )
