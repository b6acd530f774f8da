"""The worker's consumer, surviving a broker restart.

Celery 5.7 handles a lost broker connection by collecting the connection (which drops the Redis
transport's client) and then closing it; closing restores the unacknowledged messages through
that client, and kombu's Redis transport fails with AttributeError ('NoneType' object has no
attribute 'hostname'), which is not a connection error: the worker stopped with "Unrecoverable
error" instead of reconnecting. tests/scheduler/test_broker_restart.py kills Redis mid-work.

Here closing the lost connection may fail that way and the worker goes on to reconnect. The
messages it held unacknowledged stay in Redis's unacked set (restored after the visibility timeout
when Redis kept them); the beat's sweep launches and syncs what they would have, sooner.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from celery.worker.consumer import Consumer

log = logging.getLogger(__name__)


class BrokerRestartSafeConsumer(Consumer):
    def on_connection_error_after_connected(self, exc: Exception) -> None:
        if self.connection is not None:
            # This connection only: it is being discarded, and its close() runs once, in the call below.
            self.connection.close = _despite_collected_client(self.connection.close)  # type: ignore[method-assign]
        super().on_connection_error_after_connected(exc)


def _despite_collected_client(close: Callable[[], Any]) -> Callable[[], Any]:
    @functools.wraps(close)
    def closing() -> Any:
        try:
            return close()
        except AttributeError:
            log.warning("The lost broker connection could not restore its unacknowledged messages; reconnecting")
            return None

    return closing
