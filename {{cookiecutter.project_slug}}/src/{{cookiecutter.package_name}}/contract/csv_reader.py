"""Reading the data: CSV files checked for what they are before pandas reads them.

A file it cannot read as UTF-8, comma-separated CSV with one value a column on every row is
refused first, with one line naming the file, the problem (the encoding, the delimiter found, an
unclosed quote, a ragged row...) and the line: lines are the file's own, the header being line 1.
Every value is read as text, so that the type rule (frames.py) sees exactly what the file holds.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from .rules import MISSING_TEXT, DataValidationError

# How much of a file's start is read to tell text from binary data.
SNIFF_BYTES = 8192
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Files that are often uploaded in place of a CSV, by their first bytes.
BINARY_SIGNATURES = {
    b"\x1f\x8b": "a gzip archive",
    b"PK\x03\x04": "a zip archive (an Excel .xlsx workbook is one)",
    b"\xd0\xcf\x11\xe0": "an old Excel (.xls) workbook",
    b"PAR1": "a Parquet file",
    b"%PDF": "a PDF document",
    b"BZh": "a bzip2 archive",
    b"\xfd7zXZ\x00": "an xz archive",
}
EXPORT_AS_CSV = "export the data as comma-separated CSV text (UTF-8)"
TEXT_CONTROL_BYTES = frozenset(b"\t\n\r\x0c")
LINE_BREAK = re.compile(rb"\r\n|\r|\n")
# Delimiters that exports use instead of the comma, as messages name them.
OTHER_DELIMITERS = {";": "semicolons (';')", "\t": "tabs", "|": "pipes ('|')"}


def _not_text(file: Path) -> str | None:
    """Why the file is not CSV text, judged from its first bytes; None when it looks like text."""
    with file.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(UTF16_BOMS):
        return f"{file.name} is encoded as UTF-16, not UTF-8: save it as UTF-8 CSV"
    for signature, what in BINARY_SIGNATURES.items():
        if head.startswith(signature):
            return f"{file.name} is {what}, not a CSV text file: {EXPORT_AS_CSV}"
    if b"\x00" in head:
        # UTF-16 without a byte-order mark puts a NUL beside every ASCII character.
        if head[1::2].count(0) > len(head) // 4 or head[::2].count(0) > len(head) // 4:
            return f"{file.name} looks encoded as UTF-16, not UTF-8: save it as UTF-8 CSV"
        offset = head.index(b"\x00")
        return (
            f"{file.name} holds binary data, not CSV text (a NUL byte at byte {offset}): "
            f"{EXPORT_AS_CSV}"
        )
    control = sum(byte < 32 and byte not in TEXT_CONTROL_BYTES for byte in head)
    if control > len(head) * 0.05:
        return (
            f"{file.name} holds binary data, not CSV text ({control} control bytes in its "
            f"first {len(head)}): {EXPORT_AS_CSV}"
        )
    return None


def _not_utf8(file: Path) -> str:
    """Where the first byte that is not UTF-8 is, and what it would be in the likely encoding."""
    data = file.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = len(LINE_BREAK.findall(data, 0, error.start)) + 1
        byte = data[error.start]
        try:
            # Windows-1252 (a superset of Latin-1's letters) is what spreadsheets write by default.
            shown = data[error.start : error.start + 1].decode("cp1252")
            data.decode("cp1252")
            guess = f", which is {shown!r} in Windows-1252 / Latin-1, the likely encoding"
        except UnicodeDecodeError:
            guess = ""
        return (
            f"{file.name} is not UTF-8 encoded: line {line} has the byte 0x{byte:02X}{guess}; "
            "save the file as UTF-8 (in Excel: 'CSV UTF-8')"
        )
    return f"{file.name} is not UTF-8 encoded: save the file as UTF-8"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _header_problem(name: str, header: list[str], line: int) -> str | None:
    """What is wrong with a file's header row (its first line that is not blank), if anything."""
    if len(header) == 1:
        found = {d: header[0].count(d) for d in OTHER_DELIMITERS if d in header[0]}
        if found:
            delimiter = max(found, key=found.__getitem__)
            return (
                f"{name} is separated by {OTHER_DELIMITERS[delimiter]}, not commas "
                f"({found[delimiter] + 1} names in the header, split by {delimiter!r}): "
                "save it as comma-separated CSV"
            )
        return (
            f"{name} line {line} has a single column name {header[0]!r}: "
            "expected the header's column names separated by commas"
        )
    unnamed = [index for index, column in enumerate(header, 1) if not column.strip()]
    if unnamed == [len(header)]:
        return (
            f"{name} line {line} ends with a comma, so its last column has no name: "
            "remove the trailing comma from the end of every line"
        )
    if unnamed and unnamed[0] == 1:
        return (
            f"{name} line {line}: the first column has no name, as when pandas writes its index "
            "(to_csv without index=False): remove that column"
        )
    if unnamed:
        return (
            f"{name} line {line}: column {unnamed[0]} has no name: "
            "name it in the header or remove it"
        )
    seen: dict[str, int] = {}
    for index, column in enumerate(header, 1):
        if column in seen:
            return (
                f"{name} line {line} names column {column!r} twice (columns {seen[column]} and "
                f"{index}): every column needs its own name"
            )
        seen[column] = index
    if all(_is_number(column) for column in header):
        return (
            f"{name} line {line} holds numbers, not column names: the file has no header row; "
            "add one with the schema's column names"
        )
    return None


def _ragged_problem(name: str, line: int, row: list[str], width: int, count: int, rows: int) -> str:
    """One line for the rows whose number of values differs from the header's."""
    values = f"{len(row)} value{'s' if len(row) != 1 else ''}"
    where = (
        f"{name} line {line} has {values} but the header has {width} columns "
        f"({count} of {rows} data rows have another number of values than the header)"
    )
    if len(row) > width and not any(value.strip() for value in row[width:]):
        return f"{where}: remove the trailing comma from the end of each data row"
    if len(row) > width:
        return f"{where}: quote a value that holds a comma, or remove the extra values"
    found = [d for d in OTHER_DELIMITERS if d in "".join(row)]
    if found:
        return f"{where}: the row is separated by {OTHER_DELIMITERS[found[0]]}; use commas"
    return f"{where}: add the missing values (an empty value is two commas in a row)"


def _check_structure(file: Path) -> int:
    """Check that a file is CSV with one header and one value a column on every row.

    Returns the number of data rows. Streams the file: nothing but counts is kept in memory.
    Lines are the file's own line numbers, as an editor shows them (the header is line 1).
    """
    header: list[str] | None = None
    rows = ragged = 0
    first_ragged: tuple[int, list[str]] | None = None
    start = 1
    # utf-8-sig: a UTF-8 byte-order mark (as Excel writes) is fine and not part of the header.
    with file.open(encoding="utf-8-sig", newline="") as handle:
        last = [""]  # the line the reader read last: a record's own text when it is one line

        def lines() -> Iterator[str]:
            for text in handle:
                last[0] = text
                yield text

        reader = csv.reader(lines(), strict=True, skipinitialspace=True)
        try:
            for row in reader:
                line, start = start, reader.line_num + 1
                if len(row) <= 1 and not last[0].strip():
                    continue  # a blank line, which pandas skips too (unlike a line "")
                if header is None:
                    problem = _header_problem(file.name, row, line)
                    if problem:
                        raise DataValidationError(problem)
                    header = row
                    continue
                rows += 1
                if len(row) != len(header):
                    ragged += 1
                    first_ragged = first_ragged or (line, row)
        except csv.Error as error:
            raise DataValidationError(_csv_problem(file.name, start, str(error))) from None
    if header is None:
        raise DataValidationError(f"{file.name} is empty: expected a header row and data rows")
    if first_ragged:
        line, row = first_ragged
        problem = _ragged_problem(file.name, line, row, len(header), ragged, rows)
        raise DataValidationError(problem)
    return rows


def _csv_problem(name: str, line: int, error: str) -> str:
    """A CSV syntax error of the record that starts at line, as one line a user can act on."""
    if "unexpected end of data" in error or "field larger than field limit" in error:
        return (
            f"{name} line {line} opens a quote that is never closed, so the rest of the file "
            'became one value: close the quote (a quote inside a quoted value is written "")'
        )
    if "expected after" in error:
        return (
            f"{name} line {line} has text right after a closing quote: quote the whole value, "
            'and write a quote inside it as ""'
        )
    return f"{name} line {line} is not valid CSV ({error}): fix that line"


def _read_file(file: Path) -> pd.DataFrame:
    """One CSV file, checked for encoding and structure first, with every value as text."""
    try:
        problem = _not_text(file)
        if problem:
            raise DataValidationError(problem)
        try:
            rows = _check_structure(file)
        except UnicodeDecodeError:
            raise DataValidationError(_not_utf8(file)) from None
        # Text, not inferred types: the type rule then sees exactly what the file holds.
        # index_col=False: never take a column as the index, whatever the row lengths.
        frame = pd.read_csv(
            file,
            dtype=str,
            skipinitialspace=True,
            encoding="utf-8-sig",
            index_col=False,
            na_values=MISSING_TEXT,
            keep_default_na=False,
        )
    except DataValidationError:
        raise
    except OSError as error:
        raise DataValidationError(f"cannot read {file}: {error.strerror or error}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as error:
        # The checks above should leave pandas nothing to refuse; one line all the same.
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataValidationError(f"{file.name} cannot be read as CSV: {first}") from None
    if len(frame) != rows:
        raise DataValidationError(
            f"{file.name}: pandas read {len(frame)} data rows where the CSV check counted {rows}; "
            "check the file's quoting and line endings"
        )
    return frame


def data_files(path: str | Path) -> list[Path]:
    """The CSV file, or every *.csv in a folder in name order: the files read_data reads."""
    path = Path(path)
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    if not files or not files[0].exists():
        raise DataValidationError(f"no CSV files found at {path}")
    for file in files:
        if not file.is_file():
            # A named pipe or a device: reading it could wait for a writer for ever.
            raise DataValidationError(f"{file} is not a regular file: save the data to a CSV file")
    return files


def read_data(path: str | Path) -> pd.DataFrame:
    """Read a CSV file, or every *.csv in a folder, keeping each value's raw text for the checks.

    Refuses, with one line naming the file, the line and what to do: a file that is empty,
    binary, not UTF-8 (a UTF-8 byte-order mark is fine), separated by another delimiter than the
    comma, with an unclosed quote, a header without names, twice the same name or no header, or
    rows whose number of values differs from the header's (a trailing comma included).
    """
    files = data_files(path)
    frames = []
    for file in files:
        frame = _read_file(file)
        if frames and list(frame.columns) != list(frames[0].columns):
            raise DataValidationError(
                f"{file.name} has other columns than {files[0].name}: every file needs one header"
            )
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    if data.empty:
        names = ", ".join(file.name for file in files)
        raise DataValidationError(f"{names}: a header but no data rows; add the data rows")
    return data
