"""`kubeconfig`: the server-and-CA-only kubeconfig of a GKE cluster, for GKE identity mode.

The responder adds its own Google access token to every request (the policy's
`google_identity: true`), so the kubeconfig names the API server, how to trust it, and no
credentials at all. The cluster is read from `gcloud container clusters describe
--format=json`, the Container API's Cluster resource as JSON.
"""

import json
from dataclasses import dataclass
from typing import Any

import click
import yaml

# The kubeconfig's user: present because a context must name one, empty because the
# responder supplies the credentials.
USER = "google-identity"

ENDPOINTS = ("auto", "dns", "private", "public")


@dataclass(frozen=True)
class Server:
    """How to reach one control plane: its address and, for IP endpoints, its CA."""

    kind: str
    address: str
    ca_data: str | None


def _get(node: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def dns_server(cluster: dict[str, Any]) -> Server:
    """GKE's DNS-based endpoint: Google-managed certificate, so no CA (as gcloud writes it)."""
    dns = _get(cluster, "controlPlaneEndpointsConfig", "dnsEndpointConfig") or {}
    if not dns.get("endpoint"):
        raise ValueError("the cluster has no DNS-based endpoint (controlPlaneEndpointsConfig)")
    if not dns.get("allowExternalTraffic"):
        raise ValueError(
            "its DNS-based endpoint does not allow external traffic "
            "(dnsEndpointConfig.allowExternalTraffic): enable it with "
            "`gcloud container clusters update CLUSTER --location LOCATION --enable-dns-access`"
        )
    return Server("dns", dns["endpoint"], None)


def _ip_endpoints(cluster: dict[str, Any]) -> tuple[str | None, str | None]:
    """(private address, public address), None for an endpoint that is off or absent.

    The API's JSON leaves out false booleans: a missing `enabled` means disabled."""
    ip = _get(cluster, "controlPlaneEndpointsConfig", "ipEndpointsConfig")
    private_config = cluster.get("privateClusterConfig") or {}
    if isinstance(ip, dict):
        if not ip.get("enabled"):
            return None, None
        private = ip.get("privateEndpoint") or private_config.get("privateEndpoint")
        public_on = bool(ip.get("enablePublicEndpoint"))
        public = ip.get("publicEndpoint") or private_config.get("publicEndpoint")
    else:  # described before controlPlaneEndpointsConfig existed
        private = private_config.get("privateEndpoint")
        public_on = not private_config.get("enablePrivateEndpoint")
        public = private_config.get("publicEndpoint")
    if public_on and not public:
        public = cluster.get("endpoint")
    return private, (public if public_on else None)


def ip_server(cluster: dict[str, Any], kind: str) -> Server:
    """The private or public IP endpoint, with the cluster's CA."""
    ca_data = _get(cluster, "masterAuth", "clusterCaCertificate")
    if not ca_data:
        raise ValueError("no masterAuth.clusterCaCertificate: the describe output is incomplete")
    private, public = _ip_endpoints(cluster)
    address = private if kind == "private" else public
    if not address:
        raise ValueError(f"the cluster has no {kind} IP endpoint enabled")
    return Server(kind, address, ca_data)


def choose_server(cluster: dict[str, Any], endpoint: str = "auto") -> Server:
    """`auto`: the DNS-based endpoint when it takes external traffic (no VPC plumbing),
    else the private IP endpoint when the public one is off, else the public one."""
    if endpoint == "dns":
        return dns_server(cluster)
    if endpoint in ("private", "public"):
        return ip_server(cluster, endpoint)
    dns = _get(cluster, "controlPlaneEndpointsConfig", "dnsEndpointConfig") or {}
    if dns.get("endpoint") and dns.get("allowExternalTraffic"):
        return dns_server(cluster)
    private, public = _ip_endpoints(cluster)
    if public:
        return ip_server(cluster, "public")
    if private:
        return ip_server(cluster, "private")
    raise ValueError(
        "no endpoint the responder can use: enable the DNS-based endpoint "
        "(`gcloud container clusters update CLUSTER --location LOCATION --enable-dns-access`)"
        " or an IP endpoint"
    )


def kubeconfig(name: str, server: Server) -> dict[str, Any]:
    """A kubeconfig with one cluster and one context, and a user without credentials."""
    cluster: dict[str, Any] = {"server": f"https://{server.address}"}
    if server.ca_data:
        cluster["certificate-authority-data"] = server.ca_data
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": USER, "user": {}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": USER}}],
        "current-context": name,
    }


def render(name: str, server: Server) -> str:
    """The kubeconfig as YAML, with a header saying what it is for."""
    header = (
        f"# GKE identity mode: {server.kind} endpoint of cluster {name}, no credentials.\n"
        "# The responder authenticates with its Google service account (google_identity: true).\n"
    )
    return header + yaml.safe_dump(kubeconfig(name, server), sort_keys=False)


@click.command("kubeconfig", short_help="Print a GKE cluster's server-and-CA kubeconfig.")
@click.option(
    "--from-describe",
    "describe_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
    help="Output of `gcloud container clusters describe CLUSTER --format=json` (- for stdin).",
)
@click.option(
    "--name",
    help="Cluster and context name: the cluster's key in the policy's `clusters` "
    "[default: the GKE cluster's name].",
)
@click.option(
    "--endpoint",
    type=click.Choice(ENDPOINTS),
    default="auto",
    show_default=True,
    help="Which control-plane endpoint: auto prefers the DNS-based one when it takes "
    "external traffic; private needs Direct VPC egress to the cluster's network.",
)
def kubeconfig_command(describe_file: str, name: str | None, endpoint: str) -> None:
    """Print the kubeconfig the responder needs for a GKE cluster in GKE identity mode.

    It holds the control plane's address and CA, and no credentials: store it in the
    cluster's kubeconfig secret and name the cluster with `google_identity: true`.

    \b
      gcloud container clusters describe CLUSTER --location LOCATION --format=json \\
        | falco-responder kubeconfig --from-describe - --name prod \\
        | gcloud secrets versions add falco-kubeconfig-prod --data-file=-
    """
    where = "stdin" if describe_file == "-" else describe_file
    with click.open_file(describe_file, "r") as stream:
        text = stream.read()
    try:
        cluster = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.ClickException(
            f"{where}: not JSON ({exc}); use `gcloud container clusters describe --format=json`"
        ) from None
    if not isinstance(cluster, dict) or "masterAuth" not in cluster:
        raise click.ClickException(
            f"{where}: not a GKE cluster (expected the JSON of "
            "`gcloud container clusters describe --format=json`)"
        )
    name = name or cluster.get("name")
    if not name:
        raise click.ClickException(f"{where}: the cluster has no name; pass --name")
    try:
        server = choose_server(cluster, endpoint)
    except ValueError as exc:
        raise click.ClickException(f"{where}: cluster {cluster.get('name', name)}: {exc}") from None
    click.echo(render(name, server), nl=False)
