"""Rendering a page in real headless Chromium (Debian package `chromium`), offline."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars")

# Sets, once the page has loaded, how many images decoded (complete, naturalWidth > 0) out of how many, and
# their natural sizes.
PROBE = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const shown = images.filter((i) => i.complete && i.naturalWidth > 0);
  document.body.dataset.imagesRendered = shown.length + "/" + images.length;
  document.body.dataset.imageSizes = images.map((i) => i.naturalWidth + "x" + i.naturalHeight).join(",");
});
</script>"""


def chromium() -> str | None:
    return next((path for name in ("chromium", "chromium-browser") if (path := shutil.which(name))), None)


def _run(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    exe = chromium()
    assert exe, "chromium is not installed"
    return subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=180, check=True)


def dump_dom_with_probe(page: Path, workdir: Path) -> str:
    """The DOM after load of a copy of `page` with PROBE added before </body>."""
    probed = workdir / "probed.html"
    probed.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    return _run(["--virtual-time-budget=10000", "--dump-dom", probed.as_uri()], workdir / "profile-dom").stdout


def screenshot(page: Path, workdir: Path, width: int = 1400, height: int = 3000) -> Path:
    out = workdir / "screenshot.png"
    _run([f"--window-size={width},{height}", f"--screenshot={out}", page.as_uri()], workdir / "profile-shot")
    return out
