# The evidence bucket of capture_evidence: what an investigator needs from a pod
# (its spec, logs, events, owners) before the responder deletes it.
#
# The responder may only create objects here (roles/storage.objectCreator): it can
# neither read evidence back, nor overwrite it (overwriting needs storage.objects.delete),
# nor delete it. It never needs to: it writes with ifGenerationMatch=0 (create if absent),
# so a redelivery finds its objects there (412, or 403 for the missing delete permission)
# instead of replacing them.
#
# No Object Versioning: the only writer can neither overwrite nor delete, so there is
# never a noncurrent version to keep; what protects evidence from everyone else is the
# retention policy. Older Cloud Storage documentation and linters (Sonar's RSPEC-6412)
# call versioning and a retention policy mutually exclusive; today's pages are silent.

# --- evidence variables ---------------------------------------------------------

variable "evidence_bucket_name" {
  description = "Name of the evidence bucket (globally unique); null: PROJECT-PREFIX-evidence."
  type        = string
  default     = null
}

variable "evidence_retention_days" {
  description = "Objects cannot be deleted or replaced for this many days (bucket retention policy); 0: no retention policy."
  type        = number
  default     = 0

  validation {
    condition     = var.evidence_retention_days >= 0 && var.evidence_retention_days == floor(var.evidence_retention_days)
    error_message = "evidence_retention_days must be a whole number of days, 0 or more."
  }
}

variable "evidence_retention_locked" {
  description = "Lock the retention policy. Irreversible: nobody, not even a project owner, can then shorten it or delete the bucket before every object has aged out."
  type        = bool
  default     = false

  validation {
    condition     = !var.evidence_retention_locked || var.evidence_retention_days > 0
    error_message = "evidence_retention_locked needs evidence_retention_days above 0."
  }
}

variable "evidence_kms_key" {
  description = "Cloud KMS key (projects/P/locations/L/keyRings/R/cryptoKeys/K) encrypting the evidence (CMEK); null: Google-managed keys."
  type        = string
  default     = null

  validation {
    condition     = var.evidence_kms_key == null || can(regex("^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$", var.evidence_kms_key))
    error_message = "evidence_kms_key must be a key's full resource name: projects/P/locations/L/keyRings/R/cryptoKeys/K."
  }
}

variable "evidence_cold_after_days" {
  description = "Evidence moves to the colder storage class evidence_cold_storage_class after this many days."
  type        = number
  default     = 30

  validation {
    condition     = var.evidence_cold_after_days >= 1
    error_message = "evidence_cold_after_days must be at least 1."
  }
}

variable "evidence_cold_storage_class" {
  description = "The colder storage class evidence moves to (NEARLINE, COLDLINE or ARCHIVE)."
  type        = string
  default     = "COLDLINE"

  validation {
    condition     = contains(["NEARLINE", "COLDLINE", "ARCHIVE"], var.evidence_cold_storage_class)
    error_message = "evidence_cold_storage_class must be NEARLINE, COLDLINE or ARCHIVE."
  }
}

variable "evidence_force_destroy" {
  description = "Let terraform destroy delete the evidence with the bucket. Keep false outside throw-away projects."
  type        = bool
  default     = false
}

# --- the bucket -----------------------------------------------------------------

locals {
  evidence_bucket_name = coalesce(var.evidence_bucket_name, "${var.project_id}-${var.name_prefix}-evidence")
}

resource "google_storage_bucket" "evidence" {
  #checkov:skip=CKV_GCP_62:Cloud Audit Logs (Data Access logs for Cloud Storage, when enabled) record who reads evidence; a second access-log bucket adds cost without information.
  #checkov:skip=CKV_GCP_78:No versioning beside the retention policy (evidence_retention_days): the responder can only create objects, so there is no old version to keep; older Cloud Storage documentation and Sonar's RSPEC-6412 call the two mutually exclusive.
  project  = var.project_id
  name     = local.evidence_bucket_name
  location = var.region
  labels   = local.labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.evidence_force_destroy

  # Off, said explicitly: the provider keeps a bucket's versioning as it is when the block
  # is absent, so a bucket created versioned by an earlier release would stay so.
  versioning {
    enabled = false
  }

  dynamic "retention_policy" {
    for_each = var.evidence_retention_days > 0 ? [1] : []
    content {
      retention_period = tostring(var.evidence_retention_days * 86400) # a string since provider 7.0
      is_locked        = var.evidence_retention_locked
    }
  }

  dynamic "encryption" {
    for_each = var.evidence_kms_key == null ? [] : [1]
    content {
      default_kms_key_name = var.evidence_kms_key
    }
  }

  lifecycle_rule {
    condition {
      age = var.evidence_cold_after_days
    }
    action {
      type          = "SetStorageClass"
      storage_class = var.evidence_cold_storage_class
    }
  }

  depends_on = [google_project_service.apis, google_kms_crypto_key_iam_member.evidence_storage_agent]
}

# CMEK: Cloud Storage's service agent encrypts with the key on the bucket's behalf.
data "google_storage_project_service_account" "this" {
  project = var.project_id
}

resource "google_kms_crypto_key_iam_member" "evidence_storage_agent" {
  count = var.evidence_kms_key == null ? 0 : 1

  crypto_key_id = var.evidence_kms_key
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${data.google_storage_project_service_account.this.email_address}"
}

# Create-only: no get, no list, no delete, hence no overwrite.
resource "google_storage_bucket_iam_member" "evidence_responder_creator" {
  bucket = google_storage_bucket.evidence.name
  role   = "roles/storage.objectCreator"
  member = google_service_account.responder.member
}
