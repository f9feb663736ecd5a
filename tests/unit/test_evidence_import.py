"""The Cloud Storage client is imported only when capture_evidence runs: a responder whose
policy captures nothing does not pay for it at cold start."""

import subprocess
import sys


def test_the_responder_starts_without_the_storage_client():
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, responder.main, falco_responder_cli.main; "
            "print('google.cloud.storage' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "False"
