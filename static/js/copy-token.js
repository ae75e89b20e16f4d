// The API tokens page: a Copy button beside the new token, shown only where
// the clipboard can be written (without it the read-only field still selects).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-copy-target]")) {
    const field = document.getElementById(button.dataset.copyTarget);
    const said = document.getElementById(`${button.dataset.copyTarget}-copied`);
    if (!field || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(field.value);
        if (said) said.textContent = gettext("Copied to the clipboard.");
      } catch {
        field.select();
        if (said) said.textContent = gettext("Copying was refused: the token is selected, copy it with Ctrl+C or Cmd+C.");
      }
    });
  }
  const field = document.getElementById("new-token");
  if (field) field.addEventListener("focus", () => field.select());
});
