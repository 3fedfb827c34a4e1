"""The images CI pushes are what SageMaker runs: one platform's image under a Docker image
manifest, and the digest the pipeline pins is that manifest's.

`docker buildx build` adds a provenance attestation by default (Docker's "Provenance
attestations": mode=min unless --provenance=false), stored beside the image in an image index,
so the pushed tag names an index; SageMaker refuses an index, and an OCI image manifest too
("Unsupported manifest media type"). Every buildx command of every buildspec and workflow is read
with buildx's own rules for its flags; the commands that record a digest run in bash against a
registry that answers as ECR's DescribeImages does (botocore's model)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from ci_support import CI_FILES, PROJECT, Job, commands_of, jobs

# The Docker Image Manifest V2, Schema 2 media type (the distribution spec), and the OCI index
# buildx pushes with attestations.
IMAGE_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def buildx_parser() -> argparse.ArgumentParser:
    """The options of `docker buildx build` these commands may use; another one fails the test
    (add it here with its meaning in buildx's reference)."""
    parser = argparse.ArgumentParser(
        prog="docker buildx build", exit_on_error=False, add_help=False
    )
    for option in ("--platform", "--output", "--attest", "--build-arg", "--tag"):
        parser.add_argument(option, action="append", default=[])
    for option in ("--file", "--target", "--provenance", "--sbom"):
        parser.add_argument(option)
    parser.add_argument("--push", action="store_true")
    parser.add_argument("context")
    return parser


def attributes(text: str) -> dict[str, str]:
    """`key=value,key=value` as buildx reads --output and --attest."""
    return dict(field.split("=", 1) for field in text.split(","))


def boolean(text: str) -> bool | None:
    """Go's strconv.ParseBool, which buildx applies to --provenance and --sbom values."""
    return {"1": True, "t": True, "true": True, "0": False, "f": False, "false": False}.get(
        text.lower()
    )


def attestations(args: argparse.Namespace) -> set[str]:
    """The attestations buildx adds: provenance unless turned off (its default), SBOM if asked.
    --provenance/--sbom X is shorthand for --attest type=...,disabled=!X (or its attributes)."""
    asked: dict[str, bool] = {}
    shorthand = [("provenance", args.provenance), ("sbom", args.sbom)]
    for kind, value in shorthand:
        if value is not None:
            flag = boolean(value)
            asked[kind] = flag if flag is not None else True
    for text in args.attest:
        fields = attributes(text)
        asked[fields["type"]] = boolean(fields.get("disabled", "false")) is not True
    return {kind for kind, on in ({"provenance": True} | asked).items() if on}


def builds(relative: str) -> list[list[str]]:
    return [
        arguments
        for job in jobs(relative)
        for text in job.commands()
        for arguments in commands_of(text, "docker")
        if arguments[1:3] == ["buildx", "build"]
    ]


@pytest.mark.parametrize("relative", CI_FILES)
def test_every_push_is_one_platforms_image_without_attestations(relative):
    for arguments in builds(relative):
        args = buildx_parser().parse_args(arguments[3:])
        outputs = [attributes(output) for output in args.output]
        # --push turns the first output, an image one, into a push (buildx's build command).
        assert args.push or any(o.get("push") == "true" or o["type"] == "registry" for o in outputs)
        assert len(args.platform) == 1 and "," not in args.platform[0], arguments
        assert attestations(args) == set(), f"{relative}: pushes attestations: {arguments}"
        (output,) = outputs or [{"type": "image"}]
        assert output["type"] in {"image", "registry"}, arguments
        # Docker media types, which SageMaker takes (not an OCI manifest).
        assert output.get("oci-mediatypes") == "false", f"{relative}: {arguments}"


def test_the_images_are_built_where_the_ci_builds_them():
    """The check above reads the buildx commands of the jobs that push the images."""
    pushing = [relative for relative in CI_FILES if builds(relative)]
    assert "buildspecs/build-images.yml" in pushing
    assert all(len(builds(relative)) >= 1 for relative in pushing)
    if (PROJECT / ".github" / "workflows" / "train.yml").exists():
        assert ".github/workflows/train.yml" in pushing


def test_the_buildx_rules_above_are_buildxs():
    """The default of buildx (provenance on) and its shorthands, as its reference states them."""
    parse = buildx_parser().parse_args
    assert attestations(parse(["--push", "."])) == {"provenance"}
    assert attestations(parse(["--provenance=false", "."])) == set()
    assert attestations(parse(["--provenance=mode=max", "."])) == {"provenance"}
    assert attestations(parse(["--attest", "type=provenance,disabled=true", "."])) == set()
    assert attestations(parse(["--provenance=0", "--sbom=true", "."])) == {"sbom"}


# A registry for the commands that record digests: `aws ecr describe-images` answers from
# FAKE_ECR (repository -> tag -> image) in DescribeImages' shape, with the CLI's --query
# (JMESPath) and --output text; `aws ecr get-login-password`, `aws configure set` (a profile of
# the role the build acts as) and `docker login` pass; anything else (a build, a push) is not
# expected here and fails.
FAKE_AWS = """
import json, os, sys
import jmespath
args, registry = sys.argv[1:], json.loads(os.environ["FAKE_ECR"])
def option(name):
    return args[args.index(name) + 1] if name in args else None
if args[:2] == ["configure", "set"]:
    sys.exit(0)
if args[:2] == ["ecr", "get-login-password"]:
    print("password")
    sys.exit(0)
if args[:2] != ["ecr", "describe-images"]:
    sys.exit(f"unexpected: aws {' '.join(args)}")
repository, tag = option("--repository-name"), option("--image-ids").removeprefix("imageTag=")
image = registry.get(repository, {}).get(tag)
if image is None:
    sys.exit(f"An error occurred (ImageNotFoundException): {repository}:{tag}")
answer = {"imageDetails": [dict(image, repositoryName=repository, imageTags=[tag])]}
query = option("--query")
found = jmespath.search(query, answer) if query else answer
if option("--output") == "text":
    print("\\t".join(map(str, found)) if isinstance(found, list) else found)
else:
    print(json.dumps(found))
"""
FAKE_DOCKER = """
import sys
if sys.argv[1:2] == ["login"]:
    sys.stdin.read()
    sys.exit(0)
sys.exit(f"unexpected: docker {' '.join(sys.argv[1:])}")
"""
TAG = "0123456789abcdef0123456789abcdef01234567"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"


def digest(seed: str) -> str:
    return "sha256:" + (seed * 64)[:64]


def image(media_type: str, seed: str) -> dict[str, Any]:
    """An ImageDetail of DescribeImages, its members checked against botocore's model."""
    detail = {
        "registryId": ACCOUNT,
        "imageDigest": digest(seed),
        "imageManifestMediaType": media_type,
        "imageSizeInBytes": 1,
    }
    model = botocore.session.get_session().get_service_model("ecr")
    assert set(detail) <= set(model.shape_for("ImageDetail").members)
    return detail


def recording_jobs() -> list[tuple[str, Job, list[str]]]:
    """The jobs that record an image digest for the pipeline: (file, job, the scripts that do)."""
    found = []
    for relative in CI_FILES:
        for job in jobs(relative):
            scripts = [script for script, _ in job.scripts]
            if relative.startswith(".github/"):
                scripts = [script for script in scripts if "imageDigest" in script]
            if any("imageDigest" in script for script in scripts):
                found.append((relative, job, scripts))
    return found


def run_recording(
    relative: str, job: Job, scripts: list[str], registry: dict, folder: Path
) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    """Run the job's recording scripts as its CI would (CodeBuild: the commands in order in one
    shell, failing on the first that fails; GitHub: `bash -e`), against `registry`; the image URIs
    they recorded (images.json, or the step's outputs)."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    for name, source in (("aws", FAKE_AWS), ("docker", FAKE_DOCKER)):
        path = bin_dir / name
        path.write_text(f"#!{sys.executable}\n{source}", encoding="utf-8")
        path.chmod(0o755)
    outputs = folder / "outputs"
    variables = {key: value for _, known in job.scripts for key, value in known.items()}
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_ECR": json.dumps(registry),
        # CodeBuild's variables, and what the workflow's expressions give.
        "CODEBUILD_RESOLVED_SOURCE_VERSION": TAG,
        "CODEBUILD_SOURCE_REPO_URL": "https://example.com/repository.git",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCOUNT_ID": ACCOUNT,
        "REGISTRY": REGISTRY,
        "TAG": TAG,
        "SOURCE": "https://github.com/owner/repository",
        "GITHUB_OUTPUT": str(outputs),
    }
    env = variables | env if relative.startswith(".github/") else env | variables
    env["AWS_ACCOUNT_ID"] = ACCOUNT
    script = "set -e\n" + "\n".join(scripts)
    result = subprocess.run(
        ["bash", "-c", script], cwd=folder, env=env, capture_output=True, text=True, timeout=60
    )
    recorded: dict[str, str] = {}
    if (folder / "images.json").exists():
        written = json.loads((folder / "images.json").read_text(encoding="utf-8"))
        recorded = {name: written[name]["uri"] for name in ("steps", "serve")}
    if outputs.exists():
        for line in outputs.read_text(encoding="utf-8").splitlines():
            name, _, value = line.partition("=")
            recorded[name] = value
    return result, recorded


@pytest.mark.skipif(not (shutil.which("bash") and shutil.which("jq")), reason="needs bash and jq")
@pytest.mark.parametrize("index_of", [None, "steps", "serve"])
def test_the_pinned_digest_is_the_image_manifests(tmp_path, index_of):
    """Tags whose images are Docker image manifests: the recorded URIs pin those manifests'
    digests. A tag that names an index (as an attested push leaves it): the job fails and
    records nothing for the pipeline."""
    found = recording_jobs()
    assert [relative for relative, _, _ in found if "build-images" in relative]
    for number, (relative, job, scripts) in enumerate(found):
        variables = {key: value for _, known in job.scripts for key, value in known.items()}
        repositories = {
            name: variables[f"{name.upper()}_IMAGE_REPOSITORY"] for name in ("steps", "serve")
        }
        registry = {
            repositories[name]: {
                TAG: image(OCI_INDEX if name == index_of else IMAGE_MANIFEST, seed)
            }
            for name, seed in (("steps", "a"), ("serve", "b"))
        }
        folder = tmp_path / str(number)
        folder.mkdir()
        result, recorded = run_recording(relative, job, scripts, registry, folder)
        if index_of is None:
            assert result.returncode == 0, f"{relative}: {result.stderr}"
            pinned = {
                name: registry[repositories[name]][TAG]["imageDigest"] for name in repositories
            }
            assert recorded == {
                name: f"{REGISTRY}/{repositories[name]}@{pinned[name]}" for name in repositories
            }, relative
        else:
            assert result.returncode != 0, f"{relative} pinned an index: {recorded}"
            assert "images" not in recorded and index_of not in recorded, relative
            assert OCI_INDEX in result.stdout + result.stderr, relative
