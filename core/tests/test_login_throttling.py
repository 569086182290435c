"""Login throttling (django-axes): wrong passwords lock the account out from that address, an admin unlocks it."""

import pytest
from axes.models import AccessAttempt

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-correct-password"


@pytest.fixture
def staff(settings, role_user):
    settings.AXES_FAILURE_LIMIT = 5
    return role_user(username="clerk", password=PASSWORD, staff=True)


def admin_login(client, password: str):
    return client.post("/admin/login/?next=/admin/", {"username": "clerk", "password": password})


def test_the_admin_locks_out_after_five_wrong_passwords_even_the_right_one_then(client, staff):
    for _ in range(4):
        assert admin_login(client, "wrong").status_code == 200  # the form again, with its error
    locked = admin_login(client, "wrong")  # the fifth
    assert locked.status_code == 429 and b"Too many failed logins" in locked.content
    assert admin_login(client, PASSWORD).status_code == 429  # the right password no longer helps


def test_an_admin_unlocks_by_deleting_the_access_attempt(client, staff, admin_client):
    for _ in range(5):
        admin_login(client, "wrong")
    attempt = AccessAttempt.objects.get(username="clerk")
    page = admin_client.get("/admin/axes/accessattempt/")
    assert page.status_code == 200 and b"clerk" in page.content
    admin_client.post(
        "/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"}
    )
    assert not AccessAttempt.objects.exists()
    assert admin_login(client, PASSWORD).status_code == 302  # in


def test_the_api_token_endpoint_is_throttled_too(client, staff):
    for _ in range(5):
        assert client.post("/api/token/", {"username": "clerk", "password": "wrong"}).status_code in (400, 429)
    response = client.post("/api/token/", {"username": "clerk", "password": PASSWORD})
    assert response.status_code == 429


def test_the_right_password_gets_a_token_and_resets_the_count(client, staff):
    for _ in range(3):
        client.post("/api/token/", {"username": "clerk", "password": "wrong"})
    response = client.post("/api/token/", {"username": "clerk", "password": PASSWORD})
    assert response.status_code == 200 and response.json()["token"]
    assert not AccessAttempt.objects.filter(username="clerk", failures_since_start__gt=0).exists()
