# APIs the module needs. Eventarc is not one of them: the responder is fed by a push
# subscription this module owns, not by an Eventarc trigger (see docs/architecture.md).
locals {
  apis = toset([
    "artifactregistry.googleapis.com", # images built for the functions
    "cloudbuild.googleapis.com",       # builds the functions from the source archives
    "cloudfunctions.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",    # log-based metrics
    "monitoring.googleapis.com", # alert policies
    "pubsub.googleapis.com",
    "run.googleapis.com", # the functions run as Cloud Run services
    "secretmanager.googleapis.com",
    "storage.googleapis.com", # source archive bucket
  ])
}

resource "google_project_service" "apis" {
  for_each = var.enable_apis ? local.apis : toset([])

  project = var.project_id
  service = each.value

  # Other workloads of the project may use these APIs: never turn them off.
  disable_on_destroy         = false
  disable_dependent_services = false
}
