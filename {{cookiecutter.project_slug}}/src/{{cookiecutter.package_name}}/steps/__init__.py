"""The pipeline's step scripts: each runs in a SageMaker job (with the package modules it imports,
jobcode.py) and locally through local.py. Nothing else lives here."""
