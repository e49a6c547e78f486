"""The server's own text in the reader's language (server/i18n.py)."""
import os
import time

import pytest
from flask import Flask

from server import i18n


@pytest.mark.parametrize("tag, expected", [
    ("zh-CN", "zh_Hans"), ("zh", "zh_Hans"), ("zh-SG", "zh_Hans"), ("zh-Hans-CN", "zh_Hans"),
    ("zh-TW", "zh_Hant"), ("zh-HK", "zh_Hant"), ("zh-Hant", "zh_Hant"), ("zh_Hant", "zh_Hant"),
    ("es-MX", "es"), ("ES", "es"), ("en-GB", "en"), ("fr", None), ("", None), (None, None),
])
def test_which_locale_does_a_tag_mean(tag, expected):
    """Does every Chinese tag land on the script its region writes?"""
    assert i18n.match_locale(tag) == expected


def test_does_the_browser_choose_when_nobody_said(app):
    """Accept-Language picks among ours, in its order of preference; ?lang= beats it."""
    with app.test_request_context(headers={"Accept-Language": "fr;q=1, zh-TW;q=0.8, es;q=0.5"}):
        assert i18n.select_locale() == "zh_Hant"
    with app.test_request_context("/?lang=es", headers={"Accept-Language": "zh-TW"}):
        assert i18n.select_locale() == "es"
    with app.test_request_context(headers={"Accept-Language": "fr, de"}):
        assert i18n.select_locale() == "en"


def test_is_a_stored_message_read_in_the_readers_language(app):
    """One stored message, three readers; a nested list joins with the locale's separator."""
    stored = i18n.message("%(a)s and %(b)s", a="x", b=[i18n.message("; "), "y"])
    with app.app_context():
        assert i18n.render(stored, "en") == "x and ; ; y"
        assert i18n.render([i18n.message("; "), "z"], "zh_Hans") == "；；z"
        assert i18n.render("plain", "es") == "plain"
        assert i18n.render(None) == ""


def test_does_a_broken_translation_fall_back_to_english(app, monkeypatch):
    """A translation that lost a placeholder shows the English, never raises."""
    with app.app_context():
        monkeypatch.setattr(i18n, "gettext", lambda s: "%(missing)s")
        assert i18n.render(i18n.message("Hello %(name)s", name="Li")) == "Hello Li"


def test_is_an_edited_catalogue_compiled_again(tmp_path, monkeypatch):
    """A .po newer than its .mo is compiled at start; an unchanged one is left alone."""
    source = tmp_path / "pkg" / "translations" / "es" / "LC_MESSAGES"
    source.mkdir(parents=True)
    po = source / "messages.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
                  'msgid "Hello"\nmsgstr "Hola"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "catalogue_dirs", lambda: [tmp_path / "pkg" / "translations"])
    out = tmp_path / "out"
    [compiled] = i18n.compile_catalogues(out)
    mo = out / "00-pkg" / "es" / "LC_MESSAGES" / "messages.mo"
    first = mo.stat().st_mtime_ns
    i18n.compile_catalogues(out)
    assert mo.stat().st_mtime_ns == first
    po.write_text(po.read_text(encoding="utf-8").replace("Hola", "Buenas"), encoding="utf-8")
    later = time.time() + 5
    os.utime(po, (later, later))
    i18n.compile_catalogues(out)
    app = Flask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = compiled
    # A Babel of its own: the shared one caches translations per locale for every app
    # it serves, and an earlier test may have read Spanish through it already.
    from flask_babel import Babel
    Babel(app, locale_selector=lambda: "es")
    with app.test_request_context():
        assert i18n.gettext("Hello") == "Buenas"


def test_is_every_server_text_translated():
    """Every message marked in server/ and templates/ has a translation in every
    catalogue (run `flask --app server i18n extract`, then translate the new ones)."""
    missing = i18n.missing_translations()
    assert not missing, "\n".join(f"{loc}: {msgid!r}" for loc, msgid in missing[:40])
