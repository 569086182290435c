"""/metrics in the Prometheus text format, the same from every web process.

recorder.py: each worker process counts the tasks it ran (name, end state, runtime bucket) and adds them
to `TaskStat` rows about once a second. collector.py: a prometheus-client Collector that reads those
rows and the rest (queues, bulk jobs, claims, notifications, health) from the database and the broker
at scrape time. views.py: the protected endpoint. Labels carry task, queue, state, outcome and
component names and job ids only, never personal data.
"""
