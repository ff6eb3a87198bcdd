/* Autocomplete for the search box, as an ARIA 1.2 combobox with a listbox popup.
 *
 * The page works without this file: it only adds suggestions from GET {data-suggest-url}?q=
 * ({"suggestions": [...]}), chosen with the mouse or with ArrowDown/ArrowUp, Enter and
 * Escape. Suggestions are inserted as text (textContent), never as HTML.
 */
(function () {
  "use strict";

  var form = document.querySelector("form.search-form[data-suggest-url]");
  if (!form || !window.fetch) return;
  var input = form.querySelector("#q");
  var list = form.querySelector("#q-suggestions");
  var status = form.querySelector("#q-status");
  if (!input || !list) return;

  var endpoint = form.getAttribute("data-suggest-url");
  var items = [];      // suggestion strings currently in the list
  var active = -1;     // index of the highlighted option, -1 = none
  var timer = 0;
  var pending = null;  // AbortController of the request in flight
  var lastQuery = null;

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", list.id);
  input.setAttribute("autocomplete", "off");
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "Gợi ý tìm kiếm");

  function isOpen() {
    return !list.hidden && items.length > 0;
  }

  function open() {
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    highlight(-1);
  }

  function highlight(index) {
    var options = list.children;
    if (active >= 0 && options[active]) options[active].setAttribute("aria-selected", "false");
    active = index;
    if (index >= 0 && options[index]) {
      options[index].setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", options[index].id);
      if (options[index].scrollIntoView) options[index].scrollIntoView({ block: "nearest" });
    } else {
      active = -1;
      input.removeAttribute("aria-activedescendant");
    }
  }

  function choose(index) {
    input.value = items[index];
    close();
    if (form.requestSubmit) form.requestSubmit();
    else form.submit();
  }

  function render(suggestions) {
    list.textContent = "";
    items = suggestions;
    active = -1;
    suggestions.forEach(function (text, i) {
      var option = document.createElement("li");
      option.id = "q-option-" + i;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.textContent = text;
      // mousedown would move focus out of the input and close the list before the click.
      option.addEventListener("mousedown", function (event) { event.preventDefault(); });
      option.addEventListener("click", function () { choose(i); });
      list.appendChild(option);
    });
    if (suggestions.length) open();
    else close();
    if (status) {
      status.textContent = suggestions.length
        ? suggestions.length + " gợi ý. Dùng phím mũi tên lên, xuống để chọn, Enter để tìm."
        : "";
    }
  }

  function load() {
    var q = input.value.trim();
    if (q === lastQuery) {
      if (items.length) open();
      return;
    }
    lastQuery = q;
    if (pending) pending.abort();
    pending = null;
    if (q.length < 2) {
      render([]);
      return;
    }
    pending = typeof AbortController === "function" ? new AbortController() : null;
    fetch(endpoint + "?q=" + encodeURIComponent(q), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      signal: pending ? pending.signal : undefined
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        if (input.value.trim() !== q || document.activeElement !== input) return;
        var found = data && Array.isArray(data.suggestions) ? data.suggestions : [];
        render(found.filter(function (s) { return typeof s === "string" && s; }).slice(0, 8));
      })
      .catch(function () { /* suggestions are optional: the form still works */ });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(load, 150);
  });

  input.addEventListener("keydown", function (event) {
    if (event.isComposing) return;  // Vietnamese IMEs (Telex, VNI) compose with keys too
    switch (event.key) {
      case "ArrowDown":
        event.preventDefault();
        if (!isOpen()) {
          if (items.length) { open(); highlight(0); } else load();
        } else {
          highlight(active + 1 < items.length ? active + 1 : -1);
        }
        break;
      case "ArrowUp":
        if (isOpen()) {
          event.preventDefault();
          highlight(active === -1 ? items.length - 1 : active - 1);
        }
        break;
      case "Enter":
        if (isOpen() && active >= 0) {
          event.preventDefault();
          choose(active);
        }
        break;  // otherwise the form submits what was typed
      case "Escape":
        if (isOpen()) {
          event.preventDefault();  // also stops the search input from clearing itself
          close();
        }
        break;
      case "Tab":
        close();
        break;
    }
  });

  input.addEventListener("blur", close);
  // Coming back with the back button (page cache): start with the list closed.
  window.addEventListener("pageshow", close);
})();
