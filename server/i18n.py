"""Text the server writes for people, in their language: Flask-Babel over gettext
catalogues.

Each domain package that writes text keeps its own catalogue beside its code
(`server/<package>/translations/<locale>/LC_MESSAGES/messages.po`, and the core's in
`server/translations/`), so two packages never edit one file; Flask-Babel merges them.
The .po files are the source; init_app compiles each into instance/i18n when it is
newer than its .mo, so a fresh clone serves translated text with no build step.

Locales are Babel's names: en, zh_Hans (Simplified), zh_Hant (Traditional), es. The
PWA's own names (static/src/i18n.js: en, zh-CN, es) and any BCP 47 tag a browser sends
map onto them with `match_locale`.

Text that is stored and read later (an allocation's reason, an order's history, a task's
title) is stored as a message, `message(msgid, **params)`: the English msgid and its
parameters, rendered by `render()` in the reader's language when it is read, so a Chinese
seller reads in Chinese what was decided while an English admin was logged in. A
parameter may itself be a message or a list of them (joined by the locale's separator).
"""
from __future__ import annotations

import os
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, has_app_context, has_request_context, request
from flask_babel import Babel, force_locale, get_locale, gettext, lazy_gettext  # noqa: F401

SERVER = Path(__file__).resolve().parent
LOCALES = ("en", "zh_Hans", "zh_Hant", "es")
DEFAULT = "en"
LOCALE_COOKIE = "hc_locale"  # the PWA's language buttons set it (static/src/i18n.js)
LANG_PARAM = "lang"  # ?lang=zh_Hant on a public page switches and is remembered

babel = Babel()

# What each BCP 47 tag (lower case, as a browser or the PWA writes it) means to us.
_TRADITIONAL = ("zh-tw", "zh-hk", "zh-mo", "zh-hant")


def match_locale(tag: str | None) -> str | None:
    """One of LOCALES for a tag such as zh-CN, zh-Hant-TW, zh_Hans, es-MX, en; else None.

    Chinese tags name their script or a region that writes it: Taiwan, Hong Kong and
    Macau read Traditional, everything else (zh, zh-CN, zh-SG) Simplified."""
    if not tag:
        return None
    lower = str(tag).strip().lower().replace("_", "-")
    if lower == "zh" or lower.startswith("zh-"):
        return "zh_Hant" if lower.startswith(_TRADITIONAL) else "zh_Hans"
    primary = lower.split("-")[0]
    return next((loc for loc in LOCALES if loc.lower() == primary), None)


def pwa_locale(locale: str) -> str:
    """The PWA's name for a server locale (the PWA has no Traditional yet)."""
    return {"zh_Hans": "zh-CN", "zh_Hant": "zh-CN"}.get(locale, locale)


def select_locale() -> str:
    """?lang= first (a person switching), then the user's setting, then this device's
    earlier choice, then what the browser asks for, then English."""
    if not has_request_context():
        return DEFAULT
    found = match_locale(request.args.get(LANG_PARAM))
    if found:
        return found
    from flask_login import current_user
    try:
        user_locale = current_user.locale if current_user.is_authenticated else None
    except Exception:  # noqa: BLE001  an anonymous user, or no login manager at all
        user_locale = None
    found = match_locale(user_locale) or match_locale(request.cookies.get(LOCALE_COOKIE))
    if found:
        return found
    for tag, _quality in request.accept_languages:
        found = match_locale(tag)
        if found:
            return found
    return DEFAULT


def current_locale() -> str:
    """The locale text is being rendered in now (English outside any app context)."""
    locale = get_locale() if has_app_context() else None
    return str(locale) if locale else DEFAULT


# -- stored messages ------------------------------------------------------------------

def message(msgid: str, **params) -> dict:
    """Text to store and render later in the reader's language. `msgid` is the English
    text with %(name)s placeholders, and must be a literal marked with `N_()` (or
    written here directly) so extraction finds it."""
    return {"msgid": msgid, "params": params} if params else {"msgid": msgid}


def N_(msgid: str) -> str:
    return msgid


def is_message(value) -> bool:
    return isinstance(value, dict) and isinstance(value.get("msgid"), str)


def render(value, locale: str | None = None) -> str:
    """A stored message (or a plain string, or a list of messages) as text in `locale`,
    or the current request's locale."""
    if locale is not None:
        with force_locale(locale):
            return render(value)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return gettext("; ").join(render(v) for v in value)
    if is_message(value):
        params = {k: render(v) if isinstance(v, (dict, list, tuple)) else v
                  for k, v in (value.get("params") or {}).items()}
        text = gettext(value["msgid"])
        try:
            return text % params if params else text
        except (KeyError, ValueError, TypeError):
            # A translation that lost a placeholder must not hide the fact: English.
            return value["msgid"] % params if params else value["msgid"]
    return str(value)


# -- catalogues -----------------------------------------------------------------------

def catalogue_dirs() -> list[Path]:
    """Every package's translations/ folder under server/ (the core's first)."""
    found = sorted(p for p in SERVER.rglob("translations") if p.is_dir())
    core = SERVER / "translations"
    return ([core] if core in found else []) + [p for p in found if p != core]


def compile_catalogues(target: Path) -> list[str]:
    """Compile each .po into target/<n>/<locale>/LC_MESSAGES/messages.mo when the .po is
    newer; returns the directories for BABEL_TRANSLATION_DIRECTORIES. Written to a
    temporary name and renamed, so processes starting together never read half a file."""
    dirs = []
    for index, source in enumerate(catalogue_dirs()):
        out_root = target / f"{index:02d}-{source.parent.name}"
        for po in source.glob("*/LC_MESSAGES/*.po"):
            mo = out_root / po.relative_to(source).with_suffix(".mo")
            if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                continue
            mo.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as f:
                catalog = read_po(f, locale=po.parent.parent.name)
            tmp = mo.with_name(f".{mo.name}.{os.getpid()}")
            with tmp.open("wb") as f:
                write_mo(f, catalog, use_fuzzy=False)
            os.replace(tmp, mo)
        dirs.append(str(out_root))
    return dirs


def init_app(app: Flask) -> None:
    target = Path(app.instance_path) / "i18n"
    dirs = compile_catalogues(target)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(dirs) or str(target)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    babel.init_app(app, locale_selector=select_locale)
    register_cli(app)

    @app.context_processor
    def _i18n_context():
        return {"_": gettext, "gettext": gettext, "render_message": render,
                "server_locale": current_locale}


# -- extraction (flask --app server i18n extract) ----------------------------------------

KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None,
            "N_": None, "message": None}
ROOT = SERVER.parent


def _owner(path: Path, dirs: list[Path]) -> Path:
    """The catalogue a source file's messages go to: its nearest package with its own
    translations/, else the core's."""
    for d in sorted(dirs, key=lambda d: len(d.parts), reverse=True):
        if d.parent in path.parents:
            return d
    return SERVER / "translations"


def extract() -> dict[Path, Catalog]:
    """Every marked message in server/ and templates/, by the catalogue it belongs to."""
    from babel.messages.extract import extract_from_file

    dirs = catalogue_dirs()
    found: dict[Path, Catalog] = {}
    # sync/ (the engine beside server/) writes the floor's rejections: the core's.
    sources = [p for p in SERVER.rglob("*.py")] + [p for p in ROOT.glob("sync/*.py")] \
        + [p for p in ROOT.glob("templates/**/*.html")] \
        + [p for p in SERVER.rglob("templates/**/*.html")]
    for path in sorted(sources):
        method = "python" if path.suffix == ".py" else "jinja2"
        if path == Path(__file__).resolve():
            continue
        owner = _owner(path.resolve(), dirs) if path.is_relative_to(SERVER) else \
            SERVER / "translations"
        catalog = found.setdefault(owner, Catalog())
        for lineno, msg, comments, _ctx in extract_from_file(
                method, str(path), keywords=KEYWORDS, comment_tags=("TRANSLATORS:",),
                options={"extensions": "jinja2.ext.i18n"} if method == "jinja2" else None):
            if msg:
                catalog.add(msg, locations=[(str(path.relative_to(ROOT)), lineno)],
                            auto_comments=comments)
    # The separator render() joins lists with, written here by hand.
    found.setdefault(SERVER / "translations", Catalog()).add("; ", locations=[
        ("server/i18n.py", 0)])
    return found


def update_catalogues() -> list[str]:
    """Merge what extract() found into each catalogue's .po for every locale but English
    (new messages arrive empty, to be translated; gone ones are kept as obsolete)."""
    from babel.messages.pofile import write_po

    written = []
    for directory, template in extract().items():
        for locale in LOCALES[1:]:
            po = directory / locale / "LC_MESSAGES" / "messages.po"
            if po.exists():
                with po.open("rb") as f:
                    catalog = read_po(f, locale=locale)
            else:
                catalog = Catalog(locale=locale, project="Haicang")
            catalog.update(template, no_fuzzy_matching=True)
            po.parent.mkdir(parents=True, exist_ok=True)
            with po.open("wb") as f:
                write_po(f, catalog, width=100, omit_header=False, ignore_obsolete=True)
            written.append(str(po.relative_to(ROOT)))
    return written


def register_cli(app: Flask) -> None:
    import click

    @app.cli.group("i18n")
    def i18n_cli():
        """The server's translation catalogues."""

    @i18n_cli.command("extract")
    def extract_cli():
        """Find every marked message and add the new ones to each package's .po files."""
        for path in update_catalogues():
            click.echo(path)

    @i18n_cli.command("missing")
    def missing_cli():
        """List the messages a locale has no translation for."""
        for locale, msgid in missing_translations():
            click.echo(f"{locale}\t{msgid}")


def missing_translations() -> list[tuple[str, str]]:
    """(locale, msgid) for every extracted message a non-English catalogue lacks."""
    out = []
    for directory, template in extract().items():
        for locale in LOCALES[1:]:
            po = directory / locale / "LC_MESSAGES" / "messages.po"
            have = {}
            if po.exists():
                with po.open("rb") as f:
                    have = {m.id: m for m in read_po(f, locale=locale) if m.id}
            for m in template:
                if not m.id:
                    continue
                got = have.get(m.id)
                if got is None or got.fuzzy or not (got.string if isinstance(got.string, str)
                                                    else all(got.string)):
                    out.append((locale, m.id if isinstance(m.id, str) else m.id[0]))
    return out
