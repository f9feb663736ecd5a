"""`falco-responder kubeconfig`: a GKE cluster's server-and-CA kubeconfig, from real
`gcloud container clusters describe --format=json` shapes (tests/data/gke/), loaded as the
responder loads it in GKE identity mode."""

import base64
import json
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from falco_responder_cli.main import cli
from responder import kube
from responder.kube import Clusters, GoogleToken
from responder.policy import ClusterAccess
from tests.secret_manager import SecretManagerStandIn
from tests.unit.test_google_identity import NumberedCredentials

GKE = Path(__file__).resolve().parents[1] / "data" / "gke"


def describe(name: str) -> dict:
    return json.loads((GKE / f"{name}.json").read_text())


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, ["kubeconfig", *args], input=stdin)


def kubeconfig_of(fixture: str, *options: str) -> dict:
    result = run("--from-describe", str(GKE / f"{fixture}.json"), *options)
    assert result.exit_code == 0, result.output
    return yaml.safe_load(result.stdout)


def the_cluster(document: dict) -> dict:
    (cluster,) = document["clusters"]
    return cluster["cluster"]


def test_a_private_cluster_is_reached_by_its_dns_endpoint_without_a_ca():
    document = kubeconfig_of("private-dns", "--name", "prod")
    dns = describe("private-dns")["controlPlaneEndpointsConfig"]["dnsEndpointConfig"]["endpoint"]
    # Google-managed certificate on the DNS endpoint: trusted as gcloud trusts it, no CA.
    assert the_cluster(document) == {"server": f"https://{dns}"}
    assert document["current-context"] == "prod"
    assert document["contexts"] == [
        {"name": "prod", "context": {"cluster": "prod", "user": "google-identity"}}
    ]
    # no credentials of any kind: the responder brings its Google token
    assert document["users"] == [{"name": "google-identity", "user": {}}]


def test_the_name_defaults_to_the_gke_cluster_name():
    assert kubeconfig_of("private-dns")["current-context"] == "prod-eu"


def test_dns_closed_to_external_traffic_falls_back_to_the_private_ip_with_the_ca():
    cluster = the_cluster(kubeconfig_of("private-ip-only"))
    ca = describe("private-ip-only")["masterAuth"]["clusterCaCertificate"]
    assert cluster == {"server": "https://172.16.0.2", "certificate-authority-data": ca}


def test_a_public_endpoint_is_chosen_unless_the_private_one_is_asked_for():
    assert the_cluster(kubeconfig_of("public-authorized-networks"))["server"] == (
        "https://34.76.201.18"
    )
    private = kubeconfig_of("public-authorized-networks", "--endpoint", "private")
    assert the_cluster(private)["server"] == "https://172.16.1.2"


def test_a_cluster_described_before_endpoint_configs_uses_its_endpoint():
    cluster = the_cluster(kubeconfig_of("legacy-public"))
    assert cluster["server"] == "https://35.195.12.7"
    assert cluster["certificate-authority-data"]


def test_describe_output_can_come_from_stdin():
    result = run("--from-describe", "-", stdin=(GKE / "private-dns.json").read_text())
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout)["current-context"] == "prod-eu"


@pytest.mark.parametrize(
    ("fixture", "options", "message"),
    [
        (
            "unreachable",
            (),
            "cluster sealed: no endpoint the responder can use: enable the DNS-based endpoint",
        ),
        (
            "private-ip-only",
            ("--endpoint", "dns"),
            "does not allow external traffic (dnsEndpointConfig.allowExternalTraffic): "
            "enable it with `gcloud container clusters update CLUSTER --location LOCATION "
            "--enable-dns-access`",
        ),
        ("private-dns", ("--endpoint", "public"), "has no public IP endpoint enabled"),
    ],
)
def test_an_endpoint_it_cannot_use_is_an_error_saying_what_to_do(fixture, options, message):
    result = run("--from-describe", str(GKE / f"{fixture}.json"), *options)
    assert result.exit_code == 1
    assert message in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("kind: Config\n", "stdin: not JSON"),
        ('{"items": []}', "stdin: not a GKE cluster"),
        ("[1, 2]", "stdin: not a GKE cluster"),
    ],
)
def test_input_that_is_not_a_cluster_description_is_an_error(content, message):
    result = run("--from-describe", "-", stdin=content)
    assert result.exit_code == 1
    assert message in result.output


@pytest.mark.parametrize("fixture", ["private-dns", "private-ip-only"])
def test_the_responder_loads_it_with_its_google_identity(monkeypatch, fixture):
    text = run("--from-describe", str(GKE / f"{fixture}.json"), "--name", "prod").stdout
    secrets = SecretManagerStandIn()
    secrets.add_version("projects/p/secrets/falco-kubeconfig-prod", text.encode())
    secret = "projects/p/secrets/falco-kubeconfig-prod/versions/latest"
    monkeypatch.setattr(kube, "read_secret", secrets.read_secret)
    credentials = NumberedCredentials(lifetime=timedelta(hours=1))
    clusters = Clusters(
        {"prod": ClusterAccess(kubeconfig_secret=secret, google_identity=True)},
        google_token=lambda: GoogleToken(credentials),
    )
    configuration = clusters.apis("prod").client.configuration
    server = the_cluster(yaml.safe_load(text))["server"]
    assert configuration.host == server
    assert configuration.auth_settings()["BearerToken"]["value"] == "Bearer token-1"
    ca = describe(fixture)["masterAuth"]["clusterCaCertificate"]
    if fixture == "private-dns":
        assert configuration.ssl_ca_cert is None  # the system's trust store
    else:
        assert Path(configuration.ssl_ca_cert).read_bytes() == base64.b64decode(ca)
