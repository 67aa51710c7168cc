"""django-storages' S3 backend, with the same call guard as every other AWS client."""

from __future__ import annotations

from typing import Any

from storages.backends.s3 import S3Storage as _S3Storage

from phb.aws.clients import guard_client


class S3Storage(_S3Storage):
    """S3 storage whose calls are counted and refused inside a database transaction (``phb.netguard``)."""

    @property
    def connection(self) -> Any:
        fresh = getattr(self._connections, "connection", None) is None
        resource = super().connection
        if fresh:
            guard_client(resource.meta.client, "s3")
        return resource
