"""Reasons behind the score: follow-up questions (a driver choice, CSAT 1–5, CES 1–7), comment themes
matched on stems, and their figures. The pure domain core: no AWS clients, no clocks.

Owns :mod:`~nps.reasons.scales` (the scales, the aggregate counter names ``csat_1``…``csat_5`` and
``ces_1``…``ces_7``, the reserved segment dimensions ``driver`` and ``theme``; no dependency),
:mod:`~nps.reasons.definition` (the ``reasons`` block of a survey definition, pydantic),
:mod:`~nps.reasons.questions` (one locale's questions as plain data a page or an invite carries),
:mod:`~nps.reasons.answers` (follow-up answers parsed from untrusted strings, typed errors; no pydantic),
:mod:`~nps.reasons.themes` (the taxonomy compiled per locale into stemmed phrases, and the tagger) and
:mod:`~nps.reasons.figures` (CSAT, CES and the driver report's statistics from aggregate counters).

How the later steps use it: sending's ``Survey.reasons`` is a :class:`~nps.reasons.definition.Reasons`
(``nps survey put`` validates it); the respond page, the web widget and the share link show
``survey.reasons.questions(locale, brand)`` (or its copy on the invite), parse answers with
:mod:`~nps.reasons.answers` and tag comments with ``survey.reasons.tag(comment, locale)`` (or a
:class:`~nps.reasons.themes.Tagger` compiled once per survey and locale); the stream counts
``driver=<id>`` and ``theme=<id>`` as segment slices and CSAT/CES per value with the names of
:mod:`~nps.reasons.scales`; reporting computes :mod:`~nps.reasons.figures` from the aggregates.

Interface for other capabilities: every module above. May import: the kernel only (it sits right above
it, so the event contract, scoring and every capability can use it).
"""
