"""What every Pub/Sub command shares: the project, resource paths, and errors that say where."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import click
from google.api_core.exceptions import GoogleAPICallError, RetryError
from google.auth.exceptions import GoogleAuthError

from shared import config

F = TypeVar("F", bound=Callable[..., object])


def _require_project(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    if not value:
        raise click.BadParameter(
            f"no project: pass --project or set {config.GOOGLE_CLOUD_PROJECT}", ctx, param
        )
    return value


def project_option(command: F) -> F:
    """`--project`, defaulting to GOOGLE_CLOUD_PROJECT as the functions themselves read it."""
    return click.option(
        "--project",
        envvar=config.GOOGLE_CLOUD_PROJECT,
        show_envvar=True,
        callback=_require_project,
        help="Google Cloud project id.",
    )(command)


def resource_path(project: str, kind: str, name: str) -> str:
    """`projects/P/<kind>/<name>` for a bare id; a full path is kept as given."""
    if name.startswith("projects/"):
        return name
    return f"projects/{project}/{kind}/{name}"


def where() -> str:
    """Which Pub/Sub the commands talk to, for error messages."""
    host = config.env(config.PUBSUB_EMULATOR_HOST)
    return f"Pub/Sub emulator at {host}" if host else "Google Cloud Pub/Sub"


@contextmanager
def pubsub_errors(action: str) -> Iterator[None]:
    """Turn a client library failure into one line naming the action and the endpoint."""
    try:
        yield
    except (GoogleAPICallError, RetryError, GoogleAuthError) as exc:
        raise click.ClickException(f"{action} failed ({where()}): {exc}") from exc
