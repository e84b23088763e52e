"""``nps survey share-link``: the URL, its QR code (decoded back to the URL), identified links' tokens, and one
line + exit code for every refusal."""

from __future__ import annotations

import struct
import time
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from local.environment import LocalStack
from nps.channels.site_tokens import ContactTokenStatus, verify_contact_token
from nps.cli.main import main as cli
from nps.sending.adapters.surveys import DynamoSurveyRepository
from nps.sending.surveys import Survey

BASE = "https://nps.example.test"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def put(stack: LocalStack, survey_id: str = "receipts", **share_link: Any) -> None:
    survey = Survey.model_validate(
        {
            "survey_id": survey_id,
            "name": "Receipts",
            "brand_name": "Acme",
            "sender": "surveys@example.com",
            "channels": ["email"],
            "share_link": {"enabled": True} | share_link,
        }
    )
    DynamoSurveyRepository(stack.tables["surveys"]).put(survey)


def run(*argv: str) -> int:
    return cli(["--local", "--prefix", "test", *argv], in_process=True)


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and rows (one byte per pixel, 0 black / 255 white) of a PNG without interlacing, bit
    depth 1 greyscale or palette (what segno writes); chunk CRCs checked."""
    assert data.startswith(PNG_SIGNATURE)
    offset, chunks = len(PNG_SIGNATURE), []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        offset += 12 + length
    assert chunks[0][0] == b"IHDR"
    assert chunks[-1][0] == b"IEND"
    width, height, depth, _colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert depth == 1
    assert interlace == 0
    palette = next((body for kind, body in chunks if kind == b"PLTE"), None)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = (width + 7) // 8
    rows, previous = [], bytes(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        method, scan = line[0], bytearray(line[1:])
        for i in range(stride):  # PNG filters (RFC 2083 §6); bit depth 1: the byte to the left is 1 back
            left = scan[i - 1] if i else 0
            up, corner = previous[i], previous[i - 1] if i else 0
            if method == 1:
                scan[i] = (scan[i] + left) & 0xFF
            elif method == 2:
                scan[i] = (scan[i] + up) & 0xFF
            elif method == 3:
                scan[i] = (scan[i] + (left + up) // 2) & 0xFF
            elif method == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                scan[i] = (scan[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        previous = bytes(scan)
        bits = [(scan[x // 8] >> (7 - x % 8)) & 1 for x in range(width)]
        values = [palette[3 * b] for b in bits] if palette is not None else [255 if b else 0 for b in bits]
        rows.append(bytes(values))
    return width, height, rows


def decode_png(data: bytes) -> str:
    """The text of the QR code in a PNG, read by zxing-cpp (a maintained decoder, a test dependency only)."""
    import zxingcpp  # a pinned dev dependency: its absence fails the test, never skips it

    width, height, rows = png_pixels(data)

    class Grey:
        """A greyscale image through the array interface zxing-cpp reads (no numpy needed)."""

        def __init__(self) -> None:
            self._buffer = b"".join(rows)
            self.__array_interface__ = {"shape": (height, width), "typestr": "|u1", "data": self._buffer, "version": 3}

    found = zxingcpp.read_barcodes(Grey())
    assert len(found) == 1
    return str(found[0].text)


def test_an_anonymous_link_prints_the_url_and_writes_a_png_that_decodes_to_it(
    platform: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    put(platform)
    png = tmp_path / "receipts.png"
    assert run("survey", "share-link", "receipts", "--base-url", BASE, "--qr", str(png)) == 0
    out, err = capsys.readouterr()
    assert out == f"{BASE}/s/receipts\n"
    assert "wrote" in err
    assert "PNG" in err
    width, height, _ = png_pixels(png.read_bytes())
    assert width == height >= 21 * 8
    assert decode_png(png.read_bytes()) == f"{BASE}/s/receipts"


def test_the_svg_is_well_formed_and_names_the_url(
    platform: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    put(platform)
    svg = tmp_path / "receipts.svg"
    assert run("survey", "share-link", "receipts", "--base-url", BASE, "--qr", str(svg)) == 0
    root = ET.fromstring(svg.read_bytes())  # noqa: S314 - the file this test just wrote
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.find("{http://www.w3.org/2000/svg}path") is not None
    assert root.findtext("{http://www.w3.org/2000/svg}title") == f"{BASE}/s/receipts"
    assert int(root.get("width", "0")) == int(root.get("height", "1")) > 0


def test_a_qr_file_that_cannot_be_written_prints_no_link_and_exits_1(
    platform: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a QR path in a folder that exists but takes no new files
    put(platform)
    # When the command cannot write the code
    code = run("survey", "share-link", "receipts", "--base-url", BASE, "--qr", "/proc/receipts.svg")
    out, err = capsys.readouterr()
    # Then no link is printed (a script reading stdout gets nothing half done), one line, exit 1
    assert (code, out) == (1, "")
    assert len(err.strip().splitlines()) == 1
    assert "cannot write" in err


def test_an_identified_link_carries_a_token_for_the_contact_of_the_given_lifetime(
    platform: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    put(platform, mode="identified", identified_max_days=60)
    assert run("survey", "share-link", "receipts", "--base-url", BASE, "--contact", "c-123", "--days", "45") == 0
    url = capsys.readouterr().out.strip()
    (token,) = parse_qs(urlparse(url).query)["t"]
    assert platform.site_keyring is not None
    check = verify_contact_token(platform.site_keyring, token, "receipts", time.time(), max_lifetime_seconds=60 * 86400)
    assert check.status is ContactTokenStatus.VALID
    assert check.claims is not None
    assert check.claims.contact_id == "c-123"
    assert 44 * 86400 < check.claims.expires_at - time.time() <= 45 * 86400


@pytest.mark.parametrize(
    ("share_link", "argv", "status", "message"),
    [
        ({}, ["unknown-survey"], 1, "no survey 'unknown-survey'"),
        ({"enabled": False}, ["receipts"], 1, "is off"),
        ({}, ["receipts", "--contact", "c-1"], 1, "is anonymous"),
        ({"mode": "identified"}, ["receipts"], 1, "give --contact"),
        (
            {"mode": "identified", "identified_max_days": 10},
            ["receipts", "--contact", "c-1", "--days", "20"],
            1,
            "at most 10 days",
        ),
        ({}, ["receipts", "--days", "5"], 2, "--days needs --contact"),
        ({}, ["receipts", "--qr", "code.gif"], 2, "must end in .svg or .png"),
        ({}, ["receipts", "--qr", "/no/such/folder/code.svg"], 2, "does not exist"),
        ({}, ["receipts", "--contact", "c-1", "--days", "400"], 2, "1 to 90 days"),
        ({}, ["receipts", "--base-url", "ftp://x"], 2, "must be an https URL"),
        ({}, ["receipts", "--base-url", "https://user@x.test"], 2, "needs a host name"),
        ({}, ["receipts", "--base-url", "http://x.test"], 2, "http only for localhost"),
    ],
)
def test_every_refusal_is_one_line_and_an_exit_code(
    platform: LocalStack,
    capsys: pytest.CaptureFixture[str],
    share_link: dict[str, Any],
    argv: list[str],
    status: int,
    message: str,
) -> None:
    put(platform, **share_link)
    base = [] if "--base-url" in argv else ["--base-url", BASE]
    try:
        code = run("survey", "share-link", *argv, *base)
    except SystemExit as exited:  # argparse's usage errors: the usage, then one line
        code = int(exited.code or 0)
    out, err = capsys.readouterr()
    assert code == status
    assert out == ""
    (line,) = [line for line in err.splitlines() if message in line]
    assert line.count("\n") == 0
    if status == 1:
        assert len([line for line in err.splitlines() if line.strip()]) == 1
