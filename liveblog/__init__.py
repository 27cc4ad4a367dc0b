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
        health,
        limits,
        live,
        logging_setup,
        media,
        metadata,
        metrics,
        oembed,
        openapi,
        params,
        reader,
        security,
        shutdown,
        templating,
    )
    from .extensions import csrf

    # Compression first, so its after_request hook runs after everyone else's, over the final
    # body; the blueprints before the hooks that look at their answers.
    # Logging before all: its clock starts first, and its line records the final status.
    logging_setup.init_app(app)
    # Before any route is added: every <int:...> in a URL is ASCII digits only.
    app.url_map.converters["int"] = params.AsciiIntConverter
    for module in (compression, database, live, shutdown, limits, errors, templating):
        module.init_app(app)
    for module in (api, openapi, reader, media, feeds, oembed, health, metrics):
        app.register_blueprint(module.bp)
    for module in (metadata, security, caching, assets, desk, cli):
        module.init_app(app)
    csrf.exempt(api.bp)  # the API authenticates with bearer tokens, not cookies
    return app
