"""The `falco-responder` command: one click group, each command in its own module."""

import click

from falco_responder_cli.dead_letters import dead_letters_command
from falco_responder_cli.evidence import evidence_command
from falco_responder_cli.init_repository import init_command
from falco_responder_cli.kubeconfig import kubeconfig_command
from falco_responder_cli.policy_commands import policy_group
from falco_responder_cli.replay import replay_command
from falco_responder_cli.seek import seek_command
from falco_responder_cli.send_test_alert import send_test_alert_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="falco-responder", prog_name="falco-responder")
def cli() -> None:
    """Operate falco-responder: your repository, dead letters, replays, seeks, test alerts,
    policies, kubeconfigs, evidence.

    Pub/Sub commands talk to the emulator when PUBSUB_EMULATOR_HOST is set.
    """


for command in (
    init_command,
    replay_command,
    dead_letters_command,
    seek_command,
    send_test_alert_command,
    policy_group,
    kubeconfig_command,
    evidence_command,
):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point (`falco-responder`)."""
    cli()
