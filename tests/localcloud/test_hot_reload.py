"""Hot reload: a tagged function runs from the working tree, and an edit there is seen by the
next invoke with no deploy; unsafe tags and untagged functions keep running their zip."""

from __future__ import annotations

import base64
import json
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from localcloud import lambda_runner
from localcloud.hot_reload import TAG as HOT_RELOAD_TAG
from localcloud.hot_reload import Watcher, source_for, stamp
from localcloud.lambda_runner import FunctionPool, LambdaRunner
from localcloud.patches import without
from localcloud.settings import Settings
from stacks import config
from tests.localcloud.conftest import REGION, client, free_port, zip_code
from tests.support.local_cloud import LocalCloud

HANDLER = """
import os

import zipdep

VERSION = "{version}"


def handler(event, context):
    return {{
        "version": VERSION,
        "dependency": zipdep.NAME,
        "pid": os.getpid(),
        "task_root": os.environ["LAMBDA_TASK_ROOT"],
        "greeting": os.environ.get("GREETING"),
    }}
"""
# Only in the deployed zip, as the bundled third-party packages are.
DEPENDENCY = 'NAME = "from the zip"\n'
CHANGE_TIMEOUT_S = 10.0


def handler_source(version: str) -> str:
    return HANDLER.format(version=version)


# -- the marker ------------------------------------------------------------------------------
def test_a_folder_inside_the_project_is_the_source(tmp_path: Path) -> None:
    (tmp_path / "lambda_src").mkdir()
    source = source_for({HOT_RELOAD_TAG: "lambda_src"}, "$LATEST", tmp_path)
    assert source.folder == (tmp_path / "lambda_src").resolve()
    assert source.refusal == ""


def test_untagged_functions_and_published_versions_run_their_zip(tmp_path: Path) -> None:
    (tmp_path / "lambda_src").mkdir()
    assert source_for({}, "$LATEST", tmp_path).folder is None
    published = source_for({HOT_RELOAD_TAG: "lambda_src"}, "1", tmp_path)
    assert published.folder is None
    assert published.refusal == ""  # not an error: versions are immutable, as on AWS


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("../outside", "is not a folder inside"),
        ("link-out", "is not a folder inside"),
        ("/etc", "is not a folder inside"),
        ("", "is not a folder inside"),
        (".", "is not a folder inside"),
        ("missing", "is not a folder"),
        ("file.py", "is not a folder"),
        ("bad\0name", "is not a usable path"),
    ],
)
def test_a_tag_that_leaves_the_project_or_names_no_folder_is_refused(
    tmp_path: Path, value: str, reason: str
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "outside").mkdir()
    (project / "link-out").symlink_to(tmp_path / "outside")
    (project / "file.py").write_text("")
    source = source_for({HOT_RELOAD_TAG: value}, "$LATEST", project)
    assert source.folder is None
    assert reason in source.refusal
    assert HOT_RELOAD_TAG in source.refusal


# -- the stamp and the watcher ---------------------------------------------------------------
def test_stamp_sees_edits_new_and_removed_files_but_not_caches_or_editor_files(
    tmp_path: Path,
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "app.py").write_text("VERSION = 1\n")
    before = stamp(tmp_path)
    for noise in (
        "pkg/__pycache__/app.cpython-311.pyc",
        "pkg/app.pyc",
        "pkg/.app.py.swp",
        "pkg/app.py~",
        "pkg/4913",
        "pkg/#app.py#",
        ".git/index",
    ):
        (tmp_path / noise).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / noise).write_text("noise")
    assert stamp(tmp_path) == before

    (tmp_path / "pkg" / "app.py").write_text("VERSION = 2\n")  # same size, same second
    edited = stamp(tmp_path)
    assert edited != before
    (tmp_path / "pkg" / "new.py").write_text("")
    added = stamp(tmp_path)
    assert added != edited
    (tmp_path / "pkg" / "new.py").unlink()
    assert stamp(tmp_path) == edited


def _pool(tmp_path: Path, folder: Path | None) -> FunctionPool:
    return FunctionPool(
        key=("arn:aws:lambda:us-east-1:123456789012:function:probe", "$LATEST"),
        fingerprint="f",
        code_dir=tmp_path,
        handler="app.handler",
        env={},
        timeout_s=1.0,
        cap=1,
        source_folder=folder,
        source_stamp=stamp(folder) if folder else frozenset(),
    )


def test_watcher_recycles_only_the_pools_whose_folder_changed(tmp_path: Path) -> None:
    edited, untouched = tmp_path / "edited", tmp_path / "untouched"
    for folder in (edited, untouched):
        folder.mkdir()
        (folder / "app.py").write_text("VERSION = 1\n")
    pools = [_pool(tmp_path, edited), _pool(tmp_path, edited), _pool(tmp_path, untouched)]
    pools.append(_pool(tmp_path, None))
    watcher = Watcher(lambda: pools)

    assert watcher.check() == 0
    (edited / "app.py").write_text("VERSION = 2\n")
    assert watcher.check() == 2
    assert [pool.generation for pool in pools] == [1, 1, 0, 0]
    assert watcher.check() == 0  # the new stamp is the pools' baseline


def test_watcher_thread_polls_and_stops(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("VERSION = 1\n")
    pool = _pool(tmp_path, tmp_path)
    watcher = Watcher(lambda: [pool], interval_s=0.05)
    watcher.start()
    try:
        (tmp_path / "app.py").write_text("VERSION = 2\n")
        deadline = time.monotonic() + 5
        while pool.generation == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pool.generation == 1
    finally:
        watcher.stop()
    assert not watcher.running
    watcher.start()  # a stopped watcher stays stopped
    assert not watcher.running


def test_the_runner_stops_its_watcher_on_shutdown(tmp_path: Path) -> None:
    runner = LambdaRunner(Settings(port=free_port(), state_dir=tmp_path, project_dir=tmp_path))
    runner.watcher.start()
    assert runner.watcher.running
    runner.shutdown()
    assert not runner.watcher.running


# -- tags given by CloudFormation (moto 5.2.5 drops them) ------------------------------------
def _zip() -> bytes:
    """The deployed code: the `zip` version of the handler and the dependency."""
    return zip_code({"app.py": handler_source("zip"), "zipdep.py": DEPENDENCY})


def _function_template(tags: dict[str, str], code: Any) -> str:
    """A function called `tagged` with its code in S3 (`code`: a bucket and key), as CDK's."""
    return json.dumps(
        {
            "Resources": {
                "Role": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {"AssumeRolePolicyDocument": {"Statement": []}},
                },
                "Function": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "FunctionName": "tagged",
                        "Runtime": "python3.12",
                        "Handler": "app.handler",
                        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                        "Code": {"S3Bucket": code.bucket_name, "S3Key": code.key},
                        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
                    },
                },
            }
        }
    )


def _upload(s3: Any) -> Any:
    """`_zip()` in a new bucket; the object."""
    bucket = s3.create_bucket(Bucket=f"code-{uuid.uuid4().hex[:8]}")
    return bucket.put_object(Key="code.zip", Body=_zip())


@pytest.fixture
def lambda_patches(aws_env: None) -> Iterator[None]:
    """moto in-process with the Lambda patches installed (no runner: nothing is invoked)."""
    from moto import mock_aws

    lambda_runner.PATCHES.install()
    try:
        with mock_aws():
            yield
    finally:
        lambda_runner.PATCHES.uninstall()


def test_cloudformation_tags_reach_the_function_on_create_and_update(
    lambda_patches: None,
) -> None:
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    lambda_client = boto3.client("lambda", region_name=REGION)
    code = _upload(boto3.resource("s3", region_name=REGION))

    def tags() -> dict[str, str]:
        arn = lambda_client.get_function(FunctionName="tagged")["Configuration"]["FunctionArn"]
        found: dict[str, str] = lambda_client.list_tags(Resource=arn)["Tags"]
        return found

    with without(lambda_runner.PATCHES):
        cloudformation.create_stack(
            StackName="plain", TemplateBody=_function_template({HOT_RELOAD_TAG: "src"}, code)
        )
        assert tags() == {}  # moto's gap: the template's Tags are dropped
        cloudformation.delete_stack(StackName="plain")

    tagged = {HOT_RELOAD_TAG: "src", "team": "a"}
    cloudformation.create_stack(StackName="fixed", TemplateBody=_function_template(tagged, code))
    assert tags() == tagged
    cloudformation.update_stack(
        StackName="fixed", TemplateBody=_function_template({"team": "b"}, code)
    )
    assert tags() == {"team": "b"}


def test_the_stack_tags_functions_with_the_tag_the_local_cloud_reads() -> None:
    assert config.HOT_RELOAD_TAG == HOT_RELOAD_TAG


# -- through a running local cloud -----------------------------------------------------------
@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The local cloud's project directory: the working tree hot-reloaded functions run from."""
    return tmp_path_factory.mktemp("project").resolve()


@pytest.fixture(scope="module")
def hot_cloud(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local cloud whose project directory is `project`."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LOCALCLOUD_PROJECT_DIR", str(project))
        cloud = LocalCloud(tmp_path_factory.mktemp("hot-cloud"))
        cloud.start()  # the server inherits the variable; the tests do not need it after
    try:
        yield cloud.endpoint
    finally:
        cloud.stop()


def _create(
    endpoint: str,
    name: str,
    *,
    tags: dict[str, str],
    env: dict[str, str] | None = None,
) -> None:
    """A function whose zip holds the `zip` version of the handler and the dependency."""
    role = client("iam", endpoint).create_role(
        RoleName=f"role-{name}-{uuid.uuid4().hex[:6]}", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    client("lambda", endpoint).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": _zip()},
        Timeout=5,
        Environment={"Variables": env or {}},
        Tags=tags,
    )


def _write_source(folder: Path, version: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "app.py").write_text(handler_source(version))


def _invoke(endpoint: str, name: str, **kwargs: Any) -> tuple[dict[str, Any], Any]:
    response = client("lambda", endpoint).invoke(
        FunctionName=name, Payload=b"{}", LogType="Tail", **kwargs
    )
    return response, json.loads(response["Payload"].read())


def _invoke_until(
    endpoint: str, name: str, done: Callable[[dict[str, Any], Any], bool]
) -> tuple[dict[str, Any], Any]:
    """Invoke until `done(response, payload)`; fail after `CHANGE_TIMEOUT_S`."""
    deadline = time.monotonic() + CHANGE_TIMEOUT_S
    while True:
        response, payload = _invoke(endpoint, name)
        if done(response, payload):
            return response, payload
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} still answers {payload} after {CHANGE_TIMEOUT_S} s")
        time.sleep(0.05)


def _answers(version: str) -> Callable[[dict[str, Any], Any], bool]:
    return lambda response, payload: (
        "FunctionError" not in response and (payload["version"] == version)
    )


def _fails(response: dict[str, Any], payload: Any) -> bool:
    return "FunctionError" in response


def _tail(response: dict[str, Any]) -> str:
    return base64.b64decode(response["LogResult"]).decode()


@pytest.mark.integration
@pytest.mark.slow
def test_an_edit_is_seen_by_the_next_invoke_with_no_deploy(hot_cloud: str, project: Path) -> None:
    folder = project / "edited"
    _write_source(folder, "v1")
    _create(hot_cloud, "hot-edited", tags={HOT_RELOAD_TAG: "edited"})

    _, first = _invoke(hot_cloud, "hot-edited")
    assert first["version"] == "v1"  # the working tree, not the zip's "zip"
    assert first["dependency"] == "from the zip"  # still importable from the zip
    assert first["task_root"] == str(folder)

    _write_source(folder, "v2")  # same size, within the same second
    _, second = _invoke_until(hot_cloud, "hot-edited", _answers("v2"))
    assert second["pid"] != first["pid"]  # a fresh worker on the new code

    # A half-written save fails the invoke; the next save recovers, still with no deploy.
    (folder / "app.py").write_text("def handler(event, context):\n    return (\n")
    _, broken = _invoke_until(hot_cloud, "hot-edited", _fails)
    assert broken["errorType"] == "SyntaxError"
    _write_source(folder, "v3")
    _invoke_until(hot_cloud, "hot-edited", _answers("v3"))


@pytest.mark.integration
@pytest.mark.slow
def test_configuration_changes_still_apply_and_keep_running_from_the_tree(
    hot_cloud: str, project: Path
) -> None:
    _write_source(project / "configured", "tree")
    _create(hot_cloud, "hot-configured", tags={HOT_RELOAD_TAG: "configured"}, env={"GREETING": "a"})
    assert _invoke(hot_cloud, "hot-configured")[1]["greeting"] == "a"

    client("lambda", hot_cloud).update_function_configuration(
        FunctionName="hot-configured", Environment={"Variables": {"GREETING": "b"}}
    )
    _, payload = _invoke(hot_cloud, "hot-configured")
    assert payload["greeting"] == "b"
    assert payload["version"] == "tree"


@pytest.mark.integration
@pytest.mark.slow
def test_an_untagged_function_keeps_running_its_zip_when_the_folder_changes(
    hot_cloud: str, project: Path
) -> None:
    folder = project / "untagged"
    _write_source(folder, "v1")
    _create(hot_cloud, "cold-untagged", tags={})
    _, first = _invoke(hot_cloud, "cold-untagged")
    assert first["version"] == "zip"

    _write_source(folder, "v2")
    time.sleep(1.0)  # several polls of a watcher, had it watched this folder
    _, second = _invoke(hot_cloud, "cold-untagged")
    assert second["version"] == "zip"
    assert second["pid"] == first["pid"]  # still the same warm worker


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("marker", ["../outside", "escape"])
def test_a_tag_leaving_the_project_runs_the_zip_and_says_why(
    hot_cloud: str, project: Path, marker: str
) -> None:
    outside = project.parent / "outside"  # beside the project, as `../outside` says
    _write_source(outside, "outside")
    if not (project / "escape").exists():
        (project / "escape").symlink_to(outside)
    assert (project / marker / "app.py").exists()  # a real handler waits there
    name = f"hostile-{marker.strip('./')}"
    _create(hot_cloud, name, tags={HOT_RELOAD_TAG: marker})

    response, payload = _invoke(hot_cloud, name)
    assert payload["version"] == "zip"
    why = f"hot reload off, running the deployed code: {HOT_RELOAD_TAG} {marker!r}"
    assert why in _tail(response)


@pytest.mark.integration
@pytest.mark.slow
def test_a_function_tagged_by_cloudformation_runs_from_the_tree(
    hot_cloud: str, project: Path
) -> None:
    folder = project / "stacked"
    _write_source(folder, "v1")
    code = _upload(
        boto3.resource(
            "s3",
            endpoint_url=hot_cloud,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
    )
    client("cloudformation", hot_cloud).create_stack(
        StackName="hot-stacked", TemplateBody=_function_template({HOT_RELOAD_TAG: "stacked"}, code)
    )
    assert _invoke(hot_cloud, "tagged")[1]["version"] == "v1"  # not the zip's

    _write_source(folder, "v2")
    _invoke_until(hot_cloud, "tagged", _answers("v2"))


@pytest.mark.integration
@pytest.mark.slow
def test_health_names_the_folders_in_use(hot_cloud: str, project: Path) -> None:
    _write_source(project / "listed", "v1")
    _create(hot_cloud, "hot-listed", tags={HOT_RELOAD_TAG: "listed"})
    _invoke(hot_cloud, "hot-listed")
    with urllib.request.urlopen(f"{hot_cloud}/_localcloud/health", timeout=10) as answer:
        reported = json.loads(answer.read())["hot_reload"]
    assert reported["enabled"] is True
    assert str(project / "listed") in reported["folders"]


@pytest.mark.integration
@pytest.mark.slow
def test_the_server_switch_runs_every_tagged_function_from_its_zip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_source(tmp_path / "project" / "src", "tree")
    monkeypatch.setenv("LOCALCLOUD_PROJECT_DIR", str(tmp_path / "project"))
    monkeypatch.setenv("LOCALCLOUD_HOT_RELOAD", "0")
    with LocalCloud(tmp_path / "cloud") as cloud:
        _create(cloud.endpoint, "switched-off", tags={HOT_RELOAD_TAG: "src"})
        assert _invoke(cloud.endpoint, "switched-off")[1]["version"] == "zip"
        assert cloud.health()["hot_reload"] == {"enabled": False, "folders": []}
