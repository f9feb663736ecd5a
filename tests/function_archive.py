"""Each function's deploy archive, built as terraform/functions.tf builds it.

Everything is read from functions.tf (python-hcl2): the functions and their folders and
generated main.py, the file set (the fileset() glob and its exclusions) and the extra
sources (main.py, requirements.txt). A change there changes what the tests deploy.
"""

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tests.unit.test_terraform import expr, literal, tf

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class FunctionSpec:
    """One entry of local.functions, with its entry point."""

    name: str
    folder: str
    main_py: str
    entry_point: str


def function_specs() -> dict[str, FunctionSpec]:
    """Every function of local.functions, with the entry point its resource declares."""
    resources = tf().of_type("google_cloudfunctions2_function")
    specs = {}
    for name, fn in tf().locals["functions"].items():
        [build] = resources[name]["build_config"]
        specs[name] = FunctionSpec(
            name, literal(fn["folder"]), literal(fn["main_py"]), literal(build["entry_point"])
        )
    return specs


def _expand_braces(pattern: str) -> list[str]:
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [p for option in match.group(1).split(",") for p in _expand_braces(head + option + tail)]


def archive_files(spec: FunctionSpec) -> list[str]:
    """local.function_files[spec.name]: the fileset() glob, filtered, sorted."""
    expression = tf().locals["function_files"]
    [glob] = re.findall(r'fileset\(local\.repo_root, "([^"]+)"\)', expression)
    excluded_parts = re.findall(r'!strcontains\(f, "([^"]+)"\)', expression)
    excluded_ends = re.findall(r'!endswith\(f, "([^"]+)"\)', expression)
    files: set[str] = set()
    for pattern in _expand_braces(glob.replace("${fn.folder}", spec.folder)):
        assert pattern.endswith("/**"), f"unexpected fileset pattern {pattern}"
        root = REPO_ROOT / pattern.removesuffix("/**")
        files |= {str(p.relative_to(REPO_ROOT)) for p in root.rglob("*") if p.is_file()}
    return sorted(
        f
        for f in files
        if not any(part in f for part in excluded_parts)
        and not any(f.endswith(end) for end in excluded_ends)
    )


def _generated_sources(spec: FunctionSpec) -> dict[str, str]:
    """The archive's fixed `source` blocks: filename -> content."""
    archive = tf().data[("archive_file", "function")]
    contents = {}
    for source in archive["source"]:
        content = expr(source["content"])
        if content == "each.value.main_py":
            text = spec.main_py
        else:
            [path] = re.fullmatch(r'file\("\$\{local\.repo_root\}/(.+)"\)', content).groups()
            text = (REPO_ROOT / path.replace("${each.value.folder}", spec.folder)).read_text()
        contents[literal(source["filename"])] = text
    return contents


def build_archive(spec: FunctionSpec, zip_path: Path) -> Path:
    """The zip Terraform uploads for `spec`."""
    with zipfile.ZipFile(zip_path, "w") as archive:
        for name in archive_files(spec):
            archive.write(REPO_ROOT / name, name)
        for name, text in _generated_sources(spec).items():
            archive.writestr(name, text)
    return zip_path
