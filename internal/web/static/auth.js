// auth.js: the sign-in modal, live username and nickname availability,
// and the password rules marked as the player types. Every form it
// touches also works without it (they post to the pages); the modal sends
// the same fields to the JSON API and reloads the page on success.
import { api } from "./app.js";

const textsEl = document.getElementById("auth-texts");
const texts = textsEl ? JSON.parse(textsEl.textContent) : { fault: {} };

/** The catalogue text of an API refusal. */
function faultText(res) {
  if (res.status === 0) return texts.network;
  const code = res.body && res.body.error && res.body.error.code;
  return (code && texts.fault[code]) || texts.error;
}

// --- Availability -------------------------------------------------------

const shapes = {
  username: (v) => /^[A-Za-z0-9_]{3,32}$/.test(v),
  nickname: (v) => {
    const n = [...v].length;
    return n >= 2 && n <= 24 && v.trim() === v && !/[<>]/.test(v);
  },
};

function say(out, text, state) {
  out.textContent = text;
  if (state) out.dataset.state = state;
  else delete out.dataset.state;
}

function watchAvailability(input) {
  const kind = input.dataset.avail;
  const out = input.form && input.form.querySelector(`[data-avail-out="${kind}"]`);
  if (!out || !shapes[kind]) return;
  let timer = 0;
  let seq = 0;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const v = input.value;
    const mine = ++seq;
    if (v === "" || v === input.dataset.current) {
      say(out, "", "");
      return;
    }
    if (!shapes[kind](v)) {
      say(out, texts[kind], "bad");
      return;
    }
    say(out, texts.checking, "");
    timer = setTimeout(async () => {
      const res = await api("GET", `/api/v1/auth/availability?${kind}=${encodeURIComponent(v)}`);
      if (mine !== seq) return; // the player typed on; a newer answer is coming
      const a = res.ok && res.body && res.body[kind];
      if (!a) say(out, "", "");
      else if (a.available) say(out, texts.free, "ok");
      else if (a.reason === "Already taken.") say(out, texts.taken, "bad");
      else say(out, texts[kind], "bad");
    }, 300);
  });
}

// --- Password rules -----------------------------------------------------

function field(form, name, fallback) {
  const el = form && form.querySelector(`[name="${name}"]`);
  return ((el && el.value) || fallback || "").toLowerCase();
}

function watchPassword(input) {
  const list = document.getElementById(input.getAttribute("aria-describedby") || "");
  if (!list) return;
  const mark = (rule, met) => {
    const li = list.querySelector(`[data-rule="${rule}"]`);
    if (!li) return;
    let sr = li.querySelector(".visually-hidden");
    if (met === null) {
      delete li.dataset.state;
      if (sr) sr.remove();
      return;
    }
    if (!sr) {
      sr = document.createElement("span");
      sr.className = "visually-hidden";
      li.append(sr);
    }
    li.dataset.state = met ? "met" : "unmet";
    sr.textContent = ` (${met ? texts.met : texts.unmet})`;
  };
  const check = () => {
    const p = input.value;
    if (p === "") {
      mark("length", null);
      mark("name", null);
      return;
    }
    mark("length", [...p].length >= 10 && new TextEncoder().encode(p).length <= 256);
    // The same rule as account.CheckNewPassword: not containing the
    // username, nor the e-mail's local part (only equal to it when short).
    const lp = p.toLowerCase();
    const user = field(input.form, "username", input.dataset.username);
    const local = field(input.form, "email", input.dataset.email).split("@")[0];
    let ok = !(user && lp.includes(user));
    if (local && (lp === local || ([...local].length >= 3 && lp.includes(local)))) ok = false;
    mark("name", ok);
  };
  input.addEventListener("input", check);
  for (const name of ["username", "email"]) {
    const other = input.form && input.form.querySelector(`[name="${name}"]`);
    if (other) other.addEventListener("input", check);
  }
}

document.querySelectorAll("input[data-avail]").forEach(watchAvailability);
document.querySelectorAll("input[data-password]").forEach(watchPassword);

// --- The modal ----------------------------------------------------------

const dialog = document.getElementById("auth-modal");
if (dialog && typeof dialog.showModal === "function") {
  const title = document.getElementById("auth-modal-title");
  const switcher = dialog.querySelector(".switch");
  let opener = null;
  // What the player typed, kept only while the modal is open, to log in
  // after sign-up or after the e-mail code step.
  let pending = null;

  const pane = (mode) => dialog.querySelector(`[data-pane="${mode}"]`);
  const showError = (form, text) => {
    const el = form.querySelector("[data-error]");
    el.textContent = text || "";
    el.hidden = !text;
  };

  function show(mode) {
    for (const p of dialog.querySelectorAll("[data-pane]")) p.hidden = p.dataset.pane !== mode;
    for (const b of dialog.querySelectorAll("[data-switch]")) b.setAttribute("aria-pressed", String(b.dataset.switch === mode));
    switcher.hidden = mode === "verify";
    title.textContent = title.dataset["title" + mode[0].toUpperCase() + mode.slice(1)];
    const first = pane(mode).querySelector("input:not([type=hidden])");
    if (first) first.focus();
  }

  function open(mode) {
    opener = document.activeElement;
    if (!dialog.open) dialog.showModal();
    show(mode);
  }

  dialog.addEventListener("close", () => {
    pending = null;
    for (const f of dialog.querySelectorAll("form")) {
      showError(f, "");
      for (const p of f.querySelectorAll("input[type=password]")) p.value = "";
    }
    if (opener && typeof opener.focus === "function") opener.focus();
    opener = null;
  });

  // Tab and Shift+Tab stay inside the dialog; Escape closes it (the
  // browser does too, through the cancel event).
  dialog.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      dialog.close();
      return;
    }
    if (e.key !== "Tab") return;
    const items = [...dialog.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea")]
      .filter((el) => !el.disabled && el.getClientRects().length > 0);
    if (items.length === 0) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  });

  // A click on the backdrop (outside the dialog's box) closes it.
  dialog.addEventListener("click", (e) => {
    if (e.target === dialog) dialog.close();
  });
  dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  for (const b of dialog.querySelectorAll("[data-switch]")) b.addEventListener("click", () => show(b.dataset.switch));

  document.addEventListener("click", (e) => {
    const link = e.target.closest("a[data-modal]");
    if (!link || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    open(link.dataset.modal === "signup" ? "signup" : "login");
  });

  async function busy(form, fn) {
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => (b.disabled = true));
    try {
      await fn();
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  }

  // logIn signs in with what pending holds: success reloads the page, an
  // unverified address opens the code step, anything else is shown.
  async function logIn(form) {
    const res = await api("POST", "/api/v1/auth/login", { username: pending.username, password: pending.password });
    if (res.ok) {
      location.reload();
      return;
    }
    if (res.body && res.body.error && res.body.error.code === "email_not_verified") {
      show("verify");
      showError(pane("verify").querySelector("form"), "");
      return;
    }
    showError(form, faultText(res));
  }

  const forms = {
    login: async (form) => {
      pending = { username: form.elements.username.value, password: form.elements.password.value };
      await logIn(form);
    },
    signup: async (form) => {
      const body = {
        username: form.elements.username.value,
        nickname: form.elements.nickname.value,
        email: form.elements.email.value,
        password: form.elements.password.value,
      };
      const res = await api("POST", "/api/v1/auth/signup", body);
      if (!res.ok) {
        showError(form, faultText(res));
        return;
      }
      pending = { username: body.username, password: body.password };
      await logIn(form);
    },
    verify: async (form) => {
      if (!pending) return;
      const res = await api("POST", "/api/v1/auth/verify-email", { username: pending.username, code: form.elements.code.value.trim() });
      if (!res.ok) {
        showError(form, faultText(res));
        return;
      }
      await logIn(form);
    },
  };

  for (const form of dialog.querySelectorAll("form[data-auth]")) {
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      showError(form, "");
      busy(form, () => forms[form.dataset.auth](form));
    });
  }

  const resend = dialog.querySelector("[data-resend]");
  resend.addEventListener("click", () => {
    const form = resend.form;
    const status = form.querySelector("[data-status]");
    if (!pending) return;
    busy(form, async () => {
      const res = await api("POST", "/api/v1/auth/verify-email/resend", { username: pending.username });
      showError(form, res.ok ? "" : faultText(res));
      status.textContent = res.ok ? texts.sent : "";
      status.hidden = !res.ok;
    });
  });
}
