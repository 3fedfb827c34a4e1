"""Pipeline step scripts: each one runs alone in a SageMaker container and locally via local.py."""
