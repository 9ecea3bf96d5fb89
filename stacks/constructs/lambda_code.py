"""The functions' code asset: `lambda_src/`, and, when asked, its pinned dependencies."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

APP_DIR = Path(__file__).resolve().parents[2]
LAMBDA_SOURCE = APP_DIR / "lambda_src"
# Where the local cloud finds the sources to hot-reload: relative to the app (and to the
# local cloud's project directory), so the template names no path of this machine.
HOT_RELOAD_SOURCE = LAMBDA_SOURCE.relative_to(APP_DIR).as_posix()
REQUIREMENTS = LAMBDA_SOURCE / "requirements.txt"
# The newest Python runtime this aws-cdk-lib knows (cdk-nag L1 / LambdaLatestVersion).
RUNTIME = lambda_.Runtime.PYTHON_3_14
# Never shipped: caches, tests and the dependency manifest itself.
EXCLUDED = ("__pycache__", "*.pyc", "requirements*.txt", "tests", ".pytest_cache")


def requirement_lines(requirements: Path = REQUIREMENTS) -> list[str]:
    """The requirement specifiers in `requirements` (comments and blank lines dropped)."""
    if not requirements.exists():
        return []
    lines = (line.split("#", 1)[0].strip() for line in requirements.read_text().splitlines())
    return [line for line in lines if line]


@jsii.implements(cdk.ILocalBundling)
class PipLocalBundling:
    """Bundle the sources plus `pip install --target` of their requirements, without Docker.

    The requirements must be pure Python (the Lambda runtime is arm64 Python 3.14; this
    machine's pip builds the wheels) and list every dependency pinned, because they are
    installed with `--no-deps`: boto3 and botocore come with the Lambda runtime.
    """

    def __init__(self, source: Path, requirements: Path) -> None:
        self.source = source
        self.requirements = requirements

    def try_bundle(self, output_dir: str, *_options: Any, **_keywords: Any) -> bool:
        """Write the bundle into `output_dir`; raise with pip's message if it fails.

        The options are not needed; jsii hands them over positionally, as one struct.
        """
        shutil.copytree(
            self.source, output_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*EXCLUDED)
        )
        install = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        install += [
            "--no-deps",
            "--no-compile",
            "--target",
            output_dir,
            "-r",
            str(self.requirements),
        ]
        result = subprocess.run(install, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(
                f"bundling {self.requirements} failed (pip exit {result.returncode}):\n"
                f"{result.stderr.strip()[-2000:]}"
            )
        return True


def lambda_code(*, with_dependencies: bool) -> lambda_.Code:
    """`lambda_src/` as one asset shared by every function.

    `with_dependencies` adds the packages pinned in `lambda_src/requirements.txt` (the DAX
    client), bundled locally; the asset hash is the sources' so an unchanged tree is not
    bundled twice into the same `cdk.out/`.
    """
    if not with_dependencies or not requirement_lines():
        return lambda_.Code.from_asset(str(LAMBDA_SOURCE), exclude=list(EXCLUDED))
    return lambda_.Code.from_asset(
        str(LAMBDA_SOURCE),
        exclude=[pattern for pattern in EXCLUDED if pattern != "requirements*.txt"],
        asset_hash_type=cdk.AssetHashType.SOURCE,
        bundling=cdk.BundlingOptions(
            image=RUNTIME.bundling_image,
            local=PipLocalBundling(LAMBDA_SOURCE, REQUIREMENTS),
            # Only where local bundling is refused: the same steps in the SAM build image.
            command=[
                "bash",
                "-c",
                "cp -r /asset-input/. /asset-output/ && rm -f /asset-output/requirements*.txt"
                " && pip install --no-deps --no-compile -r requirements.txt -t /asset-output",
            ],
        ),
    )
