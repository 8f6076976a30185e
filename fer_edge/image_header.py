"""An image's width and height read from its header, before anything decodes it.

A decoder allocates what the header claims: a 1 MB PNG of one colour can claim 20000x20000 pixels
and take gigabytes to decode (a zip of a few such files pushed `data info` past 3 GB). Readers
check the claimed size against a budget first (`check_image_budget`). Formats are recognised by
their bytes, not their names, since OpenCV decodes by content: a file whose format is not one
of these is refused, as nothing could size it beforehand.
"""

from __future__ import annotations

import struct

from fer_edge.errors import FerEdgeError

FORMATS = "PNG, JPEG, BMP, GIF, WebP, TIFF, JPEG 2000 or PNM"


def _png(data: bytes) -> tuple[int, int] | None:
    if len(data) >= 24 and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    return None


def _jpeg(data: bytes) -> tuple[int, int] | None:
    """The first frame header (SOFn) after walking the marker segments (EXIF thumbnails live inside
    APP1's segment, so they are skipped with it)."""
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length field
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if i + 9 > len(data):
                return None
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        if length < 2:
            return None
        i += 2 + length
    return None


def _bmp(data: bytes) -> tuple[int, int] | None:
    if len(data) < 26:
        return None
    (header,) = struct.unpack("<I", data[14:18])
    if header == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
        return struct.unpack("<HH", data[18:22])
    w, h = struct.unpack("<ii", data[18:26])
    return abs(w), abs(h)  # a negative height is a top-down bitmap


def _gif(data: bytes) -> tuple[int, int] | None:
    return struct.unpack("<HH", data[6:10]) if len(data) >= 10 else None


def _webp(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return (int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1)
    return None


def _tiff(data: bytes) -> tuple[int, int] | None:
    """ImageWidth (256) and ImageLength (257) of the first directory, the page OpenCV reads."""
    end = "<" if data[:2] == b"II" else ">"
    if len(data) < 8:
        return None
    (offset,) = struct.unpack(end + "I", data[4:8])
    if offset + 2 > len(data):
        return None
    (count,) = struct.unpack(end + "H", data[offset:offset + 2])
    sizes = {}
    for k in range(count):
        at = offset + 2 + 12 * k
        if at + 12 > len(data):
            return None
        tag, kind = struct.unpack(end + "HH", data[at:at + 4])
        if tag in (256, 257):
            fmt = end + ("H" if kind == 3 else "I")
            sizes[tag] = struct.unpack(fmt, data[at + 8:at + 8 + struct.calcsize(fmt)])[0]
    return (sizes[256], sizes[257]) if len(sizes) == 2 else None


def _jp2(data: bytes) -> tuple[int, int] | None:
    """A JP2 file's 'ihdr' box, or a bare codestream's SIZ segment (image extent less its offset)."""
    if data[:4] == b"\xff\x4f\xff\x51":
        if len(data) < 24:
            return None
        xsiz, ysiz, xo, yo = struct.unpack(">IIII", data[8:24])
        return max(0, xsiz - xo), max(0, ysiz - yo)
    at = bytes(data[:4096]).find(b"ihdr")
    if at < 0 or at + 12 > len(data):
        return None
    h, w = struct.unpack(">II", data[at + 4:at + 12])
    return w, h


def _pnm(data: bytes) -> tuple[int, int] | None:
    """P1-P6: width and height are the first two numbers after the magic (comments skipped);
    P7 (PAM) names them WIDTH and HEIGHT."""
    text = bytes(data[:4096]).decode("latin-1")
    if text[:2] == "P7":
        fields = dict(line.split(None, 1) for line in text.splitlines()[1:] if len(line.split(None, 1)) == 2)
        try:
            return int(fields["WIDTH"]), int(fields["HEIGHT"])
        except (KeyError, ValueError):
            return None
    words = []
    for line in text[2:].splitlines():
        words += line.split("#", 1)[0].split()
        if len(words) >= 2:
            break
    try:
        return int(words[0]), int(words[1])
    except (IndexError, ValueError):
        return None


def image_size(data: bytes) -> tuple[str, tuple[int, int] | None] | None:
    """(format, (width, height)) from the first bytes of an image file; the size is None when the
    format is known but its header is damaged; None when the format is none of FORMATS. `data`:
    bytes or any buffer (a numpy array of a file's bytes)."""
    data = memoryview(data).cast("B")
    head = bytes(data[:16])
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG", _png(data)
    if head.startswith(b"\xff\xd8"):
        return "JPEG", _jpeg(data)
    if head.startswith(b"BM"):
        return "BMP", _bmp(data)
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF", _gif(data)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP", _webp(data)
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF", _tiff(data)
    if head.startswith((b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")):
        return "JPEG 2000", _jp2(data)
    if len(head) >= 3 and head[0:1] == b"P" and head[1:2] in b"1234567" and head[2:3].isspace():
        return "PNM", _pnm(data)
    return None


def check_image_budget(data: bytes, where: str, max_pixels: int) -> tuple[int, int]:
    """(width, height) of the image in `data`, or a FerEdgeError when its format is unknown, its
    header unreadable, or it claims more than `max_pixels` pixels (before any decoder allocates them)."""
    found = image_size(data)
    if found is None:
        raise FerEdgeError(f"{where}: not a readable image (expected {FORMATS})")
    kind, size = found
    if size is None or min(size) <= 0:
        raise FerEdgeError(f"{where}: not a readable image (damaged {kind} header)")
    w, h = size
    if w * h > max_pixels:
        raise FerEdgeError(f"{where}: a {w}x{h} image is larger than the {max_pixels / 1e6:.0f} megapixels "
                           "this reader decodes")
    return w, h
