# Log-based metrics from the responder's outcome log lines, alert policies, a dashboard.
#
# The responder writes one structured line per alert handled (responder/outcome.py), with
# jsonPayload.event = "alert_outcome", jsonPayload.outcome (acted, already_handled,
# dry_run, skipped, dead_lettered), jsonPayload.decision (act, skip, refuse,
# dead_letter), jsonPayload.rule (Falco's), jsonPayload.policy_rule, jsonPayload.action
# (the kinds of action, comma-separated), jsonPayload.event_to_outcome_seconds and, for
# dead letters, jsonPayload.error_reason (action_failed when the cluster refused an
# action). A safety rail's refusal is decision "refuse", so counting decision="act"
# counts only responses. Two rails write a line of their own beside it:
# jsonPayload.event = "circuit_breaker_open" and "protected_namespace_refused"; and
# isolate_pod writes "isolation_leaks" when other NetworkPolicies let its pod's traffic through.

locals {
  responder_logs = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=\"${local.responder_function_name}\"",
  ])
  responder_log_filter = "${local.responder_logs} AND jsonPayload.event=\"alert_outcome\""

  # Log-match alert policies: what each matches, and the labels its notification shows.
  log_alerts = {
    action_taken = {
      enabled  = var.alert_on_action_taken
      name     = "action taken"
      severity = "WARNING"
      filter   = "${local.responder_log_filter} AND jsonPayload.outcome=\"acted\""
      text     = "The responder changed something in a cluster (the `action` label says what: deleted, evicted, isolated, labelled a pod...). Check the pod and the alert behind it; the outcome record is the log line."
    }
    action_failed = {
      enabled  = var.alert_on_action_failed
      name     = "action failed"
      severity = "ERROR"
      filter   = "${local.responder_log_filter} AND jsonPayload.error_reason=\"action_failed\""
      text     = "The cluster refused an action for good: the alert is in the dead-letter subscription, nothing more will happen to it by itself. `falco-responder dead-letters --project ${var.project_id}` shows why; fix the cause, then `falco-responder replay --reason action_failed`."
    }
    circuit_breaker_open = {
      enabled  = var.alert_on_circuit_breaker_open
      name     = "circuit breaker open"
      severity = "CRITICAL"
      filter   = "${local.responder_logs} AND jsonPayload.event=\"circuit_breaker_open\""
      text     = "Too many destructive actions in the breaker's window in one cluster, or for one namespace's alerts (its namespace_share): further ones are held back (the pod is labelled and an Event recorded instead; the outcome says which limit). Either an incident is under way, a tenant is setting off alerts in its own pods to use the breaker up, or the policy is acting on the wrong thing: a person must look now."
    }
    isolation_leaks = {
      enabled  = var.alert_on_isolation_leaks
      name     = "isolation leaks"
      severity = "ERROR"
      filter   = "${local.responder_logs} AND jsonPayload.event=\"isolation_leaks\""
      text     = "isolate_pod isolated a pod (in dry run: would have), but other NetworkPolicies in its namespace select it and allow traffic (the `policies` field names them), or could not all be read (the message says why): NetworkPolicies add up, so the pod is not cut off from that traffic. Whoever may edit NetworkPolicies there (a tenant with `edit`) may have made them: delete the pod, or remove those policies."
    }
    protected_namespace_refused = {
      enabled  = var.alert_on_protected_namespace
      name     = "alert in a protected namespace"
      severity = "WARNING"
      filter   = "${local.responder_logs} AND jsonPayload.event=\"protected_namespace_refused\""
      text     = "A policy rule matched a pod in a protected namespace (kube-system and the like): the responder never acts there, so a person has to."
    }
  }
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
    labels {
      key         = "rule"
      value_type  = "STRING"
      description = "The Falco rule of the alert."
    }
    labels {
      key         = "policy_rule"
      value_type  = "STRING"
      description = "The policy rule that decided, if any."
    }
    labels {
      key         = "action"
      value_type  = "STRING"
      description = "The kinds of action taken or tried, comma-separated (delete_pod, label_pod...)."
    }
  }

  label_extractors = {
    outcome     = "EXTRACT(jsonPayload.outcome)"
    decision    = "EXTRACT(jsonPayload.decision)"
    rule        = "EXTRACT(jsonPayload.rule)"
    policy_rule = "EXTRACT(jsonPayload.policy_rule)"
    action      = "EXTRACT(jsonPayload.action)"
  }

  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "permanent_failures" {
  project     = var.project_id
  name        = "${local.metric_prefix}/permanent_failures"
  description = "Alerts the responder sent to the dead-letter topic, by reason: permanent failures, and transient ones on the last delivery attempt."
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
      The responder dead-lettered alerts: ones it can never handle, or ones still failing on the last delivery attempt (see the `error_reason` label: kube_forbidden, evidence_bucket_refused...).
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

# Time from Falco's event (the alert's own `time`) to the outcome: the last action done,
# the decision made (skip, refuse) or the dead letter confirmed.
resource "google_logging_metric" "event_to_outcome" {
  project     = var.project_id
  name        = "${local.metric_prefix}/event_to_outcome_seconds"
  description = "Seconds from Falco's event to the responder's outcome (event_to_outcome_seconds of the outcome record), by outcome and decision."
  # Lines without the field (a message that held no alert) are left out.
  filter          = local.responder_log_filter
  value_extractor = "EXTRACT(jsonPayload.event_to_outcome_seconds)"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "s"
    display_name = "falco-responder time from event to outcome"

    labels {
      key         = "outcome"
      value_type  = "STRING"
      description = "acted, already_handled, dry_run, skipped or dead_lettered."
    }
    labels {
      key         = "decision"
      value_type  = "STRING"
      description = "act, skip, refuse or dead_letter."
    }
  }

  label_extractors = {
    outcome  = "EXTRACT(jsonPayload.outcome)"
    decision = "EXTRACT(jsonPayload.decision)"
  }

  # 0.1 s doubling to about 29 hours: a warm action, a cold start, a replay a day later.
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 20
      growth_factor      = 2
      scale              = 0.1
    }
  }

  depends_on = [google_project_service.apis]
}

# Told as it happens: one policy per kind of log line, each switchable.
resource "google_monitoring_alert_policy" "log_match" {
  for_each = { for key, alert in local.log_alerts : key => alert if var.enable_alert_policies && alert.enabled }

  project               = var.project_id
  display_name          = "falco-responder: ${each.value.name}"
  combiner              = "OR"
  severity              = each.value.severity
  notification_channels = var.notification_channels
  user_labels           = local.labels

  conditions {
    display_name = "Responder log: ${each.value.name}"

    condition_matched_log {
      filter = each.value.filter
      label_extractors = {
        alert_id  = "EXTRACT(jsonPayload.alert_id)"
        rule      = "EXTRACT(jsonPayload.rule)"
        action    = "EXTRACT(jsonPayload.action)"
        cluster   = "EXTRACT(jsonPayload.cluster)"
        namespace = "EXTRACT(jsonPayload.namespace)"
      }
    }
  }

  alert_strategy {
    # Log-match policies notify at most once per period (Cloud Monitoring's minimum is 5 minutes)
    # for each combination of extracted label values: alert_id makes each alert its own.
    notification_rate_limit {
      period = var.log_alert_notification_period
    }
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      ${each.value.text}
      Log query: `${each.value.filter}`.
    EOT
  }

  depends_on = [google_project_service.apis]
}

# One page: what comes in, what is decided and done, what waits, and how fast.
locals {
  user_metric = "logging.googleapis.com/user"
  dashboard_charts = [
    {
      title  = "Alerts in (published to ${local.alerts_topic_name})"
      filter = "metric.type=\"pubsub.googleapis.com/topic/send_message_operation_count\" resource.type=\"pubsub_topic\" resource.label.\"topic_id\"=\"${local.alerts_topic_name}\""
      align  = "ALIGN_RATE"
      reduce = "REDUCE_SUM"
      by     = []
      plot   = "LINE"
    },
    {
      title  = "Decisions by outcome and Falco rule"
      filter = "metric.type=\"${local.user_metric}/${google_logging_metric.alert_outcomes.name}\" resource.type=\"cloud_run_revision\""
      align  = "ALIGN_SUM"
      reduce = "REDUCE_SUM"
      by     = ["metric.label.\"outcome\"", "metric.label.\"rule\""]
      plot   = "STACKED_BAR"
    },
    {
      title  = "Actions by kind (decision act)"
      filter = "metric.type=\"${local.user_metric}/${google_logging_metric.alert_outcomes.name}\" resource.type=\"cloud_run_revision\" metric.label.\"decision\"=\"act\""
      align  = "ALIGN_SUM"
      reduce = "REDUCE_SUM"
      by     = ["metric.label.\"action\"", "metric.label.\"outcome\""]
      plot   = "STACKED_BAR"
    },
    {
      title  = "Dead-letter backlog (${local.dead_letter_subscription_name})"
      filter = "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" resource.type=\"pubsub_subscription\" resource.label.\"subscription_id\"=\"${local.dead_letter_subscription_name}\""
      align  = "ALIGN_MAX"
      reduce = "REDUCE_MAX"
      by     = []
      plot   = "LINE"
    },
    {
      title  = "Push backlog: age of the oldest alert waiting (${local.push_subscription_name})"
      filter = "metric.type=\"pubsub.googleapis.com/subscription/oldest_unacked_message_age\" resource.type=\"pubsub_subscription\" resource.label.\"subscription_id\"=\"${local.push_subscription_name}\""
      align  = "ALIGN_MAX"
      reduce = "REDUCE_MAX"
      by     = []
      plot   = "LINE"
    },
  ]
  # The latency distribution, as its 50th, 95th and 99th percentiles.
  latency_percentiles = ["50", "95", "99"]
  latency_filter      = "metric.type=\"${local.user_metric}/${google_logging_metric.event_to_outcome.name}\" resource.type=\"cloud_run_revision\""
}

resource "google_monitoring_dashboard" "responder" {
  count = var.enable_dashboard ? 1 : 0

  project = var.project_id
  dashboard_json = jsonencode({
    displayName = "falco-responder (${var.name_prefix})"
    mosaicLayout = {
      columns = 12
      tiles = concat(
        [
          for index, chart in local.dashboard_charts : {
            xPos   = (index % 2) * 6
            yPos   = floor(index / 2) * 4
            width  = 6
            height = 4
            widget = {
              title = chart.title
              xyChart = {
                dataSets = [{
                  plotType = chart.plot
                  timeSeriesQuery = {
                    timeSeriesFilter = {
                      filter = chart.filter
                      aggregation = {
                        alignmentPeriod    = "60s"
                        perSeriesAligner   = chart.align
                        crossSeriesReducer = chart.reduce
                        groupByFields      = chart.by
                      }
                    }
                  }
                }]
              }
            }
          }
        ],
        [{
          xPos   = 6
          yPos   = 8
          width  = 6
          height = 4
          widget = {
            title = "Time from Falco's event to the outcome (p50, p95, p99)"
            xyChart = {
              dataSets = [
                for percentile in local.latency_percentiles : {
                  plotType       = "LINE"
                  legendTemplate = "p${percentile}"
                  timeSeriesQuery = {
                    timeSeriesFilter = {
                      filter = local.latency_filter
                      aggregation = {
                        alignmentPeriod    = "300s"
                        perSeriesAligner   = "ALIGN_DELTA"
                        crossSeriesReducer = "REDUCE_PERCENTILE_${percentile}"
                        groupByFields      = []
                      }
                    }
                  }
                }
              ]
              yAxis = { label = "seconds", scale = "LINEAR" }
            }
          }
        }],
      )
    }
  })

  depends_on = [google_project_service.apis]
}
