// Autosave for the assessment form.
//
// Every change is saved at once (typing: after a short pause), one request at
// a time, with the revision the page last saw for that item, so an older copy
// of the form can never overwrite a newer answer. Unsent changes are kept in
// localStorage until the server confirms them: a failed save is retried, and
// an expired session asks the reviewer to log in again without leaving the page.
"use strict";

(function () {
  const form = document.getElementById("assessment");
  if (!form) return;

  // --- What works on every form, read-only ones too ---------------------------

  // A disclosure button (aria-expanded) shows or hides the element it controls.
  function disclose(button, open) {
    const target = document.getElementById(button.getAttribute("aria-controls"));
    if (!target) return false;
    const willOpen = open === undefined ? button.getAttribute("aria-expanded") !== "true" : open;
    button.setAttribute("aria-expanded", willOpen ? "true" : "false");
    target.hidden = !willOpen;
    if (button.dataset.openLabel && button.firstChild && button.firstChild.nodeType === Node.TEXT_NODE) {
      button.firstChild.nodeValue = willOpen ? button.dataset.openLabel : button.dataset.closedLabel;
    }
    return willOpen;
  }

  // "Show the English wording too": a translated form shows the English it
  // was made from under each text; the choice is remembered on this device.
  const wordingSwitch = document.getElementById("wording-switch");
  if (wordingSwitch) {
    const wordingKey = "rqs-wording-english";
    const showEnglish = function (on) {
      document.querySelectorAll("[data-wording-en]").forEach(function (el) { el.hidden = !on; });
    };
    let remembered = false;
    try { remembered = localStorage.getItem(wordingKey) === "1"; } catch (e) { remembered = false; }
    wordingSwitch.checked = remembered;
    showEnglish(remembered);
    wordingSwitch.addEventListener("change", function () {
      showEnglish(wordingSwitch.checked);
      try { localStorage.setItem(wordingKey, wordingSwitch.checked ? "1" : "0"); } catch (e) { /* private mode: not remembered */ }
    });
  }

  form.addEventListener("click", function (event) {
    const help = event.target.closest(".help-toggle");
    if (help) { disclose(help); return; }
    const notes = event.target.closest(".evidence-toggle");
    if (notes && disclose(notes)) {
      // Opened to be used: the reviewer types the quote next.
      const field = document.getElementById(notes.getAttribute("aria-controls")).querySelector("textarea, input");
      if (field) field.focus();
    }
  });

  // Puts an item in view and the keyboard on its answer; false if it is hidden.
  function goToItem(code) {
    const el = form.querySelector('[data-item="' + CSS.escape(code) + '"]');
    if (!el || el.hidden) return false;
    el.scrollIntoView({ block: "center" });
    const target = el.querySelector("input:checked") || el.querySelector("input") || el.querySelector("button");
    if (target) target.focus({ preventScroll: true });
    return true;
  }

  const submitErrors = document.getElementById("submit-errors");
  if (submitErrors) {
    submitErrors.addEventListener("click", function (event) {
      const link = event.target.closest("a[data-goto]");
      if (link && goToItem(link.dataset.goto)) event.preventDefault();
    });
    // A refused submit: the first item to answer or correct gets the focus.
    const first = submitErrors.querySelector("a[data-goto]");
    if (first) goToItem(first.dataset.goto);
  }

  // --- Quotes from the paper (shown read-only too) ------------------------------

  const currentPaper = (form.dataset.paper || "").replace(/-/g, "").toLowerCase();
  const editable = form.dataset.editable === "1";

  // What the browser sends of a quote; the server adds the rest.
  function clientQuote(q) {
    return { id: q.id || "", paper: q.paper || "", page: Number(q.page) || 0,
      exact: q.exact || "", prefix: q.prefix || "", suffix: q.suffix || "" };
  }

  function shortText(text) {
    const words = (text || "").replace(/\s+/g, " ").trim();
    return words.length > 160 ? words.slice(0, 159) + "…" : words;
  }

  function setMark(li) {
    const mark = li.querySelector(".quote-mark");
    const verified = li.dataset.verified;
    let text = gettext("Not checked yet: the paper's text is still being extracted");
    let kind = "is-pending";
    if (li.dataset.unsaved === "1") text = gettext("Not saved yet");
    else if (verified === "1") { text = gettext("Verified in the paper"); kind = "is-verified"; }
    else if (verified === "0") { text = gettext("Not found in the paper"); kind = "is-unverified"; }
    mark.className = "quote-mark " + kind;
    mark.textContent = text;
  }

  function hidden(text) {
    const span = document.createElement("span");
    span.className = "visually-hidden";
    span.textContent = text;
    return span;
  }

  // As templates/includes/_item.html renders a quote.
  function quoteElement(q, unsaved) {
    const data = clientQuote(q);
    const li = document.createElement("li");
    li.className = "quote";
    li.dataset.quote = JSON.stringify(data);
    li.dataset.verified = q.verified === true ? "1" : q.verified === false ? "0" : "";
    if (unsaved) li.dataset.unsaved = "1";
    const text = document.createElement("span");
    text.className = "quote-text";
    text.textContent = "“" + shortText(data.exact) + "”";
    const page = document.createElement("span");
    page.className = "quote-page text-nowrap";
    page.textContent = interpolate(gettext("p. %(page)s"), { page: data.page }, true);
    const mark = document.createElement("span");
    li.append(text, " ", page, " ", mark, " ");
    mark.className = "quote-mark";
    setMark(li);
    if (data.paper.replace(/-/g, "").toLowerCase() === currentPaper) {
      const show = document.createElement("button");
      show.type = "button";
      show.className = "btn btn-link btn-sm p-0 align-baseline";
      show.dataset.paperShow = "";
      show.dataset.page = String(data.page);
      show.dataset.exact = data.exact;
      show.dataset.prefix = data.prefix;
      show.dataset.suffix = data.suffix;
      show.append(gettext("Show in paper"),
        hidden(interpolate(gettext(": the quote on page %(page)s"), { page: data.page }, true)));
      li.append(show, " ");
    } else if (currentPaper) {
      const earlier = document.createElement("span");
      earlier.className = "text-muted";
      earlier.textContent = gettext("(from an earlier version of the paper)");
      li.append(earlier, " ");
    }
    if (editable) {
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn btn-link btn-sm p-0 align-baseline text-danger quote-remove";
      remove.dataset.quoteRemove = "";
      remove.append(gettext("Remove"),
        hidden(interpolate(gettext(" the quote on page %(page)s"), { page: data.page }, true)));
      li.append(remove);
    }
    return li;
  }

  function quoteList(el) {
    return el.querySelector('[data-role="quotes"]');
  }

  function readQuotes(el) {
    const list = quoteList(el);
    if (!list) return undefined;
    return Array.from(list.querySelectorAll("li.quote")).map(function (li) {
      try { return clientQuote(JSON.parse(li.dataset.quote)); } catch (e) { return null; }
    }).filter(Boolean);
  }

  function showQuoteBox(el) {
    const list = quoteList(el);
    if (list) list.closest('[data-role="quotes-box"]').hidden = !list.querySelector("li.quote");
  }

  // "Show where the paper may say this": off hides the passages at once;
  // on reloads the form (after its last saves) so the server lists them.
  let beforeReload = function (then) { then(); };
  const finderSwitch = document.getElementById("finder-switch");
  if (finderSwitch) {
    finderSwitch.addEventListener("change", async function () {
      const on = finderSwitch.checked;
      if (!on) document.querySelectorAll("[data-finder]").forEach(function (el) { el.remove(); });
      const body = new URLSearchParams();
      body.append("evidence_finder", on ? "1" : "0");
      let ok = false;
      try {
        const response = await fetch(finderSwitch.dataset.url, {
          method: "POST", body: body, credentials: "same-origin",
          headers: { "X-CSRFToken": csrfCookie(), "X-Requested-With": "fetch", "Accept": "application/json" },
        });
        ok = response.ok;
      } catch (e) { ok = false; }
      const note = document.getElementById("finder-switch-note");
      if (!ok) {
        if (note) note.textContent = gettext("The setting could not be saved; try again.");
        return;
      }
      if (on) beforeReload(function () { window.location.reload(); });
    });
  }

  function csrfCookie() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  if (!editable) return;

  // --- Autosave ----------------------------------------------------------------

  const saveUrl = form.dataset.saveUrl;
  const storeKey = "rqs-pending-" + form.dataset.assessment;
  const statusEl = document.getElementById("save-status");
  const errorEl = document.getElementById("save-error");
  const dialog = document.getElementById("relogin");
  const announcer = document.getElementById("score-announce");
  const attempted = form.dataset.attempted === "1";
  // Items whose last save was refused; the error box clears once all are saved.
  const refused = new Set();
  const queue = [];
  const timers = {};
  let inFlight = false;
  let retryDelay = 0;
  let waitingForLogin = false;
  let expiryTimer = null;

  const csrfToken = csrfCookie;

  function itemEl(code) {
    return form.querySelector('[data-item="' + CSS.escape(code) + '"]');
  }

  function readItem(el) {
    const state = { choices: [], answered: false, evidence: "", page: "", comment: "" };
    el.querySelectorAll('input[name^="choice-"]').forEach(function (input) {
      if (input.checked) state.choices.push(input.value);
    });
    const none = el.querySelector("input[data-none]");
    state.answered = state.choices.length > 0 || Boolean(none && none.checked);
    ["evidence", "page", "comment"].forEach(function (name) {
      const field = el.querySelector('[name="' + name + '"]');
      if (field) state[name] = field.value;
    });
    const quotes = readQuotes(el);
    if (quotes !== undefined) state.quotes = quotes;
    return state;
  }

  function writeItem(el, state) {
    el.querySelectorAll('input[name^="choice-"]').forEach(function (input) {
      input.checked = (state.choices || []).indexOf(input.value) !== -1;
    });
    const none = el.querySelector("input[data-none]");
    // The server's answer has choices [] for "None of these" and null for no
    // answer; a state kept in this browser says so in `answered` (text typed
    // on an unanswered item is not "None of these").
    const answered = "answered" in state ? state.answered : Array.isArray(state.choices);
    if (none) none.checked = Boolean(answered) && (state.choices || []).length === 0;
    let notes = false;
    ["evidence", "page", "comment"].forEach(function (name) {
      const field = el.querySelector('[name="' + name + '"]');
      if (field) field.value = state[name] || "";
      notes = notes || Boolean((state[name] || "").trim());
    });
    // Fields that hold text are always shown.
    const toggle = el.querySelector(".evidence-toggle");
    if (toggle && notes) disclose(toggle, true);
    const list = quoteList(el);
    if (list && Array.isArray(state.quotes)) {
      // A state kept in this browser has no verdicts: quotes the page already
      // showed keep theirs, the others say they are not saved yet.
      const shown = {};
      list.querySelectorAll("li.quote").forEach(function (li) {
        if (li.dataset.unsaved === "1") return;
        try { shown[JSON.stringify(clientQuote(JSON.parse(li.dataset.quote)))] = li.dataset.verified; } catch (e) { /* unreadable: shown as unsaved */ }
      });
      list.replaceChildren.apply(list, state.quotes.map(function (q) {
        const li = quoteElement(q, false);
        if (!("verified" in q)) {
          if (li.dataset.quote in shown) li.dataset.verified = shown[li.dataset.quote];
          else li.dataset.unsaved = "1";
          setMark(li);
        }
        return li;
      }));
      showQuoteBox(el);
    }
  }

  // The server's verdict on each quote it now holds (the list itself is the
  // form's: quotes added while the save was on its way stay).
  function applyQuotes(el, stored) {
    const list = quoteList(el);
    if (!list || !Array.isArray(stored)) return;
    const byId = {};
    stored.forEach(function (q) { byId[q.id] = q; });
    list.querySelectorAll("li.quote").forEach(function (li) {
      let id = "";
      try { id = JSON.parse(li.dataset.quote).id; } catch (e) { id = ""; }
      const q = byId[id];
      if (!q) return;
      li.dataset.verified = q.verified === true ? "1" : q.verified === false ? "0" : "";
      delete li.dataset.unsaved;
      setMark(li);
    });
  }

  function loadPending() {
    try { return JSON.parse(localStorage.getItem(storeKey) || "{}"); } catch (e) { return {}; }
  }

  function storePending(pending) {
    try {
      if (Object.keys(pending).length) localStorage.setItem(storeKey, JSON.stringify(pending));
      else localStorage.removeItem(storeKey);
    } catch (e) { /* storage full or disabled: the queue still holds the change */ }
  }

  function remember(code) {
    const el = itemEl(code);
    const pending = loadPending();
    pending[code] = { state: readItem(el), seen: el.dataset.revision };
    storePending(pending);
  }

  function forget(code, sentState) {
    const pending = loadPending();
    const entry = pending[code];
    if (entry && JSON.stringify(entry.state) === JSON.stringify(sentState)) {
      delete pending[code];
      storePending(pending);
    }
  }

  function setStatus(text, kind) {
    statusEl.textContent = text;
    statusEl.className = "small mt-2 mb-2 " + (kind === "error" ? "text-danger" : kind === "busy" ? "text-muted" : "text-success");
  }

  function showError(text, code) {
    if (code) refused.add(code);
    errorEl.textContent = text;
    errorEl.classList.toggle("d-none", !text);
  }

  function clearError(code) {
    refused.delete(code);
    if (!refused.size) showError("");
  }

  function itemState(code, text, kind) {
    const el = itemEl(code);
    if (!el) return;
    const target = el.querySelector('[data-role="state"]');
    target.textContent = text;
    target.className = "small mb-0 mt-1 " + (kind === "error" ? "text-danger" : "text-muted");
  }

  function enqueue(code) {
    // What is sent is read from the form when it goes, so a pause timer still
    // running for this item would only send the same text a second time.
    clearTimeout(timers[code]);
    delete timers[code];
    remember(code);
    // queue[0] is being sent while inFlight: a change made meanwhile needs its
    // own place in the queue, or it is dropped when that send completes.
    if (queue.lastIndexOf(code) < (inFlight ? 1 : 0)) queue.push(code);
    if (waitingForLogin) {
      // Not "Saving…": nothing is sent until the reviewer has logged in again.
      itemState(code, gettext("Not saved yet: log in again"), "error");
      askLogin();
      return;
    }
    itemState(code, gettext("Saving…"));
    setStatus(gettext("Saving…"), "busy");
    pump();
  }

  // As the server renders it on page load: "+3", "-5", "0", "+0.02".
  function applyScore(html) {
    const score = document.getElementById("score");
    const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("score");
    if (!score || !fresh) return;
    const opened = score.querySelector("details[open]");
    const details = fresh.querySelector("details");
    if (opened && details) details.open = true;
    const before = score.dataset.summary;
    score.replaceWith(document.adoptNode(fresh));
    // The live region stays in place; only its text changes (a replaced
    // element would not be announced).
    if (announcer && fresh.dataset.summary !== before) announcer.textContent = interpolate(gettext("Score: %(summary)s"), { summary: fresh.dataset.summary }, true);
  }

  function applyResult(data) {
    if (data.score_html) applyScore(data.score_html);
    const status = document.getElementById("assessment-status");
    if (status && data.status) status.textContent = data.status;
    const na = new Set(data.na);
    const missing = new Set(data.missing);
    const problems = data.problems || {};
    form.querySelectorAll("[data-item]").forEach(function (el) {
      const code = el.dataset.item;
      el.hidden = na.has(code);
      el.dataset.missing = missing.has(code) ? "1" : "0";
      // Marked only once a submit was refused, never on a first visit.
      el.classList.toggle("is-missing", attempted && missing.has(code));
      const state = el.querySelector('[data-role="state"]');
      if (state && !missing.has(code) && state.textContent.trim() === gettext("Not answered yet")) state.textContent = "";
      el.querySelector('[data-role="problem"]').textContent = problems[code] || "";
      const pts = el.querySelector('[data-role="points"]');
      const value = (data.points || {})[code];
      // The server formats points as the page does on load ("+3", "0", "-5").
      if (pts) pts.textContent = value ? interpolate(gettext("%(points)s pts"), { points: value }, true) : "";
    });
    if (submitErrors) {
      submitErrors.querySelectorAll("li[data-item]").forEach(function (li) {
        const code = li.dataset.item;
        if (!missing.has(code) && !problems[code]) li.remove();
      });
      if (!submitErrors.querySelector("li")) submitErrors.hidden = true;
    }
    scheduleExpiryWarning(data.session_expires);
  }

  async function send(code) {
    const el = itemEl(code);
    const state = readItem(el);
    const body = new URLSearchParams();
    body.append("item", code);
    body.append("seen", el.dataset.revision);
    state.choices.forEach(function (c) { body.append("choices", c); });
    body.append("answered", state.answered ? "1" : "0");
    body.append("evidence", state.evidence);
    body.append("page", state.page);
    body.append("comment", state.comment);
    // The wording this page shows, recorded for agreement split by language.
    if (form.dataset.wording) body.append("wording", form.dataset.wording);
    // Absent when the card has no quotes list: the server leaves them as they are.
    if (state.quotes !== undefined) body.append("quotes", JSON.stringify(state.quotes));
    const response = await fetch(saveUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch", "Accept": "application/json" },
    });
    let data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    return { status: response.status, data: data, state: state };
  }

  function handle(code, outcome) {
    const el = itemEl(code);
    const data = outcome.data;
    if (outcome.status === 200) {
      el.dataset.revision = data.revision;
      forget(code, outcome.state);
      applyQuotes(el, data.quotes);
      applyResult(data);
      clearError(code);
      const changedSince = JSON.stringify(readItem(el)) !== JSON.stringify(outcome.state);
      if (changedSince) enqueue(code); else itemState(code, gettext("Saved"));
      return true;
    }
    if (outcome.status === 409 && data.current) {
      el.dataset.revision = data.current.revision;
      writeItem(el, data.current);
      forget(code, outcome.state);
      // The score and lists as they stand on the server now.
      applyResult(data);
      const mine = outcome.state;
      const theirs = new Set((data.current.quotes || []).map(function (q) { return q.id; }));
      const refusedQuotes = (mine.quotes || []).filter(function (q) { return !theirs.has(q.id); })
        .map(function (q) {
          return interpolate(gettext("quote: “%(text)s” p. %(page)s"), { text: shortText(q.exact), page: q.page }, true);
        });
      const kept = [
        mine.evidence && interpolate(gettext("evidence: %(text)s"), { text: mine.evidence }, true),
        mine.comment && interpolate(gettext("comment: %(text)s"), { text: mine.comment }, true),
      ].concat(refusedQuotes).filter(Boolean).join(" | ");
      // The refused text stays visible so the reviewer can copy it back.
      itemState(code, kept
        ? interpolate(gettext("%(error)s Your refused text: %(kept)s"), { error: data.error, kept: kept }, true)
        : data.error, "error");
      showError(data.error, code);
      return true;
    }
    if (outcome.status === 401) {
      askLogin();
      return false;
    }
    if (outcome.status === 403 && !data.error) {
      // Django's HTML 403 (CSRF cookie gone): keep the change, log in again.
      askLogin();
      return false;
    }
    if (outcome.status >= 400 && outcome.status < 500) {
      forget(code, outcome.state);
      itemState(code, data.error || gettext("Not saved."), "error");
      showError(data.error || gettext("This change could not be saved."), code);
      return true;
    }
    return false;
  }

  async function pump() {
    if (inFlight || waitingForLogin || !queue.length) return;
    inFlight = true;
    const code = queue[0];
    let done = false;
    try {
      done = handle(code, await send(code));
    } catch (e) {
      done = false;
    }
    inFlight = false;
    if (done) {
      queue.shift();
      retryDelay = 0;
      if (!queue.length && !errorEl.textContent) setStatus(gettext("All changes saved"), "ok");
      else if (!queue.length) setStatus(gettext("Saved, with a message above"), "error");
      pump();
    } else if (!waitingForLogin) {
      retryDelay = Math.min(retryDelay ? retryDelay * 2 : 1000, 30000);
      itemState(code, gettext("Not saved yet: retrying"), "error");
      setStatus(interpolate(gettext("Not saved: the server did not answer. Retrying in %(seconds)s s; your changes are kept in this browser."),
        { seconds: Math.round(retryDelay / 1000) }, true), "error");
      setTimeout(pump, retryDelay);
    }
  }

  function askLogin() {
    waitingForLogin = true;
    setStatus(gettext("Session expired: log in to save your changes (they are kept)."), "error");
    if (!dialog.open) dialog.showModal();
  }

  dialog.querySelector("form").addEventListener("submit", async function (event) {
    event.preventDefault();
    const body = new URLSearchParams(new FormData(event.target));
    const errorBox = document.getElementById("relogin-error");
    let response;
    try {
      response = await fetch(form.dataset.reloginUrl, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch", "Accept": "application/json" },
      });
    } catch (e) {
      errorBox.textContent = gettext("The server did not answer; try again.");
      return;
    }
    // A refusal says why in JSON (a lock-out says when to try again); an
    // answer that is not JSON (a proxy's error page) still gets a reason.
    const data = await response.json().catch(function () { return {}; });
    // Two-factor: the password was right and the code is still to come; the
    // next submit sends the password again with it.
    if (data.needs_code) showCodeField(true);
    if (!response.ok) {
      errorBox.textContent = data.error || reloginRefusal(response.status);
      return;
    }
    document.querySelectorAll('input[name="csrfmiddlewaretoken"]').forEach(function (input) { input.value = data.csrf; });
    dialog.close();
    event.target.reset();
    showCodeField(false);
    waitingForLogin = false;
    scheduleExpiryWarning(data.session_expires);
    pump();
  });

  function showCodeField(shown) {
    const field = document.getElementById("relogin-code-field");
    const input = document.getElementById("relogin-code");
    if (!field || !input) return;
    const wasHidden = field.hidden;
    field.hidden = !shown;
    // Disabled while hidden, so a dialog without two-factor sends no code.
    input.disabled = !shown;
    if (shown && wasHidden) input.focus();
  }

  function reloginRefusal(status) {
    if (status === 429) return gettext("Too many failed log-in attempts; wait a few minutes, then try again.");
    if (status === 401) return gettext("Wrong username or password.");
    return interpolate(gettext("Could not log in (error %(status)s); try again."), { status: status }, true);
  }

  function scheduleExpiryWarning(expires) {
    if (!expires) return;
    clearTimeout(expiryTimer);
    const warnAt = new Date(expires).getTime() - 5 * 60 * 1000 - Date.now();
    expiryTimer = setTimeout(function () {
      setStatus(gettext("Your session ends in 5 minutes unless you save something."), "error");
    }, Math.max(warnAt, 0));
  }

  form.addEventListener("change", function (event) {
    const el = event.target.closest("[data-item]");
    if (!el) return;
    if (event.target.matches('input[name^="choice-"], input[data-none]')) {
      if (event.target.matches("input[data-none]") && event.target.checked) {
        el.querySelectorAll('input[name^="choice-"]').forEach(function (i) { i.checked = false; });
      } else if (event.target.checked && el.dataset.multi === "1") {
        const none = el.querySelector("input[data-none]");
        if (none) none.checked = false;
      }
    } else if (timers[el.dataset.item] === undefined) {
      // Leaving a text field whose text the "input" handler already queued:
      // sending it again would only bump the revision, and could make another
      // tab's next save look stale.
      return;
    }
    enqueue(el.dataset.item);
  });

  form.addEventListener("input", function (event) {
    const el = event.target.closest("[data-item]");
    if (!el || !event.target.matches("textarea, input[type=text], input:not([type])")) return;
    const code = el.dataset.item;
    remember(code);
    itemState(code, gettext("Typing…"));
    clearTimeout(timers[code]);
    timers[code] = setTimeout(function () { delete timers[code]; enqueue(code); }, 600);
  });

  window.addEventListener("beforeunload", function (event) {
    if (queue.length || inFlight || Object.keys(loadPending()).length) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  function settled() {
    return !queue.length && !inFlight && !Object.keys(timers).length;
  }

  // Runs `then` once every change has reached the server (text still in its
  // typing pause is sent at once).
  function whenSaved(then, busyText) {
    Object.keys(timers).forEach(function (code) { enqueue(code); });
    if (settled()) { then(); return; }
    setStatus(busyText, "busy");
    const wait = setInterval(function () {
      if (settled()) { clearInterval(wait); then(); }
    }, 200);
  }

  const submitForm = document.getElementById("submit-form");
  const confirmDialog = document.getElementById("submit-confirm");
  if (submitForm && confirmDialog) {
    submitForm.addEventListener("submit", function (event) {
      event.preventDefault();
      whenSaved(function () {
        const score = document.getElementById("score");
        if (score && score.dataset.complete === "1") {
          document.getElementById("submit-confirm-score").textContent = score.dataset.summary;
          confirmDialog.showModal();
        } else {
          // Incomplete: the server's answer lists what is missing, with links.
          submitForm.submit();
        }
      }, gettext("Saving your last changes before submitting…"));
    });
    document.getElementById("submit-confirm-yes").addEventListener("click", function () {
      confirmDialog.close();
      setStatus(gettext("Submitting…"), "busy");
      submitForm.submit();
    });
    document.getElementById("submit-confirm-no").addEventListener("click", function () {
      confirmDialog.close();
    });
  }

  const saveNext = document.getElementById("save-next");
  if (saveNext) {
    saveNext.addEventListener("click", function (event) {
      event.preventDefault();
      whenSaved(function () { window.location.assign(saveNext.href); }, gettext("Saving your last changes…"));
    });
  }

  let lastItem = null;
  const nextUnanswered = document.getElementById("next-unanswered");
  if (nextUnanswered) {
    nextUnanswered.addEventListener("click", function () {
      const items = Array.from(form.querySelectorAll("[data-item]")).filter(function (el) {
        return !el.hidden && el.dataset.missing === "1";
      });
      if (!items.length) {
        setStatus(gettext("Every item is answered."), "ok");
        return;
      }
      // The next one after the item the keyboard was last in, wrapping round.
      const current = lastItem && form.contains(lastItem) ? lastItem : null;
      const after = current ? items.find(function (el) {
        return current.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING;
      }) : null;
      goToItem((after || items[0]).dataset.item);
    });
  }
  form.addEventListener("focusin", function (event) {
    lastItem = event.target.closest("[data-item]") || lastItem;
  });

  beforeReload = function (then) { whenSaved(then, gettext("Saving your last changes…")); };

  // A passage selected in the paper (static/js/paper.js) becomes a quote of
  // the item, saved like any other change to it.
  function randomId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;  // a version-4 uuid, as the server makes
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  document.addEventListener("paper:quote", function (event) {
    const detail = event.detail;
    const el = itemEl(detail.item);
    const list = el && quoteList(el);
    if (!list) { detail.error = interpolate(gettext("Item %(code)s takes no quotes."), { code: detail.item }, true); return; }
    if (el.hidden) {
      detail.error = interpolate(gettext("Item %(code)s does not apply to this study."), { code: detail.item }, true);
      return;
    }
    const quote = Object.assign(clientQuote(detail.quote), { id: randomId() });
    list.append(quoteElement(quote, true));
    showQuoteBox(el);
    detail.accepted = true;
    enqueue(detail.item);
  });

  form.addEventListener("click", function (event) {
    const remove = event.target.closest("button[data-quote-remove]");
    if (!remove) return;
    const li = remove.closest("li.quote");
    const el = li.closest("[data-item]");
    // The keyboard goes to the next quote, or the one before, or the card.
    const next = li.nextElementSibling || li.previousElementSibling;
    li.remove();
    showQuoteBox(el);
    const target = next ? next.querySelector("button") : el.querySelector(".evidence-toggle, input");
    if (target) target.focus();
    enqueue(el.dataset.item);
  });

  // Changes typed before a reload or a crash that never reached the server.
  const leftover = loadPending();
  Object.keys(leftover).forEach(function (code) {
    const el = itemEl(code);
    if (!el) return;
    if (JSON.stringify(readItem(el)) === JSON.stringify(leftover[code].state)) {
      forget(code, leftover[code].state);  // it did reach the server
      return;
    }
    writeItem(el, leftover[code].state);
    // Sent with the revision it was typed against: if the answer changed on
    // the server since, the save is refused and the newer answer shown.
    el.dataset.revision = leftover[code].seen;
    enqueue(code);
  });
  scheduleExpiryWarning(form.dataset.sessionExpires);
})();
