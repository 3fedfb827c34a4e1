"""`python -m {{ cookiecutter.package_name }}.monitor`: the monitor on a laptop, with the quality
gate's floor (config.QUALITY_GATE) as the model-quality floor unless --quality-floor is given."""

from __future__ import annotations

import sys

from .. import config
from .cli import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    if not any(arg.startswith("--quality-floor") for arg in argv):
        argv += ["--quality-floor", str(config.QUALITY_GATE.threshold)]
    sys.exit(main(argv))
