"""IIIF Image API 3.0: request parsing, errors with statuses, levels, rendering, info.json."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from lims.errors import UserError
from lims.imaging.tiles import (
    Limits,
    TileRequest,
    TileRequestError,
    choose_level,
    encode,
    info_json,
    level_box,
    parse_quality_format,
    parse_region,
    parse_request,
    parse_rotation,
    parse_size,
    render,
)

W, H = 1000, 600
NO_LIMITS = Limits()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("full", (0, 0, 1000, 600)),
        ("square", (200, 0, 600, 600)),
        ("0,0,256,256", (0, 0, 256, 256)),
        ("768,512,256,256", (768, 512, 232, 88)),  # cropped at the edges
        ("pct:10,50,25,50", (100, 300, 250, 300)),
        ("pct:0.5,0,99.5,100", (5, 0, 995, 600)),
    ],
)
def test_regions(text: str, expected: tuple[int, int, int, int]) -> None:
    assert parse_region(text, W, H) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "fulll",
        "0,0,256",
        "0,0,-1,5",
        "a,b,c,d",
        "0,0,0,10",
        "0,0,10,0",
        "1000,0,10,10",  # entirely outside
        "0,600,10,10",
        "pct:0,0,0,10",
        "pct:100,0,10,10",
        "pct:1e2,0,1,1",
    ],
)
def test_bad_regions_are_400(text: str) -> None:
    with pytest.raises(TileRequestError) as error:
        parse_region(text, W, H)
    assert error.value.status == 400
    assert isinstance(error.value, UserError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("max", (400, 300)),
        ("200,", (200, 150)),
        (",150", (200, 150)),
        ("pct:50", (200, 150)),
        ("100,100", (100, 100)),
        ("!100,100", (100, 75)),
        ("!1000,1000", (400, 300)),  # never larger than the region without ^
        ("^800,", (800, 600)),
        ("^,600", (800, 600)),
        ("^pct:150", (600, 450)),
        ("^!800,800", (800, 600)),
        ("^800,100", (800, 100)),
        ("^max", (400, 300)),
    ],
)
def test_sizes(text: str, expected: tuple[int, int]) -> None:
    assert parse_size(text, 400, 300, NO_LIMITS) == expected


def test_max_respects_limits() -> None:
    assert parse_size("max", 4000, 3000, Limits(max_width=1000)) == (1000, 750)
    assert parse_size("max", 4000, 3000, Limits(max_area=1200 * 900)) == (1200, 900)
    assert parse_size("^max", 400, 300, Limits(max_width=800)) == (800, 600)


@pytest.mark.parametrize(
    "text",
    [
        "full",
        "",
        ",",
        "!,100",
        "!100,",
        "401,",
        ",301",
        "pct:101",
        "401,10",
        "0,",
        "pct:0",
        "^",
        "w,h",
        "^^100,",
        "pct:-5",
        "1,1,1",
        "!0,10",
    ],
)
def test_bad_sizes_are_400(text: str) -> None:
    with pytest.raises(TileRequestError) as error:
        parse_size(text, 400, 300, NO_LIMITS)
    assert error.value.status == 400


def test_size_beyond_limits_is_400() -> None:
    with pytest.raises(TileRequestError, match="limits"):
        parse_size("^2000,", 400, 300, Limits(max_width=1000))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", (0, False)),
        ("90", (90, False)),
        ("!180", (180, True)),
        ("270.0", (270, False)),
        ("360", (0, False)),
    ],
)
def test_rotations(text: str, expected: tuple[int, bool]) -> None:
    assert parse_rotation(text) == expected


@pytest.mark.parametrize(
    ("text", "status"),
    [("45", 501), ("!22.5", 501), ("361", 400), ("-90", 400), ("x", 400), ("", 400)],
)
def test_bad_rotations(text: str, status: int) -> None:
    with pytest.raises(TileRequestError) as error:
        parse_rotation(text)
    assert error.value.status == status


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("default.jpg", ("default", "jpg")),
        ("gray.png", ("gray", "png")),
        ("color.jpg", ("color", "jpg")),
    ],
)
def test_quality_format(text: str, expected: tuple[str, str]) -> None:
    assert parse_quality_format(text) == expected


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("default", 400),
        ("grey.jpg", 400),
        ("default.bmp", 400),
        ("default.", 400),
        ("bitonal.png", 501),
        ("default.webp", 501),
        ("default.tif", 501),
    ],
)
def test_bad_quality_format(text: str, status: int) -> None:
    with pytest.raises(TileRequestError) as error:
        parse_quality_format(text)
    assert error.value.status == status


def test_parse_request_and_level_choice() -> None:
    request = parse_request("0,0,1024,1024", "256,", "0", "default.jpg", width=4096, height=4096)
    assert request == TileRequest(0, 0, 1024, 1024, 256, 256)
    assert choose_level(request, levels=5) == 2
    assert choose_level(request, levels=2) == 1
    assert level_box(request, 2, (1024, 1024)) == (0, 256, 0, 256)
    edge = parse_request("3584,3584,512,512", "max", "0", "default.png", width=4000, height=3700)
    assert (edge.region_width, edge.region_height) == (416, 116)
    assert choose_level(edge, 5) == 0
    half = TileRequest(3584, 3584, 416, 116, 208, 58)
    assert level_box(half, 1, (1850, 2000)) == (1792, 1850, 1792, 2000)


def test_render_scales_mirrors_and_rotates() -> None:
    pixels = np.zeros((20, 40), np.uint8)
    pixels[0, 0] = 255  # top-left marker
    request = TileRequest(0, 0, 40, 20, 20, 10, rotation=90, mirror=True)
    image = render(pixels, request)
    assert image.size == (10, 20)  # rotated by 90: width and height swap
    out = np.asarray(image)
    # mirror puts the marker top-right; a clockwise quarter turn moves it bottom-right
    assert np.unravel_index(out.argmax(), out.shape) == (19, 9)
    colour = render(np.zeros((4, 4, 3), np.uint8), TileRequest(0, 0, 4, 4, 4, 4, quality="gray"))
    assert colour.mode == "L"


def test_encode() -> None:
    pixels = np.arange(64, dtype=np.uint8).reshape(8, 8)
    assert Image.open(io.BytesIO(encode(pixels, "jpg"))).format == "JPEG"
    png = Image.open(io.BytesIO(encode(pixels, "png")))
    np.testing.assert_array_equal(np.asarray(png), pixels)
    rgba = np.zeros((4, 4, 4), np.uint8)
    assert Image.open(io.BytesIO(encode(rgba, "jpg"))).mode == "RGB"
    with pytest.raises(TileRequestError):
        encode(pixels, "gif")


def test_info_json_level1() -> None:
    info = info_json("https://lab/iiif/abc/", 32000, 27000, limits=Limits(max_area=4096**2))
    assert info["@context"] == "http://iiif.io/api/image/3/context.json"
    assert info["id"] == "https://lab/iiif/abc"
    assert info["type"] == "ImageService3"
    assert info["protocol"] == "http://iiif.io/api/image"
    assert info["profile"] == "level1"
    assert (info["width"], info["height"]) == (32000, 27000)
    assert info["tiles"] == [
        {"width": 256, "height": 256, "scaleFactors": [1, 2, 4, 8, 16, 32, 64, 128]}
    ]
    assert info["sizes"][0] == {"width": 250, "height": 211}
    assert all(s["width"] * s["height"] <= 4096**2 for s in info["sizes"])
    assert info["extraFormats"] == ["png"]
    assert info["extraQualities"] == ["gray"]
    assert "maxArea" in info
    assert "maxWidth" not in info
    assert info_json("u", 100, 100, is_color=True)["extraQualities"] == ["gray", "color"]
