"""The local stack: Pub/Sub emulator, Kubernetes API emulator and both functions, wired
exactly as Terraform wires them on Google Cloud. Used by `make demo`, `make bench` and
the integration tests."""
