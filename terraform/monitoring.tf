# Log-based metrics from the responder's outcome log lines, and alert policies.
#
# The responder writes one structured line per alert handled, with
# jsonPayload.event = "alert_outcome", jsonPayload.outcome (acted, already_handled,
# dry_run, skipped, dead_lettered), jsonPayload.decision (act, skip, refuse,
# dead_letter) and, for permanent failures, jsonPayload.error_reason. A safety rail's
# refusal is decision "refuse", so counting decision="act" counts only responses.

locals {
  responder_log_filter = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=\"${local.responder_function_name}\"",
    "jsonPayload.event=\"alert_outcome\"",
  ])
}

resource "google_logging_metric" "alert_outcomes" {
  project     = var.project_id
  name        = "${local.metric_prefix}/alert_outcomes"
  description = "Alerts handled by the responder, by outcome and decision."
  filter      = local.responder_log_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "falco-responder alert outcomes"

    labels {
      key         = "outcome"
      value_type  = "STRING"
      description = "acted, already_handled, dry_run, skipped or dead_lettered."
    }
    labels {
      key         = "decision"
      value_type  = "STRING"
      description = "act, skip (nothing to do), refuse (a safety rail said no) or dead_letter."
    }
  }

  label_extractors = {
    outcome  = "EXTRACT(jsonPayload.outcome)"
    decision = "EXTRACT(jsonPayload.decision)"
  }

  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "permanent_failures" {
  project     = var.project_id
  name        = "${local.metric_prefix}/permanent_failures"
  description = "Alerts the responder sent to the dead-letter topic as permanent failures, by reason."
  filter      = "${local.responder_log_filter} AND jsonPayload.decision=\"dead_letter\""

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "falco-responder permanent failures"

    labels {
      key         = "error_reason"
      value_type  = "STRING"
      description = "Short machine word: invalid_json, invalid_alert..."
    }
  }

  label_extractors = {
    error_reason = "EXTRACT(jsonPayload.error_reason)"
  }

  depends_on = [google_project_service.apis]
}

# Anything in the dead-letter subscription is an alert nobody acted on.
resource "google_monitoring_alert_policy" "dead_letter_backlog" {
  count = var.enable_alert_policies ? 1 : 0

  project               = var.project_id
  display_name          = "falco-responder: alerts in ${local.dead_letter_subscription_name}"
  combiner              = "OR"
  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "Undelivered messages in ${local.dead_letter_subscription_name} > ${var.dead_letter_backlog_threshold}"

    condition_threshold {
      filter = join(" AND ", [
        "resource.type=\"pubsub_subscription\"",
        "resource.labels.subscription_id=\"${google_pubsub_subscription.dead_letter.name}\"",
        "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\"",
      ])
      comparison      = "COMPARISON_GT"
      threshold_value = var.dead_letter_backlog_threshold
      duration        = "0s"

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      Falco alerts reached the dead-letter subscription `${local.dead_letter_subscription_name}`:
      the responder failed permanently on them, or they failed ${var.max_delivery_attempts} deliveries.
      Each message keeps `error_reason` / `error_detail` attributes when the responder put it there.
      See what is there, by reason, with `falco-responder dead-letters --project ${var.project_id}`;
      fix the cause, then `falco-responder replay --dry-run`, and replay without `--dry-run`.
    EOT
  }
}

resource "google_monitoring_alert_policy" "permanent_failures" {
  count = var.enable_alert_policies ? 1 : 0

  project               = var.project_id
  display_name          = "falco-responder: permanent failures"
  combiner              = "OR"
  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "Permanent failures > ${var.permanent_failures_threshold} in ${var.alert_window}"

    condition_threshold {
      filter = join(" AND ", [
        "resource.type=\"cloud_run_revision\"",
        "metric.type=\"logging.googleapis.com/user/${google_logging_metric.permanent_failures.name}\"",
      ])
      comparison      = "COMPARISON_GT"
      threshold_value = var.permanent_failures_threshold
      duration        = "0s"

      aggregations {
        alignment_period     = var.alert_window
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.error_reason"]
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      The responder dead-lettered alerts it can never handle (see the `error_reason` label).
      Log query: `${local.responder_log_filter} AND jsonPayload.decision="dead_letter"`.
    EOT
  }
}

# The push backlog ages when the responder keeps failing (transient errors) or lags.
resource "google_monitoring_alert_policy" "push_backlog_age" {
  count = var.enable_alert_policies ? 1 : 0

  project               = var.project_id
  display_name          = "falco-responder: ${local.push_subscription_name} falling behind"
  combiner              = "OR"
  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "Oldest unacked alert older than ${var.push_backlog_age_threshold_seconds}s"

    condition_threshold {
      filter = join(" AND ", [
        "resource.type=\"pubsub_subscription\"",
        "resource.labels.subscription_id=\"${google_pubsub_subscription.responder_push.name}\"",
        "metric.type=\"pubsub.googleapis.com/subscription/oldest_unacked_message_age\"",
      ])
      comparison      = "COMPARISON_GT"
      threshold_value = var.push_backlog_age_threshold_seconds
      duration        = "300s"

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      Alerts wait on `${local.push_subscription_name}` for more than ${var.push_backlog_age_threshold_seconds}s:
      the responder keeps failing transiently (Kubernetes API unreachable, timeouts) or cannot keep up
      (max instances ${var.responder_max_instances}). Check the responder's logs.
    EOT
  }
}
