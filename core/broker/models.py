"""Tables of the django:// broker. The transport reads and writes them with raw SQL (hot path)."""

from django.db import models


class Message(models.Model):
    """One message in one queue. A fanout publish writes one row per bound queue."""

    queue = models.CharField(max_length=200)
    # Delivery order within a queue: rank ascending, then id. rank = 9 - priority, so the highest
    # priority comes first while the index stays ascending, which lets a scan resume from a
    # (rank, id) start point with a plain row comparison (see transport.Channel._lease).
    rank = models.PositiveSmallIntegerField(default=9)
    # Epoch seconds after which the message may be delivered; 0 = ready. A delivery sets it to
    # now + lease; the holder renews it while it lives; ack deletes the row.
    visible_at = models.FloatField(default=0)
    payload = models.TextField()
    # The fencing token of the current delivery (CONVENTIONS.md §13): every delivery writes a fresh
    # random one in its reservation statement; renew, ack and release name it, so a holder whose
    # lease ran out touches nothing once another worker holds the row. 0 = not leased.
    lease_token = models.BigIntegerField(default=0, db_default=0)
    # How many times the message was delivered (a warm shutdown's give-back does not count). Above
    # CELERY_BROKER_MAX_DELIVERIES the message goes to the dead-letter table instead.
    # (Database defaults too: publishers insert with raw SQL, older ones without these columns.)
    deliveries = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        db_table = "broker_message"
        # The only index: an index on visible_at would be rewritten by every lease (DESIGN.md).
        indexes = [models.Index(fields=["queue", "rank", "id"], name="broker_msg_queue_rank_id")]

    def __str__(self) -> str:
        return f"{self.queue}#{self.pk}"


class Queue(models.Model):
    """A declared queue. Queues with an expiry (pidbox, replies) are swept once nobody touches them."""

    name = models.CharField(max_length=200, primary_key=True)
    expires = models.FloatField(null=True, blank=True, help_text="seconds (x-expires); null = permanent")
    last_seen = models.FloatField(default=0, help_text="epoch seconds of the last declare or consumer touch")

    class Meta:
        db_table = "broker_queue"

    def __str__(self) -> str:
        return self.name


class Binding(models.Model):
    """Exchange -> queue routes, shared by every process (fanout and pidbox replies need that)."""

    exchange = models.CharField(max_length=200)
    queue = models.CharField(max_length=200)
    routing_key = models.CharField(max_length=200, blank=True, default="")
    pattern = models.CharField(max_length=400, blank=True, default="")

    class Meta:
        db_table = "broker_binding"
        constraints = [
            models.UniqueConstraint(fields=["exchange", "queue", "routing_key"], name="broker_binding_unique")
        ]
        indexes = [models.Index(fields=["queue"], name="broker_binding_queue")]

    def __str__(self) -> str:
        return f"{self.exchange} -[{self.routing_key}]-> {self.queue}"


class DeadLetter(models.Model):
    """A message delivered more than CELERY_BROKER_MAX_DELIVERIES times (it kept killing or failing
    its worker): kept here, out of the queue, until an operator requeues or deletes it in the admin."""

    queue = models.CharField(max_length=200)
    rank = models.PositiveSmallIntegerField(default=9)
    payload = models.TextField()
    deliveries = models.PositiveIntegerField(default=0)
    died_at = models.FloatField(default=0, help_text="epoch seconds when it was moved here")

    class Meta:
        db_table = "broker_dead_letter"
        verbose_name = "dead letter"

    def __str__(self) -> str:
        return f"{self.queue}#{self.pk} (dead)"
