"""Flask extensions, created unbound and initialised in the application factory."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sock import Sock
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
sock = Sock()
login_manager = LoginManager()
csrf = CSRFProtect()
# Limits apply only where a view or blueprint asks for one (see limits.py); storage is set from
# RATELIMIT_STORAGE_URI. If that storage (Redis) stops answering, counting moves to this
# process's memory until it returns, and any other storage error lets the request through:
# a limiter must never be the reason a request fails.
limiter = Limiter(
    key_func=get_remote_address,
    default_limits=[],
    swallow_errors=True,
    in_memory_fallback_enabled=True,
)
