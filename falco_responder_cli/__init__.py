"""`falco-responder`: the operator's command line for the dead-letter queue, seeks and policies."""
