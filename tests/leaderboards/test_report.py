"""`mabench report`: one self-contained HTML file with embedded plots, rendered in real headless Chromium."""

from __future__ import annotations

import base64
import re
import struct

import numpy as np
import pytest
from PIL import Image

from tests.leaderboards.browser import chromium, dump_dom_with_probe, screenshot
from tests.leaderboards.helpers import flat, invoke
from tests.leaderboards.runs import write_run

# Figures: a bar chart per plotted metric (6 headline + format_rate + completion_tokens), one coverage/pass@k
# against tokens chart per task, and a reliability diagram per run x task x mode.
BAR_CHARTS = 8


@pytest.fixture(scope="module")
def report(checkpoints, tiny_runs, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    result = invoke("report", checkpoints.baseline, checkpoints.regressed, tiny_runs.seed7, "-o", path,
                    "--title", "Checkpoints <100 & 200>")
    assert result.exit_code == 0, result.output
    return path


def embedded_pngs(html: str) -> list[bytes]:
    return [base64.b64decode(b) for b in re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_the_report_is_one_self_contained_file_with_every_section(report, checkpoints, tiny_runs):
    html = report.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<title>Checkpoints &lt;100 &amp; 200&gt;</title>" in html
    assert re.findall(r'(?:src|href)="(?!data:image/png;base64,)', html) == []  # nothing loaded from elsewhere
    assert "<script" not in html and "<link" not in html and "url(" not in html
    for heading in ("Runs", "Leaderboard", "Per-task metrics with 95% CIs", "Coverage and pass@k against tokens",
                    "Reliability diagrams", "All metrics"):
        assert f"<h2>{heading}</h2>" in html
    images = embedded_pngs(html)
    assert len(images) == html.count("<img") == BAR_CHARTS + 1 + 3 * 2
    assert all(png_size(png)[0] > 200 for png in images)
    for run in (checkpoints.baseline, checkpoints.regressed, tiny_runs.seed7):
        assert run.name in html
    assert "ckpt-100 [" in html and "ambigqa/multi: ECE 0.067" in html  # reliability caption from metrics.json


@pytest.mark.skipif(chromium() is None, reason="Chromium is not installed (Debian: apt-get install chromium)")
def test_chromium_renders_the_page_and_decodes_every_image(report, tmp_path):
    dom = dump_dom_with_probe(report, tmp_path)
    images = embedded_pngs(report.read_text())
    rendered = re.search(r'data-images-rendered="(\d+)/(\d+)"', dom)
    assert rendered, "the page's load event did not run"
    assert rendered.groups() == (str(len(images)), str(len(images)))
    sizes = re.search(r'data-image-sizes="([^"]*)"', dom).group(1).split(",")
    assert sizes == [f"{w}x{h}" for w, h in map(png_size, images)]


@pytest.mark.skipif(chromium() is None, reason="Chromium is not installed (Debian: apt-get install chromium)")
def test_the_screenshot_shows_the_tables_and_the_coloured_plots(report, tmp_path):
    shot = np.asarray(Image.open(screenshot(report, tmp_path)).convert("RGB")).astype(int)
    assert shot.shape == (3000, 1400, 3)
    saturation = shot.max(axis=2) - shot.min(axis=2)
    coloured = saturation > 80  # the page itself is grey on white: colour comes from the plots only
    assert coloured.sum() > 20_000
    dark = shot.max(axis=2) < 100  # text and table borders
    assert dark.sum() > 5_000
    rows_with_colour = np.flatnonzero(coloured.any(axis=1))
    assert rows_with_colour.max() - rows_with_colour.min() > 1_000  # several figures down the page


def test_a_run_in_progress_is_flagged_in_the_report(checkpoints, tmp_path):
    running = write_run(tmp_path / "runs", "ckpt-700", lambda i: i % 2 == 0, status="running", limit=6)
    out = tmp_path / "report.html"
    refused = invoke("report", running, "-o", out)
    assert refused.exit_code == 2 and "still in progress" in flat(refused.stderr) and not out.exists()
    included = invoke("report", running, checkpoints.baseline, "-o", out, "--include-running")
    assert included.exit_code == 0
    html = out.read_text()
    assert f"{running}: run {running.name} is still in progress" in flat(html)
    assert '<tr class="running">' in html and "RUNNING" in html


def test_bad_input_exits_2_without_writing(tmp_path):
    (tmp_path / "empty").mkdir()
    result = invoke("report", tmp_path / "empty", "-o", tmp_path / "r.html")
    assert result.exit_code == 2 and "empty directory" in result.stderr and not (tmp_path / "r.html").exists()
