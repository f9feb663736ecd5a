# Inputs of the falco-responder module. Defaults of names and limits match
# shared/config.py; tests/unit/test_terraform.py keeps the two in step.

# --- Project ---------------------------------------------------------------

variable "project_id" {
  description = "Google Cloud project that holds every resource of the module."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID (6-30 characters: lowercase letters, digits, hyphens), not a project name or number."
  }
}

variable "region" {
  description = "Region of the two functions and of the source bucket, e.g. europe-west1."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1 (not a zone such as europe-west1-b)."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name. With the default \"falco\" the topics and subscriptions get the names the code and the local stack use (falco-alerts, falco-alerts-dead-letter, falco-responses, falco-alerts-responder)."
  type        = string
  default     = "falco"

  validation {
    # Service account IDs are 6-30 characters: the longest suffix is "-responder".
    condition     = can(regex("^[a-z][a-z0-9-]{0,13}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-15 characters: lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "labels" {
  description = "Labels added to the topics, subscriptions, functions, secrets and the source bucket."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([
      for k, v in var.labels : can(regex("^[a-z][a-z0-9_-]{0,62}$", k)) && can(regex("^[a-z0-9_-]{0,63}$", v))
    ])
    error_message = "Label keys must start with a lowercase letter; keys and values may hold only lowercase letters, digits, _ and - (at most 63 characters)."
  }
}

variable "enable_apis" {
  description = "Enable the Google APIs the module needs (apis.tf). Set to false when the project's APIs are managed elsewhere. APIs are never disabled on destroy."
  type        = bool
  default     = true
}

# --- Ingest function (HTTP) -------------------------------------------------

variable "ingest_memory" {
  description = "Memory of one ingest instance (Cloud Run quantity: 256Mi, 512Mi, 1Gi...)."
  type        = string
  default     = "512Mi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi|M|G)$", var.ingest_memory))
    error_message = "ingest_memory must be a quantity such as 256Mi, 512Mi or 1Gi."
  }
}

variable "ingest_cpu" {
  description = "vCPUs of one ingest instance. Concurrency above 1 needs at least 1 vCPU."
  type        = string
  default     = "1"

  validation {
    condition     = can(regex("^([0-9]+(\\.[0-9]+)?|[0-9]+m)$", var.ingest_cpu))
    error_message = "ingest_cpu must be a number of vCPUs such as 0.5, 1 or 2 (or millicores such as 500m)."
  }
}

variable "ingest_timeout_seconds" {
  description = "Request timeout of the ingest function: covers validation and waiting for every Pub/Sub publish."
  type        = number
  default     = 60

  validation {
    condition     = var.ingest_timeout_seconds >= 1 && var.ingest_timeout_seconds <= 3600 && floor(var.ingest_timeout_seconds) == var.ingest_timeout_seconds
    error_message = "ingest_timeout_seconds must be a whole number of seconds from 1 to 3600."
  }
}

variable "ingest_max_instances" {
  description = "Most ingest instances running at once."
  type        = number
  default     = 10

  validation {
    condition     = var.ingest_max_instances >= 1 && var.ingest_max_instances <= 1000 && floor(var.ingest_max_instances) == var.ingest_max_instances
    error_message = "ingest_max_instances must be a whole number from 1 to 1000."
  }
}

variable "ingest_min_instances" {
  description = "Ingest instances kept warm even with no traffic (billed while idle, see the module README). 0: ingest scales to zero; its cold start imports no Kubernetes client, Falcosidekick waits for the answer, and the gcppubsub output bypasses ingest altogether."
  type        = number
  default     = 0

  validation {
    condition     = var.ingest_min_instances >= 0 && var.ingest_min_instances <= 1000 && floor(var.ingest_min_instances) == var.ingest_min_instances
    error_message = "ingest_min_instances must be a whole number from 0 to 1000."
  }
}

variable "ingest_concurrency" {
  description = "Most requests one ingest instance serves at once, and its functions-framework threads (THREADS): one thread per request Cloud Run may send, so none waits in a queue. 20: a request is mostly waiting on Pub/Sub's confirmation (about 1 ms of CPU for tens of ms of waiting), so one vCPU keeps 20 busy."
  type        = number
  default     = 20

  validation {
    condition     = var.ingest_concurrency >= 1 && var.ingest_concurrency <= 1000 && floor(var.ingest_concurrency) == var.ingest_concurrency
    error_message = "ingest_concurrency must be a whole number from 1 to 1000."
  }
}

variable "ingest_max_body_bytes" {
  description = "INGEST_MAX_BODY_BYTES: largest request body the ingest function accepts (413 above). Default = shared/config.py DEFAULT_MAX_BODY_BYTES."
  type        = number
  default     = 4194304

  validation {
    # Cloud Run's request size limit is 32 MiB.
    condition     = var.ingest_max_body_bytes >= 1024 && var.ingest_max_body_bytes <= 33554432 && floor(var.ingest_max_body_bytes) == var.ingest_max_body_bytes
    error_message = "ingest_max_body_bytes must be a whole number of bytes from 1024 to 33554432 (Cloud Run's 32 MiB request limit)."
  }
}

variable "ingest_max_alerts" {
  description = "INGEST_MAX_ALERTS: most alerts in one batch request. Default = shared/config.py DEFAULT_MAX_ALERTS."
  type        = number
  default     = 500

  validation {
    condition     = var.ingest_max_alerts >= 1 && var.ingest_max_alerts <= 10000 && floor(var.ingest_max_alerts) == var.ingest_max_alerts
    error_message = "ingest_max_alerts must be a whole number from 1 to 10000."
  }
}

variable "ingest_public" {
  description = "true: allUsers may invoke the ingest function and the shared token (Secret Manager) is the only check, which Falcosidekick's webhook output needs (it cannot mint Google ID tokens). false: only ingest_invokers may call it (IAM), for callers that send a Google ID token."
  type        = bool
  default     = false
}

variable "ingest_invokers" {
  description = "Principals given roles/run.invoker on the ingest function when it is private, e.g. [\"serviceAccount:proxy@p.iam.gserviceaccount.com\"]."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.ingest_invokers : can(regex("^(user|serviceAccount|group|domain|principal|principalSet):", m))])
    error_message = "Each ingest_invokers entry must be an IAM member such as serviceAccount:NAME@PROJECT.iam.gserviceaccount.com (allUsers is set with ingest_public)."
  }
}

variable "ingest_ingress_settings" {
  description = "Ingress of the ingest function: ALLOW_ALL (Falcosidekick outside Google Cloud), ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  type        = string
  default     = "ALLOW_ALL"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.ingest_ingress_settings)
    error_message = "ingest_ingress_settings must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "alerts_topic_publishers" {
  description = "Principals given roles/pubsub.publisher on the alerts topic, for Falcosidekick's gcppubsub output (e.g. its Workload Identity service account). Empty: only the ingest function publishes."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.alerts_topic_publishers : can(regex("^(serviceAccount|principal|principalSet):", m))])
    error_message = "Each alerts_topic_publishers entry must be a serviceAccount:, principal: or principalSet: member; public publishing is not allowed."
  }
}

# --- Responder function (CloudEvent, Pub/Sub push) --------------------------

variable "responder_memory" {
  description = "Memory of one responder instance (Cloud Run quantity)."
  type        = string
  default     = "512Mi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi|M|G)$", var.responder_memory))
    error_message = "responder_memory must be a quantity such as 256Mi, 512Mi or 1Gi."
  }
}

variable "responder_cpu" {
  description = "vCPUs of one responder instance. Concurrency above 1 needs at least 1 vCPU."
  type        = string
  default     = "1"

  validation {
    condition     = can(regex("^([0-9]+(\\.[0-9]+)?|[0-9]+m)$", var.responder_cpu))
    error_message = "responder_cpu must be a number of vCPUs such as 0.5, 1 or 2 (or millicores such as 500m)."
  }
}

variable "responder_timeout_seconds" {
  description = "Request timeout of the responder: one alert, all its Kubernetes calls included. Must stay below ack_deadline_seconds so Pub/Sub does not redeliver an alert still being handled."
  type        = number
  default     = 60

  validation {
    # The push subscription's ack deadline is at most 600 s and must exceed this.
    condition     = var.responder_timeout_seconds >= 1 && var.responder_timeout_seconds <= 599 && floor(var.responder_timeout_seconds) == var.responder_timeout_seconds
    error_message = "responder_timeout_seconds must be a whole number from 1 to 599 (below the 600 s maximum ack deadline)."
  }
}

variable "responder_max_instances" {
  description = "Most responder instances running at once: also bounds the parallel load on the Kubernetes API servers."
  type        = number
  default     = 10

  validation {
    condition     = var.responder_max_instances >= 1 && var.responder_max_instances <= 1000 && floor(var.responder_max_instances) == var.responder_max_instances
    error_message = "responder_max_instances must be a whole number from 1 to 1000."
  }
}

variable "responder_min_instances" {
  description = "Responder instances kept warm even with no traffic (billed while idle, see the module README). 1: the first alert after a quiet hour is acted on without waiting for a cold start and the Kubernetes client's import. 0 scales to zero, at the cost of that wait."
  type        = number
  default     = 1

  validation {
    condition     = var.responder_min_instances >= 0 && var.responder_min_instances <= 1000 && floor(var.responder_min_instances) == var.responder_min_instances
    error_message = "responder_min_instances must be a whole number from 0 to 1000."
  }
}

variable "responder_concurrency" {
  description = "Most alerts one responder instance handles at once, and its functions-framework threads (THREADS), one per alert. 4: an alert spends most of its time waiting on the Kubernetes API and Pub/Sub, so a warm instance absorbs a burst instead of each alert cold-starting an instance of its own; more would mostly add circuit-breaker write conflicts within one instance. 1 handles alerts strictly one at a time per instance."
  type        = number
  default     = 4

  validation {
    condition     = var.responder_concurrency >= 1 && var.responder_concurrency <= 1000 && floor(var.responder_concurrency) == var.responder_concurrency
    error_message = "responder_concurrency must be a whole number from 1 to 1000."
  }
}

variable "responder_ingress_settings" {
  description = "Ingress of the responder: ALLOW_ALL (default; IAM lets only the push service account in) or ALLOW_INTERNAL_ONLY, which Cloud Run documents as admitting Pub/Sub push from the same project. Check delivery after switching: a push that cannot reach the service ends up in the dead-letter topic."
  type        = string
  default     = "ALLOW_ALL"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY"], var.responder_ingress_settings)
    error_message = "responder_ingress_settings must be ALLOW_ALL or ALLOW_INTERNAL_ONLY (Pub/Sub push does not come through a load balancer)."
  }
}

variable "dry_run" {
  description = "DRY_RUN for the responder: true decides and checks everything but changes nothing in the clusters. Defaults to true (safe by default): set false once the policy is reviewed."
  type        = bool
  default     = true
}

variable "policy_file" {
  description = "Your response policy: the path of a YAML file on the machine running Terraform, e.g. \"$${path.root}/policy.yaml\" kept in your own repository (validate it in your CI with `falco-responder policy validate`). Its content is shipped in the responder's archive as policy.yaml, which POLICY_FILE names, so a change redeploys the responder. null: the repository's responder/policy.yaml."
  type        = string
  default     = null

  validation {
    condition     = var.policy_file == null || try(fileexists(var.policy_file), false)
    error_message = "policy_file must be null or the path of an existing file (relative paths start from the directory Terraform runs in; use \"$${path.root}/policy.yaml\")."
  }

  validation {
    condition     = var.policy_file == null || try(can(keys(yamldecode(file(var.policy_file)))), false)
    error_message = "policy_file must hold a YAML mapping (the response policy); check it with `falco-responder policy validate FILE`."
  }
}

variable "kube_timeout_seconds" {
  description = "KUBE_TIMEOUT_SECONDS: each Kubernetes API call gives up after this many seconds (then Pub/Sub retries). Default = shared/config.py DEFAULT_KUBE_TIMEOUT_SECONDS."
  type        = number
  default     = 10

  validation {
    condition     = var.kube_timeout_seconds > 0 && var.kube_timeout_seconds <= 300
    error_message = "kube_timeout_seconds must be a positive number of seconds, at most 300."
  }
}

variable "clusters" {
  description = "The clusters the responder acts on: cluster name => settings. Each gets a Secret Manager secret \"<name_prefix>-kubeconfig-<cluster>\" (no value: add it with gcloud) that only the responder may read. google_identity = true (GKE identity mode, recommended on GKE): the responder calls the cluster as its own Google service account, the secret holds only the server and CA (`falco-responder kubeconfig`), and Terraform grants that account roles/container.clusterViewer on the cluster's project (`project`, default project_id), which lets GKE accept its token and reach the DNS-based endpoint; the policy must name the cluster with google_identity: true (output `policy_clusters`). Falcosidekick names the cluster in each alert (customfields); with several clusters the policy's `clusters` maps each name to its secret."
  type = map(object({
    labels          = optional(map(string), {})
    google_identity = optional(bool, false)
    project         = optional(string)
  }))

  validation {
    condition     = length(var.clusters) >= 1
    error_message = "clusters must name at least one cluster."
  }

  validation {
    condition     = alltrue([for name in keys(var.clusters) : can(regex("^[a-zA-Z0-9_-]{1,100}$", name))])
    error_message = "Cluster names may hold only letters, digits, _ and - (they become part of a Secret Manager secret ID)."
  }

  validation {
    condition     = alltrue([for c in values(var.clusters) : c.project == null || (c.google_identity && can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", c.project)))])
    error_message = "A cluster's project is a project ID, and only for google_identity clusters (it is where Terraform grants roles/container.clusterViewer)."
  }
}

# --- Pub/Sub ------------------------------------------------------------------

variable "max_delivery_attempts" {
  description = "Deliveries of one alert to the responder before Pub/Sub moves it to the dead-letter topic. Default = shared/config.py MAX_DELIVERY_ATTEMPTS."
  type        = number
  default     = 5

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100 && floor(var.max_delivery_attempts) == var.max_delivery_attempts
    error_message = "max_delivery_attempts must be a whole number from 5 to 100 (Pub/Sub's range)."
  }
}

variable "min_backoff" {
  description = "Shortest wait before Pub/Sub redelivers a failed alert (duration in seconds, e.g. \"10s\")."
  type        = string
  default     = "10s"

  validation {
    condition     = can(regex("^[0-9]+(\\.[0-9]+)?s$", var.min_backoff)) && try(tonumber(trimsuffix(var.min_backoff, "s")) <= 600, false)
    error_message = "min_backoff must be a duration such as \"10s\", from 0s to 600s."
  }
}

variable "max_backoff" {
  description = "Longest wait before Pub/Sub redelivers a failed alert (duration in seconds, e.g. \"600s\")."
  type        = string
  default     = "600s"

  validation {
    condition     = can(regex("^[0-9]+(\\.[0-9]+)?s$", var.max_backoff)) && try(tonumber(trimsuffix(var.max_backoff, "s")) <= 600, false)
    error_message = "max_backoff must be a duration such as \"600s\", from 0s to 600s."
  }
}

variable "ack_deadline_seconds" {
  description = "Ack deadline of the push subscription, i.e. how long Pub/Sub waits for the responder's answer. Must be greater than responder_timeout_seconds (checked by a precondition)."
  type        = number
  default     = 120

  validation {
    condition     = var.ack_deadline_seconds >= 10 && var.ack_deadline_seconds <= 600 && floor(var.ack_deadline_seconds) == var.ack_deadline_seconds
    error_message = "ack_deadline_seconds must be a whole number from 10 to 600 (Pub/Sub's range)."
  }
}

variable "push_subscription_filter" {
  description = "Optional Pub/Sub filter on the push subscription, on the attributes ingest sets (e.g. attributes.priority = \"Critical\"). Alerts that do not match are acknowledged without reaching the responder. Falcosidekick's gcppubsub output sets none of those attributes, so a filter would drop its alerts: it is refused with alerts_topic_publishers (filter with gcp.pubsub.minimumpriority there). null: every alert."
  type        = string
  default     = null

  validation {
    condition     = var.push_subscription_filter == null || try(length(var.push_subscription_filter) > 0 && length(var.push_subscription_filter) <= 256, false)
    error_message = "push_subscription_filter must be null or a non-empty filter of at most 256 characters."
  }
}

variable "dead_letter_retention" {
  description = "How long the dead-letter pull subscription keeps alerts nobody has replayed or acknowledged (duration in whole seconds, from 10 minutes to Pub/Sub's maximum of 31 days). Default 31 days: a dead letter is an alert nobody acted on, and must outlast a holiday. Unacknowledged messages kept over a day are billed as storage; a handful of dead letters costs next to nothing."
  type        = string
  default     = "2678400s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.dead_letter_retention)) && try(tonumber(trimsuffix(var.dead_letter_retention, "s")) >= 600 && tonumber(trimsuffix(var.dead_letter_retention, "s")) <= 2678400, false)
    error_message = "dead_letter_retention must be a duration in whole seconds from \"600s\" (10 minutes) to \"2678400s\" (31 days, Pub/Sub's maximum)."
  }
}

# --- Build and source -----------------------------------------------------------

variable "build_service_account" {
  description = "Service account Cloud Build builds both functions as, projects/PROJECT/serviceAccounts/EMAIL. null: the module creates \"<name_prefix>-build\". Either way it gets the roles Google's \"Custom Service Account for Cloud Build\" page for Cloud Run functions lists: roles/logging.logWriter and roles/artifactregistry.writer on the project, roles/storage.objectViewer on the source buckets only. Whoever runs Terraform needs iam.serviceAccounts.actAs on it (roles/iam.serviceAccountUser)."
  type        = string
  default     = null

  validation {
    condition     = var.build_service_account == null || can(regex("^projects/[^/]+/serviceAccounts/[^/]+@[^/]+$", var.build_service_account))
    error_message = "build_service_account must be null or projects/PROJECT/serviceAccounts/EMAIL."
  }
}

variable "source_bucket_force_destroy" {
  description = "Let terraform destroy delete the source bucket even when it still holds deploy archives."
  type        = bool
  default     = false
}

# --- Monitoring -------------------------------------------------------------------

variable "enable_alert_policies" {
  description = "Create the Cloud Monitoring alert policies: dead-letter backlog, permanent failures, push backlog age, and the log-match ones each alert_on_* variable switches. false: none of them. The log-based metrics are always created."
  type        = bool
  default     = true
}

variable "alert_on_action_taken" {
  description = "Alert policy (log match): notify each time the responder changes something in a cluster (outcome acted: a pod deleted, evicted, isolated, labelled...). Dry runs never match. Each alert is its own incident (its alert id is a label), so each is notified; log_alert_notification_period only holds back repeats of the same alert."
  type        = bool
  default     = true
}

variable "alert_on_action_failed" {
  description = "Alert policy (log match): notify when the cluster refuses an action for good and the alert is dead-lettered as action_failed."
  type        = bool
  default     = true
}

variable "alert_on_circuit_breaker_open" {
  description = "Alert policy (log match): notify when the circuit breaker holds a destructive action back (too many in its window), dry runs included."
  type        = bool
  default     = true
}

variable "alert_on_isolation_leaks" {
  description = "Alert policy (log match): notify when isolate_pod isolated a pod that another NetworkPolicy still lets traffic reach or leave (NetworkPolicies add up), or could not read them all, dry runs included."
  type        = bool
  default     = true
}

variable "alert_on_protected_namespace" {
  description = "Alert policy (log match): notify when a policy rule matches a pod in a protected namespace, where the responder never acts: a person has to."
  type        = bool
  default     = true
}

variable "log_alert_notification_period" {
  description = "Least time between two notifications of one log-match alert policy for the same label values: the alert id is one, so this holds back repeats of one alert (a redelivery), not different alerts (duration in whole seconds; Cloud Monitoring's minimum is 300s). Every match is still in the logs and on the dashboard."
  type        = string
  default     = "300s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.log_alert_notification_period)) && try(tonumber(trimsuffix(var.log_alert_notification_period, "s")) >= 300, false)
    error_message = "log_alert_notification_period must be a duration in whole seconds of at least \"300s\" (Cloud Monitoring's minimum)."
  }
}

variable "enable_dashboard" {
  description = "Create the Cloud Monitoring dashboard: alerts in, decisions by outcome and rule, actions by kind, dead-letter backlog, push backlog age, time from Falco's event to the outcome."
  type        = bool
  default     = true
}

variable "notification_channels" {
  description = "Cloud Monitoring notification channel IDs (projects/P/notificationChannels/N) the alert policies notify."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.notification_channels : can(regex("^projects/[^/]+/notificationChannels/[^/]+$", c))])
    error_message = "Each notification channel must be a resource name projects/PROJECT/notificationChannels/ID."
  }
}

variable "dead_letter_backlog_threshold" {
  description = "Alert when the dead-letter subscription holds more than this many alerts (0: any dead-lettered alert)."
  type        = number
  default     = 0

  validation {
    condition     = var.dead_letter_backlog_threshold >= 0 && floor(var.dead_letter_backlog_threshold) == var.dead_letter_backlog_threshold
    error_message = "dead_letter_backlog_threshold must be a whole number, 0 or more."
  }
}

variable "permanent_failures_threshold" {
  description = "Alert when the responder reports more than this many permanent failures within alert_window."
  type        = number
  default     = 0

  validation {
    condition     = var.permanent_failures_threshold >= 0 && floor(var.permanent_failures_threshold) == var.permanent_failures_threshold
    error_message = "permanent_failures_threshold must be a whole number, 0 or more."
  }
}

variable "push_backlog_age_threshold_seconds" {
  description = "Alert when the oldest alert waiting on the push subscription is older than this (the responder is failing or falling behind)."
  type        = number
  default     = 900

  validation {
    condition     = var.push_backlog_age_threshold_seconds >= 60
    error_message = "push_backlog_age_threshold_seconds must be at least 60."
  }
}

variable "alert_window" {
  description = "Alignment window of the permanent-failures alert (duration in seconds, 60s to 86400s)."
  type        = string
  default     = "300s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.alert_window)) && try(tonumber(trimsuffix(var.alert_window, "s")) >= 60 && tonumber(trimsuffix(var.alert_window, "s")) <= 86400, false)
    error_message = "alert_window must be a duration in whole seconds from \"60s\" to \"86400s\"."
  }
}

variable "alert_retention" {
  description = "How long the responder's push subscription keeps alerts after they are handled, so `falco-responder seek` can re-run a time window (e.g. \"604800s\" = 7 days). null keeps none: only snapshots can be sought then."
  type        = string
  default     = "604800s"

  validation {
    condition     = var.alert_retention == null || can(regex("^[0-9]+s$", var.alert_retention))
    error_message = "alert_retention must be null or a duration in seconds such as \"604800s\" (Pub/Sub accepts 600s to 31 days)."
  }
}

# --- Reaching private clusters ----------------------------------------------------
# The responder calls each cluster's API server. Two ways into a private cluster:
# GKE's DNS-based endpoint (google_identity clusters; no network settings needed), or an
# IP endpoint reached through the VPC with Direct VPC egress (the variables below).

variable "responder_network" {
  description = "Direct VPC egress of the responder: the VPC network (name or projects/P/global/networks/N) its instances send traffic into, to reach a cluster's private IP endpoint. null with responder_subnetwork null: no VPC egress."
  type        = string
  default     = null
}

variable "responder_subnetwork" {
  description = "Direct VPC egress of the responder: the subnetwork (in the responder's region) its instances take IP addresses from; it must be allowed by the cluster's authorized networks. null: the subnetwork named like responder_network."
  type        = string
  default     = null
}

variable "responder_vpc_egress" {
  description = "Which of the responder's traffic goes through the VPC: VPC_EGRESS_PRIVATE_RANGES_ONLY (private IP ranges, e.g. the control plane's private endpoint; Google APIs stay direct) or VPC_EGRESS_ALL_TRAFFIC (everything: the VPC then needs Private Google Access or Cloud NAT for Pub/Sub and Secret Manager). Used only with responder_network or responder_subnetwork."
  type        = string
  default     = "VPC_EGRESS_PRIVATE_RANGES_ONLY"

  validation {
    condition     = contains(["VPC_EGRESS_PRIVATE_RANGES_ONLY", "VPC_EGRESS_ALL_TRAFFIC"], var.responder_vpc_egress)
    error_message = "responder_vpc_egress must be VPC_EGRESS_PRIVATE_RANGES_ONLY or VPC_EGRESS_ALL_TRAFFIC."
  }
}
