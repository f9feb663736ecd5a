"""Every Helm values document the project ships fits the falco chart's real key structure.

Helm ignores a key it does not know and renders a map where the chart expects a string:
both install without an error and silently do nothing (Falcosidekick not installed, a
header never sent). So each values file in deploy/helm/, each Terraform output built
from them, and each values snippet in docs/deploy.md is checked against the key tree of the
falcosecurity/falco chart 9.1.0 with its falcosidekick subchart 0.12.1
(tests/data/falco-chart-9.1.0-values-keys.yaml): every key must exist there, with a value
of the type the chart's default has.
"""

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

hcl2 = pytest.importorskip("hcl2")

ROOT = Path(__file__).resolve().parents[2]
HELM = ROOT / "deploy" / "helm"
KEY_TREE = ROOT / "tests" / "data" / "falco-chart-9.1.0-values-keys.yaml"
CHART_VERSION = "9.1.0"

VALUES_FILES = {
    "falcosidekick_helm_values": HELM / "falco-values-webhook.yaml",
    "falcosidekick_helm_values_gcppubsub": HELM / "falco-values-gcppubsub.yaml",
}
# Sample values for the templates' placeholders (Terraform fills in the real ones).
SAMPLE = {
    "cluster": "prod",
    "project_id": "my-security-project",
    "project_number": "123456789012",
    "ingest_url": "https://falco-ingest-abcdefghij-ew.a.run.app",
    "ingest_token_secret": "falco-ingest-token",
    "alerts_topic": "falco-alerts",
}
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")

LEAF_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "bool": (bool,),
    "int": (int,),
    "number": (int, float),
    "list": (list,),
    "map": (dict,),
}


@cache
def key_tree() -> dict[str, Any]:
    return yaml.safe_load(KEY_TREE.read_text(encoding="utf-8"))


def misfits(values: Any, tree: Any = None, path: str = "") -> list[str]:
    """Where `values` leaves the chart's key tree: unknown keys and values of another type."""
    tree = key_tree() if tree is None else tree
    if tree == "any":
        return []
    if isinstance(tree, str):
        expected = LEAF_TYPES[tree]
        wrong_bool = isinstance(values, bool) and bool not in expected
        if isinstance(values, expected) and not wrong_bool:
            return []
        return [f"{path}: the chart takes a {tree}, got {type(values).__name__} {values!r}"]
    if not isinstance(values, dict):
        return [f"{path}: the chart takes a map here, got {values!r}"]
    problems = []
    for key, value in values.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in tree:
            problems.append(f"{where}: no such key in the falco chart {CHART_VERSION}")
        else:
            problems.extend(misfits(value, tree[key], where))
    return problems


def render(template: str, values: dict[str, str] = SAMPLE) -> str:
    """A deploy/helm template with its placeholders filled in, as templatefile() does."""
    unknown = set(PLACEHOLDER.findall(template)) - set(values)
    assert not unknown, f"placeholders without a value: {sorted(unknown)}"
    assert "%{" not in template, "template directives are not expected here"
    assert "$${" not in template, "escaped placeholders are not expected here"
    return PLACEHOLDER.sub(lambda m: values[m[1]], template)


def rendered(path: Path) -> dict[str, Any]:
    return yaml.safe_load(render(path.read_text(encoding="utf-8")))


def docs_values_snippets() -> list[dict[str, Any]]:
    """The YAML blocks of docs/deploy.md that are falco chart values (a top-level falcosidekick)."""
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    snippets = [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]
    return [s for s in snippets if isinstance(s, dict) and "falcosidekick" in s]


# --- the key tree itself -----------------------------------------------------------------


def test_the_key_tree_names_its_chart_versions():
    header = KEY_TREE.read_text(encoding="utf-8").split("\n\n")[0]
    assert "falcosecurity/falco Helm chart 9.1.0" in header
    assert "0.12.1" in header
    tree = key_tree()
    assert tree["falcosidekick"]["enabled"] == "bool"  # the falco chart's own switch
    assert tree["falcosidekick"]["config"]["webhook"]["customHeaders"] == "string"
    assert "minimumpriority" in tree["falcosidekick"]["config"]["gcp"]["pubsub"]
    assert "minimumpriority" not in tree["falcosidekick"]["config"]["gcp"]


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        (
            {"falcosidekick": {"config": {"webhook": {"customHeaders": {"A": "b"}}}}},
            "falcosidekick.config.webhook.customHeaders: the chart takes a string",
        ),
        (
            {"falcosidekick": {"config": {"gcp": {"minimumpriority": "notice"}}}},
            "falcosidekick.config.gcp.minimumpriority: no such key",
        ),
        # Falcosidekick's own values at the top level: the falco chart ignores them.
        ({"config": {"webhook": {"address": "x"}}}, "config: no such key"),
        ({"falcosidekick": {"enabled": "true"}}, "falcosidekick.enabled: the chart takes a bool"),
    ],
)
def test_the_check_catches_what_helm_would_silently_ignore(values, problem):
    assert any(problem in p for p in misfits(values)), misfits(values)


# --- what the project ships -----------------------------------------------------------


def test_every_values_file_in_deploy_helm_is_checked():
    assert set(HELM.glob("*.yaml")) == set(VALUES_FILES.values())


@pytest.mark.parametrize("path", VALUES_FILES.values(), ids=lambda p: p.name)
def test_values_files_fit_the_chart(path: Path):
    values = rendered(path)
    assert misfits(values) == []
    # the falco chart installs Falcosidekick only when asked
    assert values["falcosidekick"]["enabled"] is True
    config = values["falcosidekick"]["config"]
    assert config["customfields"] == "cluster:prod"
    assert values["falco"]["append_output"][1] == {
        "match": {"source": "syscall"},
        "extra_fields": ["k8s.pod.uid"],
    }


@pytest.mark.parametrize("path", VALUES_FILES.values(), ids=lambda p: p.name)
def test_the_helm_command_pins_the_checked_chart_version(path: Path):
    assert f"helm upgrade --install falco falcosecurity/falco --version {CHART_VERSION}" in (
        path.read_text(encoding="utf-8")
    )


def outputs_tf() -> dict[str, Any]:
    with (ROOT / "terraform" / "outputs.tf").open(encoding="utf-8") as handle:
        parsed = hcl2.load(handle)
    found: dict[str, Any] = {}
    for item in parsed.get("output", []):
        found.update({k.strip('"'): v for k, v in item.items()})
    for item in parsed.get("locals", []):
        found.update({f"local.{k}": v for k, v in item.items()})
    return found


@pytest.mark.parametrize(("output", "path"), VALUES_FILES.items())
def test_terraform_outputs_are_the_values_files_filled_in_per_cluster(output: str, path: Path):
    parsed = outputs_tf()
    value = str(parsed[output]["value"])
    relative = path.relative_to(ROOT).as_posix()
    assert f'templatefile("${{local.repo_root}}/{relative}", vars)' in value, value
    assert "for name, vars in local.helm_values_vars" in value
    # every placeholder of the file is one Terraform provides, and the samples match them
    provided = set(re.findall(r"[{,]\s*(\w+)\s*=", str(parsed["local.helm_values_vars"])))
    used = set(PLACEHOLDER.findall(path.read_text(encoding="utf-8")))
    assert used <= provided, f"{path.name}: Terraform does not provide {sorted(used - provided)}"
    assert used <= set(SAMPLE)


def test_docs_snippets_fit_the_chart():
    snippets = docs_values_snippets()
    assert len(snippets) >= 2, "docs/deploy.md shows the webhook and the gcppubsub values"
    for snippet in snippets:
        assert misfits(snippet) == []
