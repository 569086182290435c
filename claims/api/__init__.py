"""HTTP API of the claims app (routes in backend/api_urls.py).

claims.py: submit one claim or a batch, read a claim with its adjudication, list claims.
bulk_jobs.py: start a bulk adjudication job and follow its progress.
"""
