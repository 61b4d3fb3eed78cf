"""Size of the functions' code asset, built the way ``cdk synth`` builds it."""

from __future__ import annotations

import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from tests.support.harness import ROOT

ZIP_LEVEL = 9  # the CDK's asset zips: deflate, best compression


def zipped_size(directory: Path, *, only: str | None = None) -> int:
    """Bytes of a deflate zip of ``directory`` (or of its subfolder ``only``)."""
    root = directory / only if only else directory
    with tempfile.TemporaryDirectory() as temp:
        archive = Path(temp) / "asset.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL) as zf:
            for path in sorted(root.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    zf.write(path, path.relative_to(directory))
        return archive.stat().st_size


def unzipped_size(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


def _bundle(output: Path) -> str:
    """infra/bundling.py's own bundling function, as the stack calls it."""
    sys.path.insert(0, str(ROOT))
    from infra import names
    from infra.bundling import bundle

    bundle(output, names.PYTHON_VERSION)
    return f"infra.bundling.bundle(dir, python_version={names.PYTHON_VERSION!r})"


def measure() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="optin-asset-") as temp:
        output = Path(temp) / "asset"
        output.mkdir()
        how = _bundle(output)
        total = zipped_size(output)
        parts = {
            entry.name: zipped_size(output, only=entry.name)
            for entry in sorted(output.iterdir())
            if entry.is_dir() and not entry.name.endswith(".dist-info")
        }
        # What pruning saved: the pruned folders of the same phonenumbers, from a plain
        # install (the venv's copy is the same pinned version).
        import phonenumbers

        installed = Path(phonenumbers.__file__).parent
        pruned = {
            name: zipped_size(installed.parent, only=f"phonenumbers/{name}")
            for name in ("geodata", "carrierdata")
            if (installed / name).is_dir()
        }
        # phonenumberslite is phonenumbers without geodata, carrierdata and tzdata; the
        # asset already drops the first two and needs tzdata (offline time zones).
        tzdata = zipped_size(output, only="phonenumbers/tzdata")
        files = sum(1 for path in output.rglob("*") if path.is_file())
        return {
            "method": f"{how}, then a deflate zip (level {ZIP_LEVEL}) of the folder",
            "functions_sharing_it": ["registration", "inbound"],
            "zipped_bytes": total,
            "unzipped_bytes": unzipped_size(output),
            "files": files,
            "zipped_bytes_by_top_level": parts,
            "pruned_phonenumbers_data_zipped_bytes": pruned,
            "phonenumbers_tzdata_zipped_bytes": tzdata,
            "excluded": "boto3 (in the Lambda runtime) and Powertools (AWS-managed layer)",
        }


if __name__ == "__main__":
    import json

    print(json.dumps(measure(), indent=1))
