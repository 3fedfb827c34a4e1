"""The data manifest: which data a model was trained on, by content.

Every input file's size and SHA-256, one hash of them all (the same files give the same hash
wherever they are), and the S3 version IDs where the bucket is versioned. Preprocess writes it
beside the splits; the model package (and the local registry) records it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Where preprocess writes it, under its output folder.
MANIFEST_DIR = "manifest"
MANIFEST_FILE = "data_manifest.json"


def file_sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def listing_hash(files: list[dict[str, Any]]) -> str:
    """One SHA-256 of the files' names and SHA-256s, in the order given (name order)."""
    listing = "".join(f"{entry['name']}\0{entry['sha256']}\n" for entry in files)
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()


def data_manifest(
    path: str | Path,
    input_data_url: str | None = None,
    s3_versions: Callable[[str], dict[str, str]] | None = None,
) -> dict[str, Any]:
    """What the data was, by content: each file's name, size and SHA-256, and one SHA-256 of the
    list (the same files give the same hash wherever they are). With input_data_url, where it
    came from, and with s3_versions (file name -> S3 version ID under that URL: preprocess lists
    them with boto3, which only its job needs) each file's version ID; a listing that fails (the
    role may not make it) is noted, not fatal, since the content hashes already identify the
    data."""
    # Imported here: the Spark job's driver builds its manifest with `listing_hash` alone.
    from .csv_reader import data_files

    root = Path(path) if Path(path).is_dir() else Path(path).parent
    files = [
        {
            "name": file.relative_to(root).as_posix(),
            "bytes": file.stat().st_size,
            "sha256": file_sha256(file),
        }
        for file in data_files(path)
    ]
    manifest: dict[str, Any] = {"sha256": listing_hash(files), "files": files}
    if input_data_url:
        manifest["source"] = input_data_url
    if input_data_url and s3_versions is not None:
        try:
            versions = s3_versions(input_data_url)
        except Exception as error:  # botocore's errors; boto3 may be missing outside SageMaker
            manifest["s3_versions_error"] = f"{type(error).__name__}: {error}"
        else:
            for entry in files:
                if entry["name"] in versions:
                    entry["s3_version_id"] = versions[entry["name"]]
    return manifest
