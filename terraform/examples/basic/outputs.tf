output "ingest_url" {
  description = "Falcosidekick webhook address."
  value       = module.falco_responder.ingest_url
}

output "alerts_topic_id" {
  description = "Alerts topic."
  value       = module.falco_responder.alerts_topic_id
}

output "dead_letter_subscription_id" {
  description = "Where alerts that could not be handled wait."
  value       = module.falco_responder.dead_letter_subscription_id
}

output "service_accounts" {
  description = "Emails of the ingest, responder, push and build service accounts (bind the responder's in the cluster for GKE identity mode)."
  value       = module.falco_responder.service_accounts
}

output "evidence_bucket" {
  description = "Where capture_evidence stores evidence (falco-responder evidence --bucket)."
  value       = module.falco_responder.evidence_bucket
}

output "secret_setup_commands" {
  description = "Commands that add the ingest token and the kubeconfigs."
  value       = module.falco_responder.secret_setup_commands
}

output "policy_clusters" {
  description = "The clusters block policy.yaml needs."
  value       = module.falco_responder.policy_clusters
}

output "falcosidekick_helm_values" {
  description = "falcosecurity/falco chart values (Falcosidekick webhook output), by cluster."
  value       = module.falco_responder.falcosidekick_helm_values
}

output "falcosidekick_helm_values_gcppubsub" {
  description = "falcosecurity/falco chart values (Falcosidekick gcppubsub output, Workload Identity), by cluster."
  value       = module.falco_responder.falcosidekick_helm_values_gcppubsub
}
