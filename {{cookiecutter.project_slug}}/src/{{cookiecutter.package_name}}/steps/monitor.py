"""Monitor: captured traffic against the reference, in the scheduled Processing job.

    python3 {{ cookiecutter.package_name }}/steps/monitor.py --reference DIR --capture DIR
        [--ground-truth DIR] --output DIR [--quality-floor X]
        [--metrics-namespace NAMESPACE --endpoint-name NAME]

The whole monitor is the package's monitor/ (the same code as `make local-monitor`); see
monitor/cli.py for the outputs and exit codes.
"""

from __future__ import annotations

import sys

from {{ cookiecutter.package_name }}.monitor.cli import main

if __name__ == "__main__":
    sys.exit(main())
