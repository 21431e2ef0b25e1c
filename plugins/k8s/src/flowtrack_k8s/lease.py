"""Leader election with a ``coordination.k8s.io/v1`` Lease, as client-go's leaderelection.

Only the replica holding the Lease records; the others wait. The holder renews it every
``renew_s``; a Lease not renewed for ``duration_s`` is free, and the first replica to replace
it (optimistic concurrency: the API server refuses a replace from a stale resourceVersion with
409) takes it over. A replica that stops cleanly releases it, so another takes over at once.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime, timedelta

from kubernetes.client import ApiClient, CoordinationV1Api, V1Lease, V1LeaseSpec, V1ObjectMeta
from kubernetes.client.exceptions import ApiException

log = logging.getLogger("flowtrack.k8s")


def default_identity() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Lease:
    """One replica's view of the Lease ``namespace/name``."""

    def __init__(
        self,
        client: ApiClient,
        namespace: str,
        name: str,
        identity: str | None = None,
        duration_s: int = 15,
    ) -> None:
        self.api = CoordinationV1Api(client)
        self.namespace = namespace
        self.name = name
        self.identity = identity or default_identity()
        self.duration_s = duration_s
        self.held_since: datetime | None = None

    def acquire(self) -> bool:
        """Take or renew the Lease; False if another replica holds it (or the API refused)."""
        now = datetime.now(UTC)
        try:
            lease = self.api.read_namespaced_lease(self.name, self.namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise
            return self._create(now)
        spec = lease.spec or V1LeaseSpec()
        holder = spec.holder_identity
        renewed = spec.renew_time or spec.acquire_time
        duration = spec.lease_duration_seconds or self.duration_s
        expired = renewed is None or renewed + timedelta(seconds=duration) < now
        if holder and holder != self.identity and not expired:
            self.held_since = None
            return False
        if holder != self.identity:
            spec.acquire_time = now
            spec.lease_transitions = (spec.lease_transitions or 0) + 1
            log.info("flowtrack: %s takes the lease %s from %r", self.identity, self.name, holder)
        spec.holder_identity = self.identity
        spec.renew_time = now
        spec.lease_duration_seconds = self.duration_s
        lease.spec = spec
        try:
            self.api.replace_namespaced_lease(self.name, self.namespace, lease)
        except ApiException as exc:
            if exc.status == 409:  # another replica was quicker
                self.held_since = None
                return False
            raise
        self.held_since = self.held_since or now
        return True

    def _create(self, now: datetime) -> bool:
        body = V1Lease(
            metadata=V1ObjectMeta(name=self.name, namespace=self.namespace),
            spec=V1LeaseSpec(
                holder_identity=self.identity,
                lease_duration_seconds=self.duration_s,
                acquire_time=now,
                renew_time=now,
                lease_transitions=0,
            ),
        )
        try:
            self.api.create_namespaced_lease(self.namespace, body)
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise
        self.held_since = now
        return True

    def release(self) -> None:
        """Give the Lease up (if held), so another replica need not wait for it to expire."""
        if self.held_since is None:
            return
        self.held_since = None
        try:
            lease = self.api.read_namespaced_lease(self.name, self.namespace)
            if lease.spec is None or lease.spec.holder_identity != self.identity:
                return
            lease.spec.holder_identity = None
            lease.spec.renew_time = None
            self.api.replace_namespaced_lease(self.name, self.namespace, lease)
        except Exception as exc:  # it expires by itself
            log.warning("flowtrack: could not release the lease %s: %s", self.name, exc)
