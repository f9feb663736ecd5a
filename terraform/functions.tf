# The two Cloud Run functions and their deploy archives.
#
# Each archive holds the function's folder and shared/, laid out as in the repository
# (the code imports `ingest.x`, `responder.x`, `shared.x`), plus generated files at its
# root: main.py, which re-exports the entry point, requirements.txt, a copy of the
# function's own requirements, and for the responder policy.yaml, the response policy
# (var.policy_file). Objects are named by the archive's MD5, so any code or policy change
# uploads a new object and redeploys the function.

locals {
  functions = {
    ingest = {
      folder  = "ingest"
      main_py = "from ingest.main import ingest  # noqa: F401\n"
    }
    responder = {
      folder  = "responder"
      main_py = "from responder.main import respond  # noqa: F401\n"
    }
  }

  # Generated files beyond main.py and requirements.txt, archive path => content.
  function_extra_files = {
    ingest    = {}
    responder = { (local.policy_archive_path) = local.policy_text }
  }

  # The policy ships at the archive root, the function's working directory, where the
  # relative POLICY_FILE finds it.
  policy_archive_path = "policy.yaml"
  policy_text         = file(coalesce(var.policy_file, "${local.repo_root}/responder/policy.yaml"))
  policy              = yamldecode(local.policy_text)
  # Each google_identity cluster must be named in the policy's `clusters` block with
  # google_identity: true, or the responder would call it with no credentials at all.
  policy_misses_google_identity = sort([
    for name, cluster in var.clusters : name
    if cluster.google_identity && !try(local.policy.clusters[name].google_identity, false)
  ])

  # Direct VPC egress, when a network or subnetwork is given.
  responder_vpc = var.responder_network != null || var.responder_subnetwork != null

  # Files of each archive, relative to the repository root, without bytecode caches.
  function_files = {
    for key, fn in local.functions : key => sort([
      for f in fileset(local.repo_root, "{${fn.folder},shared}/**") : f
      if !strcontains(f, "__pycache__") && !endswith(f, ".pyc")
    ])
  }

  # Secret Manager version names the functions resolve themselves on first use.
  ingest_token_secret_version = "${google_secret_manager_secret.ingest_token.id}/versions/latest"
  kubeconfig_secret_versions = {
    for name, secret in google_secret_manager_secret.kubeconfig : name => "${secret.id}/versions/latest"
  }
  # One cluster: KUBECONFIG_SECRET. Several: the policy's `clusters` names each secret.
  kubeconfig_secret_version = length(var.clusters) == 1 ? one(values(local.kubeconfig_secret_versions)) : ""
}

data "archive_file" "function" {
  for_each = local.functions

  type        = "zip"
  output_path = "${path.module}/.build/${each.key}.zip"

  dynamic "source" {
    for_each = local.function_files[each.key]
    content {
      content  = file("${local.repo_root}/${source.value}")
      filename = source.value
    }
  }

  source {
    content  = each.value.main_py
    filename = "main.py"
  }

  source {
    content  = file("${local.repo_root}/${each.value.folder}/requirements.txt")
    filename = "requirements.txt"
  }

  dynamic "source" {
    for_each = local.function_extra_files[each.key]
    content {
      content  = source.value
      filename = source.key
    }
  }
}

resource "google_storage_bucket" "source" {
  #checkov:skip=CKV_GCP_62:The bucket only holds build inputs (zips of this repository's code); Cloud Audit Logs already record who reads or writes them, so a second access-log bucket adds cost without information.
  project  = var.project_id
  name     = "${var.project_id}-${var.name_prefix}-fn-source"
  location = var.region
  labels   = local.labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.source_bucket_force_destroy

  versioning {
    enabled = true
  }

  # Archives are immutable (named by MD5); keep overwritten versions for a month only.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_object" "function_source" {
  for_each = local.functions

  bucket       = google_storage_bucket.source.name
  name         = "${each.key}/${data.archive_file.function[each.key].output_md5}.zip"
  source       = data.archive_file.function[each.key].output_path
  content_type = "application/zip"
}

# HTTP function: validates Falco alerts and publishes them to the alerts topic.
resource "google_cloudfunctions2_function" "ingest" {
  #checkov:skip=CKV_GCP_124:Falcosidekick runs in any cluster, usually outside Google's network, so the webhook must be reachable from the internet (narrow it with ingest_ingress_settings). Callers are still checked: IAM invoker when private (the default), the Secret Manager token when ingest_public.
  project     = var.project_id
  location    = var.region
  name        = local.ingest_function_name
  description = "falco-responder: receives Falco alerts over HTTPS and publishes them to ${local.alerts_topic_name}."
  labels      = local.labels

  build_config {
    runtime         = "python312"
    entry_point     = "ingest"
    service_account = local.build_service_account

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.function_source["ingest"].name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.ingest.email
    ingress_settings                 = var.ingest_ingress_settings
    all_traffic_on_latest_revision   = true
    available_memory                 = var.ingest_memory
    available_cpu                    = var.ingest_cpu
    timeout_seconds                  = var.ingest_timeout_seconds
    min_instance_count               = var.ingest_min_instances
    max_instance_count               = var.ingest_max_instances
    max_instance_request_concurrency = var.ingest_concurrency

    # Names from shared/config.py. The token is read from Secret Manager by the code
    # itself (INGEST_TOKEN_SECRET is a version name), so it never sits in this state.
    environment_variables = {
      GOOGLE_CLOUD_PROJECT  = var.project_id
      ALERTS_TOPIC          = google_pubsub_topic.alerts.name
      INGEST_TOKEN_SECRET   = local.ingest_token_secret_version
      INGEST_MAX_BODY_BYTES = tostring(var.ingest_max_body_bytes)
      INGEST_MAX_ALERTS     = tostring(var.ingest_max_alerts)
      # Bodies are parsed only while their memory fits the instance's (ingest/memory.py).
      INGEST_MEMORY = var.ingest_memory
      # functions-framework's worker threads: as many as the requests Cloud Run sends.
      THREADS = tostring(var.ingest_concurrency)
    }
  }

  lifecycle {
    precondition {
      condition     = var.ingest_concurrency == 1 || try(tonumber(var.ingest_cpu), 0) >= 1
      error_message = "ingest_concurrency above 1 needs ingest_cpu of at least 1."
    }
  }

  depends_on = [
    google_project_service.apis,
    google_pubsub_topic_iam_member.alerts_ingest_publisher,
    google_secret_manager_secret_iam_member.ingest_token_accessor,
    google_project_iam_member.build_log_writer,
    google_project_iam_member.build_artifact_writer,
    google_project_iam_member.build_source_reader,
  ]
}

# CloudEvent function fed by the push subscription: policy, safety checks, Kubernetes actions.
# It has no Eventarc trigger, so the platform declares it an HTTP function; the
# @functions_framework.cloud_event decorator on `respond` takes precedence over that.
resource "google_cloudfunctions2_function" "responder" {
  #checkov:skip=CKV_GCP_124:Pub/Sub push must reach the service; IAM admits only the push service account's OIDC token (no allUsers binding). ALLOW_INTERNAL_ONLY is offered by responder_ingress_settings but is not the default until push delivery through it is proven on a real project.
  project     = var.project_id
  location    = var.region
  name        = local.responder_function_name
  description = "falco-responder: acts on Falco alerts pushed from ${local.push_subscription_name}."
  labels      = local.labels

  build_config {
    runtime         = "python312"
    entry_point     = "respond"
    service_account = local.build_service_account

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.function_source["responder"].name
      }
    }
  }

  service_config {
    service_account_email = google_service_account.responder.email
    # Pub/Sub push must reach the service: ALLOW_ALL by default, with IAM keeping it
    # private (only the push service account may invoke it).
    ingress_settings                 = var.responder_ingress_settings
    all_traffic_on_latest_revision   = true
    available_memory                 = var.responder_memory
    available_cpu                    = var.responder_cpu
    timeout_seconds                  = var.responder_timeout_seconds
    min_instance_count               = var.responder_min_instances
    max_instance_count               = var.responder_max_instances
    max_instance_request_concurrency = var.responder_concurrency

    # Direct VPC egress into the network of clusters reached by a private IP endpoint.
    direct_vpc_egress = local.responder_vpc ? var.responder_vpc_egress : null
    dynamic "direct_vpc_network_interface" {
      for_each = local.responder_vpc ? [1] : []
      content {
        network    = var.responder_network
        subnetwork = var.responder_subnetwork
      }
    }

    environment_variables = {
      GOOGLE_CLOUD_PROJECT = var.project_id
      DEAD_LETTER_TOPIC    = google_pubsub_topic.dead_letter.name
      RESPONSES_TOPIC      = google_pubsub_topic.responses.name
      POLICY_FILE          = local.policy_archive_path
      DRY_RUN              = var.dry_run ? "true" : "false"
      KUBECONFIG_SECRET    = local.kubeconfig_secret_version
      KUBE_TIMEOUT_SECONDS = tostring(var.kube_timeout_seconds)
      EVIDENCE_BUCKET      = google_storage_bucket.evidence.name
      THREADS              = tostring(var.responder_concurrency)
      # The push subscription's max_delivery_attempts: its last attempt dead-letters a
      # transient failure with the real reason (pubsub.tf sets the same variable).
      PUSH_MAX_DELIVERY_ATTEMPTS = tostring(var.max_delivery_attempts)
      # The cluster a single-cluster policy serves (alerts naming another are refused),
      # and the memory its evidence captures are checked against at start.
      CLUSTER_NAME     = length(var.clusters) == 1 ? one(keys(var.clusters)) : ""
      RESPONDER_MEMORY = var.responder_memory
    }
  }

  lifecycle {
    precondition {
      condition     = var.responder_concurrency == 1 || try(tonumber(var.responder_cpu), 0) >= 1
      error_message = "responder_concurrency above 1 needs responder_cpu of at least 1."
    }
    precondition {
      condition     = var.kube_timeout_seconds < var.responder_timeout_seconds
      error_message = "kube_timeout_seconds (${var.kube_timeout_seconds}) must be below responder_timeout_seconds (${var.responder_timeout_seconds})."
    }
    precondition {
      condition     = length(var.clusters) != 1 || try(local.policy.cluster_name, null) == null || try(local.policy.cluster_name, null) == one(keys(var.clusters))
      error_message = "The policy's cluster_name must be the name of the one cluster in clusters: the responder would refuse to start."
    }
    precondition {
      condition     = length(local.policy_misses_google_identity) == 0
      error_message = "clusters ${join(", ", local.policy_misses_google_identity)} use google_identity, but the policy's clusters block does not name them with google_identity: true: the responder would call them with no credentials. Add the block of `terraform output -raw policy_clusters` to the policy."
    }
  }

  depends_on = [
    google_project_service.apis,
    google_pubsub_topic_iam_member.dead_letter_responder_publisher,
    google_pubsub_topic_iam_member.responses_responder_publisher,
    google_secret_manager_secret_iam_member.kubeconfig_accessor,
    google_storage_bucket_iam_member.evidence_responder_creator,
    google_project_iam_member.responder_cluster_viewer,
    google_project_iam_member.build_log_writer,
    google_project_iam_member.build_artifact_writer,
    google_project_iam_member.build_source_reader,
  ]
}
