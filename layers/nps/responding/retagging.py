"""Re-tag a survey's past comments with its current taxonomy (``nps survey retag``).

A survey's taxonomy (``reasons.themes``) tags each comment when it is saved. When the taxonomy changes,
the comments saved before keep the themes of the old one until this batch re-tags them: it reads the
survey's commented responses page by page (:class:`RetagStore`, by index query, never a scan), tags each
comment with the tagger the respond function uses for the survey (:meth:`nps.reasons.definition.Reasons.tag`
over the same compiled phrases), and writes ``themes`` only where they change, with a write that is
conditional on the comment being the one that was tagged, so an answer edited during the run keeps the
themes its own save gave it.

The aggregates follow through the responses stream: the score function moves the response's counts out of
the old ``theme=<id>`` slices and into the new ones, and publishes nothing (a themes-only change is neither
a new score nor a new comment, so no ``NPS Response Scored`` or ``NPS Comment Received`` goes out and no
follow-up or alert starts).

Counts (:class:`RetagCounts`): ``read`` responses with a comment; ``changed`` (written, or that would be
with ``dry_run``); ``unchanged`` (the themes were already right); ``skipped`` (the comment changed or the
response was deleted between the read and the write: its newer save wins).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

#: Responses read per page (one index query page and one ``BatchGetItem`` of at most 100 keys).
PAGE_SIZE = 100
#: Responses per second by default (reads and the writes they cause); ``--rate`` changes it.
DEFAULT_RATE = 100.0


@dataclass(frozen=True, slots=True)
class Commented:
    """A response with a comment as stored: what tagging needs, and what the write is conditional on."""

    invite_id: str
    locale: str
    comment: str
    #: When the comment was saved (None on items written before ``comment_at`` existed).
    comment_at: str | None
    #: The themes on record, sorted and unique.
    themes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a survey's commented responses; ``next_token`` resumes after it (None: the last page)."""

    responses: tuple[Commented, ...]
    #: Responses the index listed but the table no longer holds (deleted since): counted as skipped.
    missing: int
    next_token: str | None


class RetagStore(Protocol):
    """Where a survey's commented responses are read and their themes written."""

    def pages(self, survey_id: str, token: str | None, page_size: int) -> Iterator[Page]:
        """The survey's commented responses, a page at a time, from ``token`` (None: the start)."""
        ...

    def write_themes(self, response: Commented, themes: tuple[str, ...]) -> bool:
        """Set the response's ``themes`` if its comment is still ``response.comment``; False otherwise."""
        ...


#: ``(locale, comment)`` → the theme ids of the comment, sorted and unique.
Tag = Callable[[str, str], tuple[str, ...]]


@dataclass(slots=True)
class RetagCounts:
    """What a run did (see the module docstring)."""

    read: int = 0
    changed: int = 0
    unchanged: int = 0
    skipped: int = 0

    def summary(self) -> str:
        """``read 120, changed 14, unchanged 100, skipped 6``."""
        return f"read {self.read}, changed {self.changed}, unchanged {self.unchanged}, skipped {self.skipped}"


@dataclass(frozen=True, slots=True)
class RetagResult:
    counts: RetagCounts
    #: Where to resume (``--resume``) when the run stopped before the end (``limit``), else None.
    next_token: str | None


class Pacer:
    """Keeps a run at or below ``rate`` responses a second (``rate`` ≤ 0: no limit)."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._started = clock()
        self._done = 0

    def took(self, responses: int) -> None:
        """Count ``responses`` more, then wait until the run is back under its rate."""
        self._done += responses
        if self.rate <= 0:
            return
        ahead = self._done / self.rate - (self._clock() - self._started)
        if ahead > 0:
            self._sleep(ahead)


def retag(
    survey_id: str,
    tag: Tag,
    store: RetagStore,
    *,
    dry_run: bool = False,
    token: str | None = None,
    limit: int | None = None,
    page_size: int = PAGE_SIZE,
    pacer: Pacer | None = None,
    progress: Callable[[RetagCounts, str | None], None] | None = None,
) -> RetagResult:
    """Re-tag ``survey_id``'s comments with ``tag`` and write the themes that change (none with ``dry_run``).

    Starts at ``token`` (a ``next_token`` of an earlier run; None: the first response). Stops after the
    page on which ``limit`` responses have been read, returning where to resume. ``progress`` is called
    after each page with the counts so far and the token that resumes after that page (None at the end),
    so a caller can show where to resume if the run is interrupted. Holds one page in memory.
    Raises what the store raises (a failed read or write after the SDK's retries).
    """
    counts = RetagCounts()
    pacer = pacer or Pacer(0)
    next_token: str | None = None
    for page in store.pages(survey_id, token, page_size):
        counts.skipped += page.missing
        counts.read += page.missing
        for response in page.responses:
            counts.read += 1
            themes = tag(response.locale, response.comment)
            if themes == response.themes:
                counts.unchanged += 1
            elif dry_run or store.write_themes(response, themes):
                counts.changed += 1
            else:
                counts.skipped += 1
        next_token = page.next_token
        pacer.took(len(page.responses) + page.missing)
        if progress is not None:
            progress(counts, next_token)
        if limit is not None and counts.read >= limit:
            return RetagResult(counts, next_token)
    return RetagResult(counts, None)
