"""The model of this project, its SageMaker pipeline and its local twin."""

import sys


def _interrupted(kind, value, traceback):  # type: ignore[no-untyped-def]
    """Ctrl-C before a command's main() catches it (while its libraries load): one line, not
    Python's traceback. Python still ends the process as interrupted (SIGINT, exit status 130)."""
    if issubclass(kind, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
    else:
        sys.__excepthook__(kind, value, traceback)


# Only for `python -m <package>.<command>` (the Makefile's commands): runpy imports this package
# with sys.argv[0] == "-m", before the command's module. An importing program keeps its own hook.
if sys.argv[:1] == ["-m"]:
    sys.excepthook = _interrupted
