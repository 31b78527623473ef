"""``s3://bucket/key`` URIs, with an optional ``versionId``."""
from __future__ import annotations

from dataclasses import dataclass

from codecnb.errors import SourceError


@dataclass(frozen=True)
class S3Object:
    """An S3 object, optionally pinned to a version."""

    bucket: str
    key: str
    version_id: str | None = None

    @property
    def uri(self) -> str:
        v = f"?versionId={self.version_id}" if self.version_id else ""
        return f"s3://{self.bucket}/{self.key}{v}"

    @property
    def name(self) -> str:
        """The key's last component (kept as the cached file's name)."""
        return self.key.rsplit("/", 1)[-1] or "object"


def parse_s3(target: str, options: dict[str, str], raw: str) -> S3Object:
    """Build an :class:`S3Object` from the parts of a parsed ``s3://`` source URI."""
    bucket, _, key = target.partition("/")
    if not bucket or not key:
        raise SourceError(f"source {raw!r}: an S3 URI looks like s3://bucket/path/to/key")
    return S3Object(bucket, key, options.get("versionId") or options.get("version_id"))
