# One service account per role, each granted only on the resources it uses. The
# project-level roles are the build account's (logs and images, which Google grants on
# the project, and archive reads limited by a condition to the source buckets) and the
# responder's clusterViewer for GKE identity clusters.
#
# Invoker bindings use google_cloud_run_service_iam_member on the function's Cloud Run
# service (same name as the function): a 2nd-gen function is invoked through Cloud Run,
# so roles/run.invoker there is what counts (roles/cloudfunctions.invoker does not).

resource "google_service_account" "ingest" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-ingest"
  display_name = "falco-responder ingest function"
  description  = "Runs the ingest function: publishes to ${local.alerts_topic_name}, reads the ingest token."

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "responder" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-responder"
  display_name = "falco-responder responder function"
  description  = "Runs the responder function: reads the kubeconfig secrets, publishes to the dead-letter and responses topics, creates evidence objects."

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "push" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-push"
  display_name = "falco-responder Pub/Sub push identity"
  description  = "Identity in the OIDC token of the push subscription; may only invoke the responder."

  depends_on = [google_project_service.apis]
}

# --- ingest -----------------------------------------------------------------

resource "google_pubsub_topic_iam_member" "alerts_ingest_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.alerts.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.ingest.member
}

resource "google_secret_manager_secret_iam_member" "ingest_token_accessor" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.ingest_token.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.ingest.member
}

# Public ingest: anyone may reach the function; the shared token is the check.
resource "google_cloud_run_service_iam_member" "ingest_public_invoker" {
  #checkov:skip=CKV_GCP_102:Opt-in (ingest_public, default false). Falcosidekick's webhook output cannot mint Google ID tokens, so public ingest relies on the bearer token held in Secret Manager and checked by the function (401 otherwise).
  count = var.ingest_public ? 1 : 0

  project  = var.project_id
  location = google_cloudfunctions2_function.ingest.location
  service  = google_cloudfunctions2_function.ingest.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# Private ingest: only the listed principals (callers sending a Google ID token).
resource "google_cloud_run_service_iam_member" "ingest_invoker" {
  for_each = var.ingest_public ? toset([]) : toset(var.ingest_invokers)

  project  = var.project_id
  location = google_cloudfunctions2_function.ingest.location
  service  = google_cloudfunctions2_function.ingest.name
  role     = "roles/run.invoker"
  member   = each.value
}

# Falcosidekick's gcppubsub output publishing straight to the alerts topic.
resource "google_pubsub_topic_iam_member" "alerts_extra_publisher" {
  for_each = toset(var.alerts_topic_publishers)

  project = var.project_id
  topic   = google_pubsub_topic.alerts.name
  role    = "roles/pubsub.publisher"
  member  = each.value
}

# --- responder --------------------------------------------------------------

resource "google_secret_manager_secret_iam_member" "kubeconfig_accessor" {
  for_each = var.clusters

  project   = var.project_id
  secret_id = google_secret_manager_secret.kubeconfig[each.key].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.responder.member
}

resource "google_pubsub_topic_iam_member" "dead_letter_responder_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.responder.member
}

resource "google_pubsub_topic_iam_member" "responses_responder_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.responses.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.responder.member
}

# --- push subscription identity --------------------------------------------------

# The responder's Cloud Run service has the function's name. Only the push identity may
# invoke it: there is no allUsers binding, whatever its ingress setting.
resource "google_cloud_run_service_iam_member" "responder_push_invoker" {
  project  = var.project_id
  location = google_cloudfunctions2_function.responder.location
  service  = google_cloudfunctions2_function.responder.name
  role     = "roles/run.invoker"
  member   = google_service_account.push.member
}

# --- Pub/Sub service agent --------------------------------------------------------

# Dead-lettering: the service agent republishes to the dead-letter topic...
resource "google_pubsub_topic_iam_member" "dead_letter_pubsub_agent_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent

  depends_on = [google_project_service.apis]
}

# ...and acknowledges the message on the source subscription.
resource "google_pubsub_subscription_iam_member" "responder_push_pubsub_agent_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.responder_push.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

# Push authentication: the service agent mints the OIDC token of the push identity.
# Projects whose Pub/Sub agent predates April 2021 lack this permission by default;
# granting it on this one service account (not the project) covers them too.
resource "google_service_account_iam_member" "push_pubsub_agent_token_creator" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent

  depends_on = [google_project_service.apis]
}

# --- build -----------------------------------------------------------------------

# Cloud Build builds both functions as this account (build_config.service_account): since
# July 2024 a new project's default build account may lack the permissions to build a
# function. Google's "Custom Service Account for Cloud Build" page for Cloud Run functions
# lists what a build account needs; an account given in build_service_account gets the
# same grants.
resource "google_service_account" "build" {
  count = var.build_service_account == null ? 1 : 0

  project      = var.project_id
  account_id   = "${var.name_prefix}-build"
  display_name = "falco-responder function builds"
  description  = "Cloud Build builds the ingest and responder functions as this account: writes build logs and images, reads the deploy archives."

  depends_on = [google_project_service.apis]
}

locals {
  build_service_account = (
    var.build_service_account != null ? var.build_service_account : google_service_account.build[0].id
  )
  # projects/PROJECT/serviceAccounts/EMAIL
  build_service_account_member = "serviceAccount:${element(split("/", local.build_service_account), 3)}"
  # Cloud Run functions' own sources bucket of the region, where the platform keeps the
  # sources it builds from.
  platform_sources_bucket = "gcf-v2-sources-${data.google_project.this.number}-${var.region}"
}

# Build logs. Logging roles cannot be granted below the project.
resource "google_project_iam_member" "build_log_writer" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = local.build_service_account_member
}

# The built images, in the repositories the platform creates on the first deploy
# (gcf-artifacts, cloud-run-source-deploy): they do not exist before it, so the grant is
# on the project, as Google's page gives it.
resource "google_project_iam_member" "build_artifact_writer" {
  project = var.project_id
  role    = "roles/artifactregistry.writer"
  member  = local.build_service_account_member
}

# The deploy archives: read access to this module's source bucket and the platform's
# sources bucket, and no other bucket of the project (the evidence bucket least of all).
resource "google_project_iam_member" "build_source_reader" {
  project = var.project_id
  role    = "roles/storage.objectViewer"
  member  = local.build_service_account_member

  condition {
    title       = "falco-responder deploy archives"
    description = "Only the module's source bucket and the platform's Cloud Run functions sources bucket of the region."
    # The bucket itself, or an object in it: never a bucket whose name merely starts so.
    expression = join(" || ", flatten([
      for bucket in [google_storage_bucket.source.name, local.platform_sources_bucket] : [
        "resource.name == \"projects/_/buckets/${bucket}\"",
        "resource.name.startsWith(\"projects/_/buckets/${bucket}/\")",
      ]
    ]))
  }
}

# --- GKE identity mode ----------------------------------------------------------------

# The responder calls google_identity clusters as its own service account. The
# DNS-based control-plane endpoint admits a caller only with container.clusters.connect;
# roles/container.clusterViewer carries it (with container.clusters.get and list) and no
# permission on Kubernetes objects, so the ClusterRole bound in the cluster stays the only
# grant of what the responder may do there. Kubernetes Engine roles cannot be granted
# below the project: this is the one project-level role of the module, and only on the
# projects of google_identity clusters. Never roles/container.viewer or developer: those
# grant Kubernetes objects through IAM, which GKE honours as well as RBAC.
locals {
  google_identity_projects = toset([
    for cluster in values(var.clusters) : coalesce(cluster.project, var.project_id)
    if cluster.google_identity
  ])
}

resource "google_project_iam_member" "responder_cluster_viewer" {
  for_each = local.google_identity_projects

  project = each.value
  role    = "roles/container.clusterViewer"
  member  = google_service_account.responder.member
}
