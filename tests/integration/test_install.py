"""The README's install line on a fresh machine: the wheel `make dist` builds, published
at a URL (here a file server on 127.0.0.1 standing in for the release page) and installed
with pipx into its own environment (dependencies from the package index), runs the
commands the README's deploy steps use, with nothing from a clone but the user's files.

The source is this checkout's tracked files, copied into a new git repository tagged
v9.8.7, so the version must come from the tag (and `init` pins that release). Slow (about
a minute: two isolated builds and a fresh environment with every dependency), so it runs
with the integration tests.
"""

import functools
import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
VERSION = "9.8.7"
WHEEL = f"falco_responder-{VERSION}-py3-none-any.whl"
EMAIL = "falco-responder@my-project.iam.gserviceaccount.com"

pytestmark = pytest.mark.integration


def _run(*command: str | Path, cwd: Path | None = None, **options) -> str:
    done = subprocess.run(
        [str(c) for c in command], cwd=cwd, capture_output=True, text=True, check=False, **options
    )
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done.stdout


def _tagged_copy(target: Path) -> Path:
    """The tracked files as they are now, committed in a new repository and tagged."""
    listed = _run("git", "ls-files", "-z", cwd=ROOT).split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            # Symlinks as git holds them (falco_responder_cli/example/): the build copies them.
            shutil.copy2(source, target / name, follow_symlinks=False)
    identity = ["-c", "user.name=release", "-c", "user.email=release@example.com"]
    _run("git", "init", "-q", cwd=target)
    _run("git", "add", "-A", cwd=target)
    _run("git", *identity, "commit", "-qm", "release", cwd=target)
    _run("git", *identity, "tag", "-a", f"v{VERSION}", "-m", f"v{VERSION}", cwd=target)
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The `falco-responder` command pipx installed from the built wheel."""
    root = tmp_path_factory.mktemp("release")
    source = _tagged_copy(root / "source")
    dist = root / "dist"
    # What `make dist` runs.
    _run(sys.executable, "-m", "build", "--outdir", dist, source)
    assert sorted(p.name for p in dist.iterdir()) == [WHEEL, f"falco_responder-{VERSION}.tar.gz"]
    home = {
        "PIPX_HOME": str(root / "pipx"),
        "PIPX_BIN_DIR": str(root / "bin"),
        "PIPX_MAN_DIR": str(root / "man"),
    }
    files = functools.partial(SimpleHTTPRequestHandler, directory=str(dist))
    server = ThreadingHTTPServer(("127.0.0.1", 0), files)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{WHEEL}"
        _run(sys.executable, "-m", "pipx", "install", url, env={**os.environ, **home})
    finally:
        server.shutdown()
        server.server_close()
        serving.join()
    return root / "bin" / "falco-responder"


def test_the_version_is_the_tag(installed):
    assert _run(installed, "--version") == f"falco-responder, version {VERSION}\n"


def test_the_deploy_steps_run_from_the_installed_command(installed, tmp_path):
    # The user's own repository, as the installed command writes it: nothing from a clone.
    written = _run(installed, "init", "team", "--project", "my-project", cwd=tmp_path)
    assert "wrote 10 files" in written
    team = tmp_path / "team"
    source = f"git::https://github.com/ORG/falco-responder.git//terraform?ref=v{VERSION}"
    assert f'  source = "{source}"\n' in (team / "main.tf").read_text()
    policy = team / "policy.yaml"
    _run(installed, "policy", "validate", policy, cwd=tmp_path)
    rbac_yaml = _run(installed, "policy", "rbac", policy)
    assert rbac_yaml == (team / "rbac.yaml").read_text()
    rbac = list(yaml.safe_load_all(rbac_yaml))
    assert rbac[0]["kind"] == "ClusterRole"
    bindings = list(
        yaml.safe_load_all(
            _run(installed, "policy", "bindings", policy, "--google-identity", EMAIL)
        )
    )
    assert bindings[0]["kind"] == "Namespace"
    assert {s["name"] for d in bindings if "subjects" in d for s in d["subjects"]} == {EMAIL}
    rails = _run(installed, "policy", "admission", "--google-identity", EMAIL, policy)
    assert EMAIL in rails
    assert rails == (team / "admission.yaml").read_text()
    describe = ROOT / "tests" / "data" / "gke" / "private-dns.json"
    kubeconfig = yaml.safe_load(
        _run(
            installed,
            "kubeconfig",
            "--from-describe",
            "-",
            "--name",
            "prod",
            input=describe.read_text(),
        )
    )
    assert kubeconfig["current-context"]
    for command in (["send-test-alert"], ["evidence"], ["replay"], ["dead-letters"]):
        assert "Usage:" in _run(installed, *command, "--help")
    # The default policy comes with the package (no --policy).
    alert = ROOT / "falco_responder_cli" / "sample_alerts" / "terminal_shell_in_container.json"
    explained = json.loads(_run(installed, "policy", "explain", "--json", alert))
    assert explained["decision"], explained
