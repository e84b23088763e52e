"""Every relative link in README.md and docs/*.md reaches an existing file (and heading, when it names one)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target) and [text](target "title"); images too. Not inside code (fenced blocks are dropped first).
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def anchors(markdown: str) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", FENCE.sub("", markdown), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def relative_links(document: Path) -> list[str]:
    text = INLINE_CODE.sub("", FENCE.sub("", document.read_text("utf-8")))
    return [t for t in LINK.findall(text) if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.IGNORECASE)]


def test_the_documents_link_to_each_other() -> None:
    assert len(DOCUMENTS) > 5
    readme = relative_links(ROOT / "README.md")
    assert "docs/deploy.md" in readme
    assert "docs/operations.md" in readme


@pytest.mark.parametrize("document", DOCUMENTS, ids=[str(d.relative_to(ROOT)) for d in DOCUMENTS])
def test_every_relative_link_points_at_an_existing_file(document: Path) -> None:
    broken = []
    for target in relative_links(document):
        path_part, _, fragment = target.partition("#")
        resolved = (document.parent / path_part).resolve() if path_part else document
        if not resolved.exists():
            broken.append(f"{target} (no {resolved.relative_to(ROOT) if resolved.is_relative_to(ROOT) else resolved})")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved.read_text("utf-8")):
            broken.append(f"{target} (no heading #{fragment} in {resolved.name})")
    assert broken == []


def test_a_broken_link_and_a_missing_heading_are_found(tmp_path: Path) -> None:
    # The checks themselves can fail: a made-up document with one good and two broken links.
    (tmp_path / "other.md").write_text("# Real heading\n")
    page = tmp_path / "page.md"
    page.write_text("[ok](other.md#real-heading) [gone](missing.md) [bad](other.md#nowhere) `[code](x.md)`\n")
    assert relative_links(page) == ["other.md#real-heading", "missing.md", "other.md#nowhere"]
    assert "real-heading" in anchors((tmp_path / "other.md").read_text())
    assert "nowhere" not in anchors((tmp_path / "other.md").read_text())
