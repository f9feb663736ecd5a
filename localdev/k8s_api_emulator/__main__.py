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

from .emulator import KubeApiEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m localdev.k8s_api_emulator",
        description="Serve an emulated Kubernetes API on 127.0.0.1 until SIGINT or SIGTERM.",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)"
    )
    parser.add_argument("--seed", help="YAML/JSON document of namespaces and pods to preload")
    parser.add_argument("--token", help="bearer token allowed every verb (default: a random one)")
    parser.add_argument("--user", default="kubernetes-admin", help="user name behind --token")
    parser.add_argument("--kubeconfig-out", help="write a kubeconfig for the token here")
    args = parser.parse_args(argv)

    token = args.token or secrets.token_urlsafe(32)
    emulator = KubeApiEmulator(port=args.port)
    emulator.add_token(token, user=args.user, verbs="*")
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
