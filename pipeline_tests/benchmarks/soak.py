"""Soak: a fresh deployment left running. Starts `dagster-daemon` (the code location of
workspace.yaml) and `pipeline serve` on a new data dir and DAGSTER_HOME in a temporary folder,
with every schedule ticking every minute (PIPELINE_SCHEDULE_CRON), drops real sales files into
the landing zone over time, follows the open-pixel and click links of the e-mails in the outbox
(loopback only, bounded), and after --minutes prints: failed runs (job, step, error's last
line), operator e-mails per root cause, lock waits, and anything lost (files landed vs loaded or
rejected, requests sent vs answered).

Run: .venv/bin/python pipeline_tests/benchmarks/soak.py --minutes 5
Target: 0 failed runs, at most 2 operator messages per cause (failing, resolved), nothing lost.
"""

from __future__ import annotations

import argparse
import collections
import email
import html
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from email import policy
from pathlib import Path

from pipeline.lib.notify.links import CLICK_PATH, OPEN_PATH
from pipeline.lib.settings import REPO_ROOT

REALDATA = REPO_ROOT.parent / "shared" / "realdata"
FIXTURES = REPO_ROOT / "pipeline_tests" / "fixtures" / "sales"
# (datasource, file name): real files when ../shared/realdata has them, else the repo's copies.
SALES_FILES = [("supermarket", "supermarket_sales.csv"), ("superstore", "sample_superstore.csv")]
MAX_REQUESTS = 400  # loopback requests to `pipeline serve`, in all
REQUEST_PAUSE_S = 0.5
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}
ALERT_SENSOR_S = 75  # health_alert_sensor's interval and a margin: it sees the last runs
LOCK_PATTERNS = ("is locked by another process", "lock acquired after", "stayed locked")
ALERT_SUBJECT = re.compile(r"^\[(?P<severity>[A-Z]+)\] (?P<kind>Failing|Still failing|Resolved): ")
SERVE_LINK = re.compile(r"https?://127\.0\.0\.1:\d+/[^\s\"'<>]+")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(root: Path, serve_port: int, cron: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "SMTP_"))}
    data = root / "data"
    env.update(
        DAGSTER_HOME=str(root / "dagster_home"),
        PIPELINE_DATA_DIR=str(data),
        PIPELINE_SCHEDULE_CRON=cron,
        PIPELINE_OPERATOR_EMAILS="ops@example.org",
        PIPELINE_PUBLIC_URL=f"http://127.0.0.1:{serve_port}",
        PIPELINE_UNSUBSCRIBE_SECRET=secrets.token_urlsafe(48),
    )
    return env


def start(args: list[str], env: dict, log: Path, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        env=env,
        cwd=cwd,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until_serving(public_url: str, server: subprocess.Popen, timeout_s: float = 120) -> None:
    """Requests count from the moment `pipeline serve` answers (its start-up is not a loss)."""
    deadline = time.monotonic() + timeout_s
    while get(f"{public_url}/") is None:
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("pipeline serve did not start; see serve.log")
        time.sleep(1)


def drain(bound_s: float) -> None:
    """Stop the schedules (what the UI's toggle does), let the runs in flight finish and the
    alert sensor see their outcome; bounded by `bound_s`."""
    import dagster as dg

    from pipeline.defs.shared.automation_pause import ACTIVE, runs_in_flight
    from pipeline.defs.shared.dagster_private import InstigatorStatus, InstigatorType

    deadline = time.monotonic() + bound_s
    with dg.DagsterInstance.get() as instance:
        for state in instance.all_instigator_state(instigator_type=InstigatorType.SCHEDULE):
            if state.status in ACTIVE:
                instance.update_instigator_state(state.with_status(InstigatorStatus.STOPPED))
        while runs_in_flight(instance) and time.monotonic() < deadline:
            time.sleep(5)
        print(f"  drained; {len(runs_in_flight(instance))} run(s) still in flight")
    time.sleep(ALERT_SENSOR_S)


def sales_sources() -> list[tuple[str, Path]]:
    return [
        (datasource, REALDATA / name if (REALDATA / name).exists() else FIXTURES / name)
        for datasource, name in SALES_FILES
    ]


def drop_file(landing: Path, datasource: str, source: Path) -> Path:
    """Copy then rename, as an upload would: the sensor never sees half a file."""
    target = landing / "sales" / datasource / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    shutil.copyfile(source, partial)
    partial.rename(target)
    return target


def tracking_links(outbox: Path, public_url: str, seen: set[str]) -> list[str]:
    """Open-pixel and click links of the e-mails written so far, each once."""
    links = []
    for path in sorted(outbox.rglob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for part in message.walk():
            if part.get_content_maintype() != "text":
                continue
            for link in SERVE_LINK.findall(html.unescape(part.get_content())):
                tracked = link.startswith((public_url + OPEN_PATH, public_url + CLICK_PATH))
                if tracked and link not in seen:
                    seen.add(link)
                    links.append(link)
    return links


def get(url: str) -> int | None:
    """The HTTP status, or None when nothing answered."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def operator_alerts(outbox: Path) -> dict[str, list[str]]:
    """Operator e-mails per root cause (the subject without its severity and state prefix):
    the states in order of writing."""
    causes: dict[str, list[tuple[float, str]]] = collections.defaultdict(list)
    for path in outbox.rglob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        subject = str(message["Subject"] or "")
        match = ALERT_SUBJECT.match(subject)
        if match and "ops@example.org" in str(message["To"] or ""):
            cause = subject[match.end() :]
            if match["kind"] == "Failing":
                cause = cause.split(": ", 1)[0] if cause.startswith("job ") else cause
            causes[cause].append((path.stat().st_mtime, f"{match['kind']} [{match['severity']}]"))
    return {cause: [s for _, s in sorted(states)] for cause, states in sorted(causes.items())}


def report(root: Path, started: float, stopped: float, dropped: list[Path], requests) -> int:
    import dagster as dg

    from pipeline.defs.health.sensors import run_failure
    from pipeline.lib import warehouse, warehouse_choice
    from pipeline.lib.settings import settings

    failed, cut_short, lock_lines = [], [], []
    runs_by_status, runs_by_job = collections.Counter(), collections.Counter()
    with dg.DagsterInstance.get() as instance:
        for record in instance.get_run_records():
            run = record.dagster_run
            runs_by_status[run.status.value] += 1
            runs_by_job[run.job_name] += 1
            if run.status == dg.DagsterRunStatus.FAILURE:
                step, error = run_failure(instance, run)
                line = f"{run.job_name} {run.run_id[:8]} {step}: {error}"
                # Failed once the soak stopped the daemon: cut short by the stop, not a fault.
                ended = record.end_time or record.update_timestamp.timestamp()
                (cut_short if ended >= stopped else failed).append(line)
            for entry in instance.all_logs(run.run_id):
                if any(p in (entry.user_message or "") for p in LOCK_PATTERNS):
                    lock_lines.append(f"run {run.run_id[:8]}: {entry.user_message.strip()[:160]}")
    for log in root.glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if any(p in line for p in LOCK_PATTERNS):
                lock_lines.append(f"{log.name}: {line.strip()[:160]}")

    paths = settings()
    files = {}
    database = warehouse_choice.configured()
    if database.exists():
        with database.connection(read_only=True, timeout_s=120) as conn:
            if warehouse.table_exists(conn, "sales.files"):
                files = dict(
                    conn.execute(
                        "SELECT status, count(*) FROM sales.files WHERE NOT is_sample GROUP BY 1"
                    ).fetchall()
                )
    alerts = operator_alerts(paths.outbox)
    answered = collections.Counter(status for status in requests.values())

    minutes = (time.time() - started) / 60
    print(f"\nsoak: {minutes:.1f} min on {root}")
    print(f"runs: {dict(runs_by_status) or 'none'}")
    print(f"runs per job: {dict(sorted(runs_by_job.items()))}")
    print(f"failed runs: {len(failed)}")
    for line in failed:
        print(f"  {line}")
    unfinished = sum(n for status, n in runs_by_status.items() if status not in FINISHED)
    print(f"runs not finished when the soak stopped (the drain's bound): {unfinished}")
    print(f"runs cut short by the soak's stop (failed after it): {len(cut_short)}")
    for line in cut_short:
        print(f"  {line}")
    print(f"operator e-mails: {sum(len(s) for s in alerts.values())} for {len(alerts)} cause(s)")
    for cause, states in alerts.items():
        print(f"  {len(states)} x {cause[:110]}: {', '.join(states)}")
    print(f"lock waits: {len(lock_lines)}")
    for line in lock_lines[:20]:
        print(f"  {line}")
    loaded = files.get("loaded", 0) + files.get("rejected", 0)
    print(f"sales files: {len(dropped)} dropped, {files or 'none registered'}")
    print(f"requests: {len(requests)} sent, answered by status {dict(answered)}")
    lost_files = len(dropped) - loaded
    lost_requests = answered.get(None, 0) + sum(n for s, n in answered.items() if s and s >= 500)
    print(
        f"lost: {lost_files} file(s) not loaded or rejected, {lost_requests} request(s) unanswered or 5xx"
    )
    worst = max((len(s) for s in alerts.values()), default=0)
    ok = not failed and worst <= 2 and lost_files == 0 and lost_requests == 0
    print("target met" if ok else "target NOT met")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder.")
    parser.add_argument(
        "--cron", default="* * * * *", help="Every schedule's cron (PIPELINE_SCHEDULE_CRON)."
    )
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="pipeline-soak-"))
    serve_port = free_port()
    env = environment(root, serve_port, args.cron)
    os.environ.update(env)  # this process reads the same instance and warehouse
    home = Path(env["DAGSTER_HOME"])
    home.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    bin_dir = Path(sys.executable).parent
    daemon = start(
        [str(bin_dir / "dagster-daemon"), "run", "-w", str(REPO_ROOT / "workspace.yaml")],
        env,
        root / "daemon.log",
        cwd=home,
    )
    server = start(
        [str(bin_dir / "pipeline"), "serve", "--port", str(serve_port)],
        env,
        root / "serve.log",
        cwd=home,
    )
    started = time.time()
    deadline = started + args.minutes * 60
    landing = Path(env["PIPELINE_DATA_DIR"]) / "landing"
    outbox = Path(env["PIPELINE_DATA_DIR"]) / "outbox"
    public_url = env["PIPELINE_PUBLIC_URL"]
    sources = sales_sources()
    # Files land early, so their runs and the analytics after them finish within the soak.
    drop_at = [
        started + (i + 1) * args.minutes * 40 / (len(sources) + 1) for i in range(len(sources))
    ]
    dropped: list[Path] = []
    requests: dict[str, int | None] = {}
    seen: set[str] = set()
    print(f"soak: {args.minutes:g} min; data and logs in {root}; serve on {public_url}")
    try:
        wait_until_serving(public_url, server)
        while time.time() < deadline:
            if daemon.poll() is not None or server.poll() is not None:
                print("a process ended early; see the logs", file=sys.stderr)
                break
            while drop_at and time.time() >= drop_at[0]:
                drop_at.pop(0)
                datasource, source = sources[len(dropped)]
                dropped.append(drop_file(landing, datasource, source))
                print(f"  {time.time() - started:5.0f}s dropped {datasource}/{source.name}")
            if len(requests) < MAX_REQUESTS:
                for link in tracking_links(outbox, public_url, seen)[
                    : MAX_REQUESTS - len(requests)
                ]:
                    requests[link] = get(link)
                requests[f"{public_url}/#{len(requests)}"] = get(f"{public_url}/")
            time.sleep(REQUEST_PAUSE_S if len(requests) < MAX_REQUESTS else 5)
        drain(args.minutes * 60)
    except KeyboardInterrupt:
        print("  interrupted: reporting what happened so far")
    finally:
        stopped = time.time()
        stop(server)
        stop(daemon)
    code = report(root, started, stopped, dropped, requests)
    if not args.keep and code == 0:
        shutil.rmtree(root, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
