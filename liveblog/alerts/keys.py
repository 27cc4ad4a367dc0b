"""The server's VAPID key pair: made on first use into the instance folder, readable only by us."""

from __future__ import annotations

import functools
import os
import tempfile
import threading

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid
from py_vapid.utils import b64urlencode

KEY_FILE = "vapid_private_key.pem"
_making = threading.Lock()


def vapid(instance_path: str) -> Vapid:
    """The instance's VAPID key (RFC 8292), generated and saved with mode 0600 the first time."""
    return _load(os.path.join(instance_path, KEY_FILE))


@functools.cache
def _load(path: str) -> Vapid:
    """The key at `path`, made there first if there is none."""
    with _making:
        if not os.path.exists(path):
            _make(path)
    return Vapid.from_file(path)


def _make(path: str) -> None:
    """Put a new key at `path` whole, unless another process puts its own there first."""
    key = Vapid()
    key.generate_keys()
    # Written beside the key under another name, so that no process (gunicorn's workers start
    # together) ever finds the key's name on a file still being written; mkstemp makes it 0600.
    handle, draft = tempfile.mkstemp(prefix=".vapid-", suffix=".tmp", dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(key.private_pem())
            out.flush()
            os.fsync(out.fileno())  # whole on disk before it has the name, even after a crash
        try:
            # link, unlike rename, never replaces: the first process's key stays, and every
            # process that lost the race reads the same key as the winner.
            os.link(draft, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(draft)


def public_key(instance_path: str) -> str:
    """The public key as browsers take it (applicationServerKey): the raw point, base64url."""
    point = vapid(instance_path).public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return b64urlencode(point)
