"""Local twins: what `make local-run` computes on a laptop where the pipeline in AWS runs a
managed service's own container (Clarify). They write files in the
structure of the service's, with values of their own code; nothing here runs in a SageMaker job.
"""
