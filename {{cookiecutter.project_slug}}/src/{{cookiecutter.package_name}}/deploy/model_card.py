"""The model card follows the package's approval: when the deploy helper ships an Approved package
(CI starts it on the approval event), the card the pipeline registered with it becomes Approved,
in one UpdateModelPackage on the package (pipeline/model_card.py: why the package's own card)."""

from __future__ import annotations

from typing import Any

APPROVED = "Approved"


def approve(sagemaker: Any, model_package_arn: str) -> str | None:
    """Make the card of an Approved package Approved; the card's status afterwards, None when
    the package has no card (registered before the project had one). A package not (or no
    longer) Approved keeps its card as it is: the card never runs ahead of the package."""
    package = sagemaker.describe_model_package(ModelPackageName=model_package_arn)
    card = package.get("ModelCard")
    if not card:
        return None
    if package["ModelApprovalStatus"] != APPROVED or card.get("ModelCardStatus") == APPROVED:
        return card.get("ModelCardStatus")
    # The content as registered, sent back with the new status: the card is replaced whole.
    sagemaker.update_model_package(
        ModelPackageArn=model_package_arn,
        ModelCard={"ModelCardContent": card["ModelCardContent"], "ModelCardStatus": APPROVED},
    )
    return APPROVED
