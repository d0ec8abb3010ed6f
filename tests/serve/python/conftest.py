"""pytest fixtures of the serve client tests: the framescribe binary, the demo model, a server
running on it for the whole session, and test images made with Pillow.

    pytest tests/serve/python --framescribe build/cpu-release/apps/framescribe/framescribe \
        --model samples/models/framescribe-demo
"""

import base64
import io
import os
import sys

import pytest
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(__file__))
from serve_process import ServeProcess  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--framescribe", required=True, help="the framescribe binary")
    parser.addoption("--model", required=True, help="the model folder (the demo model)")


@pytest.fixture(scope="session")
def binary(request):
    return request.config.getoption("--framescribe")


@pytest.fixture(scope="session")
def model_dir(request):
    return request.config.getoption("--model")


@pytest.fixture(scope="session")
def server(binary, model_dir):
    # Greedy by default is the server's rule; the tests still pass temperature 0 where they
    # compare answers.
    with ServeProcess(binary, ["--model", model_dir]) as s:
        yield s
        assert s.alive(), "the server died during the tests:\n" + s.log()


def shape_image(kind="circle", colour=(30, 60, 220), size=(64, 64), offset=0):
    """A coloured shape on white, like the demo model's world."""
    img = Image.new("RGB", size, (255, 255, 255))
    d = ImageDraw.Draw(img)
    w, h = size
    box = (w // 4 + offset, h // 4, w // 4 + offset + w // 2, h // 4 + h // 2)
    if kind == "circle":
        d.ellipse(box, fill=colour)
    else:
        d.rectangle(box, fill=colour)
    return img


def encode(img, fmt="PNG", **kw):
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def data_uri(img, fmt="PNG", **kw):
    mime = "image/jpeg" if fmt == "JPEG" else "image/" + fmt.lower()
    return f"data:{mime};base64," + base64.b64encode(encode(img, fmt, **kw)).decode()


@pytest.fixture(scope="session")
def images():
    """Three distinct small images (PNG bytes)."""
    return [encode(shape_image("circle", (30, 60, 220))),
            encode(shape_image("square", (230, 200, 30))),
            encode(shape_image("circle", (220, 40, 40), offset=8))]
