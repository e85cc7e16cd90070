// slip.js: the bet slip on every page. Odds buttons anywhere
// (button.pick[data-selection][data-odds], inside an element with
// data-match or carrying it) add and remove selections; only the ids are
// kept (localStorage), prices always come from the server. Placing posts
// to /api/v1/bets with one Idempotency-Key per submission, so a double
// click or a retry after a lost connection places the bet once.

import { api } from "./app.js";

// ---- The arithmetic the server does (internal/odds), in BigInt. ----

const INT64_MAX = (1n << 63n) - 1n;

/** Parses decimal odds ("2.05", "2", "2.050") into hundredths, or null. */
export function hundredths(s) {
  const m = /^(\d{1,12})(?:\.(\d*))?$/.exec(String(s));
  if (!m) return null;
  const frac = (m[2] || "").replace(/0+$/, "");
  if (frac.length > 2) return null;
  return BigInt(m[1]) * 100n + BigInt(frac.padEnd(2, "0") || "0");
}

/**
 * payout is odds.Payout: stake × the product of the prices, rounded down
 * to whole points; null when it does not fit in an int64 (the server
 * refuses such a bet). stake is a BigInt or a whole number; prices are
 * hundredths (BigInt) or decimal strings.
 */
export function payout(stake, prices) {
  let n = BigInt(stake);
  let d = 1n;
  for (const p of prices) {
    n *= typeof p === "bigint" ? p : hundredths(p);
    d *= 100n;
  }
  const v = n / d; // positive operands: division truncates, which is floor
  return v > INT64_MAX ? null : v;
}

/** The combined price in hundredths (odds.Combined), or null on overflow. */
export const combined = (prices) => payout(100n, prices);

/** The largest stake whose payout stays within maxPayout. */
function maxStakeFor(prices, maxPayout) {
  let prod = 1n, d = 1n;
  for (const p of prices) { prod *= p; d *= 100n; }
  return ((BigInt(maxPayout) + 1n) * d - 1n) / prod;
}

// ---- Formatting. ----

const group = (v) => String(v).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
const fmtOdds = (h) => `${h / 100n}.${String(h % 100n).padStart(2, "0")}`;

function fmtLine(s) {
  const h = hundredths(String(s).replace(/^[+-]/, ""));
  if (h === null) return String(s);
  const neg = String(s).startsWith("-");
  const txt = fmtOdds(h).replace(/\.?0+$/, "");
  return (h === 0n ? "" : neg ? "−" : "+") + txt;
}

// ---- State. ----

// The arithmetic above is importable on its own (the tests check it
// against testdata/slip-vectors.json); the slip starts where a page has one.
if (typeof document !== "undefined") {
  const root = document.querySelector("[data-slip]");
  const dataEl = document.getElementById("slip-data");
  const textsEl = document.getElementById("slip-texts");
  if (root && dataEl && textsEl) init(root, { ...JSON.parse(textsEl.textContent), ...JSON.parse(dataEl.textContent) });
}

function init(root, data) {
  const T = data.t;
  const limits = { ...data.limits };
  const signedIn = data.signed_in && !!document.body.dataset.user;
  const KEY = "pb.slip.v1";
  const q = (sel) => root.querySelector(sel);
  const el = {
    bar: q("[data-slip-bar]"), barSum: q("[data-slip-bar-sum]"), panel: q("#slip-panel"),
    close: q("[data-slip-close]"), empty: q("[data-slip-empty]"), body: q("[data-slip-body]"),
    kind: q("[data-slip-kind]"), legs: q("[data-slip-legs]"), clear: q("[data-slip-clear]"),
    stake: q("[data-slip-stake]"), balance: q("[data-slip-balance]"), balanceValue: q("[data-slip-balance-value]"),
    odds: q("[data-slip-odds]"), ret: q("[data-slip-return]"), hint: q("[data-slip-hint]"),
    place: q("[data-slip-place]"), result: q("[data-slip-result]"), live: q("[data-slip-live]"),
    backdrop: q("[data-slip-backdrop]"),
  };
  const desktop = window.matchMedia("(min-width: 960px)");

  /** Fills {name} placeholders of a catalogue text. */
  const t = (key, args = {}) => (T[key] || "").replace(/\{(\w+)\}/g, (_, k) => (k in args ? String(args[k]) : ""));
  const pts = (n) => t("points", { n: group(n) });

  // legs: {s: selection id, m: match id, odds: hundredths | null (not
  // yet known), was: the previous price when it changed, label, match,
  // state: "ok" | "closed" | "gone" | "loading"}.
  let legs = load();
  let balance = null; // BigInt when known
  let remaining = null; // the player's smallest remaining stake limit, BigInt
  let inFlight = false;
  let pending = null; // {key, body, sig}: a submission to resend after a lost connection
  let lastFocus = null;
  let message = ""; // a notice or refusal, shown until the slip changes

  function load() {
    try {
      const raw = JSON.parse(localStorage.getItem(KEY) || "[]");
      if (!Array.isArray(raw)) return [];
      return raw.filter((x) => x && typeof x.s === "string" && typeof x.m === "string" && x.s.length <= 64 && x.m.length <= 64)
        .slice(0, limits.max_legs)
        .map((x) => ({ s: x.s, m: x.m, odds: null, was: null, state: "loading", label: "", match: "" }));
    } catch {
      return [];
    }
  }
  function save() {
    try { localStorage.setItem(KEY, JSON.stringify(legs.map((l) => ({ s: l.s, m: l.m })))); } catch { /* private mode */ }
  }
  // Another tab changed the slip: follow it.
  window.addEventListener("storage", (e) => {
    if (e.key !== KEY) return;
    const known = new Map(legs.map((l) => [l.s, l]));
    legs = load().map((l) => known.get(l.s) || l);
    refresh(legs.filter((l) => l.state === "loading"));
    render();
  });

  // ---- Prices from the server. ----

  async function refresh(which = legs) {
    const ids = [...new Set(which.map((l) => l.m))];
    const answers = await Promise.all(ids.map((id) => api("GET", `/api/v1/matches/${encodeURIComponent(id)}`)));
    const byId = new Map(ids.map((id, i) => [id, answers[i]]));
    for (const l of which) {
      const res = byId.get(l.m);
      if (!res || (!res.ok && res.status !== 404)) {
        if (l.state === "loading") l.state = "error";
        continue; // keep what we had; placing refreshes again
      }
      const m = res.body;
      let mk = null, sel = null;
      for (const k of (res.ok && m.markets) || []) {
        const s = (k.selections || []).find((x) => x.id === l.s);
        if (s) { mk = k; sel = s; break; }
      }
      if (!sel) { l.state = "gone"; l.was = null; continue; }
      const now = hundredths(sel.odds);
      if (l.odds !== null && now !== l.odds) l.was = l.odds;
      l.odds = now;
      l.match = `${m.home.name} vs ${m.away.name}`;
      l.label = legLabel(mk, sel);
      const open = mk.open && m.state === "scheduled" && Date.parse(m.kickoff_at) > Date.now();
      l.state = open ? "ok" : "closed";
    }
    render();
  }

  function legLabel(mk, sel) {
    const name = data.sel[`${mk.kind}.${sel.name}`] || sel.name;
    const kind = T[`kind.${mk.kind}`] || mk.kind;
    if (mk.line === undefined || mk.line === null) return `${kind} · ${name}`;
    // A handicap's line is the home side's; the away side gets it reversed.
    let line = String(mk.line);
    if (mk.kind === "handicap" && sel.name === "away") line = line.startsWith("-") ? line.slice(1) : `-${line}`;
    return `${kind} · ${name} ${mk.kind === "total" ? fmtLine(line).replace(/^\+/, "") : fmtLine(line)}`;
  }

  async function loadBalance() {
    if (!signedIn) return;
    const [me, lim] = await Promise.all([api("GET", "/api/v1/me"), api("GET", "/api/v1/me/limits")]);
    if (me.ok && me.body && Number.isSafeInteger(me.body.balance)) {
      balance = BigInt(me.body.balance);
      // The other places showing the balance (My page) follow the slip's.
      for (const b of document.querySelectorAll("[data-live-balance]")) b.textContent = pts(balance);
    }
    remaining = null;
    if (lim.ok && lim.body) {
      for (const p of ["daily", "weekly", "monthly"]) {
        const r = lim.body[p] && lim.body[p].remaining;
        if (Number.isSafeInteger(r) && (remaining === null || BigInt(r) < remaining)) remaining = BigInt(r);
      }
    }
    render();
  }

  // ---- Picks. ----

  function matchOf(btn) {
    if (btn.dataset.match) return btn.dataset.match;
    const holder = btn.closest("[data-match]");
    return holder ? holder.dataset.match : "";
  }

  function nameOf(btn) {
    const row = btn.closest("[data-match]");
    const teams = row ? [...row.querySelectorAll(".team")].map((x) => x.textContent.trim()).join(" vs ") : "";
    const pick = (btn.querySelector(".pick-name") || btn).textContent.trim();
    return teams ? `${teams} · ${pick}` : pick;
  }

  function toggle(btn) {
    const s = btn.dataset.selection, m = matchOf(btn);
    if (!s || !m || s.length > 64 || m.length > 64) return;
    clearResult();
    const name = nameOf(btn);
    const at = legs.findIndex((l) => l.s === s);
    if (at >= 0) {
      legs.splice(at, 1);
      announce(t("removed", { name }));
    } else {
      const same = legs.findIndex((l) => l.m === m);
      const leg = { s, m, odds: hundredths(btn.dataset.odds), was: null, state: "loading", label: "", match: "" };
      if (same >= 0) {
        legs[same] = leg;
        notice(t("replaced"));
      } else if (legs.length >= limits.max_legs) {
        notice(t("max_legs", { n: limits.max_legs }));
        return;
      } else {
        legs.push(leg);
      }
      announce(t("added", { name }));
      refresh([leg]);
    }
    save();
    render();
  }

  document.addEventListener("click", (e) => {
    const btn = e.target.closest && e.target.closest("button.pick[data-selection][data-odds]");
    if (btn && !root.contains(btn)) { e.preventDefault(); toggle(btn); }
  });

  // Pages that redraw their rows (live refresh) get their buttons synced.
  function syncPicks() {
    const chosen = new Set(legs.map((l) => l.s));
    for (const b of document.querySelectorAll("button.pick[data-selection]")) {
      const v = chosen.has(b.dataset.selection) ? "true" : "false";
      if (b.getAttribute("aria-pressed") !== v) b.setAttribute("aria-pressed", v);
    }
  }
  new MutationObserver(() => syncPicks()).observe(document.querySelector("main") || document.body, { childList: true, subtree: true });

  // ---- Stake. ----

  const stakeValue = () => {
    const digits = el.stake.value.replace(/\D/g, "");
    return digits ? BigInt(digits) : 0n;
  };
  function setStake(v) {
    el.stake.value = v > 0n ? group(v) : "";
    changed();
  }
  el.stake.addEventListener("input", () => {
    // Keep the caret after the same digit while separators come and go.
    const pos = el.stake.selectionStart ?? el.stake.value.length;
    const before = el.stake.value.slice(0, pos).replace(/\D/g, "").length;
    const digits = el.stake.value.replace(/\D/g, "").replace(/^0+/, "").slice(0, 15);
    el.stake.value = digits ? group(digits) : "";
    let i = 0, seen = 0;
    while (i < el.stake.value.length && seen < before) { if (/\d/.test(el.stake.value[i])) seen++; i++; }
    el.stake.setSelectionRange(i, i);
    changed();
  });
  root.querySelectorAll("[data-quick]").forEach((b) => b.addEventListener("click", () => {
    setStake(b.dataset.quick === "max" ? maxStake() : BigInt(b.dataset.quick));
  }));

  function prices() {
    return legs.every((l) => l.odds !== null) ? legs.map((l) => l.odds) : null;
  }

  /** The largest stake every limit allows: bet limits, balance, own limits, the payout cap. */
  function maxStake() {
    let cap = BigInt(limits.max_stake);
    if (balance !== null) cap = balance < cap ? balance : cap;
    if (remaining !== null && remaining < cap) cap = remaining;
    const p = prices();
    if (p && p.length) {
      const byPayout = maxStakeFor(p, limits.max_payout);
      if (byPayout < cap) cap = byPayout;
    }
    return cap > 0n ? cap : 0n;
  }

  el.clear.addEventListener("click", () => {
    legs = [];
    save();
    render();
    el.panel.focus();
  });
  root.querySelectorAll('input[name="odds_policy"]').forEach((r) => r.addEventListener("change", changed));
  const policy = () => (root.querySelector('input[name="odds_policy"]:checked') || {}).value || "reject";

  function changed() {
    clearResult();
    render();
  }

  // ---- Drawing. ----

  function render() {
    syncPicks();
    const n = legs.length;
    el.empty.hidden = n > 0;
    el.body.hidden = n === 0;
    root.classList.toggle("is-empty", n === 0 && el.result.hidden);
    el.kind.textContent = n === 1 ? t("single") : t("multi", { n });
    el.legs.replaceChildren(...legs.map(legItem));

    const p = prices();
    const stake = stakeValue();
    const c = p ? combined(p) : null;
    el.odds.textContent = c !== null && n ? fmtOdds(c) : "–";
    const ret = p && n && stake > 0n ? payout(stake, p) : null;
    el.ret.textContent = ret !== null ? pts(ret) : "–";
    el.barSum.textContent = t("bar", { n, points: ret !== null ? pts(ret) : "–" });
    el.bar.hidden = n === 0 && el.result.hidden;

    el.balance.hidden = balance === null;
    if (balance !== null) el.balanceValue.textContent = pts(balance);

    if (!inFlight) el.hint.textContent = message || hintText(stake, ret);
    el.place.disabled = inFlight || n === 0 || (signedIn && (stake <= 0n || legs.some((l) => l.state !== "ok" && l.state !== "error")));
    el.place.textContent = inFlight ? t("placing") : signedIn ? t("place") : t("login_to_place");
  }

  function hintText(stake, ret) {
    if (!legs.length) return "";
    if (legs.some((l) => l.state === "closed" || l.state === "gone")) return t("hint.closed");
    if (stake <= 0n) return t("hint.stake");
    if (stake < BigInt(limits.min_stake) || stake > BigInt(limits.max_stake)) {
      return t("hint.range", { min: pts(limits.min_stake), max: pts(limits.max_stake) });
    }
    if (balance !== null && stake > balance) return t("hint.balance");
    if (ret === null || ret > BigInt(limits.max_payout)) {
      if (prices()) return t("hint.payout", { max: pts(limits.max_payout) });
    }
    return "";
  }

  function legItem(l) {
    const li = document.createElement("li");
    li.className = "slip-leg";
    li.dataset.state = l.state;
    const text = document.createElement("div");
    text.className = "slip-leg-text";
    const match = document.createElement("span");
    match.className = "slip-leg-match";
    match.textContent = l.match || t("loading");
    const label = document.createElement("span");
    label.className = "slip-leg-label";
    label.textContent = l.state === "gone" ? t("unavailable") : l.label;
    text.append(match, label);

    const price = document.createElement("span");
    price.className = "slip-leg-odds";
    if (l.state === "closed" || l.state === "gone") {
      const badge = document.createElement("span");
      badge.className = "slip-leg-closed";
      badge.textContent = l.state === "closed" ? t("closed") : t("unavailable");
      price.append(badge);
    } else if (l.odds !== null) {
      if (l.was !== null && l.was !== l.odds) {
        const up = l.odds > l.was;
        const mv = document.createElement("span");
        mv.className = up ? "move-up" : "move-down";
        mv.setAttribute("aria-hidden", "true");
        mv.textContent = `${up ? "▲" : "▼"} ${fmtOdds(l.odds)}`;
        const old = document.createElement("s");
        old.className = "slip-leg-was";
        old.setAttribute("aria-hidden", "true");
        old.textContent = fmtOdds(l.was);
        const sr = document.createElement("span");
        sr.className = "visually-hidden";
        sr.textContent = t(up ? "odds_up" : "odds_down", { old: fmtOdds(l.was), new: fmtOdds(l.odds) });
        price.append(old, " ", mv, sr);
      } else {
        price.textContent = fmtOdds(l.odds);
      }
    }
    const rm = document.createElement("button");
    rm.type = "button";
    rm.className = "slip-leg-remove";
    rm.textContent = "✕";
    rm.setAttribute("aria-label", t("remove", { name: [l.match, l.label].filter(Boolean).join(" · ") }));
    rm.addEventListener("click", () => {
      const i = legs.indexOf(l);
      if (i >= 0) legs.splice(i, 1);
      save();
      clearResult();
      render();
      announce(t("removed", { name: l.label }));
      if (legs.length) (el.legs.querySelector(".slip-leg-remove") || el.stake).focus();
      else el.panel.focus();
    });
    li.append(text, price, rm);
    return li;
  }

  function announce(msg) { el.live.textContent = msg; }
  function notice(msg) { message = msg; el.hint.textContent = msg; }
  function clearResult() {
    message = "";
    if (!el.result.hidden) { el.result.hidden = true; el.result.replaceChildren(); }
  }

  // ---- Placing. ----

  const sig = (body) => JSON.stringify(body);

  // crypto.randomUUID exists only in secure contexts (https, localhost);
  // a site reached over plain http still gets a random v4 UUID.
  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function logIn() {
    closeDrawer(false);
    const link = document.querySelector('a[data-modal="login"]');
    if (link) { link.click(); return; }
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  }

  el.place.addEventListener("click", async () => {
    if (inFlight || !legs.length) return;
    if (!signedIn) { logIn(); return; }
    inFlight = true;
    render();
    try {
      await submit();
    } finally {
      inFlight = false;
      render();
    }
  });

  async function submit() {
    const stake = stakeValue();
    const want = legs.map((l) => ({ selection_id: l.s, odds: l.odds === null ? null : fmtOdds(l.odds) }));
    const body = { stake: Number(stake), legs: want, odds_policy: policy() };
    // A resend after a lost connection: the very same bytes and key.
    if (!pending || pending.sig !== sig(body)) {
      const shown = legs.map((l) => l.odds);
      await refresh();
      if (legs.some((l) => l.state === "error")) { notice(t("err.network")); return; }
      if (legs.some((l) => l.state !== "ok")) { notice(t("hint.closed")); return; }
      const pol = policy();
      const moved = legs.some((l, i) => shown[i] !== null && l.odds !== shown[i] &&
        !(pol === "accept_any" || (pol === "accept_higher" && l.odds > shown[i])));
      if (moved || shown.some((o) => o === null)) { notice(t("hint.changed")); return; }
      pending = { key: newKey(), body, sig: sig(body) };
    }
    const res = await send(pending);
    if (res.status === 0 || res.status >= 500) {
      notice(t("err.network"));
      return; // pending stays: the next press resends it under the same key
    }
    pending = null;
    if (res.ok) { done(res.body); return; }
    refused(res);
  }

  async function send(p) {
    let res;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (attempt > 0) {
        el.hint.textContent = t("retrying");
        await new Promise((r) => setTimeout(r, 1000 * 2 ** (attempt - 1)));
      }
      res = await api("POST", "/api/v1/bets", p.body, { "Idempotency-Key": p.key });
      if (res.status !== 0 && res.status < 500) break;
    }
    return res;
  }

  function done(bet) {
    legs = [];
    save();
    el.stake.value = "";
    const msg = document.createElement("p");
    msg.className = "slip-done";
    msg.textContent = t("done");
    const detail = document.createElement("p");
    detail.textContent = t("done.detail", {
      stake: pts(BigInt(bet.stake)), odds: bet.odds, payout: pts(BigInt(bet.potential_payout)),
    });
    const link = document.createElement("a");
    link.href = "/me";
    link.textContent = t("done.link");
    el.result.replaceChildren(msg, detail, link);
    el.result.hidden = false;
    render();
    el.result.focus();
    loadBalance();
  }

  function refused(res) {
    const err = (res.body && res.body.error) || {};
    const d = err.details || {};
    const code = err.code || "";
    let msg;
    switch (code) {
      case "insufficient_points":
        if (Number.isSafeInteger(d.balance)) balance = BigInt(d.balance);
        msg = t(d.balance < 0 ? "err.debt" : "err.insufficient_points", { balance: pts(d.balance ?? 0).replace(/^-/, "−") });
        break;
      case "odds_changed":
        for (const c of d.legs || []) {
          const l = legs.find((x) => x.s === c.selection_id);
          const now = hundredths(c.odds);
          if (l && now !== null && now !== l.odds) { l.was = l.odds; l.odds = now; }
        }
        msg = t("err.odds_changed");
        break;
      case "market_closed":
      case "unknown_selection":
        for (const l of legs) if (l.s === d.selection_id) l.state = code === "market_closed" ? "closed" : "gone";
        if (code === "unknown_selection") refresh();
        msg = t(`err.${code}`);
        break;
      case "stake_out_of_limits":
        if (Number.isSafeInteger(d.min_stake)) limits.min_stake = d.min_stake;
        if (Number.isSafeInteger(d.max_stake)) limits.max_stake = d.max_stake;
        msg = t("err.stake_out_of_limits", { min: pts(limits.min_stake), max: pts(limits.max_stake) });
        break;
      case "payout_over_limit":
        if (Number.isSafeInteger(d.max_payout)) limits.max_payout = d.max_payout;
        msg = t("err.payout_over_limit", { max: pts(limits.max_payout) });
        break;
      case "daily_stake_cap_reached":
      case "stake_limit_reached":
        if (Number.isSafeInteger(d.remaining)) remaining = BigInt(d.remaining);
        msg = t(`err.${code}`, { remaining: pts(d.remaining ?? 0), period: T[`period.${d.period}`] || "" });
        break;
      case "cooloff_active":
      case "self_excluded":
        msg = t(`err.${code}`, { ends_at: when(d.ends_at) });
        break;
      case "invalid_legs":
        msg = t("err.invalid_legs", { n: limits.max_legs });
        break;
      case "unauthenticated":
        msg = t("err.unauthenticated");
        notice(msg);
        logIn();
        return;
      default:
        msg = T[`err.${code}`] ? t(`err.${code}`) : t("err.generic");
    }
    render();
    notice(msg);
  }

  /** A time in the viewer's zone, as the pages show it: "12월 9일 00:00 (KST)". */
  function when(iso) {
    const at = new Date(iso);
    if (Number.isNaN(at.getTime())) return "";
    const lang = document.documentElement.lang || "ko";
    try {
      const text = new Intl.DateTimeFormat(lang, { timeZone: data.zone, month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(at);
      const zone = data.zone === "Asia/Seoul" ? "KST"
        : (new Intl.DateTimeFormat("en", { timeZone: data.zone, timeZoneName: "short" }).formatToParts(at).find((p) => p.type === "timeZoneName") || {}).value;
      return zone ? `${text} (${zone})` : text;
    } catch {
      return at.toISOString();
    }
  }

  // ---- The drawer (phones). ----

  function isDrawer() { return !desktop.matches; }

  function openDrawer() {
    if (!isDrawer()) return;
    lastFocus = document.activeElement;
    root.classList.add("open");
    document.documentElement.classList.add("slip-locked");
    el.panel.setAttribute("role", "dialog");
    el.panel.setAttribute("aria-modal", "true");
    el.bar.setAttribute("aria-expanded", "true");
    el.close.hidden = false;
    el.backdrop.hidden = false;
    el.close.focus();
  }

  function closeDrawer(returnFocus = true) {
    if (!root.classList.contains("open")) return;
    root.classList.remove("open");
    document.documentElement.classList.remove("slip-locked");
    el.panel.removeAttribute("role");
    el.panel.removeAttribute("aria-modal");
    el.bar.setAttribute("aria-expanded", "false");
    el.close.hidden = true;
    el.backdrop.hidden = true;
    if (returnFocus) (el.bar.hidden ? lastFocus : el.bar)?.focus?.();
  }

  el.bar.addEventListener("click", openDrawer);
  el.close.addEventListener("click", () => closeDrawer());
  el.backdrop.addEventListener("click", () => closeDrawer());
  desktop.addEventListener("change", () => closeDrawer(false));
  root.addEventListener("keydown", (e) => {
    if (!root.classList.contains("open")) return;
    if (e.key === "Escape") { e.preventDefault(); closeDrawer(); return; }
    if (e.key !== "Tab") return;
    // Keep Tab inside the open drawer.
    const f = [...el.panel.querySelectorAll("button, input, a[href], [tabindex]:not([tabindex='-1'])")]
      .filter((x) => !x.disabled && !x.hidden && x.offsetParent !== null);
    if (!f.length) return;
    const first = f[0], last = f[f.length - 1];
    if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
  });

  root.classList.add("js");
  render();
  if (legs.length) refresh();
  loadBalance();
  if (signedIn) followLive();

  // ---- The player's own channel. ----

  /** A settled bet, a credit or a change of the player's limits reaches
   * the page over the live socket (the player's channel comes with every
   * connection): the balance is read again, and a win, a refund, a credit
   * or the change is told in a small notice.
   * Imported here, not at the top, so the slip's arithmetic stays
   * importable where there is no page. */
  async function followLive() {
    const notice = document.querySelector("[data-live-notice]");
    let live;
    try {
      live = await import("./live.js");
    } catch {
      return;
    }
    let hideTimer = 0;
    const tell = (key, amount) => {
      if (!notice || !Number.isSafeInteger(amount) || amount <= 0) return;
      show((notice.dataset[key] || "").replace("{points}", "+" + pts(BigInt(amount))));
    };
    const show = (text) => {
      if (!notice || !text) return;
      clearTimeout(hideTimer);
      notice.textContent = text;
      notice.classList.add("shown");
      hideTimer = setTimeout(() => {
        notice.classList.remove("shown");
        notice.textContent = "";
      }, 10000);
    };
    live.on("bet.settled", (d) => {
      loadBalance();
      if (d.state === "won") tell("won", d.payout);
      else if (d.state === "void" || d.state === "push") tell("void", d.payout);
    });
    live.on("points.credited", (d) => {
      loadBalance();
      tell("credited", d.amount);
    });
    // Limits changed on another page or device: the slip's refusals
    // follow the new ones from the next bet; the player is told now.
    live.on("limit.changed", () => {
      loadBalance();
      show(notice?.dataset.limits || "");
    });
    live.start();
  }
}
