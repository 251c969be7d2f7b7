"""Where the cloud engines find their AWS settings: the standard AWS mechanisms, resolved once.

- **region**: the engine's option, else ``AWS_REGION``, else ``AWS_DEFAULT_REGION`` or the
  profile's ``region``.
- **endpoint**: the engine's option, else ``AWS_ENDPOINT_URL_<SERVICE>``, ``AWS_ENDPOINT_URL``,
  the profile's ``services`` section, the profile's ``endpoint_url`` (the order botocore uses;
  ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`` turns them off). ``<SERVICE>`` is the service id
  in upper snake case: ``TRANSCRIBE_STREAMING``, ``TRANSLATE``, ``POLLY``.
- **CA bundle**: the engine's option, else ``AWS_CA_BUNDLE`` or the profile's ``ca_bundle``.
- **credentials**: botocore's default chain (environment, ``AWS_PROFILE`` and the shared files,
  SSO, container and instance roles).

boto3 clients resolve endpoints and CA bundles the same way by themselves; the functions here
serve the ``amazon-transcribe`` client, which has no such resolution, and the region checks.
The pure rules (which setting wins) are in :mod:`.target`; this module reads botocore's data
and sessions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import boto3  # type: ignore[import-untyped]
import botocore.config  # type: ignore[import-untyped]
import botocore.exceptions  # type: ignore[import-untyped]
import botocore.loaders  # type: ignore[import-untyped]
import botocore.session  # type: ignore[import-untyped]

from edge_server.engines.aws.errors import (
    CloudEngineError,
    CredentialsError,
    no_region,
    service_error,
    transport_error,
)
from edge_server.engines.aws.target import (
    AwsTarget,
    check_region,
    configured_endpoint,
    resolve_region,
)


def endpoint_regions(endpoint_prefix: str) -> tuple[frozenset[str], frozenset[str]]:
    """Regions offering ``endpoint_prefix`` and all known regions, from botocore's data."""
    data = botocore.loaders.create_loader().load_data("endpoints")
    service: set[str] = set()
    every: set[str] = set()
    for partition in data.get("partitions", []):
        every.update(partition.get("regions", {}))
        endpoints = partition.get("services", {}).get(endpoint_prefix, {}).get("endpoints", {})
        service.update(name for name in endpoints if name in partition.get("regions", {}))
    return frozenset(service), frozenset(every)


def new_session() -> Any:
    """A botocore session over the default configuration (``AWS_PROFILE`` and the files)."""
    return botocore.session.Session()


def resolve_target(
    service: str,
    service_id: str,
    endpoint_prefix: str,
    *,
    session: Any,
    region: str | None = None,
    endpoint_url: str | None = None,
    ca_bundle: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> AwsTarget:
    """Region, endpoint override and CA bundle for one service; raises EndpointError."""
    env = os.environ if environ is None else environ
    try:
        scoped: Mapping[str, Any] = session.get_scoped_config()
        profile_region = session.get_config_variable("region")
        bundle = ca_bundle or session.get_config_variable("ca_bundle")
        services: Mapping[str, Any] = {}
        if "services" in scoped:
            services = session.full_config.get("services", {}).get(scoped["services"], {})
    except botocore.exceptions.ProfileNotFound as exc:
        raise CredentialsError(
            f"{service}: {exc}; set AWS_PROFILE to a profile that exists",
            service=service,
            code="ProfileNotFound",
        ) from None
    chosen = resolve_region(region, env, profile_region)
    if not chosen:
        raise no_region(service)
    endpoint = endpoint_url or configured_endpoint(service_id, env, scoped, services)
    if endpoint is None:
        check_region(service, chosen, *endpoint_regions(endpoint_prefix))
    return AwsTarget(region=chosen, endpoint_url=endpoint, ca_bundle=bundle or None)


def boto3_client(
    service: str,
    service_id: str,
    endpoint_prefix: str,
    *,
    session: Any,
    region: str | None,
    endpoint_url: str | None,
    ca_bundle: str | None,
    environ: Mapping[str, str] | None,
    timeout_s: float,
    attempts: int,
    pool: int,
) -> tuple[Any, AwsTarget]:
    """A boto3 client for ``endpoint_prefix`` (``"translate"``, ``"polly"``) with our timeouts,
    retries and pool size, and the target it resolved. Raises CloudEngineError when the
    configuration cannot work (no region, a region without the service, an unknown profile)."""
    target = resolve_target(
        service,
        service_id,
        endpoint_prefix,
        session=session,
        region=region,
        endpoint_url=endpoint_url,
        ca_bundle=ca_bundle,
        environ=environ,
    )
    client = boto3.session.Session(botocore_session=session).client(
        endpoint_prefix,
        region_name=target.region,
        endpoint_url=endpoint_url,
        verify=ca_bundle,
        config=botocore.config.Config(
            connect_timeout=timeout_s,
            read_timeout=timeout_s,
            retries={"total_max_attempts": attempts, "mode": "standard"},
            max_pool_connections=pool,
        ),
    )
    return client, target


def boto3_error(exc: BaseException, service: str) -> CloudEngineError:
    """The :class:`CloudEngineError` for anything a boto3 client raised."""
    if isinstance(exc, CloudEngineError):
        return exc
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return service_error(service, error.get("Code"), status, str(error.get("Message", "")))
    return transport_error(service, type(exc).__name__, str(exc))
