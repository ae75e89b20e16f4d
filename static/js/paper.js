// The study's paper beside the form: PDF.js pages drawn as they scroll into
// view, each with a text layer to select from; search, zoom, page controls;
// "Show in paper" for quotes and passages; a selection becomes a quote.
//
// The library and its worker are this site's own static files, named by the
// data- attributes that {% static %} renders, so the strict CSP holds: no eval,
// no inline script or style (sizes are set through the CSSOM, which CSP allows).
//
// Contract with the page (templates/includes/_paper_viewer.html):
// - any button[data-paper-show] with data-page and data-exact (data-prefix,
//   data-suffix optional) scrolls to that text and highlights it;
// - with data-quoting="1", "Use as evidence" dispatches "paper:quote" on
//   document, detail {item, quote: {paper, page, exact, prefix, suffix}}; the
//   form (static/js/assessment.js) sets detail.accepted and saves it through
//   its autosave queue, the only way anything is saved;
// - [data-paper-layout] (optional) holds the paper and form panes, the
//   resizer and the "Paper | Form" switch for narrow screens.

// --- Matching text: quotes and passages against the text layer --------------

// The server's stored text (PDFium) and PDF.js's text layer break lines and
// place spaces differently, so text is compared without whitespace, accents,
// case, soft hyphens or end-of-line hyphens, and with one form of quotes and
// dashes: what assessments/papers/quotes.py normalises, made more lenient
// about spaces because two extractors disagree on them.
const SINGLE_QUOTES = /[\u2018\u2019\u201A\u201B\u2032`]/;
const DOUBLE_QUOTES = /[\u201C\u201D\u201E\u201F\u2033]/;
const DASHES = /[\u2010-\u2015\u2212\uFE58\uFE63\uFF0D]/;
const SPACE = /\s/;
const MARKS = /\p{M}/gu;

function matchKey(text, loose) {
  let key = "";
  const map = [];
  for (let i = 0; i < text.length; i++) {
    const code = text.codePointAt(i);
    let ch = String.fromCodePoint(code);
    const at = i;
    if (code > 0xffff) i++;
    if (ch === "\u00AD" || SPACE.test(ch)) continue;
    if (ch === "-" || DASHES.test(ch)) {
      if (loose) continue;
      let j = i + 1;
      let lineEnd = false;
      while (j < text.length && SPACE.test(text[j])) {
        if (text[j] === "\n" || text[j] === "\r") lineEnd = true;
        j++;
      }
      if (lineEnd) continue;  // "radio-\nmics" is "radiomics"
      ch = "-";
    } else if (SINGLE_QUOTES.test(ch)) {
      ch = "'";
    } else if (DOUBLE_QUOTES.test(ch)) {
      ch = '"';
    }
    const folded = ch.normalize("NFKD").toLowerCase().replace(MARKS, "");
    for (const c of folded) {
      if (SPACE.test(c) || (loose && (c === "-" || DASHES.test(c)))) continue;
      key += c;
      map.push(at);
    }
  }
  return { key: key, map: map };
}

function indexesOf(haystack, needle) {
  const found = [];
  if (!needle) return found;
  let at = haystack.indexOf(needle);
  while (at !== -1) {
    found.push(at);
    at = haystack.indexOf(needle, at + 1);
  }
  return found;
}

function commonTail(a, b) {
  let n = 0;
  while (n < a.length && n < b.length && a[a.length - 1 - n] === b[b.length - 1 - n]) n++;
  return n;
}

function commonHead(a, b) {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

// Where `exact` is in a page's text: {start, end} offsets into that text, the
// match nearest its prefix and suffix when there are several; null if absent.
function locate(page, exact, prefix, suffix) {
  for (const loose of [false, true]) {
    const hay = loose ? page.loose() : page.strict();
    const needle = matchKey(exact, loose).key;
    if (!needle) return null;
    const hits = indexesOf(hay.key, needle);
    if (hits.length) {
      const before = matchKey(prefix || "", loose).key;
      const after = matchKey(suffix || "", loose).key;
      let best = hits[0];
      let bestScore = -1;
      hits.forEach(function (h) {
        const score = commonTail(hay.key.slice(Math.max(0, h - before.length), h), before) +
          commonHead(hay.key.slice(h + needle.length, h + needle.length + after.length), after);
        if (score > bestScore) { best = h; bestScore = score; }
      });
      return { start: hay.map[best], end: hay.map[best + needle.length - 1] + 1, exact: true };
    }
    // A long passage whose middle the two extractors read differently: its
    // first and last words still say where it is.
    if (needle.length > 80) {
      const head = indexesOf(hay.key, needle.slice(0, 40));
      if (head.length) {
        const h = head[0];
        const tail = hay.key.indexOf(needle.slice(-40), h);
        const end = tail !== -1 && tail - h < needle.length * 1.5 ? tail + 39 : h + 39;
        return { start: hay.map[h], end: hay.map[end] + 1, exact: false };
      }
    }
  }
  return null;
}

// --- The viewer -----------------------------------------------------------------

// Keys pressed here are text (or a choice in a list), not shortcuts.
function typing(target) {
  if (!target.closest) return false;
  if (target.closest("textarea, select, [contenteditable]")) return true;
  return target.matches("input") && !["radio", "checkbox", "button", "submit", "reset"].includes(target.type);
}

const ZOOM_STEPS = [0.25, 0.33, 0.5, 0.67, 0.75, 0.8, 0.9, 1, 1.1, 1.25, 1.5, 1.75, 2, 2.5, 3, 4];
// Pages kept drawn at once; the others are drawn again when they come back
// into view (a long paper would otherwise hold hundreds of canvases).
const MAX_DRAWN = 12;
const AFFIX = 32;

function start(root) {
  const pagesEl = root.querySelector('[data-role="pages"]');
  const statusEl = root.querySelector('[data-role="status"]');
  const pageInput = root.querySelector("#paper-page-number");
  const pageCountEl = root.querySelector('[data-role="page-count"]');
  const zoomEl = root.querySelector('[data-role="zoom"]');
  const fitButton = root.querySelector('[data-action="fit-width"]');
  const searchForm = root.querySelector('[data-role="search"]');
  const searchInput = root.querySelector("#paper-search");
  const findCount = root.querySelector('[data-role="find-count"]');
  const toolbar = root.querySelector("#quote-toolbar");
  const layout = root.closest("[data-paper-layout]");

  let pdfjs = null;
  let doc = null;
  let pages = [];
  let scale = 1;
  let fitWidth = true;
  let generation = 0;
  let current = 1;
  let active = null;  // {page, start, end, kind}: the highlight shown
  let search = { query: "", hits: [], index: -1 };
  let observer = null;
  let readyResolve;
  const ready = new Promise(function (resolve) { readyResolve = resolve; });

  function say(text) { statusEl.textContent = text; }

  // --- Page text, from PDF.js's text content (the text layer's own source) ---

  function pageText(pv) {
    if (!pv.text) {
      pv.text = doc.getPage(pv.num).then(function (page) {
        return page.getTextContent();
      }).then(function (content) {
        pv.content = content;
        const string = content.items.map(function (item) {
          return item.str === undefined ? "" : item.str + (item.hasEOL ? "\n" : "");
        }).join("");
        let strict = null;
        let loose = null;
        return {
          string: string,
          strict: function () { return strict || (strict = matchKey(string, false)); },
          loose: function () { return loose || (loose = matchKey(string, true)); },
        };
      });
    }
    return pv.text;
  }

  // The text layer's text nodes with their offsets; a <br> is one "\n", as
  // in pageText, so offsets into one are offsets into the other.
  function segments(layer) {
    const walker = document.createTreeWalker(layer, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
    const segs = [];
    let pos = 0;
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (node.nodeType === Node.TEXT_NODE) {
        segs.push({ node: node, start: pos });
        pos += node.data.length;
      } else if (node.nodeName === "BR") {
        pos += 1;
      }
    }
    return { segs: segs, length: pos };
  }

  function rangeFor(layer, from, to) {
    const { segs } = segments(layer);
    const range = document.createRange();
    let started = false;
    for (const seg of segs) {
      const end = seg.start + seg.node.data.length;
      if (!started && from < end) {
        range.setStart(seg.node, Math.max(0, from - seg.start));
        started = true;
      }
      if (started && to <= end) {
        range.setEnd(seg.node, Math.max(0, to - seg.start));
        return range;
      }
    }
    if (!started) return null;
    const last = segs[segs.length - 1];
    range.setEnd(last.node, last.node.data.length);
    return range;
  }

  function boundaryOffset(layer, container, offset) {
    const { segs, length } = segments(layer);
    if (container.nodeType === Node.TEXT_NODE) {
      const seg = segs.find(function (s) { return s.node === container; });
      if (seg) return seg.start + offset;
    }
    const probe = document.createRange();
    probe.setStart(container, offset);
    for (const seg of segs) {
      if (probe.comparePoint(seg.node, 0) >= 0) return seg.start;
    }
    return length;
  }

  // --- Drawing pages ---------------------------------------------------------

  function makePage(num, width, height) {
    const div = document.createElement("div");
    div.className = "pdf-page";
    div.dataset.page = String(num);
    div.setAttribute("role", "group");
    div.setAttribute("aria-label", interpolate(gettext("Page %(page)s"), { page: num }, true));
    const highlights = document.createElement("div");
    highlights.className = "paper-highlights";
    const layer = document.createElement("div");
    layer.className = "textLayer";
    const label = document.createElement("span");
    label.className = "pdf-page-label";
    label.setAttribute("aria-hidden", "true");
    label.textContent = String(num);
    div.append(highlights, layer, label);
    const pv = { num: num, div: div, layer: layer, highlights: highlights, canvas: null,
      width: width, height: height, drawn: false, drawing: null, task: null, textLayer: null, text: null };
    size(pv);
    return pv;
  }

  function size(pv) {
    pv.div.style.width = Math.floor(pv.width * scale) + "px";
    pv.div.style.height = Math.floor(pv.height * scale) + "px";
  }

  function draw(pv) {
    if (pv.drawn) return Promise.resolve();
    if (pv.drawing) return pv.drawing;
    const gen = generation;
    const drawing = (async function () {
      const page = await doc.getPage(pv.num);
      const viewport = page.getViewport({ scale: scale });
      const ratio = window.devicePixelRatio || 1;
      const canvas = document.createElement("canvas");
      canvas.setAttribute("role", "presentation");
      canvas.width = Math.floor(viewport.width * ratio);
      canvas.height = Math.floor(viewport.height * ratio);
      pv.task = page.render({
        canvasContext: canvas.getContext("2d"),
        canvas: canvas,
        viewport: viewport,
        transform: ratio !== 1 ? [ratio, 0, 0, ratio, 0, 0] : null,
      });
      await pv.task.promise;
      if (gen !== generation) return;
      if (pv.canvas) pv.canvas.remove();
      pv.canvas = canvas;
      pv.div.prepend(canvas);
      const text = await pageText(pv);
      if (gen !== generation) return;
      const layer = document.createElement("div");
      layer.className = "textLayer";
      pv.textLayer = new pdfjs.TextLayer({ textContentSource: pv.content, container: layer, viewport: viewport });
      await pv.textLayer.render();
      if (gen !== generation) return;
      const end = document.createElement("div");
      end.className = "endOfContent";
      layer.append(end);
      pv.layer.replaceWith(layer);
      pv.layer = layer;
      pv.drawn = true;
      pv.string = text.string;
      if (active && active.page === pv.num) highlight(pv, active.start, active.end, active.kind);
      if (pv.num === 1 && !root.dataset.firstPage) {
        // Since navigation began: what `make bench` reports (bench/viewer.py).
        root.dataset.firstPageMs = String(Math.round(performance.now()));
        root.dataset.firstPage = "ready";
        root.dispatchEvent(new CustomEvent("paper:first-page"));
      }
      forgetFarPages();
    })().catch(function (error) {
      if (error && error.name === "RenderingCancelledException") return;
      say(interpolate(gettext("Page %(page)s could not be shown: %(reason)s"),
        { page: pv.num, reason: error && error.message ? error.message : error }, true));
    }).finally(function () {
      // A zoom may have started another drawing of this page meanwhile.
      if (pv.drawing === drawing) {
        pv.drawing = null;
        pv.task = null;
      }
    });
    pv.drawing = drawing;
    return drawing;
  }

  function forget(pv) {
    if (pv.task) pv.task.cancel();
    if (pv.canvas) { pv.canvas.remove(); pv.canvas = null; }
    const layer = document.createElement("div");
    layer.className = "textLayer";
    pv.layer.replaceWith(layer);
    pv.layer = layer;
    pv.highlights.replaceChildren();
    pv.drawn = false;
  }

  function forgetFarPages() {
    const drawn = pages.filter(function (pv) { return pv.drawn; });
    if (drawn.length <= MAX_DRAWN) return;
    drawn.sort(function (a, b) { return Math.abs(b.num - current) - Math.abs(a.num - current); });
    drawn.slice(0, drawn.length - MAX_DRAWN).forEach(function (pv) {
      if (Math.abs(pv.num - current) > 3) forget(pv);
    });
  }

  function watch() {
    if (observer) observer.disconnect();
    observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) draw(pages[Number(entry.target.dataset.page) - 1]);
      });
    }, { root: pagesEl, rootMargin: "300px 0px" });
    pages.forEach(function (pv) { observer.observe(pv.div); });
  }

  function fitScale() {
    const width = pagesEl.clientWidth - 16;
    if (width <= 0 || !pages.length) return null;
    return Math.min(4, Math.max(0.25, width / pages[0].width));
  }

  function setScale(value) {
    if (!value || Math.abs(value - scale) < 0.005) return;
    const pv = pages[current - 1];
    const within = pv ? (pagesEl.scrollTop - pv.div.offsetTop) / pv.div.offsetHeight : 0;
    generation++;
    scale = value;
    pagesEl.style.setProperty("--scale-factor", String(scale));
    pages.forEach(function (p) {
      if (p.task) p.task.cancel();
      // Pages near the one being read keep their old drawing, stretched,
      // until the new one is ready; the others are drawn again when seen.
      if (Math.abs(p.num - current) > 2) forget(p);
      p.drawing = null;
      p.drawn = false;
      size(p);
    });
    if (pv) pagesEl.scrollTop = pv.div.offsetTop + within * pv.div.offsetHeight;
    zoomEl.textContent = Math.round(scale * 100) + "%";
    watch();
  }

  function refit() {
    if (fitWidth) setScale(fitScale());
  }

  function zoom(direction) {
    fitWidth = false;
    fitButton.setAttribute("aria-pressed", "false");
    const next = direction > 0
      ? ZOOM_STEPS.find(function (s) { return s > scale + 0.01; })
      : ZOOM_STEPS.slice().reverse().find(function (s) { return s < scale - 0.01; });
    if (next) setScale(next);
    say(interpolate(gettext("Zoom %(zoom)s%"), { zoom: Math.round(scale * 100) }, true));
  }

  // --- Pages and their numbers ----------------------------------------------

  function trackPage() {
    const line = pagesEl.scrollTop + pagesEl.clientHeight * 0.3;
    let seen = 1;
    for (const pv of pages) {
      if (pv.div.offsetTop <= line) seen = pv.num; else break;
    }
    if (seen !== current) {
      current = seen;
      if (document.activeElement !== pageInput) pageInput.value = String(current);
    }
  }

  function goToPage(num) {
    const pv = pages[Math.min(Math.max(num, 1), pages.length) - 1];
    if (!pv) return;
    pagesEl.scrollTop = pv.div.offsetTop - 8;
    current = pv.num;
    pageInput.value = String(pv.num);
  }

  // --- Highlights ------------------------------------------------------------

  function clearHighlights() {
    pages.forEach(function (pv) { pv.highlights.replaceChildren(); });
  }

  // Boxes over the text, one per line: the range's rectangles, merged.
  function highlight(pv, from, to, kind) {
    pv.highlights.replaceChildren();
    const range = rangeFor(pv.layer, from, to);
    if (!range) return null;
    const origin = pv.div.getBoundingClientRect();
    const boxes = [];
    Array.from(range.getClientRects()).forEach(function (r) {
      if (r.width < 0.5 || r.height < 0.5) return;
      const last = boxes[boxes.length - 1];
      if (last && Math.abs(last.top - r.top) < r.height / 2 && r.left <= last.right + 4) {
        last.right = Math.max(last.right, r.right);
        last.bottom = Math.max(last.bottom, r.bottom);
      } else {
        boxes.push({ left: r.left, top: r.top, right: r.right, bottom: r.bottom });
      }
    });
    let first = null;
    boxes.forEach(function (b) {
      const mark = document.createElement("div");
      mark.className = "paper-highlight" + (kind === "search" ? " is-search" : "");
      mark.style.left = (b.left - origin.left) + "px";
      mark.style.top = (b.top - origin.top) + "px";
      mark.style.width = (b.right - b.left) + "px";
      mark.style.height = (b.bottom - b.top) + "px";
      pv.highlights.append(mark);
      first = first || mark;
    });
    return first;
  }

  async function showRange(num, from, to, kind) {
    const pv = pages[num - 1];
    active = { page: num, start: from, end: to, kind: kind };
    clearHighlights();
    goToPage(num);
    await draw(pv);
    const mark = highlight(pv, from, to, kind);
    if (mark) {
      const top = pv.div.offsetTop + mark.offsetTop;
      pagesEl.scrollTop = Math.max(0, top - pagesEl.clientHeight / 3);
      trackPage();
    }
    return mark;
  }

  async function showText(data) {
    await ready;
    if (!doc) return;
    refit();
    const num = Number(data.page);
    if (!(num >= 1 && num <= pages.length)) {
      say(interpolate(ngettext("Page %(page)s is not in this paper, which has %(count)s page.",
        "Page %(page)s is not in this paper, which has %(count)s pages.", pages.length),
      { page: data.page, count: pages.length }, true));
      return;
    }
    const text = await pageText(pages[num - 1]);
    const where = locate(text, data.exact || "", data.prefix, data.suffix);
    const passage = data.kind === "passage";
    if (!where) {
      active = null;
      clearHighlights();
      goToPage(num);
      say(interpolate(passage
        ? gettext("The passage's text was not found on page %(page)s; showing the page.")
        : gettext("The quote's text was not found on page %(page)s; showing the page."), { page: num }, true));
      return;
    }
    await showRange(num, where.start, where.end, "quote");
    let shown;
    if (passage) {
      shown = where.exact ? gettext("Page %(page)s: the passage is highlighted.")
        : gettext("Page %(page)s: the passage is highlighted (where it starts and ends).");
    } else {
      shown = where.exact ? gettext("Page %(page)s: the quote is highlighted.")
        : gettext("Page %(page)s: the quote is highlighted (where it starts and ends).");
    }
    say(interpolate(shown, { page: num }, true));
  }

  // --- Search ------------------------------------------------------------------

  async function find(direction) {
    await ready;
    if (!doc) return;
    const query = searchInput.value;
    const needle = matchKey(query, false).key;
    if (!needle) {
      search = { query: "", hits: [], index: -1 };
      findCount.textContent = "";
      active = null;
      clearHighlights();
      return;
    }
    if (query !== search.query) {
      findCount.textContent = gettext("Searching…");
      const hits = [];
      for (const pv of pages) {
        const text = await pageText(pv);
        const hay = text.strict();
        indexesOf(hay.key, needle).forEach(function (h) {
          hits.push({ page: pv.num, start: hay.map[h], end: hay.map[h + needle.length - 1] + 1 });
        });
      }
      // The first match from the page being read on.
      const from = hits.findIndex(function (hit) { return hit.page >= current; });
      search = { query: query, hits: hits, index: (from === -1 ? 0 : from) - (direction > 0 ? 1 : 0) };
    }
    const hits = search.hits;
    if (!hits.length) {
      findCount.textContent = gettext("No matches");
      active = null;
      clearHighlights();
      return;
    }
    search.index = (search.index + direction + hits.length) % hits.length;
    const hit = hits[search.index];
    findCount.textContent = interpolate(gettext("%(index)s of %(count)s"), { index: search.index + 1, count: hits.length }, true);
    await showRange(hit.page, hit.start, hit.end, "search");
  }

  // --- Selection to quote -------------------------------------------------------

  let pending = null;  // {page, exact, prefix, suffix, range}
  let lastItem = null;

  function layerOf(node) {
    const el = node && (node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement);
    return el ? el.closest(".textLayer") : null;
  }

  // The selection as a quote, {error} when it cannot be one, null when none.
  function selectionQuote() {
    const selection = window.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) return null;
    const range = selection.getRangeAt(0);
    if (!pagesEl.contains(range.commonAncestorContainer) && !range.intersectsNode(pagesEl)) return null;
    const startLayer = layerOf(range.startContainer);
    const endLayer = layerOf(range.endContainer);
    if (startLayer && endLayer && startLayer !== endLayer) {
      return { error: gettext("A quote comes from one page: select text within a single page.") };
    }
    const layer = startLayer || endLayer;
    if (!layer || !pagesEl.contains(layer)) return null;
    const pv = pages.find(function (p) { return p.layer === layer; });
    if (!pv || !pv.drawn) return null;
    const length = segments(layer).length;
    let from = startLayer ? boundaryOffset(layer, range.startContainer, range.startOffset) : 0;
    let to = endLayer ? boundaryOffset(layer, range.endContainer, range.endOffset) : length;
    const string = pv.string;
    while (from < to && SPACE.test(string[from])) from++;
    while (to > from && SPACE.test(string[to - 1])) to--;
    if (to <= from) return null;
    return {
      page: pv.num,
      exact: string.slice(from, to),
      prefix: string.slice(Math.max(0, from - AFFIX), from),
      suffix: string.slice(to, to + AFFIX),
      range: range.cloneRange(),
    };
  }

  function placeToolbar() {
    if (!pending || !pending.range) return;
    const rects = pending.range.getClientRects();
    const last = rects.length ? rects[rects.length - 1] : pending.range.getBoundingClientRect();
    const box = root.getBoundingClientRect();
    const pane = pagesEl.getBoundingClientRect();
    const top = Math.min(Math.max(last.bottom, pane.top), pane.bottom - 10) - box.top + 6;
    const width = toolbar.offsetWidth || 320;
    const left = Math.min(Math.max(last.left - box.left, 0), Math.max(0, box.width - width));
    toolbar.style.top = top + "px";
    toolbar.style.left = left + "px";
  }

  function showToolbar(quote) {
    pending = quote;
    const select = toolbar.querySelector("select");
    if (lastItem && select.querySelector('option[value="' + CSS.escape(lastItem) + '"]')) select.value = lastItem;
    const words = quote.exact.replace(/\s+/g, " ");
    toolbar.querySelector('[data-role="quote-preview"]').textContent =
      interpolate(gettext("“%(text)s” p. %(page)s. Press Q to come here."),
        { text: words.length > 90 ? words.slice(0, 89) + "…" : words, page: quote.page }, true);
    toolbar.hidden = false;
    placeToolbar();
  }

  function hideToolbar(refocus) {
    if (!toolbar || toolbar.hidden) return;
    const hadFocus = toolbar.contains(document.activeElement);
    toolbar.hidden = true;
    pending = null;
    if (hadFocus || refocus) pagesEl.focus({ preventScroll: true });
  }

  function useAsEvidence() {
    if (!pending) return;
    const select = toolbar.querySelector("select");
    const option = select.selectedOptions[0];
    const detail = {
      item: select.value,
      quote: { paper: root.dataset.paper, page: pending.page, exact: pending.exact,
        prefix: pending.prefix, suffix: pending.suffix },
      accepted: false,
    };
    document.dispatchEvent(new CustomEvent("paper:quote", { detail: detail }));
    if (detail.accepted) {
      say(interpolate(gettext("Quote added to item %(item)s; it is saved with the item's answer."),
        { item: option ? option.textContent : select.value }, true));
      const selection = window.getSelection();
      if (selection) selection.removeAllRanges();
      hideToolbar(true);
    } else {
      say(detail.error || gettext("This quote could not be added to the form."));
    }
  }

  if (toolbar) {
    let timer = null;
    document.addEventListener("selectionchange", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        const quote = selectionQuote();
        if (quote && quote.error) { say(quote.error); return; }
        if (quote) showToolbar(quote);
      }, 150);
    });
    toolbar.addEventListener("click", function (event) {
      const button = event.target.closest("button[data-action]");
      if (!button) return;
      if (button.dataset.action === "quote-add") useAsEvidence();
      else if (button.dataset.action === "quote-cancel") hideToolbar(true);
    });
    toolbar.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { event.preventDefault(); hideToolbar(true); }
    });
    document.addEventListener("pointerdown", function (event) {
      if (!toolbar.hidden && !toolbar.contains(event.target)) hideToolbar(false);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "q" && event.key !== "Q") return;
      if (event.ctrlKey || event.metaKey || event.altKey || toolbar.hidden) return;
      if (typing(event.target)) return;
      event.preventDefault();
      toolbar.querySelector("select").focus();
    });
    document.addEventListener("focusin", function (event) {
      const item = event.target.closest && event.target.closest("#assessment [data-item]");
      if (item) lastItem = item.dataset.item;
    });
  }

  // --- Controls -------------------------------------------------------------------

  root.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-action]");
    if (!button || (toolbar && toolbar.contains(button))) return;
    const action = button.dataset.action;
    if (action === "prev-page") goToPage(current - 1);
    else if (action === "next-page") goToPage(current + 1);
    else if (action === "zoom-in") zoom(1);
    else if (action === "zoom-out") zoom(-1);
    else if (action === "fit-width") {
      fitWidth = true;
      button.setAttribute("aria-pressed", "true");
      refit();
      say(interpolate(gettext("Zoom %(zoom)s%: the page fits the width"), { zoom: Math.round(scale * 100) }, true));
    } else if (action === "find-prev") find(-1);
    else if (action === "help") {
      const help = document.getElementById(button.getAttribute("aria-controls"));
      const open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", open ? "true" : "false");
      help.hidden = !open;
    }
  });

  searchForm.addEventListener("submit", function (event) {
    event.preventDefault();
    find(1);
  });
  searchInput.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.shiftKey) {
      event.preventDefault();
      find(-1);
    }
  });

  pageInput.addEventListener("change", function () { goToPage(Number(pageInput.value) || 1); });
  pageInput.addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); goToPage(Number(pageInput.value) || 1); }
  });

  root.addEventListener("keydown", function (event) {
    if (event.key !== "PageDown" && event.key !== "PageUp") return;
    if (typing(event.target)) return;
    event.preventDefault();
    goToPage(current + (event.key === "PageDown" ? 1 : -1));
  });

  let scrollFrame = 0;
  pagesEl.addEventListener("scroll", function () {
    if (scrollFrame) return;
    scrollFrame = requestAnimationFrame(function () {
      scrollFrame = 0;
      trackPage();
      if (pending && toolbar && !toolbar.hidden) placeToolbar();
    });
  });

  let resizeTimer = null;
  let lastWidth = 0;
  new ResizeObserver(function () {
    const width = pagesEl.clientWidth;
    if (Math.abs(width - lastWidth) < 2) return;
    lastWidth = width;
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(refit, 120);
  }).observe(pagesEl);

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-paper-show]");
    if (!button) return;
    event.preventDefault();
    const narrow = layout && window.matchMedia("(max-width: 991.98px)").matches;
    if (narrow && layout.dataset.view !== "paper") {
      showPane("paper");
      pagesEl.focus({ preventScroll: true });
    }
    showText(button.dataset);
  });

  if (layout) setUpLayout(layout, refit);

  function showPane(view) {
    layout.dataset.view = view;
    layout.querySelectorAll("[data-paper-toggle]").forEach(function (b) {
      b.setAttribute("aria-pressed", b.dataset.paperToggle === view ? "true" : "false");
    });
    if (view === "paper") requestAnimationFrame(refit);
  }
  if (layout) {
    layout.addEventListener("click", function (event) {
      const button = event.target.closest("[data-paper-toggle]");
      if (button) showPane(button.dataset.paperToggle);
    });
  }

  // --- Loading ----------------------------------------------------------------------

  (async function () {
    try {
      pdfjs = await import(root.dataset.pdfjs);
      pdfjs.GlobalWorkerOptions.workerSrc = root.dataset.worker;
      const task = pdfjs.getDocument({
        url: root.dataset.url,
        // Neither is used by 6.5's core library; both stay off should a later
        // version bring them back (the CSP would refuse eval anyway).
        isEvalSupported: false,
        enableScripting: false,
        // WebAssembly decoders would need 'wasm-unsafe-eval' in the CSP.
        useWasm: false,
        // Pages are fetched as they are shown, not all at once.
        disableAutoFetch: true,
        withCredentials: false,
      });
      doc = await task.promise;
      const first = await doc.getPage(1);
      const base = first.getViewport({ scale: 1 });
      pages = [];
      for (let num = 1; num <= doc.numPages; num++) pages.push(makePage(num, base.width, base.height));
      pagesEl.replaceChildren.apply(pagesEl, pages.map(function (pv) { return pv.div; }));
      pageCountEl.textContent = String(doc.numPages);
      pageInput.max = String(doc.numPages);
      scale = 0;
      setScale(fitScale() || 1);
      lastWidth = pagesEl.clientWidth;
      say("");
      readyResolve();
      // Pages of another size (a landscape table) get theirs once known.
      for (const pv of pages.slice(1)) {
        const page = await doc.getPage(pv.num);
        const own = page.getViewport({ scale: 1 });
        if (Math.abs(own.width - pv.width) > 0.5 || Math.abs(own.height - pv.height) > 0.5) {
          pv.width = own.width;
          pv.height = own.height;
          size(pv);
        }
      }
    } catch (error) {
      say(interpolate(gettext("The paper could not be shown: %(reason)s. The form works without it."),
        { reason: error && error.message ? error.message : error }, true));
      readyResolve();
    }
  })();
}

// --- Layout: the resizer and its remembered width ----------------------------------

const WIDTH_KEY = "rqs-paper-width";
const MIN_WIDTH = 25;
const MAX_WIDTH = 70;

function setUpLayout(layout, refit) {
  const resizer = layout.querySelector(".paper-resizer");
  if (!resizer) return;
  let width = Number(localStorage.getItem(WIDTH_KEY)) || Number(resizer.getAttribute("aria-valuenow")) || 45;

  function apply(value, store) {
    width = Math.round(Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, value)));
    layout.style.setProperty("--paper-width", width + "%");
    resizer.setAttribute("aria-valuenow", String(width));
    resizer.setAttribute("aria-valuetext", interpolate(gettext("Paper %(width)s% of the width"), { width: width }, true));
    if (store) {
      try { localStorage.setItem(WIDTH_KEY, String(width)); } catch (e) { /* private mode */ }
    }
  }
  apply(width, false);

  resizer.addEventListener("keydown", function (event) {
    const steps = { ArrowLeft: -5, ArrowDown: -5, ArrowRight: 5, ArrowUp: 5 };
    if (event.key in steps) apply(width + steps[event.key], true);
    else if (event.key === "Home") apply(MIN_WIDTH, true);
    else if (event.key === "End") apply(MAX_WIDTH, true);
    else return;
    event.preventDefault();
    refit();
  });

  resizer.addEventListener("pointerdown", function (event) {
    event.preventDefault();
    resizer.setPointerCapture(event.pointerId);
    resizer.classList.add("is-dragging");
    const box = layout.getBoundingClientRect();
    function move(e) { apply(((e.clientX - box.left) / box.width) * 100, false); }
    function up(e) {
      resizer.releasePointerCapture(e.pointerId);
      resizer.classList.remove("is-dragging");
      resizer.removeEventListener("pointermove", move);
      resizer.removeEventListener("pointerup", up);
      apply(width, true);
      refit();
    }
    resizer.addEventListener("pointermove", move);
    resizer.addEventListener("pointerup", up);
  });
}

const viewer = document.querySelector("[data-paper-viewer]");
if (viewer) start(viewer);
