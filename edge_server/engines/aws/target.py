"""Where an engine reaches its AWS service (region, endpoint, CA bundle), and which setting
wins, in botocore's order. Pure: the environment and the profile come in as mappings;
:mod:`.config` reads them from botocore.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edge_server.engines.aws.errors import EndpointError, region_without_service


@dataclass(frozen=True)
class AwsTarget:
    """Where and how one engine reaches its service."""

    region: str
    endpoint_url: str | None
    """An override of the service's regional endpoint, or None for the default."""
    ca_bundle: str | None
    """A PEM file of CA certificates to trust instead of the system's, or None."""


def service_env_name(service_id: str) -> str:
    """``AWS_ENDPOINT_URL_<SERVICE>`` for a service id (``Transcribe Streaming``)."""
    return "AWS_ENDPOINT_URL_" + service_id.replace(" ", "_").replace("-", "_").upper()


def _truthy(value: object) -> bool:
    return str(value).strip().lower() == "true"


def configured_endpoint(
    service_id: str,
    environ: Mapping[str, str],
    scoped_config: Mapping[str, Any],
    services_config: Mapping[str, Any],
) -> str | None:
    """The endpoint URL configured for ``service_id``, in botocore's order, or None. Pure."""
    ignore = environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
    if ignore is None:
        ignore = scoped_config.get("ignore_configured_endpoint_urls", "false")
    if _truthy(ignore):
        return None
    snake = service_id.replace(" ", "_").replace("-", "_").lower()
    service_section = services_config.get(snake, {})
    for value in (
        environ.get(service_env_name(service_id)),
        environ.get("AWS_ENDPOINT_URL"),
        service_section.get("endpoint_url") if isinstance(service_section, Mapping) else None,
        scoped_config.get("endpoint_url"),
    ):
        if value:
            return str(value)
    return None


def resolve_region(
    explicit: str | None, environ: Mapping[str, str], profile_region: str | None
) -> str | None:
    """The option, else ``AWS_REGION``, else ``AWS_DEFAULT_REGION``/the profile's. Pure."""
    for value in (explicit, environ.get("AWS_REGION"), profile_region):
        if value:
            return value
    return None


def check_region(
    service: str, region: str, service_regions: frozenset[str], all_regions: frozenset[str]
) -> None:
    """Raise :class:`EndpointError` for an unknown region or one without the service. Pure."""
    if region in service_regions:
        return
    if region not in all_regions:
        raise EndpointError(
            f"{service}: unknown AWS region {region!r} (check its spelling, or set an endpoint "
            "override for a region newer than this botocore)",
            service=service,
            code="UnknownRegion",
        )
    raise region_without_service(service, region, service_regions)
