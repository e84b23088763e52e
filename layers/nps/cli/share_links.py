"""``nps survey share-link``: a survey's shareable link, and its QR code as SVG or PNG.

    nps --stack Nps-prod survey share-link receipts --qr receipts.svg
    nps --stack Nps-prod survey share-link members --contact c-123 --days 60 --qr c-123.png

Prints the URL (one line). With ``--contact`` (identified links) the URL carries a contact token signed
with the survey's site secret, valid ``--days`` days (at most the survey's ``share_link.identified_max_days``).
The QR code is written with `segno <https://pypi.org/project/segno/>`_ (error correction level M, 4-module
quiet zone); segno is a dependency of the command line only, never of the functions.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode, urlsplit

from nps.channels.site_tokens import mint, printable_site_secret
from nps.cli.common import EXIT_REQUEST, EXIT_TARGET, EXIT_USAGE, CliError, identifier
from nps.links.adapters.keyring import load_keyring
from nps.links.tokens import KeyringError
from nps.sending.adapters.surveys import DynamoSurveyRepository
from nps.sending.settings import sending_settings
from nps.sending.surveys import ShareLinkMode

if TYPE_CHECKING:
    from collections.abc import Callable

    from nps.cli.target import Target

#: QR image formats by file extension.
QR_KINDS = {".svg": "svg", ".png": "png"}
#: Pixels per module of a PNG (a 41×41-module code of a typical link is then 392 px with its quiet zone).
PNG_SCALE = 8
_DAY = 86400
#: Hosts a link may name over plain http (a local server); every other link is https.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
#: A base URL's path prefix: RFC 3986 path characters (unreserved, percent-encodings, sub-delims, ``:@/``).
_PATH_PREFIX = re.compile(r"(?:/(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})*)*")
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")


def check_base_url(text: str) -> str:
    """A ``--base-url`` that can carry the link: ``https://host[:port][/path/prefix]`` (``http`` only for
    :data:`LOOPBACK_HOSTS`), with a host, no user info, no query or fragment (not even an empty ``?``/``#``)
    and a path of RFC 3986 path characters only (no space, no character that would need encoding). Returns
    it without a trailing slash; raises ``ValueError`` with the reason."""
    if any(ch in text for ch in "?#") or any(ch.isspace() or not ch.isprintable() for ch in text):
        raise ValueError("it may have no query (?), fragment (#), space or control character")
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port
    except ValueError as error:
        raise ValueError(f"it does not parse ({error})") from None
    if parts.scheme.lower() not in ("https", "http"):
        raise ValueError("it must be an https URL (https://host[/path])")
    netloc_host = parts.netloc.rsplit(":", 1)[0] if port is not None else parts.netloc
    if not host or "@" in parts.netloc or not _HOST.fullmatch(netloc_host):
        raise ValueError("it needs a host name (https://host[/path]) and no user name or password")
    if parts.scheme.lower() == "http" and host not in LOOPBACK_HOSTS:
        raise ValueError("it must be https (http only for localhost)")
    if port == 0:
        raise ValueError("its port must be 1-65535")
    if not _PATH_PREFIX.fullmatch(parts.path):
        raise ValueError("its path may hold only URL path characters (letters, digits, -._~ and percent-encodings)")
    return text.rstrip("/")


def share_url(base_url: str, survey_id: str, token: str | None = None) -> str:
    """``<base>/s/<survey_id>`` (``?t=<token>`` for an identified link)."""
    url = f"{base_url.rstrip('/')}/s/{quote(survey_id, safe='')}"
    return f"{url}?{urlencode({'t': token})}" if token else url


def write_qr(url: str, path: Path) -> tuple[int, str]:
    """Write ``url`` as a QR code to ``path`` (SVG or PNG by its extension); returns (modules per side, kind).
    Raises :class:`CliError` (exit 1) when the file cannot be written."""
    import segno  # the command line's own dependency: imported only when a code is written

    kind = QR_KINDS[path.suffix.lower()]
    code = segno.make_qr(url, error="m")
    try:
        if kind == "svg":
            code.save(str(path), kind="svg", scale=4, border=4, xmldecl=True, title=url)
        else:
            code.save(str(path), kind="png", scale=PNG_SCALE, border=4)
    except OSError as error:
        raise CliError(f"--qr {path}: cannot write it ({error.strerror or error})", EXIT_REQUEST) from error
    width, _ = code.symbol_size(scale=1, border=0)
    return int(width), kind


def qr_path(text: str) -> Path:
    """``--qr``: a .svg or .png file in an existing folder."""
    path = Path(text)
    if path.suffix.lower() not in QR_KINDS:
        raise argparse.ArgumentTypeError(f"{text!r}: the QR code file must end in .svg or .png")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r}: the folder {str(path.parent)!r} does not exist")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder")
    return path


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if not 1 <= days <= 90:
        raise argparse.ArgumentTypeError(f"{days}: a printed link's token may live 1 to 90 days")
    return days


def share_link(
    survey_id: str,
    base_url: str,
    qr: Path | None,
    contact: str | None,
    days: int | None,
    site_keys: Callable[[], str],
    now: float | None = None,
) -> int:
    """Print the survey's share link (and write its QR code). Exit 1: unknown survey, link off, a contact for
    an anonymous link (or none for an identified one), ``--days`` past the survey's limit, a QR file that
    cannot be written (then nothing is printed on stdout)."""
    survey = DynamoSurveyRepository(sending_settings().require("surveys_table").surveys_table).get(survey_id)
    if survey is None:
        raise CliError(f"no survey {survey_id!r}: `nps survey list` shows them", EXIT_REQUEST)
    settings = survey.share_link
    if not settings.enabled:
        raise CliError(f"the share link of {survey_id} is off: set share_link.enabled and `nps survey put`")
    identified = settings.mode is ShareLinkMode.IDENTIFIED
    if identified and contact is None:
        raise CliError(f"the share link of {survey_id} is identified: give --contact ID (and --days N)")
    if not identified and contact is not None:
        raise CliError(f"the share link of {survey_id} is anonymous: it takes no --contact")
    token = None
    if contact is not None:
        lifetime = days if days is not None else settings.identified_max_days
        if lifetime > settings.identified_max_days:
            raise CliError(
                f"--days {lifetime}: {survey_id} accepts tokens of at most {settings.identified_max_days} days "
                "(share_link.identified_max_days)"
            )
        try:
            secret = site_keys()
        except KeyringError as error:
            raise CliError(f"the site keys secret cannot be used: {error}") from error
        token = mint(secret, survey_id, contact, int((now or time.time()) + lifetime * _DAY))
    url = share_url(base_url, survey_id, token)
    written = write_qr(url, qr) if qr is not None else None  # before the URL: a failure prints no link
    print(url)
    if written is not None:
        modules, kind = written
        print(f"wrote {qr} ({kind.upper()}, {modules}×{modules} modules)", file=sys.stderr)
    return 0


def base_url_of(args: argparse.Namespace, target: Target) -> str:
    url: str | None = args.base_url or target.api_url
    if not url:
        raise CliError(f"{target.description} has no ResponseApiUrl: give --base-url https://...", EXIT_TARGET)
    return url


def register(
    survey: argparse._SubParsersAction[argparse.ArgumentParser],
    run: Callable[[Target, Callable[[], int]], int],
    site_keys_name: Callable[[Target], str],
) -> None:
    """Add ``survey share-link`` (``run`` sets the target's names up; ``site_keys_name`` finds its secret)."""
    command = survey.add_parser("share-link", help="print a survey's shareable link (/s/...) and write its QR code")
    command.add_argument("survey_id", metavar="SURVEY", type=identifier("a survey id"), help="the survey id")
    command.add_argument("--qr", type=qr_path, metavar="FILE", help="write the QR code here (.svg or .png)")
    command.add_argument("--contact", type=identifier("a contact id"), help="an identified link for this contact")
    command.add_argument("--days", type=_days, help="the identified link's lifetime in days (default: the survey's)")
    command.add_argument("--base-url", help="the link's origin (default: the stack's ResponseApiUrl)")
    command.set_defaults(handler=_handler(run, site_keys_name), check=_check)


def _check(args: argparse.Namespace) -> None:
    if args.days is not None and args.contact is None:
        raise CliError("--days needs --contact (anonymous links do not expire)", EXIT_USAGE)
    if args.base_url is not None:
        try:
            args.base_url = check_base_url(args.base_url)
        except ValueError as error:
            raise CliError(f"--base-url {args.base_url!r}: {error}", EXIT_USAGE) from None


def _handler(
    run: Callable[[Target, Callable[[], int]], int], site_keys_name: Callable[[Target], str]
) -> Callable[[argparse.Namespace, Target], int]:
    def handle(args: argparse.Namespace, target: Target) -> int:
        def keys() -> str:
            return printable_site_secret(load_keyring(site_keys_name(target)), args.survey_id)

        return run(
            target,
            lambda: share_link(args.survey_id, base_url_of(args, target), args.qr, args.contact, args.days, keys),
        )

    return handle
