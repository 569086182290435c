"""One open period per existing member from today's fields (issue 13).

A member whose status changed after cover began (suspended, terminated) gets an active period before
the change as well, so the adjudication decides every date exactly as the old rule did (status before
status_since was active). Written in batches with bulk_create: the demo databases hold 20,000 members.
"""

from datetime import timedelta

from django.db import migrations


def create_periods(apps, schema_editor):
    Member = apps.get_model("members", "Member")
    MembershipPeriod = apps.get_model("members", "MembershipPeriod")
    rows = []
    members = Member.objects.filter(periods__isnull=True).values_list(
        "id", "plan_id", "status", "status_since", "cover_start", "cover_end"
    )
    for member_id, plan_id, status, since, start, end in members.iterator(chunk_size=2000):
        if status != "active" and since > start:
            before = since - timedelta(days=1) if end is None else min(since - timedelta(days=1), end)
            if before >= start:  # cover_end and cover_start still bound cover: the periods carry the status
                rows.append(MembershipPeriod(member_id=member_id, status="active", plan_id=plan_id, valid_from=start,
                                             valid_to=before))  # fmt: skip
            start = since
        rows.append(MembershipPeriod(member_id=member_id, status=status, plan_id=plan_id, valid_from=start,
                                     valid_to=None))  # fmt: skip
        if len(rows) >= 2000:
            MembershipPeriod.objects.bulk_create(rows)
            rows = []
    MembershipPeriod.objects.bulk_create(rows)


class Migration(migrations.Migration):
    dependencies = [("members", "0004_membership_periods")]

    operations = [migrations.RunPython(create_periods, migrations.RunPython.noop)]
