"""Search benchmark: 100,000 synthetic datasets, HTTP latency of searches and catalogue pages.

Usage: .venv/bin/python bench/search.py [--server-url URL] [--datasets 100000] [--rounds 30]

Creates a scratch database on the server (default: the local PostgreSQL on 127.0.0.1:5432),
migrates it, fills it with projects, samples, datasets (with versions, files, metadata, notes
and tags) through ordinary INSERTs, so the search triggers index everything as they would in
production, then serves the real web app on a loopback port (werkzeug, threaded, one embedded
Redis for sessions), logs in, and times a mix of searches and catalogue pages over HTTP with
a warm cache. The database is dropped at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/audit.py would shadow the `audit` package: keep this folder off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]

import argparse
import hashlib
import logging
import os
import platform
import statistics
import tempfile
import threading
import time
import uuid

import psycopg2
import requests
from werkzeug.serving import make_server

from audit import Actor
from lims.auth.roles import Role
from lims.db.migrate import upgrade
from lims.db.session import make_engine, make_session_factory
from lims.runtime.embedded import start_redis
from lims.runtime.resources import build_resources
from lims.services.users import insert_user
from lims.settings import Settings
from lims.web.app import create_app

PASSWORD = "bench password 2026"  # noqa: S105 - a throwaway benchmark account
PROJECTS = [
    ("Bone study", "FEM"),
    ("Battery ageing", "CELL"),
    ("Composite fatigue", "CFRP"),
    ("Geology cores", "CORE"),
    ("Additive manufacturing", "AM"),
    ("Dental implants", "DENT"),
    ("Seed morphology", "SEED"),
    ("Foam insulation", "FOAM"),
    ("Pharma tablets", "TAB"),
    ("Cast aluminium", "CAST"),
]
OPERATORS = ["Marie Curie", "Pierre Curie", "Lise Meitner", "Ada Lovelace", "Niels Bohr"]
INSTRUMENTS = ["Zeiss Versa 620", "Bruker SkyScan 1272", "Nikon XT H 225", "Zeiss Sigma 300"]
MODALITIES = ["CT volume", "CT volume", "CT volume", "2D mosaic", "SEM image"]
KINDS = ["raw scan", "reconstruction", "overview", "high-res ROI", "segmentation"]
TAGS = ["reference", "qa-hold", "publication", "calibration", "training"]
NOTES = [
    "Sample moved slightly during the scan; ring artefacts visible.",
    "Beam hardening correction applied by the instrument software.",
    "Crack visible near the condyle, see slice 412.",
    "Re-scan requested by the customer with a longer exposure.",
    "Porosity looks higher than the reference batch.",
]
QUERIES = {
    "word (common)": "q=reconstruction",
    "sample code": "q=FEM-0040",
    "partial code": "q=M-004",
    "typo": "q=reconstrution",
    "metadata value": "q=Versa",
    "phrase": "q=%22ring+artefacts%22",
    "file name": "q=slice_0002",
    "two words + filter": "q=crack+condyle&modality=CT+volume",
    "operator + date range": "q=Meitner&from=2023-01-01&to=2023-12-31",
    "no match": "q=xylophone",
}
PAGES = {
    "grid, newest": "/catalogue?view=grid",
    "table, by name": "/catalogue?view=table&sort=name",
    "table, one project": "/catalogue?view=table&project={project}",
    "grid, filters": "/catalogue?modality=CT+volume&instrument=Zeiss+Versa+620&tag=reference",
    "table, page 2": "{page2}",
}


def _fill(url: str, count: int, user_id: uuid.UUID) -> float:
    """Insert the catalogue in batches; returns seconds taken."""
    connection = psycopg2.connect(url)
    cursor = connection.cursor()
    samples = max(count // 50, len(PROJECTS))
    started = time.perf_counter()
    cursor.execute(
        "INSERT INTO projects (id, name, description, is_gxp, created_by_id) "
        "SELECT md5('p' || i)::uuid, (%s::text[])[i + 1], 'synthetic', false, %s "
        "FROM generate_series(0, %s - 1) AS i",
        ([p for p, _ in PROJECTS], str(user_id), len(PROJECTS)),
    )
    cursor.execute(
        "INSERT INTO samples (id, project_id, name, description, created_by_id) "
        "SELECT md5('s' || i)::uuid, md5('p' || (i %% %s))::uuid, "
        "(%s::text[])[1 + i %% %s] || '-' || lpad(i::text, 4, '0'), '', %s "
        "FROM generate_series(0, %s - 1) AS i",
        (len(PROJECTS), [c for _, c in PROJECTS], len(PROJECTS), str(user_id), samples),
    )
    connection.commit()
    batch = 5000
    for start in range(0, count, batch):
        stop = min(start + batch, count)
        span = {"start": start, "stop": stop}
        cursor.execute(
            "INSERT INTO datasets (id, sample_id, name, created_by_id, created_at) "
            "SELECT md5('d' || i)::uuid, md5('s' || (i %% %(samples)s))::uuid, "
            "(%(kinds)s::text[])[1 + i %% 5] || ' ' || i, %(user)s, "
            "timestamptz '2019-01-01' + i * interval '31 minutes' "
            "FROM generate_series(%(start)s, %(stop)s - 1) AS i",
            {**span, "samples": samples, "kinds": KINDS, "user": str(user_id)},
        )
        cursor.execute(
            "INSERT INTO blobs (sha256, size_bytes) "
            "SELECT encode(sha256(('b' || i || '-' || f)::bytea), 'hex'), 1000000 + i "
            "FROM generate_series(%(start)s, %(stop)s - 1) AS i, generate_series(1, 3) AS f",
            span,
        )
        cursor.execute(
            "INSERT INTO dataset_versions (id, dataset_id, number, author_id, reason, metadata,"
            " total_bytes, manifest_sha256, created_at) "
            "SELECT md5('v' || i)::uuid, md5('d' || i)::uuid, 1, %(user)s, 'acquired', "
            "jsonb_build_object('modality', (%(modalities)s::text[])[1 + i %% 5], "
            "  'instrument', (%(instruments)s::text[])[1 + (i / 7) %% 4], "
            "  'operator', (%(operators)s::text[])[1 + (i / 3) %% 5], "
            "  'acquired_at', to_char(timestamptz '2019-01-01' + i * interval '31 minutes',"
            "                         'YYYY-MM-DD'), "
            "  'voltage_kv', 60 + i %% 100, 'current_ua', 50 + i %% 150, "
            "  'voxel_size_um', round((0.5 + (i %% 400) / 10.0)::numeric, 1), "
            "  'filter', (ARRAY['none', 'Al 0.5 mm', 'Cu 0.1 mm', 'LE3'])[1 + i %% 4]), "
            "3000000 + 3 * i, encode(sha256(('m' || i)::bytea), 'hex'), "
            "timestamptz '2019-01-01' + i * interval '31 minutes' "
            "FROM generate_series(%(start)s, %(stop)s - 1) AS i",
            {
                **span,
                "user": str(user_id),
                "modalities": MODALITIES,
                "instruments": INSTRUMENTS,
                "operators": OPERATORS,
            },
        )
        cursor.execute(
            "INSERT INTO version_files (version_id, path, blob_sha256, size_bytes) "
            "SELECT md5('v' || i)::uuid, "
            "(ARRAY['recon/slice_0001.tif', 'recon/slice_0002.tif', 'scan_' || i || '.log'])[f], "
            "encode(sha256(('b' || i || '-' || f)::bytea), 'hex'), 1000000 + i "
            "FROM generate_series(%(start)s, %(stop)s - 1) AS i, generate_series(1, 3) AS f",
            span,
        )
        cursor.execute(
            "INSERT INTO notes (object_type, object_id, body, author_id) "
            "SELECT 'dataset', md5('d' || i)::uuid, (%(notes)s::text[])[1 + (i / 10) %% 5], "
            "%(user)s FROM generate_series(%(start)s, %(stop)s - 1) AS i WHERE i %% 10 = 0",
            {**span, "notes": NOTES, "user": str(user_id)},
        )
        cursor.execute(
            "INSERT INTO tags (dataset_id, label, added_by_id) "
            "SELECT md5('d' || i)::uuid, (%(tags)s::text[])[1 + (i / 5) %% 5], %(user)s "
            "FROM generate_series(%(start)s, %(stop)s - 1) AS i WHERE i %% 5 = 0",
            {**span, "tags": TAGS, "user": str(user_id)},
        )
        connection.commit()
    # What autovacuum does in the background: the fill rewrote each document several times.
    connection.autocommit = True
    cursor.execute("VACUUM ANALYZE")
    connection.close()
    return time.perf_counter() - started


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def _time(session: requests.Session, url: str, rounds: int) -> list[float]:
    session.get(url).raise_for_status()  # warm
    took = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = session.get(url)
        took.append(time.perf_counter() - started)
        response.raise_for_status()
    return took


def _login(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "/login").text
    token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    response = session.post(
        base + "/login",
        data={"username": "bench", "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    if response.status_code != 302:
        raise SystemExit(f"login failed: {response.status_code}")
    return session


def _serve(url: str, folder: Path) -> tuple[str, threading.Thread, object]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    _, redis_url = start_redis(folder / "redis")
    settings = Settings(
        data_dir=folder / "data",
        database_url=url,
        redis_url=redis_url,
        secret_key="bench",  # noqa: S106 - throwaway
    )
    app = create_app(settings, resources=build_resources(settings))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.server_port}", thread, server


def main() -> None:
    """Fill, serve, measure; print Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--datasets", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    args = parser.parse_args()
    name = f"ctvault_bench_search_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(args.server_url)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    url = args.server_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        engine = make_engine(url)
        with make_session_factory(engine)() as session:
            user = insert_user(
                session,
                Actor.system("bench"),
                username="bench",
                display_name="Bench Admin",
                password=PASSWORD,
                email=None,
                roles=frozenset({Role.ADMIN, Role.AUDITOR}),
                reason="benchmark",
            )
            session.commit()
            user_id = user.id
        engine.dispose()
        filled = _fill(url, args.datasets, user_id)
        with tempfile.TemporaryDirectory(prefix="ctvault-bench-") as folder:
            base, _, server = _serve(url, Path(folder))
            client = _login(base)
            results = {
                label: _time(client, f"{base}/search?{q}", args.rounds)
                for label, q in QUERIES.items()
            }
            first = client.get(f"{base}/catalogue?view=table&sort=name").text
            page2 = first.split('rel="next"', 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
            page2 = page2.replace("&amp;", "&")
            project = str(uuid.UUID(hashlib.md5(b"p0", usedforsecurity=False).hexdigest()))
            pages = {
                label: _time(client, base + path.format(project=project, page2=page2), args.rounds)
                for label, path in PAGES.items()
            }
            server.shutdown()  # type: ignore[attr-defined]
    finally:
        if not args.keep:
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print(f"kept database {name}")
        admin.close()
    _report(args.datasets, filled, results, pages)


def _report(
    count: int, filled: float, results: dict[str, list[float]], pages: dict[str, list[float]]
) -> None:
    load = os.getloadavg()
    cpus = os.cpu_count()
    print(
        f"machine: {platform.node()} {platform.machine()}, {cpus} CPUs, "
        f"Python {platform.python_version()}, load average {load[0]:.1f} at the end "
        "(other work on the machine included)"
    )
    print(
        f"filled {count:,} datasets (with versions, 3 files each, notes, tags) "
        f"in {filled:.0f} s ({count / filled:,.0f} datasets/s, triggers indexing)"
    )
    print("\n| search (HTTP, whole page) | p50 ms | p95 ms |\n|---|---:|---:|")
    everything: list[float] = []
    for label, took in results.items():
        everything += took
        p50, p95 = _percentiles(took)
        print(f"| {label} | {p50:.1f} | {p95:.1f} |")
    p50, p95 = _percentiles(everything)
    print(f"| **all searches** | **{p50:.1f}** | **{p95:.1f}** |")
    print("\n| catalogue page (HTTP) | p50 ms | p95 ms |\n|---|---:|---:|")
    for label, took in pages.items():
        p50, p95 = _percentiles(took)
        print(f"| {label} | {p50:.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
