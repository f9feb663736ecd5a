"""Code both functions use: the Falco alert model, the Pub/Sub envelope, config, logging."""
