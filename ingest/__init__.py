"""The ingest HTTP function: Falcosidekick webhook in, one Pub/Sub message per alert out."""
