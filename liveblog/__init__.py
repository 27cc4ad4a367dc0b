"""liveblog: a live-blog publishing engine for newsrooms."""

from __future__ import annotations

import os

from flask import Flask

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(test_config: dict | None = None) -> Flask:
    """Create the application: config, extensions, blueprints and CLI."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("LIVEBLOG_INSTANCE", os.path.join(ROOT, "instance")),
        template_folder=os.path.join(ROOT, "templates"),
        static_folder=os.path.join(ROOT, "static"),
    )
    from . import config

    app.config.from_mapping(config.from_environment(app.instance_path))
    app.json.sort_keys = False  # keep the documented field order in API answers
    if test_config:
        app.config.update(test_config)
        if "SQLALCHEMY_ENGINE_OPTIONS" not in test_config:
            uri = app.config["SQLALCHEMY_DATABASE_URI"]
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = config.engine_options(uri)
    os.makedirs(app.instance_path, exist_ok=True)

    from . import (
        api,
        assets,
        caching,
        cli,
        compression,
        database,
        desk,
        errors,
        feeds,
        live,
        media,
        metadata,
        oembed,
        openapi,
        reader,
        security,
        templating,
    )
    from .extensions import csrf

    compression.init_app(app)  # first, so that its after_request runs after everyone else's
    database.init_app(app)
    live.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(reader.bp)
    app.register_blueprint(media.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(oembed.bp)
    metadata.init_app(app)
    security.init_app(app)
    caching.init_app(app)
    assets.init_app(app)
    desk.init_app(app)
    csrf.exempt(api.bp)  # the API authenticates with bearer tokens, not cookies
    cli.init_app(app)
    return app
