"""Helpers for desk tests: log in through the real form, CSRF token included."""

from __future__ import annotations

import re

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|csrf-token" content="([^"]+)"')


def csrf_token(client, path: str = "/admin/login") -> str:
    """The CSRF token a page hands out to this client's session."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def log_in(client, email: str, password: str = "correct horse battery"):
    """Log in through the login form and return the response."""
    token = csrf_token(client)
    return client.post("/admin/login", data={"email": email, "password": password,
                                             "csrf_token": token})


def post_form(client, path: str, data: dict | None = None, json: bool = False, **kwargs):
    """POST a desk form with this session's CSRF token (as the script or a plain form)."""
    headers = {"Accept": "application/json"} if json else {}
    token = csrf_token(client, "/admin/")
    return client.post(path, data={"csrf_token": token, **(data or {})}, headers=headers,
                       **kwargs)
