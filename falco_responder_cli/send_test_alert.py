"""`send-test-alert`: prove the webhook path end to end with a real Falco alert."""

import json
import uuid
from pathlib import Path
from typing import Any

import click
import requests

from falco_responder_cli.sample_alerts import SAMPLE_ALERTS, fresh_sample_alert
from shared import config
from shared.alert import loads_json

# Falcosidekick's own `POST /test` event: the responder skips it, so it is safe anywhere.
DEFAULT_FIXTURE = "sidekick_test_event"
TIMEOUT_SECONDS = 30.0
ACCEPTED = 202


def fixture_names() -> list[str]:
    """The stems of the sample alerts shipped with the command."""
    return sorted(p.stem for p in SAMPLE_ALERTS.glob("*.json"))


def load_alert_file(path: Path) -> dict[str, Any]:
    """A JSON object from a file, or a ClickException naming the file and the fault."""
    try:
        document = loads_json(path.read_bytes())
    except OSError as exc:
        raise click.ClickException(f"{path}: cannot read: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise click.ClickException(
            f"{path}: expected one alert (a JSON object), got {type(document).__name__}"
        )
    return document


def with_fresh_uuid(alert: dict[str, Any]) -> dict[str, Any]:
    """A copy with a new `uuid`, so ingest and the responder treat it as a new alert."""
    return {**alert, "uuid": str(uuid.uuid4())}


def post_alert(
    url: str, alert: dict[str, Any], token: str | None, timeout: float = TIMEOUT_SECONDS
) -> requests.Response:
    """POST one alert as Falcosidekick's webhook output does, with a Bearer token if given."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(url, data=json.dumps(alert).encode(), headers=headers, timeout=timeout)


@click.command("send-test-alert", short_help="POST a test alert to ingest.")
@click.argument("url")
@click.option(
    "--fixture",
    "fixture_name",
    type=click.Choice(fixture_names()),
    help=f"A shipped alert to send instead of {DEFAULT_FIXTURE}; the others name pods that "
    "the responder acts on if the policy says so.",
)
@click.option(
    "--file",
    "alert_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Send the alert in this JSON file.",
)
@click.option(
    "--token",
    envvar=config.INGEST_TOKEN,
    show_envvar=True,
    help="Ingest token, sent as 'Authorization: Bearer'.",
)
@click.option("--timeout", type=float, default=TIMEOUT_SECONDS, show_default=True)
def send_test_alert_command(
    url: str,
    fixture_name: str | None,
    alert_file: Path | None,
    token: str | None,
    timeout: float,
) -> None:
    """POST a test alert to the ingest function at URL; exit 0 only on 202 Accepted.

    By default Falcosidekick's test event, which the responder skips harmlessly. Every
    alert gets a fresh uuid; a sample alert is also dated now, so the responder does not
    refuse it as stale. Prints the HTTP status and the response body.
    """
    if fixture_name and alert_file:
        raise click.UsageError("give --fixture or --file, not both")
    if alert_file:
        alert = with_fresh_uuid(load_alert_file(alert_file))
    else:
        alert = fresh_sample_alert(fixture_name or DEFAULT_FIXTURE)
    if not token:
        click.echo(
            f"warning: no --token or {config.INGEST_TOKEN}: sending no Authorization", err=True
        )
    try:
        response = post_alert(url, alert, token, timeout)
    except requests.RequestException as exc:
        raise click.ClickException(f"POST {url} failed: {exc}") from exc
    click.echo(f"HTTP {response.status_code}")
    click.echo(response.text)
    if response.status_code != ACCEPTED:
        raise click.exceptions.Exit(1)
