"""The cap on readers per process: a place is taken before a reader costs anything."""

from __future__ import annotations

import random
import threading

from flask import Flask, current_app, g, request

from liveblog.errors import error_response

# A reader refused for a full process retries after 2-6 s: spread out, so a crowd sent away
# together does not come back together.
FULL_RETRY_AFTER = (2, 6)
FULL_MESSAGE = "This server holds as many readers as it can; try again in a few seconds."


def init_app(app: Flask) -> None:
    """Refuse readers past MAX_READERS_PER_PROCESS before their handshake does any work."""
    app.extensions["liveblog.reader_slots"] = ReaderSlots()
    app.before_request(_refuse_when_full)
    app.teardown_request(_give_back_slot)


class ReaderSlots:
    """The process's places for readers: one is taken before a reader costs anything.

    Taken in the handshake's first hook, before any database work, and given back when the
    request ends, whatever happened to it. Counting at the hub's subscribe instead (after a
    query) let a reconnect storm's handshakes pass the check together, thousands over the cap.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.taken = 0

    def take(self, cap: int) -> bool:
        """Take a place if fewer than `cap` are taken; say whether one was."""
        with self._lock:
            if self.taken >= cap:
                return False
            self.taken += 1
            return True

    def give_back(self) -> None:
        """Free a place taken by `take`."""
        with self._lock:
            self.taken -= 1


def _refuse_when_full():
    # Before the upgrade, so the refusal is a plain HTTP answer a load balancer and a client
    # understand.
    if request.endpoint != "live.stream":
        return None
    slots: ReaderSlots = current_app.extensions["liveblog.reader_slots"]
    if slots.take(current_app.config["MAX_READERS_PER_PROCESS"]):
        g.reader_slot = slots
        return None
    response, status = error_response(503, FULL_MESSAGE)
    response.headers["Retry-After"] = str(random.randint(*FULL_RETRY_AFTER))
    return response, status


def _give_back_slot(error: BaseException | None = None) -> None:
    # A teardown runs when the request ends, however it ends: after the socket closes, or
    # after a later hook refused the handshake.
    slots = g.pop("reader_slot", None)
    if slots is not None:
        slots.give_back()
