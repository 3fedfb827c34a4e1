"""The monitor's CloudWatch metrics: `Violations` (Count) per endpoint and check, every check on
every run (0 when it found nothing), so that an alarm can tell "no violation" from "no run"."""

from __future__ import annotations

from collections.abc import Mapping

METRIC = "Violations"


def metric_data(endpoint: str, counts: Mapping[str, int]) -> list[dict]:
    return [
        {
            "MetricName": METRIC,
            "Dimensions": [
                {"Name": "Endpoint", "Value": endpoint},
                {"Name": "Check", "Value": check},
            ],
            "Value": float(count),
            "Unit": "Count",
        }
        for check, count in counts.items()
    ]


def publish(namespace: str, endpoint: str, counts: Mapping[str, int]) -> None:
    """One PutMetricData call with a datum per check."""
    import boto3  # the job's role's credentials; nothing else in the monitor talks to AWS

    boto3.client("cloudwatch").put_metric_data(
        Namespace=namespace, MetricData=metric_data(endpoint, counts)
    )
