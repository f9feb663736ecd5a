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

output "secret_setup_commands" {
  description = "Commands that add the ingest token and the kubeconfigs."
  value       = module.falco_responder.secret_setup_commands
}

output "falcosidekick_helm_values" {
  description = "Falcosidekick Helm values (webhook output)."
  value       = module.falco_responder.falcosidekick_helm_values
}
