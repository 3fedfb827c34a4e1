"""{{ cookiecutter.project_name }}: the model, its SageMaker pipeline and its local twin."""
