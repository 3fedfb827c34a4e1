"""The SageMaker pipeline's command line (pipeline/cli.py) against moto's S3 and SageMaker:
upsert, start, definition (also offline), upload-data; and what it leaves out of AWS's path: the
offline harness (moto) is imported by `definition --offline` and the tests only."""

from __future__ import annotations

import ast
import json

import boto3
import pytest
from aws_calls import DATA_WRITER, acting_as
from pipeline_support import SDK_WARNINGS, expected_tags

from {{ cookiecutter.package_name }} import arns, config, jobcode

# The pipeline is built, upserted and started by CI's operator role (tests/aws_calls.py).
pytestmark = [*SDK_WARNINGS, pytest.mark.principal("operator")]


def test_cli_upsert_creates_the_pipeline_and_start_starts_an_execution(pipeline_cli, capsys):
    assert pipeline_cli.main(["upsert"]) == 0
    pipeline_arn = capsys.readouterr().out.strip()
    sagemaker = boto3.client("sagemaker", region_name=config.AWS_REGION)
    described = sagemaker.describe_pipeline(PipelineName=config.PIPELINE_NAME)
    assert described["PipelineArn"] == pipeline_arn
    assert described["RoleArn"] == arns.EXECUTION_ROLE_ARN
    stored = json.loads(described["PipelineDefinition"])
    assert [step["Name"] for step in stored["Steps"]][-1] == "CheckQuality"
    tags = sagemaker.list_tags(ResourceArn=pipeline_arn)["Tags"]
    assert {tag["Key"]: tag["Value"] for tag in tags} == expected_tags()

    assert pipeline_cli.main(["start", "--parameter", "QualityThreshold=0.5"]) == 0
    execution_arn = capsys.readouterr().out.strip()
    assert execution_arn.startswith(f"{pipeline_arn}/execution/")
    overrides = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=execution_arn)
    assert overrides["PipelineParameters"] == [{"Name": "QualityThreshold", "Value": "0.5"}]


def test_cli_definition_offline_needs_no_account(pipeline_cli, capsys):
    # Its own emulated AWS, here inside this module's, so with a bucket of its own.
    argv = ["definition", "--offline", "--bucket", "offline-definition-bucket"]
    assert pipeline_cli.main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [step["Name"] for step in printed["Steps"]][-1] == "CheckQuality"
    parameters = {p["Name"]: p["DefaultValue"] for p in printed["Parameters"]}
    # The pipeline's bucket, unless the raw data is in a data lake's.
    bucket = config.DATA_BUCKET if config.DATA_LAKE_ACCOUNT else "offline-definition-bucket"
    assert parameters["InputDataUrl"].startswith(f"s3://{bucket}/")


def test_cli_upload_data_puts_the_configured_data_where_the_pipeline_reads_it(pipeline_cli, capsys):
    from {{ cookiecutter.package_name }}.pipeline.staging import default_input_data_url

    with acting_as(DATA_WRITER):
        assert pipeline_cli.main(["upload-data"]) == 0
    uri = capsys.readouterr().out.strip()
    assert uri == default_input_data_url() + config.DATA.name
    key = uri.removeprefix(f"s3://{config.DATA_BUCKET}/")
    s3 = boto3.client("s3", region_name=config.AWS_REGION)
    stored = s3.get_object(Bucket=config.DATA_BUCKET, Key=key)
    assert stored["Body"].read() == config.DATA.read_bytes()
    assert stored["ServerSideEncryption"] == "aws:kms"


@pytest.mark.parametrize(
    "argv",
    [["definition", "--parameter", "QualityThreshold=0.5"], ["start", "--parameter", "oops"]],
)
def test_cli_rejects_misused_parameters(pipeline_cli, argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        pipeline_cli.main(argv)
    assert exit_info.value.code == 2
    assert "--parameter" in capsys.readouterr().err


def test_only_definition_offline_imports_the_offline_harness():
    """moto (a development dependency) and the offline harness stay out of what runs in AWS: of
    the package's modules only pipeline/offline.py imports moto or unittest (the SDK loads
    unittest.mock itself, so the source is what shows it), and only the `definition` command
    imports offline.py, when it runs (the others, upsert and start among them, never)."""
    harness = config.PACKAGE_DIR / "pipeline" / "offline.py"
    offline = f"{config.__package__}.pipeline.offline"
    importers = set()
    for path in sorted(config.PACKAGE_DIR.rglob("*.py")):
        package = ".".join(path.relative_to(config.PACKAGE_DIR.parent).parent.parts)
        for statement in ast.parse(path.read_text(encoding="utf-8")).body:
            function = statement.name if isinstance(statement, ast.FunctionDef) else None
            for node in ast.walk(statement):
                if not isinstance(node, ast.Import | ast.ImportFrom):
                    continue
                # Each module named, and each name taken from it (a submodule, maybe).
                modules = [
                    dotted
                    for module, names in jobcode.import_targets(node, package)
                    for dotted in (module, *(f"{module}.{name}" for name in names))
                ]
                if any(module.split(".")[0] in ("moto", "unittest") for module in modules):
                    assert path == harness, (path, modules)
                if offline in modules:
                    importers.add((path.name, function))
    assert importers == {("cli.py", "definition")}
