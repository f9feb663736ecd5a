import click
import pytest
from click.testing import CliRunner

from falco_responder_cli.main import cli


def _commands(group, path=()):
    for name, command in group.commands.items():
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


@pytest.mark.parametrize("path", [(), *_commands(cli)], ids=lambda p: " ".join(p) or "main")
def test_every_command_has_help(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.stdout


@pytest.mark.parametrize(
    "command", [["replay"], ["dead-letters"], ["seek"], ["evidence", "ALERT", "--bucket", "b"]]
)
def test_google_cloud_commands_need_a_project(command):
    result = CliRunner().invoke(cli, command, env={"GOOGLE_CLOUD_PROJECT": ""})
    assert result.exit_code == 2
    assert "no project: pass --project or set GOOGLE_CLOUD_PROJECT" in result.output


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--ago", "1h", "--snapshot", "s"],
        ["--create-snapshot", "a", "--to-time", "2026-01-01T00:00:00Z"],
    ],
)
def test_seek_takes_exactly_one_target(options):
    result = CliRunner().invoke(cli, ["seek", "--project", "p", *options])
    assert result.exit_code == 2
    assert "give exactly one of --to-time, --ago, --snapshot, --create-snapshot" in result.output


def test_bad_durations_are_usage_errors():
    result = CliRunner().invoke(cli, ["replay", "--project", "p", "--older-than", "soon"])
    assert result.exit_code == 2
    assert "'soon' is not a duration like 30m" in result.output


def test_send_test_alert_refuses_a_file_that_is_not_one_alert(tmp_path):
    path = tmp_path / "alerts.json"
    path.write_text("[]")
    result = CliRunner().invoke(
        cli, ["send-test-alert", "http://127.0.0.1:9/", "--file", str(path)]
    )
    assert result.exit_code == 1
    assert f"{path}: expected one alert (a JSON object), got list" in result.output
