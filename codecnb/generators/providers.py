"""Model providers and the environment variables each one owns.

Every provider a generator can call is named here with the environment variables its SDK
reads for credentials and endpoints. This module imports no SDK, so the campaign executor can
read :data:`SECRETS` (every provider's variables) and keep all of them out of Dask workers and
the notebooks they run, whichever provider a campaign uses: a new provider's key is scrubbed
as soon as it is registered here.

References
----------
anthropic SDK: ``ANTHROPIC_API_KEY``, ``ANTHROPIC_AUTH_TOKEN``, ``ANTHROPIC_BASE_URL``.
openai SDK: ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``OPENAI_ORG_ID``, ``OPENAI_PROJECT_ID``
(a base URL may carry credentials, e.g. a proxy's user:password, so it is scrubbed too).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Provider:
    """A model provider.

    Parameters
    ----------
    name : str
        The provider's prefix in ``--model provider:id``.
    key_env : str
        The variable holding the API key (read from the environment only, never a flag).
    secret_envs : tuple of str
        Every variable of this provider that must not reach a worker (``key_env`` included).
    """
    name: str
    key_env: str
    secret_envs: tuple[str, ...]


PROVIDERS: dict[str, Provider] = {
    "anthropic": Provider("anthropic", "ANTHROPIC_API_KEY",
                          ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL")),
    "openai": Provider("openai", "OPENAI_API_KEY",
                       ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID",
                        "OPENAI_PROJECT_ID")),
}

#: Every registered provider's variables: what the executor keeps from workers.
SECRETS: tuple[str, ...] = tuple(dict.fromkeys(
    env for provider in PROVIDERS.values() for env in provider.secret_envs))
