# Deploys falco-responder into one project, as a user of the module would: a team keeps
# this folder in its own repository, with its response policy (policy.yaml) beside it,
# and checks that policy in its CI (policy-ci.yml) before Terraform ships it.

provider "google" {
  project = var.project_id
  region  = var.region
}

module "falco_responder" {
  # Here, the module beside this example; `falco-responder init` writes a team's copy
  # calling a release: "git::https://github.com/ORG/falco-responder.git//terraform?ref=TAG".
  source = "../.."

  project_id = var.project_id
  region     = var.region

  # The clusters to act on; each kubeconfig goes in the secret "falco-kubeconfig-<name>".
  # google_identity = true: GKE identity mode (the responder's own Google identity).
  clusters = var.clusters

  # Your policy, shipped with the responder; a change redeploys it.
  policy_file = "${path.module}/policy.yaml"

  # Falcosidekick's webhook output sends a static bearer token: ingest must be public.
  ingest_public = var.ingest_public

  # Start in dry-run: every decision is logged, nothing changes in the clusters.
  dry_run = var.dry_run

  # Only for a cluster reached by a private IP endpoint (not the DNS-based endpoint).
  responder_network    = var.responder_network
  responder_subnetwork = var.responder_subnetwork

  # Falcosidekick's gcppubsub output publishes to the alerts topic as this identity.
  alerts_topic_publishers = var.alerts_topic_publishers

  notification_channels = var.notification_channels
}
