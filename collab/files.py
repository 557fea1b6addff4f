"""Uploaded images: recognised by their bytes, measured by decoding them, named by their hash (no I/O).

An image item's ``file`` names a file uploaded to its note with
``POST /api/notes/<note>/files``. Only PNG, JPEG, WebP and GIF are taken, and
only when the bytes are of the type the request says (``Content-Type``):
never SVG or anything else a browser would run. Pillow decodes the header to
read the size; a picture of more than ``COLLAB_MAX_IMAGE_PIXELS`` pixels is
refused before it is decoded further (a decompression bomb). A file's id is
the SHA-256 of its bytes, so the same bytes uploaded twice are one file.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass

from .errors import BadRequest, TooLarge, UnsupportedMediaType

#: Types taken, by the magic bytes that start them.
TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
_PIL_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP", "image/gif": "GIF"}
#: A file id: the hex SHA-256 of the bytes.
FILE_ID_RE = re.compile(r"[0-9a-f]{64}\Z")


@dataclass(frozen=True, slots=True)
class Upload:
    """A checked upload: what the files API answers and the store keeps."""

    file: str
    type: str
    bytes: int
    width: int
    height: int

    def as_json(self) -> dict[str, object]:
        """The ``POST /api/notes/<note>/files`` answer."""
        return {"file": self.file, "type": self.type, "bytes": self.bytes, "width": self.width, "height": self.height}


def sniff(data: bytes) -> str | None:
    """The image type the bytes start with, or ``None``."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check(data: bytes, content_type: str | None, max_bytes: int, max_pixels: int) -> Upload:
    """Validate an upload; :class:`UnsupportedMediaType` (415), :class:`TooLarge` (413) or :class:`BadRequest`."""
    if not data:
        raise BadRequest("send the image's bytes as the request body")
    if len(data) > max_bytes:
        raise TooLarge(f"the file has {len(data):,} bytes; at most {max_bytes:,} (COLLAB_MAX_FILE_BYTES)")
    declared = (content_type or "").split(";", 1)[0].strip().lower()
    kind = sniff(data)
    if kind is None:
        raise UnsupportedMediaType("only PNG, JPEG, WebP and GIF images can be uploaded")
    if declared != kind:
        raise UnsupportedMediaType(f"the bytes are {kind}, but Content-Type says {declared or 'nothing'}; send {kind}")
    width, height = _measure(data, kind, max_pixels)
    return Upload(hashlib.sha256(data).hexdigest(), kind, len(data), width, height)


def _measure(data: bytes, kind: str, max_pixels: int) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[kind]]) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise TooLarge(
                        f"the image is {width}x{height} pixels; at most {max_pixels:,} pixels (COLLAB_MAX_IMAGE_PIXELS)"
                    )
                img.verify()  # the structure holds together, without decoding every pixel
    except TooLarge:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise TooLarge(f"the image has too many pixels: {exc}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise UnsupportedMediaType(f"the file is not a readable {kind} image ({exc})") from None
    if width < 1 or height < 1:
        raise UnsupportedMediaType("the image has no pixels")
    return width, height


def file_id(value: str) -> str:
    """A file id from a URL, or :class:`BadRequest`."""
    if not FILE_ID_RE.match(value):
        raise BadRequest("a file id is the 64 hex digits of its SHA-256")
    return value
