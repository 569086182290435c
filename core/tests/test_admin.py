"""The seed's admin pages (SEED.md "Monitoring") and the broker's own pages render for an admin."""

import pytest

SEED_ADMIN_PAGES = [
    "/admin/django_celery_beat/periodictask/",
    "/admin/django_celery_results/taskresult/",
    "/admin/django_celery_beat/intervalschedule/",
    "/admin/django_celery_beat/crontabschedule/",
]
BROKER_ADMIN_PAGES = ["/admin/broker/message/", "/admin/broker/queue/", "/admin/broker/binding/"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", SEED_ADMIN_PAGES + BROKER_ADMIN_PAGES)
def test_the_admin_page_renders_for_an_admin(admin_client, url):
    response = admin_client.get(url)
    assert response.status_code == 200, url


@pytest.mark.django_db
@pytest.mark.parametrize("url", SEED_ADMIN_PAGES)
def test_the_admin_pages_need_a_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
