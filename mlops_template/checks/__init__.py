"""The checks the answer rules (`mlops_template.rules.RULES`) are made of, one module a family:
text (every answer is data; free text), names (the slug and the package), aws (regions and the AWS
names built from the slug), accounts, author (the e-mail), features (one feature needs another),
values (numbers) and schedule (EventBridge expressions).

A check takes the answer and all answers, and returns what is wrong, or None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

Check = Callable[[object, Mapping[str, object]], str | None]
