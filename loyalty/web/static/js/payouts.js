/* The finance queue's bulk approval names what it approves (issue 15 review): as payouts are
   ticked, the button's data-confirm question (asked by confirm.js) becomes its
   data-confirm-template with {n}, {total} (yuan, grouped) and {list} ("#12 张三 ¥500.00")
   filled in. Our own file (the Content-Security-Policy allows no inline script). */
(function () {
  "use strict";

  function yuan(fen) {
    var whole = Math.floor(fen / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var cents = (fen % 100).toString();
    return whole + "." + (cents.length < 2 ? "0" + cents : cents);
  }

  function update(button) {
    var form = document.getElementById(button.getAttribute("form"));
    var picked = document.querySelectorAll("input[type=checkbox][form='" + form.id + "']:checked");
    if (!button.hasAttribute("data-confirm-none")) {
      button.setAttribute("data-confirm-none", button.getAttribute("data-confirm"));
    }
    if (!picked.length) {
      button.setAttribute("data-confirm", button.getAttribute("data-confirm-none"));
      return;
    }
    var total = 0;
    var items = [];
    picked.forEach(function (box) {
      var fen = parseInt(box.getAttribute("data-amount"), 10) || 0;
      total += fen;
      items.push(("#" + box.value + " " + (box.getAttribute("data-payee") || "")).trim() + " ¥" + yuan(fen));
    });
    button.setAttribute("data-confirm", button.getAttribute("data-confirm-template")
      .replace("{n}", String(picked.length)).replace("{total}", yuan(total))
      .replace("{list}", items.join(button.getAttribute("data-list-separator") || ", ")));
  }

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.type !== "checkbox" || !box.getAttribute("form")) {
      return;
    }
    var button = document.querySelector("button[data-confirm-template][form='" + box.getAttribute("form") + "']");
    if (button) {
      update(button);
    }
  });
}());
