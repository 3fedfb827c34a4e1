"""The project's own model monitor: the same code in the scheduled job in AWS
(steps/monitor.py) and on a laptop (`make local-monitor`, `make local-drift`).

    reference.py  the reference the pipeline writes from the training split (steps/reference.py)
and, in a project with model monitoring:
    capture.py    SageMaker data-capture and ground-truth JSON Lines, read into rows
    checks.py     data quality (the contract's rules) and model quality (evaluate's metrics)
    drift.py      data drift per feature with Evidently
    report.py     violations.json and report.html
    cloudwatch.py the `Violations` metrics
    cli.py        the command line (`python -m <package>.monitor`: __main__.py)
Importing this package imports none of them: Evidently takes seconds to import.
"""
