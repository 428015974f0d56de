// quire's progressive JavaScript, shared by every theme. The wiki works without it; this
// file only adds: the light/dark toggle, keyboard shortcuts (e: edit, /: search), search
// suggestions as you type, a live preview in the editor, and files dropped or pasted into
// the editor uploaded. No inline script anywhere,
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

  // ---------- live preview ----------
  // Posts the edit form as it is, with action=preview (what the Preview button sends, CSRF
  // token included), and puts the rendered text from the answer into the preview pane.
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
      section = document.createElement("section");
      section.className = "preview live-preview";
      section.setAttribute("aria-labelledby", "preview-heading");
      var heading = document.createElement("h2");
      heading.id = "preview-heading";
      heading.textContent = "Preview ";
      var hint = document.createElement("span");
      hint.className = "hint";
      hint.textContent = "(not saved yet)";
      heading.appendChild(hint);
      var content = document.createElement("div");
      content.className = "content";
      section.appendChild(heading);
      section.appendChild(content);
      form.parentNode.insertBefore(section, form);
      return section;
    }

    function refresh() {
      var mine = ++generation;
      var body = new URLSearchParams(new FormData(form));
      body.set("action", "preview");
      fetch(form.action, {
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

  function init() {
    initModeToggle();
    initShortcuts();
    initSuggestions();
    initLivePreview();
    initEditorUploads();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
