// live.js: live refresh of scores, match states and prices on the main
// page and a match's page. The transport is subscribe() alone: today it
// polls the JSON API while the page is visible; the real-time issue swaps
// it for the WebSocket and the DOM code below stays as it is.
import { api } from "./app.js";

/** How often a visible page asks again, in ms (plus up to 5 s of jitter,
 * so many open pages do not ask in step). */
const PERIOD = 20000;

/** How long a moved price keeps its arrow, in ms. */
const FLASH = 8000;

const pathOf = (topic) => topic.match
  ? `/api/v1/matches/${encodeURIComponent(topic.match)}`
  : `/api/v1/matches?sport=${encodeURIComponent(topic.sport)}&date=${encodeURIComponent(topic.date)}&limit=200`;

/**
 * Delivers fresh matches (the JSON API's match objects) for each topic —
 * {match: id} or {sport, date} — to onMatches until the returned function
 * is called. Polls only while the page is visible, and at once when it
 * becomes visible again.
 */
export function subscribe(topics, onMatches) {
  let timer = 0;
  let busy = false;
  let stopped = false;
  const schedule = () => {
    if (!stopped && !document.hidden && !timer) timer = setTimeout(poll, PERIOD + Math.random() * 5000);
  };
  async function poll() {
    timer = 0;
    if (stopped || document.hidden || busy) return;
    busy = true;
    try {
      for (const topic of topics) {
        const res = await api("GET", pathOf(topic));
        if (res.ok && res.body) onMatches(Array.isArray(res.body.items) ? res.body.items : [res.body]);
      }
    } finally {
      busy = false;
    }
    schedule();
  }
  const onVisibility = () => {
    if (document.hidden) {
      clearTimeout(timer);
      timer = 0;
    } else {
      poll();
    }
  };
  document.addEventListener("visibilitychange", onVisibility);
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener("visibilitychange", onVisibility);
  };
}

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

/** Brings every element showing match m up to date. */
function apply(m) {
  for (const el of byAttr("data-match", m.id)) {
    el.dataset.state = m.state;
    const badge = el.querySelector(".badge");
    if (badge && badge.dataset.state !== m.state) {
      badge.dataset.state = m.state;
      badge.textContent = stateName(m.state);
    }
    const score = el.querySelector("[data-score]");
    if (score) score.textContent = m.score ? `${m.score.home} : ${m.score.away}` : "vs";
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
