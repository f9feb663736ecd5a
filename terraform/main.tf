# Names and shared values. With name_prefix = "falco" the Pub/Sub names are the
# ones in shared/config.py (DEFAULT_*_TOPIC, *_SUBSCRIPTION).
locals {
  alerts_topic_name             = "${var.name_prefix}-alerts"
  dead_letter_topic_name        = "${var.name_prefix}-alerts-dead-letter"
  responses_topic_name          = "${var.name_prefix}-responses"
  push_subscription_name        = "${var.name_prefix}-alerts-responder"
  dead_letter_subscription_name = "${var.name_prefix}-alerts-dead-letter"

  ingest_function_name    = "${var.name_prefix}-ingest"
  responder_function_name = "${var.name_prefix}-responder"

  ingest_token_secret_id = "${var.name_prefix}-ingest-token"

  # Log-based metric names: falco_responder/... with the default prefix (metric names
  # may hold hyphens, so any prefix works).
  metric_prefix = "${var.name_prefix}_responder"

  labels = merge(var.labels, { app = "falco-responder" })

  # Repository root: the archives hold ingest/, responder/ and shared/ laid out as in the repo.
  repo_root = abspath("${path.module}/..")

  # Pub/Sub's Google-managed service agent (dead-lettering, OIDC tokens for push).
  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

data "google_project" "this" {
  project_id = var.project_id
}
