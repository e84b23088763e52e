"""The response pages as a person sees them: the survey's brand, states that do not jump and say what
happened, a 0–10 scale that reads as one line at every width, pages in the invite's language, and no
axe-core violation on any page in any locale. Screenshots land in test-artifacts/screenshots/."""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from local.environment import LocalStack
from nps.kernel.branding import PageBrand
from nps.kernel.locales import catalog
from nps.kernel.periods import iso_timestamp
from nps.links.tokens import Purpose, sign
from nps.reasons.questions import FollowUpQuestions
from nps.responding.adapters.invites import DynamoInviteRepository, Invite
from tests.browser.accessibility import assert_accessible
from tests.browser.test_respond_in_chromium import PHONE, stored

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
LOGO = "https://cdn.acme.example/brand/logo.png"
BRAND = PageBrand(
    name="Acme Cloud",
    colour="#0f766e",
    logo_url=LOGO,
    website_url="https://acme.example/help",
    question="How likely are you to recommend Acme Cloud to a colleague?",
    follow_up_question="What should Acme Cloud do better?",
)
WIDTHS = (320, 375, 1280)


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG (the logo the route below serves instead of the network)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture
def make_invite(platform: LocalStack) -> Callable[..., tuple[str, str]]:
    """Store an invite with ``brand`` in ``locale``; its (respond token, unsubscribe token)."""
    repository = DynamoInviteRepository(platform.tables["invites"])
    count = iter(range(1000))

    def make(
        locale: str = "en",
        brand: PageBrand = BRAND,
        expires_in: int = 86400,
        questions: FollowUpQuestions | None = None,
    ) -> tuple[str, str]:
        invite_id = f"page-{next(count):03d}"
        expires_at = int(time.time()) + expires_in
        sent_at = iso_timestamp(datetime.now(UTC) - timedelta(minutes=10))
        repository.put(
            Invite(
                invite_id, "acme", "w1", f"c-{invite_id}", "email", locale, expires_at, sent_at, page=brand,
                questions=questions,
            )
        )  # fmt: skip
        return (
            sign(platform.keyring, Purpose.RESPOND, invite_id, expires_at),
            sign(platform.keyring, Purpose.UNSUBSCRIBE, invite_id, expires_at),
        )

    return make


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """A new page at ``width`` whose logo requests are answered locally (there is no network here)."""
    contexts: list[Any] = []

    def open_at(width: int = 375, locale: str = "en-GB") -> Any:
        context = browser.new_context(
            viewport={"width": width, "height": 800}, locale=locale, user_agent=PHONE, extra_http_headers={}
        )
        context.route(
            LOGO, lambda route: route.fulfill(status=200, content_type="image/png", body=_png(320, 96, (15, 118, 110)))
        )
        contexts.append(context)
        return context.new_page()

    yield open_at
    for context in contexts:
        context.close()


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)


def _rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def wait_saved(page: Any, text: str = "Saved.") -> None:
    page.locator("#confirm-status[data-state='saved']").filter(has_text=text).wait_for(timeout=10_000)


# -- 1. the brand ----------------------------------------------------------------------------------------


def test_the_pages_carry_the_surveys_brand_logo_and_questions(
    local_server: Any, make_invite: Callable[..., tuple[str, str]], open_page: Callable[..., Any]
) -> None:
    token, _ = make_invite()
    page = open_page(375)
    # When the SMS link opens the score picker
    page.goto(f"{local_server.base_url}/r/{token}")
    # Then it shows the brand's logo (sized, loaded, sending no referrer) beside its name as text, and its
    # question; the name is read once (the logo is decorative next to it)
    logo = page.locator(".brand img")
    assert logo.get_attribute("src") == LOGO
    assert logo.get_attribute("alt") == ""
    assert page.locator(".brand-name").inner_text() == "Acme Cloud"
    assert (logo.get_attribute("width"), logo.get_attribute("height")) == ("160", "48")
    assert logo.get_attribute("referrerpolicy") == "no-referrer"
    assert logo.evaluate("img => img.complete && img.naturalWidth") == 320
    assert page.get_by_role("heading", level=1).inner_text() == BRAND.question
    assert page.title().endswith("Acme Cloud")
    card = page.locator(".card").evaluate("e => getComputedStyle(e).borderTopColor")
    assert card == _rgb(BRAND.colour)
    screenshot(page, "score-picker-branded")
    # When a score is tapped / Then the "why?" is the survey's own, and the brand colour carries the buttons
    page.get_by_role("link", name="9", exact=False).last.click()
    page.wait_for_url("**score=*")
    assert page.get_by_label(BRAND.follow_up_question or "").count() == 1
    button = page.get_by_role("button", name="Send")
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == _rgb(BRAND.colour)
    assert button.evaluate("b => getComputedStyle(b).color") == _rgb(BRAND.text_colour)
    chosen = page.locator(".scores a[aria-current='true']")
    assert chosen.evaluate("a => getComputedStyle(a).backgroundColor") == _rgb(BRAND.colour)


def test_a_page_without_a_logo_names_the_brand_and_allows_no_image(
    local_server: Any, make_invite: Callable[..., tuple[str, str]], open_page: Callable[..., Any]
) -> None:
    token, _ = make_invite(brand=PageBrand(name="Bolt & Co", colour="#facc15"))
    page = open_page(375)
    response = page.goto(f"{local_server.base_url}/r/{token}?score=8")
    assert page.locator(".brand-name").inner_text() == "Bolt & Co"
    assert page.get_by_role("img").count() == 0
    assert "img-src" not in response.headers["content-security-policy"]
    # A yellow brand keeps its buttons legible: near-black text on it
    button = page.get_by_role("button", name="Send")
    assert button.evaluate("b => getComputedStyle(b).color") == _rgb("#1a1a1a")
    # An invite planned before brands were copied gets the catalog's question and "why?"
    old, _ = make_invite(brand=PageBrand())
    page.goto(f"{local_server.base_url}/r/{old}")
    assert page.get_by_role("heading", level=1).inner_text() == catalog("en")["picker_question"]
    assert page.locator(".brand-name").inner_text() == catalog("en")["brand"]


# -- 2. no jump, clear states --------------------------------------------------------------------------


# Every layout shift since the page started loading (buffered), as the sum of their scores. The observer's
# callback gets the buffered entries at once; when there are none it is never called, so the sum is 0.
LAYOUT_SHIFT = """() => new Promise(resolve => {
    let total = 0;
    new PerformanceObserver(list => {
        for (const entry of list.getEntries()) { total += entry.value; }
    }).observe({type: 'layout-shift', buffered: true});
    setTimeout(() => resolve(total), 500);
})"""


@pytest.mark.parametrize("width", [375, 1280])
def test_saved_appearing_moves_nothing_on_the_thank_you_page(
    local_server: Any, make_invite: Callable[..., tuple[str, str]], open_page: Callable[..., Any], width: int
) -> None:
    token, _ = make_invite()
    page = open_page(width)
    page.goto(f"{local_server.base_url}/r/{token}?score=7")
    screenshot(page, "thank-you-pending")
    comment_top = page.locator("#comment").bounding_box()["y"]
    # When the page's script confirms the answer, about 2.5 s later
    wait_saved(page)
    # Then the layout shift measured across the whole visit, load included, is exactly zero
    shift = page.evaluate(LAYOUT_SHIFT)
    assert shift == 0
    assert page.locator("#comment").bounding_box()["y"] == comment_top
    screenshot(page, "thank-you-saved")


@pytest.mark.parametrize("width", [320, 375])
def test_a_failed_confirmation_looks_like_a_failure_and_its_retry_saves(
    local_server: Any, make_invite: Callable[..., tuple[str, str]], open_page: Callable[..., Any], width: int
) -> None:
    token, _ = make_invite()
    invite_id = "page-000"
    page = open_page(width)
    failures = {"left": 1}

    def flaky(route: Any) -> None:
        if route.request.method == "POST" and failures["left"]:
            failures["left"] -= 1
            route.abort("connectionfailed")
        else:
            route.continue_()

    page.route("**/r/*", flaky)
    page.goto(f"{local_server.base_url}/r/{token}?score=3")
    comment_top = page.locator("#comment").bounding_box()["y"]
    # When the confirmation cannot reach us
    status = page.locator("#confirm-status[data-state='failed']")
    status.wait_for(timeout=10_000)
    # Then nothing moves: the failure and its retry take the status line's reserved space
    assert page.evaluate(LAYOUT_SHIFT) == 0
    assert page.locator("#comment").bounding_box()["y"] == comment_top
    # And the "!" sits on the line of the text, the retry beside them or under them, inside the line
    icon, text = (status.locator(sel).bounding_box() for sel in (".icon", ".text"))
    assert icon["x"] < text["x"]
    assert abs((icon["y"] + icon["height"] / 2) - (text["y"] + text["height"] / 2)) <= 2
    line = page.locator("#confirm-line").bounding_box()
    retry_box = page.locator("#confirm-retry").bounding_box()
    assert retry_box["x"] > text["x"] + text["width"] or retry_box["y"] >= text["y"] + text["height"]
    assert retry_box["y"] + retry_box["height"] <= line["y"] + line["height"]
    assert retry_box["height"] >= 44
    # Then the page says so in the error style (red, an icon) and offers a retry; nothing is stored
    assert status.inner_text().strip().endswith(catalog("en")["confirm_failed"])
    assert status.evaluate("e => getComputedStyle(e).color") == "rgb(153, 27, 27)"
    assert status.evaluate("e => getComputedStyle(e.querySelector('.icon'), '::before').content") == '"!"'
    saved_colour = "rgb(22, 101, 52)"
    assert status.evaluate("e => getComputedStyle(e).color") != saved_colour
    retry = page.get_by_role("button", name=catalog("en")["confirm_retry"])
    assert retry.is_visible()
    assert stored(local_server, invite_id) is None
    screenshot(page, "thank-you-failed")
    assert "tap it again" not in status.inner_text()
    assert_accessible(page)
    # When the person taps "Try again" / Then the answer is saved and the page says so, still in place
    retry.click()
    wait_saved(page)
    assert page.locator("#comment").bounding_box()["y"] == comment_top
    assert page.locator("#confirm-status").evaluate("e => getComputedStyle(e).color") == saved_colour
    assert not retry.is_visible()
    response = stored(local_server, invite_id)
    assert response is not None
    assert response["score"] == 3


def _way_on(page: Any, website: bool) -> None:
    """The end page says what happened (a heading) and offers a way on: the brand's site and "close"."""
    assert page.get_by_role("heading", level=1).inner_text()
    assert page.get_by_text(catalog(page.evaluate("document.documentElement.lang"))["close_page"]).is_visible()
    links = page.get_by_role("link", name="Acme Cloud")
    if website:
        assert links.get_attribute("href") == BRAND.website_url
    else:
        assert links.count() == 0


def test_every_end_page_says_what_happened_and_offers_a_way_on(
    local_server: Any, make_invite: Callable[..., tuple[str, str]], open_page: Callable[..., Any]
) -> None:
    base = local_server.base_url
    token, unsubscribe = make_invite()
    expired, _ = make_invite(expires_in=-60)
    for width in (375, 1280):
        page = open_page(width)
        # Comment saved
        page.goto(f"{base}/r/{token}?score=9")
        page.get_by_label(BRAND.follow_up_question or "").fill("Fast support")
        page.get_by_role("button", name="Send").click()
        page.wait_for_url("**/comment")
        _way_on(page, website=True)
        screenshot(page, "comment-saved")
        # Expired: the invite is known (its signature is good), so its brand's site is offered
        assert page.goto(f"{base}/r/{expired}?score=9").status == 410
        _way_on(page, website=True)
        screenshot(page, "link-expired")
        # Invalid: nothing about the link can be trusted, so only "close this page"
        assert page.goto(f"{base}/r/{token[:-3]}xyz?score=9").status == 403
        _way_on(page, website=False)
        screenshot(page, "link-invalid")
        # Not found
        assert page.goto(f"{base}/nothing-here").status == 404
        _way_on(page, website=False)
        screenshot(page, "not-found")
        # Unsubscribe: the confirmation, then the end page
        page.goto(f"{base}/u/{unsubscribe}")
        screenshot(page, "unsubscribe")
        page.get_by_role("button").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", level=1).inner_text() == catalog("en")["unsubscribed_title"]
        _way_on(page, website=True)
        screenshot(page, "unsubscribed")


# -- 3. the scale reads as one line ----------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_the_scale_is_one_row_with_its_labels_under_the_ends(
    local_server: Any, make_invite: Callable[..., tuple[str, str]], open_page: Callable[..., Any], width: int
) -> None:
    token, _ = make_invite(locale="de")
    page = open_page(width)
    for url in (f"{local_server.base_url}/r/{token}", f"{local_server.base_url}/r/{token}?score=5"):
        page.goto(url)
        boxes = [page.locator(".scores a").nth(i).bounding_box() for i in range(11)]
        # Eleven targets share one top, each at least 24 CSS px wide (WCAG 2.5.8) and 48 px tall, with
        # gaps that keep a thumb off the neighbouring score (4 px at 320, 5 px at 375)
        assert len({round(box["y"]) for box in boxes}) == 1, boxes
        assert min(box["width"] for box in boxes) >= {320: 24, 375: 28}.get(width, 30)
        assert min(box["height"] for box in boxes) >= 48
        gaps = [boxes[i + 1]["x"] - (boxes[i]["x"] + boxes[i]["width"]) for i in range(10)]
        assert min(gaps) >= {320: 3.9, 375: 4.9}.get(width, 4.9), gaps
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        # The end labels sit under the ends of the row
        low, high = (page.locator(".scale span").nth(i).bounding_box() for i in (0, 1))
        bottom = boxes[0]["y"] + boxes[0]["height"]
        assert low["y"] >= bottom
        assert high["y"] >= bottom
        assert abs(low["x"] - boxes[0]["x"]) <= 1
        assert abs((high["x"] + high["width"]) - (boxes[10]["x"] + boxes[10]["width"])) <= 1
        screenshot(page, "score-picker" if "score=" not in url else "thank-you")


# -- 4. the expired page speaks the invite's language ----------------------------------------------------


def test_an_expired_link_shows_its_page_in_the_invites_locale(
    local_server: Any, make_invite: Callable[..., tuple[str, str]], open_page: Callable[..., Any]
) -> None:
    expired, _ = make_invite(locale="es", expires_in=-3600)
    # Given a browser that prefers German
    page = open_page(375, locale="de-DE")
    response = page.goto(f"{local_server.base_url}/r/{expired}?score=10")
    assert page.evaluate("navigator.language") == "de-DE"
    # Then the expired page is in the invite's Spanish
    assert response.status == 410
    assert page.evaluate("document.documentElement.lang") == "es"
    assert page.get_by_role("heading", level=1).inner_text() == catalog("es")["link_expired_title"]
    # While an invalid link, which names no trustworthy invite, follows the browser
    page.goto(f"{local_server.base_url}/r/{expired[:-3]}xyz")
    assert page.evaluate("document.documentElement.lang") == "de"


# -- 5. no axe-core violation on any page, in any locale ----------------------------------------------


@pytest.mark.parametrize("locale", ["en", "de", "es"])
def test_every_page_has_no_accessibility_violation(
    local_server: Any, make_invite: Callable[..., tuple[str, str]], open_page: Callable[..., Any], locale: str
) -> None:
    base = local_server.base_url
    token, unsubscribe = make_invite(locale=locale)
    neutral, _ = make_invite(locale=locale, brand=PageBrand())
    expired, _ = make_invite(locale=locale, expires_in=-60)
    page = open_page(375, locale=locale)
    checked = []

    def check(name: str) -> None:
        assert page.evaluate("document.documentElement.lang") == locale, name
        assert_accessible(page)
        checked.append(name)

    page.goto(f"{base}/r/{token}")
    check("score picker")
    page.goto(f"{base}/r/{neutral}")
    check("score picker, no brand")
    page.goto(f"{base}/r/{token}?score=6")
    check("thank-you")
    wait_saved(page, catalog(locale)["confirm_saved"])
    check("thank-you, saved")
    page.get_by_role("textbox").fill("ok")
    page.locator("form[action$='/comment'] button").click()
    page.wait_for_url("**/comment")
    check("comment saved")
    page.goto(f"{base}/r/{expired}?score=6")
    check("expired")
    page.goto(f"{base}/r/{token[:-3]}xyz")
    check("invalid")
    page.goto(f"{base}/r/{token}?score=11")
    check("bad score")
    page.goto(f"{base}/nothing-here")
    check("not found")
    page.goto(f"{base}/u/{unsubscribe}")
    check("unsubscribe")
    page.get_by_role("button").click()
    page.wait_for_load_state()
    check("unsubscribed")
    assert len(checked) == 11


# -- 5. survey text in any script, empty comments ---------------------------------------------------------


def test_survey_text_takes_its_own_direction_and_a_broken_logo_leaves_the_name_readable(
    local_server: Any, make_invite: Callable[..., tuple[str, str]], open_page: Callable[..., Any]
) -> None:
    hebrew = PageBrand(
        name="חברת אקמה בע״מ",
        colour="#0f766e",
        logo_url="https://cdn.acme.example/missing.png",
        question="שלום עולם؟ كيف",
        follow_up_question="למה?",
    )
    token, _ = make_invite(brand=hebrew)
    page = open_page(320)
    page.route("https://cdn.acme.example/missing.png", lambda route: route.fulfill(status=404, body=b""))
    page.goto(f"{local_server.base_url}/r/{token}")
    # The question and the brand name set their direction from their own text (right to left here)
    assert page.locator("h1").evaluate("e => getComputedStyle(e).direction") == "rtl"
    assert page.locator(".brand-name").evaluate("e => getComputedStyle(e).direction") == "rtl"
    # The logo did not load, and the brand name is still there as text, whole and unclipped
    name = page.locator(".brand-name")
    assert name.is_visible()
    assert name.evaluate("e => e.scrollWidth <= e.clientWidth && e.scrollHeight <= e.clientHeight")
    page.goto(f"{local_server.base_url}/r/{token}?score=6")
    assert page.locator("label[for='comment']").evaluate("e => getComputedStyle(e).direction") == "rtl"
    screenshot(page, "rtl-broken-logo")


@pytest.mark.parametrize("text", ["     \n   ", "\u200b\u200b"])
def test_an_empty_comment_is_refused_in_the_page_with_words_about_emptiness(
    local_server: Any, make_invite: Callable[..., tuple[str, str]], open_page: Callable[..., Any], text: str
) -> None:
    token, _ = make_invite()
    page = open_page(375)
    page.goto(f"{local_server.base_url}/r/{token}?score=6")
    box = page.locator("#comment")
    box.fill(text)
    page.get_by_role("button", name="Send").click()
    # The page stays (no request), and the field says it is empty
    assert "/comment" not in page.url
    message = box.evaluate("e => e.validationMessage")
    assert message == catalog("en")["empty_comment_body"]
    # Typing words clears it, and the comment is sent
    box.fill("Too slow")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url("**/comment")


@pytest.mark.parametrize("locale", ["de", "es"])
def test_the_failure_fits_its_reserved_line_in_every_language_at_320_px(
    local_server: Any, make_invite: Callable[..., tuple[str, str]], open_page: Callable[..., Any], locale: str
) -> None:
    token, _ = make_invite(locale=locale)
    page = open_page(320)
    page.route("**/r/*", lambda route: route.abort() if route.request.method == "POST" else route.continue_())
    page.goto(f"{local_server.base_url}/r/{token}?score=3")
    comment_top = page.locator("#comment").bounding_box()["y"]
    page.locator("#confirm-status[data-state='failed']").wait_for(timeout=10_000)
    line = page.locator("#confirm-line").bounding_box()
    for part in ("#confirm-status .text", "#confirm-retry"):
        box = page.locator(part).bounding_box()
        assert line["y"] <= box["y"], (part, box, line)
        assert box["y"] + box["height"] <= line["y"] + line["height"], (part, box, line)
    assert page.locator("#comment").bounding_box()["y"] == comment_top
    assert page.evaluate(LAYOUT_SHIFT) == 0
    screenshot(page, f"thank-you-failed-{locale}")


# -- 6. the follow-up questions after the score: accessible at any width, answered with the comment ----------

QUESTIONS = {
    "en": ("Which of these mattered most?", "How satisfied were you with your delivery?",
           "The company made it easy for me to track my order."),
    "de": ("Was war am wichtigsten?", "Wie zufrieden waren Sie mit Ihrer Lieferung?",
           "Das Unternehmen hat es mir leicht gemacht, meine Bestellung zu verfolgen."),
    "es": ("¿Qué fue lo más importante?", "¿Qué tan satisfecho quedó con su entrega?",
           "La empresa me facilitó seguir mi pedido."),
}  # fmt: skip


@pytest.mark.parametrize("locale", ["en", "de", "es"])
def test_the_follow_up_questions_pass_axe_at_phone_and_desktop_width_and_are_saved_with_the_comment(
    local_server: Any, make_invite: Callable[..., tuple[str, str]], open_page: Callable[..., Any], locale: str
) -> None:
    driver_question, csat, ces = QUESTIONS[locale]
    questions = FollowUpQuestions(
        locale,
        drivers=(("price", "Price"), ("support", "Support"), ("delivery", "Delivery")),
        driver_question=driver_question,
        csat_question=csat,
        ces_statement=ces,
    )
    for width in (320, 1280):
        token, _ = make_invite(locale=locale, questions=questions)
        page = open_page(width, locale=locale)
        page.goto(f"{local_server.base_url}/r/{token}?score=4")
        wait_saved(page, catalog(locale)["confirm_saved"])
        # Then each question names its group of choices, and the page passes axe and does not scroll sideways
        for name in (driver_question, csat, ces):
            assert page.get_by_role("group", name=name).count() == 1
        assert_accessible(page)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # When the person picks a driver, a CSAT and a CES value and sends the form without a comment
    page.get_by_role("group", name=driver_question).get_by_role("radio", name="Support").check()
    page.get_by_role("group", name=csat).get_by_role("radio", name="4").check()
    page.get_by_role("group", name=ces).get_by_role("radio", name="6").check()
    page.locator("form[action$='/comment'] button").click()
    page.wait_for_url("**/comment")
    assert_accessible(page)
    # Then the answers are on the response
    invite_id = "page-001"  # the second invite this test made (the desktop one)
    item = stored(local_server, invite_id)
    assert item is not None
    assert (item.get("driver"), item.get("csat"), item.get("ces")) == ("support", 4, 6)
