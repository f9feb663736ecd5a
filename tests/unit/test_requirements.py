"""Cloud Functions installs each function's requirements.txt; the project pins the same."""

import ast
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
DEPENDENCIES = {
    Requirement(line).name.lower(): Requirement(line)
    for line in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
}
# The distribution that provides each top-level import of our code.
DISTRIBUTION = {
    "functions_framework": "functions-framework",
    "cloudevents": "cloudevents",
    "google": None,
    "kubernetes": "kubernetes",
    "pydantic": "pydantic",
    "yaml": "pyyaml",
    "re2": "google-re2",
    "urllib3": "kubernetes",
    "flask": "functions-framework",
    "werkzeug": "functions-framework",
}
# Modules of a function's directory that only the operator's command line and the local
# stack import (dependencies in pyproject, not in the function's requirements.txt).
OPERATOR_ONLY = {"responder.admission_cel": "cel-expr-python"}
GOOGLE_MODULES = {
    "google.auth": "google-auth",
    "google.cloud.pubsub_v1": "google-cloud-pubsub",
    "google.cloud.secretmanager": "google-cloud-secret-manager",
    "google.cloud.storage": "google-cloud-storage",
}


def _requirements(function: str) -> dict[str, Requirement]:
    lines = (ROOT / function / "requirements.txt").read_text().splitlines()
    parsed = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    return {r.name.lower(): r for r in parsed}


def _imported_distributions(function: str) -> set[str]:
    """Distributions that the function's files, and shared/, import."""
    found: set[str] = set()
    for path in [*(ROOT / function).rglob("*.py"), *(ROOT / "shared").glob("*.py")]:
        if _module(path) in OPERATOR_ONLY:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else (
                    [f"{node.module}.{a.name}" for a in node.names]
                    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                    else []
                )
            )
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in {"ingest", "responder", "shared"}:
                    continue
                if top == "google":
                    found.update(d for m, d in GOOGLE_MODULES.items() if name.startswith(m))
                else:
                    found.add(DISTRIBUTION[top])
    return found


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _own_imports(module: str) -> set[str]:
    """The project modules `module` imports (ingest, responder, shared)."""
    path = ROOT / Path(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return {
        name
        for name in found
        if name.split(".")[0] in {"ingest", "responder", "shared"}
        and (
            (ROOT / Path(*name.split("."))).with_suffix(".py").exists()
            or (ROOT / Path(*name.split(".")) / "__init__.py").exists()
        )
    }


def test_the_functions_never_import_an_operator_only_module():
    reached, todo = set(), ["responder.main", "ingest.main"]
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo += _own_imports(module)
    assert not reached & set(OPERATOR_ONLY)
    for distribution in OPERATOR_ONLY.values():
        assert distribution in DEPENDENCIES


@pytest.mark.parametrize("function", ["ingest", "responder"])
def test_requirements_match_pyproject(function):
    for name, requirement in _requirements(function).items():
        assert name in DEPENDENCIES, f"{function}/requirements.txt has {name}, pyproject does not"
        assert requirement.specifier == DEPENDENCIES[name].specifier, (
            f"{function}/requirements.txt pins {requirement}, pyproject {DEPENDENCIES[name]}"
        )


@pytest.mark.parametrize("function", ["ingest", "responder"])
def test_requirements_cover_every_import(function):
    missing = _imported_distributions(function) - set(_requirements(function))
    assert not missing, f"{function}/requirements.txt lacks {sorted(missing)}"


def test_cloudevents_is_pinned_to_1x_for_functions_framework():
    assert "2.0" not in DEPENDENCIES["cloudevents"].specifier
    assert "1.12" in DEPENDENCIES["cloudevents"].specifier
