# Topology (same as the local stack on the emulator):
#   alerts topic -> push subscription (OIDC, retry, dead-letter policy) -> responder
#   dead-letter topic -> pull subscription (kept dead_letter_retention, 31 days by default;
#   replayed with `replay`)
#   responses topic: one outcome record per alert handled

resource "google_pubsub_topic" "alerts" {
  #checkov:skip=CKV_GCP_83:Alerts are encrypted at rest with Google-managed keys; a CMEK adds a KMS key ring and key-rotation duties this module leaves to the project's own encryption policy.
  project = var.project_id
  name    = local.alerts_topic_name
  labels  = local.labels

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:Dead-lettered alerts are encrypted at rest with Google-managed keys; CMEK is left to the project's own encryption policy.
  project = var.project_id
  name    = local.dead_letter_topic_name
  labels  = local.labels

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "responses" {
  #checkov:skip=CKV_GCP_83:Outcome records are encrypted at rest with Google-managed keys; CMEK is left to the project's own encryption policy.
  project = var.project_id
  name    = local.responses_topic_name
  labels  = local.labels

  depends_on = [google_project_service.apis]
}

# Delivers every alert to the responder. Terraform owns this subscription (rather than an
# Eventarc trigger) so it can carry the dead-letter policy.
resource "google_pubsub_subscription" "responder_push" {
  project = var.project_id
  name    = local.push_subscription_name
  topic   = google_pubsub_topic.alerts.id
  labels  = local.labels

  # For push, this is how long Pub/Sub waits for the responder's HTTP answer.
  ack_deadline_seconds = var.ack_deadline_seconds
  filter               = var.push_subscription_filter

  # Handled alerts are kept so `falco-responder seek --ago 2h` can re-run a window of
  # them (the responder is idempotent, so a re-run acts only on what is left to do).
  retain_acked_messages      = var.alert_retention != null
  message_retention_duration = var.alert_retention

  push_config {
    push_endpoint = google_cloudfunctions2_function.responder.service_config[0].uri

    # The responder's Cloud Run service only lets the push service account invoke it.
    oidc_token {
      service_account_email = google_service_account.push.email
      audience              = google_cloudfunctions2_function.responder.service_config[0].uri
    }
    # No no_wrapper block: the wrapped push body is what functions-framework turns into
    # a google.cloud.pubsub.topic.v1.messagePublished CloudEvent.
  }

  retry_policy {
    minimum_backoff = var.min_backoff
    maximum_backoff = var.max_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  # An unused subscription must not silently expire and drop alerts.
  expiration_policy {
    ttl = ""
  }

  lifecycle {
    precondition {
      condition     = var.ack_deadline_seconds > var.responder_timeout_seconds
      error_message = "ack_deadline_seconds (${var.ack_deadline_seconds}) must be greater than responder_timeout_seconds (${var.responder_timeout_seconds}): otherwise Pub/Sub redelivers alerts the responder is still handling."
    }
    # Falcosidekick's gcppubsub output sets only its static customattributes, never the
    # attributes ingest sets: a filter on those would acknowledge its alerts unseen.
    precondition {
      condition     = var.push_subscription_filter == null || length(var.alerts_topic_publishers) == 0
      error_message = "push_subscription_filter filters on attributes only ingest sets; with alerts_topic_publishers (Falcosidekick's gcppubsub output) it would drop those alerts unseen. Leave it null and set Falcosidekick's gcp.pubsub.minimumpriority instead."
    }
    precondition {
      condition     = tonumber(trimsuffix(var.min_backoff, "s")) <= tonumber(trimsuffix(var.max_backoff, "s"))
      error_message = "min_backoff (${var.min_backoff}) must not be greater than max_backoff (${var.max_backoff})."
    }
  }

  # Pub/Sub must be able to dead-letter, and to mint OIDC tokens that the responder
  # accepts, from the first delivery on.
  depends_on = [
    google_pubsub_topic_iam_member.dead_letter_pubsub_agent_publisher,
    google_service_account_iam_member.push_pubsub_agent_token_creator,
    google_cloud_run_service_iam_member.responder_push_invoker,
  ]
}

# Keeps what could not be handled, for inspection and `replay` back to the alerts topic.
resource "google_pubsub_subscription" "dead_letter" {
  project = var.project_id
  name    = local.dead_letter_subscription_name
  topic   = google_pubsub_topic.dead_letter.id
  labels  = local.labels

  ack_deadline_seconds       = 60
  message_retention_duration = var.dead_letter_retention
  retain_acked_messages      = false

  expiration_policy {
    ttl = ""
  }
}
