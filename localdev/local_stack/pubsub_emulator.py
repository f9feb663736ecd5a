"""The Google Cloud Pub/Sub emulator, started through gcloud on a free port."""

import shutil

from localdev.local_stack.processes import Service, free_port, http_answers

START_TIMEOUT_SECONDS = 90


class EmulatorNotFoundError(RuntimeError):
    """gcloud or its Pub/Sub emulator component is not installed."""


def start_pubsub_emulator(project: str) -> tuple[Service, str]:
    """Start the emulator; returns the service and its `host:port` for PUBSUB_EMULATOR_HOST."""
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        raise EmulatorNotFoundError(
            "gcloud is not on PATH: install the Google Cloud SDK and its Pub/Sub emulator "
            "(gcloud components install pubsub-emulator, or apt's google-cloud-cli-pubsub-emulator)"
        )
    host = f"127.0.0.1:{free_port()}"
    service = Service(
        "pubsub-emulator",
        [
            gcloud,
            "beta",
            "emulators",
            "pubsub",
            "start",
            f"--host-port={host}",
            f"--project={project}",
            "--quiet",
        ],
    )
    service.start(lambda: http_answers(f"http://{host}/"), timeout=START_TIMEOUT_SECONDS)
    return service, host
