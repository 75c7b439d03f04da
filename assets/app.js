// KiteStacks portal: keeps the server-rendered page live. Progressive enhancement only —
// the page is complete without this file. Upstream text (commit messages, repo names,
// weather, service and host names) is only ever set through textContent / attributes,
// never parsed as HTML.

const doc = document;
const $ = (sel, root = doc) => root.querySelector(sel);
const $$ = (sel, root = doc) => Array.from(root.querySelectorAll(sel));
const INTERVAL = Math.max(250, Number(doc.body.dataset.intervalMs) || 2000);
const SELF = doc.body.dataset.host || "";
const SPARK_POINTS = 150;
const NONE = "—";
// An interval as the server writes it (humantime): "2s", "500ms", "1m 30s", "1s 500ms".
function every(seconds) {
  if (!num(seconds) || seconds <= 0) return NONE;
  let ms = Math.round(seconds * 1000);
  const parts = [];
  for (const [unit, size] of [["h", 3600000], ["m", 60000], ["s", 1000], ["ms", 1]]) {
    if (ms >= size) { parts.push(`${Math.floor(ms / size)}${unit}`); ms %= size; }
  }
  return parts.join(" ");
}


// ---------------------------------------------------------------- formatting
// (mirrors src/routes/view.rs so live values read exactly like the first paint; the
// byte units and the gauges' thresholds are the server's tables, handed over on <body>)
const UNITS = (doc.body.dataset.units || "B").split(" ").filter(Boolean);
function bytes(n) {
  if (typeof n !== "number" || !isFinite(n) || n < 0) return NONE;
  let i = 0;
  while (n >= 1024 && i < UNITS.length - 1) { n /= 1024; i++; }
  return i === 0 ? `${n.toFixed(0)} B` : `${n.toFixed(1)} ${UNITS[i]}`;
}
const rate = (n) => (typeof n === "number" && isFinite(n) && n >= 0 ? `${bytes(n)}/s` : NONE);
const num = (n) => typeof n === "number" && isFinite(n);
const pct = (n) => (num(n) ? `${Math.min(100, Math.max(0, n)).toFixed(1)}%` : NONE);
const barLen = (n) => (num(n) ? Math.min(100, Math.max(0, n)) : 0).toFixed(1);
const OWN_EVERY = every(INTERVAL / 1000);

// Times in the page's zone, as the server writes them ("14:02 CET"): the zone's name for
// Intl when the browser knows it, else the server's offset.
const TZ = doc.body.dataset.tz || "UTC";
const TZ_ABBR = doc.body.dataset.tzAbbr || "UTC";
const TZ_OFFSET = Number(doc.body.dataset.tzOffset) || 0;
const two = (n) => String(n).padStart(2, "0");
function zoneTime(date, seconds) {
  try {
    const opts = { timeZone: TZ, hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    if (seconds) opts.second = "2-digit";
    return `${new Intl.DateTimeFormat("en-GB", opts).format(date)} ${TZ_ABBR}`;
  } catch (_) {
    const d = new Date(date.getTime() + TZ_OFFSET * 60000);
    const hm = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`;
    return `${seconds ? `${hm}:${two(d.getUTCSeconds())}` : hm} ${TZ_ABBR}`;
  }
}
function uptime(s) {
  if (!num(s)) return NONE;
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  return d ? `${d}d ${h}h ${m}m` : h ? `${h}h ${m}m` : `${m}m`;
}
function age(s) {
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.floor((s + 30) / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}
const level = (v, warn, bad) => (!num(v) ? "unknown" : v >= bad ? "bad" : v >= warn ? "warn" : "ok");
// The gauges' thresholds as the server rendered with them (data-levels on the page).
const LEVELS = Object.fromEntries((doc.body.dataset.levels || "").split(" ").filter(Boolean)
  .map((e) => { const [k, w, b] = e.split(":"); return [k, [Number(w), Number(b)]]; }));
const lvl = (kind, v) => (LEVELS[kind] ? level(v, LEVELS[kind][0], LEVELS[kind][1]) : "unknown");
const safeUrl = (u) => (typeof u === "string" && /^https?:\/\/./i.test(u.trim()) ? u.trim() : "#");
const str = (v) => (v == null ? "" : String(v));
function dayLabel(date) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(str(date));
  if (!m) return str(date).slice(0, 16);
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  const wd = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][d.getUTCDay()];
  return `${wd} ${m[3]}`;
}

/** Glyph for a wttr.in (WWO) weather code (mirrors view.rs weather_kind). */
function weatherKind(code) {
  const c = Number(code);
  const within = (a, b) => c >= a && c <= b;
  if (c === 113) return "sun";
  if (c === 116) return "part";
  if (c === 119 || c === 122) return "cloud";
  if ([143, 248, 260].includes(c)) return "fog";
  if ([200, 386, 389, 392, 395].includes(c)) return "storm";
  if ([179, 182, 185, 227, 230, 317, 320, 350].includes(c) || within(323, 338) || within(362, 377)) return "snow";
  if (c === 176 || within(263, 314) || within(353, 359)) return "rain";
  return "cloud";
}

// ---------------------------------------------------------------- DOM helpers
function el(tag, props = {}, ...kids) {
  const e = doc.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") e.textContent = v;
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
}
const SVG = "http://www.w3.org/2000/svg";
function svgEl(tag, attrs) {
  const e = doc.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}
const calm = matchMedia("(prefers-reduced-motion: reduce)");
/** A brief glow on something that changed (none under reduced motion). Web Animations,
 * so no forced reflow and nothing for the CSP to object to. */
function pulse(node, frames, ms) {
  if (calm.matches || !node.animate) return;
  node.animate(frames, { duration: ms, easing: "ease-out" });
}
/** Sets text; a changed value glows briefly. */
function setText(node, text, flash = false) {
  if (!node || node.textContent === text) return;
  node.textContent = text;
  if (flash) pulse(node, [{ textShadow: "0 0 14px #22e4ff" }, { textShadow: "0 0 0 transparent" }], 800);
}

// ---------------------------------------------------------------- history + sparklines
const histories = new Map(); // host name -> [{t, cpu, mem, rx, tx}]
function pushHistory(host, s) {
  if (!s || !s.timestamp) return;
  let h = histories.get(host);
  if (!h) histories.set(host, (h = []));
  if (h.length && h[h.length - 1].t >= s.timestamp) return;
  h.push({
    t: s.timestamp,
    cpu: s.cpu ? s.cpu.percent : null,
    mem: s.memory ? s.memory.percent : null,
    rx: s.network ? s.network.rx_bytes_per_sec : null,
    tx: s.network ? s.network.tx_bytes_per_sec : null,
  });
  if (h.length > SPARK_POINTS) h.splice(0, h.length - SPARK_POINTS);
}
function sparkPoints(values, max) {
  const W = 120, H = 32, step = W / (SPARK_POINTS - 1), x0 = W - step * (values.length - 1);
  const out = [];
  values.forEach((v, i) => {
    if (!num(v) || max <= 0) return;
    const y = H - 1 - Math.min(1, Math.max(0, v / max)) * (H - 2);
    out.push(`${(x0 + step * i).toFixed(1)},${y.toFixed(1)}`);
  });
  return out.join(" ");
}
/** This host's history as the server drew it: y back to values (newest on the right). */
function drawSparks(host) {
  const h = histories.get(host) || [];
  const col = (k) => h.map((p) => p[k]);
  const rx = col("rx"), tx = col("tx");
  const netMax = Math.max(1024, ...rx.filter(num), ...tx.filter(num));
  const set = (k, pts) => { const p = $(`[data-spark="${k}"]`); if (p) p.setAttribute("points", pts); };
  set("cpu", sparkPoints(col("cpu"), 100));
  set("mem", sparkPoints(col("mem"), 100));
  const net = $('[data-spark="rx"]');
  if (net) net.closest("svg").dataset.max = String(netMax);
  set("rx", sparkPoints(rx, netMax));
  set("tx", sparkPoints(tx, netMax));
}

// ---------------------------------------------------------------- system panel
function setM(key, text, flash = false) {
  for (const n of $$(`[data-m="${key}"]`)) setText(n, text, flash);
}
function setBar(key, v, lvl) {
  const r = $(`[data-bar="${key}"]`);
  if (!r) return;
  r.setAttribute("width", barLen(v));
  if (lvl) r.setAttribute("data-level", lvl);
}
const drawn = new WeakMap(); // list element -> JSON of what it shows
function rows(id, items, make, emptyText) {
  const ul = $(`#${id}`);
  if (!ul) return;
  const key = JSON.stringify(items);
  if (drawn.get(ul) === key) return; // unchanged: no relayout
  drawn.set(ul, key);
  const lis = items.map(make);
  if (!lis.length && emptyText) lis.push(el("li", { class: "none", text: emptyText }));
  ul.replaceChildren(...lis);
}
const pair = (a, b) => el("span", { class: "v" }, el("span", { class: "rx", text: a }), " ", el("span", { class: "tx", text: b }));
function miniBar(v, lvl) {
  const s = svgEl("svg", { class: "bar", viewBox: "0 0 100 4", preserveAspectRatio: "none", "aria-hidden": "true" });
  s.append(svgEl("rect", { class: "track", width: 100, height: 4 }),
    svgEl("rect", { class: "fill", width: barLen(v), height: 4, "data-level": lvl }));
  return s;
}

function renderSample(host, s) {
  const sys = $("#sys");
  setText($("#sys-host"), host);
  const sampled = $("#sampled");
  if (!s) {
    setText(sampled, "no sample from this host yet");
    sampled.removeAttribute("datetime");
  } else {
    const t = new Date(s.timestamp);
    setText(sampled, isNaN(t) ? str(s.timestamp) : zoneTime(t, true));
    sampled.setAttribute("datetime", str(s.timestamp));
  }
  sys.dataset.ready = s ? "true" : "false";
  // This host's configured interval; a peer's own (from its history), else measured.
  const known = hostData.get(host) || {};
  const iv = num(known.interval) ? known.interval
    : s && num(s.interval_seconds) && s.interval_seconds > 0 ? s.interval_seconds : 0;
  setText($("#every"), host === SELF || !iv ? OWN_EVERY : every(iv));
  // A peer that did not answer: say so, keep its last numbers, marked stale.
  const note = host === SELF ? "" : hostNote(known);
  const noteEl = $("#sys-note");
  if (noteEl) { setText(noteEl, note); noteEl.hidden = !note; }
  sys.dataset.stale = String(!!note && !!s);
  const c = (s && s.cpu) || null, m = (s && s.memory) || null, n = (s && s.network) || null;

  const cpuL = lvl("cpu", c && c.percent);
  setM("cpu_pct", pct(c && c.percent), true);
  $("#cpu-level").dataset.level = cpuL;
  setBar("cpu", c && c.percent, cpuL);
  setM("cpu_count", c ? String(c.count) : NONE);
  setM("load", c && Array.isArray(c.load) ? c.load.map((x) => Number(x).toFixed(2)).join(" ") : NONE);
  setM("iowait", pct(c && c.iowait_percent));
  setM("steal", pct(c && c.steal_percent));
  const cores = $("#cores");
  const list = c && Array.isArray(c.cores) ? c.cores : [];
  const ids = c && Array.isArray(c.core_ids) ? c.core_ids : [];
  cores.setAttribute("viewBox", `0 0 ${Math.max(1, list.length) * 4} 32`);
  cores.setAttribute("width", String(Math.min(256, Math.max(1, list.length)) * 14));
  cores.replaceChildren(...list.flatMap((p, i) => {
    const h = (num(p) ? Math.min(100, Math.max(0, p)) : 0) / 100 * 31 + 1;
    const r = svgEl("rect", { x: i * 4, y: (32 - h).toFixed(1), width: 3, height: h.toFixed(1), "data-level": lvl("cpu", p) });
    const t = svgEl("title", {});
    t.textContent = `core ${ids[i] ?? i}: ${pct(p)}`;
    r.append(t);
    return [svgEl("rect", { class: "trk", x: i * 4, width: 3, height: 32 }), r];
  }));

  const memL = m ? lvl("mem", m.percent) : "unknown";
  setM("mem_pct", pct(m && m.percent), true);
  $("#mem-level").dataset.level = memL;
  setBar("mem", m && m.percent, memL);
  setM("mem_used", m ? bytes(m.used_bytes) : NONE);
  setM("mem_total", m ? bytes(m.total_bytes) : NONE);
  setM("mem_avail", m ? bytes(m.available_bytes) : NONE);
  const swap = m && m.swap_total_bytes > 0 ? (m.swap_used_bytes / m.swap_total_bytes) * 100 : null;
  setM("swap_pct", m && m.swap_total_bytes === 0 ? "none" : pct(swap));
  setM("swap_used", m ? bytes(m.swap_used_bytes) : NONE);
  setM("swap_total", m ? bytes(m.swap_total_bytes) : NONE);
  setBar("swap", swap);

  setM("rx", rate(n && n.rx_bytes_per_sec), true);
  setM("tx", rate(n && n.tx_bytes_per_sec), true);
  rows("ifaces", (n && n.interfaces) || [], (i) =>
    el("li", {}, el("span", { class: "k", text: str(i.name) }), pair(`↓ ${rate(i.rx_bytes_per_sec)}`, `↑ ${rate(i.tx_bytes_per_sec)}`)));

  setM("uptime", uptime(s && s.uptime_seconds), false);
  setM("processes", s && num(s.processes) ? String(s.processes) : NONE);
  setM("view", s && s.view ? `pid ${str(s.view.pid_namespace)} · net ${str(s.view.net_namespace)} · ${str(s.view.proc)}` : NONE);
  rows("temps", (s && s.temperatures) || [], (t) =>
    el("li", {}, el("span", { class: "k", text: str(t.label) }),
      el("span", { class: "v", "data-level": lvl("temp", t.celsius), text: num(t.celsius) ? `${t.celsius.toFixed(0)} °C` : NONE })),
  s ? "no sensors" : NONE);
  rows("disks", (s && s.disks) || [], (d) => {
    const l = lvl("disk", d.percent);
    return el("li", {},
      el("span", { class: "k", text: str(d.mount) }),
      el("b", { class: "v", "data-level": l, text: pct(d.percent) }),
      el("small", { text: `${str(d.device)} · ${str(d.fs)}` }),
      el("small", { class: "r", text: `${bytes(d.used_bytes)} / ${bytes(d.total_bytes)}` }),
      miniBar(d.percent, l));
  }, s ? "no filesystems" : NONE);
  rows("io", (s && s.disk_io) || [], (d) =>
    el("li", {}, el("span", { class: "k", text: str(d.device) }), pair(`read ${rate(d.read_bytes_per_sec)}`, `write ${rate(d.write_bytes_per_sec)}`)),
  s ? "no block devices" : NONE);
  rows("errors", Object.entries((s && s.errors) || {}), ([k, e]) => el("li", {}, el("b", { text: k }), `: ${str(e)}`));
  renderContainers(host, s);
  drawSparks(host);
}

// ---------------------------------------------------------------- hosts
const hostData = new Map(); // name -> {status, metrics}
let selected = SELF;

function tabFor(name) {
  return $$(".host-tab").find((b) => b.dataset.host === name);
}
// What the page says of a peer that is not fresh: as the server's first paint does.
function hostNote(h) {
  if (!h || !h.status || h.status === "ok") return "";
  if (h.status === "pending") return "waiting for the first answer";
  const seen = num(h.age) ? age(h.age + (Date.now() - (h.at || Date.now())) / 1000) : null;
  if (h.error && seen) return `unreachable (${str(h.error)}) · last seen ${seen}`;
  if (h.error) return `unreachable (${str(h.error)}) · never seen`;
  return seen ? `no fresh sample · last seen ${seen}` : "no sample yet";
}
function ensureTab(entry) {
  let b = tabFor(entry.name);
  const tabs = $("#host-tabs");
  if (!b && tabs) {
    b = el("a", { class: "host-tab", "aria-pressed": "false",
      href: entry.self ? "/" : `/?host=${encodeURIComponent(str(entry.name))}` },
    el("span", { class: "light", "aria-hidden": "true" }), str(entry.name), el("span", { class: "sr" }));
    b.dataset.host = str(entry.name);
    b.addEventListener("click", onTab);
    tabs.append(b);
  }
  if (!b) return;
  b.dataset.status = str(entry.status);
  const sr = $(".sr", b);
  if (sr) sr.textContent = ` (${entry.self ? "this host, " : ""}${str(entry.status)})`;
}
function select(name) {
  selected = name;
  for (const b of $$(".host-tab")) {
    b.setAttribute("aria-pressed", String(b.dataset.host === name));
    if (b.dataset.host === name) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
  }
  const d = hostData.get(name);
  renderSample(name, d ? d.metrics : null);
  loadHistory(name);
  if (name !== SELF) fetchJson("/api/hosts").then(onHosts, () => {});
}
function onTab(ev) {
  ev.preventDefault();
  const a = ev.currentTarget;
  select(a.dataset.host);
  if (a.href) history.replaceState(null, "", a.href);
}
// A host's sparklines filled at once from its history (a peer's as its replica keeps it).
function loadHistory(name) {
  const path = name === SELF ? "/api/metrics/history"
    : `/api/hosts/${encodeURIComponent(name)}/history`;
  fetchJson(path).then((h) => {
    if (!h || !Array.isArray(h.samples)) return;
    const pts = h.samples.slice(-SPARK_POINTS).map((p) => ({
      t: str(p.timestamp), cpu: p.cpu_percent, mem: p.memory_percent,
      rx: p.rx_bytes_per_sec, tx: p.tx_bytes_per_sec,
    }));
    const have = histories.get(name) || [];
    const last = pts.length ? pts[pts.length - 1].t : "";
    histories.set(name, pts.concat(have.filter((p) => p.t > last)).slice(-SPARK_POINTS));
    if (selected === name) drawSparks(name);
  }, () => {});
}
function onHosts(env) {
  if (!env || !Array.isArray(env.data)) return;
  for (const h of env.data) {
    if (!h || typeof h.name !== "string") continue;
    ensureTab(h);
    if (h.self) continue; // this host's numbers come from the metrics events
    hostData.set(h.name, { status: h.status, metrics: h.metrics || null, error: h.error,
      age: h.age_seconds, at: Date.now(), interval: h.interval_seconds });
    if (h.metrics) pushHistory(h.name, h.metrics);
  }
  if (selected !== SELF) {
    const d = hostData.get(selected);
    renderSample(selected, d ? d.metrics : null);
  }
}

// ---------------------------------------------------------------- metrics
let lastMetricsAt = 0;
function onMetrics(s) {
  if (!s || typeof s !== "object") return;
  lastMetricsAt = Date.now();
  hostData.set(SELF, { status: "ok", metrics: s });
  pushHistory(SELF, s);
  if (selected === SELF) renderSample(SELF, s);
  if (connection !== "live" && connection !== "polling") setLive(mode === "poll" ? "polling" : "live");
}

// ---------------------------------------------------------------- feeds
const feeds = new Map(); // name -> {env, at}
function feedLabel(env, what, elapsed) {
  const a = num(env.age_seconds) ? age(env.age_seconds + elapsed) : null;
  const m = what === "service checks" && env.data && env.data.summary;
  // The services badge leads with the count, so it never contradicts the cards.
  if (m && num(m.total) && (env.status === "ok" || env.status === "stale")) return `${m.up}/${m.total} up · ${feedLabel({ ...env, data: null }, what, elapsed)}`;
  switch (env.status) {
    case "ok": return `updated ${a || "just now"}`;
    case "stale": return `stale · last good ${a || "a while ago"}`;
    case "pending": return `pending · fetching ${what}…`;
    case "error": return `error · no ${what} yet`;
    case "disabled": return `disabled · ${what} is not configured`;
    default: return str(env.status);
  }
}
const WHAT = { services: "service checks", weather: "weather", activity: "activity" };
/** The body of a card with nothing to show (mirrors view.rs empty_text). */
function emptyText(name) {
  const f = feeds.get(name), what = WHAT[name];
  switch (f && f.env.status) {
    case "pending": return `Fetching ${what}…`;
    case "error": return `No ${what} yet; retrying in the background.`;
    case "disabled": return name === "activity" ? "Set forgejo.url (and a token) to list recent commits here." : `${what} is turned off.`;
    default: return `No ${what} to show.`;
  }
}
function renderFeedState(name) {
  const f = feeds.get(name);
  const p = $(`.feed[data-feed="${name}"]`);
  if (!f || !p) return;
  const elapsed = Math.floor((Date.now() - f.at) / 1000);
  p.dataset.status = str(f.env.status);
  setText($(".feed-label", p), feedLabel(f.env, WHAT[name], elapsed));
  let e = $(".feed-error", p);
  if (f.env.error && f.env.status !== "ok") {
    if (!e) p.append(" ", (e = el("span", { class: "feed-error" })));
    setText(e, str(f.env.error));
  } else if (e) e.remove();
}
function onFeed(name, env, render) {
  if (!env || typeof env !== "object") return;
  feeds.set(name, { env, at: Date.now() });
  renderFeedState(name);
  render(env.data);
}

// ---------------------------------------------------------------- services
// (mirrors src/routes/view.rs: share_level, ratio_pct, span, bar_label, since_text, summary)
const shareLevel = (checks, up) => (!(checks > 0) ? "none" : up >= checks ? "ok" : up * 10 >= checks * 9 ? "warn" : "bad");
function ratioPct(r) {
  if (!num(r)) return NONE;
  return r >= 1 ? "100%" : `${(Math.floor(Math.max(0, r) * 1000) / 10).toFixed(1)}%`;
}
function span(secs) {
  const s = Math.max(0, Math.floor(secs));
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  if (d) return h ? `${d} d ${h} h` : `${d} d`;
  if (h) return m ? `${h} h ${m} min` : `${h} h`;
  return m ? `${m} min` : "<1 min";
}
// The half hours not all up that the label names (view_services.rs LABEL_CELLS).
const LABEL_CELLS = 3;
function barLabel(s, rects) {
  const u = s.uptime || {}, d = u["24h"], w = u["7d"];
  if (!num(d)) return "last 24 h: no checks yet";
  const base = num(w) ? `last 24 h: ${ratioPct(d)} up; 7 days: ${ratioPct(w)} up` : `last 24 h: ${ratioPct(d)} up`;
  const bad = rects.filter((r) => /^(warn|bad)$/.test(r.getAttribute("data-share"))).map((r) => r.textContent);
  if (!bad.length) return base;
  const more = bad.length > LABEL_CELLS ? ` and ${bad.length - LABEL_CELLS} more` : "";
  return `${base}; not all up: ${bad.slice(-LABEL_CELLS).reverse().join(", ")}${more}`;
}
// A 24 h cell's time and count (view_services.rs cell_title).
function cellTitle(h) {
  const a = new Date(h.start);
  if (!isFinite(a)) return "";
  const hm = zoneTime(a, false).split(" ")[0];
  return `${hm}–${zoneTime(new Date(a.getTime() + 1800000), false)} · ${h.checks > 0 ? `${h.up}/${h.checks} up` : "no checks"}`;
}
const secsSince = (t, now) => Math.max(0, Math.floor((now - Date.parse(t)) / 1000));
function sinceText(s, now) {
  if (s.status !== "down" || !s.since || !isFinite(Date.parse(s.since))) return "";
  return `down since ${zoneTime(new Date(s.since), false)} (${span(secsSince(s.since, now))})`;
}
function summaryOf(d, now) {
  const m = d.summary || {}, list = Array.isArray(d.services) ? d.services : [];
  if (!m.total) return { text: "no services configured", state: "unknown" };
  if (m.unknown === m.total) return { text: `checking ${m.total} services…`, state: "unknown" };
  const parts = [`${m.up}/${m.total} up`];
  const down = list.filter((s) => s.status === "down");
  if (down.length === 1) {
    const one = down[0];
    parts.push(one.since && isFinite(Date.parse(one.since)) ? `${str(one.name)} down ${span(secsSince(one.since, now))}` : `${str(one.name)} down`);
  } else if (down.length === 2) parts.push(`${str(down[0].name)}, ${str(down[1].name)} down`);
  else if (down.length > 2) parts.push(`${down.length} down`);
  if (m.maintenance > 0) parts.push(`${m.maintenance} in maintenance`);
  if (m.unknown > 0) parts.push(`${m.unknown} unknown`);
  return { text: parts.join(" · "), state: m.down > 0 ? "down" : m.up === m.total ? "ok" : "unknown" };
}

let services = null; // the last /api/services data
function renderSummary() {
  if (!services) return;
  const now = Date.now();
  const sum = summaryOf(services, now);
  const box = $("#summary");
  if (box) {
    box.dataset.health = sum.state;
    setText($("#summary-text"), sum.text);
  }
  const badge = $('.feed[data-feed="services"]');
  if (badge) badge.dataset.health = sum.state;
  const byName = new Map((services.services || []).map((s) => [str(s.name), s]));
  for (const c of $$(".card")) {
    const s = byName.get(c.dataset.name);
    if (s) setText($(".since time", c), sinceText(s, now));
  }
}

function renderServices(data) {
  if (!data || !Array.isArray(data.services)) return;
  services = data;
  const down = data.summary && data.summary.down; // the tab tells (view.rs page_title)
  doc.title = `${down > 0 ? `(${down} down) ` : ""}${doc.title.replace(/^\(\d+ down\) /, "")}`;
  const cards = new Map($$(".card").map((c) => [c.dataset.name, c]));
  for (const s of data.services) {
    const c = cards.get(str(s.name));
    if (!c) continue;
    const st = str(s.status || "unknown");
    if (c.dataset.status !== st) {
      c.dataset.status = st;
      pulse($("a", c), [{ borderColor: "#ff4fb0" }, { borderColor: "#1c2a3a" }], 1200);
    }
    c.dataset.source = str(s.source);
    setText($(".st", c), st);
    setText($(".why", c), st !== "up" && s.reason ? str(s.reason) : "");
    setText($(".lat", c), num(s.latency_ms) ? `${s.latency_ms} ms` : NONE);
    const t = $(".since time", c);
    if (t) t.setAttribute("datetime", str(s.since));
    const bar = $(".bar24", c);
    if (bar) {
      const rects = $$("rect", bar);
      const hist = Array.isArray(s.history) ? s.history.slice(-rects.length) : [];
      const off = rects.length - hist.length; // newest cell on the right
      hist.forEach((h, i) => {
        const r = rects[off + i];
        if (!h) return;
        r.setAttribute("data-share", shareLevel(h.checks, h.up));
        let t = $("title", r);
        if (!t) r.append((t = svgEl("title", {})));
        setText(t, cellTitle(h));
      });
      bar.setAttribute("aria-label", barLabel(s, rects));
    }
    const u = s.uptime || {};
    setText($(".upt", c), `24 h ${ratioPct(u["24h"])} · 7 d ${ratioPct(u["7d"])}`);
  }
  renderNotices(data.notices);
  renderSummary();
  if (downOnly || (find && find.value.trim())) filterCards(true); // statuses changed
}
// Notices arrive written by the server (their "when" in the page's zone): swap the list
// and the notes of the cards they name (mirrors view_services.rs notice_cards).
function renderNotices(list) {
  const box = $("#notices");
  if (!box || !Array.isArray(list) || drawn.get(box) === JSON.stringify(list)) return;
  drawn.set(box, JSON.stringify(list));
  box.hidden = !list.length;
  $("ul", box).replaceChildren(...list.map((n) => el("li", { class: "notice", "data-style": str(n.style), "data-kind": str(n.kind) },
    el("details", {}, el("summary", {}, el("span", { class: "n-kind", text: str(n.kind) }), " ",
      el("b", { class: "n-title", text: str(n.title) }), " ", el("span", { class: "n-when", text: str(n.when) })),
    n.body ? el("p", { class: "n-body", text: str(n.body) }) : null))));
  for (const c of $$(".card")) {
    const n = list.find((x) => Array.isArray(x.services) && x.services.includes(c.dataset.name));
    let note = $(".n-note", c);
    if (!n) { if (note) note.remove(); continue; }
    if (!note) $(".hist", c).after((note = el("span", { class: "n-note" })));
    note.dataset.style = str(n.style);
    const head = n.style === "maintenance" ? "maintenance" : str(n.title), w = str(n.when);
    setText(note, !w ? head : n.style === "maintenance" ? `${head} ${w}` : `${head} · ${w}`);
  }
}
setInterval(renderSummary, 30000);

// ---------------------------------------------------------------- type to launch
// "/" (or typing with nothing focused) filters the cards by name, description and
// group, ranked: name prefix, then a word of the name, then anywhere in the name, then
// description or group. Status words (up, down, unknown, maintenance) filter by status.
// The target (aria-current) is the best match: Enter opens it, ↑/↓ move it, Escape
// clears. Without JavaScript the input stays hidden and the links are all there.
const find = $("#find");
const STATES = ["up", "down", "unknown", "maintenance"];
let ranked = [], target = 0;
function cardText(c) {
  const g = c.closest(".svc-group");
  return `${$(".desc", c) ? $(".desc", c).textContent : ""} ${g && $(".group", g) ? $(".group", g).textContent : ""}`.toLowerCase();
}
function rank(c, q) {
  const name = (c.dataset.name || "").toLowerCase();
  if (name.startsWith(q)) return 0;
  if (name.split(/[\s._-]+/).some((w) => w.startsWith(q))) return 1;
  return name.includes(q) ? 2 : cardText(c).includes(q) ? 3 : -1;
}
function mark(i) {
  target = ranked.length ? (i + ranked.length) % ranked.length : 0;
  for (const c of $$(".card")) {
    if (c === ranked[target]) $("a", c).setAttribute("aria-current", "true");
    else $("a", c).removeAttribute("aria-current");
  }
}
function filterCards(keep) {
  const was = keep && ranked[target];
  const words = find ? find.value.trim().toLowerCase().split(/\s+/).filter(Boolean) : [];
  const states = words.filter((w) => STATES.includes(w));
  const q = words.filter((w) => !STATES.includes(w)).join(" ");
  const hits = [];
  for (const c of $$(".card")) {
    const r = q ? rank(c, q) : 0;
    const hit = r >= 0 && (!states.length || states.includes(c.dataset.status)) && !(downOnly && c.dataset.status === "up");
    c.hidden = !hit;
    if (hit) hits.push([r, c]);
  }
  ranked = words.length ? hits.sort((a, b) => a[0] - b[0]).map((h) => h[1]) : [];
  mark(Math.max(0, ranked.indexOf(was)));
  for (const g of $$(".svc-group")) g.hidden = !$$(".card", g).some((c) => !c.hidden);
  const none = $("#find-none"), n = hits.length;
  if (none) {
    none.hidden = n > 0 || (!words.length && !downOnly);
    setText(none, words.length ? "No service matches." : "Every service is up.");
  }
  const some = `${n} service${n === 1 ? "" : "s"}`;
  setText($("#find-count"), words.length ? `${some} match${n === 1 ? "es" : ""}` : downOnly ? `${some} not up` : "");
}
function clearFind() {
  find.value = "";
  filterCards();
}
const typing = (t) => t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
if (find) {
  find.hidden = false;
  find.addEventListener("input", () => filterCards());
  find.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      if (ranked[target]) { ev.preventDefault(); $("a", ranked[target]).click(); }
    } else if ((ev.key === "ArrowDown" || ev.key === "ArrowUp") && ranked.length) {
      ev.preventDefault();
      mark(target + (ev.key === "ArrowDown" ? 1 : -1));
      ranked[target].scrollIntoView({ block: "nearest" });
    } else if (ev.key === "Escape") {
      ev.preventDefault();
      clearFind();
      find.blur();
    }
  });
  doc.addEventListener("keydown", (ev) => {
    if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
    if (ev.key === "/") {
      ev.preventDefault();
      find.focus();
      find.select();
    } else if (ev.key.length === 1 && ev.key !== " " && (doc.activeElement === doc.body || !doc.activeElement)) {
      ev.preventDefault();
      find.focus();
      find.value += ev.key;
      filterCards();
    } else if (ev.key === "Escape" && find.value) clearFind();
  });
}

// ---------------------------------------------------------------- one tap to what is broken
// The summary links to /?status=down, the server's page of the services not up. When
// this page holds every card, the filter happens in place and the URL follows.
const isDown = () => new URLSearchParams(location.search).get("status") === "down";
let downOnly = false;
function showDown(on, push) {
  downOnly = on;
  if (push) history.pushState(null, "", on ? "/?status=down" : "/");
  $("#filter").hidden = !on;
  filterCards();
}
const plain = (ev) => !(ev.button || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey);
const svcBox = $("#services");
if (svcBox && !svcBox.dataset.filter && $("#filter")) {
  for (const [sel, on] of [["#summary-link", true], ["#show-all", false]]) {
    const a = $(sel);
    if (a) a.addEventListener("click", (ev) => { if (plain(ev)) { ev.preventDefault(); showDown(on, isDown() !== on); } });
  }
  addEventListener("popstate", () => showDown(isDown(), false));
  if (isDown()) showDown(true, false);
}

function renderWeather(w) {
  const box = $("#wx-body");
  if (!box) return;
  if (!w || typeof w !== "object") {
    if (!$(".wx-now", box)) box.replaceChildren(el("p", { class: "empty", text: emptyText("weather") }));
    return;
  }
  const deg = (v) => (num(v) ? `${v.toFixed(0)}°` : NONE);
  const kv = (k, v) => el("div", {}, el("dt", { text: k }), el("dd", { text: v }));
  const ico = svgEl("svg", { class: "wx-ico", viewBox: "0 0 24 24", "aria-hidden": "true" });
  ico.append(svgEl("use", { href: `#wx-${weatherKind(w.code)}` }));
  box.replaceChildren(
    el("div", { class: "wx-now" }, ico,
      el("p", { class: "wx-temp", text: num(w.temp_c) ? `${w.temp_c.toFixed(0)}°C` : NONE }),
      el("div", {}, el("p", { class: "wx-desc", text: str(w.description) }), el("p", { class: "wx-loc", text: str(w.location) }))),
    el("dl", { class: "kv" },
      kv("feels like", num(w.feels_like_c) ? `${w.feels_like_c.toFixed(0)}°C` : NONE),
      kv("humidity", num(w.humidity) ? `${w.humidity.toFixed(0)}%` : NONE),
      kv("wind", `${num(w.wind_kmph) ? w.wind_kmph.toFixed(0) : NONE} km/h ${str(w.wind_dir)}`)),
    el("ol", { class: "days" }, ...(Array.isArray(w.forecast) ? w.forecast.slice(0, 3) : []).map((f) =>
      el("li", {}, el("span", { class: "day", text: dayLabel(f.date) }), el("span", { class: "d", text: str(f.description) }),
        el("span", { class: "t" }, el("span", { class: "hi", text: deg(f.max_c) }), " ", el("span", { class: "lo", text: deg(f.min_c) }))))));
}

let commits = [];
function renderActivity(data) {
  if (data && Array.isArray(data.items)) commits = data.items;
  else if (data === null) commits = [];
  const ol = $("#commits");
  if (!ol) return;
  const now = Date.now();
  const lis = commits.map((c) => {
    const t = Date.parse(c.date);
    return el("li", {},
      el("a", { class: "msg", href: safeUrl(c.url), rel: "noopener", text: str(c.message) }),
      el("span", { class: "meta" },
        el("a", { href: safeUrl(c.repo_url), rel: "noopener", text: str(c.repo) }), " · ",
        el("code", { text: str(c.short_sha) }), ` · ${str(c.author)} · `,
        el("time", { datetime: str(c.date), text: isFinite(t) ? age(Math.max(0, (now - t) / 1000)) : NONE })));
  });
  if (!lis.length) lis.push(el("li", { class: "empty", text: emptyText("activity") }));
  ol.replaceChildren(...lis);
}

// ---------------------------------------------------------------- connection
let connection = "snapshot";
let mode = "stream"; // or "poll"
function setLive(state) {
  connection = state;
  const p = $("#live");
  p.dataset.state = state;
  setText($("#live-text"), state);
}

async function fetchJson(path) {
  // Revalidated (ETag, 304) rather than refetched: an unchanged feed costs headers only.
  const r = await fetch(path, { cache: "no-cache", headers: { Accept: "application/json" } });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}
const FEEDS = [
  ["services", "/api/services?view=page", renderServices],
  ["weather", "/api/weather", renderWeather],
  ["activity", "/api/activity", renderActivity],
];
function refreshFeeds() {
  return Promise.allSettled([
    ...FEEDS.map(([name, path, render]) => fetchJson(path).then((env) => onFeed(name, env, render))),
    fetchJson("/api/hosts").then(onHosts),
  ]);
}

let es = null, failures = 0, retryTimer = 0, pollTimer = 0;
function connect() {
  clearTimeout(retryTimer);
  if (!("EventSource" in window)) return startPolling();
  // The page's own stream: only what changed since this page was rendered, then the
  // 24 h bars cell by cell (the documented /api/stream resends everything).
  es = new EventSource(`/api/stream?view=page&since=${encodeURIComponent(document.body.dataset.since || "")}`);
  let opened = false;
  es.addEventListener("open", () => {
    opened = true;
    failures = 0;
    stopPolling();
    setLive("live"); // the stream starts with the current state of every event
  });
  const on = (name, fn) => es.addEventListener(name, (ev) => {
    let data;
    try { data = JSON.parse(ev.data); } catch { return; }
    fn(data);
  });
  on("metrics", onMetrics);
  on("hosts", onHosts);
  for (const [name, , render] of FEEDS) on(name, (env) => onFeed(name, env, render));
  es.addEventListener("error", () => {
    es.close();
    es = null;
    failures++;
    // Refused before it ever opened (503: too many clients) or repeatedly dropped:
    // poll the JSON endpoints meanwhile, and try the stream again later.
    if (!opened || failures >= 3) startPolling();
    else setLive("reconnecting");
    const backoff = Math.min(30000, 1000 * 2 ** Math.min(failures, 5));
    retryTimer = setTimeout(connect, backoff * (0.75 + Math.random() * 0.5));
  });
}

function startPolling() {
  if (mode === "poll") return;
  mode = "poll";
  setLive("reconnecting");
  let n = 0;
  const tick = async () => {
    try {
      onMetrics(await fetchJson("/api/metrics"));
      if (n++ % Math.max(1, Math.round(15000 / pollEvery())) === 0) await refreshFeeds();
      setLive("polling");
    } catch {
      setLive(Date.now() - lastMetricsAt > 30000 ? "offline" : "reconnecting");
    }
    if (mode === "poll") pollTimer = setTimeout(tick, pollEvery());
  };
  tick();
}
const pollEvery = () => Math.max(2000, INTERVAL);
function stopPolling() {
  mode = "stream";
  clearTimeout(pollTimer);
}

// ---------------------------------------------------------------- clock + watchdog
function tickClock() {
  const c = $("#clock");
  const now = new Date();
  c.setAttribute("datetime", now.toISOString());
  setText(c, zoneTime(now, false));
  // Metrics stopped arriving although the connection looks fine.
  if ((connection === "live" || connection === "polling") && lastMetricsAt &&
      Date.now() - lastMetricsAt > Math.max(3 * INTERVAL + 2000, 6000)) setLive("stale");
}

function start() {
  for (const b of $$(".host-tab")) b.addEventListener("click", onTab);
  const current = $(".host-tab[aria-current=page]");
  selected = current ? current.dataset.host : SELF;
  setInterval(tickClock, 1000);
  tickClock();
  setInterval(() => { for (const n of feeds.keys()) renderFeedState(n); renderActivity(undefined); }, 30000);
  loadHistory(selected);
  connect();
}
start();

// ---------------------------------------------------------------- containers (owner view)
// The containers tile, redrawn from each sample with the rules of
// src/routes/view_containers.rs (same units, shares and OOM mark). Absent tile or
// section (a public page, a peer that sends none): nothing to do.
function containerShare(part, whole) {
  return num(part) && num(whole) && whole > 0 ? (part / whole) * 100 : null;
}
function renderContainers(host, s) {
  const tile = $("#containers");
  if (!tile) return;
  const list = s && Array.isArray(s.containers) ? s.containers : null;
  const reason = !s ? "no sample from this host yet"
    : list ? "" : str((s.errors && s.errors.containers) || "not read");
  tile.dataset.ready = list ? "true" : "false";
  // Only this host's containers link to this page's service cards.
  if (s && host === SELF) renderServiceNotes(list);
  const why = $("#ctr-reason");
  setText(why, reason);
  why.hidden = !!list;
  $(".ctr-table", tile).hidden = !list;
  setText($("#ctr-count"), list ? String(list.length) : "");
  const body = $("#ctr-body");
  const total = s && s.memory ? s.memory.total_bytes : null;
  const key = JSON.stringify([list, total]);
  if (drawn.get(body) === key) return;
  drawn.set(body, key);
  if (!list || !list.length) {
    body.replaceChildren(el("tr", { class: "none" }, el("td", { colspan: "6", text: "no containers" })));
    return;
  }
  body.replaceChildren(...list.map((c) => {
    const ofLimit = containerShare(c.memory_bytes, c.memory_limit_bytes);
    const cpu = c.cpu_percent;
    let title = `${str(c.engine)} ${str(c.id)}`;
    if (c.command) title += ` · ${str(c.command)}`;
    if (c.service) title += ` · service ${str(c.service)}`;
    const oom = num(c.oom_kills_24h) ? c.oom_kills_24h : 0;
    const label = `OOM-killed ${oom}× in 24 h`;
    const mark = oom > 0
      ? el("span", { class: "oom-mark", "data-level": "bad", title: label },
        el("span", { "aria-hidden": "true", text: `⚠ ${oom}×` }), el("span", { class: "sr", text: label }))
      : "";
    return el("tr", {},
      el("th", { scope: "row", title, text: str(c.name) }),
      el("td", { class: "num", text: num(c.memory_bytes) ? bytes(c.memory_bytes) : NONE }),
      el("td", { class: "num", text: pct(containerShare(c.memory_bytes, total)) }),
      el("td", { class: "num lim", "data-level": lvl("limit", ofLimit), text: num(c.memory_limit_bytes) ? pct(ofLimit) : "no limit" }),
      el("td", { class: "num", "data-level": lvl("cpu", cpu), text: pct(cpu) }),
      el("td", { class: "oom" }, mark));
  }));
}
// A service card names the OOM kills of the containers linked to it ([[containers]] service).
function renderServiceNotes(list) {
  const kills = new Map();
  for (const c of list || []) {
    if (c.service && num(c.oom_kills_24h)) kills.set(c.service, (kills.get(c.service) || 0) + c.oom_kills_24h);
  }
  for (const card of $$(".card")) {
    const n = kills.get(card.dataset.name) || 0;
    let note = $(".ctr-note", card);
    if (!n) { if (note) note.remove(); continue; }
    if (!note) {
      note = el("span", { class: "ctr-note", "data-level": "bad" });
      $("a", card).append(note);
    }
    setText(note, `container OOM-killed ${n}× in 24 h`);
  }
}
// ---------------------------------------------------------------- end containers
