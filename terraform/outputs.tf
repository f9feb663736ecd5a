output "ingest_url" {
  description = "HTTPS URL of the ingest function: the Falcosidekick webhook address."
  value       = google_cloudfunctions2_function.ingest.service_config[0].uri
}

output "responder_url" {
  description = "HTTPS URL of the responder function (push endpoint of the push subscription; only the push service account may invoke it)."
  value       = google_cloudfunctions2_function.responder.service_config[0].uri
}

output "alerts_topic_id" {
  description = "Alerts topic, projects/P/topics/T."
  value       = google_pubsub_topic.alerts.id
}

output "dead_letter_topic_id" {
  description = "Dead-letter topic, projects/P/topics/T."
  value       = google_pubsub_topic.dead_letter.id
}

output "responses_topic_id" {
  description = "Outcome records topic, projects/P/topics/T."
  value       = google_pubsub_topic.responses.id
}

output "push_subscription_id" {
  description = "Push subscription that feeds the responder, projects/P/subscriptions/S."
  value       = google_pubsub_subscription.responder_push.id
}

output "dead_letter_subscription_id" {
  description = "Pull subscription keeping dead-lettered alerts, projects/P/subscriptions/S."
  value       = google_pubsub_subscription.dead_letter.id
}

output "service_accounts" {
  description = "Emails of the ingest, responder and push service accounts."
  value = {
    ingest    = google_service_account.ingest.email
    responder = google_service_account.responder.email
    push      = google_service_account.push.email
  }
}

output "ingest_token_secret" {
  description = "Secret Manager secret holding the ingest token (add its value with gcloud)."
  value       = google_secret_manager_secret.ingest_token.id
}

output "kubeconfig_secrets" {
  description = "Secret Manager secret per cluster holding its kubeconfig (add the values with gcloud)."
  value       = { for name, s in google_secret_manager_secret.kubeconfig : name => s.id }
}

output "source_bucket" {
  description = "Bucket holding the functions' deploy archives."
  value       = google_storage_bucket.source.name
}

output "secret_setup_commands" {
  description = "gcloud commands that add the secret values (never stored in Terraform state)."
  value = join("\n", concat(
    [
      "# Ingest token (also put it in the Kubernetes secret that Falcosidekick reads):",
      "openssl rand -hex 32 | tr -d '\\n' | gcloud secrets versions add ${google_secret_manager_secret.ingest_token.secret_id} --project=${var.project_id} --data-file=-",
    ],
    [
      for name, s in google_secret_manager_secret.kubeconfig :
      "gcloud secrets versions add ${s.secret_id} --project=${var.project_id} --data-file=kubeconfig-${name}.yaml"
    ],
  ))
}

# Falcosidekick Helm chart values (falcosecurity/falcosidekick; under the falco chart,
# nest them under `falcosidekick:`). The token is never written here: the chart reads
# WEBHOOK_CUSTOMHEADERS ("Authorization:Bearer <token>") from a Kubernetes secret.
output "falcosidekick_helm_values" {
  description = "Falcosidekick Helm values for the webhook output to the ingest function. Needs ingest_public = true (Falcosidekick sends a static bearer token, not a Google ID token). Create the secret first: kubectl -n falco create secret generic falco-responder-ingest-token --from-literal=WEBHOOK_CUSTOMHEADERS=\"Authorization:Bearer $TOKEN\"."
  value       = <<-EOT
    config:
      webhook:
        address: "${google_cloudfunctions2_function.ingest.service_config[0].uri}"
        method: "POST"
        checkcert: true
        minimumpriority: "notice"
      extraEnv:
        # Secret placeholder: a Kubernetes secret whose WEBHOOK_CUSTOMHEADERS key holds
        # "Authorization:Bearer <token>", <token> being the latest version of
        # ${google_secret_manager_secret.ingest_token.id}.
        - name: WEBHOOK_CUSTOMHEADERS
          valueFrom:
            secretKeyRef:
              name: falco-responder-ingest-token
              key: WEBHOOK_CUSTOMHEADERS
  EOT
}

output "falcosidekick_helm_values_gcppubsub" {
  description = "Alternative: Falcosidekick's gcppubsub output publishing straight to the alerts topic (no ingest function in the path). Grant its identity publisher with alerts_topic_publishers; on GKE use Workload Identity and leave config.gcp.credentials empty."
  value       = <<-EOT
    config:
      gcp:
        # Empty: Application Default Credentials (Workload Identity). Otherwise a
        # base64-encoded service account key, which is best kept out of values files.
        credentials: ""
        pubsub:
          projectid: "${var.project_id}"
          topic: "${google_pubsub_topic.alerts.name}"
          minimumpriority: "notice"
  EOT
}

output "policy_clusters" {
  description = "With several clusters: the `clusters` block of the response policy, mapping each cluster name (as Falcosidekick's customfields sends it) to its kubeconfig secret."
  value = yamlencode({
    cluster_field = "cluster"
    clusters      = { for name, version in local.kubeconfig_secret_versions : name => { kubeconfig_secret = version } }
  })
}
