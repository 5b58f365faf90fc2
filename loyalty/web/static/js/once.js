/* One submit per form that moves money or decides (issue 15 item 6): a form carrying a
   one-time token (input[name=form_token], loyalty/web/once.py) is sent once; its buttons are
   disabled after the first submit, and a second submit (a double click, Enter twice) is
   dropped. The server claims the token too, so a second POST that gets through anyway
   changes nothing and lands on the first one's result. A static file: the CSP allows no
   inline script. */
(function () {
  "use strict";
  function guarded(form) {
    return form && form.querySelector && form.querySelector("input[name=form_token]");
  }
  document.addEventListener("submit", function (event) {  /* capture: first of all, drop a repeat */
    if (guarded(event.target) && event.target.getAttribute("data-sent") === "1") {
      event.preventDefault();
    }
  }, true);
  window.addEventListener("submit", function (event) {  /* bubbling, last of all: sent unless declined */
    var form = event.target;
    if (!guarded(form) || event.defaultPrevented) {  /* e.g. a confirmation (confirm.js) said no */
      return;
    }
    form.setAttribute("data-sent", "1");
    window.setTimeout(function () {  /* after the browser took the clicked button's value */
      var buttons = form.querySelectorAll("button[type=submit], input[type=submit]");
      var outside = form.id ? document.querySelectorAll("[form='" + form.id + "'][type=submit]") : [];
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
      Array.prototype.forEach.call(outside, function (b) { b.disabled = true; });
    }, 0);
  });
  window.addEventListener("pageshow", function (event) {  /* back/forward cache: usable again */
    if (event.persisted) {
      Array.prototype.forEach.call(document.querySelectorAll("form[data-sent]"), function (form) {
        form.removeAttribute("data-sent");
        Array.prototype.forEach.call(form.querySelectorAll("[type=submit]"), function (b) { b.disabled = false; });
      });
    }
  });
}());
