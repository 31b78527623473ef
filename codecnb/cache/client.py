"""The boto3 S3 client, and turning S3 errors into one clear line."""
from __future__ import annotations

import functools
import os

from codecnb import config
from codecnb.errors import CacheError

__all__ = ["CacheError", "explain", "s3_client"]


@functools.lru_cache(maxsize=8)
def _client(endpoint_url: str | None, region: str | None, _access_key: str | None):
    import boto3
    from botocore.config import Config
    cfg = Config(retries={"max_attempts": 8, "mode": "standard"}, connect_timeout=5,
                 read_timeout=30, max_pool_connections=32)
    session = boto3.session.Session()
    return session.client("s3", endpoint_url=endpoint_url or None,
                          region_name=region or session.region_name or "us-east-1", config=cfg)


def s3_client():
    """An S3 client with the default credential chain, standard retries with backoff, and
    the endpoint from ``--endpoint-url`` / ``CODECNB_S3_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL``
    (boto3 reads the latter itself)."""
    env = os.environ
    endpoint = (config.resolve("s3_endpoint_url") or env.get("AWS_ENDPOINT_URL_S3")
                or env.get("AWS_ENDPOINT_URL"))
    return _client(endpoint, env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
                   env.get("AWS_ACCESS_KEY_ID"))


UNREACHABLE = "unreachable"
TRANSIENT = "transient"


def explain(exc: Exception, uri: str) -> tuple[str, str]:
    """(kind, one-line message) for an exception raised by boto3 while talking to S3.

    kind is ``unreachable`` for network failures (a cached copy may then be used),
    ``transient`` for errors worth retrying (5xx, throttling, a cut response), else
    ``missing``, ``denied`` or ``error``.
    """
    from botocore.exceptions import (ClientError, ConnectionClosedError, ConnectTimeoutError,
                                     EndpointConnectionError, IncompleteReadError,
                                     NoCredentialsError, ReadTimeoutError,
                                     ResponseStreamingError)
    from s3transfer.exceptions import RetriesExceededError
    if isinstance(exc, (IncompleteReadError, ResponseStreamingError, RetriesExceededError)):
        return TRANSIENT, f"source {uri!r}: the download was interrupted ({exc})"
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError,
                        ConnectionClosedError)):
        return UNREACHABLE, f"source {uri!r}: S3 endpoint unreachable ({exc})"
    if isinstance(exc, NoCredentialsError):
        return "denied", f"source {uri!r}: no AWS credentials found (set AWS_ACCESS_KEY_ID and " \
                         f"AWS_SECRET_ACCESS_KEY, or a profile)"
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("NoSuchBucket",):
            return "missing", f"source {uri!r}: bucket does not exist"
        if code in ("NoSuchKey", "404", "NotFound", "NoSuchVersion"):
            return "missing", f"source {uri!r}: no such object (bucket exists? key spelled right?)"
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403",
                    "InvalidToken", "ExpiredToken") or status == 403:
            return "denied", f"source {uri!r}: access denied ({code or status}): check the " \
                             f"credentials and the bucket policy"
        kind = TRANSIENT if (status or 0) >= 500 or code in ("SlowDown", "Throttling") else "error"
        return kind, f"source {uri!r}: S3 error {code or status}: {err.get('Message', exc)}"
    return "error", f"source {uri!r}: S3 request failed: {exc}"
