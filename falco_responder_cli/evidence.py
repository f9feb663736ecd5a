"""`falco-responder evidence ALERT_ID`: one alert's evidence, checked against its manifest.

The responder stores it under CLUSTER/NAMESPACE/POD/ALERT_ID/; the operator knows the
alert id (from the outcome record or the dead letter), so the prefix is found by a
listing with `matchGlob` `*/*/*/ALERT_ID/**`, and the fourth path segment is checked
again here (an emulator may ignore the glob).
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from google.api_core.exceptions import GoogleAPICallError
from google.auth.exceptions import GoogleAuthError

from falco_responder_cli.common import project_option
from responder.actions.evidence import MANIFEST, sha256
from responder.evidence_bucket import REDELIVERY_MARKERS
from shared import config
from shared.alert import ALERT_ID


@dataclass(frozen=True)
class Checked:
    """One stored object and what its manifest entry says of it."""

    name: str
    size: int
    # ok, MISMATCH, MISSING, unlisted, unverified (stored by an earlier attempt), redelivery
    verdict: str


def evidence_objects(client: Any, bucket: str, alert_id: str) -> dict[str, Any]:
    """The alert's blobs by name relative to its prefix; empty when nothing is stored."""
    found: dict[str, Any] = {}
    for blob in client.list_blobs(bucket, match_glob=f"*/*/*/{alert_id}/**"):
        parts = blob.name.split("/", 4)
        if len(parts) == 5 and parts[3] == alert_id:
            found[parts[4]] = blob
    prefixes = {blob.name[: -len(name)] for name, blob in found.items()}
    if len(prefixes) > 1:
        raise click.ClickException(f"alert {alert_id} has evidence under {sorted(prefixes)}")
    return found


def check(contents: dict[str, bytes]) -> list[Checked]:
    """Every object against the manifest's SHA-256 (the manifest itself is `ok` if parsed)."""
    manifest = json.loads(contents[MANIFEST])
    listed = {entry["name"]: entry for entry in manifest["objects"]}
    checked = [Checked(MANIFEST, len(contents[MANIFEST]), "ok")]
    for name, data in sorted(contents.items()):
        if name == MANIFEST:
            continue
        entry = listed.get(name)
        if entry is None and name.startswith(REDELIVERY_MARKERS):
            verdict = "redelivery"  # a later attempt found the capture stored (not evidence)
        elif entry is None:
            verdict = "unlisted"
        elif entry.get("sha256") is None:
            verdict = "unverified (stored by an earlier attempt)"
        else:
            verdict = "ok" if sha256(data) == entry["sha256"] else "MISMATCH"
        checked.append(Checked(name, len(data), verdict))
    checked += [Checked(name, 0, "MISSING") for name in sorted(set(listed) - set(contents))]
    return checked


def _client(project: str) -> Any:
    from google.cloud import storage

    return storage.Client(project=project)


@click.command("evidence", short_help="List, verify and fetch one alert's evidence.")
@project_option
@click.argument("alert_id")
@click.option(
    "--bucket",
    envvar=config.EVIDENCE_BUCKET,
    show_envvar=True,
    required=True,
    help="The evidence bucket.",
)
@click.option(
    "--download",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write every object under this directory.",
)
def evidence_command(project: str, alert_id: str, bucket: str, download: Path | None) -> None:
    """List ALERT_ID's evidence and check every object against the manifest's SHA-256.

    Exits 1 when an object is missing, altered or unlisted, or there is no manifest.
    """
    if not ALERT_ID.fullmatch(alert_id):  # the responder stores no other (shared.alert)
        raise click.BadParameter(
            f"{alert_id!r} is not an alert id: no evidence is stored under it",
            param_hint="ALERT_ID",
        )
    try:
        blobs = evidence_objects(_client(project), bucket, alert_id)
        contents = {name: blob.download_as_bytes() for name, blob in blobs.items()}
    except (GoogleAPICallError, GoogleAuthError) as exc:
        raise click.ClickException(f"reading gs://{bucket} failed: {exc}") from exc
    if not contents:
        raise click.ClickException(f"no evidence for alert {alert_id} in gs://{bucket}")
    if MANIFEST not in contents:
        raise click.ClickException(
            f"alert {alert_id}: {len(contents)} objects but no {MANIFEST} "
            "(the capture was interrupted; it completes when the alert is delivered again)"
        )
    prefix = next(iter(blobs.values())).name.rsplit(f"/{alert_id}/", 1)[0]
    click.echo(f"gs://{bucket}/{prefix}/{alert_id}/")
    checked = check(contents)
    for item in checked:
        click.echo(f"  {item.verdict:<10} {item.size:>10}  {item.name}")
    for note in json.loads(contents[MANIFEST]).get("not_captured", []):
        click.echo(f"  not captured: {note['object']}: {note['reason']}")
    if download is not None:
        root = download.resolve()
        for name, data in contents.items():
            path = (root / name).resolve()
            if not path.is_relative_to(root):
                raise click.ClickException(f"object name {name!r} leaves {download}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        click.echo(f"downloaded {len(contents)} objects to {download}")
    if any(item.verdict in ("MISMATCH", "MISSING", "unlisted") for item in checked):
        raise SystemExit(1)
