"""`init`: write a team's own repository from the packaged example, so the deploy steps
need nothing from a clone of falco-responder.

The example's files are terraform/examples/basic/ (Terraform's and checkov's checks read
them there); falco_responder_cli/example/ holds a symlink to each, which the sdist and the
wheel turn into copies. init rewrites the example's placeholders (project, cluster,
release repository and tag), calls the module by its release instead of `../..`, and
generates rbac.yaml and admission.yaml from the written policy as `policy rbac` and
`policy admission` print them.
"""

import re
from collections.abc import Callable
from importlib import resources
from importlib.metadata import version
from pathlib import Path

import click
import yaml

from falco_responder_cli.common import project_option
from falco_responder_cli.policy_commands import admission_yaml, rbac_yaml
from responder import admission
from responder.policy import Policy, PolicyError, check_cluster_name, parse_policy

# The packaged example's files, written with the placeholders below replaced.
EXAMPLE_FILES = (
    "main.tf",
    "variables.tf",
    "versions.tf",
    "outputs.tf",
    "terraform.tfvars.example",
    "policy.yaml",
    "policy-ci.yml",
    "README.md",
)
# Generated from the written policy, not copied.
GENERATED_FILES = ("rbac.yaml", "admission.yaml")

# What the example names, as whole words, and init replaces with the team's own.
EXAMPLE_PROJECT = "my-security-project"
EXAMPLE_CLUSTER = "prod"
EXAMPLE_REPOSITORY = "ORG/falco-responder"
EXAMPLE_REF = "TAG"
# main.tf's call of the module beside it, with the comment lines above it.
LOCAL_SOURCE = re.compile(r'(?:^  #.*\n)*^  source = "\.\./\.\."\n', re.MULTILINE)

# Google Cloud project IDs, as terraform/variables.tf's project_id checks them.
PROJECT_ID = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+")
GIT_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
# A release's version is the tag's (vX.Y.Z -> X.Y.Z); 0.0.0 is pyproject.toml's fallback
# for a build without git metadata, which no tag names.
RELEASE_VERSION = re.compile(r"\d+\.\d+\.\d+")
UNTAGGED_VERSION = "0.0.0"


def release_ref(installed: str) -> str | None:
    """The tag an installed version was built from, or None if it is not a release."""
    if RELEASE_VERSION.fullmatch(installed) and installed != UNTAGGED_VERSION:
        return f"v{installed}"
    return None


def module_source(repository: str, ref: str) -> str:
    """The Terraform module in a release of `repository` (OWNER/NAME on GitHub)."""
    return f"git::https://github.com/{repository}.git//terraform?ref={ref}"


def google_identity(project: str) -> str:
    """The responder's Google service account in `project` (the module's default name)."""
    return admission.DEFAULT_GOOGLE_IDENTITY.replace("PROJECT", project)


def _example(name: str) -> str:
    return (resources.files("falco_responder_cli") / "example" / name).read_text("utf-8")


def _personalised(text: str, replacements: dict[str, str]) -> str:
    # One pass, so a value holding a placeholder (a project named acme-prod) stays as given.
    words = "|".join(re.escape(placeholder) for placeholder in replacements)
    return re.sub(rf"\b(?:{words})\b", lambda found: replacements[found[0]], text)


def _with_release_source(main_tf: str, source: str) -> str:
    call = (
        "  # The module's release; policy-ci.yml installs the same release of the command.\n"
        f'  source = "{source}"\n'
    )
    written, count = LOCAL_SOURCE.subn(lambda _: call, main_tf)
    if count != 1:
        raise RuntimeError(f'the packaged main.tf calls source = "../.." {count} times, not once')
    return written


def _written_policy(text: str, cluster: str) -> Policy:
    # The cluster is an unquoted YAML key: `yes` or `null` would not be a name.
    try:
        return parse_policy(yaml.safe_load(text), "policy.yaml")
    except PolicyError as exc:
        read = yaml.safe_load(cluster)
        why = f" (YAML reads {cluster} as {read!r}, not a name)" if read != cluster else ""
        raise click.ClickException(f"--cluster {cluster!r}: {exc}{why}") from None


def repository_files(project: str, cluster: str, repository: str, ref: str) -> dict[str, str]:
    """Each file of the team's repository, by name, as init writes it."""
    replacements = {
        EXAMPLE_PROJECT: project,
        EXAMPLE_CLUSTER: cluster,
        EXAMPLE_REPOSITORY: repository,
        EXAMPLE_REF: ref,
    }
    files = {name: _personalised(_example(name), replacements) for name in EXAMPLE_FILES}
    files["main.tf"] = _with_release_source(files["main.tf"], module_source(repository, ref))
    policy = _written_policy(files["policy.yaml"], cluster)
    users = [admission.service_account_user(admission.DEFAULT_SERVICE_ACCOUNT)]
    files["rbac.yaml"] = rbac_yaml(policy)
    files["admission.yaml"] = admission_yaml(
        policy, [*users, google_identity(project)], "policy.yaml"
    )
    return files


def write_new(directory: Path, files: dict[str, str]) -> None:
    """Write every file into `directory` (made if missing), or none if any is there already."""
    present = sorted(name for name in files if (directory / name).exists())
    if present:
        raise click.ClickException(
            f"{directory} already holds {', '.join(present)}: init writes a new repository "
            "and never overwrites or merges; move them away or choose another directory"
        )
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        with (directory / name).open("x", encoding="utf-8") as handle:
            handle.write(text)


def _checked(
    pattern: re.Pattern[str], what: str
) -> Callable[[click.Context, click.Parameter, str | None], str | None]:
    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value is not None and not pattern.fullmatch(value):
            raise click.BadParameter(f"{value!r} is not {what}", ctx, param)
        return value

    return check


def _cluster(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        check_cluster_name(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None
    # The files name it as an unquoted key, which in HCL starts with a letter.
    if not value[0].isalpha():
        raise click.BadParameter(f"{value!r} does not start with a letter", ctx, param)
    return value


@click.command("init", short_help="Write your own repository from the example.")
@project_option
@click.option(
    "--cluster",
    default=EXAMPLE_CLUSTER,
    show_default=True,
    callback=_cluster,
    help="The cluster's name, as Falcosidekick's customfields send it (cluster:NAME).",
)
@click.option(
    "--repository",
    default=EXAMPLE_REPOSITORY,
    show_default=True,
    callback=_checked(REPOSITORY, "OWNER/NAME"),
    metavar="OWNER/NAME",
    help="The GitHub repository you take falco-responder's releases from.",
)
@click.option(
    "--ref",
    callback=_checked(GIT_REF, "a git tag"),
    metavar="TAG",
    help="The release the module source and the CI job pin [default: this command's "
    "version, vX.Y.Z, when it is a release].",
)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def init_command(
    project: str, cluster: str, repository: str, ref: str | None, directory: Path
) -> None:
    """Write a team's own repository into DIRECTORY: the Terraform module call (by its
    release), terraform.tfvars.example, the response policy, the RBAC and admission rails
    it needs (as `policy rbac` and `policy admission --google-identity
    falco-responder@PROJECT.iam.gserviceaccount.com` print them), its CI job
    (policy-ci.yml) and a README.

    Writes nothing if any of those files is already in DIRECTORY.
    """
    if not PROJECT_ID.fullmatch(project):
        raise click.BadParameter(
            f"{project!r} is not a project ID (6 to 30 lowercase letters, digits or -, "
            "starting with a letter)",
            param_hint="--project",
        )
    installed = version("falco-responder")
    ref = ref or release_ref(installed)
    if ref is None:
        raise click.BadParameter(
            f"falco-responder {installed} is not a release: name the one to pin",
            param_hint="--ref",
        )
    files = repository_files(project, cluster, repository, ref)
    write_new(directory, files)
    click.echo(f"wrote {len(files)} files in {directory}: {', '.join(files)}")
    click.echo(f"module source: {module_source(repository, ref)}")
