"""The model of this project, its SageMaker pipeline and its local twin."""
