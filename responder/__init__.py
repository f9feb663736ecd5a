"""The responder CloudEvent function: alert in, policy decision, actions on the cluster."""
