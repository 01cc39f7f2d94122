"""The verification bot never solves the captcha: it hands the image to a person and resumes with the answer."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import httpx
import pytest
from bots_fixtures import admin

from bots.runtime import BotRuntime
from bots.tax_portal import TaxPortalVerifier
from portals.runner import RunningPortals
from smartfin.kernel.settings import Settings
from smartfin.ports.verification import VerificationOutcome, VerificationQuery, VerificationStatus

pytestmark = pytest.mark.browser
KNOWN = VerificationQuery("vat-electronic-ordinary", "033002300111", "01234567", date(2025, 11, 3),
                          Decimal("8849.56"), "567890")


def person_answers(portals: RunningPortals, verifier: TaxPortalVerifier, query: VerificationQuery,
                   first: VerificationOutcome, wrong: bool = False) -> VerificationOutcome:
    """What the Tasklist task does: a person reads the image and types the code."""
    answer = admin(portals, "tax", "GET", "/__admin/captcha/latest")["answer"]
    return verifier.verify(query, captcha_answer="WRONG1" if wrong else answer, resume_token=first.resume_token)


@pytest.mark.parametrize("trickle_ms", [0, 100], ids=["whole", "in-pieces"])
def test_captcha_goes_to_a_person_then_the_verdict_comes_back(bot_portals: RunningPortals, runtime: BotRuntime,
                                                              bot_settings: Settings, trickle_ms: int) -> None:
    admin(bot_portals, "tax", "POST", "/__admin/checks/reset")
    admin(bot_portals, "tax", "POST", "/__admin/faults", {"trickle_ms": trickle_ms})  # amounts after the verdict
    verifier = TaxPortalVerifier(bot_settings, runtime=runtime)
    first = verifier.verify(KNOWN)
    assert first.status == VerificationStatus.NEEDS_CAPTCHA
    assert first.captcha_png and first.captcha_png.startswith(b"\x89PNG") and first.resume_token
    verdict = person_answers(bot_portals, verifier, KNOWN, first)
    assert verdict.status == VerificationStatus.CONSISTENT, verdict.message
    assert verdict.details["sellerName"] == "示范市康达医疗器械有限公司"
    assert verdict.details["amountExTax"] == "8849.56" and verdict.details["checkCount"] == "1"


def test_wrong_answer_asks_again_and_a_used_token_starts_over(bot_portals: RunningPortals, runtime: BotRuntime,
                                                              bot_settings: Settings) -> None:
    verifier = TaxPortalVerifier(bot_settings, runtime=runtime)
    first = verifier.verify(KNOWN)
    again = person_answers(bot_portals, verifier, KNOWN, first, wrong=True)
    assert again.status == VerificationStatus.NEEDS_CAPTCHA and "验证码错误" in again.message
    assert again.resume_token != first.resume_token
    reused = verifier.verify(KNOWN, captcha_answer="ABCD", resume_token=first.resume_token)
    assert reused.status == VerificationStatus.NEEDS_CAPTCHA  # the old image is gone: a fresh one


@pytest.mark.parametrize(("query", "expected"), [
    (VerificationQuery("vat", "033002300111", "01234567", date(2025, 11, 3), Decimal("8849.00"), "567890"),
     VerificationStatus.INCONSISTENT),
    (VerificationQuery("vat", "033002300111", "07654321", date(2025, 11, 3), Decimal("10.00"), "123456"),
     VerificationStatus.NOT_FOUND),
    (VerificationQuery("digital", "", "25332000000123456789", date.today(), Decimal("2000.00"), ""),
     VerificationStatus.TOO_EARLY),
])
def test_portal_verdicts_map_to_statuses(bot_portals: RunningPortals, runtime: BotRuntime, bot_settings: Settings,
                                         query: VerificationQuery, expected: VerificationStatus) -> None:
    verifier = TaxPortalVerifier(bot_settings, runtime=runtime)
    assert person_answers(bot_portals, verifier, query, verifier.verify(query)).status == expected


def test_daily_limit_is_limit_reached(bot_portals: RunningPortals, runtime: BotRuntime,
                                      bot_settings: Settings) -> None:
    query = VerificationQuery("digital", "", "25332000000123456789", date(2025, 12, 15), Decimal("2000.00"), "")
    admin(bot_portals, "tax", "POST", "/__admin/checks/reset")
    with httpx.Client(base_url=bot_portals.urls["tax"], timeout=15) as browserless:  # the day's 5 checks, used up
        for _ in range(5):
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', browserless.get("/").text).group(1)  # type: ignore[union-attr]
            browserless.post("/query", data={"csrf_token": csrf, "fphm": query.number, "kprq": "20251215",
                                             "kjje": "2000.00"})
            captcha = admin(bot_portals, "tax", "GET", "/__admin/captcha/latest")
            result = browserless.post("/verify", data={"csrf_token": csrf, "captcha_id": captcha["captcha_id"],
                                                       "yzm": captcha["answer"]})
            assert "一致" in result.text
    verifier = TaxPortalVerifier(bot_settings, runtime=runtime)
    outcome = person_answers(bot_portals, verifier, query, verifier.verify(query))
    assert outcome.status == VerificationStatus.LIMIT_REACHED and "次数" in outcome.message


def test_portal_down_is_unavailable(bot_settings: Settings) -> None:
    from bots_fixtures import quick_runtime

    down = quick_runtime(bot_settings.model_copy(update={"tax_url": "http://127.0.0.1:1"}), attempts=1)
    try:
        outcome = TaxPortalVerifier(down.settings, runtime=down).verify(KNOWN)
        assert outcome.status == VerificationStatus.UNAVAILABLE and outcome.details["evidence"]
    finally:
        down.close()

