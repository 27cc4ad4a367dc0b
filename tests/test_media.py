"""Pictures: type sniffed from bytes, bombs refused, metadata gone, widths stored, markup, URLs."""

from __future__ import annotations

import io
import os
import struct
import zlib

import pytest
from PIL import ExifTags, Image, ImageCms

from liveblog.content import media
from liveblog.content.media import NOT_A_PICTURE, picture_markup, store_picture
from liveblog.errors import Invalid
from liveblog.extensions import db
from liveblog.models import Media, Role

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def picture_bytes(size=(1000, 600), fmt="JPEG", mode="RGB", color=RED, **save) -> bytes:
    """A freshly drawn picture in the given format."""
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, fmt, **save)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge canvas, like a decompression bomb's."""
    data = bytearray(picture_bytes((1, 1), "PNG"))
    header = b"IHDR" + struct.pack(">II", width, height) + bytes(data[24:29])
    data[12:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(header))
    return bytes(data)


def store(app, data: bytes, filename: str = "photo.jpg", uploader_id: int | None = None) -> dict:
    """Store the bytes as a picture and return the Media row's columns."""
    with app.app_context():
        row = store_picture(io.BytesIO(data), filename, uploader_id)
        return {column.name: getattr(row, column.name) for column in Media.__table__.columns}


def refusal(app, data: bytes, filename: str = "photo.jpg") -> str:
    """Store the bytes, expecting a refusal, and return its message."""
    with app.app_context(), pytest.raises(Invalid) as refused:
        store_picture(io.BytesIO(data), filename, None)
    return refused.value.message


def stored_paths(app) -> list[str]:
    """Every file and folder under the media folder, temporary ones included."""
    root = os.path.join(app.instance_path, "media")
    found = []
    for folder, folders, files in os.walk(root):
        found += [os.path.relpath(os.path.join(folder, n), root) for n in folders + files]
    return sorted(found)


def media_count(app) -> int:
    """How many Media rows exist."""
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(Media))


def stored_bytes(app, media_id: int, width: int, extension: str = "jpg") -> bytes:
    """The bytes of one stored width of a picture."""
    path = os.path.join(app.instance_path, "media", str(media_id), f"{width}.{extension}")
    with open(path, "rb") as handle:
        return handle.read()


def stored_file(app, media_id: int, width: int, extension: str = "jpg") -> Image.Image:
    """Open one stored width of a picture."""
    return Image.open(io.BytesIO(stored_bytes(app, media_id, width, extension)))


def assert_nothing_stored(app):
    """No Media row and no file or folder, temporary or not, under the media folder."""
    assert media_count(app) == 0
    assert stored_paths(app) == []


def close_to(pixel, expected, tolerance=12) -> bool:
    """True if an RGB pixel is within tolerance of the expected colour on every channel."""
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


# With a colour profile the pixels go through an sRGB conversion; without one they do not.
@pytest.mark.parametrize("with_profile", [True, False])
def test_metadata_is_gone_and_the_picture_is_upright(app, actions, with_profile):
    user_id, _ = actions.create_user("photo@example.org", Role.CONTRIBUTOR)
    # Left half red, right half blue; orientation 6 says "turn 90° clockwise to view".
    original = Image.new("RGB", (1000, 600), RED)
    original.paste(BLUE, (500, 0, 1000, 600))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "Snoopy Phone"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 26.0)
    extra = {"xmp": b"<x:xmpmeta>Sunset Street 12</x:xmpmeta>", "comment": b"home address"}
    if with_profile:
        extra["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    original.save(buffer, "JPEG", exif=exif, **extra)
    data = buffer.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the input has GPS

    row = store(app, data, "IMG_0001.JPG", user_id)

    assert (row["width"], row["height"], row["widths"]) == (600, 1000, "480,600")
    assert (row["uploader_id"], row["content_type"]) == (user_id, "image/jpeg")
    stored = stored_file(app, row["id"], 480)
    assert (stored.format, stored.mode, stored.size) == ("JPEG", "RGB", (480, 800))
    assert not stored.getexif()
    assert not {"exif", "icc_profile", "comment", "xmp"} & set(stored.info)
    raw = stored_bytes(app, row["id"], 480)
    for secret in (b"Exif", b"Snoopy", b"home address", b"Sunset Street", b"ICC_PROFILE"):
        assert secret not in raw
    # Turned clockwise, the left (red) half is now on top.
    assert close_to(stored.getpixel((240, 200)), RED)
    assert close_to(stored.getpixel((240, 600)), BLUE)


@pytest.mark.parametrize(
    ("fmt", "mode", "content_type"),
    [("PNG", "RGBA", "image/png"), ("WEBP", "RGBA", "image/webp"), ("GIF", "P", "image/gif")],
)
def test_transparency_is_laid_on_white(app, fmt, mode, content_type):
    canvas = Image.new("RGBA", (600, 400), (0, 0, 0, 0))
    canvas.paste((255, 0, 0, 255), (200, 100, 400, 300))
    if mode == "P":
        canvas = canvas.convert("P", palette=Image.Palette.ADAPTIVE)
        canvas.info["transparency"] = canvas.getpixel((0, 0))
    buffer = io.BytesIO()
    canvas.save(buffer, fmt, **({"lossless": True} if fmt == "WEBP" else {}))

    row = store(app, buffer.getvalue(), "sticker.jpg")

    assert (row["content_type"], row["widths"]) == (content_type, "480,600")
    stored = stored_file(app, row["id"], 480)
    assert stored.mode == "RGB"
    assert close_to(stored.getpixel((5, 5)), WHITE)
    assert close_to(stored.getpixel((240, 160)), RED)


@pytest.mark.parametrize(
    ("size", "widths"),
    [
        ((2400, 1600), [480, 960, 1600]),
        ((1600, 900), [480, 960, 1600]),
        ((1000, 1000), [480, 960, 1000]),
        ((640, 400), [480, 640]),
        ((480, 320), [480]),
        ((300, 200), [300]),
    ],
)
def test_widths_stored_are_our_steps_below_the_original_and_the_original(app, size, widths):
    row = store(app, picture_bytes(size, "PNG"))

    assert row["widths"] == ",".join(map(str, widths))
    assert (row["width"], row["height"]) == size
    files = [f"{row['id']}/{w}.{ext}" for w in widths for ext in ("jpg", "webp")]
    assert stored_paths(app) == sorted([str(row["id"]), *files])
    for width in widths:
        stored = stored_file(app, row["id"], width)
        assert stored.size == (width, round(size[1] * width / size[0]))
        assert stored.info.get("progressive")
        assert close_to(stored.getpixel((width // 2, 10)), RED)
        webp = stored_file(app, row["id"], width, "webp")
        assert (webp.format, webp.size) == ("WEBP", stored.size)
        assert close_to(webp.convert("RGB").getpixel((width // 2, 10)), RED)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("text renamed .jpg", b"Dear editor,\nthis is not a picture.\n" * 20),
        ("empty file", b""),
        ("SVG", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("BMP", picture_bytes((50, 50), "BMP")),
        ("TIFF", picture_bytes((50, 50), "TIFF")),
        ("truncated JPEG", picture_bytes((800, 600))[:400]),
    ],
)
def test_anything_but_a_picture_is_refused_and_nothing_is_stored(app, name, data):
    assert refusal(app, data, "photo.jpg") == NOT_A_PICTURE
    assert_nothing_stored(app)


def test_the_type_comes_from_the_bytes_not_the_name(app):
    row = store(app, picture_bytes((500, 500), "GIF"), "holiday.png")

    assert row["content_type"] == "image/gif"


def test_an_upload_over_the_byte_limit_is_refused(app):
    data = picture_bytes((800, 600), "PNG")
    app.config["MAX_PICTURE_BYTES"] = len(data) - 1

    assert refusal(app, data) == f"The picture is larger than {len(data) // 1024 + 1} KB."
    assert_nothing_stored(app)

    app.config["MAX_PICTURE_BYTES"] = len(data)
    assert store(app, data)["widths"] == "480,800"


def test_the_default_byte_limit_is_15_mb(app):
    data = picture_bytes((10, 10), "PNG") + b"\0" * (15 * 1024 * 1024)

    assert refusal(app, data) == "The picture is larger than 15 MB."
    assert_nothing_stored(app)


def test_a_canvas_over_the_pixel_limit_is_refused_from_its_header(app):
    # 8000 × 7000 is 56 MP: over our 50 MP, under Pillow's own guard. The pixel data is a
    # single pixel's, so reaching the decoder would have given a different refusal.
    message = refusal(app, png_claiming(8000, 7000))

    assert message == "The picture is too large: 8000 × 7000 pixels; the limit is 50 megapixels."
    assert_nothing_stored(app)


@pytest.mark.parametrize(("width", "height"), [(10_000, 10_000), (20_000, 20_000)])
def test_a_decompression_bomb_is_refused(app, width, height):
    # Pillow's guard in Image.open may fire before ours; either way the message names the limit.
    message = refusal(app, png_claiming(width, height))

    assert message.startswith("The picture is too large")
    assert message.endswith("the limit is 50 megapixels.")
    assert_nothing_stored(app)


def test_the_pixel_limit_comes_from_config(app):
    app.config["MAX_PICTURE_PIXELS"] = 250_000

    message = refusal(app, picture_bytes((600, 500), "PNG"))

    assert message == "The picture is too large: 600 × 500 pixels; the limit is 0.25 megapixels."
    assert_nothing_stored(app)


def test_a_sliver_too_tall_for_jpeg_is_refused(app):
    # 100 × 70,000 is within the pixel limit, but JPEG stops at 65,535 pixels a side.
    message = refusal(app, picture_bytes((100, 70_000), "PNG", mode="L", color=0))

    assert message == "The picture is too tall and narrow to publish."
    assert_nothing_stored(app)


def test_the_same_bytes_twice_reuse_the_stored_picture(app):
    data = picture_bytes((1000, 600))

    first, second = store(app, data), store(app, data)

    assert first == second
    assert media_count(app) == 1


@pytest.mark.parametrize("failure", ["rename", "commit"])
def test_a_failed_store_leaves_no_row_and_no_files(app, monkeypatch, failure):
    def fail(*args, **kwargs):
        raise OSError("disk full")

    if failure == "rename":
        monkeypatch.setattr(media.os, "rename", fail)
    else:
        monkeypatch.setattr(db.session, "commit", fail)

    with app.app_context(), pytest.raises(OSError, match="disk full"):
        store_picture(io.BytesIO(picture_bytes()), "photo.jpg", None)

    monkeypatch.undo()
    assert_nothing_stored(app)


def test_served_file_is_the_stored_jpeg_cached_for_good(app, client):
    row = store(app, picture_bytes((1000, 600)))

    with client.get(f"/media/{row['id']}/960.jpg") as response:
        body = response.data

    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    cache = response.cache_control
    assert (cache.public, cache.max_age, cache.immutable) == (True, 31536000, True)
    assert not cache.no_cache
    assert body == stored_bytes(app, row["id"], 960)
    assert Image.open(io.BytesIO(body)).size == (960, 576)


@pytest.mark.parametrize(
    "path", ["/media/{id}/1600.jpg", "/media/{id}/123.jpg", "/media/999/480.jpg"]
)
def test_unknown_pictures_and_widths_are_not_found(app, client, path):
    row = store(app, picture_bytes((1000, 600)))

    assert client.get(path.format(id=row["id"])).status_code == 404


def test_a_file_without_its_row_is_not_served(app, client):
    folder = os.path.join(app.instance_path, "media", "5")
    os.makedirs(folder)
    with open(os.path.join(folder, "480.jpg"), "wb") as handle:
        handle.write(picture_bytes((480, 300)))

    assert client.get("/media/5/480.jpg").status_code == 404


def picture(widths="480,960,1600", width=2000, height=1000) -> Media:
    """An unsaved Media row, enough for markup."""
    return Media(id=7, width=width, height=height, widths=widths, content_type="image/jpeg")


IMG = (
    '<picture><source type="image/webp" srcset="/media/7/480.webp 480w, /media/7/960.webp 960w, '
    '/media/7/1600.webp 1600w" sizes="(max-width: 44rem) 100vw, 44rem">'
    '<img src="/media/7/1600.jpg" srcset="/media/7/480.jpg 480w, /media/7/960.jpg 960w, '
    '/media/7/1600.jpg 1600w" sizes="(max-width: 44rem) 100vw, 44rem" alt="{alt}" '
    'width="1600" height="800" loading="lazy"></picture>'
)


@pytest.mark.parametrize(
    ("alt", "caption", "credit", "expected"),
    [
        (
            "Flooded street",
            "Water rose overnight.",
            "Ana Ruiz",
            "<figure>"
            + IMG.format(alt="Flooded street")
            + "<figcaption>Water rose overnight. <cite>Ana Ruiz</cite></figcaption></figure>",
        ),
        (
            ' A "quoted" <b>alt</b> ',
            '<script>alert("x")</script>',
            'Jo "JJ" O\'Neil & Co',
            "<figure>"
            + IMG.format(alt="A &#34;quoted&#34; &lt;b&gt;alt&lt;/b&gt;")
            + "<figcaption>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; "
            "<cite>Jo &#34;JJ&#34; O&#39;Neil &amp; Co</cite></figcaption></figure>",
        ),
        (
            "Map",
            None,
            "Agency",
            "<figure>"
            + IMG.format(alt="Map")
            + "<figcaption><cite>Agency</cite></figcaption></figure>",
        ),
        ("Map", "  ", None, "<figure>" + IMG.format(alt="Map") + "</figure>"),
    ],
)
def test_picture_markup_escapes_every_value(alt, caption, credit, expected):
    assert picture_markup(picture(), alt, caption, credit) == expected


def test_picture_markup_for_a_small_picture_has_its_one_width():
    markup = picture_markup(picture("300", 300, 200), "Logo", None, None)

    assert markup == (
        '<figure><picture><source type="image/webp" srcset="/media/7/300.webp 300w" '
        'sizes="(max-width: 44rem) 100vw, 44rem"><img src="/media/7/300.jpg" '
        'srcset="/media/7/300.jpg 300w" sizes="(max-width: 44rem) 100vw, 44rem" alt="Logo" '
        'width="300" height="200" loading="lazy"></picture></figure>'
    )


@pytest.mark.parametrize("alt", ["", "   \n\t", None])
def test_alt_text_is_required(alt):
    with pytest.raises(Invalid) as refused:
        picture_markup(picture(), alt, "Caption", None)

    assert refused.value.message == "Describe the picture in its alt text."
    assert refused.value.fields == {"alt": "Describe the picture in its alt text."}


def test_picture_markup_survives_the_body_cleaner(app):
    """The desk puts picture markup into entry bodies, which are cleaned when written."""
    from liveblog.content.bodies import prepare_body

    with app.app_context():
        stored = media.store_picture(io.BytesIO(picture_bytes((1200, 800))), "a.jpg", None)
        markup = str(media.picture_markup(stored, "Waves & spray", "The wall", "Ann Lee"))
    cleaned = prepare_body(markup)
    assert 'srcset="/media/' in cleaned and 'sizes="' in cleaned
    assert '<source type="image/webp" srcset="/media/' in cleaned
    assert 'alt="Waves &amp; spray"' in cleaned and "<figcaption>" in cleaned
    outside = prepare_body(markup.replace("/media/", "https://evil.example/media/"))
    assert "srcset" not in outside  # a srcset naming anything but our renditions is dropped
    swapped = prepare_body(markup.replace('type="image/webp"', 'type="text/html"'))
    assert "text/html" not in swapped


def test_served_webp_is_stored_or_made_from_the_jpeg_of_older_pictures(app, client):
    row = store(app, picture_bytes((1000, 600)))
    with client.get(f"/media/{row['id']}/960.webp") as response:
        assert (response.status_code, response.mimetype) == (200, "image/webp")
        assert response.data == stored_bytes(app, row["id"], 960, "webp")
    # A picture stored before WebP: its WebP is made once, on first asking.
    os.remove(os.path.join(app.instance_path, "media", str(row["id"]), "480.webp"))
    with client.get(f"/media/{row['id']}/480.webp") as response:
        assert response.status_code == 200
        assert Image.open(io.BytesIO(response.data)).size == (480, 288)
    assert stored_bytes(app, row["id"], 480, "webp") == response.data
    assert client.get(f"/media/{row['id']}/480.gif").status_code == 404


def test_the_cover_is_a_sized_responsive_picture_fetched_first(app, client, actions):
    row = store(app, picture_bytes((1200, 800)))
    actions.create_story(cover_url=f"/media/{row['id']}/1200.jpg", cover_alt="The quay")
    html = client.get("/stories/storm").get_data(as_text=True)
    cover = html[html.index('<figure class="story-cover">'):html.index("</figure>")]
    assert f'<source type="image/webp" srcset="/media/{row["id"]}/480.webp 480w' in cover
    assert 'width="1200" height="800"' in cover and 'fetchpriority="high"' in cover
    assert 'loading="lazy"' not in cover  # the first thing painted is not deferred
