"""`falco-responder init`: a team's own repository from the packaged example, calling the
module by its release, with the RBAC and admission rails its policy needs."""

import re
from pathlib import Path

import hcl2
import pytest
import yaml
from click.testing import CliRunner

from falco_responder_cli import init_repository
from falco_responder_cli.init_repository import EXAMPLE_FILES, GENERATED_FILES, release_ref
from falco_responder_cli.main import cli
from responder.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "terraform" / "examples" / "basic"
PACKAGED = ROOT / "falco_responder_cli" / "example"
WRITTEN = {*EXAMPLE_FILES, *GENERATED_FILES}
SOURCE = "git::https://github.com/acme/falco-responder.git//terraform?ref=v2.3.4"
# A project holding the example's cluster name: each placeholder is replaced once.
TEAM = ["--project", "acme-sec-prod", "--cluster", "gke-eu"]
RELEASE = ["--repository", "acme/falco-responder", "--ref", "v2.3.4"]


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _init(target: Path, *args: str) -> Path:
    result = _run("init", target, *args)
    assert result.exit_code == 0, result.output
    return target


def _unquoted(raw):
    """python-hcl2 keeps the quotes of string literals and labels."""
    return raw[1:-1] if isinstance(raw, str) and raw[:1] == raw[-1:] == '"' else raw


def _module_call(folder: Path) -> dict:
    with (folder / "main.tf").open() as handle:
        [[call]] = [item.values() for item in hcl2.load(handle)["module"]]
    return {name: value for name, value in call.items() if not name.startswith("__")}


def _ci_commands(folder: Path) -> list[str]:
    workflow = yaml.safe_load((folder / "policy-ci.yml").read_text())
    return [step["run"] for step in workflow["jobs"]["validate"]["steps"] if "run" in step]


@pytest.fixture(scope="module")
def team(tmp_path_factory) -> Path:
    return _init(tmp_path_factory.mktemp("team") / "falco", *TEAM, *RELEASE)


def test_the_packaged_example_is_terraform_examples_basic():
    # One source: the package holds a symlink to each example file (sdist and wheel copy them).
    assert {p.name for p in PACKAGED.iterdir()} == set(EXAMPLE_FILES)
    for name in EXAMPLE_FILES:
        assert (PACKAGED / name).is_symlink(), name
        assert (PACKAGED / name).resolve() == (EXAMPLE / name).resolve(), name
    assert {p.name for p in EXAMPLE.iterdir()} == WRITTEN


def test_init_writes_the_repository_and_says_so(team):
    assert {p.name for p in team.iterdir()} == WRITTEN
    result = _run("init", team.parent / "again", *TEAM, *RELEASE)
    assert result.exit_code == 0, result.output
    assert f"wrote 10 files in {team.parent / 'again'}" in result.output
    assert f"module source: {SOURCE}" in result.output


def test_the_module_is_called_by_its_release(team):
    assert _unquoted(_module_call(team)["source"]) == SOURCE
    example_call = _module_call(EXAMPLE)
    assert _unquoted(example_call.pop("source")) == "../.."
    written_call = _module_call(team)
    written_call.pop("source")
    assert written_call == example_call
    assert "../.." not in (team / "main.tf").read_text()


def test_the_written_terraform_parses(team):
    for name in ("main.tf", "variables.tf", "versions.tf", "outputs.tf"):
        with (team / name).open() as handle:
            assert hcl2.load(handle), name
    tfvars = hcl2.loads((team / "terraform.tfvars.example").read_text())
    assert _unquoted(tfvars["project_id"]) == "acme-sec-prod"
    assert set(tfvars["clusters"]) == {"gke-eu"}
    with (team / "variables.tf").open() as handle:
        variables = {
            _unquoted(k): v for item in hcl2.load(handle)["variable"] for k, v in item.items()
        }
    clusters = variables["clusters"]
    assert set(clusters["default"]) == {"gke-eu"}


def test_no_placeholder_of_the_example_is_left(team):
    for name in WRITTEN:
        text = (team / name).read_text().replace("acme-sec-prod", "PROJECT")
        for placeholder in (r"my-security-project", r"\bprod\b", r"\bORG\b", r"\bTAG\b"):
            assert not re.search(placeholder, text), f"{name}: {placeholder}"


def test_the_written_policy_is_valid_for_the_team_cluster(team):
    policy = load_policy(team / "policy.yaml")
    [(name, access)] = policy.clusters.items()
    assert name == "gke-eu"
    assert access.google_identity is True
    assert access.kubeconfig_secret == (
        "projects/acme-sec-prod/secrets/falco-kubeconfig-gke-eu/versions/latest"
    )
    assert _run("policy", "validate", team / "policy.yaml").exit_code == 0


def test_rbac_and_admission_are_what_the_policy_commands_print(team):
    policy = team / "policy.yaml"
    assert (team / "rbac.yaml").read_text() == _run("policy", "rbac", policy).stdout
    email = "falco-responder@acme-sec-prod.iam.gserviceaccount.com"
    printed = _run("policy", "admission", "--google-identity", email, policy).stdout
    assert (team / "admission.yaml").read_text() == printed
    assert email in printed


def test_the_ci_job_installs_the_release_and_its_diffs_are_empty(team):
    runs = _ci_commands(team)
    assert 'pip install "falco-responder @ git+https://github.com/acme/falco-responder@v2.3.4"' in (
        runs
    )
    for run in runs:
        if " | diff -u " not in run:
            continue
        command, diff = run.split(" | ")
        expected = diff.removeprefix("diff -u ").removesuffix(" -")
        arguments = [str(team / a) if a == "policy.yaml" else a for a in command.split()[1:]]
        result = _run(*arguments)
        assert result.exit_code == 0, result.output
        assert result.stdout == (team / expected).read_text(), run


def test_with_the_example_names_only_the_module_source_differs(tmp_path):
    written = _init(
        tmp_path / "as-example",
        *("--project", "my-security-project", "--cluster", "prod"),
        *("--repository", "ORG/falco-responder", "--ref", "TAG"),
    )
    for name in WRITTEN - {"main.tf"}:
        assert (written / name).read_text() == (EXAMPLE / name).read_text(), name
    example_lines = (EXAMPLE / "main.tf").read_text().splitlines()
    written_lines = (written / "main.tf").read_text().splitlines()
    removed = [line for line in example_lines if line not in written_lines]
    added = [line for line in written_lines if line not in example_lines]
    assert removed[-1] == '  source = "../.."'
    assert all(line.startswith("  #") for line in removed[:-1])
    assert added[-1] == (
        '  source = "git::https://github.com/ORG/falco-responder.git//terraform?ref=TAG"'
    )


def test_init_overwrites_nothing(tmp_path):
    (tmp_path / "policy.yaml").write_text("mine\n")
    (tmp_path / "notes.txt").write_text("kept\n")
    result = _run("init", tmp_path, *TEAM, *RELEASE)
    assert result.exit_code == 1
    assert f"{tmp_path} already holds policy.yaml: init writes a new repository" in result.output
    assert "never overwrites" in result.output
    assert {p.name for p in tmp_path.iterdir()} == {"policy.yaml", "notes.txt"}
    assert (tmp_path / "policy.yaml").read_text() == "mine\n"


def test_the_ref_is_the_installed_release(tmp_path, monkeypatch):
    monkeypatch.setattr(init_repository, "version", lambda _name: "4.5.6")
    written = _init(tmp_path / "released", "--project", "acme-sec-prod")
    assert _unquoted(_module_call(written)["source"]) == (
        "git::https://github.com/ORG/falco-responder.git//terraform?ref=v4.5.6"
    )


def test_a_build_that_is_not_a_release_needs_a_ref(tmp_path, monkeypatch):
    monkeypatch.setattr(init_repository, "version", lambda _name: "0.0.1.dev3+gabcdef0")
    result = _run("init", tmp_path / "dev", "--project", "acme-sec-prod")
    assert result.exit_code == 2
    assert "--ref" in result.output
    assert "0.0.1.dev3+gabcdef0 is not a release" in result.output
    assert not (tmp_path / "dev").exists()


@pytest.mark.parametrize(
    ("installed", "ref"),
    [
        ("1.2.3", "v1.2.3"),
        ("10.0.12", "v10.0.12"),
        ("1.2.4.dev3+gabcdef0", None),
        ("1.2.3+d20261206", None),
        ("1.2.3rc1", None),
        ("0.0.0", None),  # pyproject.toml's fallback for a build without git metadata
    ],
)
def test_release_ref(installed, ref):
    assert release_ref(installed) == ref


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (["--project", "Acme-Sec"], "'Acme-Sec' is not a project ID"),
        (["--project", "acme"], "'acme' is not a project ID"),
        (["--project", "acme-sec", "--cluster", "1prod"], "does not start with a letter"),
        (["--project", "acme-sec", "--cluster", "eu west"], "is not a cluster name"),
        (["--project", "acme-sec", "--cluster", "yes"], "--cluster 'yes': policy policy.yaml"),
        (["--project", "acme-sec", "--cluster", "yes"], "YAML reads yes as True, not a name"),
        (["--project", "acme-sec", "--cluster", "null"], "YAML reads null as None, not a name"),
        (["--project", "acme-sec", "--repository", "acme"], "'acme' is not OWNER/NAME"),
        (["--project", "acme-sec", "--ref", "-v1"], "'-v1' is not a git tag"),
    ],
)
def test_bad_input_is_refused_naming_it(tmp_path, arguments, problem):
    result = _run("init", tmp_path / "team", "--ref", "v1.0.0", *arguments)
    assert result.exit_code != 0
    assert problem in result.output
    assert not (tmp_path / "team").exists()
