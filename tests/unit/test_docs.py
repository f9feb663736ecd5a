"""The docs name what the code has: environment variables, commands and their options."""

import re
from importlib.metadata import version
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from falco_responder_cli.main import cli
from shared import config

ROOT = Path(__file__).resolve().parents[2]
DOCS = [
    "README.md",
    *sorted(str(page.relative_to(ROOT)) for page in (ROOT / "docs").glob("*.md")),
    "deploy/README.md",
    "terraform/README.md",
    "terraform/examples/basic/README.md",
]

# The environment variables of shared/config.py: the constants whose value is their name.
CONFIG_ENV_VARS = {
    name for name, value in vars(config).items() if isinstance(value, str) and name == value
}


def _text(doc: str) -> str:
    return (ROOT / doc).read_text(encoding="utf-8")


def test_the_environment_table_lists_every_variable_the_code_reads():
    page = _text("docs/functions.md")
    section = page.split("\n## Environment variables\n", 1)[1].split("\n## ")[0]
    rows = [line.split("|") for line in section.splitlines() if line.startswith("| `")]
    table = {row[1].strip().strip("`"): row[4].strip() for row in rows}
    assert set(table) == CONFIG_ENV_VARS
    assert table[config.INGEST_MAX_BODY_BYTES] == str(config.DEFAULT_MAX_BODY_BYTES)
    assert table[config.INGEST_MAX_ALERTS] == str(config.DEFAULT_MAX_ALERTS)
    assert float(table[config.INGEST_BODY_TIMEOUT_SECONDS]) == config.DEFAULT_BODY_TIMEOUT_SECONDS
    assert float(table[config.KUBE_TIMEOUT_SECONDS]) == config.DEFAULT_KUBE_TIMEOUT_SECONDS
    assert table[config.ALERTS_TOPIC] == f"`{config.DEFAULT_ALERTS_TOPIC}`"
    assert table[config.DEAD_LETTER_TOPIC] == f"`{config.DEFAULT_DEAD_LETTER_TOPIC}`"


# A Markdown link's target, less its anchor.
LINK_TARGET = re.compile(r"\]\(([^)#\s]+)(?:#[^)\s]*)?\)")


@pytest.mark.parametrize("doc", [doc for doc in DOCS if not doc.startswith("docs/")])
def test_links_outside_the_site_point_to_files_that_exist(doc):
    # `make docs` checks the links of docs/ (mkdocs build --strict); these files it never reads.
    targets = [t for t in LINK_TARGET.findall(_text(doc)) if "://" not in t]
    missing = [t for t in targets if not ((ROOT / doc).parent / t).exists()]
    assert missing == [], f"{doc} links to files that do not exist: {missing}"


def _invocations() -> list[tuple[str, str]]:
    """(doc, words) of each `falco-responder ...` command line the docs show."""
    found = []
    for doc in DOCS:
        # inline code, and lines of code blocks, joined over line continuations
        text = _text(doc).replace("\\\n", " ")
        found += [(doc, m[1]) for m in re.finditer(r"falco-responder( [^`|\n]*)", text)]
    return found


def _resolve(words: list[str]) -> tuple[click.Command, list[str]]:
    """The (sub)command the words name, and the options given to it."""
    command: click.Command = cli
    while words and isinstance(command, click.Group) and words[0] in command.commands:
        command = command.commands[words.pop(0)]
    return command, [w.split("=")[0] for w in words if w.startswith("--")]


@pytest.mark.parametrize(("doc", "words"), _invocations(), ids=lambda v: str(v)[:60])
def test_every_command_line_in_the_docs_uses_options_the_command_has(doc, words):
    command, options = _resolve(words.split())
    known = {name for param in command.params for name in param.opts}
    assert set(options) <= known | {"--help"}, f"{doc}: falco-responder{words}"


def test_every_option_of_init_is_on_the_operations_page():
    page = _text("docs/operations.md")
    options = [opt for param in cli.commands["init"].params for opt in param.opts]
    assert "--project" in options
    assert [opt for opt in options if opt.startswith("--") and opt not in page] == []


def test_the_docs_show_commands_the_cli_has():
    named = {w for _, words in _invocations() for w in words.split()[:1]}
    commands = set(cli.commands)
    assert named & commands >= {"init", "policy", "replay", "seek", "kubeconfig", "send-test-alert"}


def test_version_prints_the_installed_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"falco-responder, version {version('falco-responder')}\n"
