// "Preview as a reviewer": every tick re-scores the scratch answers on the
// server (the same engine reviewers get) and shows the new score panel and
// which items apply. The form itself is never replaced, so focus and typed
// text stay where they are; nothing is saved.
"use strict";

(function () {
  const form = document.getElementById("preview");
  if (!form) return;
  const status = document.getElementById("preview-status");
  const button = document.getElementById("preview-update");
  if (button) button.hidden = true;
  let pending = null;

  function csrfToken() {
    const field = form.querySelector('input[name="csrfmiddlewaretoken"]');
    return field ? field.value : "";
  }

  function copyState(fresh) {
    const score = document.getElementById("score");
    const newScore = fresh.getElementById("score");
    if (score && newScore) score.replaceWith(newScore);
    fresh.querySelectorAll("[data-item]").forEach(function (newItem) {
      const item = form.querySelector('[data-item="' + CSS.escape(newItem.dataset.item) + '"]');
      if (!item) return;
      item.hidden = newItem.hidden;
      item.className = newItem.className;
      ["points", "state", "problem"].forEach(function (role) {
        const here = item.querySelector('[data-role="' + role + '"]');
        const there = newItem.querySelector('[data-role="' + role + '"]');
        if (here && there) here.innerHTML = there.innerHTML;
      });
    });
  }

  function rescore() {
    if (pending) pending.abort();
    pending = new AbortController();
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { "X-CSRFToken": csrfToken(), "X-Preview": "1" },
      credentials: "same-origin",
      signal: pending.signal,
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        copyState(new DOMParser().parseFromString(html, "text/html"));
        if (status) status.textContent = gettext("Scratch score updated: nothing is saved.");
      })
      .catch(function (error) {
        if (error.name === "AbortError") return;
        if (status) status.textContent = interpolate(gettext("The score could not be updated (%(reason)s)."), { reason: error.message }, true);
      });
  }

  form.addEventListener("change", function (event) {
    const target = event.target;
    if (!(target instanceof HTMLInputElement)) return;
    if (target.type !== "radio" && target.type !== "checkbox") return;
    // "None of these" and the boxes of a multiple-choice item exclude each other.
    const item = target.closest("[data-item]");
    if (item && target.type === "checkbox" && target.checked) {
      const isNone = target.hasAttribute("data-none");
      item.querySelectorAll('input[type="checkbox"]').forEach(function (box) {
        if (box !== target && box.hasAttribute("data-none") !== isNone) box.checked = false;
      });
    }
    rescore();
  });
})();
