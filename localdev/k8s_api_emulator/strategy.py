"""The per-kind behaviour upstream calls a "strategy": defaulting, validation, what an update
may change, graceful deletion, and read-time status (for kinds a controller keeps current).

``Strategy`` is a plain kind: no defaults, no spec validation, immediate deletion. Kinds with
more behaviour subclass it in ``core.py``, ``workloads.py`` and ``disruption.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .meta import validate_metadata
from .status import FieldError
from .store import ObjectStore
from .validation import dns1123_subdomain


class Strategy:
    # Store.ReturnDeletedObject: DELETE answers with the object instead of a Success Status.
    return_deleted_object = False
    # AllowCreateOnUpdate: a PUT of a missing object creates it (leases, events).
    allow_create_on_update = False
    # The kind has a /status subresource, so a write through the main resource keeps the
    # stored status (PrepareForUpdate copies it from the old object).
    status_subresource = False
    # metadata.generation is 1 on create and goes up by one whenever the spec changes.
    tracks_generation = False
    name_rule: Callable[[str], list[str]] = staticmethod(dns1123_subdomain)

    def default(self, obj: dict[str, Any]) -> None:
        """Scheme defaulting, applied to every decoded body (create and update alike)."""

    def prepare_for_create(self, obj: dict[str, Any]) -> None:
        """PrepareForCreate: server-side fields of a new object."""
        if self.tracks_generation:
            obj["metadata"]["generation"] = 1

    def prepare_for_update(self, new: dict[str, Any], old: dict[str, Any]) -> None:
        """PrepareForUpdate, after BeforeUpdate copied generation and the system fields."""
        if self.status_subresource:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        if self.tracks_generation and self.spec_changed(new, old):
            new["metadata"]["generation"] = old["metadata"].get("generation", 0) + 1

    def spec_changed(self, new: dict[str, Any], old: dict[str, Any]) -> bool:
        return new.get("spec") != old.get("spec")

    def validate(self, obj: dict[str, Any]) -> list[FieldError]:
        """Spec validation beyond metadata, which the API layer checks for every kind."""
        return []

    def create_errors(self, obj: dict[str, Any]) -> list[FieldError]:
        """What a create is checked by (rest.BeforeCreate): the name by the kind's rule,
        then ValidateObjectMeta's checks, then the kind's own validation."""
        name = obj["metadata"].get("name")
        if not name:
            errors = [FieldError.required("metadata.name", "name or generateName is required")]
        else:
            errors = [FieldError.invalid("metadata.name", name, p) for p in self.name_rule(name)]
        return errors + validate_metadata(obj["metadata"]) + self.validate(obj)

    def validate_update(self, new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
        return self.validate(new)

    def grace_period(self, obj: dict[str, Any], requested: int | None) -> int | None:
        """Seconds of graceful deletion for ``obj``, or None if the kind deletes at once."""
        return None

    def decorate(self, obj: dict[str, Any], store: ObjectStore) -> None:
        """Fill in, on read, what a controller would keep current (PDB status)."""


class GenerationStrategy(Strategy):
    """A kind whose generation follows its spec (NetworkPolicy builds on it)."""

    tracks_generation = True


class CreateOnUpdateStrategy(Strategy):
    """A kind a PUT may create (Lease)."""

    allow_create_on_update = True
