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
  description = "Emails of the ingest, responder, push and build service accounts (build: the module's, or build_service_account's)."
  value = {
    ingest    = google_service_account.ingest.email
    responder = google_service_account.responder.email
    push      = google_service_account.push.email
    build     = element(split("/", local.build_service_account), 3)
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

output "evidence_bucket" {
  description = "Bucket holding the evidence capture_evidence stores: `falco-responder evidence --bucket` reads it (investigators need roles/storage.objectViewer there)."
  value       = google_storage_bucket.evidence.name
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
      # GKE identity: the server and CA only, from the cluster's description (GKE_NAME
      # and LOCATION are the GKE cluster's). Otherwise the token kubeconfig of
      # deploy/rbac/kubeconfig-mode.yaml.
      for name, s in google_secret_manager_secret.kubeconfig : (
        var.clusters[name].google_identity
        ? "gcloud container clusters describe GKE_NAME --location=LOCATION --project=${coalesce(var.clusters[name].project, var.project_id)} --format=json | falco-responder kubeconfig --from-describe - --name ${name} | gcloud secrets versions add ${s.secret_id} --project=${var.project_id} --data-file=-"
        : "gcloud secrets versions add ${s.secret_id} --project=${var.project_id} --data-file=kubeconfig-${name}.yaml"
      )
    ],
  ))
}

# Values for the falcosecurity/falco chart with its Falcosidekick subchart, one document
# per cluster: the files in deploy/helm/ are the templates (one place for the settings),
# filled in here with the deployed names. The token is never written: the webhook values
# read WEBHOOK_CUSTOMHEADERS ("Authorization:Bearer <token>") from a Kubernetes secret.
locals {
  helm_values_vars = {
    for name in keys(var.clusters) : name => {
      cluster             = name
      project_id          = var.project_id
      project_number      = data.google_project.this.number
      ingest_url          = google_cloudfunctions2_function.ingest.service_config[0].uri
      ingest_token_secret = google_secret_manager_secret.ingest_token.secret_id
      alerts_topic        = google_pubsub_topic.alerts.name
    }
  }
}

output "falcosidekick_helm_values" {
  description = "falcosecurity/falco chart values (Falcosidekick enabled, its webhook output to the ingest function, customfields naming the cluster, k8s.pod.uid in every alert), by cluster name: terraform output -json falcosidekick_helm_values | jq -r .CLUSTER > falco-values.yaml. Needs ingest_public = true (Falcosidekick sends a static bearer token, not a Google ID token) and the Kubernetes secret the values' comments create."
  value = {
    for name, vars in local.helm_values_vars :
    name => templatefile("${local.repo_root}/deploy/helm/falco-values-webhook.yaml", vars)
  }
}

output "falcosidekick_helm_values_gcppubsub" {
  description = "Alternative: falcosecurity/falco chart values with Falcosidekick's gcppubsub output publishing straight to the alerts topic (no ingest function in the path), by cluster name. Grant its identity publisher with alerts_topic_publishers; on GKE use Workload Identity (the values' comments show how)."
  value = {
    for name, vars in local.helm_values_vars :
    name => templatefile("${local.repo_root}/deploy/helm/falco-values-gcppubsub.yaml", vars)
  }
}

output "policy_clusters" {
  description = "The `clusters` block of the response policy, mapping each cluster name (as Falcosidekick's customfields sends it) to its kubeconfig secret, with google_identity: true for GKE identity clusters. Needed with several clusters or any google_identity cluster."
  value = yamlencode({
    cluster_field = "cluster"
    clusters = {
      for name, version in local.kubeconfig_secret_versions : name => merge(
        { kubeconfig_secret = version },
        { for key, value in { google_identity = true } : key => value if var.clusters[name].google_identity },
      )
    }
  })
}
