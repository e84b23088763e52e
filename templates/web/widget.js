/*! NPS widget v1: the in-app and website prompt. https://API/w/v1/widget.js (docs/web-widget.md) */
(function (win, doc) {
  "use strict";
  // The page may have created `window.nps = {q: [...]}` (and stubs) before this script loaded: keep that
  // object (the host's references and its onEvent stay valid), give it the real methods, replay the queue.
  var api = win.nps && typeof win.nps === "object" ? win.nps : {};
  if (api.version) { return; } // loaded twice: the first copy stays in charge
  api.version = "1";
  var warned = false;
  // One line in the console at most, whatever goes wrong: the host page's console is not ours.
  function warn(message) {
    if (!warned && win.console && console.warn) { warned = true; console.warn("nps widget: " + message); }
  }
  // Every entry point is wrapped: nothing the widget does may throw into the host page.
  function safe(fn) {
    return function () {
      try { return fn.apply(this, arguments); } catch (error) { warn(String(error && error.message || error)); }
    };
  }

  // The API base is where this script came from: https://API/w/v1/widget.js -> https://API/w/v1
  var base = null;
  try {
    var src = doc.currentScript && doc.currentScript.src;
    if (src) {
      var here = new URL(src, doc.baseURI);
      base = here.origin + here.pathname.replace(/\/[^/]*$/, "");
    }
  } catch (error) { base = null; }
  var supported = !!(win.fetch && win.Promise && win.Element && Element.prototype.attachShadow &&
    "adoptedStyleSheets" in doc && win.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync);

  var HEX = /^#[0-9a-fA-F]{6}$/;
  var MAX_COMMENT = 2000;
  var CLOSE_AFTER_THANKS_MS = 4000;
  var REQUEST_TIMEOUT_MS = 15000;
  var FOCUSABLE = "button:not([disabled]),textarea:not([disabled]),input:not([disabled])";

  // WCAG 2.1 relative luminance and contrast ratio (SC 1.4.3 definitions), for text on the brand colour.
  function luminance(hex) {
    var sum = 0, weights = [0.2126, 0.7152, 0.0722];
    for (var i = 0; i < 3; i++) {
      var c = parseInt(hex.substr(1 + 2 * i, 2), 16) / 255;
      sum += weights[i] * (c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4));
    }
    return sum;
  }
  function contrast(a, b) {
    var x = luminance(a), y = luminance(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  }
  // White, else near-black, else black: the first with 4.5:1 on the brand (one of white/black always has it).
  function textOn(colour) {
    var options = ["#ffffff", "#1a1a1a", "#000000"];
    for (var i = 0; i < options.length; i++) { if (contrast(options[i], colour) >= 4.5) { return options[i]; } }
    return "#000000";
  }
  // The brand colour as a border/accent on the card: itself when it reaches 3:1 (non-text contrast,
  // SC 1.4.11) against the card, else the card's text colour.
  function accentOn(colour, card, text) { return contrast(colour, card) >= 3 ? colour : text; }

  function css(brand) {
    var onBrand = textOn(brand);
    return [
      ":host{all:initial;position:fixed;z-index:2147483000;left:0;right:0;bottom:0;display:block;",
      "font:16px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;",
      "--b:" + brand + ";--bf:" + onBrand + ";--bg:#fff;--fg:#1a1a1a;--mu:#4b5563;--ln:#6b7280;",
      "--ac:" + accentOn(brand, "#ffffff", "#1a1a1a") + "}",
      "@media (prefers-color-scheme:dark){:host{--bg:#1f2937;--fg:#f9fafb;--mu:#d1d5db;--ln:#9ca3af;",
      "--ac:" + accentOn(brand, "#1f2937", "#f9fafb") + "}}",
      "*{box-sizing:border-box}",
      ".sheet{margin:0 auto;max-width:36rem;background:var(--bg);color:var(--fg);padding:12px 12px 16px;",
      "border-top:4px solid var(--ac);border-radius:12px 12px 0 0;box-shadow:0 -4px 24px rgba(0,0,0,.25);",
      "max-height:100vh;overflow:auto}",
      "@media (min-width:40rem){:host{left:auto;right:16px;bottom:16px;width:36rem}.sheet{border-radius:12px}.scale{gap:4px}}",
      "@media (prefers-reduced-motion:no-preference){.sheet{animation:up .25s ease-out}}",
      "@keyframes up{from{transform:translateY(100%);opacity:0}to{transform:none;opacity:1}}",
      ".top{display:flex;align-items:flex-start;gap:8px}",
      ".brand{flex:1;margin:0;font-size:14px;font-weight:600;color:var(--mu);padding-top:12px}",
      "h2,label.q{display:block;margin:0 0 12px;font-size:18px;font-weight:600;line-height:1.3}",
      "button,textarea{font:inherit;color:inherit}",
      "fieldset{border:0;margin:0 0 12px;padding:0;min-width:0}legend{padding:0;font-weight:600;margin-bottom:4px}",
      ".ch{display:inline-flex;align-items:center;gap:6px;min-height:44px;margin-inline-end:16px;cursor:pointer}",
      ".ch input{width:20px;height:20px;margin:0;accent-color:var(--ac)}",
      "button{cursor:pointer;border-radius:8px;min-height:44px}",
      ":focus-visible{outline:3px solid var(--fg);outline-offset:2px}",
      ".sheet:focus{outline:none}",
      ".x{min-width:44px;background:none;border:0;font-size:24px;line-height:1}",
      ".scale{display:grid;grid-template-columns:repeat(11,minmax(0,1fr));gap:2px;margin:0;padding:0}",
      ".scale button{min-width:0;padding:0;background:var(--bg);border:1px solid var(--ln);font-weight:600}",
      ".scale button:hover,.scale button[aria-pressed=true]{background:var(--b);color:var(--bf);border-color:var(--b)}",
      ".ends{display:flex;justify-content:space-between;gap:16px;margin:6px 0 0;font-size:14px;color:var(--mu)}",
      ".ends span:last-child{text-align:end}",
      "textarea{display:block;width:100%;min-height:5.5em;padding:8px;border:1px solid var(--ln);",
      "border-radius:8px;background:var(--bg);resize:vertical}",
      ".hint{margin:4px 0 0;font-size:14px;color:var(--mu)}",
      ".row{display:flex;flex-wrap:wrap;gap:8px;margin-top:12px}",
      ".row button{padding:0 20px;border:1px solid var(--ln);background:var(--bg)}",
      ".row .go{background:var(--b);color:var(--bf);border-color:var(--b)}",
      ".status{margin:0}.status span{display:block}.status span:not(:empty){margin-top:8px}",
      ".thanks{font-size:18px;font-weight:600;margin:8px 0}",
      "[hidden]{display:none!important}"
    ].join("");
  }

  // The element factory: text always goes in as text (never markup), attributes as attributes.
  function el(tag, attributes, children) {
    var node = doc.createElement(tag);
    for (var name in attributes) {
      if (Object.prototype.hasOwnProperty.call(attributes, name) && attributes[name] != null) {
        node.setAttribute(name, attributes[name]);
      }
    }
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? doc.createTextNode(child) : child);
    });
    return node;
  }
  function text(value, fallback) { return typeof value === "string" && value ? value : fallback; }

  function emit(type, detail) {
    var hook = api.onEvent;
    if (typeof hook === "function") {
      var event = { type: type };
      for (var key in detail || {}) { event[key] = detail[key]; }
      try { hook(event); } catch (error) { warn("onEvent threw: " + (error && error.message)); }
    }
  }

  // POST JSON to the API, no cookies; resolves {ok, status, body} and never rejects (network errors,
  // timeouts and unreadable bodies are {ok: false, status: 0}).
  function post(path, payload) {
    var controller = win.AbortController ? new AbortController() : null;
    var timer = controller ? win.setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : 0;
    return fetch(base + path, {
      method: "POST", mode: "cors", credentials: "omit", cache: "no-store",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload),
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      return response.json().then(function (body) { return body; }, function () { return null; })
        .then(function (body) { return { ok: response.ok, status: response.status, body: body }; });
    }).catch(function () { return { ok: false, status: 0, body: null }; })
      .then(function (result) { win.clearTimeout(timer); return result; });
  }
  // Worth retrying: the network, a timeout, a rate limit or the server's own trouble (not a full comment
  // allowance, which answers 429 too).
  function retryable(result) {
    var status = result.status, code = result.body && result.body.error && result.body.error.code;
    return code !== "comment_limit" && (status === 0 || status === 408 || status === 429 || status >= 500);
  }

  function surveyOf(token) {
    // v1.<kid>.<payload>.<signature>: the payload is base64url JSON with the survey id in "s" (no PII).
    var parts = String(token).split(".");
    var json = JSON.parse(atob(parts[2].replace(/-/g, "+").replace(/_/g, "/")));
    return json && typeof json.s === "string" ? json.s : null;
  }

  var current = null; // the prompt on screen: {host, root, sheet, ...}; one at a time
  var identifying = false;

  function identify(options) {
    if (!supported || !base) { warn("this browser or page cannot show the survey"); return; }
    options = options || {};
    var token = options.contactToken;
    if (typeof token !== "string" || !token) { warn("identify needs {contactToken}"); return; }
    if (current || identifying) { return; }
    var survey = options.surveyId || surveyOf(token);
    if (!survey) { warn("the contact token names no survey"); return; }
    // The page address without its query or fragment (where apps keep ids and tokens) unless given.
    var url = typeof options.url === "string" ? options.url : String(win.location.href).split(/[?#]/)[0];
    identifying = true;
    var path = "/surveys/" + encodeURIComponent(survey);
    post(path + "/eligibility", { contact_token: token, url: url }).then(safe(function (result) {
      identifying = false;
      if (!result.ok || !result.body) { warn("eligibility request failed (" + result.status + ")"); return; }
      if (result.body.show === true && result.body.prompt && result.body.ask_token && !current) {
        show(path, result.body.ask_token, result.body.prompt);
      } else {
        emit("not_shown", { reason: result.body.reason || null });
      }
    }));
  }

  function show(path, askToken, prompt) {
    var labels = prompt.labels || {};
    var brand = prompt.brand || {};
    var colour = HEX.test(brand.colour) ? brand.colour : "#1d4ed8";
    var host = doc.createElement("nps-widget");
    var root = host.attachShadow({ mode: "open" });
    var sheetStyles = new CSSStyleSheet();
    sheetStyles.replaceSync(css(colour));
    root.adoptedStyleSheets = [sheetStyles];

    var state = { path: path, askToken: askToken, labels: labels, score: null, answered: false, busy: false };
    var titleId = "nps-q";
    var sheet = el("div", {
      "class": "sheet", role: "dialog", "aria-modal": "false", "aria-labelledby": titleId, tabindex: "-1",
      lang: text(prompt.locale, "en"), dir: prompt.dir === "rtl" ? "rtl" : "ltr"
    });
    var close = el("button", { type: "button", "class": "x", "aria-label": text(labels.close, "Close") }, ["\u00d7"]);
    var body = el("div", { "class": "body" });
    // One live region for the whole life of the sheet, so the error, retry and thanks are announced.
    var message = el("span", { id: "nps-s" });
    var status = el("p", { "class": "status", role: "status", "aria-live": "polite" }, [message]);
    var retry = el("button", { type: "button" }, [text(labels.retry, "Try again")]);
    var statusRow = el("div", { "class": "row", hidden: "" }, [retry]);
    sheet.appendChild(el("div", { "class": "top" }, [
      el("p", { "class": "brand" }, [text(brand.name, "")]), close
    ]));
    sheet.appendChild(body);
    sheet.appendChild(status);
    sheet.appendChild(statusRow);
    root.appendChild(sheet);

    state.host = host; state.root = root; state.sheet = sheet; state.body = body;
    state.status = status; state.message = message; state.retry = retry; state.retryRow = statusRow; state.close = close;
    state.returnTo = doc.activeElement;
    current = state;

    renderScale(state, prompt);
    close.addEventListener("click", safe(function () { finish(state, true); }));
    retry.addEventListener("click", safe(function () { if (state.again) { state.again(); } }));
    sheet.addEventListener("keydown", safe(function (event) { onKey(state, event); }));
    // Focus inside the sheet makes it modal for assistive technology (Tab stays inside); focus that moves
    // out by a click on the host page makes it an ordinary region again.
    host.addEventListener("focusin", safe(function (event) {
      var from = event.relatedTarget;
      if (from && from !== host && !host.contains(from)) { state.returnTo = from; }
      sheet.setAttribute("aria-modal", "true");
    }));
    host.addEventListener("focusout", safe(function (event) {
      var to = event.relatedTarget;
      if (!to || (to !== host && !host.contains(to))) { sheet.setAttribute("aria-modal", "false"); }
    }));
    doc.body.appendChild(host);
    // Take focus only when the person is not busy with something else (typing in a field of the app).
    var active = doc.activeElement;
    if (!active || active === doc.body || active === doc.documentElement) { sheet.focus(); }
    emit("shown", {});
  }

  function renderScale(state, prompt) {
    var labels = state.labels;
    var title = el("h2", { id: "nps-q" }, [text(prompt.question, "How likely are you to recommend us?")]);
    var low = el("span", { id: "nps-low" }, [text(labels.low, "")]);
    var high = el("span", { id: "nps-high" }, [text(labels.high, "")]);
    var scale = el("div", { "class": "scale", role: "group", "aria-labelledby": "nps-q" });
    var template = text(labels.score_label, "{score} out of 10");
    var buttons = [];
    for (var score = 0; score <= 10; score++) {
      var button = el("button", {
        type: "button", "aria-pressed": "false", "aria-label": template.split("{score}").join(String(score)),
        "aria-describedby": score === 0 ? "nps-low" : score === 10 ? "nps-high" : null
      }, [String(score)]);
      button.addEventListener("click", safe(answer.bind(null, state, score)));
      buttons.push(button);
      scale.appendChild(button);
    }
    state.buttons = buttons;
    replaceBody(state, [title, scale, el("p", { "class": "ends" }, [low, high])]);
    state.followUp = prompt.follow_up_question;
    state.questions = prompt.questions && typeof prompt.questions === "object" ? prompt.questions : {};
  }

  function replaceBody(state, nodes) {
    // Keep focus in the sheet when the focused control is about to go away.
    var focused = state.root.activeElement;
    while (state.body.firstChild) { state.body.removeChild(state.body.firstChild); }
    nodes.forEach(function (node) { state.body.appendChild(node); });
    if (focused && !state.sheet.contains(focused)) { state.sheet.focus(); }
  }

  function say(state, message, again) {
    state.message.textContent = message || "";
    state.again = again || null;
    if (again) { state.retryRow.removeAttribute("hidden"); } else { state.retryRow.setAttribute("hidden", ""); }
  }
  function failed(state, result, again) {
    var labels = state.labels;
    say(state, text(labels.error, "Something went wrong."), retryable(result) ? again : null);
    if (again && retryable(result)) { state.retry.focus(); } else { state.close.focus(); }
  }

  function answer(state, score) {
    if (state.busy || state.closed) { return; }
    state.score = score;
    state.buttons.forEach(function (button, index) { button.setAttribute("aria-pressed", String(index === score)); });
    state.busy = true;
    state.sheet.setAttribute("aria-busy", "true");
    say(state, "");
    post(state.path + "/responses", { ask_token: state.askToken, score: score }).then(safe(function (result) {
      state.busy = false;
      state.sheet.removeAttribute("aria-busy");
      if (state.closed) { return; }
      if (!result.ok) { failed(state, result, function () { answer(state, score); }); return; }
      state.answered = true;
      emit("answered", { score: score, category: result.body && result.body.category || null });
      renderFollowUp(state);
    }));
  }

  // One follow-up question (driver, CSAT 1-5, CES 1-7; each optional) as native radios in a fieldset: the
  // legend names the group, arrows move within it, the hint (what the ends mean) describes it.
  function group(state, name, question, options) {
    var hintId = "nps-" + name + "-h";
    var box = el("fieldset", { "aria-describedby": question.low ? hintId : null },
      [el("legend", {}, [text(question.question, "")])]);
    if (question.low) { box.appendChild(el("p", { "class": "hint", id: hintId }, [question.low + " \u00b7 " + text(question.high, "")])); }
    options.forEach(function (option) {
      box.appendChild(el("label", { "class": "ch" }, [
        el("input", { type: "radio", name: "nps-" + name, value: String(option[0]) }), text(option[1], String(option[0]))
      ]));
    });
    state.groups.push([name, box]);
    return box;
  }
  function range(high) { var values = []; for (var v = 1; v <= high; v++) { values.push([v, String(v)]); } return values; }
  // The answers chosen: {driver: "id", csat: 4, ces: 6}, only those picked.
  function picked(state) {
    var answers = {};
    state.groups.forEach(function (entry) {
      var input = entry[1].querySelector("input:checked");
      if (input) { answers[entry[0]] = entry[0] === "driver" ? input.value : +input.value; }
    });
    return answers;
  }

  function renderFollowUp(state) {
    var labels = state.labels, asked = state.questions, nodes = [];
    say(state, "");
    state.groups = [];
    var driver = asked.driver;
    if (driver && Array.isArray(driver.choices) && driver.choices.length) {
      nodes.push(group(state, "driver", driver, driver.choices.map(function (c) { return [c.id, c.label]; })));
    }
    if (asked.csat) { nodes.push(group(state, "csat", asked.csat, range(5))); }
    if (asked.ces) { nodes.push(group(state, "ces", asked.ces, range(7))); }
    var label = el("label", { "class": "q", id: "nps-q", "for": "nps-c" },
      [text(state.followUp, "What is the main reason for your score?")]);
    var hint = el("p", { "class": "hint", id: "nps-h" }, [text(labels.comment_label, "")]);
    var box = el("textarea", {
      id: "nps-c", maxlength: String(MAX_COMMENT), rows: "3", "aria-describedby": labels.comment_label ? "nps-h" : null
    });
    var send = el("button", { type: "button", "class": "go" }, [text(labels.send, "Send")]);
    var skip = el("button", { type: "button" }, [text(labels.skip, "Skip")]);
    send.addEventListener("click", safe(function () { comment(state, box); }));
    skip.addEventListener("click", safe(function () { thanks(state); }));
    nodes.push(label, box);
    if (labels.comment_label) { nodes.push(hint); }
    nodes.push(el("div", { "class": "row" }, [send, skip]));
    replaceBody(state, nodes);
    (state.groups.length ? state.groups[0][1].querySelector("input") : box).focus();
    state.box = box;
  }

  function comment(state, box) {
    if (state.busy || state.closed) { return; }
    var value = box.value.slice(0, MAX_COMMENT);
    var payload = picked(state), chosen = Object.keys(payload).length;
    var written = !!value.replace(/[\s\u200b-\u200f\u2060\ufeff]/g, "");
    if (!written && !chosen) { thanks(state); return; } // nothing written or chosen
    if (written) { payload.comment = value; }
    payload.ask_token = state.askToken;
    payload.score = state.score;
    state.busy = true;
    state.sheet.setAttribute("aria-busy", "true");
    say(state, "");
    post(state.path + "/comments", payload)
      .then(safe(function (result) {
        state.busy = false;
        state.sheet.removeAttribute("aria-busy");
        if (state.closed) { return; }
        if (!result.ok) { failed(state, result, function () { comment(state, box); }); return; }
        emit("commented", { score: state.score });
        thanks(state);
      }));
  }

  function thanks(state) {
    replaceBody(state, []);
    say(state, text(state.labels.thanks, "Thank you!"));
    // The question is gone: the thanks names the dialog now.
    state.sheet.setAttribute("aria-labelledby", "nps-s");
    state.status.className = "status thanks";
    state.timer = win.setTimeout(safe(function () { finish(state, false); }), CLOSE_AFTER_THANKS_MS);
  }

  function onKey(state, event) {
    if (event.key === "Escape" || event.key === "Esc") {
      event.preventDefault();
      event.stopPropagation();
      finish(state, true);
      return;
    }
    if (event.key !== "Tab") { return; }
    var items = Array.prototype.filter.call(state.sheet.querySelectorAll(FOCUSABLE), function (node) {
      return !node.closest("[hidden]") && node.getClientRects().length > 0;
    });
    if (!items.length) { event.preventDefault(); state.sheet.focus(); return; }
    var first = items[0], last = items[items.length - 1], at = state.root.activeElement;
    if (event.shiftKey && (at === first || at === state.sheet)) { event.preventDefault(); last.focus(); }
    else if (!event.shiftKey && at === last) { event.preventDefault(); first.focus(); }
  }

  // Close the prompt. `byPerson`: the close button or Esc; before an answer that is a dismissal, which the
  // server records so the person is not asked again too soon.
  function finish(state, byPerson) {
    if (state.closed) { return; }
    state.closed = true;
    win.clearTimeout(state.timer);
    if (byPerson && !state.answered) {
      post(state.path + "/dismissals", { ask_token: state.askToken }).then(function (result) {
        if (!result.ok) { warn("the dismissal was not recorded (" + result.status + ")"); }
      });
      emit("dismissed", {});
    }
    var hadFocus = !!state.root.activeElement;
    if (state.host.parentNode) { state.host.parentNode.removeChild(state.host); }
    if (current === state) { current = null; }
    var back = state.returnTo;
    if (hadFocus && back && back.focus && back.isConnected && back !== doc.body) { back.focus(); }
    emit("closed", { answered: state.answered });
  }

  api.identify = safe(identify);
  // Close the prompt as the person's close button does (a dismissal when not answered yet).
  api.dismiss = safe(function () { if (current) { finish(current, true); } });
  // Remove any prompt without recording anything (for example when the person signs out).
  api.reset = safe(function () {
    if (current) { finish(current, false); }
    identifying = false;
  });
  // Calls queued before the script loaded: [["identify", {...}], ["dismiss"], ...]; later pushes run at once.
  function run(entry) {
    if (entry && typeof api[entry[0]] === "function" && entry[0] !== "version") {
      api[entry[0]].apply(api, Array.prototype.slice.call(entry, 1));
    }
  }
  var queued = Array.isArray(api.q) ? api.q : [];
  api.q = { push: safe(function () { Array.prototype.forEach.call(arguments, run); }) };
  win.nps = api;
  queued.forEach(safe(run));
})(window, document);
