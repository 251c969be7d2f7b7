"""What the AWS engines share: ``errors`` (pure: failures classified for retry and fallback) and
``config`` (regions, endpoints, CA bundles, credentials, boto3 clients)."""
