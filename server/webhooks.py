"""Webhook delivery as RunPod does it: POST the status payload, retry on non-2xx or connection errors."""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from common.errors import InvalidInput
from jobcore.fetch import check_public, pinned_request, resolve_public

log = logging.getLogger(__name__)


def check_webhook(url: object, allow_private: bool) -> str:
    """Refuse webhook URLs that are not http(s) or reach private addresses (unless allowed)."""
    if not isinstance(url, str) or len(url) > 2048:
        raise InvalidInput("webhook must be an http(s) URL")
    check_public(url, allow_private, field="webhook", setting="ALLOW_PRIVATE_WEBHOOKS")
    return url


class WebhookSender:
    """Delivers in its own threads, so a slow receiver never holds a synthesis slot."""

    def __init__(self, attempts: int, retry_delay_s: float, timeout_s: float, allow_private: bool,
                 max_pending: int = 64):
        self.attempts, self.retry_delay_s, self.allow_private = max(1, attempts), retry_delay_s, allow_private
        self.max_pending, self._pending = max_pending, threading.BoundedSemaphore(max_pending)
        self._http = httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False)
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook")
        self._stop = threading.Event()

    def send(self, url: str, payload: dict) -> None:
        """Queue a delivery; with `max_pending` already waiting or retrying (each holds its payload), drop it."""
        if not self._pending.acquire(blocking=False):
            log.warning("webhook for job %s dropped: %d deliveries already pending", payload.get("id"),
                        self.max_pending)
            return
        future = self._pool.submit(self._deliver, url, payload)
        future.add_done_callback(lambda _: self._pending.release())

    def _deliver(self, url: str, payload: dict) -> bool:
        for attempt in range(1, self.attempts + 1):
            try:
                # checked again at delivery and pinned to the checked address: DNS may have changed since /run
                target, headers, extensions = pinned_request(url, resolve_public(url, self.allow_private, "webhook",
                                                                                   "ALLOW_PRIVATE_WEBHOOKS"))
                response = self._http.post(target, json=payload, headers=headers, extensions=extensions)
                if response.is_success:
                    log.info("webhook for job %s delivered (attempt %d)", payload.get("id"), attempt)
                    return True
                reason = f"HTTP {response.status_code}"
            except InvalidInput as exc:
                log.warning("webhook for job %s refused: %s", payload.get("id"), exc.message)
                return False
            except httpx.HTTPError as exc:
                reason = type(exc).__name__
            log.info("webhook for job %s failed (attempt %d/%d): %s", payload.get("id"), attempt, self.attempts, reason)
            if attempt < self.attempts and self._stop.wait(self.retry_delay_s):
                break
        log.warning("webhook for job %s not delivered", payload.get("id"))
        return False

    def close(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()
