"""Benchmark: IIIF tiles of a prepared 2D mosaic, and orthoslices of a volume, over HTTP.

Usage::

    .venv/bin/python bench/tiles.py [--dir /tmp] [--mosaic 8192x8192] [--duration 20]
        [--connections 16] [--volume 512] [--skip werkzeug,ortho]

    # the full-size case: --mosaic 32000x27000

Needs PostgreSQL and Redis (``--database-url``/``--redis-url``; default the local servers
on 127.0.0.1:5432 and :6379, a scratch database is created and dropped), ``nginx`` and
``wrk`` (``apt-get install -y nginx wrk``) and gunicorn in the venv. Everything listens on
127.0.0.1 only.

The mosaic (uint8, a synthetic pattern with noise, tiled BigTIFF) is ingested and prepared
by the real services and preparation job. The tile set is every 256² tile of every pyramid
level, in the form OpenSeadragon 6 asks for (IIIF 3: ``x,y,w,h/w,h/0/default.jpg``). A
logged-in user's ``info.json`` gives the signed tile link (``lims/api/tilelinks.py``);
every tile is requested once through it (cold: nginx -> ctvault renders and stores it),
then ``wrk`` requests the tiles in turn, with the session cookie, against:

(a) the embedded werkzeug server (threaded), signed links: ctvault checks link, session
    and visibility on every tile and sends the bytes;
(b) nginx with ``deploy/nginx/ctvault-tiles.conf`` in front of gunicorn (gthread): nginx
    checks the signed link (``secure_link``: signature, expiry, session cookie) and sends
    the stored tile itself;
(b0) the same nginx + gunicorn, plain tile URLs: ctvault checks session and visibility on
    every tile and answers with ``X-Accel-Redirect`` (the previous design);
(c) nginx serving the same files as static files (no access check): the ceiling.

(b) and (c) alternate ``--rounds`` times so that each ratio compares runs made under the
same machine load. Before the runs, nginx must answer 403 to a signed tile without the
session cookie, with a forged signature, with the expiry pushed out, with an expired link
and with another session's cookie, and 200 with the cookie; a plain tile URL without the
cookie must get 302 (login). Orthoslices: a volume (S³ uint16) is prepared the same way,
and full XY/XZ/YZ planes at screen resolution (``full/!1024,1024``) are timed through
nginx -> gunicorn, uncached (each request has its own window, so each one is rendered).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask import Flask
from redis import Redis
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from audit import Actor
from lims.api import iiif, tilelinks
from lims.auth.roles import Role
from lims.db.migrate import upgrade
from lims.imaging.pyramid import level_shapes
from lims.runtime.resources import build_resources
from lims.services import catalogue, users
from lims.services.ingest import IngestTarget, ingest_path
from lims.settings import Settings
from lims.web.app import create_app
from lims.web.viewer import views
from processing import context as job_context
from processing.queues import DEFAULT, HEAVY

TILE = 256
PASSWORD = "bench password 1234"  # noqa: S105 - a throwaway bench account
LOOPBACK = "127.0.0.1"
LINK_SECRET = "bench tile link secret"  # noqa: S105 - a throwaway bench secret
TILES_CONF = ROOT / "deploy" / "nginx" / "ctvault-tiles.conf"


# ------------------------------------------------------------------ the app under test


def wsgi_app() -> Flask:
    """The web app from the environment, with the IIIF and viewer blueprints (gunicorn)."""

    app = create_app(Settings.from_env())
    if "iiif" not in app.blueprints:
        app.register_blueprint(iiif.blueprint)
    if "viewer" not in app.blueprints:
        app.register_blueprint(views.blueprint)
    return app


def _env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CTVAULT_DATA_DIR=str(settings.data_dir),
        DATABASE_URL=str(settings.database_url),
        REDIS_URL=str(settings.redis_url),
        CTVAULT_SECRET_KEY=str(settings.secret_key),
        CTVAULT_TILE_CACHE_DIR=str(settings.tile_cache_dir),
        CTVAULT_LOGIN_ATTEMPTS_PER_MINUTE="1000",
        CTVAULT_SESSION_IDLE_MINUTES="120",
        CTVAULT_TILE_LINK_SECRET=LINK_SECRET,
        CTVAULT_TILE_LINK_SECONDS="3600",  # longer than any run
    )
    if settings.tile_accel_prefix:
        env["CTVAULT_TILE_ACCEL_PREFIX"] = settings.tile_accel_prefix
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _wait_port(port: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {LOOPBACK}:{port}")


@contextmanager
def _process(args: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_port(port)
        yield
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------ data


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A freshly migrated database on the server, dropped afterwards."""

    name = f"ctvault_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        make_url(server_url).set(drivername="postgresql+psycopg2"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _mosaic(path: Path, height: int, width: int) -> None:
    """A uint8 mosaic (rings, gradient and noise), written tile row by tile row."""

    def rows() -> Iterator[np.ndarray]:
        rng = np.random.default_rng(0)
        x = np.arange(width, dtype=np.float32)
        for y0 in range(0, height, TILE):
            y = np.arange(y0, min(y0 + TILE, height), dtype=np.float32)[:, None]
            r = np.hypot(y - height / 2, x - width / 2)
            band = 120 + 80 * np.sin(r / 40) + 40 * (x / width)
            noise = rng.normal(0, 12, band.shape)
            yield np.clip(band + noise, 0, 255).astype(np.uint8)

    def tiles() -> Iterator[np.ndarray]:
        for strip in rows():
            padded = np.zeros((TILE, -(-width // TILE) * TILE), np.uint8)
            padded[: strip.shape[0], :width] = strip
            for x0 in range(0, width, TILE):
                yield padded[:, x0 : x0 + TILE]

    tifffile.imwrite(
        path, tiles(), shape=(height, width), dtype=np.uint8, tile=(TILE, TILE), bigtiff=True
    )


def _volume(folder: Path, side: int) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    y, x = np.ogrid[:side, :side]
    for z in range(side):
        plane = 1000 + 20000 * (
            ((y - side / 2) ** 2 + (x - side / 2) ** 2 + (z - side / 2) ** 2) < (side / 3) ** 2
        )
        plane = plane + rng.normal(0, 500, (side, side))
        tifffile.imwrite(folder / f"slice_{z:04d}.tif", np.clip(plane, 0, 65535).astype(np.uint16))


def prepare(settings: Settings, mosaic: tuple[int, int], volume: int | None) -> dict[str, Any]:
    """Create a user, ingest the mosaic (and volume) and run the preparation job."""

    resources = build_resources(settings)
    sources = settings.data_dir / "sources"
    ids: dict[str, Any] = {}
    with resources.unit_of_work() as uow:
        user = users.insert_user(
            uow.session,
            Actor.system("bench"),
            username="bench",
            display_name="Bench",
            password=PASSWORD,
            email=None,
            roles=frozenset({Role.ADMIN, Role.MICROSCOPIST}),
            reason="benchmark account",
        )
        uow.commit()
        ctx = resources.service_context(uow, users.identity_of(uow.session, user, {"via": "bench"}))
        catalogue.create_project(ctx, name="Bench")
        catalogue.create_sample(ctx, project_name="Bench", name="Mosaic")
        uow.commit()
        (sources / "mosaic").mkdir(parents=True)
        started = time.perf_counter()
        _mosaic(sources / "mosaic" / "mosaic.tif", *mosaic)
        print(f"  mosaic {mosaic[1]}x{mosaic[0]} written in {time.perf_counter() - started:.1f} s")
        version = ingest_path(
            ctx, IngestTarget("Bench", "Mosaic", "mosaic"), sources / "mosaic", reason="bench"
        )
        ids["mosaic"] = str(version.id)
        if volume:
            _volume(sources / "volume", volume)
            version = ingest_path(
                ctx, IngestTarget("Bench", "Mosaic", "volume"), sources / "volume", reason="bench"
            )
            ids["volume"] = str(version.id)
    job_context.set_resources(
        job_context.JobResources(
            settings=settings,
            session_factory=resources.session_factory,
            redis=resources.redis,
            blobstore=resources.blobstore,
            clock=resources.clock,
            hostname=socket.gethostname(),
        )
    )
    started = time.perf_counter()
    queues = [
        Queue(n, connection=resources.redis, serializer=JSONSerializer) for n in (DEFAULT, HEAVY)
    ]
    SimpleWorker(queues, connection=resources.redis, serializer=JSONSerializer).work(burst=True)
    print(f"  prepared in {time.perf_counter() - started:.1f} s")
    job_context.clear_resources()
    resources.close()
    return ids


def tile_suffixes(height: int, width: int) -> list[str]:
    """Every 256² tile of every pyramid level, as OpenSeadragon 6 asks for them (IIIF 3)."""

    suffixes = []
    for level, _ in enumerate(level_shapes((height, width), 2)):
        factor = 2**level
        span = TILE * factor
        for y in range(0, height, span):
            for x in range(0, width, span):
                w, h = min(span, width - x), min(span, height - y)
                size = f"{-(-w // factor)},{-(-h // factor)}"
                suffixes.append(f"{x},{y},{w},{h}/{size}/0/default.jpg")
    return suffixes


def signed_base(base: str, image_id: str, cookie: str) -> str:
    """The signed base URI (path) info.json hands to this session."""
    status, _, body = get(f"{base}/iiif/3/{image_id}/info.json", cookie)
    _require(status == 200, f"info.json: {status}")
    return str(urllib.parse.urlsplit(str(json.loads(body)["id"])).path)


# ------------------------------------------------------------------ HTTP helpers


def _require(condition: bool, message: str) -> None:  # noqa: FBT001
    if not condition:
        raise RuntimeError(message)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:  # noqa: ANN401
        return None


def log_in(base: str) -> str:
    """Log in through the real form; returns the session cookie value."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    _require(token is not None, "no CSRF token on the login page")
    assert token is not None  # noqa: S101 - for the type checker
    form = urllib.parse.urlencode(
        {"username": "bench", "password": PASSWORD, "csrf_token": token.group(1)}
    ).encode()
    try:
        opener.open(f"{base}/login", data=form)
    except urllib.error.HTTPError as exc:
        if exc.code != 302:
            raise
    cookie = next(c.value for c in jar if c.name == "ctvault_session")
    return str(cookie)


def get(url: str, cookie: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
        url, headers={"Cookie": f"ctvault_session={cookie}"} if cookie else {}
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def check_access(base: str, path: str, cookie: str) -> dict[str, str]:
    """Anonymous: refused (302 to login); with the cookie: a JPEG (its caching headers)."""
    status, headers, _ = get(base + path)
    _require(
        status == 302 and "/login" in headers.get("Location", ""),
        f"anonymous tile request not refused: {status} {headers}",
    )
    status, headers, body = get(base + path, cookie)
    _require(
        status == 200 and body[:3] == b"\xff\xd8\xff",
        f"tile request with the cookie failed: {status} {headers}",
    )
    names = ("Content-Type", "ETag", "Cache-Control", "Access-Control-Allow-Origin")
    return {name: headers.get(name, "(missing)") for name in names}


def check_link_access(base: str, link_path: str, cookie: str, other_cookie: str) -> dict[str, str]:
    """A signed tile through nginx: 403 without the session, forged, expired or for another
    session; 200 (a JPEG) with it. Returns the statuses seen."""
    parts = link_path.split("/")  # ['', 'iiif', '3', 's', expires, sig, digest, image, ...]
    expires, signature, digest = parts[4], parts[5], parts[6]
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    old = tilelinks.issue(LINK_SECRET, digest, cookie, now=time.time() - 7200, lifetime_s=60)
    rest = "/".join(parts[7:])
    cases = {
        "no cookie": (link_path, None),
        "forged signature": (link_path.replace(signature, flipped), cookie),
        "expiry pushed out": (link_path.replace(f"/{expires}/", f"/{int(expires) + 600}/"), cookie),
        "expired link": (f"/iiif/3/{old.path()}/{rest}", cookie),
        "another session": (link_path, other_cookie),
    }
    seen = {}
    for name, (path, with_cookie) in cases.items():
        status, _, _ = get(base + path, with_cookie)
        _require(status == 403, f"{name}: {status}, not 403")
        seen[name] = str(status)
    status, headers, body = get(base + link_path, cookie)
    _require(status == 200 and body[:3] == b"\xff\xd8\xff", f"signed tile: {status}")
    _require("Accept-Ranges" in headers, "the signed tile did not come from nginx itself")
    seen["with the session"] = str(status)
    seen.update({n: headers.get(n, "(missing)") for n in ("Content-Type", "Cache-Control", "ETag")})
    return seen


def wrk(
    base: str, paths: list[str], cookie: str | None, args: argparse.Namespace, work: Path
) -> dict[str, float]:
    """Run wrk over the paths in turn; tiles/s, p50/p99 latency (ms), errors."""
    listing = work / f"paths-{uuid.uuid4().hex[:6]}.lua"
    quoted = ",\n".join(json.dumps(p) for p in paths)
    header = f'["Cookie"] = "ctvault_session={cookie}"' if cookie else ""
    listing.write_text(
        f"local paths = {{\n{quoted}\n}}\n"
        "local counter = 0\n"
        "function setup(thread) thread:set('offset', math.random(#paths)) end\n"
        "function init(args) counter = offset or 0 end\n"
        "function request()\n  counter = counter + 1\n"
        f"  return wrk.format('GET', paths[(counter % #paths) + 1], {{{header}}})\nend\n"
    )
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--latency",
        "-s",
        str(listing),
        base,
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)

    def percentile(name: str) -> float:
        value, unit = re.search(rf"\s{name}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {
        "tiles_per_s": rate,
        "p50_ms": percentile("50"),
        "p99_ms": percentile("99"),
        "non_2xx": float(errors.group(1)) if errors else 0.0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",  # type: ignore[dict-item]
    }


NGINX_CONF = """
worker_processes {workers};
user root;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    include /etc/nginx/mime.types;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream ctvault {{ server 127.0.0.1:{app_port}; keepalive 32; }}
    server {{
        listen 127.0.0.1:{port};
        # deploy/nginx/ctvault-tiles.conf: signed tile links, X-Accel-Redirect location
        include {prefix}/ctvault-tiles.conf;
        # Benchmark only, the ceiling: the same files with no access check at all.
        location /static-tiles/ {{
            alias {cache}/;
        }}
        location / {{
            proxy_pass http://ctvault;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
    }}
}}
"""


@contextmanager
def nginx(prefix: Path, port: int, app_port: int, cache: Path, workers: int) -> Iterator[None]:
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    tiles_conf = TILES_CONF.read_text()
    for name, value in (
        ("__TILE_DIR__", str(cache)),
        ("__LINK_SECRET__", LINK_SECRET),
        ("__UPSTREAM__", f"127.0.0.1:{app_port}"),
    ):
        tiles_conf = tiles_conf.replace(name, value)
    (prefix / "ctvault-tiles.conf").write_text(tiles_conf)
    conf.write_text(
        NGINX_CONF.format(prefix=prefix, port=port, app_port=app_port, cache=cache, workers=workers)
    )
    with _process(
        ["nginx", "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
        dict(os.environ),
        port,
        prefix / "out.log",
    ):
        yield


def ortho(base: str, cookie: str, version: str, side: int, runs: int) -> dict[str, list[float]]:
    """Seconds for full XY/XZ/YZ planes at screen size, each rendered (own window)."""
    timings: dict[str, list[float]] = {"z": [], "y": [], "x": []}
    counter = 0
    for run in range(runs):
        for axis in "zyx":
            counter += 1
            index = (side // (runs + 1)) * (run + 1)
            window = f"?min=0&max={60000 - counter}"
            path = f"/iiif/3/{version}~{axis}~{index}/full/!1024,1024/0/default.jpg{window}"
            started = time.perf_counter()
            status, _, body = get(base + path, cookie)
            timings[axis].append(time.perf_counter() - started)
            _require(status == 200 and bool(body), f"orthoslice {path}: {status}")
    return timings


def main() -> None:  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--mosaic", default="8192x8192", help="WIDTHxHEIGHT, e.g. 32000x27000")
    parser.add_argument("--volume", type=int, default=512, help="side of the S³ uint16 volume")
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    parser.add_argument("--ortho-runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="alternating (b)/(c) runs")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "CTVAULT_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("CTVAULT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
    )
    parser.add_argument(
        "--skip", default="", help="comma list of: werkzeug, gunicorn, accel, static, ortho"
    )
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    width, height = (int(n) for n in args.mosaic.lower().split("x"))
    work = Path(tempfile.mkdtemp(prefix="ctvault-bench-tiles-", dir=args.dir))
    work.chmod(0o755)
    results: dict[str, Any] = {"mosaic": [width, height], "cpus": os.cpu_count()}

    Redis.from_url(args.redis_url).flushdb()
    try:
        with scratch_database(args.database_url) as database_url:
            settings = Settings(
                data_dir=work / "data",
                database_url=database_url,
                redis_url=args.redis_url,
                secret_key="bench-secret",  # noqa: S106 - a scratch database
                tile_cache_dir=work / "tiles",
                login_attempts_per_minute=1000,
            )
            print("preparing data ...")
            ids = prepare(settings, (height, width), None if "ortho" in skip else args.volume)
            suffixes = tile_suffixes(height, width)
            mosaic = ids["mosaic"]
            paths = [f"/iiif/3/{mosaic}/{suffix}" for suffix in suffixes]
            results["tiles"] = len(paths)
            gunicorn_port, nginx_port = _free_port(), _free_port()
            accel = settings.replace(tile_accel_prefix="/_tiles")
            gunicorn = [
                str(ROOT / ".venv" / "bin" / "gunicorn"),
                "--chdir",
                str(ROOT),
                "--pythonpath",
                str(ROOT / "bench"),
                "-w",
                str(args.gunicorn_workers),
                "-k",
                "gthread",
                "--threads",
                str(args.gunicorn_threads),
                "-b",
                f"{LOOPBACK}:{gunicorn_port}",
                "--log-level",
                "warning",
                "tiles:wsgi_app()",
            ]
            with (
                _process(gunicorn, _env(accel), gunicorn_port, work / "gunicorn.log"),
                nginx(work / "nginx", nginx_port, gunicorn_port, settings.tile_cache_dir, 2),  # type: ignore[arg-type]
            ):
                proxied = f"http://{LOOPBACK}:{nginx_port}"
                cookie, other_cookie = log_in(proxied), log_in(proxied)
                base = signed_base(proxied, mosaic, cookie)
                digest = base.split("/")[6]
                linked = [f"{base}/{suffix}" for suffix in suffixes]
                print(f"rendering {len(paths)} tiles once (cold, nginx -> ctvault) ...")
                renders = []
                for path in linked:
                    started = time.perf_counter()
                    status, _, _ = get(proxied + path, cookie)
                    renders.append(time.perf_counter() - started)
                    _require(status == 200, f"{path}: {status}")
                renders.sort()
                results["cold_render_ms"] = {
                    "median": 1000 * statistics.median(renders),
                    "p99": 1000 * renders[int(0.99 * (len(renders) - 1))],
                }
                static_paths = [f"/static-tiles/iiif/{digest}/p/{s}" for s in suffixes]
                results["signed_link_checks"] = check_link_access(
                    proxied, linked[0], cookie, other_cookie
                )
                results["accel_tile_headers"] = check_access(proxied, paths[0], cookie)
                # (b) and (c) alternate, so each ratio compares runs under the same load.
                for round_ in range(args.rounds):
                    if "gunicorn" not in skip:
                        print(f"(b) nginx + gunicorn, signed tile links, round {round_ + 1} ...")
                        signed = wrk(proxied, linked, cookie, args, work)
                        results.setdefault("signed_links", []).append(signed)
                    if "static" not in skip:
                        print(f"(c) nginx static files, round {round_ + 1} ...")
                        static = wrk(proxied, static_paths, None, args, work)
                        results.setdefault("nginx_static", []).append(static)
                    if not {"gunicorn", "static"} & skip:
                        ratio = signed["tiles_per_s"] / static["tiles_per_s"]
                        results.setdefault("b_over_c", []).append(round(ratio, 3))
                if "accel" not in skip:
                    print("(b0) gunicorn behind nginx, per-request check + X-Accel-Redirect ...")
                    results["gunicorn_accel"] = wrk(proxied, paths, cookie, args, work)
                if "ortho" not in skip:
                    print("orthoslices ...")
                    timings = ortho(proxied, cookie, ids["volume"], args.volume, args.ortho_runs)
                    results["ortho_ms"] = {
                        axis: {"median": 1000 * statistics.median(t), "max": 1000 * max(t)}
                        for axis, t in timings.items()
                    }
            if "werkzeug" not in skip:
                port = _free_port()
                serve = [
                    sys.executable,
                    "-c",
                    (
                        "import sys; sys.path.insert(0, 'bench'); import tiles;"
                        "from werkzeug.serving import make_server;"
                        f"make_server('{LOOPBACK}', {port}, tiles.wsgi_app(), threaded=True)"
                        ".serve_forever()"
                    ),
                ]
                with _process(serve, _env(settings), port, work / "werkzeug.log"):
                    local = f"http://{LOOPBACK}:{port}"
                    cookie = log_in(local)
                    check_access(local, paths[0], cookie)
                    base = signed_base(local, mosaic, cookie)
                    print("(a) werkzeug (embedded default), signed tile links ...")
                    results["werkzeug"] = wrk(
                        local, [f"{base}/{suffix}" for suffix in suffixes], cookie, args, work
                    )
    finally:
        Redis.from_url(args.redis_url).flushdb()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
