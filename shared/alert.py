"""The Falco alert as Falcosidekick (or Falco's own JSON output) sends it."""

import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from shared.errors import InvalidAlertError
from shared.k8s_names import dns1123_label_error, dns1123_subdomain_error

# An error quotes at most this much of a value it refuses: the value comes from the alert,
# and the error goes into log lines, dead-letter attributes and ingest's answer.
MAX_QUOTED_CHARS = 80
# An error lists at most this many faults of one alert.
MAX_FAULTS_LISTED = 10


def quoted(value: str) -> str:
    """`value` as an error quotes it: ASCII repr of its first MAX_QUOTED_CHARS characters."""
    if len(value) <= MAX_QUOTED_CHARS:
        return ascii(value)
    return f"{value[:MAX_QUOTED_CHARS]!a}... ({len(value)} characters)"


class Priority(IntEnum):
    """Falco priorities, lowest first, so they compare as numbers."""

    DEBUG = 0
    INFORMATIONAL = 1
    NOTICE = 2
    WARNING = 3
    ERROR = 4
    CRITICAL = 5
    ALERT = 6
    EMERGENCY = 7

    @classmethod
    def parse(cls, value: str) -> "Priority":
        """Any case; `info` is Informational, as Falco's own configuration spells it."""
        key = value.strip().upper()
        if key == "INFO":
            key = "INFORMATIONAL"
        try:
            return cls[key]
        except KeyError:
            names = ", ".join(p.label for p in cls)
            raise ValueError(f"unknown priority {quoted(value)}; expected one of {names}") from None

    @property
    def label(self) -> str:
        """The name as Falco writes it: `Critical`."""
        return self.name.capitalize()


# RFC 3339 as Falco writes it: 0 to 9 fraction digits, `Z` or a numeric offset.
_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_time(value: str) -> datetime:
    """An aware UTC datetime; digits past microseconds are dropped (Python's precision)."""
    match = _RFC3339.match(value.strip())
    if not match:
        raise ValueError(f"{quoted(value)} is not an RFC 3339 time like 2026-11-20T08:15:30.5Z")
    day, clock, fraction, offset = match.groups()
    micros = (fraction or "").ljust(6, "0")[:6]
    zone = "+00:00" if offset in ("Z", "z") else offset
    try:
        return datetime.fromisoformat(f"{day}T{clock}.{micros}{zone}").astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{quoted(value)} is not a valid time: {exc}") from None


# Values Falco prints for a field that has no value (host processes have no pod).
_NO_VALUE = {None, "", "<NA>", "N/A"}
# The output fields that name Kubernetes objects, and the name rule each must meet: they
# go into API paths (namespace and pod) and into the names of objects we create.
NAME_FIELDS = {
    "k8s.ns.name": dns1123_label_error,
    "k8s.pod.name": dns1123_subdomain_error,
    "k8s.node.name": dns1123_subdomain_error,
}
# Output fields that are text whenever present: the names, and the pod's UID, which the
# responder holds the pod it reads to.
TEXT_FIELDS = (*NAME_FIELDS, "k8s.pod.uid")
# Falco's rule names are short sentences; a longer one is crafted, and would make every
# log line naming it too large for Cloud Logging (256 KB an entry).
MAX_RULE_CHARS = 1024
# An alert id names evidence objects (CLUSTER/NS/POD/ALERT_ID/): one path segment that
# is never `.` or `..`. Falcosidekick's uuid is a UUID; a content id is 32 hex digits.
ALERT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True)
class PodRef:
    """The pod an alert is about. `uid` is known only when the rule outputs k8s.pod.uid."""

    namespace: str
    name: str
    uid: str | None = None

    def __str__(self) -> str:
        return f"pod/{self.namespace}/{self.name}"


def _field_text(fields: dict[str, Any], key: str) -> str | None:
    value = fields.get(key)
    if not isinstance(value, str) or value in _NO_VALUE:  # refused at parse when not text
        return None
    return value


class FalcoAlert(BaseModel):
    """One alert. Unknown keys are kept (extra="allow"), never rejected."""

    model_config = ConfigDict(extra="allow")

    uuid: str | None = None
    output: str
    priority: Priority
    rule: str = Field(min_length=1, max_length=MAX_RULE_CHARS)
    time: datetime
    output_fields: dict[str, Any] = Field(default_factory=dict)
    source: str | None = None
    tags: list[str] = Field(default_factory=list)
    hostname: str | None = None

    _alert_id: str = PrivateAttr(default="")

    @field_validator("priority", mode="before")
    @classmethod
    def _priority(cls, value: Any) -> Priority:
        if isinstance(value, Priority):
            return value
        if not isinstance(value, str):
            raise ValueError(f"expected a priority name, got {type(value).__name__}")
        return Priority.parse(value)

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, value: Any) -> datetime:
        if isinstance(value, datetime):
            return value
        if not isinstance(value, str):
            raise ValueError(f"expected an RFC 3339 string, got {type(value).__name__}")
        return parse_time(value)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("output_fields", mode="before")
    @classmethod
    def _output_fields(cls, value: Any) -> Any:
        return {} if value is None else value

    @property
    def alert_id(self) -> str:
        """`uuid` when present, else a hash of the content (a duplicate gets the same id)."""
        return self._alert_id

    @property
    def pod(self) -> PodRef | None:
        """The pod the alert is about, or None (host process, missing or `<NA>` fields)."""
        namespace = _field_text(self.output_fields, "k8s.ns.name")
        name = _field_text(self.output_fields, "k8s.pod.name")
        if namespace is None or name is None:
            return None
        return PodRef(namespace, name, _field_text(self.output_fields, "k8s.pod.uid"))

    def age(self, now: datetime) -> timedelta:
        """How long ago Falco saw the event."""
        return now - self.time


def content_id(document: dict[str, Any]) -> str:
    """A stable id from the alert's content: canonical JSON, SHA-256, 32 hex digits."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 would be published as Infinity, which is not JSON
        raise ValueError(f"number {text[:40]} is out of range")
    return value


# Parsing builds Python objects that cost far more than their JSON text (`{}`, two bytes,
# is a 64-byte dict): a 4 MiB body of empty objects took 100 MiB. So the text is priced
# before it is parsed, and refused if it holds more values than its size pays for. Real
# alerts price at 2 to 3 units a byte; actual peak memory stays under 14 times the
# body (tests/unit/test_alert_limits.py measures it).
_CONTAINER_PRICE = 240  # an object or array: a dict or list and its slot in the parent
_VALUE_PRICE = 64  # any other value: a str or number object and its slot
PARSE_PRICE_PER_BYTE = 6
PARSE_PRICE_ALLOWANCE = 16 * 1024  # small documents are never refused for their shape
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
# A \uD800 to \uDFFF escape: the only way strict UTF-8 text can carry a lone surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_price(text: str, size: int) -> None:
    structure = _STRING.sub("", text)  # what is left outside strings
    containers = structure.count("{") + structure.count("[")
    values = structure.count(",") + structure.count(":") + 1
    price = containers * _CONTAINER_PRICE + values * _VALUE_PRICE
    allowed = size * PARSE_PRICE_PER_BYTE + PARSE_PRICE_ALLOWANCE
    if price > allowed:
        raise ValueError(
            f"{containers} objects or arrays and {values} values in {size} bytes: "
            "too many small values to parse safely (no Falco alert is shaped like this)"
        )


def _check_surrogates(document: Any) -> None:
    """Lone surrogates (`"\\ud800"`) decode to Python but cannot be encoded as UTF-8."""
    pending: list[tuple[Any, str]] = [(document, "")]
    while pending:
        value, where = pending.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                path = f"{where}.{ascii(key)[1:-1]}" if where else ascii(key)[1:-1]
                if _SURROGATE.search(key):
                    raise ValueError(f"key {path} holds a lone surrogate (not Unicode)")
                pending.append((item, path))
        elif isinstance(value, list):
            pending.extend((item, f"{where}[{i}]") for i, item in enumerate(value))
        elif isinstance(value, str) and (found := _SURROGATE.search(value)):
            raise ValueError(
                f"string at {where or 'top level'} holds a lone surrogate "
                f"{ascii(found.group())[1:-1]} (not Unicode)"
            )


def _text(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    if b"\x00" in data[:4]:
        raise ValueError("the text looks like UTF-16 or UTF-32; JSON must be UTF-8 (RFC 8259)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"not UTF-8 (JSON must be UTF-8, RFC 8259): byte {data[exc.start]:#04x} "
            f"at offset {exc.start}: {exc.reason}"
        ) from None


def loads_json(data: bytes | str) -> Any:
    """Strict JSON, as the responder accepts it and ingest publishes it.

    UTF-8 only; no NaN, Infinity or out-of-range numbers; no lone surrogates; exact big
    integers (Python ints); bounded nesting and a bounded cost per byte. Raises ValueError
    saying what is wrong and where.
    """
    text = _text(data)
    _check_price(text, len(data) if isinstance(data, bytes) else len(text))
    try:
        document = json.loads(text, parse_constant=_reject_constant, parse_float=_finite)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if _SURROGATE_ESCAPE.search(text):
        _check_surrogates(document)
    return document


def _describe(error: ValidationError) -> str:
    faults = error.errors()
    parts = []
    for item in faults[:MAX_FAULTS_LISTED]:
        where = ".".join(str(p) for p in item["loc"]) or "alert"
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"field '{where}': {message}")
    if len(faults) > MAX_FAULTS_LISTED:
        parts.append(f"and {len(faults) - MAX_FAULTS_LISTED} more")
    return "; ".join(parts)


def alert_from_document(document: Any) -> FalcoAlert:
    """Validate one decoded JSON value; InvalidAlertError names the field and the fault."""
    if not isinstance(document, dict):
        raise InvalidAlertError(
            "invalid_alert", f"expected a JSON object, got {type(document).__name__}"
        )
    try:
        alert = FalcoAlert.model_validate(document)
    except ValidationError as exc:
        raise InvalidAlertError("invalid_alert", _describe(exc)) from None
    _check_names(alert.output_fields)
    uuid = document.get("uuid")
    if isinstance(uuid, str) and uuid.strip():
        if not ALERT_ID.fullmatch(uuid):
            raise InvalidAlertError(
                "invalid_alert",
                f"field 'uuid': {quoted(uuid)} is not an alert id (1 to 128 letters, "
                "digits, '.', '_' or '-', starting with a letter or digit)",
            )
        alert._alert_id = uuid
    else:
        alert._alert_id = content_id(document)
    return alert


def _check_names(fields: dict[str, Any]) -> None:
    """Every Kubernetes name the alert gives is text (Falco prints each as a string: a
    number or a list would otherwise read as no pod, and the alert be skipped) and meets
    Kubernetes' rule for it."""
    for key in TEXT_FIELDS:
        value = fields.get(key)
        if value is not None and not isinstance(value, str):
            raise InvalidAlertError(
                "invalid_alert",
                f"field 'output_fields.{key}': {type(value).__name__} "
                f"{quoted(json.dumps(value))} is not text (Falco prints it as a string)",
            )
    for key, rule in NAME_FIELDS.items():
        value = _field_text(fields, key)
        if value is not None and (problem := rule(value)):
            raise InvalidAlertError(
                "invalid_alert",
                f"field 'output_fields.{key}': {quoted(value)} is not a valid name: {problem}",
            )


def parse_alert(data: bytes | str) -> FalcoAlert:
    """Decode and validate one alert from JSON bytes."""
    try:
        document = loads_json(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidAlertError("invalid_json", f"not valid JSON: {exc}") from None
    return alert_from_document(document)
