"""A request as the server takes it: its media type (Content-Type, and Accept for the answer), its
limits, and its refusal (RequestError, an HTTP status and a one-line message)."""

from __future__ import annotations

import os
from collections.abc import Mapping

CSV = "text/csv"
JSON = "application/json"
CONTENT_TYPES = (CSV, JSON)
# Limits of one request, here only. SageMaker real-time endpoints take at most 6 MB a request;
# the row cap bounds how long one request holds a worker. The environment variable MAX_ROWS_ENV
# overrides the cap (default MAX_ROWS): batch transform sets it to the most rows its payload can
# hold (infra/batch-transform.yaml), since a MaxPayloadInMB payload of short rows is more than
# MAX_ROWS rows and no client waits behind a batch request.
MAX_BODY_BYTES = 6 * 1024 * 1024
MAX_ROWS = 10_000
MAX_ROWS_ENV = "SERVE_MAX_ROWS"
# A refusal names at most this many of a request's unknown names (and of the features it lacks),
# each cut to NAME_SHOWN characters: its size is the server's, not the request's.
NAMES_SHOWN = 3
NAME_SHOWN = 60


class RequestError(ValueError):
    """A request the server refuses: its HTTP status and a one-line message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def brief(name: str) -> str:
    """A name from a request as a refusal quotes it, cut to NAME_SHOWN characters."""
    return name if len(name) <= NAME_SHOWN else f"{name[: NAME_SHOWN - 3]}..."


def max_rows_setting(environ: Mapping[str, str] = os.environ) -> int:
    """The row cap of a request: $SERVE_MAX_ROWS when set, else MAX_ROWS.

    Raises ValueError, in one line, on a value that is not a positive whole number.
    """
    text = environ.get(MAX_ROWS_ENV, "").strip()
    if not text:
        return MAX_ROWS
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise ValueError(f"{MAX_ROWS_ENV}={text!r}: expected a positive whole number of rows")
    return int(text)


def media_type(content_type: str | None) -> str:
    """The request's media type, without parameters such as charset; RequestError(415) unless
    CSV or JSON."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in CONTENT_TYPES:
        given = f"'{brief(media)}'" if media else "no Content-Type"
        raise RequestError(415, f"{given} is not supported: send {CSV} or {JSON}")
    return media


def negotiate(accept: str | None, default: str) -> str:
    """The response's media type: of the types the server writes, the one the Accept header gives
    the highest quality (q, 1 unless given; q=0 refuses a type), each type taking the q of the
    most specific range that names it; on a tie the type named first, then the request's. No
    header, or a blank one: the request's type. RequestError(406) when it accepts neither."""
    if not accept or not accept.strip():
        return default
    if accept in CONTENT_TYPES:  # the usual header, one type: nothing to weigh
        return accept
    # type -> (specificity of the range that names it, q, the range's position)
    best: dict[str, tuple[int, float, int]] = {}
    for position, part in enumerate(accept.split(",")):
        media, *parameters = (item.strip().lower() for item in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        for candidate in CONTENT_TYPES:
            specificity = _specificity(media, candidate)
            if specificity > best.get(candidate, (-1, 0.0, 0))[0]:
                best[candidate] = (specificity, quality, position)
    # The highest q; on a tie the type named first, then the request's.
    weighed = {t: (q, -position, t == default) for t, (_, q, position) in best.items()}
    choice = max(weighed, key=weighed.__getitem__, default=None)
    if choice is not None and weighed[choice][0] > 0:
        return choice
    shown = brief(accept.strip())
    raise RequestError(406, f"cannot answer in '{shown}': accept {CSV} or {JSON}")


def _specificity(media_range: str, media: str) -> int:
    """How closely a media range of an Accept header names `media`: 2 exactly, 1 as type/*, 0 as
    */*, -1 not at all."""
    if media_range == media:
        return 2
    if media_range == f"{media.split('/')[0]}/*":
        return 1
    return 0 if media_range == "*/*" else -1
