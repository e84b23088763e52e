"""Reading responses straight from DynamoDB stream images, validated once where they enter.

The score function sees every response twice per record (old and new image) and thousands of records per
second, so this decoder reads the typed attribute values (``{"S": ...}``, ``{"N": ...}``) directly into a
slotted :class:`Response`: no intermediate plain dict, no ``Decimal``, no pydantic. It enforces the same
rules as :class:`nps.events.models.ResponseItem` (the stored response's contract; a property test keeps
the two in step) and raises :class:`~nps.kernel.streams.MalformedRecord` for anything else, so a bad
image is reported as a failed record instead of being counted or lost.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from operator import itemgetter
from typing import Any, NamedTuple

from nps.events.details import read_time
from nps.kernel.categories import MAX_COMMENT_LENGTH, Category
from nps.kernel.streams import MalformedRecord
from nps.reasons.scales import CES_MAX, CES_MIN, CSAT_MAX, CSAT_MIN, MAX_THEMES_PER_RESPONSE

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ROLE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_CHANNELS = frozenset({"email", "sms", "web", "link", "link_anonymous"})
#: Keyed by any value an image may hold (only the category names are found).
_CATEGORIES: dict[Any, Category] = {category.value: category for category in Category}
_MAX_SEGMENT_NAME = 64
_EMPTY: Mapping[str, str] = {}
_NO_THEMES: tuple[str, ...] = ()
#: The CSAT and CES answers as the decoders accept them (one digit in range, as the respond path writes them).
_CSAT_TEXTS = {str(value): value for value in range(CSAT_MIN, CSAT_MAX + 1)}
_CES_TEXTS = {str(value): value for value in range(CES_MIN, CES_MAX + 1)}
_ID_FIELDS = ("invite_id", "survey_id", "wave_id", "contact_id")
#: The attributes every scored image has: its ids and its channel.
_REQUIRED = itemgetter(*_ID_FIELDS, "channel")
#: The scores as the usual path accepts them (digits only, 0-10, as the respond path writes them).
_SCORE_TEXTS: dict[Any, int] = {str(value): value for value in range(11)}
#: Survey and wave ids already checked (a batch repeats a few); cleared when full.
_KNOWN_IDS: set[str] = set()
_MAX_KNOWN_IDS = 4096

Image = Mapping[str, Mapping[str, Any]]
_tuple_new = tuple.__new__


class Response(NamedTuple):
    """One stored response as the stream shows it (the fields of ``ResponseItem``, already validated).

    A named tuple: immutable, and built several times faster than a frozen dataclass, which matters at
    one or two per stream record.
    """

    invite_id: str
    survey_id: str
    wave_id: str
    contact_id: str
    channel: str
    locale: str = "en"
    segments: Mapping[str, str] = _EMPTY
    score: int | None = None
    category: Category | None = None
    comment: str | None = None
    version: int = 0
    first_answered_at: datetime | None = None
    answered_at: datetime | None = None
    comment_at: datetime | None = None
    source: str = "link"
    counted: bool = True
    confidence: str | None = None
    #: False for an answer kept out of the survey-wide figures (an anonymous share-link answer).
    in_headline: bool = True
    #: The follow-up answers (nps.reasons): the driver chosen, CSAT 1-5, CES 1-7, each None when not given.
    driver: str | None = None
    csat: int | None = None
    ces: int | None = None
    #: The comment's theme ids, sorted and unique (empty without a tagged comment).
    themes: tuple[str, ...] = _NO_THEMES
    #: The account of the contact and their role in it, copied from the invite (None: no account).
    account_id: str | None = None
    role: str | None = None

    @property
    def is_counted(self) -> bool:
        """Whether this response counts in the aggregates."""
        return self.counted and self.score is not None and self.first_answered_at is not None


def _value(image: Image, name: str, kind: str, nullable: bool = True) -> Any:
    """The attribute's value if it has type ``kind``; ``None`` if absent (or ``NULL`` where the contract
    allows it); otherwise the image is malformed."""
    typed = image.get(name)
    if typed is None:
        return None
    if len(typed) == 1:
        value = typed.get(kind)
        if value is not None:
            return value
        if nullable and typed.get("NULL") is True:
            return None
    raise MalformedRecord(f"attribute {name!r} is not of type {kind}")


def _id(image: Image, name: str) -> str:
    value = _value(image, name, "S", nullable=False)
    if value is None or not _ID.fullmatch(value):
        raise MalformedRecord(f"attribute {name!r} is not an id")
    return str(value)


def _text(image: Image, name: str, default: str) -> str:
    typed = image.get(name)
    if typed is None:
        return default
    value = typed.get("S")
    if value is None or len(typed) != 1:
        raise MalformedRecord(f"attribute {name!r} is not text")
    return str(value)


def _integer(image: Image, name: str, nullable: bool = True) -> int | None:
    text = _value(image, name, "N", nullable)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        raise MalformedRecord(f"attribute {name!r} is not a number") from None
    if not number.is_integer():
        raise MalformedRecord(f"attribute {name!r} is not a whole number")
    return int(number)


def _time(image: Image, name: str) -> datetime | None:
    text = _value(image, name, "S")
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise MalformedRecord(f"attribute {name!r} is not an ISO 8601 timestamp") from None


def _category(image: Image) -> Category | None:
    name = _value(image, "category", "S")
    if name is None:
        return None
    category = _CATEGORIES.get(name)
    if category is None:
        raise MalformedRecord("unknown category")
    return category


def _segments(image: Image) -> Mapping[str, str]:
    typed = image.get("segments")
    if typed is None:
        return _EMPTY
    values = typed.get("M")
    if values is None or len(typed) != 1:
        raise MalformedRecord("attribute 'segments' is not a map")
    segments: dict[str, str] = {}
    for name, value in values.items():
        text = value.get("S")
        if text is None or len(value) != 1 or not 1 <= len(name) <= _MAX_SEGMENT_NAME:
            raise MalformedRecord("a segment must have a name of 1-64 characters and a text value")
        segments[name] = text
    return segments


def _rating(image: Image, name: str, low: int, high: int) -> int | None:
    """A CSAT or CES answer: a whole number from ``low`` to ``high``, or None (absent or NULL)."""
    value = _integer(image, name)
    if value is not None and not low <= value <= high:
        raise MalformedRecord(f"attribute {name!r} outside {low}-{high}")
    return value


def _driver(image: Image) -> str | None:
    value = _value(image, "driver", "S")
    if value is not None and not _ID.fullmatch(value):
        raise MalformedRecord("attribute 'driver' is not an id")
    return None if value is None else str(value)


def _themes(image: Image) -> tuple[str, ...]:
    """The theme ids (a list, or a string set, of ids), sorted and unique; () when absent or NULL."""
    typed = image.get("themes")
    if typed is None or (len(typed) == 1 and typed.get("NULL") is True):
        return _NO_THEMES
    if len(typed) != 1 or ("L" not in typed and "SS" not in typed):
        raise MalformedRecord("attribute 'themes' is not a list")
    entries = typed["L"] if "L" in typed else [{"S": value} for value in typed["SS"]]
    if len(entries) > MAX_THEMES_PER_RESPONSE:
        raise MalformedRecord(f"more than {MAX_THEMES_PER_RESPONSE} themes")
    ids = set()
    for entry in entries:
        value = entry.get("S") if isinstance(entry, Mapping) and len(entry) == 1 else None
        if value is None or not _ID.fullmatch(value):
            raise MalformedRecord("a theme is not an id")
        ids.add(value)
    return tuple(sorted(ids))


def _single(typed: Mapping[str, Any] | None, kind: str) -> Any:
    """The value of a one-type attribute of type ``kind`` (``None`` for anything else: the checked path decides)."""
    if typed is not None and len(typed) == 1:
        return typed.get(kind)
    return None


def response_from_image(image: Image | None) -> Response | None:
    """The response in a stream image, or ``None`` for an image without a score (nothing to count yet).

    ``image`` is DynamoDB JSON as the stream delivers it. Unknown attributes are ignored. Raises
    :class:`MalformedRecord` for a value of the wrong type or outside the contract (ids, channel, score
    0-10, category, comment length, version ≥ 0, ISO 8601 timestamps, driver id, CSAT 1-5, CES 1-7,
    at most 50 theme ids, account id, role).
    """
    if not image:
        return None
    try:
        return _usual_response(image)
    except _Unusual:
        return _checked_response(image)


class _Unusual(Exception):
    """An image the inline reading leaves to the checked one (a NULL, another type, a value to reject)."""


def _text_or(typed: Mapping[str, Any] | None, default: str | None) -> str | None:
    if typed is None:
        return default
    value = typed.get("S") if len(typed) == 1 else None
    if type(value) is not str:
        raise _Unusual
    return value


def _time_or(typed: Mapping[str, Any] | None) -> datetime | None:
    if typed is None:
        return None
    text = typed.get("S") if len(typed) == 1 else None
    if text is None:
        raise _Unusual
    try:
        return read_time(text)
    except ValueError:
        raise _Unusual from None


def _rating_or(typed: Mapping[str, Any] | None, texts: Mapping[str, int]) -> int | None:
    if typed is None:
        return None
    text = typed.get("N") if len(typed) == 1 else None
    value = texts.get(text) if isinstance(text, str) else None
    if value is None:
        raise _Unusual
    return value


def _usual_response(image: Image) -> Response | None:
    """The response of an image of the usual shape: every attribute absent, or of its one type and valid.

    Raises ``_Unusual`` for anything else; gives what :func:`_checked_response` gives for the images it reads.
    Written for speed (two images per stream record): attributes are read inline, and an optional one costs
    a single lookup when absent; an optional text attribute is one ``_text_or`` line.
    """
    get = image.get
    typed = get("score")
    if typed is None:
        return None
    score = _SCORE_TEXTS.get(typed.get("N")) if len(typed) == 1 else None
    if score is None:
        raise _Unusual
    typed = get("version")
    text = typed.get("N") if typed is not None and len(typed) == 1 else None
    if text is None or not text.isascii() or not text.isdigit():
        raise _Unusual
    version = int(text)
    fullmatch = _ID.fullmatch
    # The ids and the channel, inline: each one attribute of type S (a missing one, another type or a value
    # that is not text fails a lookup or the check, and the checked reading then says which).
    try:
        typed_invite, typed_survey, typed_wave, typed_contact, typed_channel = _REQUIRED(image)
        invite_id = typed_invite["S"]
        survey_id = typed_survey["S"]
        wave_id = typed_wave["S"]
        contact_id = typed_contact["S"]
        channel = typed_channel["S"]
        if (
            len(typed_invite) != 1
            or len(typed_survey) != 1
            or len(typed_wave) != 1
            or len(typed_contact) != 1
            or len(typed_channel) != 1
            or type(invite_id) is not str
            or type(contact_id) is not str
            or type(survey_id) is not str
            or type(wave_id) is not str
            or not fullmatch(invite_id)
            or not fullmatch(contact_id)
            or (survey_id not in _KNOWN_IDS and not _known_id(survey_id))
            or (wave_id not in _KNOWN_IDS and not _known_id(wave_id))
            or channel not in _CHANNELS
        ):
            raise _Unusual
    except (KeyError, TypeError):
        raise _Unusual from None
    category = None
    typed = get("category")
    if typed is not None:
        category = _CATEGORIES.get(typed.get("S")) if len(typed) == 1 else None
        if category is None:
            raise _Unusual
    comment = None
    typed = get("comment")
    if typed is not None:
        comment = _text_or(typed, None)
        if comment is not None and len(comment) > MAX_COMMENT_LENGTH:
            raise _Unusual
    counted = in_headline = True
    typed = get("counted")
    if typed is not None:
        counted = _flag(typed)
    typed = get("in_headline")
    if typed is not None:
        in_headline = _flag(typed)
    segments: Mapping[str, str] = _EMPTY
    typed = get("segments")
    if typed is not None:
        values = typed.get("M") if len(typed) == 1 else None
        if values is None:
            raise _Unusual
        segments = {}
        for name, value in values.items():
            text = value.get("S") if len(value) == 1 else None
            if text is None or not 1 <= len(name) <= _MAX_SEGMENT_NAME:
                raise _Unusual
            segments[name] = text
    driver = None
    typed = get("driver")
    if typed is not None:
        driver = _text_or(typed, None)
        if driver is None or not fullmatch(driver):
            raise _Unusual
    csat = ces = None
    typed = get("csat")
    if typed is not None:
        csat = _rating_or(typed, _CSAT_TEXTS)
    typed = get("ces")
    if typed is not None:
        ces = _rating_or(typed, _CES_TEXTS)
    themes = _NO_THEMES
    typed = get("themes")
    if typed is not None:
        themes = _usual_themes(typed)
    account_id = role = None
    typed = get("account_id")
    if typed is not None:
        account_id = _text_or(typed, None)
        if account_id is None or not fullmatch(account_id):
            raise _Unusual
    typed = get("role")
    if typed is not None:
        role = _text_or(typed, None)
        if role is None or not _ROLE.fullmatch(role):
            raise _Unusual
    first_text, answered_text = get("first_answered_at"), get("answered_at")
    if first_text is None:  # _time_or(first_text), inline
        first_answered_at = None
    else:
        text = first_text.get("S") if len(first_text) == 1 else None
        if text is None:
            raise _Unusual
        try:
            first_answered_at = read_time(text)
        except ValueError:
            raise _Unusual from None
    # A first answer's two times are one (read once; the events then write it once).
    answered_at = first_answered_at if answered_text == first_text else _time_or(answered_text)
    typed = get("comment_at")
    typed_locale = get("locale")
    typed_source = get("source")
    typed_confidence = get("confidence")
    # tuple.__new__ with the fields in order: what Response(...) does, without its Python-level __new__.
    return _tuple_new(
        Response,
        (
            invite_id,
            survey_id,
            wave_id,
            contact_id,
            channel,
            "en" if typed_locale is None else _text_or(typed_locale, None) or "",
            segments,
            score,
            category,
            comment,
            version,
            first_answered_at,
            answered_at,
            None if typed is None else _time_or(typed),
            "link" if typed_source is None else _text_or(typed_source, None) or "",
            counted,
            None if typed_confidence is None else _text_or(typed_confidence, None),
            in_headline,
            driver,
            csat,
            ces,
            themes,
            account_id,
            role,
        ),
    )


def _flag(typed: Mapping[str, Any]) -> bool:
    value = typed.get("BOOL") if len(typed) == 1 else None
    if value is None:
        raise _Unusual
    return bool(value)


def _known_id(value: str) -> bool:
    """Whether ``value`` is an id, remembered when it is (surveys and waves repeat in every batch)."""
    if not _ID.fullmatch(value):
        return False
    if len(_KNOWN_IDS) >= _MAX_KNOWN_IDS:
        _KNOWN_IDS.clear()
    _KNOWN_IDS.add(value)
    return True


def _usual_themes(typed: Mapping[str, Any]) -> tuple[str, ...]:
    entries = typed.get("L") if len(typed) == 1 else None
    if entries is None or len(entries) > MAX_THEMES_PER_RESPONSE:
        raise _Unusual
    found = []
    for entry in entries:
        value = entry.get("S") if len(entry) == 1 else None
        if value is None or not _ID.fullmatch(value):
            raise _Unusual
        found.append(value)
    return tuple(sorted(set(found)))


def _checked_response(image: Image) -> Response | None:
    """:func:`response_from_image` attribute by attribute: every deviation from the usual shape is judged
    (``NULL`` where the contract allows it, whole numbers written as ``9.0``) or rejected, with its reason."""
    get = image.get
    # The common shapes are read inline; anything else (absent, NULL, another type) takes the checked path.
    text = _single(get("score"), "N")
    score = int(text) if text is not None and text.isascii() and text.isdigit() else _integer(image, "score")
    if score is None:
        return None
    if not 0 <= score <= 10:
        raise MalformedRecord("score outside 0-10")
    ids = []
    for name in _ID_FIELDS:
        value = _single(get(name), "S")
        ids.append(value if value is not None and _ID.fullmatch(value) else _id(image, name))
    channel = _single(get("channel"), "S")
    if channel not in _CHANNELS:
        raise MalformedRecord("unknown channel")
    category = _CATEGORIES.get(_single(get("category"), "S")) or _category(image)
    comment = _value(image, "comment", "S")
    if comment is not None and len(comment) > MAX_COMMENT_LENGTH:
        raise MalformedRecord("comment longer than the contract allows")
    text = _single(get("version"), "N")
    version = (
        int(text)
        if text is not None and text.isascii() and text.isdigit()
        else _integer(image, "version", nullable=False) or 0
    )
    if version < 0:
        raise MalformedRecord("negative version")
    counted = _single(get("counted"), "BOOL")
    if counted is None:
        counted = _value(image, "counted", "BOOL", nullable=False)
    return Response(
        ids[0],
        ids[1],
        ids[2],
        ids[3],
        channel,
        _single(get("locale"), "S") or _text(image, "locale", "en"),
        _segments(image),
        score,
        category,
        comment,
        version,
        _time(image, "first_answered_at"),
        _time(image, "answered_at"),
        _time(image, "comment_at"),
        _single(get("source"), "S") or _text(image, "source", "link"),
        True if counted is None else bool(counted),
        _value(image, "confidence", "S"),
        _value(image, "in_headline", "BOOL", nullable=False) is not False,
        _driver(image),
        _rating(image, "csat", CSAT_MIN, CSAT_MAX),
        _rating(image, "ces", CES_MIN, CES_MAX),
        _themes(image),
        _account_text(image, "account_id", _ID),
        _account_text(image, "role", _ROLE),
    )


def _account_text(image: Image, name: str, pattern: re.Pattern[str]) -> str | None:
    """The account id or role: absent or NULL is None; anything but text matching ``pattern`` is malformed."""
    value = _value(image, name, "S")
    if value is not None and not pattern.fullmatch(value):
        raise MalformedRecord(f"attribute {name!r} is not an account {'id' if name == 'account_id' else 'role'}")
    return None if value is None else str(value)
