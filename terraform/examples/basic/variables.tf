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
  description = "The one cluster the responder acts on: name => settings (labels). Call the module once per cluster for more."
  type = map(object({
    labels = optional(map(string), {})
  }))
  default = {
    prod = {}
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

variable "notification_channels" {
  description = "Cloud Monitoring notification channel IDs for the alert policies."
  type        = list(string)
  default     = []
}
