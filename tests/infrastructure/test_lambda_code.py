"""The code asset: what ships, and the Docker-free bundling of pinned requirements."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from stacks.constructs.lambda_code import LAMBDA_SOURCE, PipLocalBundling, requirement_lines
from tests.support.synth import REPO


def make_source(root: Path) -> Path:
    source = root / "src"
    (source / "app" / "__pycache__").mkdir(parents=True)
    (source / "app" / "handler.py").write_text(
        "def lambda_handler(event, context):\n    return 1\n"
    )
    (source / "app" / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\0")
    (source / "tests").mkdir()
    (source / "tests" / "test_x.py").write_text("")
    return source


def test_requirement_lines_skip_comments_and_blanks(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "# runtime deps\n\nsix==1.17.0  # pure\n  antlr4-python3-runtime==4.13.2\n"
    )
    assert requirement_lines(requirements) == ["six==1.17.0", "antlr4-python3-runtime==4.13.2"]
    assert requirement_lines(tmp_path / "missing.txt") == []


@pytest.mark.slow
def test_local_bundling_adds_pinned_packages_and_drops_tests_and_caches(tmp_path: Path) -> None:
    source = make_source(tmp_path)
    requirements = source / "requirements.txt"
    requirements.write_text("six==1.17.0\n")
    output = tmp_path / "out"
    output.mkdir()
    assert PipLocalBundling(source, requirements).try_bundle(str(output)) is True
    assert (output / "app" / "handler.py").exists()
    assert (output / "six.py").exists()
    assert list(output.glob("six-1.17.0.dist-info"))
    assert not (output / "tests").exists()
    assert not (output / "requirements.txt").exists()
    assert not list(output.rglob("__pycache__"))


@pytest.mark.slow
def test_local_bundling_failure_names_the_requirements_file(tmp_path: Path) -> None:
    source = make_source(tmp_path)
    requirements = source / "requirements.txt"
    requirements.write_text("no-such-package-for-this-test-0b6f==0.0.1\n")
    output = tmp_path / "out"
    output.mkdir()
    with pytest.raises(RuntimeError, match=r"bundling .*requirements\.txt failed"):
        PipLocalBundling(source, requirements).try_bundle(str(output))


def test_the_asset_ships_the_data_model_and_imports_nothing_from_the_rest() -> None:
    # Given the asset's source folder, when its imports are read, then each is the standard
    # library, the runtime's boto3/botocore, a pinned requirement or a package of the asset.
    assert (LAMBDA_SOURCE / "datamodel" / "patterns.py").is_file()
    assert (REPO / "datamodel").resolve() == (LAMBDA_SOURCE / "datamodel").resolve()
    own = {path.name for path in LAMBDA_SOURCE.iterdir() if (path / "__init__.py").is_file()}
    allowed = own | set(sys.stdlib_module_names) | {"boto3", "botocore", "amazondax"}
    outside: list[str] = []
    for path in LAMBDA_SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            outside += [f"{path}: {n}" for n in names if n.split(".")[0] not in allowed]
    assert outside == []
