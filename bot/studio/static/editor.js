/* Leadbot Studio: the script editor's YAML view (CodeMirror 5) and the preview chat's scrolling.
   Plain JavaScript, no build step. Problems come from the server (the same check as
   `leadbot script check`); this file only draws them. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function problemList(problems) {
    var box = document.getElementById("problem-list");
    if (!box) return;
    box.textContent = "";
    box.className = problems.length ? "problems" : "problems none";
    var head = document.createElement("p");
    if (!problems.length) {
      head.className = "ok";
      head.textContent = "No problems: the draft can be published.";
      box.appendChild(head);
      return;
    }
    var strong = document.createElement("strong");
    strong.textContent = problems.length + " problem" + (problems.length === 1 ? "" : "s");
    head.appendChild(strong);
    head.appendChild(document.createTextNode(" — publishing waits until they are fixed."));
    box.appendChild(head);
    var list = document.createElement("ul");
    problems.forEach(function (p) {
      var item = document.createElement("li");
      var jump = document.createElement("button");
      jump.type = "button";
      jump.className = "line-link";
      jump.setAttribute("data-line", String(p.line));
      jump.textContent = "line " + p.line;
      item.appendChild(jump);
      if (p.path) {
        item.appendChild(document.createTextNode(" "));
        var code = document.createElement("code");
        code.textContent = p.path;
        item.appendChild(code);
      }
      item.appendChild(document.createTextNode(": " + p.message));
      list.appendChild(item);
    });
    box.appendChild(list);
  }

  function setupYaml() {
    var area = document.getElementById("yaml-text");
    if (!area || typeof CodeMirror === "undefined") return null;
    var form = document.getElementById("yaml-form");
    var revision = document.getElementById("draft-revision");
    var state = document.getElementById("yaml-save-state");
    var saved = area.value;
    var initial = JSON.parse(document.getElementById("initial-problems").textContent);

    function annotations(cm, problems) {
      return problems.map(function (p) {
        var line = Math.max(0, Math.min(cm.lineCount() - 1, p.line - 1));
        var text = cm.getLine(line) || "";
        var from = Math.max(0, Math.min(text.length, p.column - 1));
        return {
          from: CodeMirror.Pos(line, from === text.length ? 0 : from),
          to: CodeMirror.Pos(line, Math.max(text.length, 1)),
          message: p.message,
          severity: "error"
        };
      });
    }

    function check(text, update, options, cm) {
      if (text === saved) {
        update(annotations(cm, initial));
        return;
      }
      var body = new FormData();
      body.append("yaml", text);
      body.append("revision", revision.value);
      state.textContent = "Saving…";
      fetch(form.getAttribute("action"), {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRF-Token": csrfToken() }
      }).then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      }).then(function (result) {
        if (!result.ok) {
          state.textContent = result.data.error || "Not saved.";
          state.className = "error small";
          return;
        }
        saved = text;
        initial = result.data.problems;
        revision.value = String(result.data.revision);
        state.className = "muted small";
        state.textContent = "Saved.";
        problemList(initial);
        update(annotations(cm, initial));
      }).catch(function () {
        state.textContent = "Not saved: the workspace cannot be reached. Your text is still here.";
        state.className = "error small";
      });
    }

    var cm = CodeMirror.fromTextArea(area, {
      mode: "yaml", lineNumbers: true, indentUnit: 2, tabSize: 2, lineWrapping: false,
      readOnly: area.hasAttribute("readonly"),
      extraKeys: { Tab: function (c) { c.replaceSelection("  "); } },
      gutters: ["CodeMirror-lint-markers"],
      lint: { getAnnotations: check, async: true, delay: 500 }
    });
    cm.getWrapperElement().setAttribute("aria-label", "The draft's YAML");
    cm.getInputField().setAttribute("aria-label", "The draft's YAML");
    window.studioEditor = cm;
    var wanted = new URLSearchParams(window.location.search).get("line");
    if (wanted) jumpTo(cm, parseInt(wanted, 10));
    return cm;
  }

  function jumpTo(cm, line) {
    if (!cm || !line) return;
    cm.focus();
    cm.setCursor({ line: line - 1, ch: 0 });
    cm.scrollIntoView({ line: line - 1, ch: 0 }, 120);
  }

  function scrollChat() {
    var list = document.getElementById("chat-messages");
    if (list) list.scrollTop = list.scrollHeight;
  }

  // Form edits are sent as fields change and may come back out of order: never let an
  // older draft's form replace a newer one.
  function dropStaleForm(event) {
    var target = event.detail.target;
    if (!target || target.id !== "form-view") return;
    var incoming = /data-revision="(\d+)"/.exec(event.detail.serverResponse || "");
    var shown = parseInt(target.getAttribute("data-revision") || "0", 10);
    if (incoming && parseInt(incoming[1], 10) < shown) event.detail.shouldSwap = false;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.body.addEventListener("htmx:beforeSwap", dropStaleForm);
    var cm = setupYaml();
    document.addEventListener("click", function (event) {
      var target = event.target;
      if (!(target instanceof Element) || !target.classList.contains("line-link")) return;
      var line = parseInt(target.getAttribute("data-line"), 10);
      if (cm) jumpTo(cm, line);
      else window.location.href = window.location.pathname + "?view=yaml&line=" + line;
    });
    scrollChat();
    document.body.addEventListener("htmx:afterSwap", scrollChat);
  });
})();
