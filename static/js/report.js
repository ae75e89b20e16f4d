// Poll the report's progress while the worker renders it; reload when it ends.
"use strict";
(function () {
  const box = document.getElementById("report");
  if (!box || ["done", "failed"].indexOf(box.dataset.status) !== -1) return;
  const bar = document.getElementById("report-progress");
  const poll = async function () {
    try {
      const response = await fetch(box.dataset.statusUrl, { headers: { "X-Requested-With": "fetch" } });
      const data = await response.json();
      if (bar) bar.value = data.progress;
      if (data.status === "done" || data.status === "failed") { window.location.reload(); return; }
    } catch (e) { /* keep polling */ }
    setTimeout(poll, 1500);
  };
  setTimeout(poll, 1000);
})();
