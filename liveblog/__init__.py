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
    from liveblog import config

    app.config.from_mapping(config.from_environment(app.instance_path))
    app.json.sort_keys = False  # keep the documented field order in API answers
    if test_config:
        app.config.update(test_config)
        if "SQLALCHEMY_ENGINE_OPTIONS" not in test_config:
            uri = app.config["SQLALCHEMY_DATABASE_URI"]
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = config.engine_options(uri)
    os.makedirs(app.instance_path, exist_ok=True)

    from liveblog import database, desk, errors
    from liveblog.alerts import views as alerts
    from liveblog.api import openapi, polls, questions, seen
    from liveblog.api import views as api
    from liveblog.content import filters, media
    from liveblog.extensions import csrf
    from liveblog.live import lane, reader_cap, shutdown, stream
    from liveblog.ops import cli, health, prometheus
    from liveblog.public import feeds, fragment, metadata, oembed, pages, view_beacon
    from liveblog.web import assets, caching, compression, i18n, limits, logs, params, security

    # Before any route is added: every <int:...> in a URL is ASCII digits only.
    app.url_map.converters["int"] = params.AsciiIntConverter
    # The order is behaviour: Flask runs before_request hooks in the order they were added and
    # after_request hooks in the reverse order. Each part adds its hooks (init_app) or is a
    # blueprint of views.
    parts = (
        logs,  # first: its clock starts first, and its line records the final status
        compression,  # its after_request runs after everyone else's, over the final body
        database,  # refuses a URL naming what no table can hold, before any query
        stream,  # the hub, the relay and audience count, and the readers' socket route
        shutdown,  # a stopping process refuses a reader before...
        reader_cap,  # ...the reader takes one of the process's places
        lane,  # a resuming reader's handshake below Flask, with the same checks as above
        limits,  # ProxyFix, around the lane: both see the reader's own address
        i18n,  # before any view renders
        errors,
        filters,
        api, questions, polls, seen, alerts, openapi, pages, media, feeds, oembed, fragment, health,
        view_beacon, prometheus,  # blueprints, before
        metadata,  # the hooks that look at their answers
        security,
        caching,  # the default Cache-Control, for answers that did not choose one...
        assets,  # ...as static files do here, which is why this one is added after caching
        desk,
        cli,
    )
    for part in parts:
        if hasattr(part, "init_app"):
            part.init_app(app)
        else:
            app.register_blueprint(part.bp)
    csrf.exempt(api.bp)  # the API authenticates with bearer tokens, not cookies
    csrf.exempt(questions.bp)  # anonymous readers: no session, nothing a forged request gains
    csrf.exempt(polls.bp)  # votes: a token in the body, no cookie
    csrf.exempt(seen.bp)  # readers' seen entries: ids only, no cookie
    csrf.exempt(alerts.bp)  # push subscriptions: no cookie, a browser's own keys in the body
    csrf.exempt(view_beacon.bp)  # a page's view: no cookie, nothing a reader sees changes
    return app
