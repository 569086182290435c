"""The django:// transport through kombu's own API, on the test database (SQLite or PostgreSQL)."""

import threading
import time

import pytest
from django.db import transaction
from kombu import Connection, Exchange, Producer, Queue

from core.broker.models import Binding, Message
from core.broker.models import Queue as QueueRow

pytestmark = pytest.mark.django_db(transaction=True)


def connect(lease: float = 60, **options) -> Connection:
    return Connection("django://", transport_options={"visibility_timeout": lease, **options})


def publish(conn, queue_name, bodies, priority=0):
    queue = Queue(queue_name, Exchange(queue_name), routing_key=queue_name)
    producer = Producer(conn.default_channel)
    for body in bodies:
        producer.publish(
            body, exchange=queue.exchange, routing_key=queue_name, declare=[queue], priority=priority, serializer="json"
        )
    return queue


def test_ack_deletes_the_row_and_reject_with_requeue_keeps_its_place():
    with connect() as conn:
        queue = publish(conn, "q", [{"n": 1}, {"n": 2}])
        bound = queue(conn.default_channel)
        first = bound.get()
        assert first.payload == {"n": 1}
        first.reject(requeue=True)
        again = bound.get()
        assert again.payload == {"n": 1}  # same row, same place: not re-published at the tail
        again.ack()
        conn.default_channel.connection.flush_acks()
        assert list(Message.objects.values_list("queue", flat=True)) == ["q"]
        assert bound.get().payload == {"n": 2}


def test_an_unacked_message_is_delivered_again_when_its_lease_runs_out():
    with connect(lease=0.5) as dead, connect(lease=0.5) as alive:
        publish(dead, "q", [{"n": 1}])
        taken = Queue("q")(dead.default_channel).get()  # basic_get: no keeper renews this lease
        assert taken is not None
        assert Queue("q")(alive.default_channel).get() is None
        time.sleep(0.7)
        again = Queue("q")(alive.default_channel).get()
        assert again is not None and again.payload == {"n": 1}


def test_the_keeper_renews_leases_of_messages_a_live_consumer_holds():
    got = []
    with connect(lease=0.4) as holder, connect(lease=0.4) as other:
        queue = publish(holder, "q", [{"n": 1}])
        with holder.Consumer(queue, callbacks=[lambda body, msg: got.append(msg)], accept=["json"]):
            holder.drain_events(timeout=5)
            time.sleep(1.5)  # several leases long
            assert Queue("q")(other.default_channel).get() is None
            got[0].ack()


def test_concurrent_consumers_never_receive_the_same_message():
    total, seen, lock = 300, [], threading.Lock()
    with connect() as conn:
        publish(conn, "q", [{"n": n} for n in range(total)])

    def consume():
        with connect(batch_size=7) as conn:
            bound = Queue("q")(conn.default_channel)
            while (message := bound.get()) is not None:
                with lock:
                    seen.append(message.payload["n"])
                message.ack()

    threads = [threading.Thread(target=consume) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(seen) == list(range(total))


def test_higher_priority_first_then_publish_order():
    with connect() as conn:
        publish(conn, "q", [{"p": 0, "n": 1}], priority=0)
        publish(conn, "q", [{"p": 9, "n": 2}], priority=9)
        publish(conn, "q", [{"p": 5, "n": 3}], priority=5)
        publish(conn, "q", [{"p": 9, "n": 4}], priority=9)
        bound = Queue("q")(conn.default_channel)
        order = [bound.get(no_ack=True).payload["n"] for _ in range(4)]
    assert order == [2, 4, 3, 1]


def test_fanout_gives_every_bound_queue_its_own_copy():
    exchange = Exchange("broadcast", type="fanout")
    with connect() as conn:
        for name in ("a", "b"):
            Queue(name, exchange)(conn.default_channel).declare()
        Producer(conn.default_channel).publish({"hello": 1}, exchange=exchange, declare=[exchange])
        assert sorted(Message.objects.values_list("queue", flat=True)) == ["a", "b"]


def test_a_message_published_in_a_rolled_back_transaction_never_appears():
    with connect() as conn:
        queue = publish(conn, "q", [])  # declare outside the transaction
        with pytest.raises(RuntimeError), transaction.atomic():
            Producer(conn.default_channel).publish({"n": 1}, exchange=queue.exchange, routing_key="q")
            raise RuntimeError("roll back")
        assert Message.objects.count() == 0


def test_stale_expiring_queues_of_dead_processes_are_swept():
    with connect() as conn:
        channel = conn.default_channel
        reply = Exchange("reply", type="direct")
        Queue("dead.reply", reply, routing_key="x", expires=10)(channel).declare()
        Queue("alive.reply", reply, routing_key="y", expires=10)(channel).declare()
        Queue("tasks")(channel).declare()
        Producer(channel).publish({"n": 1}, exchange=reply, routing_key="x")  # routed by the shared binding
        assert Message.objects.get().queue == "dead.reply"
        QueueRow.objects.filter(name="dead.reply").update(last_seen=time.time() - 3600)
        removed = channel.db.sweep_stale_queues(time.time(), 60)
    assert removed == ["dead.reply"]
    assert set(QueueRow.objects.values_list("name", flat=True)) == {"alive.reply", "tasks"}
    assert not Binding.objects.filter(queue="dead.reply").exists()
    assert not Message.objects.filter(queue="dead.reply").exists()


def test_purge_and_size_count_this_queue_only():
    with connect() as conn:
        publish(conn, "q", [{"n": n} for n in range(3)])
        publish(conn, "other", [{"n": 1}])
        channel = conn.default_channel
        assert channel._size("q") == 3
        assert channel._purge("q") == 3
        assert channel._size("q") == 0 and channel._size("other") == 1
