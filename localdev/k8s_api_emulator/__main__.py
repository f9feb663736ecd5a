"""``python -m localdev.k8s_api_emulator``: serve until SIGINT/SIGTERM.

Prints ``k8s-api-emulator listening on <url>`` on stdout once serving (and once the seed is
loaded and the kubeconfig written), so a parent process can wait for that line.
"""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
import threading

import yaml

from . import rbacfile
from .emulator import KubeApiEmulator


def _bound_user(documents: list[dict[str, object]], token: str) -> str | None:
    """None lets the first binding's subject name the user; without bindings, the token."""
    bound = any(d.get("kind") in ("ClusterRoleBinding", "RoleBinding") for d in documents)
    return None if bound else token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m localdev.k8s_api_emulator",
        description="Serve an emulated Kubernetes API on 127.0.0.1 until SIGINT or SIGTERM.",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)"
    )
    parser.add_argument("--seed", help="YAML/JSON document of namespaces and pods to preload")
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        metavar="TOKEN[=RBAC_FILE]",
        help="a bearer token, any number of times: TOKEN alone is allowed every verb (as "
        "--user); TOKEN=RBAC_FILE has exactly the rights of that YAML file of ClusterRoles, "
        "Roles and their bindings (its user is the first binding's subject, else TOKEN). "
        "Default: one random token allowed every verb",
    )
    parser.add_argument("--user", default="kubernetes-admin", help="user behind a plain --token")
    parser.add_argument("--kubeconfig-out", help="write a kubeconfig for the first token here")
    args = parser.parse_args(argv)

    emulator = KubeApiEmulator(port=args.port)
    tokens = args.token or [secrets.token_urlsafe(32)]
    for spec in tokens:
        token, separator, rbac_file = spec.partition("=")
        if not token or (separator and not rbac_file):
            parser.error(f"--token {spec!r}: expected TOKEN or TOKEN=RBAC_FILE")
        if not separator:
            emulator.add_token(token, user=args.user, verbs="*")
            continue
        try:
            documents = rbacfile.load(rbac_file)
            user = emulator.add_token_from_rbac(
                token, documents, user=_bound_user(documents, token)
            )
        except (OSError, ValueError, yaml.YAMLError) as error:
            parser.error(f"--token {token}={rbac_file}: {error}")
        print(f"k8s-api-emulator: token {token} is {user}", file=sys.stderr, flush=True)
    token = tokens[0].partition("=")[0]
    if args.seed:
        emulator.seed(args.seed)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    with emulator.start():
        if args.kubeconfig_out:
            emulator.write_kubeconfig(args.kubeconfig_out, token=token)
        elif not args.token:
            print(f"k8s-api-emulator: generated bearer token {token}", file=sys.stderr, flush=True)
        print(f"k8s-api-emulator listening on {emulator.url}", flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
