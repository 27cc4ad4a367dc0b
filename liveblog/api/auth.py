"""API tokens: issued once in clear text, stored hashed, checked on every API write."""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import wraps

from flask import g, request
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload

from liveblog.errors import LiveblogError
from liveblog.extensions import db
from liveblog.models import ApiToken, Role, User, as_utc, utcnow

TOKEN_PREFIX = "lb_"
# Writing last_used_at on every request would make each read a write; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Built once: every API write asks it, and building it cost more than SQLite takes to answer.
# The owner comes in the same query: every caller asks for it next.
LIVE_TOKEN = (
    select(ApiToken)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
    .options(joinedload(ApiToken.user))
)


class Unauthorized(LiveblogError):
    status = 401


class Forbidden(LiveblogError):
    status = 403


def issue_token(user: User) -> str:
    """Create a token for the user and return it; only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user=user, token_hash=ApiToken.hash(token)))
    db.session.commit()
    return token


def revoke_tokens(user: User) -> int:
    """Revoke every live token of the user and return how many there were."""
    result = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    db.session.commit()
    return result.rowcount


def user_for_token(token: str) -> User | None:
    """The owner of a live token, or None."""
    api_token = db.session.scalar(LIVE_TOKEN, {"token_hash": ApiToken.hash(token)})
    if api_token is None:
        return None
    now = utcnow()
    last_used = as_utc(api_token.last_used_at)
    if last_used is None or now - last_used > LAST_USED_RESOLUTION:
        api_token.last_used_at = now
        db.session.commit()
    return api_token.user


def current_api_user() -> User | None:
    """The user behind the request's bearer token, if any; a bad token is refused."""
    if "api_user" not in g:
        header = request.headers.get("Authorization", "")
        if not header:
            g.api_user = None
        else:
            scheme, _, token = header.partition(" ")
            user = user_for_token(token.strip()) if scheme.lower() == "bearer" else None
            if user is None:
                raise Unauthorized("The API token is missing, malformed or revoked.")
            g.api_user = user
    return g.api_user


def token_required(*roles: Role):
    """Require a bearer token whose owner has one of the roles (any role when none given)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = current_api_user()
            if user is None:
                raise Unauthorized("Send an API token as 'Authorization: Bearer <token>'.")
            if roles and user.role not in roles:
                raise Forbidden("Your role may not do this.")
            return view(*args, **kwargs)

        return wrapped

    return decorator
