// live.js: live refresh of scores, match states and prices on the main
// page and a match's page, over the one WebSocket of GET /api/v1/ws
// (docs/realtime.md). The same socket carries the match room's chat
// (chat.js) and the player's own channel (bet.settled, points.credited:
// slip.js), so those modules watch channels and listen for events through
// the functions exported here. When the socket cannot open (a proxy that
// does not pass the upgrade, say) the page falls back to polling the JSON
// API as before, and keeps trying the socket.
import { api } from "./app.js";

/** How often a visible page polls in the fallback, in ms (plus up to 5 s
 * of jitter, so many open pages do not ask in step). */
const PERIOD = 20000;

/** How long a moved price keeps its arrow, in ms. */
const FLASH = 8000;

/** Reconnect delays: from BACKOFF_MIN doubling to BACKOFF_MAX, each drawn
 * between half and all of it so a restarted server is not met by every
 * page at the same instant. */
const BACKOFF_MIN = 1000;
const BACKOFF_MAX = 30000;

/** Failed opens in a row (the socket never opened) before polling starts. */
const FALLBACK_AFTER = 2;

// ---- The socket. ----

const watched = new Map(); // channel → {since: () => number | 0}
const handlers = new Map(); // event type → Set of fn(data, channel)
const statusFns = new Set(); // fn("open" | "closed")
let ws = null;
let opened = false; // the current socket reached "open"
let failures = 0; // closes in a row without a useful connection
let retry = 0; // reconnect timer
let everOpened = false;
let started = false;
let openedAt = 0;

const socketURL = () => `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/ws`;

/** Calls fn(data, channel) for every event of type ("match.score",
 * "chat.message", "error", …). Returns a function that stops it. */
export function on(type, fn) {
  if (!handlers.has(type)) handlers.set(type, new Set());
  handlers.get(type).add(fn);
  return () => handlers.get(type).delete(fn);
}

/** Calls fn("open" | "closed") whenever the socket opens or goes. */
export function onStatus(fn) {
  statusFns.add(fn);
  return () => statusFns.delete(fn);
}

/** Whether the socket is open now. */
export const isOpen = () => opened && ws !== null && ws.readyState === WebSocket.OPEN;

/**
 * Watches a channel ("match:m_1", "lobby:football") for as long as the
 * page lives, subscribing again after every reconnect. opts.since, for a
 * match room, returns the last chat message id the page has: the server
 * sends what came after it before the acknowledgement.
 */
export function watch(channel, opts = {}) {
  const had = watched.get(channel);
  watched.set(channel, { since: opts.since || (had && had.since) || null });
  if (isOpen()) sendSubscribe(channel);
  else start();
}

/** Sends a frame; false when the socket is not open (nothing is queued:
 * a chat line typed while offline stays in its box). */
export function send(frame) {
  if (!isOpen()) return false;
  ws.send(JSON.stringify(frame));
  return true;
}

/** Opens the socket (once; later calls do nothing). A signed-in player's
 * own channel comes with the connection. */
export function start() {
  if (started) return;
  started = true;
  // After the other modules' top-level code, so their watches go out in
  // the first batch of subscriptions.
  queueMicrotask(connect);
}

function sendSubscribe(channel) {
  const w = watched.get(channel);
  const frame = { type: "subscribe", channel };
  // A chat room's page always resumes: 0 (it showed no message) asks for
  // the room from its first message, so nothing posted before the socket
  // opened is missed.
  const since = w && w.since ? w.since() : null;
  if (Number.isSafeInteger(since) && since >= 0) frame.since = since;
  ws.send(JSON.stringify(frame));
}

function emit(type, data, channel) {
  for (const fn of handlers.get(type) || []) {
    try { fn(data, channel); } catch (e) { console.warn("live:", type, e); }
  }
}

function status(s) {
  for (const fn of statusFns) {
    try { fn(s); } catch (e) { console.warn("live:", e); }
  }
}

function connect() {
  clearTimeout(retry);
  retry = 0;
  if (document.hidden && everOpened) return; // resumed on visibilitychange
  let sock;
  try {
    sock = new WebSocket(socketURL());
  } catch {
    scheduleReconnect(false);
    return;
  }
  ws = sock;
  opened = false;
  sock.addEventListener("open", () => {
    if (ws !== sock) return;
    opened = true;
    openedAt = Date.now();
    const again = everOpened;
    everOpened = true;
    for (const ch of watched.keys()) sendSubscribe(ch);
    stopPolling();
    status("open");
    emit("open", { again }, "");
  });
  sock.addEventListener("message", (ev) => {
    if (ws !== sock) return;
    let batch;
    try { batch = JSON.parse(ev.data); } catch { return; }
    if (!Array.isArray(batch)) batch = [batch];
    for (const e of batch) {
      if (e && typeof e.type === "string") emit(e.type, e.data || {}, e.channel || "");
    }
  });
  sock.addEventListener("close", (ev) => {
    if (ws !== sock) return;
    const wasOpen = opened;
    ws = null;
    opened = false;
    if (wasOpen) status("closed");
    // A connection that served a while starts the backoff afresh; one
    // closed at once (a flood, a refusal) keeps growing it.
    if (wasOpen && Date.now() - openedAt > 10000) failures = 0;
    // 1001: the server is going away (a deploy); 1013: the bus dropped a
    // room. Both ask for a prompt reconnect, to this or another instance.
    const prompt = ev.code === 1001 || ev.code === 1013;
    // 1000 "idle": the page watches nothing; it reconnects when it does.
    if (ev.code === 1000 && watched.size === 0) {
      started = false;
      return;
    }
    scheduleReconnect(prompt, wasOpen);
  });
}

function scheduleReconnect(prompt, wasOpen = false) {
  if (retry) return;
  if (!prompt) failures++;
  if (!everOpened && failures >= FALLBACK_AFTER) startPolling();
  if (wasOpen && everOpened) startPolling(); // cover the gap with polls until it is back
  const base = prompt ? BACKOFF_MIN : Math.min(BACKOFF_MAX, BACKOFF_MIN * 2 ** Math.min(failures, 6));
  const delay = base / 2 + Math.random() * (base / 2);
  retry = setTimeout(connect, delay);
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && started && ws === null && !retry) connect();
});

// ---- The polling fallback: the JSON API, while the page is visible. ----

const pollers = new Set(); // {topics, onMatches}
let pollTimer = 0;
let polling = false;
let busy = false;

const pathOf = (topic) => topic.match
  ? `/api/v1/matches/${encodeURIComponent(topic.match)}`
  : `/api/v1/matches?sport=${encodeURIComponent(topic.sport)}&date=${encodeURIComponent(topic.date)}&limit=200`;

function startPolling() {
  if (polling || pollers.size === 0) return;
  polling = true;
  poll();
}

function stopPolling() {
  polling = false;
  clearTimeout(pollTimer);
  pollTimer = 0;
}

function schedulePoll() {
  if (polling && !document.hidden && !pollTimer) pollTimer = setTimeout(poll, PERIOD + Math.random() * 5000);
}

async function poll() {
  pollTimer = 0;
  if (!polling || document.hidden || busy) return;
  busy = true;
  try {
    for (const p of pollers) await pollOnce(p);
  } finally {
    busy = false;
  }
  schedulePoll();
}

async function pollOnce(p) {
  for (const topic of p.topics) {
    const res = await api("GET", pathOf(topic));
    if (res.ok && res.body) p.onMatches(Array.isArray(res.body.items) ? res.body.items : [res.body]);
  }
}

document.addEventListener("visibilitychange", () => {
  if (document.hidden) {
    clearTimeout(pollTimer);
    pollTimer = 0;
  } else if (polling) {
    poll();
  }
});

const channelOf = (topic) => topic.match ? `match:${topic.match}` : `lobby:${topic.sport}`;

/**
 * Delivers fresh matches — the JSON API's match objects, or the part of
 * one an event carries ({id, state}, {id, score}, {id, markets}) — for
 * each topic ({match: id} or {sport, date}) to onMatches. Over the
 * socket: the match room or the sport's lobby; polled when the socket
 * cannot open. A reconnect reads the lobby topics once, since a lobby
 * sends no current state on subscribe.
 */
export function subscribe(topics, onMatches) {
  const p = { topics, onMatches };
  pollers.add(p);
  const chans = new Set(topics.map(channelOf));
  const deliver = (part) => (data, channel) => {
    if (chans.has(channel) && data && data.match) onMatches([{ id: data.match, ...part(data) }]);
  };
  const offs = [
    on("match.state", deliver((d) => ({ state: d.state }))),
    on("match.score", deliver((d) => ({ score: d.score }))),
    on("odds.changed", deliver((d) => ({ markets: d.markets || [] }))),
    on("open", ({ again }) => {
      const lobbies = topics.filter((t) => !t.match);
      if (again && lobbies.length) pollOnce({ topics: lobbies, onMatches });
    }),
  ];
  for (const ch of chans) watch(ch);
  if (polling) pollOnce(p);
  return () => {
    pollers.delete(p);
    offs.forEach((off) => off());
  };
}

// ---- The page. ----

// The texts come from the page (the script tag's data attributes).
const texts = document.querySelector("script[data-live-texts]")?.dataset || {};
const stateName = (st) => texts["state" + st.charAt(0).toUpperCase() + st.slice(1)] || st;

const byAttr = (attr, value) => document.querySelectorAll(`[${attr}="${CSS.escape(value)}"]`);

/** Shows a price that moved: the new figure, and for a while ▲ (longer,
 * red) or ▼ (shorter, blue) beside it. */
function flash(el, up) {
  el.querySelector(":scope > .move")?.remove();
  el.classList.remove("move-up", "move-down");
  el.classList.add(up ? "move-up" : "move-down");
  const arrow = document.createElement("span");
  arrow.className = "move";
  arrow.textContent = up ? "▲" : "▼";
  const words = document.createElement("span");
  words.className = "visually-hidden";
  words.textContent = " " + ((up ? texts.up : texts.down) || "");
  arrow.append(words);
  el.append(arrow);
  setTimeout(() => {
    arrow.remove();
    el.classList.remove("move-up", "move-down");
  }, FLASH);
}

function updatePrice(id, price, open) {
  for (const b of byAttr("data-selection", id)) {
    if (!b.classList.contains("pick")) continue;
    b.disabled = !open;
    const old = b.dataset.odds;
    if (old === price) continue;
    b.dataset.odds = price;
    const figure = b.querySelector(".pick-odds");
    if (figure) figure.textContent = price;
    if (old) flash(b, Number(price) > Number(old));
  }
  for (const el of byAttr("data-price", id)) {
    if (el.textContent === price) continue;
    const up = Number(price) > Number(el.textContent);
    el.textContent = price;
    flash(el.parentElement, up);
  }
}

/** Brings every element showing match m up to date with what m carries. */
function apply(m) {
  for (const el of byAttr("data-match", m.id)) {
    if (m.state) {
      el.dataset.state = m.state;
      const badge = el.querySelector(".badge");
      if (badge && badge.dataset.state !== m.state) {
        badge.dataset.state = m.state;
        badge.textContent = stateName(m.state);
      }
    }
    if ("score" in m) {
      const score = el.querySelector("[data-score]");
      if (score) score.textContent = m.score ? `${m.score.home} : ${m.score.away}` : "vs";
    }
  }
  const markets = m.markets || (m.main_market ? [m.main_market] : []);
  for (const mk of markets) {
    for (const s of mk.selections || []) updatePrice(s.id, s.odds, mk.open);
  }
}

// A page whose matches are all over has nothing left to refresh.
const over = new Set(["finished", "cancelled", "abandoned", "postponed"]);
const topics = [];
for (const el of document.querySelectorAll(".leagues[data-live-sport][data-live-date]")) {
  const rows = [...el.querySelectorAll("li.match[data-match]")];
  if (rows.some((r) => !over.has(r.dataset.state))) topics.push({ sport: el.dataset.liveSport, date: el.dataset.liveDate });
}
for (const el of document.querySelectorAll("[data-live-match]")) {
  if (!over.has(el.dataset.state)) topics.push({ match: el.dataset.liveMatch });
}
if (topics.length) subscribe(topics, (ms) => ms.forEach(apply));
