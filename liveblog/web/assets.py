"""Static files named by their content: ?v=<hash> URLs cached for good, plain ones briefly."""

from __future__ import annotations

import base64
import hashlib
import json
import os

from flask import Flask, Response, current_app, g, request, url_for
from markupsafe import Markup
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"
# /static/embed.js is linked from other sites without a version: a fix must reach them soon.
PLAIN = "public, max-age=300"
HASH_LENGTH = 12
# ES modules import one another by plain path ("./live-socket.js"); fetched so, a module would be
# cached only briefly, and for those minutes after a deploy a page could run old and new modules
# together. A page's import map sends each plain URL to the fingerprinted one instead. The
# folders of each part's modules: the reader pages use static/js, the desk both.
MODULE_FOLDERS = {"reader": ("js",), "desk": ("js", "desk")}
# Each file's hash by (path, size, mtime): one per process, whatever the number of apps in it.
_HASHES: dict[tuple[str, int, int], str] = {}


def fingerprint(filename: str) -> str | None:
    """A short hash of a static file's content, or None if there is no such file."""
    path = safe_join(current_app.static_folder or "", filename)
    if path is None or not os.path.isfile(path):
        return None
    stat = os.stat(path)
    # Keyed on size and mtime too, so an edited file gets a new hash without a restart.
    key = (path, stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        with open(path, "rb") as handle:
            _HASHES[key] = hashlib.sha256(handle.read()).hexdigest()[:HASH_LENGTH]
    return _HASHES[key]


def add_version(endpoint: str, values: dict) -> None:
    """Give url_for('static', filename=...) the file's fingerprint as ?v=."""
    if endpoint == "static" and "v" not in values and "filename" in values:
        version = fingerprint(values["filename"])
        if version:
            values["v"] = version


def import_map(part: str) -> str:
    """The import map (JSON) of a part's modules: each one's plain URL to its fingerprinted URL."""
    return _import_map(part)[0]


def import_map_tag(part: str) -> Markup:
    """The <script type="importmap"> that goes before a page's first module script."""
    return Markup('<script type="importmap">%s</script>') % Markup(import_map(part))


def import_map_source(part: str) -> str:
    """The CSP source that lets this part's import map run, and no other inline script."""
    return _import_map(part)[1]


def _import_map(part: str) -> tuple[str, str]:
    # Every page asks twice (its tag and its CSP); building the map and its hash took about 1 ms
    # for a reader page and 3.5 ms for the desk. Now built once per set of module versions (the
    # fingerprints still follow an edited file) and looked up once per request.
    this_request = g.setdefault("import_maps", {})
    if part not in this_request:
        this_request[part] = _built_import_map(part)
    return this_request[part]


def _built_import_map(part: str) -> tuple[str, str]:
    static = current_app.static_folder or ""
    modules = [f"{folder}/{name}" for folder in MODULE_FOLDERS[part]
               for name in sorted(os.listdir(os.path.join(static, folder))) if name.endswith(".js")]
    key = (part, request.script_root, tuple((name, fingerprint(name)) for name in modules))
    built = current_app.extensions.setdefault("liveblog.import_maps", {})
    if key not in built:
        imports = {url_for("static", filename=name, v=None): url_for("static", filename=name)
                   for name in modules}
        # No "<" can end the script element early, whatever a file is called.
        text = json.dumps({"imports": imports}, separators=(",", ":")).replace("<", "\\u003c")
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        built[key] = (text, f"'sha256-{digest}'")
    return built[key]


def set_static_cache(response: Response) -> Response:
    """Cache a static file for a year when its URL names its current content."""
    if request.endpoint != "static" or response.status_code not in (200, 206, 304):
        return response
    filename = (request.view_args or {}).get("filename", "")
    # A stale ?v= (a page cached before a deploy) still gets today's file, so cache it briefly.
    current = request.args.get("v") and request.args.get("v") == fingerprint(filename)
    response.headers["Cache-Control"] = IMMUTABLE if current else PLAIN
    return response


def init_app(app: Flask) -> None:
    """Fingerprint static URLs and set how long static files may be cached."""
    app.url_defaults(add_version)
    app.after_request(set_static_cache)
    app.add_template_global(import_map_tag)
