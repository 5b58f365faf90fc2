/* A decision is sent only after the person confirms it (issue 15 item 6): a form, or the button
   that submits it, carrying data-confirm="question" asks that question first. Our own file (the
   Content-Security-Policy allows no inline script); pages work without it, only unconfirmed. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var question = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (!question) {
      return;
    }
    var choice = form.querySelector("input[type=radio]:checked");
    if (choice && choice.getAttribute("data-confirm-choice")) {
      question = choice.getAttribute("data-confirm-choice");
    }
    if (!window.confirm(question)) {
      event.preventDefault();
    }
  });
}());
