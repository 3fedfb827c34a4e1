"""The monitoring stack, infra/monitoring.yaml, read structurally (moto's CloudFormation skips
monitoring schedules and alarms; cfn-lint and checkov run on it in the template's own tests):
the schedules against the baseline parameters, the alarms against the topic and the forwarding
rule, what a serverless stage keeps; and the deploy helper's parameters (deploy/monitoring.py)
from monitoring/monitoring.json and a package of moto's registry with DriftCheckBaselines."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import load_cloudformation
from moto import mock_aws

from {{ cookiecutter.package_name }} import config
from {{ cookiecutter.package_name }}.deploy import monitoring
from {{ cookiecutter.package_name }}.deploy.stage import ConfigError, Stage

SLUG = config.PROJECT_SLUG
REGION = config.AWS_REGION
IMAGE = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/sagemaker-model-monitor-analyzer"
ALARMS = ("DataQualityAlarm", "ModelQualityAlarm")
# The stage as the templates' !Sub strings write it.
STAGE = "${" + "Stage}"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_cloudformation("monitoring.yaml")


def resource(template: dict[str, Any], name: str) -> dict[str, Any]:
    return template["Resources"][name]["Properties"]


def sub(node: Any) -> str:
    """The text of a !Sub (either form)."""
    value = node["Fn::Sub"]
    return value[0] if isinstance(value, list) else value


def test_the_schedules_run_the_job_definitions_on_the_registered_baselines(template):
    data = resource(template, "DataQualityJobDefinition")
    baseline = data["DataQualityBaselineConfig"]
    assert baseline["StatisticsResource"]["S3Uri"] == {"Ref": "DataQualityStatisticsUri"}
    assert baseline["ConstraintsResource"]["S3Uri"] == {"Ref": "DataQualityConstraintsUri"}
    model = resource(template, "ModelQualityJobDefinition")
    assert model["ModelQualityBaselineConfig"]["ConstraintsResource"]["S3Uri"] == {
        "Ref": "ModelQualityConstraintsUri"
    }
    ground_truth = model["ModelQualityJobInput"]["GroundTruthS3Input"]["S3Uri"]
    assert sub(ground_truth) == "s3://${Bucket}/monitoring/ground-truth/${Stage}/"
    for definition, schedule, kind in (
        ("DataQualityJobDefinition", "DataQualitySchedule", "DataQuality"),
        ("ModelQualityJobDefinition", "ModelQualitySchedule", "ModelQuality"),
    ):
        properties = resource(template, schedule)
        scheduled = properties["MonitoringScheduleConfig"]
        assert scheduled["MonitoringType"] == kind
        assert scheduled["MonitoringJobDefinitionName"] == {
            "Fn::GetAtt": f"{definition}.JobDefinitionName"
        }
        assert scheduled["ScheduleConfig"]["ScheduleExpression"] == {"Ref": f"{schedule}Expression"}
        assert sub(properties["EndpointName"]) == f"{SLUG}-{STAGE}"
        job = resource(template, definition)
        assert job["RoleArn"]["Fn::Sub"].endswith(f":role/{SLUG}-monitor")
        inputs = job[f"{kind}JobInput"]["EndpointInput"]
        assert sub(inputs["EndpointName"]) == f"{SLUG}-{STAGE}"
        (output,) = job[f"{kind}JobOutputConfig"]["MonitoringOutputs"]
        assert sub(output["S3Output"]["S3Uri"]).startswith("s3://${Bucket}/monitoring/reports/")


def test_both_alarms_watch_their_schedules_and_reach_the_topic(template):
    topic = resource(template, "AlarmTopic")
    assert sub(topic["TopicName"]) == f"{SLUG}-{STAGE}-monitoring"
    assert topic["KmsMasterKeyId"] == {"Fn::ImportValue": f"{SLUG}-deployment-ServingKeyArn"}
    subscription = resource(template, "OwnerSubscription")
    assert subscription["Protocol"] == "email"
    assert subscription["Endpoint"] == config.AUTHOR_EMAIL
    assert subscription["TopicArn"] == {"Ref": "AlarmTopic"}
    names = {}
    for name, kind in zip(ALARMS, ("data-quality", "model-quality"), strict=True):
        alarm = resource(template, name)
        names[name] = sub(alarm["AlarmName"])
        assert names[name] == f"{SLUG}-{STAGE}-{kind}-violations"
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    # Each alarm reads the metrics of its own schedule of this stage's endpoint.
    drift = resource(template, "DataQualityAlarm")["Metrics"]
    stats = [metric["MetricStat"]["Metric"] for metric in drift if "MetricStat" in metric]
    assert len(stats) == monitoring.ALARM_FEATURES
    for index, metric in enumerate(stats):
        assert metric["Namespace"] == "aws/sagemaker/Endpoints/data-metrics"
        assert metric["MetricName"]["Fn::Sub"][1]["Feature"] == {
            "Fn::Select": [index, {"Ref": "DriftFeatures"}]
        }
        dimensions = {d["Name"]: sub(d["Value"]) for d in metric["Dimensions"]}
        schedule = sub(resource(template, "DataQualitySchedule")["MonitoringScheduleName"])
        assert dimensions == {"Endpoint": f"{SLUG}-{STAGE}", "MonitoringSchedule": schedule}
    (expression,) = [metric for metric in drift if "Expression" in metric]
    assert expression["ReturnData"] is True
    assert all(metric["ReturnData"] is False for metric in drift if "MetricStat" in metric)
    quality = resource(template, "ModelQualityAlarm")
    assert quality["Namespace"] == "aws/sagemaker/Endpoints/model-metrics"
    dimensions = {d["Name"]: sub(d["Value"]) for d in quality["Dimensions"]}
    schedule = sub(resource(template, "ModelQualitySchedule")["MonitoringScheduleName"])
    assert dimensions["MonitoringSchedule"] == schedule


def test_the_forwarding_rule_takes_exactly_the_drift_alarms_to_the_tooling_bus(template):
    rule = resource(template, "ForwardDriftAlarms")
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.cloudwatch"]
    assert pattern["detail-type"] == ["CloudWatch Alarm State Change"]
    assert pattern["detail"]["state"] == {"value": ["ALARM"]}
    alarms = [sub(resource(template, name)["AlarmName"]) for name in ALARMS]
    assert [sub(name) for name in pattern["detail"]["alarmName"]] == alarms
    (target,) = rule["Targets"]
    assert sub(target["Arn"]).endswith(":${ToolingAccountId}:event-bus/default")
    assert sub(target["RoleArn"]).endswith(f":role/{SLUG}-drift-forwarder")
    # With one account the tooling rule sees the alarms itself.
    assert template["Resources"]["ForwardDriftAlarms"]["Condition"] == "ForwardDrift"


def test_a_serverless_stage_keeps_only_the_topic_and_the_dashboard(template):
    """Serverless Inference captures nothing: no monitor, no drift alarm, nothing to forward."""
    unconditional = {
        name for name, item in template["Resources"].items() if "Condition" not in item
    }
    assert unconditional == {"AlarmTopic", "OwnerSubscription", "Dashboard"}
    realtime_only = {"Realtime", "ForwardDrift"}
    assert all(
        item["Condition"] in realtime_only
        for name, item in template["Resources"].items()
        if name not in unconditional
    )


def test_the_dashboard_shows_invocations_latency_errors_and_violations(template):
    text, names = resource(template, "Dashboard")["DashboardBody"]["Fn::Sub"]
    assert sub(names["Endpoint"]) == f"{SLUG}-{STAGE}"
    body = json.loads(re.sub(r"\$\{[^}]+\}", "x", text))
    metrics = {
        widget["properties"]["metrics"][0][1]
        for widget in body["widgets"]
        if widget["type"] == "metric"
    }
    assert metrics == {"Invocations", "ModelLatency", "Invocation5XXErrors"}
    (alarms,) = [widget for widget in body["widgets"] if widget["type"] == "alarm"]
    shown = [arn.rsplit(":", 1)[1] for arn in alarms["properties"]["alarms"]]
    assert shown == ["x-data-quality-violations", "x-model-quality-violations"]


# --- the deploy helper's parameters -------------------------------------------------------


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's model registry in the tooling account, with the project's group."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "MOTO_ACCOUNT_ID": config.AWS_ACCOUNT_ID,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        sagemaker.create_model_package_group(ModelPackageGroupName=config.MODEL_PACKAGE_GROUP)
        yield sagemaker


def register(sagemaker: Any, **extra: Any) -> dict[str, Any]:
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=config.MODEL_PACKAGE_GROUP,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": "serve"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        **extra,
    )["ModelPackageArn"]
    return sagemaker.describe_model_package(ModelPackageName=arn)


def baselines(*groups: str) -> dict[str, Any]:
    return {
        group: {
            kind: {
                "ContentType": "application/json",
                "S3Uri": f"s3://{config.DEFAULT_BUCKET}/{SLUG}-training/{group}/{kind.lower()}.json",
            }
            for kind in ("Statistics", "Constraints")
        }
        for group in groups
    }


def satisfies(spec: dict[str, Any], value: str) -> bool:
    if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
        return False
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
        return False
    if spec["Type"] == "Number":
        number = float(value)
        return spec.get("MinValue", number) <= number <= spec.get("MaxValue", number)
    return True


@pytest.mark.parametrize("stage_name", config.STAGES)
def test_the_parameters_come_from_the_packages_baselines_and_the_config(
    registry, template, stage_name
):
    package = register(registry, DriftCheckBaselines=baselines("ModelDataQuality", "ModelQuality"))
    stage = Stage.load(stage_name)
    parameters = monitoring.stack_parameters(stage, package, image_uri=IMAGE)
    drift = package["DriftCheckBaselines"]
    assert (
        parameters["DataQualityStatisticsUri"] == (drift["ModelDataQuality"]["Statistics"]["S3Uri"])
    )
    assert (
        parameters["DataQualityConstraintsUri"]
        == (drift["ModelDataQuality"]["Constraints"]["S3Uri"])
    )
    assert (
        parameters["ModelQualityConstraintsUri"] == (drift["ModelQuality"]["Constraints"]["S3Uri"])
    )
    settings = monitoring.load_settings()
    schedules = settings["stages"][stage_name]
    assert parameters["DataQualityScheduleExpression"] == schedules["data_quality_schedule"]
    assert parameters["ModelQualityScheduleExpression"] == schedules["model_quality_schedule"]
    assert parameters["EndpointType"] == stage.endpoint_type
    # Every parameter without a default given, every one declared, each accepted.
    declared = template["Parameters"]
    required = {name for name, spec in declared.items() if "Default" not in spec}
    assert required <= set(parameters) <= set(declared)
    for name, value in parameters.items():
        assert satisfies(declared[name], value), name
    features = parameters["DriftFeatures"].split(",")
    assert len(features) == monitoring.ALARM_FEATURES
    analyzer_names = {f"_c{index}" for index in range(len(monitoring.features()))}
    assert set(features) <= analyzer_names


def test_a_package_without_the_model_quality_baseline_is_refused_naming_it(registry):
    package = register(registry, DriftCheckBaselines=baselines("ModelDataQuality"))
    with pytest.raises(monitoring.MissingBaseline, match=r"DriftCheckBaselines\.ModelQuality"):
        monitoring.stack_parameters(Stage.load(config.STAGES[-1]), package, image_uri=IMAGE)


def test_a_package_without_baselines_is_refused_in_one_line(registry):
    package = register(registry)
    with pytest.raises(monitoring.MissingBaseline) as refused:
        monitoring.baselines(package)
    assert "\n" not in str(refused.value)
    assert package["ModelPackageArn"] in str(refused.value)


def test_the_alarm_watches_the_chosen_features_repeated_to_fill_its_slots():
    """By the names the analyzer gives the header-less columns: the metrics'
    feature_baseline_drift_<name>."""
    features = monitoring.features()
    last = features[-1]
    assert monitoring.drift_features([features[1], last]) == ["_c1", f"_c{len(features) - 1}"] * 4
    expected = [f"_c{index}" for index in range(min(8, len(features)))]
    assert monitoring.drift_features([]) == (expected * 8)[:8]
    with pytest.raises(ConfigError, match="not in the schema: no_such_column"):
        monitoring.drift_features(["no_such_column"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw["data_quality"].pop("max_baseline_drift"), "missing key"),
        (lambda raw: raw.update(typo=1), "unknown key 'typo'"),
        (lambda raw: raw["model_quality"].update(metric="loss"), "unknown metric 'loss'"),
        (
            lambda raw: raw["stages"][config.STAGES[-1]].update(data_quality_schedule="hourly"),
            "expected cron",
        ),
    ],
)
def test_a_bad_monitoring_config_is_refused_naming_the_key(tmp_path: Path, change, message):
    raw = json.loads(monitoring.SETTINGS.read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / "monitoring.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        monitoring.load_settings(path)


def test_the_deploy_helper_names_model_monitors_image_as_the_sdk_does():
    """The deploy step's environment has no SageMaker SDK: its copy of the SDK's table gives the
    SDK's answer in every region either knows, and refuses where the SDK refuses."""
    import botocore.session
    from sagemaker.core import image_uris

    session = botocore.session.get_session()
    regions = {
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("ecr", partition_name=partition)
    }
    for region in sorted(regions | set(monitoring.MONITOR_IMAGE_ACCOUNTS)):
        try:
            expected = image_uris.retrieve("model-monitor", region)
        except ValueError:
            with pytest.raises(ConfigError, match=region):
                monitoring.monitor_image_uri(region)
        else:
            assert monitoring.monitor_image_uri(region) == expected, region
    assert monitoring.monitor_image_uri() == image_uris.retrieve("model-monitor", REGION)
