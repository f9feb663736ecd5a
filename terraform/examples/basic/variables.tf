variable "project_id" {
  description = "Google Cloud project to deploy into."
  type        = string
}

variable "region" {
  description = "Region of the functions, e.g. europe-west1."
  type        = string
  default     = "europe-west1"
}

variable "clusters" {
  description = "The clusters the responder acts on: name => settings (labels, google_identity, project); the names are the ones policy.yaml's clusters block and Falcosidekick's customfields use."
  type = map(object({
    labels          = optional(map(string), {})
    google_identity = optional(bool, false)
    project         = optional(string)
  }))
  default = {
    prod = { google_identity = true }
  }
}

variable "ingest_public" {
  description = "Let Falcosidekick's webhook reach the ingest function (token-checked)."
  type        = bool
  default     = true
}

variable "dry_run" {
  description = "Decide and log, but change nothing in the clusters."
  type        = bool
  default     = true
}

variable "responder_network" {
  description = "VPC network for the responder's Direct VPC egress, to reach a private IP endpoint. null: none (the DNS-based endpoint needs none)."
  type        = string
  default     = null
}

variable "responder_subnetwork" {
  description = "Subnetwork for the responder's Direct VPC egress. null: none, or the one named like responder_network."
  type        = string
  default     = null
}

variable "notification_channels" {
  description = "Cloud Monitoring notification channel IDs for the alert policies."
  type        = list(string)
  default     = []
}

variable "alerts_topic_publishers" {
  description = "Falcosidekick's Google identity for its gcppubsub output (e.g. serviceAccount:falcosidekick@PROJECT.iam.gserviceaccount.com); empty: webhook to ingest only."
  type        = list(string)
  default     = []
}
