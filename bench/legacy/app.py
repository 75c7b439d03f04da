"""kitestacks-metrics-api, the service kiteportal replaces (benchmark replica).

Written the way the original homelab container was: FastAPI + psutil, every request
calls psutil directly, and the network rate is computed against the previous call.
It ran as `uvicorn app:app --host 0.0.0.0 --port 8000` (one worker) behind nginx,
with `pid: host` so psutil saw the host's /proc.

Only the metrics and health endpoints are replicated: the weather and Forgejo
endpoints of the original called the internet, which a benchmark must not do.
"""

import os
import socket
import time
from datetime import datetime, timezone

import psutil
from fastapi import FastAPI

app = FastAPI(title="kitestacks-metrics-api")

HOSTNAME = os.environ.get("KITEPORTAL_HOSTNAME") or socket.gethostname()
SKIP_FS = {"tmpfs", "devtmpfs", "overlay", "squashfs", "proc", "sysfs", "cgroup", "cgroup2"}

# (timestamp, bytes_recv, bytes_sent) of the previous request, for the rate.
_last_net = None


@app.get("/api/health")
async def health():
    return {"ok": True}


@app.get("/api/metrics")
async def metrics():
    global _last_net

    cpu = psutil.cpu_percent(interval=None)
    per_core = psutil.cpu_percent(interval=None, percpu=True)
    load = [round(x, 2) for x in os.getloadavg()]
    mem = psutil.virtual_memory()
    swap = psutil.swap_memory()

    disks = []
    for part in psutil.disk_partitions(all=False):
        if part.fstype in SKIP_FS:
            continue
        try:
            usage = psutil.disk_usage(part.mountpoint)
        except (PermissionError, OSError):
            continue
        disks.append(
            {
                "mount": part.mountpoint,
                "device": part.device,
                "fs": part.fstype,
                "total_bytes": usage.total,
                "used_bytes": usage.used,
                "free_bytes": usage.free,
                "percent": usage.percent,
            }
        )

    now = time.time()
    net = psutil.net_io_counters()
    rx_rate = tx_rate = None
    if _last_net is not None:
        dt = now - _last_net[0]
        if dt > 0:
            rx_rate = max(0.0, (net.bytes_recv - _last_net[1]) / dt)
            tx_rate = max(0.0, (net.bytes_sent - _last_net[2]) / dt)
    _last_net = (now, net.bytes_recv, net.bytes_sent)

    return {
        "host": HOSTNAME,
        "timestamp": datetime.now(timezone.utc).isoformat(),
        "uptime_seconds": int(now - psutil.boot_time()),
        "cpu": {
            "percent": cpu,
            "cores": per_core,
            "count": psutil.cpu_count(),
            "load": load,
        },
        "memory": {
            "total_bytes": mem.total,
            "used_bytes": mem.total - mem.available,
            "available_bytes": mem.available,
            "percent": mem.percent,
            "swap_total_bytes": swap.total,
            "swap_used_bytes": swap.used,
        },
        "disks": disks,
        "network": {
            "rx_bytes_per_sec": rx_rate,
            "tx_bytes_per_sec": tx_rate,
            "rx_bytes_total": net.bytes_recv,
            "tx_bytes_total": net.bytes_sent,
        },
    }
