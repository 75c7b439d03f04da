// KiteStacks portal: keeps the server-rendered page live. Progressive enhancement only —
// the page is complete without this file. The server renders every tile and is the
// page's only formatter; this script swaps what the page's stream sends (the events are
// described in src/hub/patch.rs), keeps the clock and the relative ages
// counting, and runs the search and the in-place filter. Fragments come only from our
// own server, rendered and escaped by its templates.

const doc = document;
const $ = (sel, root = doc) => root.querySelector(sel);
const $$ = (sel, root = doc) => Array.from(root.querySelectorAll(sel));
const body = doc.body;
const INTERVAL = Math.max(250, Number(body.dataset.intervalMs) || 2000);
const HOST = new URLSearchParams(location.search).get("host") || "";
// The server's page of the services not up (/?status=down) holds other cards than the
// stream's: it takes its cards from polling itself.
const DOWN_PAGE = !!doc.getElementById("svc-down");
// The page polled when the stream is refused: this very page, revalidated by its ETag.
const PAGE_URL = DOWN_PAGE ? "/?status=down" : HOST ? `/?host=${encodeURIComponent(HOST)}` : "/";
const TILES = ["summary", "host-tabs", "notices", "svc-feed", "svc-groups", "svc-down", "sys", "weather", "activity"];
let since = body.dataset.since || ""; // the version this page holds

const calm = matchMedia("(prefers-reduced-motion: reduce)");
/** A brief glow on a headline number that changed (none under reduced motion). */
function pulse(node) {
  if (calm.matches || !node.animate) return;
  node.animate([{ textShadow: "0 0 14px #22e4ff" }, { textShadow: "0 0 0 transparent" }],
    { duration: 800, easing: "ease-out" });
}
function setText(node, text) {
  if (node && node.textContent !== text) node.textContent = text;
}

// ---------------------------------------------------------------- swapping
/** Replaces tile `id` with `fresh` (an element with the same id). */
function replaceTile(id, fresh) {
  const old = doc.getElementById(id);
  if (!old || !fresh || fresh.id !== id) return changed(id);
  old.replaceWith(fresh);
  changed(id);
}
function swapTile(id, html) {
  const t = doc.createElement("template");
  t.innerHTML = html;
  replaceTile(id, t.content.firstElementChild);
}
/** Sets the fields a patch names: element n of the tile (0 is the tile itself, then its
 * descendants in document order), its text or one attribute. */
function patchTile(id, fields) {
  const root = doc.getElementById(id);
  if (!root) return changed(id);
  const els = [root, ...root.getElementsByTagName("*")];
  for (const [key, value] of Object.entries(fields)) {
    const [i, attr] = key.split(" ");
    const e = els[Number(i)];
    if (!e) continue;
    if (!attr) {
      if (e.textContent === value) continue;
      e.textContent = value;
      if (e.closest(".big")) pulse(e);
    } else if (attr === "points+") appendPoints(e, value);
    else e.setAttribute(attr, value);
  }
  changed(id);
}
/** A sparkline's new points: those beyond its last x are appended, those left of the
 * moved viewBox dropped. */
function appendPoints(line, add) {
  const x = (p) => parseFloat(p);
  const pts = (line.getAttribute("points") || "").split(" ").filter(Boolean);
  for (const p of add.split(" ")) if (p && (!pts.length || x(p) > x(pts[pts.length - 1]))) pts.push(p);
  const box = line.ownerSVGElement ? line.ownerSVGElement.viewBox.baseVal : null;
  const from = box ? box.x - 0.05 : -Infinity;
  line.setAttribute("points", pts.filter((p) => x(p) >= from).join(" "));
}
let sampled = "", sampledAt = Date.now(); // the system panel's sample and when it changed
let cardsTimer = 0;
function changed(id) {
  if (id === "svc-groups" && DOWN_PAGE && !cardsTimer) {
    cardsTimer = setTimeout(() => { cardsTimer = 0; poll().catch(() => {}); }, 500);
  }
  if (id === "summary") doc.title = $("#summary").dataset.title || doc.title;
  if (id === "svc-groups" && (downOnly || (find && find.value.trim()))) filterCards(true);
  const t = $("#sampled");
  const now = t ? t.getAttribute("datetime") || "" : "";
  if (now !== sampled) {
    sampled = now;
    sampledAt = Date.now();
    if (connection === "stale") setLive(mode === "poll" ? "polling" : "live");
  }
}

// ---------------------------------------------------------------- connection
let connection = "snapshot";
let mode = "stream"; // or "poll"
let contactAt = Date.now(); // the server last answered
function setLive(state) {
  connection = state;
  $("#live").dataset.state = state;
  body.dataset.live = state; // the stylesheet dims what an offline page cannot vouch for
  setText($("#live-text"), state);
}

let es = null, failures = 0, retryTimer = 0, pollTimer = 0;
function connect() {
  clearTimeout(retryTimer);
  if (!("EventSource" in window)) return startPolling();
  const host = HOST ? `&host=${encodeURIComponent(HOST)}` : "";
  es = new EventSource(`/api/stream?view=page&since=${encodeURIComponent(since)}${host}`);
  let opened = false;
  es.addEventListener("open", () => {
    opened = true;
    failures = 0;
    contactAt = Date.now();
    stopPolling();
    setLive("live");
  });
  const heard = (ev) => {
    contactAt = Date.now();
    if (ev.lastEventId) since = ev.lastEventId;
  };
  es.addEventListener("tile", (ev) => {
    const i = ev.data.indexOf("\n");
    if (i > 0) swapTile(ev.data.slice(0, i), ev.data.slice(i + 1));
    heard(ev);
  });
  es.addEventListener("patch", (ev) => {
    let p;
    try { p = JSON.parse(ev.data); } catch { return; }
    for (const [id, fields] of Object.entries(p)) patchTile(id, fields);
    heard(ev);
  });
  es.addEventListener("error", () => {
    es.close();
    es = null;
    failures++;
    // Refused before it ever opened (503: too many clients) or repeatedly dropped:
    // poll the page meanwhile, and try the stream again later.
    if (!opened || failures >= 3) startPolling();
    else setLive("reconnecting");
    const backoff = Math.min(30000, 1000 * 2 ** Math.min(failures, 5));
    retryTimer = setTimeout(connect, backoff * (0.75 + Math.random() * 0.5));
  });
}

/** One poll: the page itself (a 304 when nothing changed), its tiles swapped in. */
async function poll() {
  const r = await fetch(PAGE_URL, { cache: "no-cache", headers: { Accept: "text/html" } });
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  const page = new DOMParser().parseFromString(await r.text(), "text/html");
  contactAt = Date.now();
  // The down page's cards are not the stream's: swap them even at the same version.
  if (!DOWN_PAGE && page.body.dataset.since === since) return;
  since = page.body.dataset.since || since;
  for (const id of TILES) {
    const fresh = page.getElementById(id);
    if (fresh) replaceTile(id, doc.importNode(fresh, true));
  }
}
// A polling visitor fetches the page about twice a minute at the default interval
// (the crowd budget: a small fraction of a stream; the edge answers most of them),
// faster for a faster sampler.
const POLL_EVERY = Math.min(30000, Math.max(2000, 15 * INTERVAL));
const offline = () => Date.now() - contactAt > Math.max(10000, 3 * INTERVAL);
function startPolling() {
  if (mode === "poll") return;
  mode = "poll";
  setLive(offline() ? "offline" : "reconnecting");
  const tick = async () => {
    try {
      await poll();
      setLive("polling");
    } catch {
      setLive(offline() ? "offline" : "reconnecting");
    }
    if (mode === "poll") pollTimer = setTimeout(tick, POLL_EVERY);
  };
  tick();
}
function stopPolling() {
  mode = "stream";
  clearTimeout(pollTimer);
}

// ---------------------------------------------------------------- clock, ages, watchdog
// The clock in the page's zone, as the server writes it ("14:02 CET"): the zone's name
// for Intl when the browser knows it, else the server's offset.
const TZ = body.dataset.tz || "UTC";
const TZ_ABBR = body.dataset.tzAbbr || "UTC";
const TZ_OFFSET = Number(body.dataset.tzOffset) || 0;
const two = (n) => String(n).padStart(2, "0");
// Built once, and only when the page must write a minute itself: the first one costs a
// phone tens of milliseconds. UTC, or a zone the browser does not know, needs no Intl.
let zoneFormat = TZ === "UTC" ? false : null;
function zoneTime(date) {
  if (zoneFormat === null) {
    try {
      zoneFormat = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    } catch (_) {
      zoneFormat = false;
    }
  }
  if (zoneFormat) return `${zoneFormat.format(date)} ${TZ_ABBR}`;
  const d = new Date(date.getTime() + TZ_OFFSET * 60000);
  return `${two(d.getUTCHours())}:${two(d.getUTCMinutes())} ${TZ_ABBR}`;
}
/** A relative age as the server writes it (src/routes/view.rs `age`). */
function age(s) {
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.floor((s + 30) / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}
/** A duration as the server writes it (src/routes/format.rs `span`). */
function span(s) {
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  if (d) return h ? `${d} d ${h} h` : `${d} d`;
  if (h) return m ? `${h} h ${m} min` : `${h} h`;
  return m ? `${m} min` : "<1 min";
}
/** Every age and duration on the page counts on from its timestamp, with or without
 * a server. */
function tickAges() {
  const now = Date.now();
  for (const t of $$("time[data-age], time[data-span]")) {
    const at = Date.parse(t.getAttribute("datetime"));
    const s = Math.max(0, (now - at) / 1000);
    if (isFinite(at)) setText(t, t.hasAttribute("data-span") ? span(s) : age(s));
  }
}
const minuteOf = (ms) => Math.floor(ms / 60000);
/** The clock shows minutes: it is written when its `datetime` names another minute than
 * now (the server wrote the current one; a cached page's is older). */
function tickClock() {
  const c = $("#clock");
  const now = new Date();
  if (minuteOf(Date.parse(c.getAttribute("datetime"))) !== minuteOf(now.getTime())) {
    c.setAttribute("datetime", now.toISOString());
    setText(c, zoneTime(now));
  }
  // No new sample for three intervals although the connection looks fine.
  if ((connection === "live" || connection === "polling") &&
      Date.now() - sampledAt > Math.max(3 * INTERVAL + 2000, 6000) + (mode === "poll" ? POLL_EVERY : 0)) setLive("stale");
  if (mode === "stream" && connection === "reconnecting" && offline()) setLive("offline");
}

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
  const was = keep && ranked[target] && ranked[target].dataset.name;
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
  mark(Math.max(0, ranked.findIndex((c) => c.dataset.name === was)));
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
    } else if (ev.key.length === 1 && ev.key !== " " && (doc.activeElement === body || !doc.activeElement)) {
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
  // Delegated: the summary is swapped as it changes.
  doc.addEventListener("click", (ev) => {
    const a = ev.target.closest && ev.target.closest("#summary-link, #show-all");
    if (!a || !plain(ev)) return;
    ev.preventDefault();
    const on = a.id === "summary-link";
    showDown(on, isDown() !== on);
  });
  addEventListener("popstate", () => showDown(isDown(), false));
  if (isDown()) showDown(true, false);
}

function start() {
  const t = $("#sampled");
  sampled = t ? t.getAttribute("datetime") || "" : "";
  setInterval(tickClock, 1000);
  tickClock();
  setInterval(tickAges, 15000);
  connect();
}
start();
