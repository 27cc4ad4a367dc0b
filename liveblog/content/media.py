"""Pictures: checked from their bytes, stored re-encoded without metadata, served and marked up."""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import secrets
import shutil
from typing import BinaryIO

from flask import Blueprint, abort, current_app, send_from_directory
from markupsafe import Markup
from PIL import Image, ImageCms, ImageOps

from liveblog.errors import Invalid
from liveblog.extensions import db
from liveblog.models import Media

bp = Blueprint("media", __name__)

WIDTHS = (480, 960, 1600)
MAX_UPLOAD_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 50_000_000
JPEG_QUALITY = 82
WEBP_QUALITY = 80
JPEG_MAX_SIDE = 65_535
CACHE_SECONDS = 365 * 24 * 60 * 60
SIZES = "(max-width: 44rem) 100vw, 44rem"
# Pillow's names for what we accept. Pillow calls many phone JPEGs "MPO"; JPEG opens those too.
CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}
NOT_A_PICTURE = "That file is not a picture (JPEG, PNG, GIF or WebP)."
# What Pillow raises on bytes it cannot parse or decode, besides its own decompression-bomb guard.
_UNREADABLE = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError)
_SRGB = ImageCms.createProfile("sRGB")


def media_folder(media_id: int | None = None) -> str:
    """The folder holding every picture, or one picture's files."""
    root = os.path.join(current_app.instance_path, "media")
    return root if media_id is None else os.path.join(root, str(media_id))


def stored_widths(media: Media) -> list[int]:
    """The widths stored for a picture, smallest first."""
    return sorted(int(width) for width in media.widths.split(",") if width)


def height_at(media: Media, width: int) -> int:
    """The height of the stored file that is width pixels wide."""
    return _scaled_height(media.width, media.height, width)


# Every stored width exists as a JPEG, which every browser shows, and as a WebP, about a third
# smaller, which <picture> offers first.
FORMATS = {"jpg": ("JPEG", "image/jpeg"), "webp": ("WEBP", "image/webp")}
_OWN_JPEG = re.compile(r"/media/([0-9]+)/[0-9]+\.jpg")


def picture_url(media: Media, width: int, extension: str = "jpg") -> str:
    """The local URL of one stored width of a picture, as a JPEG or a WebP."""
    return f"/media/{media.id}/{width}.{extension}"


def media_at(url: str | None) -> Media | None:
    """The stored picture a local picture URL points at, if it is one of ours."""
    match = _OWN_JPEG.fullmatch(url or "")
    return db.session.get(Media, int(match.group(1))) if match else None


def store_picture(stream: BinaryIO, filename: str, uploader_id: int | None) -> Media:
    """Check an uploaded picture, store it re-encoded at our widths and commit its Media row.

    The filename is only logged: the type comes from the bytes. On any failure nothing is kept.
    """
    config = current_app.config
    data = _read_at_most(stream, config.get("MAX_PICTURE_BYTES", MAX_UPLOAD_BYTES))
    digest = hashlib.sha256(data).hexdigest()
    existing = db.session.scalar(db.select(Media).filter_by(sha256=digest).limit(1))
    if existing is not None and os.path.isdir(media_folder(existing.id)):
        return existing  # the same bytes again: the stored files are already what we would make
    image, content_type = _decode(data, config.get("MAX_PICTURE_PIXELS", MAX_PIXELS))
    # Our steps below the original, and the original itself up to the largest step, so a
    # 1000-pixel photo keeps its 1000 pixels instead of dropping to 960.
    widths = sorted({width for width in WIDTHS if width < image.width}
                    | {min(image.width, WIDTHS[-1])})
    if _scaled_height(image.width, image.height, widths[-1]) > JPEG_MAX_SIDE:
        raise Invalid("The picture is too tall and narrow to publish.")
    # Encode everything before touching the database or the disk, so a failure leaves nothing.
    files = {f"{width}.{extension}": _encode(image, width, extension)
             for width in widths for extension in FORMATS}
    media = Media(
        uploader_id=uploader_id,
        content_type=content_type,
        width=image.width,
        height=image.height,
        widths=",".join(str(width) for width in widths),
        sha256=digest,
    )
    db.session.add(media)
    folder = None
    try:
        db.session.flush()  # assigns the id that names the folder
        folder = _write_folder(media.id, files)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    current_app.logger.info("Stored picture %s from upload %r", media.id, filename)
    return media


def picture_markup(media: Media, alt: str, caption: str | None, credit: str | None) -> str:
    """A responsive <figure> for a stored picture, every value escaped; alt text is required."""
    alt = (alt or "").strip()
    if not alt:
        message = "Describe the picture in its alt text."
        raise Invalid(message, {"alt": message})
    caption, credit = (caption or "").strip(), (credit or "").strip()
    parts = [Markup("{}").format(caption)] if caption else []
    if credit:
        parts.append(Markup("<cite>{}</cite>").format(credit))
    figcaption = Markup("<figcaption>{}</figcaption>").format(Markup(" ").join(parts))
    element = picture_element(media, alt, loading="lazy")
    return Markup("<figure>{}{}</figure>").format(element, figcaption if parts else "")


def picture_element(media: Media, alt: str, loading: str = "lazy") -> Markup:
    """<picture> with a WebP source and a JPEG <img> at every stored width, sized against shift.

    `loading="eager"` is for the picture at the top of a page (the story's cover): it is the
    largest thing painted first, so the browser should fetch it at once.
    """
    widths = stored_widths(media)
    largest = widths[-1]

    def srcset(extension: str) -> str:
        return ", ".join(f"{picture_url(media, width, extension)} {width}w" for width in widths)

    priority = Markup(' fetchpriority="high"') if loading == "eager" else Markup("")
    return Markup(
        '<picture><source type="image/webp" srcset="{}" sizes="{}">'
        '<img src="{}" srcset="{}" sizes="{}" alt="{}" width="{}" height="{}" loading="{}"{}>'
        "</picture>"
    ).format(srcset("webp"), SIZES, picture_url(media, largest), srcset("jpg"), SIZES, alt,
             largest, height_at(media, largest), loading, priority)


@bp.get("/media/<int:media_id>/<int:width>.<extension>")
def serve(media_id: int, width: int, extension: str):
    """Serve one stored width of a picture; its URL never changes content, so cache it for good."""
    media = db.session.get(Media, media_id)
    if media is None or width not in stored_widths(media) or extension not in FORMATS:
        abort(404)
    name = f"{width}.{extension}"
    if not os.path.exists(os.path.join(media_folder(media_id), name)):
        _make_missing_format(media_id, width, extension)
    response = send_from_directory(media_folder(media_id), name,
                                   mimetype=FORMATS[extension][1], max_age=CACHE_SECONDS)
    response.cache_control.immutable = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _make_missing_format(media_id: int, width: int, extension: str) -> None:
    # Pictures stored before WebP existed here (or imported without it) get it on first asking,
    # from their JPEG at the same width; written aside and renamed, so no reader sees half a file.
    folder = media_folder(media_id)
    try:
        with Image.open(os.path.join(folder, f"{width}.jpg")) as jpeg:
            jpeg.load()
            content = _encode(jpeg, width, extension)
    except OSError:
        abort(404)
    temporary = os.path.join(folder, f".{width}.{extension}.{secrets.token_hex(4)}")
    with open(temporary, "wb") as handle:
        handle.write(content)
    os.replace(temporary, os.path.join(folder, f"{width}.{extension}"))


def _read_at_most(stream: BinaryIO, limit: int) -> bytes:
    # One byte past the limit is enough to know it is too big, without reading the rest.
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise Invalid(f"The picture is larger than {_describe_bytes(limit)}.")
    return data


def _describe_bytes(count: int) -> str:
    mebibyte = 1024 * 1024
    if count >= mebibyte:
        return f"{round(count / mebibyte)} MB"
    return f"{math.ceil(count / 1024)} KB"


def _decode(data: bytes, max_pixels: int) -> tuple[Image.Image, str]:
    """Open the bytes as an accepted format, refuse huge canvases, decode and upright them."""
    limit = f"the limit is {max_pixels / 1_000_000:g} megapixels"
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG", "PNG", "GIF", "WEBP"]) as image:
            width, height = image.size  # from the header: nothing is decoded yet
            if width * height > max_pixels:
                raise Invalid(f"The picture is too large: {width} × {height} pixels; {limit}.")
            content_type = CONTENT_TYPES[image.format or ""]
            image.load()  # GIF and WebP: the first frame
            upright = ImageOps.exif_transpose(image)
            picture = _flatten(_to_srgb(upright))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own guard fires inside Image.open, above ~89 MP (a warning, an error in tests)
        # or ~179 MP (an error), before we can read the size from the header.
        raise Invalid(f"The picture is too large; {limit}.") from None
    except (*_UNREADABLE, KeyError):
        raise Invalid(NOT_A_PICTURE) from None
    return picture, content_type


def _to_srgb(image: Image.Image) -> Image.Image:
    # We drop embedded profiles, so convert their pixels to sRGB first: a phone's Display P3
    # photo would otherwise come out dull.
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(image, profile, _SRGB, outputMode=mode) or image
    except (ImageCms.PyCMSError, *_UNREADABLE):
        return image  # a broken profile: the pixels as they are beat refusing the picture


def _flatten(image: Image.Image) -> Image.Image:
    """RGB pixels with transparency laid on white (JPEG has no alpha) and no metadata at all."""
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        picture = Image.new("RGB", rgba.size, "white")
        picture.paste(rgba, mask=rgba.getchannel("A"))
    else:
        picture = image.convert("RGB")
    # EXIF (with GPS), XMP, ICC and comments must not reach the files we publish.
    picture.info.clear()
    return picture


def _scaled_height(width: int, height: int, new_width: int) -> int:
    return max(1, round(height * new_width / width))


def _encode(picture: Image.Image, width: int, extension: str = "jpg") -> bytes:
    """The picture at width pixels wide as a progressive JPEG or a WebP."""
    if width != picture.width:
        size = (width, _scaled_height(picture.width, picture.height, width))
        picture = picture.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    buffer = io.BytesIO()
    if extension == "webp":
        picture.save(buffer, "WEBP", quality=WEBP_QUALITY, method=4)
    else:
        picture.save(buffer, "JPEG", quality=JPEG_QUALITY, progressive=True, optimize=True)
    return buffer.getvalue()


def _write_folder(media_id: int, files: dict[str, bytes]) -> str:
    """Write the files into a temporary folder and rename it into place in one step."""
    root = media_folder()
    os.makedirs(root, exist_ok=True)
    temporary = os.path.join(root, f".upload-{secrets.token_hex(8)}")
    os.mkdir(temporary)
    try:
        for name, content in files.items():
            with open(os.path.join(temporary, name), "wb") as handle:
                handle.write(content)
        final = media_folder(media_id)
        # The id is ours now; a folder already there was left by a crash before a commit.
        shutil.rmtree(final, ignore_errors=True)
        os.rename(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return final
