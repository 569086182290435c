"""django:// fences its leases (CONVENTIONS.md §13), marks redeliveries and dead-letters poison
messages (issue 9 §3): through kombu's API and the SQL functions, on the test database."""

import time

import pytest
from kombu import Connection, Exchange, Producer, Queue

from core.broker import db as sql
from core.broker.dead_letters import dead_letter_count, requeue_dead_letters
from core.broker.models import DeadLetter, Message

pytestmark = pytest.mark.django_db(transaction=True)


def connect(lease: float = 60, **options) -> Connection:
    return Connection("django://", transport_options={"visibility_timeout": lease, **options})


def publish(conn, queue_name, bodies):
    queue = Queue(queue_name, Exchange(queue_name), routing_key=queue_name)
    producer = Producer(conn.default_channel)
    for body in bodies:
        producer.publish(body, exchange=queue.exchange, routing_key=queue_name, declare=[queue], serializer="json")
    return queue


def lease(db, token, *, seconds=60.0):
    now = time.time()
    return db.lease("q", limit=10, now=now, until=now + seconds, after=None, take=False, token=token)


def row():
    return Message.objects.values("visible_at", "lease_token", "deliveries").get()


# --- fencing ------------------------------------------------------------------------------------


def test_a_holder_whose_lease_ran_out_cannot_renew_ack_or_release_the_new_holders_lease():
    with connect() as conn:
        publish(conn, "q", [{"n": 1}])
        db = conn.default_channel.db
        stale, fresh = sql.new_token(), sql.new_token()
        [(row_id, _, _, deliveries)] = lease(db, stale, seconds=0.05)
        assert deliveries == 1
        time.sleep(0.1)  # the stale holder's lease runs out (its keeper stalled, the database was away)
        [(again, _, _, deliveries)] = lease(db, fresh)
        assert again == row_id and deliveries == 2
        held = row()

        assert db.renew([(row_id, stale)], time.time() + 3600) == set()
        assert db.release([(row_id, stale)]) == 0
        assert db.delete([(row_id, stale)]) == 0
        assert row() == held  # untouched: the new holder's lease, token and count

        assert db.renew([(row_id, fresh)], held["visible_at"] + 1) == {row_id}
        assert db.delete([(row_id, fresh)]) == 1
        assert not Message.objects.exists()


def test_acks_ride_in_the_next_reservation_and_are_fenced_there_too():
    with connect() as conn:
        publish(conn, "q", [{"n": 1}, {"n": 2}])
        db = conn.default_channel.db
        token = sql.new_token()
        [(first, *_), (second, *_)] = lease(db, token, seconds=0.05)
        time.sleep(0.1)
        newer = sql.new_token()
        now = time.time()
        # The first is taken over by a new holder; then a batch acks both with the old token, in the
        # same statement as a reservation: only what still carries the old token may go.
        db.lease("q", limit=1, now=now, until=now + 60, after=None, take=False, token=newer)
        db.lease(
            "other",
            limit=1,
            now=now,
            until=now + 60,
            after=None,
            take=False,
            token=sql.new_token(),
            acks=[(first, token), (second, token)],
        )
        assert list(Message.objects.values_list("id", "lease_token")) == [(first, newer)]


def test_a_release_racing_the_keeper_does_not_hide_the_message_for_a_lease():
    with connect() as conn:
        publish(conn, "q", [{"n": 1}])
        db = conn.default_channel.db
        token = sql.new_token()
        [(row_id, *_)] = lease(db, token)
        assert db.release([(row_id, token)]) == 1
        # The keeper read the held leases before the release and renews after it: it must miss.
        assert db.renew([(row_id, token)], time.time() + 3600) == set()
        assert row()["visible_at"] == 0 and row()["lease_token"] == 0


def test_the_keeper_stops_before_a_warm_shutdown_gives_back_what_it_held():
    got, keeper_alive_at_release = [], []
    conn = connect()
    conn.connect()
    queue = publish(conn, "q", [{"n": 1}])
    channel = conn.default_channel
    consumer = conn.Consumer(queue, callbacks=[lambda body, msg: got.append(msg)], accept=["json"])
    consumer.consume()
    conn.drain_events(timeout=5)
    assert got and channel.held_leases()
    keeper = conn.transport.keeper
    assert keeper._thread.is_alive()
    release_rows = channel._release_rows

    def spy(held, **kwargs):
        keeper_alive_at_release.append(keeper._thread.is_alive())
        return release_rows(held, **kwargs)

    channel._release_rows = spy
    conn.release()  # what a warm shutdown does last: close the connection, give back what is held
    assert keeper_alive_at_release == [False]
    # Given back, and the delivery does not count: no task finished with it.
    assert row() == {"visible_at": 0, "lease_token": 0, "deliveries": 0}


# --- the redelivered flag -----------------------------------------------------------------------


def test_a_message_rejected_with_requeue_comes_back_marked_redelivered_with_its_count():
    with connect() as conn:
        bound = publish(conn, "q", [{"n": 1}])(conn.default_channel)
        first = bound.get()
        assert not first.delivery_info.get("redelivered") and first.delivery_info["delivery_count"] == 1
        first.reject(requeue=True)
        again = bound.get()
        assert again.payload == {"n": 1}
        assert again.delivery_info["redelivered"] is True and again.delivery_info["delivery_count"] == 2
        assert again.headers["redelivered"] is True
        again.ack()


def test_a_message_whose_lease_ran_out_comes_back_marked_redelivered():
    with connect(lease=0.3) as dead, connect(lease=0.3) as alive:
        publish(dead, "q", [{"n": 1}])
        assert not Queue("q")(dead.default_channel).get().delivery_info.get("redelivered")
        time.sleep(0.5)
        again = Queue("q")(alive.default_channel).get()
        assert again.delivery_info["redelivered"] is True and again.delivery_info["delivery_count"] == 2


# --- poison messages ----------------------------------------------------------------------------


def test_a_message_delivered_more_than_max_deliveries_goes_to_the_dead_letter_table(caplog):
    with connect(max_deliveries=3) as conn:
        bound = publish(conn, "q", [{"n": 1}, {"n": 2}])(conn.default_channel)
        for _ in range(3):
            message = bound.get()
            assert message.payload == {"n": 1}
            message.reject(requeue=True)
        survivor = bound.get()  # the fourth delivery of n=1 is not made: n=2 comes instead
        assert survivor.payload == {"n": 2}
        survivor.ack()
        assert bound.get() is None
    letter = DeadLetter.objects.get()
    assert (letter.queue, letter.deliveries) == ("q", 3)
    assert '"n": 1' in letter.payload or '"n":1' in letter.payload or "eyJuIjogMX0" in letter.payload
    assert dead_letter_count() == 1
    assert "moved to the dead-letter table" in caplog.text


def test_the_limit_comes_from_the_setting_by_default(settings):
    settings.CELERY_BROKER_MAX_DELIVERIES = 2
    with connect() as conn:
        assert conn.transport.max_deliveries == 2
    del settings.CELERY_BROKER_MAX_DELIVERIES
    with connect() as conn:
        assert conn.transport.max_deliveries == 10


def test_a_requeued_dead_letter_is_delivered_again_from_count_zero():
    with connect(max_deliveries=1) as conn:
        bound = publish(conn, "q", [{"n": 1}])(conn.default_channel)
        bound.get().reject(requeue=True)
        assert bound.get() is None
        [letter_id] = DeadLetter.objects.values_list("id", flat=True)
        assert requeue_dead_letters([letter_id]) == 1
        assert dead_letter_count() == 0
        again = bound.get()
        assert again.payload == {"n": 1} and again.delivery_info["delivery_count"] == 1
        again.ack()


def test_the_admin_lists_dead_letters_and_requeues_or_deletes_them(admin_client):
    with connect(max_deliveries=1) as conn:
        bound = publish(conn, "q", [{"n": 1}, {"n": 2}])(conn.default_channel)
        for _ in range(2):
            bound.get().reject(requeue=True)
        assert bound.get() is None
    first, second = DeadLetter.objects.order_by("id").values_list("id", flat=True)
    page = admin_client.get("/admin/broker/deadletter/")
    assert page.status_code == 200 and b"Requeue selected" in page.content
    assert admin_client.get(f"/admin/broker/deadletter/{first}/change/").status_code == 200
    admin_client.post("/admin/broker/deadletter/", {"action": "requeue", "_selected_action": [first]})
    assert list(DeadLetter.objects.values_list("id", flat=True)) == [second]
    assert Message.objects.count() == 1
    admin_client.post(
        "/admin/broker/deadletter/", {"action": "delete_selected", "_selected_action": [second], "post": "yes"}
    )
    assert not DeadLetter.objects.exists()
