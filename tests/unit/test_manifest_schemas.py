"""Every Kubernetes manifest the project ships or generates is valid against the Kubernetes
OpenAPI schema, strictly (no field the API does not define), at the oldest Kubernetes the
README supports and the newest kubernetes-validate knows.

Shipped: the manifests of deploy/ and terraform/examples/. Generated: what `falco-responder
policy rbac` and `policy admission` print for the default policy and the example's, and
what `falco-responder init` writes, run here through the command line itself, so the check
follows the generators as they change.

kubernetes-validate checks the shape (field names, types, required fields, enums of the
published schema); the API server's own validation (e.g. a resource list holding `*/*`
with anything else) is the Kubernetes API emulator's job, not this test's.
"""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from packaging.version import Version

from falco_responder_cli.main import cli
from responder.handler import DEFAULT_POLICY_FILE

kubernetes_validate = pytest.importorskip("kubernetes_validate")

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_FOLDERS = (ROOT / "deploy", ROOT / "terraform" / "examples")
# Where the README states the oldest Kubernetes supported ("Kubernetes 1.30 or later").
SUPPORT_STATEMENTS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md")))

# YAML files of those folders that are not Kubernetes objects, and what they are instead.
NOT_MANIFESTS = {
    "deploy/helm/falco-values-webhook.yaml": "Helm values of the falco chart",
    "deploy/helm/falco-values-gcppubsub.yaml": "Helm values of the falco chart",
    "deploy/falco/responder-exceptions.yaml": "Falco rules",
    "terraform/examples/basic/policy.yaml": "the responder's response policy",
    "terraform/examples/basic/policy-ci.yml": "a GitHub Actions workflow",
}

POLICIES = {
    "default policy": Path(DEFAULT_POLICY_FILE),
    "example policy": ROOT / "terraform" / "examples" / "basic" / "policy.yaml",
}
GENERATORS = ("rbac", "admission")


def oldest_supported() -> str:
    """The one oldest Kubernetes version the README (and docs/) say the project supports."""
    stated = {
        match
        for path in SUPPORT_STATEMENTS
        for match in re.findall(r"Kubernetes (1\.\d+) or later", path.read_text())
    }
    assert len(stated) == 1, f"README and docs/ state these oldest Kubernetes: {stated}"
    return stated.pop()


def versions() -> list[str]:
    """The oldest supported and the newest known Kubernetes, as major.minor."""
    newest = Version(kubernetes_validate.latest_version())
    return [oldest_supported(), f"{newest.major}.{newest.minor}"]


def yaml_files() -> list[Path]:
    return sorted(
        path
        for folder in SHIPPED_FOLDERS
        for pattern in ("*.yaml", "*.yml")
        for path in folder.rglob(pattern)
    )


def shipped_manifests() -> list[str]:
    return [
        str(path.relative_to(ROOT))
        for path in yaml_files()
        if str(path.relative_to(ROOT)) not in NOT_MANIFESTS
    ]


def generated(command: str, policy: Path) -> str:
    result = CliRunner().invoke(cli, ["policy", command, str(policy)])
    assert result.exit_code == 0, result.output
    return result.output


def documents(text: str) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def problems(objects: list[Any], version: str) -> Iterator[str]:
    """What kubernetes-validate refuses, strictly; a kind it has no schema for is refused too
    (its command line only warns)."""
    for obj in objects:
        if not isinstance(obj, dict) or not obj.get("apiVersion") or not obj.get("kind"):
            yield f"not a Kubernetes object: {obj!r:.80}"
            continue
        name = f"{obj['kind']} {obj.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            yield f"{name}: {path}: {error.message}"
        except kubernetes_validate.SchemaNotFoundError as error:
            yield f"{name}: {error.message}"


# --- which files, which versions -------------------------------------------------------------


def test_every_yaml_file_is_a_manifest_or_said_not_to_be():
    on_disk = {str(p.relative_to(ROOT)) for p in yaml_files()}
    assert set(NOT_MANIFESTS) <= on_disk, set(NOT_MANIFESTS) - on_disk
    for name in NOT_MANIFESTS:
        for doc in documents((ROOT / name).read_text()):
            assert not (isinstance(doc, dict) and "apiVersion" in doc and "kind" in doc), name
    assert shipped_manifests()


def test_the_oldest_version_is_the_readmes_and_the_newest_is_the_packages():
    oldest, newest = versions()
    # ValidatingAdmissionPolicy is admissionregistration.k8s.io/v1 from 1.30.
    assert Version(oldest) >= Version("1.30")
    assert Version(newest) > Version(oldest)
    assert Version(newest) >= Version("1.37")  # the dev dependency's lower bound


# --- the manifests --------------------------------------------------------------------------


@pytest.mark.parametrize("version", versions())
@pytest.mark.parametrize("name", shipped_manifests())
def test_shipped_manifest_matches_the_kubernetes_schema(name, version):
    objects = documents((ROOT / name).read_text())
    assert objects, f"{name} holds no document"
    found = list(problems(objects, version))
    assert not found, f"{name} at Kubernetes {version}:\n" + "\n".join(found)


@pytest.mark.parametrize("version", versions())
@pytest.mark.parametrize("command", GENERATORS)
@pytest.mark.parametrize("policy", POLICIES)
def test_generated_manifest_matches_the_kubernetes_schema(policy, command, version):
    objects = documents(generated(command, POLICIES[policy]))
    assert objects, f"policy {command} printed nothing for the {policy}"
    found = list(problems(objects, version))
    where = f"falco-responder policy {command} ({policy}) at Kubernetes {version}"
    assert not found, f"{where}:\n" + "\n".join(found)


@pytest.fixture(scope="module")
def initialised(tmp_path_factory) -> Path:
    """A team's repository as `falco-responder init` writes it."""
    target = tmp_path_factory.mktemp("init") / "team"
    result = CliRunner().invoke(
        cli, ["init", str(target), "--project", "acme-sec", "--cluster", "eu", "--ref", "v1.0.0"]
    )
    assert result.exit_code == 0, result.output
    return target


@pytest.mark.parametrize("version", versions())
@pytest.mark.parametrize("name", ["rbac.yaml", "admission.yaml"])
def test_what_init_writes_matches_the_kubernetes_schema(initialised, name, version):
    objects = documents((initialised / name).read_text())
    assert objects, f"init wrote no document in {name}"
    found = list(problems(objects, version))
    assert not found, f"init's {name} at Kubernetes {version}:\n" + "\n".join(found)


# --- the check refuses what the schema refuses ---------------------------------------------


ROLE = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "ClusterRole",
    "metadata": {"name": "r"},
    "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda o: o["rules"][0].update(verb=["get"]), "Additional properties"),
        (lambda o: o["rules"][0].pop("verbs"), "'verbs' is a required property"),
        (lambda o: o["rules"][0].update(verbs="get"), "is not of type 'array'"),
        (lambda o: o.update(kind="ClusterRol"), "Couldn't find schema"),
        (lambda o: o.update(apiVersion="rbac.authorization.k8s.io/v2"), "Couldn't find schema"),
    ],
)
def test_the_check_refuses_what_the_schema_refuses(change, problem):
    role = yaml.safe_load(yaml.safe_dump(ROLE))
    assert list(problems([role], versions()[0])) == []
    change(role)
    for version in versions():
        found = list(problems([role], version))
        assert any(problem in p for p in found), found


def test_a_validating_admission_policy_v1_needs_kubernetes_1_30():
    (policy, _binding) = documents(generated("admission", POLICIES["default policy"]))
    assert policy["apiVersion"] == "admissionregistration.k8s.io/v1"
    assert list(problems([policy], "1.30")) == []
    assert any("Couldn't find schema" in p for p in problems([policy], "1.29"))
