"""Every resource, data source, attribute and nested block of terraform/**/*.tf against the
Google provider's own schema, at the lowest and the highest version the pin allows.

`terraform validate` needs the provider binary, which cannot be downloaded here. The schema
files (tests/data/terraform-provider-google/<version>.json, the shape of `terraform providers
schema -json`) are extracted from the provider's source by localdev/terraform_schema/, whose
README says from which commit and how. What is checked is what `terraform validate` checks
against a provider schema: unknown types, arguments and blocks; computed-only arguments set;
required arguments and blocks missing; block counts; literal values of the wrong type;
references to attributes a resource does not have. Plus, stricter than Terraform: deprecated
arguments, and numbers given to string arguments (converted silently, but a type the provider
changed under them, as 7.0 did to retention_period). Not checked: anything the provider
decides in Go (ConflictsWith, ExactlyOneOf, ValidateFunc, CustomizeDiff) or the API at apply.
"""

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from packaging.version import Version

from falco_responder_cli.main import cli

hcl2 = pytest.importorskip("hcl2")

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
SCHEMAS = ROOT / "tests" / "data" / "terraform-provider-google"
PROVIDER = "registry.terraform.io/hashicorp/google"

# Arguments Terraform itself gives every resource and data source (not the provider's).
META_ARGUMENTS = {"count", "for_each", "depends_on", "provider", "lifecycle"}
RESOURCE_META_BLOCKS = {"provisioner", "connection"}


# --- the configuration --------------------------------------------------------------------


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def _is_bookkeeping(key: str) -> bool:
    """python-hcl2's own keys (__is_block__, __start_line__, comments)."""
    return key.startswith("__") and key.endswith("__")


def _is_block(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, dict) and item.get("__is_block__") for item in value
    )


def _is_labelled_block(value: Any) -> bool:
    """Blocks with a label (`dynamic "name" {...}`): python-hcl2 marks the labelled body."""
    return isinstance(value, list) and all(
        isinstance(item, dict) and all(_is_block([body]) for body in item.values())
        for item in value
    )


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


@dataclass(frozen=True)
class Block:
    """One resource, data or provider block of a module folder."""

    kind: str  # "resource", "data" or "provider"
    type: str
    name: str
    body: dict[str, Any]
    path: Path

    @property
    def where(self) -> str:
        prefix = "data." if self.kind == "data" else ""
        if self.kind == "provider":
            return f"{_shown(self.path)}: provider {self.type}"
        return f"{_shown(self.path)}: {prefix}{self.type}.{self.name}"


@dataclass(frozen=True)
class Folder:
    """The .tf files of one module folder, parsed, and every string expression in them."""

    path: Path
    blocks: list[Block]
    expressions: list[tuple[Path, str]]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if not _is_bookkeeping(key):
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def parse_folder(folder: Path) -> Folder:
    blocks, expressions = [], []
    for path in sorted(folder.glob("*.tf")):
        with path.open() as handle:
            parsed = hcl2.load(handle)
        for kind in ("resource", "data"):
            for item in parsed.get(kind, []):
                for rtype, named in item.items():
                    for name, body in named.items():
                        blocks.append(Block(kind, _unquote(rtype), _unquote(name), body, path))
        for item in parsed.get("provider", []):
            for ptype, body in item.items():
                blocks.append(Block("provider", _unquote(ptype), "", body, path))
        expressions.extend((path, text) for text in _strings(parsed))
    return Folder(folder, blocks, expressions)


@functools.cache
def folders() -> list[Folder]:
    paths = sorted({p.parent for p in TERRAFORM.rglob("*.tf") if ".terraform" not in p.parts})
    return [parse_folder(p) for p in paths]


def google_blocks() -> list[Block]:
    """The blocks the Google provider answers for; archive_file belongs to hashicorp/archive."""
    return [
        b for f in folders() for b in f.blocks if b.type == "google" or b.type.startswith("google_")
    ]


# --- the provider schema --------------------------------------------------------------------


def _constraint(path: Path) -> str:
    with path.open() as handle:
        settings = hcl2.load(handle)["terraform"][0]
    return _unquote(settings["required_providers"][0]["google"]["version"])


def pinned_range() -> tuple[Version, Version]:
    """(lowest allowed, first refused) of the module's `>= A, < B` google pin."""
    text = _constraint(TERRAFORM / "versions.tf")
    match = re.fullmatch(r">=\s*([\d.]+),\s*<\s*([\d.]+)", text)
    assert match, f"terraform/versions.tf: google version {text!r} is not `>= A, < B`"
    return Version(match[1]), Version(match[2])


def available_versions() -> list[Version]:
    return sorted(Version(p.stem) for p in SCHEMAS.glob("*.json"))


def versions_under_test() -> list[Version]:
    """The pin's lower bound and the newest extracted version below its upper bound."""
    lowest, refused = pinned_range()
    allowed = [v for v in available_versions() if lowest <= v < refused]
    return sorted({lowest, max(allowed, default=lowest)})


@functools.cache
def schema(version: Version) -> dict[str, Any]:
    paths = [p for p in SCHEMAS.glob("*.json") if Version(p.stem) == version]
    assert paths, (
        f"no schema of google provider {version} in {SCHEMAS.relative_to(ROOT)}: "
        "extract it (localdev/terraform_schema/README.md)"
    )
    return json.loads(paths[0].read_text())


def provider_schema(version: Version) -> dict[str, Any]:
    return schema(version)["provider_schemas"][PROVIDER]


def block_schema(version: Version, block: Block) -> dict[str, Any] | None:
    provider = provider_schema(version)
    if block.kind == "provider":
        return provider["provider"]["block"]
    kind = "data_source_schemas" if block.kind == "data" else "resource_schemas"
    found = provider[kind].get(block.type)
    return found["block"] if found else None


# --- checking a body against a block schema ----------------------------------------------


_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
# An expression whose outermost operator is arithmetic: its value is a number.
_ARITHMETIC = re.compile(r"\$\{[^\"(){}?:]*[*/%][^\"(){}?:]*\}")


def _literal_string(value: str) -> str | None:
    """The text of a quoted literal without interpolation, else None."""
    if len(value) >= 2 and value[0] == value[-1] == '"' and "${" not in value:
        return value[1:-1]
    return None


def type_problems(value: Any, ty: Any, where: str) -> list[str]:
    """What Terraform refuses converting a literal `value` to `ty` (expressions pass), and
    numbers given to a string argument (accepted by conversion, refused here)."""
    if isinstance(value, str) and _literal_string(value) is None:
        if ty == "string" and _ARITHMETIC.fullmatch(value):
            return [f"{where}: a number for a string argument; write tostring({value[2:-1]})"]
        return []  # an expression or a template: its type is not known here
    if ty == "dynamic":
        return []
    if isinstance(ty, str):
        if isinstance(value, dict | list):
            return [f"{where}: a {type(value).__name__} for a {ty} argument"]
        if ty == "string" and isinstance(value, int | float) and not isinstance(value, bool):
            return [f'{where}: the number {value} for a string argument; write "{value}"']
        if ty == "number":
            if isinstance(value, bool):
                return [f"{where}: a bool for a number argument"]
            text = _literal_string(value) if isinstance(value, str) else None
            if text is not None and not _NUMBER.fullmatch(text):
                return [f"{where}: {value} is not a number"]
        if ty == "bool":
            if isinstance(value, int | float) and not isinstance(value, bool):
                return [f"{where}: the number {value} for a bool argument"]
            text = _literal_string(value) if isinstance(value, str) else None
            if text is not None and text not in ("true", "false"):
                return [f"{where}: {value} is not a bool"]
        return []
    kind, inner = ty
    if kind in ("list", "set"):
        if not isinstance(value, list):
            return [f"{where}: a {kind} argument given {value!r}"]
        return [p for i, v in enumerate(value) for p in type_problems(v, inner, f"{where}[{i}]")]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{where}: a map argument given {value!r}"]
        return [
            p
            for k, v in value.items()
            if not _is_bookkeeping(k)
            for p in type_problems(v, inner, f"{where}[{k}]")
        ]
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{where}: an object argument given {value!r}"]
        problems = []
        for k, v in value.items():
            if _is_bookkeeping(k):
                continue
            if k not in inner:
                problems.append(f"{where}: the object has no attribute {k!r}")
            else:
                problems.extend(type_problems(v, inner[k], f"{where}.{k}"))
        return problems
    return []


def body_problems(body: dict[str, Any], block: dict[str, Any], where: str) -> list[str]:
    """Unknown, unsettable, missing, deprecated or mistyped arguments and blocks of a body."""
    attributes = block.get("attributes", {})
    nested = block.get("block_types", {})
    problems = []
    counts: dict[str, int] = {}
    dynamic: set[str] = set()
    for key, value in body.items():
        if _is_bookkeeping(key):
            continue
        here = f"{where}.{key}"
        if key == "dynamic" and _is_labelled_block(value):
            for item in value:
                for label, generator in item.items():
                    if _is_bookkeeping(label):
                        continue
                    name = _unquote(label)
                    dynamic.add(name)
                    if name not in nested:
                        problems.append(f"{where}: no block type {name!r} (dynamic)")
                        continue
                    for content in generator.get("content", []):
                        problems.extend(
                            body_problems(content, nested[name]["block"], f"{where}.{name}")
                        )
            continue
        if _is_block(value):
            if key in nested:
                counts[key] = len(value)
                for item in value:
                    problems.extend(body_problems(item, nested[key]["block"], here))
            elif key in attributes:
                problems.append(f"{here}: an argument, not a block: write `{key} = ...`")
            else:
                problems.append(f"{here}: no such block type")
            continue
        if key in nested:
            problems.append(f"{here}: a block, not an argument: write `{key} {{ ... }}`")
            continue
        attribute = attributes.get(key)
        if attribute is None:
            problems.append(f"{here}: no such argument")
            continue
        if not attribute.get("required") and not attribute.get("optional"):
            problems.append(f"{here}: computed by the provider, cannot be set")
        if attribute.get("deprecated"):
            problems.append(f"{here}: deprecated")
        problems.extend(type_problems(value, attribute["type"], here))
    for name, attribute in sorted(attributes.items()):
        if attribute.get("required") and name not in body:
            problems.append(f"{where}: missing required argument {name!r}")
    for name, nested_block in sorted(nested.items()):
        if name in dynamic:
            continue  # its count is known at plan time only
        count = counts.get(name, 0)
        low, high = nested_block.get("min_items", 0), nested_block.get("max_items", 0)
        if nested_block["nesting_mode"] == "single":
            high = 1
        if count < low:
            problems.append(f"{where}: needs at least {low} {name!r} block(s), has {count}")
        if high and count > high:
            problems.append(f"{where}: at most {high} {name!r} block(s), has {count}")
        if count and nested_block["block"].get("deprecated"):
            problems.append(f"{where}.{name}: deprecated")
    return problems


def top_level_problems(version: Version, block: Block) -> list[str]:
    found = block_schema(version, block)
    if found is None:
        unread = schema(version)["extracted_from"]["not_extracted"]["plugin_framework"]
        return [
            f"{block.where}: not a {block.kind} of google provider {version}"
            f" (plugin-framework ones are not extracted: {unread})"
        ]
    terraforms = set() if block.kind == "provider" else META_ARGUMENTS
    if block.kind == "resource":
        terraforms |= RESOURCE_META_BLOCKS
    body = {k: v for k, v in block.body.items() if k not in terraforms}
    deprecated = [f"{block.where}: deprecated"] if found.get("deprecated") else []
    return deprecated + body_problems(body, found, block.where)


# --- references ---------------------------------------------------------------------------

# data.google_x.name[...].attr... or google_x.name[...].attr..., not preceded by a name part
_REFERENCE = re.compile(
    r"(?<![\w.])(data\.)?(google_\w+)\.(\w+)((?:\[[^\]]*\])*)((?:\.\w+(?:\[[^\]]*\])*)+)"
)


def _step(ty: Any, name: str) -> Any:
    """The type of attribute `name` of a value of type `ty` (None: cannot tell)."""
    while isinstance(ty, list) and ty[0] in ("list", "set"):
        ty = ty[1]
    if isinstance(ty, list) and ty[0] == "object":
        return ty[1].get(name, KeyError)
    return None


def reference_problems(version: Version, folder: Folder) -> list[str]:
    """References to attributes (and their nested ones) that a resource does not have."""
    declared = {(b.kind, b.type, b.name) for b in folder.blocks}
    provider = provider_schema(version)
    problems = []
    for path, text in folder.expressions:
        for match in _REFERENCE.finditer(text):
            is_data, rtype, name, _index, steps = match.groups()
            kind = "data" if is_data else "resource"
            where = f"{_shown(path)}: {match[0]}"
            if (kind, rtype, name) not in declared:
                problems.append(f"{where}: no {kind} {rtype}.{name} in {folder.path.name}/")
                continue
            schemas = provider["data_source_schemas" if is_data else "resource_schemas"]
            if rtype not in schemas:
                continue  # reported by the block check
            current: Any = schemas[rtype]["block"]
            for step in re.findall(r"\.(\w+)", steps):
                if isinstance(current, dict):  # a block: its attributes and nested blocks
                    if step in current.get("block_types", {}):
                        current = current["block_types"][step]["block"]
                    elif step in current.get("attributes", {}):
                        current = current["attributes"][step]["type"]
                    else:
                        problems.append(f"{where}: {rtype} has no attribute {step!r} there")
                        break
                else:
                    current = _step(current, step)
                    if current is KeyError:
                        problems.append(f"{where}: {rtype} has no attribute {step!r} there")
                        break
                    if current is None:
                        break
    return problems


# --- the tests ----------------------------------------------------------------------------


def test_the_example_pins_the_provider_like_the_module():
    module = _constraint(TERRAFORM / "versions.tf")
    for path in sorted(TERRAFORM.rglob("versions.tf")):
        assert _constraint(path) == module, f"{path.relative_to(ROOT)}: google {_constraint(path)}"


def test_every_major_the_pin_allows_is_tested():
    lowest, refused = pinned_range()
    versions = versions_under_test()
    assert versions[0] == lowest
    majors = {v.major for v in versions}
    assert majors == set(range(lowest.major, refused.major)), (
        f"the pin allows majors {lowest.major}..{refused.major - 1}; "
        f"schemas extracted for {[str(v) for v in available_versions()]}"
    )


@pytest.mark.parametrize("version", versions_under_test(), ids=str)
def test_schema_file_says_what_it_was_extracted_from(version):
    extracted = schema(version)["extracted_from"]
    assert Version(extracted["version"]) == version
    assert re.fullmatch(r"[0-9a-f]{40}", extracted["commit"])
    # A schema the extractor could not fully evaluate is left out, never written partially.
    assert extracted["not_extracted"]["unresolved"] == []


@pytest.mark.parametrize("version", versions_under_test(), ids=str)
def test_every_google_block_matches_the_provider_schema(version):
    blocks = google_blocks()
    assert {b.kind for b in blocks} == {"resource", "data", "provider"}
    problems = [p for b in blocks for p in top_level_problems(version, b)]
    assert not problems, f"google provider {version}:\n" + "\n".join(problems)


@pytest.mark.parametrize("version", versions_under_test(), ids=str)
def test_every_reference_names_an_attribute_the_resource_has(version):
    assert any(_REFERENCE.search(text) for f in folders() for _, text in f.expressions)
    problems = [p for f in folders() for p in reference_problems(version, f)]
    assert not problems, f"google provider {version}:\n" + "\n".join(problems)


@pytest.mark.parametrize("version", versions_under_test(), ids=str)
def test_what_init_writes_matches_the_provider_schema(version, tmp_path):
    target = tmp_path / "team"
    arguments = ["init", str(target), "--project", "acme-sec", "--ref", "v1.0.0"]
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 0, result.output
    written = parse_folder(target)
    assert [b.type for b in written.blocks] == ["google"]
    problems = [p for b in written.blocks for p in top_level_problems(version, b)]
    problems += reference_problems(version, written)
    assert not problems, f"google provider {version}:\n" + "\n".join(problems)


# --- the checker refuses what Terraform refuses ----------------------------------------------


def _checked(source: str, tmp_path: Path) -> list[str]:
    (tmp_path / "main.tf").write_text(source)
    folder = parse_folder(tmp_path)
    version = versions_under_test()[0]
    problems = [p for b in folder.blocks for p in top_level_problems(version, b)]
    return problems + reference_problems(version, folder)


BUCKET = """
resource "google_storage_bucket" "b" {
  name     = "b"
  location = "EU"
%s
}
"""


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("  colour = 1", "b.colour: no such argument"),
        ('  self_link = "x"', "b.self_link: computed by the provider, cannot be set"),
        ("  versioning = { enabled = true }", "b.versioning: a block, not an argument"),
        ("  labels { a = 1 }", "b.labels: an argument, not a block"),
        ("  shelf { a = 1 }", "b.shelf: no such block type"),
        ("  versioning {\n  }", "b.versioning: missing required argument 'enabled'"),
        ("  versioning {\n    enabled = 1\n  }", "the number 1 for a bool argument"),
        ('  force_destroy = "maybe"', '"maybe" is not a bool'),
        ('  labels = ["a"]', "b.labels: a map argument given"),
        ('  storage_class = ["a"]', "a list for a string argument"),
        (
            "  retention_policy {\n    retention_period = 86400\n  }",
            'the number 86400 for a string argument; write "86400"',
        ),
        (
            "  retention_policy {\n    retention_period = var.days * 86400\n  }",
            "write tostring(var.days * 86400)",
        ),
        (
            "  versioning {\n    enabled = true\n  }\n  versioning {\n    enabled = true\n  }",
            "at most 1 'versioning' block(s), has 2",
        ),
        (
            '  dynamic "shelf" {\n    for_each = [1]\n    content {}\n  }',
            "no block type 'shelf' (dynamic)",
        ),
        (
            '  dynamic "versioning" {\n    for_each = [1]\n    content {\n      on = true\n'
            "    }\n  }",
            "b.versioning.on: no such argument",
        ),
        ('  lifecycle_rule {\n    action {\n      type = "Delete"\n    }\n  }', "'condition'"),
        ("  timeouts {\n  }\n  timeouts {\n  }", "at most 1 'timeouts' block(s), has 2"),
    ],
)
def test_the_checker_refuses_what_the_schema_refuses(body, problem, tmp_path):
    problems = _checked(BUCKET % body, tmp_path)
    assert any(problem in p for p in problems), problems


def test_the_checker_accepts_a_valid_bucket(tmp_path):
    source = BUCKET % (
        '  count = 1\n  labels = { team = "sec" }\n  force_destroy = "true"\n'
        '  retention_policy {\n    retention_period = "86400"\n  }\n'
        '  dynamic "encryption" {\n    for_each = []\n    content {\n'
        '      default_kms_key_name = "k"\n    }\n  }\n'
        "  depends_on = []\n  lifecycle {\n    prevent_destroy = true\n  }"
    )
    assert _checked(source, tmp_path) == []


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ('resource "google_storage_bucketz" "b" {}', "not a resource of google provider"),
        ('data "google_project" "p" {\n  number = "1"\n}', "computed by the provider"),
        ('provider "google" {\n  projekt = "p"\n}', "provider google.projekt: no such argument"),
        (
            'resource "google_pubsub_topic" "t" {\n  name = "t"\n}\n'
            'output "x" {\n  value = google_pubsub_topic.t.nam\n}',
            "google_pubsub_topic has no attribute 'nam'",
        ),
        (
            'data "google_project" "p" {}\noutput "x" {\n  value = data.google_project.q.number\n}',
            "no data google_project.q",
        ),
        (
            'resource "google_cloudfunctions2_function" "f" {\n  name = "f"\n  location = "l"\n}\n'
            'output "x" {\n  value = google_cloudfunctions2_function.f.service_config[0].urii\n}',
            "has no attribute 'urii' there",
        ),
    ],
)
def test_the_checker_refuses_unknown_types_and_references(source, problem, tmp_path):
    problems = _checked(source, tmp_path)
    assert any(problem in p for p in problems), problems


def test_the_schemas_carry_the_changes_the_module_depends_on():
    """Facts from the provider's changelog and upgrade guides, read in the extracted files."""
    lowest = versions_under_test()[0]
    for version in versions_under_test():
        resources = provider_schema(version)["resource_schemas"]
        bucket = resources["google_storage_bucket"]["block"]["block_types"]
        retention = bucket["retention_policy"]["block"]["attributes"]["retention_period"]
        assert retention["type"] == "string"  # 7.0.0 upgrade guide
        function = resources["google_cloudfunctions2_function"]["block"]["block_types"]
        service = function["service_config"]["block"]
        assert "direct_vpc_network_interface" in service["block_types"]  # 7.21.0 changelog
        assert "direct_vpc_egress" in service["attributes"]
    assert lowest >= Version("7.21")
