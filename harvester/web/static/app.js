/* harvester review queue: keyboard shortcuts and in-place updates.
   Every action also works without this script (plain forms). No inline script: the page's
   Content Security Policy forbids it. */
(function () {
  "use strict";

  var current = -1;

  function cards() {
    return Array.prototype.slice.call(document.querySelectorAll("article.card"));
  }

  function focusCard(index, scroll) {
    var list = cards();
    if (!list.length) return;
    index = Math.max(0, Math.min(index, list.length - 1));
    list.forEach(function (card) { card.classList.remove("current"); });
    current = index;
    var card = list[index];
    card.classList.add("current");
    card.focus({ preventScroll: true });
    if (scroll !== false) card.scrollIntoView({ block: "nearest" });
  }

  function currentCard() {
    var list = cards();
    if (current < 0 || current >= list.length) return null;
    return list[current];
  }

  function submitCardForm(form, advance) {
    var data = new FormData(form);
    var card = form.closest("article.card");
    var index = cards().indexOf(card);
    card.setAttribute("aria-busy", "true");
    fetch(form.getAttribute("action"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    }).then(function (response) {
      return response.text().then(function (html) { return { ok: response.ok, status: response.status, html: html }; });
    }).then(function (result) {
      if (result.status === 403 || result.status === 401 || result.html.indexOf("<article") < 0) {
        window.location.reload();
        return;
      }
      var template = document.createElement("template");
      template.innerHTML = result.html.trim();
      var fresh = template.content.firstElementChild;
      card.replaceWith(fresh);
      focusCard(result.ok && advance ? index + 1 : index);
    }).catch(function () {
      form.submit();
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("card-form")) return;
    event.preventDefault();
    var decision = form.classList.contains("act-accept") || form.classList.contains("act-reject") ||
      form.classList.contains("act-defer");
    submitCardForm(form, decision);
  });

  document.addEventListener("click", function (event) {
    var card = event.target.closest && event.target.closest("article.card");
    if (card) {
      var index = cards().indexOf(card);
      if (index !== current) {
        cards().forEach(function (c) { c.classList.remove("current"); });
        current = index;
        card.classList.add("current");
      }
    }
    if (event.target.closest && event.target.closest("[data-help]")) toggleHelp();
  });

  function toggleHelp() {
    var help = document.getElementById("help");
    if (!help) return;
    if (help.open) help.close(); else help.showModal();
  }

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function act(selector) {
    var card = currentCard();
    if (!card) { focusCard(0); card = currentCard(); }
    if (!card) return;
    var form = card.querySelector(selector);
    if (form) form.requestSubmit();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    var key = event.key;
    var handled = true;
    if (key === "j") focusCard(current + 1);
    else if (key === "k") focusCard(current - 1);
    else if (key === "a") act("form.act-accept");
    else if (key === "r") act("form.act-reject");
    else if (key === "d") act("form.act-defer");
    else if (key === "u") act("form.act-undo");
    else if (key === "x") {
      var card = currentCard();
      if (card) { var box = card.querySelector("input.select"); box.checked = !box.checked; }
    } else if (key === "o") {
      var link = currentCard() && currentCard().querySelector("h2 a");
      if (link) window.open(link.href, "_blank", "noopener");
    } else if (key === "/") {
      var search = document.getElementById("q");
      if (search) search.focus();
    } else if (key === "?") toggleHelp();
    else handled = false;
    if (handled) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    var hash = window.location.hash;
    var list = cards();
    if (!list.length) return;
    var target = hash ? document.getElementById(hash.slice(1)) : null;
    var index = target ? list.indexOf(target) : 0;
    focusCard(index < 0 ? 0 : index, Boolean(target));
  });

  // The bulletin page: the preview follows the entry being edited (the page works without this:
  // each entry's title link opens it in the preview, and a saved change comes back to it).
  function followInPreview(entry) {
    var frame = document.querySelector(".preview iframe");
    if (!frame || !entry || !entry.id) return;
    var base = frame.getAttribute("src").split("#")[0];
    frame.setAttribute("src", base + "#" + entry.id);
    document.querySelectorAll(".entry.current").forEach(function (other) {
      if (other !== entry) other.classList.remove("current");
    });
    entry.classList.add("current");
  }
  document.addEventListener("focusin", function (event) {
    var entry = event.target.closest && event.target.closest(".entry");
    if (entry) followInPreview(entry);
  });
  document.addEventListener("toggle", function (event) {
    var entry = event.target.closest && event.target.closest(".entry");
    if (entry && event.target.open) followInPreview(entry);
  }, true);
})();
