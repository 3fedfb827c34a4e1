"""The champion: the model package group's latest Approved model package, in the SageMaker model
registry. One lookup for everything that needs it: evaluate scores it in the pipeline's job,
deploy deploys it.

Latest means the newest by creation time: approving an older package later does not move it
ahead of newer ones. Standard library only: the caller brings its boto3 client (the evaluate
job's, the deployer's).
"""

from __future__ import annotations

from typing import Any

APPROVED = "Approved"


def latest_approved(sagemaker: Any, group: str) -> str | None:
    """The ARN of the group's newest Approved model package; None when it has none, or when the
    group does not exist yet (the pipeline's first registration creates it).

    Pages are read until one holds a package: a listing filtered by status may return an empty
    page with a token to the next one.
    """
    request = {
        "ModelPackageGroupName": group,
        "ModelApprovalStatus": APPROVED,
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": 1,
    }
    try:
        while True:
            page = sagemaker.list_model_packages(**request)
            if page["ModelPackageSummaryList"]:
                return page["ModelPackageSummaryList"][0]["ModelPackageArn"]
            if not page.get("NextToken"):
                return None
            request["NextToken"] = page["NextToken"]
    except sagemaker.exceptions.ClientError as error:
        details = error.response.get("Error", {})
        missing = "does not exist" in details.get("Message", "")
        if details.get("Code") == "ValidationException" and missing:
            return None
        raise
