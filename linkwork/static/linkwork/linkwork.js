// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // A table wider than the screen scrolls sideways; keyboard users must be able to reach
  // and scroll it, so a scrolling region gets focus and a name (its caption or heading).
  function nameFor(region) {
    var caption = region.querySelector("caption");
    if (caption) return caption.textContent.trim();
    var section = region.closest("section");
    var heading = section && section.querySelector("h2, h3");
    return heading ? heading.textContent.trim() : "Table";
  }

  function markScrollingRegions(root) {
    var regions = (root || document).querySelectorAll(".table-wrap, table");
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

  document.addEventListener("DOMContentLoaded", function () { markScrollingRegions(); });
  window.addEventListener("resize", function () { markScrollingRegions(); });
  document.addEventListener("htmx:afterSettle", function (event) {
    markScrollingRegions(event.target);
  });
})();
