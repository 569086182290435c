"""Issue 13, part 3, in a real browser: an assessor works the queue of pended claims, and a claims administrator
reverses a decision through the admin action, each from the admin login form on, as a person would."""

from __future__ import annotations

import importlib
from datetime import timedelta
from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from django.apps import apps as global_apps
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from claims.adjudication.engine import adjudicate_claims
from claims.adjudication.reasons import Reason
from claims.admin import PendReasonFilter
from claims.models import BenefitLedger, Claim, ClaimReversal, TariffCode
from claims.tests.factories import ClaimFactory, MemberFactory, PlanFactory, ProviderFactory, TariffCodeFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-passphrase"
WAIT = 10  # seconds for any one page or element: a page of ours takes well under one


@pytest.fixture
def roles():
    """The roles' groups with their issue 13 permissions: an earlier transactional test's flush removed the
    migrations' groups, so they are made again by the migrations' own functions (each adds only)."""
    schema_editor = SimpleNamespace(connection=connection)
    importlib.import_module("core.migrations.0005_roles").roles_create(global_apps, schema_editor)
    importlib.import_module("claims.migrations.0010_assessor_and_reversal_roles").grant(global_apps, schema_editor)


@pytest.fixture
def page(browser, live_server):
    """The session's browser with no cookies, no implicit wait (every wait here is explicit and bounded) and a
    page-load limit; the shared browser gets its own settings back afterwards."""
    implicit, load = browser.timeouts.implicit_wait, browser.timeouts.page_load
    browser.delete_all_cookies()
    browser.implicitly_wait(0)
    browser.set_page_load_timeout(30)
    browser.live_url = live_server.url
    yield browser
    browser.implicitly_wait(implicit)
    browser.set_page_load_timeout(load)


@pytest.fixture
def scheme():
    """A GP consultation R400 (an assessor reviews anything above R1,000 of it) and an MRI always reviewed; a
    member on a plan that pays both."""
    TariffCodeFactory()
    TariffCodeFactory(code="43000", description="MRI", benefit_code="RADIOLOGY", unit_price=D("9500.00"))
    TariffCode.objects.filter(code="43000").update(requires_review=True)
    plan = PlanFactory(
        benefits={"GP": {"review_threshold": D("1000.00"), "annual_limit_member": D("2000.00")}, "RADIOLOGY": {}}
    )
    return MemberFactory(plan=plan), ProviderFactory().practice_number


def wait_for(driver, css: str):
    return WebDriverWait(driver, WAIT).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))


def click_through(driver, element, then: str):
    """Click what leads to another page and wait until that page shows `then` (a CSS selector)."""
    old = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, WAIT).until(EC.staleness_of(old))
    return wait_for(driver, then)


def log_in(driver, user) -> None:
    """Through the admin's own login form, as the user would."""
    driver.get(f"{driver.live_url}/admin/")
    wait_for(driver, "#login-form")
    driver.find_element(By.NAME, "username").send_keys(user.username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    click_through(driver, driver.find_element(By.CSS_SELECTOR, "#login-form input[type=submit]"), "#user-tools")


def listed_claims(driver) -> list[str]:
    return [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#result_list tbody th.field-claim_number a")]


def test_an_assessor_decides_the_oldest_pended_claim_from_the_queue(page, roles, role_user, scheme):
    member, practice = scheme
    older = ClaimFactory(
        member=member,
        practice_number=practice,
        lines=[{"quantity": 3}],  # R1,200 of GP: above the R1,000 the plan pays without a review
        received_at=timezone.now() - timedelta(days=2),
    )
    newer = ClaimFactory(member=member, practice_number=practice, lines=[{"tariff_code": "43000"}])
    paid = ClaimFactory(member=member, practice_number=practice)  # approved by the rules: not in the queue
    adjudicate_claims([older.id, newer.id, paid.id])
    assert list(Claim.objects.order_by("id").values_list("status", flat=True)) == ["pended", "pended", "approved"]
    assessor = role_user("claims assessor", staff=True, password=PASSWORD)

    log_in(page, assessor)
    queue_link = page.find_element(By.CSS_SELECTOR, ".app-claims .model-pendedclaim th a")
    assert queue_link.text == "Assessor's queue (pended claims)"
    click_through(page, queue_link, "#result_list")
    assert page.current_url == f"{page.live_url}{reverse('admin:claims_pendedclaim_changelist')}"
    assert listed_claims(page) == [older.claim_number, newer.claim_number]  # oldest first, the paid one absent

    sidebar = wait_for(page, "#changelist-filter")
    why = sidebar.find_element(By.CSS_SELECTOR, "details[data-filter-title='why pended']")
    threshold = why.find_element(By.LINK_TEXT, PendReasonFilter.LABELS[Reason.PENDED_REVIEW_THRESHOLD])
    click_through(page, threshold, "#result_list")
    assert f"pended_for={Reason.PENDED_REVIEW_THRESHOLD}" in page.current_url
    assert listed_claims(page) == [older.claim_number]

    link = page.find_element(By.LINK_TEXT, older.claim_number)
    click_through(page, link, "form#assessment")
    assert page.find_element(By.TAG_NAME, "h1").text == f"Assess claim {older.claim_number}"
    line = older.lines.get()
    form = page.find_element(By.ID, "assessment")
    decision = Select(form.find_element(By.NAME, f"decision_{line.id}"))
    note = form.find_element(By.NAME, f"note_{line.id}")
    submit = form.find_element(By.CSS_SELECTOR, "input[type=submit]")

    # Approve without a note: the browser itself refuses to send the form (the note is a required field).
    decision.select_by_visible_text("Approve")
    assert page.execute_script("return arguments[0].validity.valueMissing", note), "the note is not required"
    submit.click()
    assert note.get_attribute("validationMessage")  # what the browser shows beside the field
    assert page.find_element(By.ID, "assessment") == form  # still the same page: nothing was sent
    # A note of spaces passes the browser's check; the server says a note is required and decides nothing.
    note.send_keys("   ")
    click_through(page, submit, "form#assessment .errorlist")
    assert page.find_element(By.CSS_SELECTOR, "#assessment .errorlist").text == "This field is required."  # one message
    older.refresh_from_db()
    assert older.status == "pended" and not BenefitLedger.objects.filter(claim_line__claim=older).exists()

    form = page.find_element(By.ID, "assessment")
    Select(form.find_element(By.NAME, f"decision_{line.id}")).select_by_visible_text("Approve")
    note = form.find_element(By.NAME, f"note_{line.id}")
    note.clear()
    note.send_keys("three consultations, notes seen")
    message = click_through(page, form.find_element(By.CSS_SELECTOR, "input[type=submit]"), ".messagelist .success")

    assert page.current_url == f"{page.live_url}{reverse('admin:claims_pendedclaim_changelist')}"
    assert message.text == f"Claim {older.claim_number} is now approved (benefit 1200.00)."
    assert listed_claims(page) == [newer.claim_number]
    older.refresh_from_db()
    line.refresh_from_db()
    assert (older.status, older.total_benefit) == ("approved", D("1200.00"))
    assert (line.outcome, line.review, line.review_note, line.reviewed_by) == (
        "approved",
        "approve",
        "three consultations, notes seen",
        assessor,
    )
    ledger = BenefitLedger.objects.filter(claim_line__claim=older).values_list("claim_line_id", "amount")
    assert list(ledger) == [(line.id, D("1200.00"))]


def test_a_claims_administrator_reverses_a_decision_with_a_reason(page, roles, role_user, scheme):
    member, practice = scheme
    decided = ClaimFactory(member=member, practice_number=practice)
    adjudicate_claims([decided.id])
    undecided = ClaimFactory(member=member, practice_number=practice)  # selected too: named and left alone
    decided.refresh_from_db()
    assert (decided.status, decided.total_benefit) == ("approved", D("400.00"))
    administrator = role_user("claims administrator", staff=True, password=PASSWORD)

    log_in(page, administrator)
    page.get(f"{page.live_url}{reverse('admin:claims_claim_changelist')}")
    wait_for(page, "#result_list")
    for claim in (decided, undecided):
        page.find_element(By.CSS_SELECTOR, f"input[name=_selected_action][value='{claim.id}']").click()
    Select(page.find_element(By.NAME, "action")).select_by_visible_text("Reverse the decisions of selected claims")
    click_through(page, page.find_element(By.CSS_SELECTOR, "button[name=index]"), "textarea[name=reason]")

    assert page.find_element(By.TAG_NAME, "h1").text == "Reverse the decisions of these claims?"
    rows = {
        row.find_element(By.CSS_SELECTOR, "td").text: row.text
        for row in page.find_elements(By.CSS_SELECTOR, "#content-main tbody tr")
    }
    assert rows[decided.claim_number].endswith("will be reversed")
    assert rows[undecided.claim_number].endswith("not decided: left alone")
    decided.refresh_from_db()
    assert decided.status == "approved" and not ClaimReversal.objects.exists()  # nothing done before the reason

    page.find_element(By.NAME, "reason").send_keys("paid twice for the same visit")
    again = page.find_element(By.NAME, "readjudicate")
    assert again.is_selected()  # deciding again at once is the default; this claim waits, pending
    again.click()
    submit = page.find_element(By.CSS_SELECTOR, "#content-main form input[type=submit]")
    assert submit.get_attribute("value") == "Reverse 1 decision"
    message = click_through(page, submit, ".messagelist .success")

    assert message.text == "1 claim reversed."
    warning = page.find_element(By.CSS_SELECTOR, ".messagelist .warning").text
    assert warning.startswith("Not reversed:") and undecided.claim_number in warning
    decided.refresh_from_db()
    undecided.refresh_from_db()
    assert (decided.status, decided.decision_round, undecided.status) == ("pending", 1, "pending")
    reversal = ClaimReversal.objects.get()
    assert (reversal.claim, reversal.reason, reversal.reversed_by, reversal.round) == (
        decided,
        "paid twice for the same visit",
        administrator,
        1,
    )
    assert (reversal.previous_status, reversal.previous_benefit, reversal.new_status) == ("approved", D("400.00"), "")
    amounts = BenefitLedger.objects.filter(claim_line__claim=decided).order_by("id").values_list("amount", flat=True)
    assert list(amounts) == [D("400.00"), D("-400.00")]  # the benefit given back, nothing deleted
