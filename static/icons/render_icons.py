"""Render the PNG app icons from icon.svg and maskable.svg with Debian's chromium.

    . .venv/bin/activate && python static/icons/render_icons.py

The PNGs are committed; run this again only after changing an SVG.
"""
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
# (source, output, size): "any" icons keep their rounded corners on a transparent
# background; maskable ones and Apple's (which iOS rounds itself) are full-bleed.
ICONS = [
    ("icon.svg", "icon-192.png", 192),
    ("icon.svg", "icon-512.png", 512),
    ("maskable.svg", "maskable-192.png", 192),
    ("maskable.svg", "maskable-512.png", 512),
    ("maskable.svg", "apple-touch-icon.png", 180),
]


def main():
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--headless", "--no-sandbox", "--disable-gpu"])
        for source, output, size in ICONS:
            page = browser.new_page(viewport={"width": size, "height": size})
            svg = (HERE / source).read_text()
            page.set_content(
                "<style>html,body{margin:0;background:transparent}"
                f"svg{{display:block;width:{size}px;height:{size}px}}</style>{svg}")
            page.screenshot(path=str(HERE / output), omit_background=True)
            page.close()
            print(f"{output} {size}x{size}")
        browser.close()


if __name__ == "__main__":
    main()
