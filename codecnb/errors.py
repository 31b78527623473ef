"""The one exception hierarchy of codecnb.

Every error a user can cause or fix derives from :class:`CodecnbError`. Its message is one
line that names the input and says what is wrong; the CLI prints it without a traceback and
exits with :attr:`CodecnbError.exit_code`.
"""
from __future__ import annotations

from pathlib import Path


class CodecnbError(Exception):
    """Base class: a problem the user can act on (bad input, missing tool, refused setting)."""

    exit_code = 2


class SourceError(CodecnbError):
    """A source URI cannot be opened or read as video (missing, not a video, no frames...)."""


class CacheError(SourceError):
    """An S3 source could not be fetched (missing, denied, unreachable, corrupt)."""


class MetricError(CodecnbError):
    """Inputs to a metric are inconsistent (shapes differ, too few RD points, no overlap)."""


class CodecError(CodecnbError):
    """A codec failed or broke its contract while encoding or decoding."""


class ToolError(CodecnbError):
    """An external tool (ffmpeg) is missing or failed."""


class ConfigError(CodecnbError):
    """A setting (CLI flag or environment variable) has an invalid value."""


class SuiteError(CodecnbError):
    """A clip suite cannot be loaded (missing file, bad TOML, invalid clip, unknown name)."""


class SandboxError(CodecnbError):
    """The sandbox itself could not be built (not a failure of the candidate)."""

    exit_code = 3


class EditError(CodecnbError):
    """A model's SEARCH/REPLACE edit does not apply to its parent program, or its tunable
    block is malformed (sent back to the model for repair)."""


class NotebookFailed(CodecnbError):
    """A cell of an executed notebook raised; the executed notebook shows where."""

    def __init__(self, message: str, output: Path):
        super().__init__(message)
        self.output = output


class GeneratorAuthError(CodecnbError):
    """The LLM API refused the key: the campaign must stop."""


class GeneratorUnavailable(CodecnbError):
    """The LLM API could not be reached or kept failing after its retries."""


# Signals, not user errors: they end a loop and are caught where it runs.

class GeneratorExhausted(Exception):
    """The generator has nothing more to propose (a replay list ran out)."""


class BudgetExhausted(Exception):
    """The next LLM call could pass the USD or token budget: generation stops here."""


class CandidateFailed(Exception):
    """Raised inside the evaluator to stop evaluating a candidate; carries its
    :class:`~codecnb.sandbox.failures.Failure` (the candidate's fault, never the user's)."""

    def __init__(self, failure):
        super().__init__(failure.message)
        self.failure = failure
