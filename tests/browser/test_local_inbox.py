"""The local inbox (``make serve``): every message rendered by the real templates in its invite's
locale, each SMS with the invite's unsubscribe link, and ``/u/...`` served by the unsubscribe function."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local import server as local_server_module
from local.environment import LocalStack
from nps.kernel.locales import catalog
from nps.sending.adapters.suppressions import DynamoSuppressionRepository
from nps.sending.suppression import address_hash

pytestmark = [pytest.mark.browser]


@pytest.fixture
def inbox_server(platform: LocalStack) -> Iterator[Any]:
    """The local server with six invites: an email and an SMS in each of en, es and de."""
    server = local_server_module.start_on(platform, port=0, invites=6)
    yield server
    server.stop()


def test_every_sms_is_shown_in_its_locale_with_its_unsubscribe_link(browser: Any, inbox_server: Any) -> None:
    page = browser.new_page()
    page.goto(f"{inbox_server.base_url}/_local/inbox")
    texts = [invite for invite in inbox_server.invites if invite.channel == "sms"]
    assert sorted(invite.locale for invite in texts) == ["de", "en", "es"]
    for invite in texts:
        section = page.locator(f"section[data-invite='{invite.invite_id}']")
        sms = section.locator("p.sms")
        # Then the text is the invite's locale's SMS, with the score page's link tappable
        assert sms.get_attribute("lang") == invite.locale
        expected = catalog(invite.locale)["sms_invite"]
        assert sms.inner_text() == local_server_module.sms_text(inbox_server.base_url, invite)
        assert expected.split("{brand}")[1].split("{link}")[0].strip() in sms.inner_text()
        assert sms.locator("a").get_attribute("href") == f"{inbox_server.base_url}/r/{invite.token}"
        # And the invite's unsubscribe link is beside it
        assert section.locator("a.unsubscribe").get_attribute("href") == invite.unsubscribe_url(inbox_server.base_url)
    page.close()


def test_every_email_is_the_rendered_email_in_its_locale(browser: Any, inbox_server: Any) -> None:
    page = browser.new_page()
    page.goto(f"{inbox_server.base_url}/_local/inbox")
    for invite in (i for i in inbox_server.invites if i.channel == "email"):
        frame = page.frame_locator(f"section[data-invite='{invite.invite_id}'] iframe.email")
        assert frame.locator("html").get_attribute("lang") == invite.locale
        assert frame.locator("a[href*='?score=']").count() == 11
        assert frame.locator("a[href*='?score=']").first.get_attribute("href") == invite.score_url(
            inbox_server.base_url, 0
        )
        assert frame.get_by_role("contentinfo").get_by_role("link").get_attribute("href") == invite.unsubscribe_url(
            inbox_server.base_url
        )
    page.close()


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_the_unsubscribe_link_confirms_then_suppresses_the_contact(
    browser: Any, inbox_server: Any, platform: LocalStack, channel: str
) -> None:
    # Given the Spanish invite of the channel, and its contact's address
    invite = next(i for i in inbox_server.invites if i.channel == channel and i.locale == "es")
    index = int(invite.invite_id.rsplit("-", 1)[1])
    address = f"+1415555{100 + index:04d}" if channel == "sms" else f"contact-{index:03d}@example.com"
    suppressions = DynamoSuppressionRepository(platform.tables["suppressions"])
    key = address_hash(channel, address, platform.id_key)
    assert not suppressions.is_suppressed(key)
    page = browser.new_page()
    # When the person follows the unsubscribe link: a GET only asks, in the invite's language
    response = page.goto(invite.unsubscribe_url(inbox_server.base_url))
    assert response is not None
    assert response.status == 200
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator("h1").inner_text() == catalog("es")["unsubscribe_confirm_title"]
    assert not suppressions.is_suppressed(key)
    # And confirms with the button
    with page.expect_navigation():
        page.locator("button[type=submit]").click()
    # Then the contact is suppressed and the page says so
    assert page.locator("h1").inner_text() == catalog("es")["unsubscribed_title"]
    assert suppressions.is_suppressed(key)
    page.close()


def test_a_tampered_unsubscribe_link_suppresses_nothing(browser: Any, inbox_server: Any) -> None:
    invite = inbox_server.invites[1]
    page = browser.new_page()
    response = page.goto(invite.unsubscribe_url(inbox_server.base_url)[:-3] + "AAA")
    assert response is not None
    assert response.status == 403
    page.close()
