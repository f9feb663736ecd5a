"""Development tooling, not shipped: the Kubernetes API emulator and the local stack."""
