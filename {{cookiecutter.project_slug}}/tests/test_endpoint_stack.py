"""The endpoint stack, infra/endpoint.yaml, resolved the way CloudFormation resolves it for one set
of parameters (conditions, Fn::If, mappings, AWS::NoValue), for each endpoint type, rollout type
and stage: the endpoint's name, the live and shadow variants, the rollout against its alarms, the
alarms against the live variant, auto scaling, tags, and the parameters against what the deploy
helper renders. (cfn-lint and checkov run on it in the template's own tests.)"""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

import pytest
from conftest import load_cloudformation
from policies import Stack, project_stacks

from {{ cookiecutter.package_name }} import config

PACKAGE_ARN = (
    f"arn:aws:sagemaker:{config.AWS_REGION}:{config.AWS_ACCOUNT_ID}"
    f":model-package/{config.MODEL_PACKAGE_GROUP}/3"
)
SHADOW_PACKAGE_ARN = PACKAGE_ARN[: -len("3")] + "4"
ENDPOINT_TYPES = ("realtime", "serverless")
ROLLOUT_TYPES = ("CANARY", "LINEAR", "ALL_AT_ONCE")
STAGES = ("staging", "prod")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_cloudformation("endpoint.yaml")


def parameters(template: dict[str, Any], **values: Any) -> dict[str, str]:
    """Every parameter as text, as CloudFormation passes them: the defaults, a production canary
    on instances, and `values`."""
    chosen = {
        name: str(spec["Default"])
        for name, spec in template["Parameters"].items()
        if "Default" in spec
    }
    chosen.update(
        Stage="prod", ModelPackageArn=PACKAGE_ARN, EndpointType="realtime", RolloutType="CANARY"
    )
    chosen.update({name: str(value) for name, value in values.items()})
    chosen.update(copies(chosen["ModelPackageArn"], chosen.get("ShadowModelPackageArn", "")))
    assert set(chosen) == set(template["Parameters"]), "a parameter without a value"
    return chosen


def copies(live: str, shadow: str = "") -> dict[str, str]:
    """With a shared-artifact account: the parameters naming the packages' copies there
    (deploy/artifacts.py), as the deploy helper adds them; else none."""
    if not config.ARTIFACT_ACCOUNT:
        return {}
    from deploy_support import registered_package

    from {{ cookiecutter.package_name }}.deploy import artifacts

    shadowed = registered_package(shadow) if shadow else None
    return artifacts.endpoint_parameters(registered_package(live), shadowed)


def containers(package_arn: str) -> list[dict[str, str]]:
    """A model's containers: the package itself, or its copies in the shared-artifact account."""
    if not config.ARTIFACT_ACCOUNT:
        return [{"ModelPackageName": package_arn}]
    found = copies(package_arn)
    return [{"Image": found["ImageUri"], "ModelDataUrl": found["ModelDataUrl"]}]


def stack(template: dict[str, Any], values: dict[str, str]) -> Stack:
    """The template with these parameter values, references to resources and imports kept (the
    template takes either stage, whichever stages the project has)."""
    stage = values["Stage"]
    account = config.STAGE_ACCOUNTS.get(stage, config.AWS_ACCOUNT_ID)
    name = f"{config.PROJECT_SLUG}-endpoint-{stage}"
    return Stack("endpoint.yaml", name, account, template, values, project_stacks(), True)


def resolve(template: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """The resources and outputs the stack has for these parameter values."""
    deployed = stack(template, values)
    return {
        section: {
            name: deployed.resolve(item)
            for name, item in template[section].items()
            if "Condition" not in item or deployed.condition(item["Condition"])
        }
        for section in ("Resources", "Outputs")
    }


def of_type(stack: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in stack["Resources"].items()
        if resource["Type"] == kind
    }


def the(stack: dict[str, Any], kind: str) -> dict[str, Any]:
    (properties,) = of_type(stack, kind).values()
    return properties


def every_combination(template: dict[str, Any]) -> list[dict[str, str]]:
    """The parameters of every stage, endpoint type, rollout type, with and without shadow."""
    return [
        parameters(
            template,
            Stage=stage,
            EndpointType=endpoint_type,
            RolloutType=rollout,
            ShadowModelPackageArn=shadow,
        )
        for stage, endpoint_type, rollout, shadow in itertools.product(
            STAGES, ENDPOINT_TYPES, ROLLOUT_TYPES, ("", SHADOW_PACKAGE_ARN)
        )
    ]


def alarm_dimensions(alarm: dict[str, Any]) -> list[dict[str, dict[str, str]]]:
    """The dimensions of each metric the alarm reads (its own, or those of its metric math)."""
    if "Metrics" not in alarm:
        return [{d["Name"]: d["Value"] for d in alarm["Dimensions"]}]
    return [
        {d["Name"]: d["Value"] for d in metric["MetricStat"]["Metric"]["Dimensions"]}
        for metric in alarm["Metrics"]
        if "MetricStat" in metric
    ]


def test_every_alarm_of_the_stack_rolls_a_rollout_back_and_nothing_else(template):
    for values in every_combination(template):
        stack = resolve(template, values)
        alarms = set(of_type(stack, "AWS::CloudWatch::Alarm"))
        assert len(alarms) >= 2
        endpoint = the(stack, "AWS::SageMaker::Endpoint")
        listed = endpoint["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
        # By Ref: an alarm's Ref is its name, and the endpoint waits for the alarms.
        assert all(set(entry) == {"AlarmName"} for entry in listed)
        assert all(set(entry["AlarmName"]) == {"Ref"} for entry in listed)
        names = [entry["AlarmName"]["Ref"] for entry in listed]
        assert len(names) == len(set(names))
        assert set(names) == alarms


@pytest.mark.parametrize("stage", STAGES)
def test_the_alarms_watch_the_live_variant_of_this_stages_endpoint(template, stage):
    stack = resolve(template, parameters(template, Stage=stage, Max5xxErrors=3))
    endpoint = the(stack, "AWS::SageMaker::Endpoint")
    (live,) = the(stack, "AWS::SageMaker::EndpointConfig")["ProductionVariants"]
    watched = {"EndpointName": endpoint["EndpointName"], "VariantName": live["VariantName"]}
    assert watched == {"EndpointName": f"{config.PROJECT_SLUG}-{stage}", "VariantName": "live"}
    alarms = of_type(stack, "AWS::CloudWatch::Alarm")
    for name, alarm in alarms.items():
        assert alarm_dimensions(alarm) == [watched], name
        assert alarm["TreatMissingData"] == "notBreaching", name
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold", name
        assert alarm["AlarmName"].startswith(f"{config.PROJECT_SLUG}-{stage}-"), name
    errors = alarms["Errors5xxAlarm"]
    assert errors["AlarmName"] == f"{config.PROJECT_SLUG}-{stage}-5xx-errors"
    assert (errors["Namespace"], errors["MetricName"]) == ("AWS/SageMaker", "Invocation5XXErrors")
    assert (errors["Statistic"], errors["Threshold"]) == ("Sum", "3")


def latency_alarm_fires(alarm: dict[str, Any], model_latency_microseconds: float) -> bool:
    """Whether the latency alarm breaches for one p99 value of ModelLatency (microseconds):
    its metric math applied, then its comparison."""
    (source,) = [m for m in alarm["Metrics"] if "MetricStat" in m]
    (returned,) = [m for m in alarm["Metrics"] if m.get("ReturnData", True)]
    expression = returned["Expression"]
    assert re.fullmatch(rf"{source['Id']} [*/] [0-9.]+", expression), expression
    # The expression is checked above: the metric's id, an operator and a number.
    value = eval(expression, {"__builtins__": {}}, {source["Id"]: model_latency_microseconds})
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    return value > float(alarm["Threshold"])


def test_the_latency_alarm_compares_the_p99_in_milliseconds(template):
    stack = resolve(template, parameters(template, MaxModelLatencyMs=500))
    alarm = of_type(stack, "AWS::CloudWatch::Alarm")["ModelLatencyAlarm"]
    assert alarm["AlarmName"] == f"{config.PROJECT_SLUG}-prod-model-latency"
    (source,) = [m for m in alarm["Metrics"] if "MetricStat" in m]
    assert source["MetricStat"]["Metric"]["MetricName"] == "ModelLatency"
    assert source["MetricStat"]["Metric"]["Namespace"] == "AWS/SageMaker"
    assert source["MetricStat"]["Stat"] == "p99"
    assert source["MetricStat"]["Unit"] == "Microseconds"
    # SageMaker reports ModelLatency in microseconds: 0.6 s is over 500 ms, 0.4 s is not.
    assert latency_alarm_fires(alarm, 600_000)
    assert not latency_alarm_fires(alarm, 400_000)


@pytest.mark.parametrize("stage", STAGES)
def test_the_endpoint_is_named_after_the_project_and_the_stage(template, stage):
    assert (
        set(template["Parameters"]["Stage"]["AllowedValues"]) == set(STAGES) >= set(config.STAGES)
    )
    stack = resolve(template, parameters(template, Stage=stage))
    name = the(stack, "AWS::SageMaker::Endpoint")["EndpointName"]
    assert name == f"{config.PROJECT_SLUG}-{stage}"
    assert stack["Outputs"]["EndpointName"]["Value"] == {"Fn::GetAtt": "Endpoint.EndpointName"}


def test_scaling_exists_for_realtime_endpoints_only_and_tracks_invocations_per_instance(template):
    values = parameters(
        template, Stage="staging", MinInstances=2, MaxInstances=6, TargetInvocationsPerInstance=150
    )
    stack = resolve(template, values)
    target = the(stack, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["ServiceNamespace"] == "sagemaker"
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert target["ResourceId"] == f"endpoint/{config.PROJECT_SLUG}-staging/variant/live"
    assert (target["MinCapacity"], target["MaxCapacity"]) == ("2", "6")
    # The variant must exist before it is registered.
    (name,) = of_type(stack, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert stack["Resources"][name]["DependsOn"] in ("Endpoint", ["Endpoint"])
    policy = the(stack, "AWS::ApplicationAutoScaling::ScalingPolicy")
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["ScalingTargetId"] == {"Ref": name}
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
    }
    assert tracking["TargetValue"] == "150"

    serverless = resolve(template, parameters(template, EndpointType="serverless"))
    assert [
        name
        for name, resource in serverless["Resources"].items()
        if resource["Type"].startswith("AWS::ApplicationAutoScaling::")
    ] == []


def model_of(stack: dict[str, Any], variant: dict[str, Any]) -> dict[str, Any]:
    """The properties of the model a variant serves, which must exist in this stack."""
    (name, attribute) = variant["ModelName"]["Fn::GetAtt"].split(".")
    assert attribute == "ModelName"
    assert stack["Resources"][name]["Type"] == "AWS::SageMaker::Model", name
    return stack["Resources"][name]["Properties"]


def variants(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    endpoint_config = the(stack, "AWS::SageMaker::EndpointConfig")
    found = {}
    for key in ("ProductionVariants", "ShadowProductionVariants"):
        for variant in endpoint_config.get(key, []):
            found[variant["VariantName"]] = {**variant, "kind": key}
    return found


@pytest.mark.parametrize("shadow", ["", SHADOW_PACKAGE_ARN])
def test_instances_for_realtime_and_memory_and_concurrency_for_serverless(template, shadow):
    realtime = resolve(
        template,
        parameters(
            template, InstanceType="ml.c5.xlarge", MinInstances=2, ShadowModelPackageArn=shadow
        ),
    )
    for variant in variants(realtime).values():
        assert variant["InstanceType"] == "ml.c5.xlarge"
        assert variant["InitialInstanceCount"] == "2"
        assert "ServerlessConfig" not in variant
    # Serverless endpoints take no shadow (test_a_serverless_endpoint_refuses_a_shadow_variant).
    serverless = resolve(
        template,
        parameters(
            template, EndpointType="serverless", ServerlessMemoryMB=3072, ServerlessMaxConcurrency=7
        ),
    )
    for variant in variants(serverless).values():
        assert variant["ServerlessConfig"] == {"MemorySizeInMB": "3072", "MaxConcurrency": "7"}
        assert "InstanceType" not in variant and "InitialInstanceCount" not in variant
    for stack in (realtime, serverless):
        endpoint_config = the(stack, "AWS::SageMaker::EndpointConfig")
        # The deployment account's serving key encrypts what SageMaker stores for the variants.
        assert endpoint_config["KmsKeyId"] == {
            "Fn::ImportValue": f"{config.PROJECT_SLUG}-deployment-ServingKeyArn"
        }
        assert variants(stack)["live"]["kind"] == "ProductionVariants"
    # The container of an instance has no network; serverless endpoints refuse that.
    for variant in variants(realtime).values():
        assert model_of(realtime, variant)["EnableNetworkIsolation"] is True
    for variant in variants(serverless).values():
        assert not model_of(serverless, variant).get("EnableNetworkIsolation", False)


def test_the_instance_types_allowed_have_no_local_storage_which_refuses_a_kms_key(template):
    allowed = template["Parameters"]["InstanceType"]["AllowedValues"]
    assert template["Parameters"]["InstanceType"]["Default"] in allowed
    for instance_type in allowed:
        family = instance_type.split(".")[1]
        # Local NVMe storage: the d families (m5d, c5d, g4dn, ...) and the GPU/accelerator ones.
        assert not family.endswith(("d", "dn")), instance_type
        assert family[0] not in "gpi", instance_type


@pytest.mark.parametrize("rollout", ROLLOUT_TYPES)
def test_each_rollout_type_shifts_traffic_its_way(template, rollout):
    stack = resolve(
        template, parameters(template, RolloutType=rollout, RolloutStepPercent=20, WaitMinutes=7)
    )
    policy = the(stack, "AWS::SageMaker::Endpoint")["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    routing = policy["TrafficRoutingConfiguration"]
    assert routing["Type"] == rollout
    assert routing["WaitIntervalInSeconds"] == 7 * 60
    size = {"Type": "CAPACITY_PERCENT", "Value": "20"}
    assert routing.get("CanarySize") == (size if rollout == "CANARY" else None)
    assert routing.get("LinearStepSize") == (size if rollout == "LINEAR" else None)


def test_every_wait_the_stack_allows_is_converted_to_seconds(template):
    spec = template["Parameters"]["WaitMinutes"]
    for minutes in range(spec["MinValue"], spec["MaxValue"] + 1):
        stack = resolve(template, parameters(template, WaitMinutes=minutes))
        endpoint = the(stack, "AWS::SageMaker::Endpoint")
        routing = endpoint["DeploymentConfig"]["BlueGreenUpdatePolicy"]
        assert routing["TrafficRoutingConfiguration"]["WaitIntervalInSeconds"] == minutes * 60


@pytest.mark.parametrize("rollout", ROLLOUT_TYPES)
def test_no_rollout_outlasts_the_bound_the_deploy_helper_and_ci_wait_for(template, rollout):
    """SageMaker rolls a rollout back at MaximumExecutionTimeoutInSeconds (10 minutes to 8
    hours): that is config.MAX_ROLLOUT_MINUTES, within the helper's wait (test_deploy.py holds
    the wait against the CI jobs' timeouts). Every wait the stack allows fits a canary and an
    all-at-once rollout; the helper refuses the linear ones that would not fit."""
    from {{ cookiecutter.package_name }}.deploy.stage import longest_rollout_minutes

    longest_wait = template["Parameters"]["WaitMinutes"]["MaxValue"]
    for minutes in (1, longest_wait):
        stack = resolve(template, parameters(template, RolloutType=rollout, WaitMinutes=minutes))
        endpoint = the(stack, "AWS::SageMaker::Endpoint")
        timeout = endpoint["DeploymentConfig"]["BlueGreenUpdatePolicy"][
            "MaximumExecutionTimeoutInSeconds"
        ]
        assert 600 <= timeout <= 8 * 3600
        assert timeout <= config.MAX_ROLLOUT_MINUTES * 60 < config.DEPLOY_WAIT_MINUTES * 60
    if rollout != "LINEAR":
        step = template["Parameters"]["RolloutStepPercent"]["MinValue"]
        assert longest_rollout_minutes(rollout.lower(), step, longest_wait) * 60 <= timeout


def test_an_update_on_instances_keeps_the_fleet_auto_scaling_made(template):
    """AWS's way to update an endpoint under auto scaling: UpdateEndpoint with
    RetainAllVariantProperties, so that the new fleet starts with the live variant's current
    DesiredInstanceCount, not InitialInstanceCount (MinInstances). Only on an update (AWS
    documents it for UpdateEndpoint only) and only on instances (serverless does not scale so)."""
    for endpoint_type, retain, kept in [
        ("realtime", "true", True),
        ("realtime", "false", False),
        ("serverless", "true", False),
        ("serverless", "false", False),
    ]:
        values = parameters(template, EndpointType=endpoint_type, RetainVariantProperties=retain)
        endpoint = the(resolve(template, values), "AWS::SageMaker::Endpoint")
        assert endpoint.get("RetainAllVariantProperties") is (True if kept else None)
        # Every property kept: the instance count, and the variants' weights.
        assert "ExcludeRetainedVariantProperties" not in endpoint


def rules_refuse(template: dict[str, Any], values: dict[str, str]) -> list[str]:
    """The template Rules whose assertions these parameter values break, as CloudFormation
    checks them before it creates or changes anything."""
    refused, deployed = [], stack(template, values)
    for name, rule in template.get("Rules", {}).items():
        applies = "RuleCondition" not in rule or deployed.holds(rule["RuleCondition"])
        if applies and not all(deployed.holds(check["Assert"]) for check in rule["Assertions"]):
            refused.append(name)
    return refused


def test_a_serverless_endpoint_refuses_a_shadow_variant(template):
    """Serverless Inference serves one production variant (no shadow variant): the stack
    refuses a shadow package for a serverless endpoint, and never renders one."""
    for values in every_combination(template):
        serverless_shadow = (
            values["EndpointType"] == "serverless" and values["ShadowModelPackageArn"] != ""
        )
        assert bool(rules_refuse(template, values)) is serverless_shadow, values
        if values["EndpointType"] == "serverless":
            stack = resolve(template, values)
            assert set(variants(stack)) == {"live"}
            assert len(of_type(stack, "AWS::SageMaker::Model")) == 1


def test_the_shadow_variant_exists_only_with_a_shadow_package(template):
    for values in every_combination(template):
        if rules_refuse(template, values):
            continue
        stack = resolve(template, values)
        models = of_type(stack, "AWS::SageMaker::Model")
        found = variants(stack)
        for model in models.values():
            assert model["ExecutionRoleArn"] == {
                "Fn::ImportValue": f"{config.PROJECT_SLUG}-deployment-EndpointRoleArn"
            }
        live = found["live"]
        assert model_of(stack, live)["Containers"] == containers(PACKAGE_ARN)
        assert stack["Outputs"]["ModelPackageArn"]["Value"] == PACKAGE_ARN
        if not values["ShadowModelPackageArn"]:
            assert len(models) == 1 and set(found) == {"live"}
            assert "ShadowModelPackageArn" not in stack["Outputs"]
            continue
        assert len(models) == 2 and set(found) == {"live", "shadow"}
        shadow = found["shadow"]
        assert shadow["kind"] == "ShadowProductionVariants"
        assert model_of(stack, shadow)["Containers"] == containers(SHADOW_PACKAGE_ARN)
        # Sized as the live variant, so that its latency compares.
        sizing = ("InstanceType", "InitialInstanceCount", "ServerlessConfig")
        assert {k: shadow.get(k) for k in sizing} == {k: live.get(k) for k in sizing}
        assert stack["Outputs"]["ShadowModelPackageArn"]["Value"] == SHADOW_PACKAGE_ARN


# Application Auto Scaling's resources take no tags in CloudFormation.
UNTAGGABLE = {
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
}


@pytest.mark.parametrize("stage", STAGES)
def test_every_taggable_resource_carries_the_project_tags_and_the_stage(template, stage):
    values = parameters(template, Stage=stage, ShadowModelPackageArn=SHADOW_PACKAGE_ARN)
    expected = {**config.TAGS, "stage": stage}
    for name, resource in resolve(template, values)["Resources"].items():
        if resource["Type"] in UNTAGGABLE:
            continue
        tags = {tag["Key"]: tag["Value"] for tag in resource["Properties"]["Tags"]}
        assert tags == expected, name


def satisfies(spec: dict[str, Any], value: str) -> bool:
    """Whether CloudFormation accepts `value` for a parameter declared as `spec`."""
    if "AllowedValues" in spec and value not in {str(v) for v in spec["AllowedValues"]}:
        return False
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
        return False
    if spec["Type"] == "Number":
        number = float(value)
        if number < spec.get("MinValue", -math.inf) or number > spec.get("MaxValue", math.inf):
            return False
    return True


def test_the_parameters_declare_what_they_accept(template):
    """Every parameter but the ARNs is constrained, and the constraints mean something."""
    for name, spec in template["Parameters"].items():
        assert spec.get("Description"), name
        if spec["Type"] == "Number":
            assert "AllowedValues" in spec or {"MinValue", "MaxValue"} <= set(spec), name
        else:
            assert "AllowedValues" in spec or "AllowedPattern" in spec, name
    specs = template["Parameters"]
    assert satisfies(specs["ModelPackageArn"], PACKAGE_ARN)
    assert not satisfies(specs["ModelPackageArn"], "")
    assert satisfies(specs["ShadowModelPackageArn"], "")
    assert not satisfies(specs["RolloutType"], "canary")
    assert not satisfies(specs["RolloutStepPercent"], "60")
    assert not satisfies(specs["ServerlessMemoryMB"], "1500")


@pytest.mark.parametrize("stage", config.STAGES)
@pytest.mark.parametrize("shadow", ["", SHADOW_PACKAGE_ARN])
def test_the_deploy_helper_fills_every_parameter_with_a_value_the_stack_accepts(
    template, stage, shadow
):
    from {{ cookiecutter.package_name }}.deploy.stage import ConfigError, Stage

    if shadow and Stage.load(stage).endpoint_type == "serverless":
        # What the stack's Rules would refuse, the helper refuses first.
        with pytest.raises(ConfigError, match="takes no shadow variant"):
            Stage.load(stage).stack_parameters(PACKAGE_ARN, shadow_model_package_arn=shadow)
        return
    rendered = Stage.load(stage).stack_parameters(PACKAGE_ARN, shadow_model_package_arn=shadow)
    rendered.update(copies(PACKAGE_ARN, shadow))
    assert rules_refuse(template, rendered) == []
    assert set(rendered) == set(template["Parameters"])
    refused = {
        name: value
        for name, value in rendered.items()
        if not satisfies(template["Parameters"][name], value)
    }
    assert refused == {}
    assert (
        Stage.load(stage).endpoint_name
        == resolve(template, rendered)["Resources"]["Endpoint"]["Properties"]["EndpointName"]
    )


def test_the_deploy_helper_reads_the_deployed_package_back_from_the_outputs(template):
    from {{ cookiecutter.package_name }}.deploy import stacks

    outputs = resolve(template, parameters(template, ShadowModelPackageArn=SHADOW_PACKAGE_ARN))[
        "Outputs"
    ]
    described = {
        "Outputs": [
            {"OutputKey": key, "OutputValue": output["Value"]}
            for key, output in outputs.items()
            if isinstance(output["Value"], str)
        ]
    }
    assert stacks.current_package(described) == PACKAGE_ARN
{%- if cookiecutter.model_monitoring == "yes" %}


def test_realtime_endpoints_capture_into_the_serving_bucket_and_serverless_ones_cannot(template):
    """The monitor reads capture/ of the serving bucket; Serverless Inference refuses data
    capture, so a serverless configuration must not ask for it."""
    slug = config.PROJECT_SLUG
    realtime = the(
        resolve(template, parameters(template, CaptureSamplingPercentage=35)),
        "AWS::SageMaker::EndpointConfig",
    )
    capture = realtime["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["InitialSamplingPercentage"] == "35"
    (uri, names) = capture["DestinationS3Uri"]["Fn::Sub"]
    assert uri == "s3://${Bucket}/capture"
    assert names == {"Bucket": {"Fn::ImportValue": f"{slug}-deployment-ServingBucketName"}}
    assert capture["KmsKeyId"] == {"Fn::ImportValue": f"{slug}-deployment-ServingKeyArn"}
    assert {option["CaptureMode"] for option in capture["CaptureOptions"]} == {"Input", "Output"}
    serverless = the(
        resolve(template, parameters(template, EndpointType="serverless")),
        "AWS::SageMaker::EndpointConfig",
    )
    assert "DataCaptureConfig" not in serverless
{%- endif %}
