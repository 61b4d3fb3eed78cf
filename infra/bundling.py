"""The functions' code asset, bundled on this machine without Docker.

One asset serves both functions: the ``optin`` package plus its runtime requirements
(``lambdas/requirements.txt``), installed by pip for the Lambda platform (arm64, the
runtime's Python). Powertools comes from its AWS-managed layer and boto3 from the
runtime, so neither is bundled; nor is anything from the CDK or the dev tools, because
pip installs only what ``lambdas/requirements.txt`` names.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra import names

# Bump when the steps below change: the asset hash includes it, so a cached bundle is rebuilt.
RECIPE_VERSION = "1"
# phonenumbers data the functions never load (we use its core and its time zones only).
PRUNED_DIRECTORIES = ("phonenumbers/geodata", "phonenumbers/carrierdata")
_SKIPPED_NAMES = {"__pycache__", "tests", "conftest.py"}
_SKIPPED_SUFFIXES = {".pyc", ".pyi"}
# Proof that what we kept still works, run against the bundle alone.
_IMPORT_CHECK = """
import sys
sys.path.insert(0, sys.argv[1])
import phonenumbers, phonenumbers.timezone
assert phonenumbers.__file__.startswith(sys.argv[1]), phonenumbers.__file__
number = phonenumbers.parse("+12065550142")
assert phonenumbers.timezone.time_zones_for_number(number), "no time zone data"
"""


def _package_files() -> Iterator[Path]:
    root = names.LAMBDAS_DIR / names.FUNCTION_PACKAGE
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(names.LAMBDAS_DIR)
        if _SKIPPED_NAMES.intersection(relative.parts) or path.suffix in _SKIPPED_SUFFIXES:
            continue
        if relative.name.startswith("test_"):
            continue
        if path.is_file():
            yield path


def source_hash(python_version: str) -> str:
    """Hash of everything that goes into the bundle: the cache key of the asset."""
    digest = hashlib.sha256(f"{RECIPE_VERSION}|{python_version}".encode())
    for path in (names.FUNCTION_REQUIREMENTS, *_package_files()):
        digest.update(str(path.relative_to(names.LAMBDAS_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def bundle(output_dir: Path, python_version: str) -> None:
    """Install requirements for Lambda arm64, copy the package, prune, and check imports."""
    _run(
        sys.executable, "-m", "pip", "install",
        "--requirement", str(names.FUNCTION_REQUIREMENTS),
        "--target", str(output_dir),
        "--platform", "manylinux2014_aarch64",
        "--implementation", "cp",
        "--python-version", python_version,
        "--only-binary=:all:",
        "--no-compile",
        "--disable-pip-version-check",
        "--quiet",
    )  # fmt: skip
    for path in _package_files():
        target = output_dir / path.relative_to(names.LAMBDAS_DIR)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    for directory in PRUNED_DIRECTORIES:
        shutil.rmtree(output_dir / directory, ignore_errors=True)
    for path in sorted(output_dir.rglob("*"), reverse=True):
        if path.is_dir() and path.name == "__pycache__":
            shutil.rmtree(path)
        elif path.is_file() and path.suffix in _SKIPPED_SUFFIXES:
            path.unlink()
    _run(sys.executable, "-I", "-B", "-c", _IMPORT_CHECK, str(output_dir))


def _run(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(
            f"bundling the functions failed: {' '.join(command[:4])} ...\n"
            f"{result.stdout}\n{result.stderr}"
        )


@jsii.implements(ILocalBundling)
class LocalPipBundling:
    """CDK's local bundling hook: bundle here, so Docker is never needed."""

    def __init__(self, python_version: str) -> None:
        self._python_version = python_version

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        bundle(Path(output_dir), self._python_version)
        return True


def function_code(runtime: lambda_.Runtime, python_version: str) -> lambda_.Code:
    """The one code asset both functions run; rebuilt only when its inputs change."""
    return lambda_.Code.from_asset(
        str(names.LAMBDAS_DIR),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=source_hash(python_version),
        bundling=BundlingOptions(
            image=runtime.bundling_image,
            local=LocalPipBundling(python_version),
        ),
    )
