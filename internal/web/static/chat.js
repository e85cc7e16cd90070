// chat.js: the match room's chat over the page's WebSocket (live.js).
// The page carries the latest messages (all a reader without JavaScript
// sees); this module resumes after the last of them, adds what arrives,
// removes what an operator deletes, sends (signed-in players), reports,
// and shows the head-count and the refusals in words. Message text and
// nicknames are only ever set with textContent: chat is text, never HTML.
import { api } from "./app.js";
import { on, onStatus, send, watch } from "./live.js";

const root = document.querySelector("[data-chat]");
const dataEl = document.getElementById("chat-data");
if (root && dataEl) init(root, JSON.parse(dataEl.textContent));

function init(root, T) {
  const matchID = root.dataset.chat;
  const channel = `match:${matchID}`;
  const me = document.body.dataset.user || "";
  const q = (sel) => root.querySelector(sel);
  const log = q("[data-chat-log]");
  const box = q("[data-chat-box]"); // the log's scrolling frame
  const empty = q("[data-chat-empty]");
  const status = q("[data-chat-status]");
  const presence = q("[data-chat-presence]");
  const form = q("[data-chat-form]");
  const input = form ? form.querySelector("input[name=text]") : null;

  /** Fills {name} placeholders of a text. */
  const t = (key, args = {}) => (T[key] || "").replace(/\{(\w+)\}/g, (_, k) => (k in args ? String(args[k]) : ""));

  let zone = root.dataset.zone || undefined;
  let clockFmt;
  try {
    clockFmt = new Intl.DateTimeFormat(document.documentElement.lang || undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone });
  } catch {
    zone = undefined;
    clockFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  }
  const clock = (iso) => {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? "" : t("clock", { time: clockFmt.format(d) });
  };

  let lastID = 0;
  for (const li of log.querySelectorAll("li[data-id]")) {
    lastID = Math.max(lastID, Number(li.dataset.id) || 0);
    addReport(li);
  }

  // ---- Showing. ----

  let statusTimer = 0;
  /** Shows a notice under the log; one that clears itself unless sticky. */
  function say(text, sticky = false) {
    clearTimeout(statusTimer);
    status.textContent = text;
    if (!sticky && text) statusTimer = setTimeout(() => { status.textContent = ""; }, 8000);
  }

  function atBottom() {
    return box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  }

  function addReport(li) {
    if (!me || li.dataset.user === me || li.querySelector(".chat-report")) return;
    const b = document.createElement("button");
    b.type = "button";
    b.className = "chat-report";
    b.textContent = t("report");
    const nick = li.querySelector(".chat-nick");
    b.setAttribute("aria-label", t("report_label", { nick: nick ? nick.textContent : "" }));
    li.append(" ", b);
  }

  function show(m) {
    const id = Number(m.id) || 0;
    if (id <= lastID && log.querySelector(`li[data-id="${id}"]`)) return; // a resume repeats nothing
    lastID = Math.max(lastID, id);
    const li = document.createElement("li");
    li.className = "chat-msg";
    if (me && m.user_id === me) li.classList.add("own");
    li.dataset.id = String(id);
    li.dataset.user = String(m.user_id || "");
    const nick = document.createElement("span");
    nick.className = "chat-nick";
    nick.textContent = String(m.nickname || "");
    const when = document.createElement("time");
    when.dateTime = String(m.at || "");
    when.textContent = clock(m.at);
    const text = document.createElement("span");
    text.className = "chat-text";
    text.textContent = String(m.text || "");
    li.append(nick, " ", when, " ", text);
    addReport(li);
    append(li);
  }

  function append(li) {
    const stick = atBottom();
    log.append(li);
    empty.hidden = true;
    // Keep a long evening's log bounded.
    while (log.children.length > 300) log.firstElementChild.remove();
    if (stick) box.scrollTop = box.scrollHeight;
  }

  box.scrollTop = box.scrollHeight;

  // ---- Events of the room. ----

  const mine = (fn) => (data, ch) => { if (ch === channel) fn(data); };
  on("chat.message", mine(show));
  on("chat.deleted", mine((d) => {
    const li = log.querySelector(`li[data-id="${Number(d.id) || 0}"]`);
    if (!li) return;
    if (li.contains(document.activeElement)) input?.focus();
    li.remove();
    empty.hidden = log.querySelector("li") !== null;
  }));
  on("announcement", mine((d) => {
    const li = document.createElement("li");
    li.className = "chat-announcement";
    const label = document.createElement("strong");
    label.textContent = t("announcement");
    const text = document.createElement("span");
    text.textContent = String(d.text || "");
    li.append(label, " ", text);
    append(li);
  }));
  on("presence", mine((d) => {
    if (!Number.isSafeInteger(d.count)) return;
    presence.textContent = t("presence", { n: d.count.toLocaleString(document.documentElement.lang || undefined) });
    presence.hidden = false;
  }));
  on("subscribed", mine(async (d) => {
    if (!d.reload) return;
    // Too much was missed for a resume: the history route, where the
    // server has it; else say so.
    const res = await api("GET", `/api/v1/matches/${encodeURIComponent(matchID)}/chat?limit=50`);
    const items = res.ok && res.body ? (Array.isArray(res.body) ? res.body : res.body.items) : null;
    if (!Array.isArray(items)) {
      say(t("reload"), true);
      return;
    }
    for (const li of [...log.querySelectorAll("li")]) li.remove();
    lastID = 0;
    items.forEach(show);
  }));

  // Refusals come back as error events; chat.send and chat.report carry a
  // ref so each is matched to what caused it.
  const pending = new Map(); // ref → {kind: "send", text} | {kind: "report", button}
  let refs = 0;
  on("error", (d, ch) => {
    const p = d.ref ? pending.get(d.ref) : null;
    if (d.ref) pending.delete(d.ref);
    if (ch !== channel && !p) return;
    if (p && p.kind === "send" && input && input.value === "") input.value = p.text;
    if (p && p.kind === "report") p.button.disabled = d.code === "already_reported";
    // The limiter's wait, in whole seconds, on the two cooldowns.
    const n = Number.isSafeInteger(d.retry_after) && d.retry_after > 0 ? d.retry_after : 0;
    if (d.code === "chat_rate_limited" && n) say(t("cooldown", { n }));
    else if (d.code === "chat_slow_mode" && n) say(t("slow", { n }));
    else say(T[`fault.${d.code}`] || T["fault.chat_unavailable"]);
  });
  // A mute comes on the player's own channel, with its end and reason.
  on("chat.notice", (d) => {
    if (d.code !== "chat_muted") return;
    const until = d.until ? new Date(d.until) : null;
    const text = until && !Number.isNaN(until.getTime())
      ? t("muted", { until: t("clock", { time: new Intl.DateTimeFormat(document.documentElement.lang || undefined, { dateStyle: "short", timeStyle: "short", timeZone: zone }).format(until) }), reason: d.message || "" })
      : t("muted_plain", { reason: d.message || "" });
    say(text, true);
  });

  // ---- Sending and reporting. ----

  if (form && input) {
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      if ([...text].length > 500) {
        say(t("too_long"));
        return;
      }
      const ref = `c${++refs}`;
      if (!send({ type: "chat.send", channel, text, ref })) {
        say(t("offline"));
        return;
      }
      pending.set(ref, { kind: "send", text });
      input.value = "";
    });
  }
  log.addEventListener("click", (e) => {
    const b = e.target.closest(".chat-report");
    if (!b || b.disabled) return;
    const li = b.closest("li[data-id]");
    const ref = `r${++refs}`;
    if (!li || !send({ type: "chat.report", channel, id: Number(li.dataset.id), ref })) {
      say(t("offline"));
      return;
    }
    pending.set(ref, { kind: "report", button: b });
    b.disabled = true;
    // The server answers a report only when it refuses it.
    say(t("reported"));
  });

  onStatus((s) => {
    if (form) form.hidden = s !== "open";
    if (s === "open") {
      if (status.textContent === t("offline")) say("");
    } else {
      say(t("offline"), true);
    }
  });

  watch(channel, { since: () => lastID });
}
