"""The largest image of each kind Polybot accepts, made on the spot, and the
peak memory of a function's code path on it, measured in a child process.

Each image has MAX_PIXELS pixels (10,000 x 10,000) and compresses to a few
megabytes at most (gradients, so the repository holds no large files and
every file stays under the Bot API's 20 MB download limit). PNGs are written
row by row (16-bit ones too, which Pillow cannot save in colour), so making
one costs little memory.

A peak (`peak_mb`) is the child's maximum resident set (Linux's VmHWM): the
interpreter, the function's imports, the file's bytes as downloaded, and
everything the code path allocates, which is what Lambda holds against
MemorySize (and what the worker holds against its instance). `added_mb` is
what the code path alone added (VmHWM reset before it runs). Not
`ru_maxrss`: a child forked from a large process (the test session) inherits
the parent's figure across exec.
tracemalloc would miss what C code allocates (Pillow's and NumPy's buffers). Run as a module:

    python -m tests.auxil.largest_images make KIND PATH [SIDE]
    python -m tests.auxil.largest_images measure stage|worker|reply PATH
"""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

SIDE = 10_000
"""10,000 x 10,000 is imaging.MAX_PIXELS exactly: the largest accepted."""

# kind: (format, how it is made); see _make.
KINDS: dict[str, str] = {
    "JPEG RGB": "JPEG",
    "JPEG CMYK": "JPEG",
    "JPEG grey": "JPEG",
    "JPEG RGB progressive": "JPEG",
    "JPEG RGB progressive, the largest accepted": "JPEG",
    "PNG RGB": "PNG",
    "PNG RGBA": "PNG",
    "PNG palette": "PNG",
    "PNG 16-bit grey": "PNG",
    "PNG 16-bit RGBA": "PNG",
    "PNG interlaced RGB": "PNG",
    "GIF palette": "GIF",
    "TIFF 16-bit grey": "TIFF",
    "TIFF float grey": "TIFF",
    "WEBP RGBA": "WEBP",
    "WEBP RGB, the largest accepted": "WEBP",
}


def side_of(kind: str) -> int:
    """The image's width and height: SIDE, but for a WebP and a progressive
    JPEG at StageImage's limit for checking them (imaging.DECODE_WHOLE_BYTES
    at what their decoders hold a pixel)."""
    from polybot import imaging

    if kind == "WEBP RGB, the largest accepted":
        return math.isqrt(imaging.DECODE_WHOLE_BYTES // imaging._DECODER_BYTES_PER_PIXEL["WEBP"])
    if kind == "JPEG RGB progressive, the largest accepted":
        return math.isqrt(imaging.DECODE_WHOLE_BYTES // 3)  # 4:2:0: 1.5 samples a pixel, 2 bytes each
    return SIDE


def _png(path: Path, side: int, *, color_type: int, bit_depth: int, channels: int, palette: bytes = b"") -> None:
    """A side x side PNG of diagonal gradients, written one row at a time."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    import numpy as np

    dtype = ">u2" if bit_depth == 16 else "u1"
    # 16-bit samples are 8-bit ones times 257 (the whole 0..65535 range, and
    # compressible: noisy low bytes would make a 16-bit RGBA PNG of 700 MB).
    spread = 257 if bit_depth == 16 else 1
    x = np.arange(side, dtype=np.int64)
    compressor = zlib.compressobj(6)
    with path.open("wb") as out:
        header = struct.pack(">IIBBBBB", side, side, bit_depth, color_type, 0, 0, 0)
        out.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header))
        if palette:
            out.write(chunk(b"PLTE", palette))
        for y in range(side):
            row = np.empty((side, channels), dtype=dtype)
            for c in range(channels):
                row[:, c] = ((x * (c + 1) + y * (channels - c)) * 255 // (2 * side * channels)) % 256 * spread
            data = compressor.compress(b"\x00" + row.tobytes())
            if data:
                out.write(chunk(b"IDAT", data))
        out.write(chunk(b"IDAT", compressor.flush()))
        out.write(chunk(b"IEND", b""))


def _gradient(mode: str, side: int = SIDE) -> Any:
    import numpy as np
    from PIL import Image

    ramp = np.linspace(0, 255, side, dtype=np.float32)
    band = Image.fromarray(np.add.outer(ramp, ramp).__imod__(256).astype(np.uint8), "L")
    if mode == "L":
        return band
    bands = [band, band.transpose(Image.Transpose.FLIP_LEFT_RIGHT), band.transpose(Image.Transpose.FLIP_TOP_BOTTOM)]
    bands += [band.transpose(Image.Transpose.ROTATE_90)] * (len(mode) - 3)
    return Image.merge(mode, bands)


def make(kind: str, path: Path, side: int = 0) -> None:
    """The image of `kind` at `side` x `side` (0: side_of(kind)), in `path`."""
    import numpy as np
    from PIL import Image

    side = side or side_of(kind)

    if kind == "PNG RGB":
        _png(path, side, color_type=2, bit_depth=8, channels=3)
    elif kind == "PNG RGBA":
        _png(path, side, color_type=6, bit_depth=8, channels=4)
    elif kind == "PNG palette":
        _png(path, side, color_type=3, bit_depth=8, channels=1, palette=bytes(range(256)) * 3)
    elif kind == "PNG 16-bit grey":
        _png(path, side, color_type=0, bit_depth=16, channels=1)
    elif kind == "PNG 16-bit RGBA":
        _png(path, side, color_type=6, bit_depth=16, channels=4)
    elif kind == "PNG interlaced RGB":
        _gradient("RGB", side).save(path, "PNG", interlace=True, compress_level=6)
    elif kind == "JPEG RGB":
        _gradient("RGB", side).save(path, "JPEG", quality=90)
    elif kind == "JPEG CMYK":
        _gradient("CMYK", side).save(path, "JPEG", quality=90)
    elif kind.startswith("JPEG RGB progressive"):
        _gradient("RGB", side).save(path, "JPEG", quality=90, progressive=True)
    elif kind == "JPEG grey":
        _gradient("L", side).save(path, "JPEG", quality=90)
    elif kind == "GIF palette":
        _gradient("L", side).convert("P").save(path, "GIF")
    elif kind == "TIFF 16-bit grey":
        grey = np.asarray(_gradient("L", side), dtype=np.uint16) * 257
        Image.fromarray(grey).save(path, "TIFF", compression="tiff_adobe_deflate")
    elif kind == "TIFF float grey":
        Image.fromarray(np.asarray(_gradient("L", side), dtype=np.float32) / 7).save(
            path, "TIFF", compression="tiff_adobe_deflate"
        )
    elif kind == "WEBP RGBA":
        _gradient("RGBA", side).save(path, "WEBP", lossless=True, method=0, quality=0)
    elif kind == "WEBP RGB, the largest accepted":
        _gradient("RGB", side).save(path, "WEBP", lossless=True, method=0, quality=0)
    else:
        raise ValueError(kind)


def _status_mb(field: str) -> float:
    """A figure of /proc/self/status (VmRSS: resident now; VmHWM: its peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    raise LookupError(field)


def measure(target: str, path: Path) -> dict[str, Any]:
    """In this process: `target`'s imports, then its image code path on the file."""
    if target == "stage":
        import functions.stage_image  # noqa: F401 (what StageImage's process imports)
    elif target == "worker":
        import inference.worker  # noqa: F401
        from inference.decoding import decode_original
    elif target == "reply":
        from functions import send_reply
    else:
        raise ValueError(target)
    from polybot import imaging

    data = path.read_bytes()
    imports_peak = _status_mb("VmHWM")
    # The high-water mark restarts here, so `added_mb` is what the code path
    # adds to what the process holds (imports may have peaked higher and freed
    # it again, which would hide a smaller image's pixels under ru_maxrss).
    Path("/proc/self/clear_refs").write_text("5")
    baseline = _status_mb("VmRSS")
    outcome = "accepted"
    try:
        if target == "stage":
            imaging.inspect_image(data)
        elif target == "worker":
            decode_original(data)  # what the worker runs (OpenCV for a plain JPEG)
        else:
            send_reply.photo_for_telegram(data)
    except Exception as exc:
        outcome = type(exc).__name__
    return {
        "baseline_mb": round(baseline),
        "added_mb": round(_status_mb("VmHWM") - baseline, 1),
        "peak_mb": round(max(imports_peak, _status_mb("VmHWM"))),
        "outcome": outcome,
    }


def peak_in_child(target: str, path: Path) -> dict[str, Any]:
    """`measure` in a fresh Python process, so the peak is that code path's own."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "tests.auxil.largest_images", "measure", target, str(path)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def make_in_child(kind: str, path: Path, side: int = 0) -> None:
    """`make` in a fresh Python process (making one holds its pixels once)."""
    root = Path(__file__).resolve().parents[2]
    subprocess.run(
        [sys.executable, "-m", "tests.auxil.largest_images", "make", kind, str(path), str(side)],
        cwd=root,
        capture_output=True,
        timeout=600,
        check=True,
    )


if __name__ == "__main__":
    command, first, second = sys.argv[1:4]
    if command == "make":
        make(first, Path(second), int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    else:
        print(json.dumps(measure(first, Path(second))))
