"""The project's container images (``docker/*.Dockerfile``): one naming scheme for the
emulator image (testcontainers) and the suite image (``certify --in-cluster``)."""

from __future__ import annotations

from importlib import metadata

IMAGE_REPOSITORY = "ghcr.io/kfp-isolation"
EMULATOR = "emulator"
SUITE = "suite"


def package_version() -> str:
    """The installed kfp-isolation version: the tag its images are built with."""
    try:
        return metadata.version("kfp-isolation")
    except metadata.PackageNotFoundError:  # a checkout that is not installed
        return "latest"


def image(name: str, version: str | None = None) -> str:
    """``ghcr.io/kfp-isolation/<name>:<version>`` (default: this package's version)."""
    return f"{IMAGE_REPOSITORY}/{name}:{version or package_version()}"
