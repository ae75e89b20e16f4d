// While the stored dashboard is older than the data, poll until a newer
// computation lands, then reload so fresh figures are shown.
"use strict";
(function () {
  const box = document.getElementById("freshness");
  if (!box || box.dataset.current === "1") return;
  const poll = async function () {
    try {
      const response = await fetch(box.dataset.statusUrl, { headers: { "X-Requested-With": "fetch" } });
      if (response.ok && (await response.json()).current) { window.location.reload(); return; }
    } catch (e) { /* try again later */ }
    setTimeout(poll, 4000);
  };
  setTimeout(poll, 3000);
})();
