// quire's progressive JavaScript, shared by every theme. The wiki works without it; this
// file only adds: the light/dark toggle, keyboard shortcuts (e: edit, /: search), search
// suggestions as you type, a live preview in the editor, files dropped or pasted into
// the editor uploaded, and drafts of the editor's text kept as you type. No inline script anywhere,
// so it runs under a strict Content-Security-Policy (script-src 'self').
(function () {
  "use strict";

  var root = document.documentElement;

  // ---------- light / dark ----------
  // The server reads the quire_mode cookie and writes data-mode on <html>, so pages
  // arrive in the chosen mode; localStorage keeps the choice should the cookie go.
  var MODE_KEY = "quire_mode";

  function systemDark() {
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  }

  function effectiveMode() {
    var mode = root.getAttribute("data-mode");
    if (mode === "light" || mode === "dark") return mode;
    return systemDark() ? "dark" : "light";
  }

  function setMode(mode, cookiePath) {
    root.setAttribute("data-mode", mode);
    try { window.localStorage.setItem(MODE_KEY, mode); } catch (e) { /* private mode */ }
    document.cookie = MODE_KEY + "=" + mode + "; path=" + (cookiePath || "/") +
      "; max-age=31536000; samesite=lax";
  }

  function initModeToggle() {
    var toggles = document.querySelectorAll("[data-mode-toggle]");
    if (!toggles.length) return;
    // A choice made on another mount or before the cookie expired: apply it.
    var stored = null;
    try { stored = window.localStorage.getItem(MODE_KEY); } catch (e) { /* ignore */ }
    var current = root.getAttribute("data-mode");
    if ((stored === "light" || stored === "dark") && current !== stored) {
      setMode(stored, toggles[0].getAttribute("data-cookie-path"));
    }
    Array.prototype.forEach.call(toggles, function (toggle) {
      var refresh = function () {
        toggle.setAttribute("aria-pressed", effectiveMode() === "dark" ? "true" : "false");
      };
      refresh();
      toggle.hidden = false;
      toggle.addEventListener("click", function () {
        setMode(effectiveMode() === "dark" ? "light" : "dark",
          toggle.getAttribute("data-cookie-path"));
        Array.prototype.forEach.call(toggles, function (t) {
          t.setAttribute("aria-pressed", effectiveMode() === "dark" ? "true" : "false");
        });
      });
      if (window.matchMedia) {
        var query = window.matchMedia("(prefers-color-scheme: dark)");
        if (query.addEventListener) query.addEventListener("change", refresh);
      }
    });
  }

  // ---------- keyboard shortcuts ----------
  // Elements declare their key with aria-keyshortcuts, which screen readers announce
  // too. A link is followed, a field focused. Keys typed into a field are text.
  function typingIn(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function initShortcuts() {
    document.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
      if (typingIn(event.target)) return;
      var targets = document.querySelectorAll("[aria-keyshortcuts]");
      for (var i = 0; i < targets.length; i++) {
        var element = targets[i];
        if (element.getAttribute("aria-keyshortcuts") !== event.key) continue;
        if (element.getClientRects().length === 0) continue; // not shown
        event.preventDefault();
        if (element.tagName.toLowerCase() === "a") {
          window.location.assign(element.href);
        } else {
          element.focus();
          if (element.select) element.select();
        }
        return;
      }
    });
  }

  // ---------- search suggestions ----------
  // The form names the JSON endpoint (data-suggest-url): {"query", "pages": [{name, url}]}.
  // Suggestions are links in a list under the box; ArrowDown moves into them, Escape
  // closes them. A status line tells screen readers how many there are.
  function initSuggestions() {
    var forms = document.querySelectorAll("form[data-suggest-url]");
    Array.prototype.forEach.call(forms, function (form, index) {
      var input = form.querySelector("input[type=search]");
      if (!input || !window.fetch) return;
      var list = document.createElement("ul");
      list.className = "suggestions";
      list.id = "suggestions-" + index;
      list.hidden = true;
      var status = document.createElement("p");
      status.className = "visually-hidden";
      status.setAttribute("role", "status");
      form.appendChild(list);
      form.appendChild(status);
      input.setAttribute("aria-controls", list.id);
      input.setAttribute("aria-autocomplete", "list");
      var timer = null;
      var asked = "";

      function close() {
        list.hidden = true;
        list.textContent = "";
      }

      function show(pages) {
        list.textContent = "";
        pages.forEach(function (page) {
          var item = document.createElement("li");
          var link = document.createElement("a");
          link.href = page.url;
          link.textContent = page.name;
          item.appendChild(link);
          list.appendChild(item);
        });
        list.hidden = pages.length === 0;
        status.textContent = pages.length === 0 ? "" :
          pages.length + (pages.length === 1 ? " page suggested" : " pages suggested") +
          "; press the down arrow to choose.";
      }

      function ask() {
        var query = input.value.trim();
        if (query === asked) return;
        asked = query;
        if (query === "") { close(); return; }
        var url = form.getAttribute("data-suggest-url");
        url += (url.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(query);
        fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
          .then(function (response) { return response.ok ? response.json() : null; })
          .then(function (answer) {
            if (answer && answer.query === asked && Array.isArray(answer.pages)) show(answer.pages);
          })
          .catch(function () { /* suggestions are a nicety; the form still searches */ });
      }

      input.addEventListener("input", function () {
        window.clearTimeout(timer);
        timer = window.setTimeout(ask, 150);
      });
      input.addEventListener("keydown", function (event) {
        if (event.key === "ArrowDown" && !list.hidden) {
          var first = list.querySelector("a");
          if (first) { event.preventDefault(); first.focus(); }
        } else if (event.key === "Escape") {
          close();
        }
      });
      list.addEventListener("keydown", function (event) {
        var links = Array.prototype.slice.call(list.querySelectorAll("a"));
        var at = links.indexOf(document.activeElement);
        if (event.key === "ArrowDown" && at < links.length - 1) {
          event.preventDefault(); links[at + 1].focus();
        } else if (event.key === "ArrowUp") {
          event.preventDefault();
          if (at > 0) links[at - 1].focus(); else input.focus();
        } else if (event.key === "Escape") {
          event.preventDefault(); close(); input.focus();
        }
      });
      form.addEventListener("focusout", function () {
        window.setTimeout(function () {
          if (!form.contains(document.activeElement)) close();
        }, 0);
      });
    });
  }

  // A <section> labelled by its own <h2>, as the templates draw one.
  function headedSection(className, headingId, title) {
    var section = document.createElement("section");
    section.className = className;
    section.setAttribute("aria-labelledby", headingId);
    var heading = document.createElement("h2");
    heading.id = headingId;
    heading.textContent = title;
    section.appendChild(heading);
    return section;
  }

  // ---------- live preview ----------
  // Posts the edit form as it is, with action=preview (what the Preview button sends, CSRF
  // token included), to its action attribute (the form's `action` property is its buttons
  // named "action"), and puts the rendered text from the answer into the preview pane.
  // The Preview button keeps working as before.
  function initLivePreview() {
    var form = document.querySelector("form.edit-form");
    var text = form && form.querySelector("textarea[name=text]");
    if (!text || !window.fetch || !window.DOMParser || !window.URLSearchParams) return;
    var timer = null;
    var generation = 0;

    function pane() {
      var section = document.querySelector("section.preview");
      if (section) return section;
      section = headedSection("preview live-preview", "preview-heading", "Preview ");
      var hint = document.createElement("span");
      hint.className = "hint";
      hint.textContent = "(not saved yet)";
      section.firstChild.appendChild(hint);
      var content = document.createElement("div");
      content.className = "content";
      section.appendChild(content);
      form.parentNode.insertBefore(section, form);
      return section;
    }

    function refresh() {
      var mine = ++generation;
      var body = new URLSearchParams(new FormData(form));
      body.set("action", "preview");
      fetch(form.getAttribute("action"), {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" }
      })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null || mine !== generation) return;
          var answer = new DOMParser().parseFromString(html, "text/html");
          var rendered = answer.querySelector("section.preview .content");
          if (!rendered) return;
          var target = pane().querySelector(".content");
          target.replaceChildren.apply(target, Array.prototype.slice.call(rendered.childNodes)
            .map(function (node) { return document.importNode(node, true); }));
        })
        .catch(function () { /* the Preview button still works */ });
    }

    text.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 600);
    });
  }

  // Files dropped on or pasted into the editor's text are uploaded to the page's files
  // (the form's data-upload-url, present once the page exists) and the Markdown that shows
  // them is put where the cursor is. The upload form on the page's Attachments list does the
  // same without JavaScript.
  function initEditorUploads() {
    var form = document.querySelector("form.edit-form[data-upload-url]");
    var text = form && form.querySelector("textarea[name=text]");
    var token = form && form.querySelector("input[name=csrf_token]");
    if (!text || !token || !window.fetch || !window.FormData) return;
    var status = document.createElement("p");
    status.className = "upload-status hint";
    status.setAttribute("role", "status");
    text.parentNode.appendChild(status);

    function insert(markdown) {
      var start = text.selectionStart, end = text.selectionEnd;
      var before = text.value.slice(0, start), after = text.value.slice(end);
      var gap = before && !/\n$/.test(before) ? "\n" : "";
      var piece = gap + markdown + "\n";
      text.value = before + piece + after;
      text.selectionStart = text.selectionEnd = start + piece.length;
      text.dispatchEvent(new Event("input"));
    }

    function upload(files) {
      Array.prototype.forEach.call(files, function (file) {
        var body = new FormData();
        // The token and fields first: the wiki reads the form as it streams in.
        body.append("csrf_token", token.value);
        body.append("file", file, file.name || "pasted.png");
        status.textContent = "Uploading " + (file.name || "the pasted image") + "\u2026";
        fetch(form.getAttribute("data-upload-url"), {
          method: "POST",
          body: body,
          credentials: "same-origin",
          headers: { "Accept": "application/json", "X-CSRF-Token": token.value }
        })
          .then(function (response) {
            if (response.ok) return response.json();
            return response.text().then(function (page) {
              var doc = new DOMParser().parseFromString(page, "text/html");
              var message = doc.querySelector(".error-page .lead");
              throw new Error(message ? message.textContent : "the upload failed (" + response.status + ")");
            });
          })
          .then(function (stored) {
            stored.forEach(function (one) { insert(one.markdown); });
            status.textContent = "Uploaded " + stored.map(function (one) { return one.name; }).join(", ") + ".";
          })
          .catch(function (error) { status.textContent = "Not uploaded: " + error.message; });
      });
    }

    text.addEventListener("dragover", function (event) {
      if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0) {
        event.preventDefault();
      }
    });
    text.addEventListener("drop", function (event) {
      var files = event.dataTransfer && event.dataTransfer.files;
      if (!files || !files.length) return;
      event.preventDefault();
      upload(files);
    });
    text.addEventListener("paste", function (event) {
      var files = event.clipboardData && event.clipboardData.files;
      if (!files || !files.length) return;
      event.preventDefault();
      upload(files);
    });
  }

  // ---------- drafts ----------
  // A few seconds after a change, the editor's text is kept as a draft: on the server for a
  // logged-in account (the form's data-draft-url; the wiki offers it back when the editor
  // opens again, with its diff), in this browser's localStorage for anyone else, keyed by the
  // editor's address (mount and page), offered back here with a line diff. Once more as the
  // page goes away, so a closed tab keeps what was typed. A save ends the draft: the server
  // removes its own in the save; the browser's goes when the save's answer is the page.
  var DRAFT_PREFIX = "quire_draft:";
  var DRAFT_SAVING = "quire_draft_saving";
  var DRAFT_DELAY = 3000;
  var DRAFT_LIFETIME = 30 * 24 * 3600 * 1000;
  // Above this many line pairs the local diff shows the changed lines as replaced.
  var DIFF_CELLS = 1000000;

  function localGet(key) {
    try { return JSON.parse(window.localStorage.getItem(key) || "null"); } catch (e) { return null; }
  }

  function localSet(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, JSON.stringify(value));
    } catch (e) { /* private mode or full: the editor still works */ }
  }

  // After a save of a browser-kept draft: the page's view answering it means the text is saved.
  function settleLocalSave() {
    var marker = null;
    try {
      marker = JSON.parse(window.sessionStorage.getItem(DRAFT_SAVING) || "null");
      window.sessionStorage.removeItem(DRAFT_SAVING);
    } catch (e) { return; }
    if (!marker || document.querySelector("form.edit-form")) return;
    if (window.location.pathname === marker.view) localSet(marker.key, null);
  }

  // The rows of a line diff from a to b: {kind, old_no, new_no, text}, with three lines of
  // context around changes and a hunk row for what is left out.
  function lineDiff(a, b) {
    var rows = [];
    var start = 0;
    while (start < a.length && start < b.length && a[start] === b[start]) start++;
    var endA = a.length, endB = b.length;
    while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) { endA--; endB--; }
    var i, j;
    for (i = 0; i < start; i++) rows.push({ kind: "context", old_no: i + 1, new_no: i + 1, text: a[i] });
    var n = endA - start, m = endB - start;
    var removed = function (k) { rows.push({ kind: "removed", old_no: start + k + 1, new_no: null, text: a[start + k] }); };
    var added = function (k) { rows.push({ kind: "added", old_no: null, new_no: start + k + 1, text: b[start + k] }); };
    if (n * m > DIFF_CELLS) {
      for (i = 0; i < n; i++) removed(i);
      for (j = 0; j < m; j++) added(j);
    } else {
      var table = [];
      for (i = 0; i <= n; i++) table.push(new Uint32Array(m + 1));
      for (i = n - 1; i >= 0; i--) {
        for (j = m - 1; j >= 0; j--) {
          table[i][j] = a[start + i] === b[start + j] ? table[i + 1][j + 1] + 1 :
            Math.max(table[i + 1][j], table[i][j + 1]);
        }
      }
      i = 0; j = 0;
      while (i < n || j < m) {
        if (i < n && j < m && a[start + i] === b[start + j]) {
          rows.push({ kind: "context", old_no: start + i + 1, new_no: start + j + 1, text: a[start + i] });
          i++; j++;
        } else if (j >= m || (i < n && table[i + 1][j] >= table[i][j + 1])) {
          removed(i++);
        } else {
          added(j++);
        }
      }
    }
    for (i = endA, j = endB; i < a.length; i++, j++) {
      rows.push({ kind: "context", old_no: i + 1, new_no: j + 1, text: a[i] });
    }
    var shown = [], gap = false;
    rows.forEach(function (row, at) {
      var near = false;
      for (var k = Math.max(0, at - 3); k <= Math.min(rows.length - 1, at + 3); k++) {
        if (rows[k].kind !== "context") near = true;
      }
      if (near) { shown.push(row); gap = false; } else if (!gap) {
        shown.push({ kind: "hunk", old_no: null, new_no: null, text: "\u2026" });
        gap = true;
      }
    });
    return shown;
  }

  function diffTable(rows, label) {
    var region = document.createElement("div");
    region.className = "table-scroll";
    region.setAttribute("role", "region");
    region.setAttribute("aria-label", label);
    region.tabIndex = 0;
    var table = document.createElement("table");
    table.className = "diff";
    var body = document.createElement("tbody");
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      tr.className = "diff-" + row.kind;
      var sign = row.kind === "added" ? "+" : row.kind === "removed" ? "-" : "";
      [[row.old_no, "ln"], [row.new_no, "ln"], [sign, "sign"], [row.text, "text"]].forEach(function (cell) {
        var td = document.createElement("td");
        td.className = cell[1];
        td.textContent = cell[0] === null ? "" : String(cell[0]);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    table.appendChild(body);
    region.appendChild(table);
    return region;
  }

  // The offer of a draft this browser kept, as the wiki draws the offer of one it kept;
  // `settled` is called once either button is pressed.
  function offerLocalDraft(form, key, draft, restore, settled) {
    var text = form.querySelector("textarea[name=text]");
    var section = headedSection("draft-offer", "draft-heading", "You have an unsaved draft of this page");
    var lead = document.createElement("p");
    lead.textContent = "It was kept in this browser as you typed, " +
      new Date(draft.saved).toLocaleString() + ". What it changes in the text below:";
    var buttons = document.createElement("div");
    buttons.className = "buttons";
    var restoreButton = document.createElement("button");
    restoreButton.type = "button";
    restoreButton.className = "primary";
    restoreButton.textContent = "Restore the draft";
    var discardButton = document.createElement("button");
    discardButton.type = "button";
    discardButton.textContent = "Discard the draft";
    buttons.appendChild(restoreButton);
    buttons.appendChild(discardButton);
    section.appendChild(lead);
    section.appendChild(diffTable(lineDiff(text.value.split("\n"), draft.text.split("\n")),
      "What the draft changes"));
    section.appendChild(buttons);
    form.parentNode.insertBefore(section, form);
    restoreButton.addEventListener("click", function () {
      section.remove();
      settled();
      restore(draft);
    });
    discardButton.addEventListener("click", function () {
      localSet(key, null);
      section.remove();
      settled();
      text.focus();
    });
  }

  function initDrafts() {
    settleLocalSave();
    var form = document.querySelector("form.edit-form");
    var text = form && form.querySelector("textarea[name=text]");
    if (!text || !window.URLSearchParams || !window.FormData || !window.URL) return;
    var serverUrl = form.getAttribute("data-draft-url");
    if (serverUrl && !window.fetch) return;
    // getAttribute: the form's `action` property is its buttons named "action".
    var key = DRAFT_PREFIX + new URL(form.getAttribute("action"), window.location.href).pathname;
    var comment = form.querySelector("input[name=comment]");
    var base = form.querySelector("input[name=base_rev]");
    var cancel = form.querySelector("a.cancel");
    var status = document.createElement("p");
    status.className = "draft-status hint";
    status.setAttribute("role", "status");
    text.parentNode.appendChild(status);
    var timer = null;
    var submitted = false;
    // While a draft is offered, it is not replaced: what was typed before wins until its
    // owner restores or discards it.
    var offered = document.querySelector(".draft-offer") !== null;
    var snapshot = function () { return text.value + "\u0000" + (comment ? comment.value : ""); };
    var kept = snapshot();

    function keep(leaving) {
      window.clearTimeout(timer);
      timer = null;
      var now = snapshot();
      if (submitted || now === kept) return;
      if (offered) {
        status.textContent = "Not kept as a draft yet: restore or discard the draft above first.";
        return;
      }
      if (!serverUrl) {
        localSet(key, {
          text: text.value,
          comment: comment ? comment.value : "",
          base_rev: base ? base.value : null,
          saved: Date.now()
        });
        kept = now;
        status.textContent = "Draft kept in this browser.";
        return;
      }
      var body = new URLSearchParams(new FormData(form));
      if (leaving && navigator.sendBeacon) {
        navigator.sendBeacon(serverUrl, body);
        kept = now;
        return;
      }
      fetch(serverUrl, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" }
      })
        .then(function (response) {
          if (!response.ok) return;
          kept = now;
          status.textContent = "Draft kept at " + new Date().toLocaleTimeString() + ".";
        })
        .catch(function () { /* the next change tries again */ });
    }

    function changed() {
      if (timer === null) timer = window.setTimeout(keep, DRAFT_DELAY);
    }

    function restore(draft) {
      text.value = draft.text;
      if (comment) comment.value = draft.comment || "";
      if (base && draft.base_rev !== null && draft.base_rev !== undefined) base.value = draft.base_rev;
      text.dispatchEvent(new Event("input"));
      text.focus();
    }

    text.addEventListener("input", changed);
    if (comment) comment.addEventListener("input", changed);
    window.addEventListener("pagehide", function () { keep(true); });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") keep(true);
    });
    form.addEventListener("submit", function (event) {
      var saving = !event.submitter || event.submitter.value !== "preview";
      if (!saving) { keep(true); return; }
      window.clearTimeout(timer);
      // The browser's draft stays until the page answers the save; the server's goes in it.
      if (!serverUrl) {
        kept = "";
        keep(false);
        try {
          window.sessionStorage.setItem(DRAFT_SAVING, JSON.stringify({
            key: key,
            view: cancel ? new URL(cancel.href, window.location.href).pathname : ""
          }));
        } catch (e) { /* the draft is offered again, and can be discarded */ }
      }
      submitted = true;
    });

    if (serverUrl || !form.hasAttribute("data-fresh")) return;
    var draft = localGet(key);
    if (!draft || typeof draft.text !== "string") return;
    if (draft.text === text.value || !(Date.now() - draft.saved < DRAFT_LIFETIME)) {
      localSet(key, null);
      return;
    }
    offered = true;
    offerLocalDraft(form, key, draft, restore, function () {
      offered = false;
      changed();
    });
  }

  function init() {
    initModeToggle();
    initShortcuts();
    initSuggestions();
    initLivePreview();
    initEditorUploads();
    initDrafts();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
