// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // A table or block of code wider than the screen scrolls sideways; keyboard users must
  // be able to reach and scroll it, so a scrolling region gets focus and a name (its
  // caption, the summary of the <details> it is folded in, or its section's heading).
  function nameFor(region) {
    var caption = region.querySelector("caption");
    if (caption) return caption.textContent.trim();
    var details = region.closest("details");
    var summary = details && details.querySelector("summary");
    if (summary) return summary.textContent.trim();
    var section = region.closest("section");
    var heading = section && section.querySelector("h2, h3");
    if (heading) return heading.textContent.trim();
    return region.tagName === "PRE" ? "Code" : "Table";
  }

  function markScrollingRegions(root) {
    var regions = (root || document).querySelectorAll(".table-wrap, table, pre");
    regions.forEach(function (region) {
      var scrolls = region.scrollWidth > region.clientWidth + 1;
      if (scrolls && !region.hasAttribute("tabindex")) {
        region.setAttribute("tabindex", "0");
        if (region.tagName !== "TABLE") {
          region.setAttribute("role", "region");
          region.setAttribute("aria-label", nameFor(region) + " (scrolls sideways)");
        }
      }
    });
  }

  // A table that stacks on a phone (table.stack) keeps its table roles: some browsers
  // drop a table's semantics when its display changes, unless the roles are explicit.
  var TABLE_ROLES = {
    TABLE: "table", THEAD: "rowgroup", TBODY: "rowgroup", TFOOT: "rowgroup", TR: "row", TD: "cell"
  };

  function keepTableRoles(root) {
    (root || document).querySelectorAll("table.stack").forEach(function (table) {
      [table].concat(Array.prototype.slice.call(table.querySelectorAll("thead, tbody, tfoot, tr, th, td")))
        .forEach(function (part) {
          if (part.closest("table") !== table || part.hasAttribute("role")) return;
          var role = TABLE_ROLES[part.tagName];
          if (part.tagName === "TH") {
            role = part.getAttribute("scope") === "row" ? "rowheader" : "columnheader";
          }
          part.setAttribute("role", role);
        });
    });
  }

  // A navigation of more than FOLD_AFTER links folds behind its "Menu" button on a narrow
  // screen, the button naming the current page; it unfolds again on a wide one.
  var FOLD_AFTER = 4;
  var narrow = window.matchMedia("(max-width: 40em)");

  function setUpNavigation() {
    var nav = document.querySelector(".site-nav");
    var button = nav && nav.querySelector(".nav-toggle");
    if (!button || nav.querySelectorAll("li").length <= FOLD_AFTER) return;
    var current = nav.querySelector('[aria-current="page"]');
    button.textContent = current ? "Menu: " + current.textContent.trim() : "Menu";
    function show(open) {
      nav.classList.toggle("folded", !open);
      button.setAttribute("aria-expanded", open ? "true" : "false");
    }
    function fit() {
      button.hidden = !narrow.matches;
      show(!narrow.matches);
    }
    button.addEventListener("click", function () {
      show(button.getAttribute("aria-expanded") !== "true");
    });
    narrow.addEventListener("change", fit);
    fit();
  }

  // A form that writes is sent once: its buttons are disabled just after it goes (after,
  // so the button pressed is still sent with it), and enabled again if the page comes
  // back from the browser's history. A form whose answer is a download (the page stays)
  // is marked data-download and enabled again after a moment.
  function sendOnce(event) {
    var form = event.target;
    if (event.defaultPrevented || (form.method || "").toLowerCase() !== "post") return;
    var buttons = form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]");
    function enable(on) {
      buttons.forEach(function (button) {
        button.disabled = !on;
        if (on) button.removeAttribute("data-sent");
        else button.setAttribute("data-sent", "");
      });
    }
    window.setTimeout(function () { enable(false); }, 0);
    if (form.hasAttribute("data-download")) {
      window.setTimeout(function () { enable(true); }, 3000);
    }
  }
  document.addEventListener("submit", sendOnce);
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("[data-sent]").forEach(function (button) {
      button.disabled = false;
      button.removeAttribute("data-sent");
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    setUpNavigation();
    keepTableRoles();
    markScrollingRegions();
  });
  window.addEventListener("resize", function () { markScrollingRegions(); });
  document.addEventListener("htmx:afterSettle", function (event) {
    keepTableRoles(event.target);
    markScrollingRegions(event.target);
  });
  // What was folded in a <details> has no width until it is opened ("toggle" does not
  // bubble, so it is caught on the way down).
  document.addEventListener("toggle", function (event) {
    if (event.target.open) markScrollingRegions(event.target);
  }, true);
})();
