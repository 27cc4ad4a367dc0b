"""The server's VAPID key pair: made on first use into the instance folder, readable only by us."""

from __future__ import annotations

import functools
import os
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
    with _making:
        if not os.path.exists(path):
            key = Vapid()
            key.generate_keys()
            try:
                # O_EXCL: another process that made one first wins, and both use its key.
                handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(handle, "wb") as out:
                    out.write(key.private_pem())
    return Vapid.from_file(path)


def public_key(instance_path: str) -> str:
    """The public key as browsers take it (applicationServerKey): the raw point, base64url."""
    point = vapid(instance_path).public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return b64urlencode(point)
