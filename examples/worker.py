#!/usr/bin/env python3
"""An outside worker for jobpulse, in plain Python (standard library only).

It creates a job of kind "external" with the tenant's API token (or reports on a job someone
else created, given its worker token), then does its work in stages, reporting progress and
items as it goes, and ends the job. Everything it reports shows up live on the job's page and
over the WebSocket, like the built-in jobs.

    python3 examples/worker.py --url http://127.0.0.1:3000 --token jp_... --items 40
    python3 examples/worker.py --url http://127.0.0.1:3000 --job JOB_ID --worker-token jpw_...

Exit status: 0 when the job completed, 1 when jobpulse refused a report, 2 on bad arguments.
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.request

STAGES = ["download", "transform", "upload"]


class Refused(Exception):
    """jobpulse answered with an error; its `detail` says why."""


def call(base, path, token, body=None):
    """POSTs (or GETs, without a body) JSON under /api and returns the decoded answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{base}/api{path}",
        data=data,
        method="GET" if body is None else "POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        try:
            detail = json.loads(error.read()).get("detail", error.reason)
        except ValueError:
            detail = error.reason
        raise Refused(f"{error.code}: {detail}") from None


def work_on(item):
    """The actual work: here, a made-up transformation; every seventh item fails."""
    if item % 7 == 6:
        return None, f"item {item} could not be transformed"
    return {"value": item * item, "label": f"item-{item}"}, None


def run(base, job_id, worker_token, total, batch, delay):
    done = 0
    per_stage = -(-total // len(STAGES))  # ceiling division
    for number, stage in enumerate(STAGES):
        first = number * per_stage
        last = min(total, first + per_stage)
        call(base, f"/jobs/{job_id}/progress", worker_token,
             {"processed": done, "stage": stage, "message": f"{stage}: items {first + 1}–{last}"})
        pending = []
        for item in range(first, last):
            time.sleep(delay)  # stands for real work
            data, error = work_on(item)
            if error:
                pending.append({"key": f"item-{item}", "status": "failed", "error": error})
            else:
                pending.append({"key": f"item-{item}", "status": "ok", "data": data})
            done += 1
            if len(pending) == batch:
                call(base, f"/jobs/{job_id}/items", worker_token, {"items": pending})
                call(base, f"/jobs/{job_id}/progress", worker_token, {"processed": done})
                pending = []
        if pending:
            call(base, f"/jobs/{job_id}/items", worker_token, {"items": pending})
        call(base, f"/jobs/{job_id}/progress", worker_token, {"processed": done, "stage": stage})
    return call(base, f"/jobs/{job_id}/complete", worker_token, {})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="jobpulse's base URL, e.g. http://127.0.0.1:3000")
    parser.add_argument("--token", help="the tenant's API token (to create the job)")
    parser.add_argument("--job", help="report on this existing job instead of creating one")
    parser.add_argument("--worker-token", help="the existing job's worker token")
    parser.add_argument("--name", default="Nightly import (example worker)")
    parser.add_argument("--items", type=int, default=40, help="how many items to process")
    parser.add_argument("--batch", type=int, default=10, help="items per report")
    parser.add_argument("--delay", type=float, default=0.02, help="seconds of 'work' per item")
    args = parser.parse_args()
    base = args.url.rstrip("/")

    if args.job:
        if not args.worker_token:
            parser.error("--job needs --worker-token")
        job_id, worker_token = args.job, args.worker_token
    elif args.token:
        created = call(base, "/jobs", args.token,
                       {"kind": "external", "name": args.name, "total": args.items, "stages": STAGES})
        job_id, worker_token = created["job"]["id"], created["worker_token"]
    else:
        parser.error("give --token (to create a job) or --job with --worker-token")

    print(f"job {job_id}", flush=True)
    try:
        job = run(base, job_id, worker_token, args.items, max(1, args.batch), max(0.0, args.delay))
    except Refused as refused:
        print(f"jobpulse refused a report: {refused}", file=sys.stderr)
        return 1
    progress = job["progress"]
    print(f"{job['status']}: {progress['sent']} done, {progress['failed']} failed", flush=True)
    return 0 if job["status"] == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
