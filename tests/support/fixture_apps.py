"""Deploy a fixture CDK app of our own (not our stacks) to a local cloud, as a user would:
the pinned `cdklocal bootstrap` + `deploy --all` from the app's folder.

    cloud = LocalCloud(tmp_path); cloud.start()
    app = FixtureApp(Path("tests/fixture_apps/schedule"), tmp_path / "work")
    outputs = app.deploy(cloud)        # {stack: {output key: value}}

The app folder holds `app.py` (run with this interpreter, so it imports `aws_cdk` from the
venv) and nothing else is needed: `cdk.json` is written into the work folder. A failed
deploy raises `DeployError` with the CLI's last lines (`FixtureApp.deploy(check=False)`
returns them instead).
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from localcloud import launcher
from scripts import deploy
from tests.support.local_cloud import LocalCloud

REGION = "us-east-1"


class FixtureApp:
    """One fixture CDK app, copied into `work_dir` and deployed from there."""

    def __init__(
        self,
        source: Path,
        work_dir: Path,
        context: dict[str, str] | None = None,
        *,
        deploy_args: Sequence[str] = (),
    ) -> None:
        self.source = source
        self.work_dir = work_dir
        self.context = dict(context or {})
        # Extra `cdklocal deploy` arguments, e.g. `("--method=direct",)`.
        self.deploy_args = tuple(deploy_args)
        # The last `cdklocal deploy`'s output (its last lines when it failed).
        self.last_output = ""

    def _prepare(self) -> Path:
        app_dir = self.work_dir / "app"
        if app_dir.exists():
            shutil.rmtree(app_dir)
        shutil.copytree(self.source, app_dir, ignore=shutil.ignore_patterns("__pycache__"))
        (app_dir / "cdk.json").write_text(
            json.dumps({"app": f"{sys.executable} app.py", "context": self.context})
        )
        return app_dir

    def _environment(self, cloud: LocalCloud) -> dict[str, str]:
        found = launcher.detect(cloud.port)
        if found is None:
            raise RuntimeError(f"no local cloud answers on port {cloud.port}")
        env = deploy.local_environment(found, cloud.port, REGION, self.work_dir)
        # CDK's template validation checks the fixture's templates, not the local cloud:
        # skipped, it saves about 4 s of every synth.
        env["CDK_VALIDATION"] = "false"
        return env

    def deploy(self, cloud: LocalCloud, *, check: bool = True) -> dict[str, dict[str, str]]:
        """Bootstrap (once per cloud) and deploy every stack; the stacks' outputs."""
        app_dir = self._prepare()
        env = self._environment(cloud)
        outputs_file = self.work_dir / "outputs.json"
        args = ["--output", str(self.work_dir / "cdk.out"), "--no-notices"]
        deploy.bootstrap_local(cloud.port, REGION, env, self.work_dir, verbose=False)
        command = [
            str(deploy.CDKLOCAL),
            "deploy",
            "--all",
            "--require-approval",
            "never",
            *args,
            "--outputs-file",
            str(outputs_file),
            *self.deploy_args,
        ]
        if check:
            self.last_output = deploy._run(
                "cdklocal deploy", command, env, verbose=False, cwd=app_dir
            )
        else:
            try:
                self.last_output = deploy._run(
                    "cdklocal deploy", command, env, verbose=False, cwd=app_dir
                )
            except deploy.DeployError as error:
                self.last_output = str(error)
                return {"error": {"message": str(error)}}
        loaded: dict[str, dict[str, str]] = (
            json.loads(outputs_file.read_text()) if outputs_file.exists() else {}
        )
        return loaded

    def destroy(self, cloud: LocalCloud) -> None:
        """`cdklocal destroy --all --force`."""
        app_dir = self.work_dir / "app"
        env = self._environment(cloud)
        deploy._run(
            "cdklocal destroy",
            [
                str(deploy.CDKLOCAL),
                "destroy",
                "--all",
                "--force",
                "--output",
                str(self.work_dir / "cdk.out"),
                "--no-notices",
            ],
            env,
            verbose=False,
            cwd=app_dir,
        )


def outputs_of(outputs: dict[str, dict[str, str]], key: str) -> Any:
    """The output `key` of whichever stack has it."""
    for values in outputs.values():
        if key in values:
            return values[key]
    raise KeyError(f"no stack output {key!r} in {sorted(outputs)}")
