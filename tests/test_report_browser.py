"""The HTML report in a real browser: headless Chromium lays out `lfsplug run ... --report
html:report.html` and the test measures the charts from the DOM (the plot areas of the timeline
and of every resource chart share one left edge and one width, so a moment is at one x in all
of them; their time ticks line up; bars and lines stay inside), then takes a screenshot to prove
the page renders (a PNG of the window's size, not blank)."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest

from lfsplug.testing import Lfsplugger
from test_reports import TREE, run_with_reports

CHROMIUM = next((found for name in ("chromium", "chromium-browser", "google-chrome")
                 if (found := shutil.which(name))), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium to render the HTML "
                                "report (Debian: apt-get install chromium)")
WIDTH, HEIGHT = 1280, 1600

#: Injected into a copy of the report: each chart's plot area, time ticks, bars and lines, as
#: the browser laid them out, written into the page for --dump-dom to print.
MEASURE = """
<pre id="lfsplug-layout"></pre>
<script>
(function () {
  function box(e) { var b = e.getBoundingClientRect();
    return {left: b.left, right: b.right, top: b.top, bottom: b.bottom, width: b.width}; }
  var out = {charts: {}, page: document.documentElement.scrollWidth};
  document.querySelectorAll("svg").forEach(function (svg) {
    var plot = svg.querySelector("rect.plot");
    out.charts[svg.id] = {
      plot: plot ? box(plot) : null,
      ticks: Array.from(svg.querySelectorAll('text[text-anchor="middle"]')).map(function (t) {
        var b = t.getBoundingClientRect(); return b.left + b.width / 2; }),
      marks: Array.from(svg.querySelectorAll("rect.bar, polyline")).map(box)
    };
  });
  document.getElementById("lfsplug-layout").textContent = JSON.stringify(out);
})();
</script>
"""


def chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--user-data-dir={tmp / 'profile'}", f"--window-size={WIDTH},{HEIGHT}", *args],
        capture_output=True, text=True, timeout=120, check=False)


def layout(report: Path, tmp: Path) -> dict[str, Any]:
    page = tmp / "measured.html"
    html = report.read_text(encoding="utf-8")
    page.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    done = chromium(tmp, "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    text = done.stdout.split('<pre id="lfsplug-layout">', 1)[1].split("</pre>", 1)[0]
    measured: dict[str, Any] = json.loads(text.replace("&quot;", '"').replace("&amp;", "&"))
    return measured


def png_facts(path: Path) -> tuple[int, int, bytes]:
    """Width, height and the decompressed image data of a PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    chunks, at = [], 8
    while at < len(data):
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind == b"IDAT":
            chunks.append(data[at + 8:at + 8 + size])
        at += size + 12
    return width, height, zlib.decompress(b"".join(chunks))


def test_html_report_charts_share_one_time_axis_in_a_browser(lfsplugger: Lfsplugger) -> None:
    tree = {**TREE, "scripts/01-binutils.sh": "# lfsplug: name=binutils-pass1-and-a-long-name "
                                              "version=2.44 phase=cross\nsleep 0.3"}
    _result, paths = run_with_reports(lfsplugger, "html", tree=tree)
    tmp = lfsplugger.path / "browser"
    tmp.mkdir()
    measured = layout(paths["html"], tmp)
    found = measured["charts"]
    assert {"gantt", "chart-cpu", "chart-memory", "chart-disk"} <= set(found)
    plots = {name: chart["plot"] for name, chart in found.items()}
    assert all(plots.values()), plots
    gantt = plots["gantt"]
    for name, plot in plots.items():
        # one time axis: the same left edge and width, in the browser's own layout
        assert plot["left"] == pytest.approx(gantt["left"], abs=0.5), name
        assert plot["width"] == pytest.approx(gantt["width"], abs=0.5), name
        ticks = found[name]["ticks"]
        assert len(ticks) == len(found["gantt"]["ticks"]) >= 2, name
        for x, same in zip(ticks, found["gantt"]["ticks"], strict=True):
            assert x == pytest.approx(same, abs=1.0), name
        for mark in found[name]["marks"]:  # bars and lines stay inside the plot area
            assert plot["left"] - 1 <= mark["left"] and mark["right"] <= plot["right"] + 1, name
    assert gantt["left"] > 150  # room for the long script name, in every chart
    assert measured["page"] <= WIDTH  # no sideways scrolling at 1280 px

    shot = tmp / "report.png"
    done = chromium(tmp, f"--screenshot={shot}", paths["html"].as_uri())
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    width, height, pixels = png_facts(shot)
    assert (width, height) == (WIDTH, HEIGHT)
    # not blank: a white page is a handful of byte values; this one has charts and colours
    assert len(set(pixels[:: max(1, len(pixels) // 200_000)])) > 32
