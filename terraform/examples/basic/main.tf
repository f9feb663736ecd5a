# Deploys falco-responder into one project, as a user of the module would.

provider "google" {
  project = var.project_id
  region  = var.region
}

module "falco_responder" {
  source = "../.."

  project_id = var.project_id
  region     = var.region

  # The cluster to act on; its kubeconfig goes in the secret "falco-kubeconfig-<name>".
  clusters = var.clusters

  # Falcosidekick's webhook output sends a static bearer token: ingest must be public.
  ingest_public = var.ingest_public

  # Start in dry-run: every decision is logged, nothing changes in the clusters.
  dry_run = var.dry_run

  notification_channels = var.notification_channels
}
