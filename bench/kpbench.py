"""Shared pieces of the kiteportal benchmark harness (`bench/run`, `bench/growth`).

Python 3 standard library only. Everything listens on 127.0.0.1, every child process is
recorded by PID and stopped on exit (normal, error, Ctrl-C, SIGTERM or the global time
limit), and every load run has a hard timeout.
"""

import atexit
import glob
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

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
VENV = os.path.join(BENCH, ".venv")
LEGACY = os.path.join(BENCH, "legacy")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# Processes: every child is remembered and stopped by PID.

_children = []  # Popen objects, in start order


def spawn(argv, **kw):
    kw.setdefault("stdin", subprocess.DEVNULL)
    p = subprocess.Popen(argv, **kw)
    _children.append(p)
    return p


def stop(p, sig=signal.SIGTERM, grace=5.0):
    if p.poll() is None:
        try:
            os.kill(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=5)
    if p in _children:
        _children.remove(p)


_tmpdirs = []  # removed after the processes using them are stopped
KEEP_TMP = bool(os.environ.get("KP_BENCH_KEEP_TMP"))


def stop_all():
    for p in reversed(list(_children)):
        try:
            stop(p)
        except Exception as e:  # keep stopping the others
            log(f"warning: could not stop pid {p.pid}: {e}")
    while _tmpdirs:
        d = _tmpdirs.pop()
        if KEEP_TMP:
            log(f"kept {d}")
        else:
            shutil.rmtree(d, True)


def _on_signal(signum, _frame):
    log(f"\nsignal {signum}: stopping everything started")
    stop_all()
    sys.exit(130 if signum == signal.SIGINT else 143)


def install_cleanup(max_seconds):
    """Stops every child at exit; SIGALRM after `max_seconds` bounds the whole run."""
    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGALRM, _on_signal)
    signal.alarm(int(max_seconds))


# ---------------------------------------------------------------------------------------
# /proc readings.


def children_of(pid):
    out = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rfind(")") + 2 :].split()
        if int(fields[1]) == pid:
            out.append(int(stat.split("/")[2]))
    return out


def rss_kib(pid, key="VmRSS"):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid):
    """CPU time of every thread of `pid` (ns precision from schedstat; ticks as fallback)."""
    total = 0
    ok = False
    for f in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(f) as fh:
                total += int(fh.read().split()[0])
                ok = True
        except (OSError, ValueError, IndexError):
            pass
    if ok:
        return total / 1e9
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        fields = s[s.rfind(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except OSError:
        return 0.0


def group_cpu(pids):
    return sum(cpu_seconds(p) for p in pids)


def group_rss_mib(pids, key="VmRSS"):
    return sum(rss_kib(p, key) for p in pids) / 1024.0


# ---------------------------------------------------------------------------------------
# Network helpers (loopback only).


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port():
    """A loopback port nothing listens on (bound then released; refused on connect)."""
    return free_port()


def http_get(port, path, headers=None, timeout=3.0):
    """A minimal HTTP/1.1 GET over a raw socket: (status, headers dict, body bytes)."""
    req = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
    for k, v in (headers or {}).items():
        req += f"{k}: {v}\r\n"
    req += "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(req.encode())
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if len(data) > 16 << 20:
                break
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if "chunked" in hdrs.get("transfer-encoding", ""):
        body = _dechunk(body)
    return status, hdrs, body


def _dechunk(b):
    out = b""
    while b:
        size_line, _, rest = b.partition(b"\r\n")
        try:
            n = int(size_line.split(b";")[0], 16)
        except ValueError:
            break
        if n == 0:
            break
        out += rest[:n]
        b = rest[n + 2 :]
    return out


def wait_200(port, path="/api/health", timeout=30.0, proc=None, interval=0.0005):
    """Polls until `path` answers 200; returns seconds waited, or raises."""
    t0 = time.perf_counter()
    deadline = t0 + timeout
    req = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    while time.perf_counter() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.pid} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
                s.sendall(req)
                first = s.recv(64)
                if first.startswith(b"HTTP/1.1 200") or first.startswith(b"HTTP/1.0 200"):
                    return time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(interval)
    raise RuntimeError(f"127.0.0.1:{port}{path} gave no 200 within {timeout}s")


# ---------------------------------------------------------------------------------------
# Building and locating kiteportal.


def build_release(timeout=1800):
    log("building kiteportal: cargo build --release --locked")
    subprocess.run(
        ["cargo", "build", "--release", "--locked"], cwd=REPO, check=True, timeout=timeout
    )


def binary():
    # KP_BENCH_BINARY: compare another build (A/B of a change) against the same old stack.
    return os.environ.get("KP_BENCH_BINARY") or os.path.join(REPO, "target", "release", "kiteportal")


def embed_dir():
    """The asset directory build.rs wrote for the current release binary (newest one)."""
    cands = glob.glob(os.path.join(REPO, "target/release/build/kiteportal-*/out/embed"))
    if not cands:
        raise RuntimeError("no target/release/build/kiteportal-*/out/embed: build first")
    return max(cands, key=lambda d: os.path.getmtime(os.path.join(d, "..", "asset_manifest.rs")))


def css_name(embed):
    names = [n for n in os.listdir(embed) if re.fullmatch(r"app\.[0-9a-f]+\.css", n)]
    if len(names) != 1:
        raise RuntimeError(f"expected one app.<hash>.css in {embed}, found {names}")
    return names[0]


def write_kiteportal_config(path, port, extra=""):
    """A config that touches no internet: weather and every check point at a closed port."""
    dead = f"http://127.0.0.1:{closed_port()}"
    services = [
        ("Portal", "portal", "Web"),
        ("Authentik", "authentik", "Identity"),
        ("Forgejo", "forgejo", "Dev"),
        ("OpenProject", "openproject", "Dev"),
        ("Open WebUI", "openwebui", "AI"),
        ("Karakeep", "karakeep", "Library"),
        ("Kavita", "kavita", "Library"),
        ("Grafana", "grafana", "Ops"),
        ("Uptime Kuma", "uptimekuma", "Ops"),
    ]
    lines = [
        f'bind = "127.0.0.1:{port}"',
        'services_interval = "30m"',
        "",
        "[weather]",
        f'url = "{dead}"',
        'location = "Berlin"',
        'refresh = "30m"',
        "",
    ]
    for name, slug, group in services:
        lines += [
            "[[services]]",
            f'name = "{name}"',
            f'url = "https://{slug}.example.invalid"',
            f'description = "{name} (benchmark stand-in)"',
            f'group = "{group}"',
            f'check_url = "{dead}/{slug}"',
            "",
        ]
    with open(path, "w") as f:
        # Top-level keys first: a table header in `extra` would swallow them.
        f.write("\n".join(lines) + "\n" + extra)


def kiteportal_env(extra=None):
    env = dict(os.environ)
    env["RUST_LOG"] = "warn"
    env.setdefault("KITEPORTAL_HOSTNAME", "bench")
    for k in ("KITEPORTAL_CONFIG", "KITEPORTAL_BIND", "HOST_PROC", "HOST_SYS", "HOST_ROOT"):
        if not (extra and k in extra):
            env.pop(k, None)
    env.update(extra or {})
    return env


def start_kiteportal(tmp, extra_config="", env=None, name="kiteportal", wait_path="/api/health",
                     binary_path=None):
    port = free_port()
    cfg = os.path.join(tmp, f"{name}.toml")
    write_kiteportal_config(cfg, port, extra_config)
    errlog = open(os.path.join(tmp, f"{name}.log"), "wb")
    p = spawn([binary_path or binary(), "--config", cfg], env=kiteportal_env(env), stdout=errlog,
              stderr=errlog)
    try:
        wait_200(port, wait_path, timeout=20, proc=p)
    except RuntimeError:
        with open(os.path.join(tmp, f"{name}.log"), errors="replace") as f:
            log(f.read()[-2000:])
        raise
    return p, port


# ---------------------------------------------------------------------------------------
# The old stack: FastAPI replica under uvicorn, nginx in front.


def ensure_venv():
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        log("creating bench/.venv and installing the legacy API's requirements from PyPI")
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True, timeout=300)
        subprocess.run(
            [py, "-m", "pip", "install", "-q", "-r", os.path.join(LEGACY, "requirements.txt")],
            check=True,
            timeout=900,
        )
    return py


def uvicorn_argv(port):
    # One worker, as the original container ran it (`uvicorn app:app --host 0.0.0.0
    # --port 8000`); the access log is off like nginx's and kiteportal's.
    return [
        os.path.join(VENV, "bin", "uvicorn"),
        "--app-dir", LEGACY, "app:app",
        "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--log-level", "warning", "--no-access-log",
    ]


def start_legacy_api(tmp):
    ensure_venv()
    port = free_port()
    errlog = open(os.path.join(tmp, "uvicorn.log"), "wb")
    env = dict(os.environ, KITEPORTAL_HOSTNAME="bench")
    p = spawn(uvicorn_argv(port), stdout=errlog, stderr=errlog, env=env, cwd=LEGACY)
    wait_200(port, "/api/health", timeout=30, proc=p, interval=0.01)
    return p, port


NGINX_CONF = """\
# nginx config of the old portal container, as a homelab has it (Debian's defaults plus
# the usual gzip block), with paths under the harness's temp prefix.
worker_processes auto;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
daemon off;
user root;

events {{
    worker_connections 2048;
}}

http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    types {{ text/javascript js; }}

    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    server_tokens off;
    access_log off;

    client_body_temp_path {tmp}/ngx-client;
    proxy_temp_path {tmp}/ngx-proxy;
    fastcgi_temp_path {tmp}/ngx-fastcgi;
    uwsgi_temp_path {tmp}/ngx-uwsgi;
    scgi_temp_path {tmp}/ngx-scgi;

    gzip on;
    gzip_vary on;
    gzip_proxied any;
    gzip_comp_level {gzip_level};
    gzip_min_length 256;
    gzip_types text/plain text/css text/xml text/javascript application/javascript
               application/json application/xml application/rss+xml image/svg+xml;

    server {{
        listen 127.0.0.1:{port};
        root {www};
        index index.html;

        location /assets/ {{
            expires 1y;
            add_header Cache-Control "public, immutable";
        }}

        location /api/ {{
            proxy_pass http://127.0.0.1:{api_port};
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""


def nginx_version():
    r = subprocess.run(["nginx", "-v"], capture_output=True, text=True, timeout=10)
    return (r.stderr or r.stdout).strip().split("/")[-1]


def start_nginx(tmp, www, api_port, gzip_level):
    port = free_port()
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(tmp=tmp, www=www, port=port, api_port=api_port,
                                  gzip_level=gzip_level))
    errlog = open(os.path.join(tmp, "nginx-stderr.log"), "wb")
    p = spawn(["nginx", "-p", tmp, "-c", conf, "-e", os.path.join(tmp, "nginx-error.log")],
              stdout=errlog, stderr=errlog)
    wait_200(port, "/", timeout=10, proc=p, interval=0.01)
    return p, port


def copy_assets(embed, www):
    """The very bytes kiteportal embeds, under the same hashed names (no .gz/.br: nginx
    compresses per request, as the old container did)."""
    dst = os.path.join(www, "assets")
    for root, _dirs, files in os.walk(embed):
        for name in files:
            if name.endswith((".gz", ".br")):
                continue
            src = os.path.join(root, name)
            rel = os.path.relpath(src, embed)
            target = os.path.join(www, rel) if _is_root_file(rel) else os.path.join(dst, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(src, target)


def _is_root_file(rel):
    # build.rs keeps site-root files (robots.txt) unhashed at the top of embed/.
    return not re.search(r"\.[0-9a-f]{10}\.", rel)


# ---------------------------------------------------------------------------------------
# wrk.

_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    return float(m.group(1)) * _UNIT[m.group(2)] if m else float("nan")


def wrk(port, path, duration, conns, threads, headers=None, pids=()):
    """One bounded wrk run; returns rps, p50/p99 in ms, errors and server CPU s/s."""
    threads = max(1, min(threads, conns))
    argv = ["wrk", "--latency", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--timeout", "5s"]
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    argv.append(f"http://127.0.0.1:{port}{path}")
    c0, t0 = group_cpu(pids), time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30)
    c1, t1 = group_cpu(pids), time.monotonic()
    out = r.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sockerr = re.search(r"Socket errors:(.*)", out)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50_ms": _ms(p50.group(1)) if p50 else float("nan"),
        "p99_ms": _ms(p99.group(1)) if p99 else float("nan"),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sockerr.group(1).strip() if sockerr else "",
        "server_cpu": (c1 - c0) / (t1 - t0) if pids else None,
        "argv": " ".join(argv),
    }


def median(xs):
    xs = [x for x in xs if x is not None and x == x]
    return statistics.median(xs) if xs else float("nan")


def fmt_ms(x):
    if x != x:
        return "n/a"
    return f"{x * 1000:.0f} µs" if x < 1 else f"{x:.2f} ms"


def machine_info():
    info = {"nproc": os.cpu_count(), "kernel": os.uname().release}
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            info["cpu"] = m.group(1) if m else "?"
    except OSError:
        info["cpu"] = "?"
    try:
        with open("/proc/loadavg") as f:
            info["loadavg"] = f.read().split()[:3]
    except OSError:
        pass

    def out(argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
            return (r.stdout or r.stderr).strip().splitlines()[0]
        except Exception:
            return "?"

    info["nginx"] = nginx_version()
    info["wrk"] = out(["wrk", "--version"]).split(" [")[0]
    info["rustc"] = out(["rustc", "--version"])
    py = os.path.join(VENV, "bin", "python")
    if os.path.exists(py):
        info["python"] = out([py, "--version"])
        code = ("import importlib.metadata as m;print(' '.join(f'{p}=={m.version(p)}' for p in "
                "('fastapi','starlette','uvicorn','uvloop','httptools','psutil')))")
        info["legacy"] = out([py, "-c", code])
    return info


def tmpdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    # nginx workers read the files in it.
    os.chmod(d, 0o755)
    _tmpdirs.append(d)
    return d


def dump_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
