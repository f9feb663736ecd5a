# Secret containers only. Their values never pass through Terraform (and so never sit in
# its state): add them with `gcloud secrets versions add` (see README.md). The functions
# read the "latest" version at start-up.

resource "google_secret_manager_secret" "ingest_token" {
  project   = var.project_id
  secret_id = local.ingest_token_secret_id
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret" "kubeconfig" {
  for_each = var.clusters

  project   = var.project_id
  secret_id = "${var.name_prefix}-kubeconfig-${each.key}"
  labels    = merge(local.labels, each.value.labels, { cluster = lower(replace(each.key, "_", "-")) })

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}
