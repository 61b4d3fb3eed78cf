// The phone simulator page: conversations per number, a reply box, the subscriber's state.
"use strict";

(function () {
  var POLL_MS = 1000;
  var E164 = /^\+[1-9]\d{6,14}$/;
  var selected = null;
  var shown = {};  // messageId -> the bubble's meta line, updated as the message moves on
  var lastSubscriber = "";
  var el = {};

  function $(id) { return document.getElementById(id); }

  function getJson(url) {
    return fetch(url, { cache: "no-store" }).then(function (response) {
      if (response.status === 404) return null;
      if (!response.ok) throw new Error(url + ": HTTP " + response.status);
      return response.json();
    });
  }

  function time(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function normalise(text) {
    var t = (text || "").trim().replace(/[\s().-]/g, "");
    if (/^\d+$/.test(t)) t = (t.length === 10 ? "+1" : "+") + t;
    return t;
  }

  // ---- Phones ------------------------------------------------------------------------------

  function renderPhones(phones) {
    el.noPhones.hidden = phones.length > 0;
    el.phoneList.textContent = "";
    phones.forEach(function (phone) {
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "phone-button";
      button.setAttribute("data-phone", phone.phoneNumber);
      if (phone.phoneNumber === selected) button.setAttribute("aria-current", "true");
      var number = document.createElement("span");
      number.textContent = phone.phoneNumber;
      var meta = document.createElement("span");
      meta.className = "phone-meta";
      meta.textContent = phone.messageCount + (phone.messageCount === 1 ? " message" : " messages") +
        (phone.optedOut ? " · opted out" : "");
      button.appendChild(number);
      button.appendChild(meta);
      button.addEventListener("click", function () { select(phone.phoneNumber); });
      li.appendChild(button);
      el.phoneList.appendChild(li);
    });
  }

  function select(number) {
    if (number === selected) return;
    selected = number;
    shown = {};
    lastSubscriber = "";
    el.conversation.textContent = "";
    el.title.textContent = number;
    el.reply.hidden = false;
    if (window.location.hash !== "#" + number) {
      window.history.replaceState(null, "", "#" + encodeURIComponent(number));
    }
    refresh();
  }

  // ---- One phone ---------------------------------------------------------------------------

  // What an outbound message's state reads as on the phone.
  var STATES = {
    queued: "Queued",
    sent: "Sent",
    delivered: "Delivered",
    failed: "Failed",
    "not sent": "Not sent"
  };

  function metaText(message) {
    var parts = message.parts > 1 ? " · " + message.parts + " parts" : "";
    if (message.direction === "inbound") return "Sent by this phone · " + time(message.at);
    return (STATES[message.status] || "Received") +
      (message.kind ? " (" + message.kind + ")" : "") + parts + " · " + time(message.at);
  }

  function renderMessages(messages) {
    messages.forEach(function (message) {
      var known = shown[message.messageId];
      if (known) {
        known.meta.textContent = metaText(message);
        known.li.setAttribute("data-status", message.status || "");
        return;
      }
      var li = document.createElement("li");
      li.className = "bubble bubble-" + message.direction;
      li.setAttribute("data-direction", message.direction);
      li.setAttribute("data-status", message.status || "");
      var body = document.createElement("p");
      body.className = "body";
      body.textContent = message.body;
      var meta = document.createElement("p");
      meta.className = "meta";
      meta.textContent = metaText(message);
      li.appendChild(body);
      li.appendChild(meta);
      shown[message.messageId] = { li: li, meta: meta };
      el.conversation.appendChild(li);
      el.conversation.scrollTop = el.conversation.scrollHeight;
    });
  }

  function row(term, value, className) {
    var dt = document.createElement("dt");
    dt.textContent = term;
    var dd = document.createElement("dd");
    if (className) {
      var badge = document.createElement("span");
      badge.className = className;
      badge.textContent = value;
      dd.appendChild(badge);
    } else {
      dd.textContent = value || "—";
    }
    el.subscriber.appendChild(dt);
    el.subscriber.appendChild(dd);
  }

  // The operator API's document for this number: the subscriber, its ledger and the full
  // text of each disclosure it cites, printable from the browser.
  function proofLink(number) {
    var dt = document.createElement("dt");
    dt.textContent = "Proof of consent";
    var dd = document.createElement("dd");
    var link = document.createElement("a");
    link.id = "proof-of-consent";
    link.href = "/admin/subscribers/" + encodeURIComponent(number);
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = "Open the operator API's record";
    dd.appendChild(link);
    el.subscriber.appendChild(dt);
    el.subscriber.appendChild(dd);
  }

  function renderSubscriber(subscriber) {
    var key = JSON.stringify(subscriber);
    if (key === lastSubscriber) return;
    var announce = lastSubscriber !== "" && subscriber;
    lastSubscriber = key;
    el.subscriber.textContent = "";
    el.subscriber.hidden = !subscriber;
    el.subscriberNone.hidden = !!subscriber;
    if (!subscriber) return;
    el.subscriber.setAttribute("data-status", subscriber.status);
    row("Status", subscriber.status, "status-badge status-" + subscriber.status);
    row("Opt-out", subscriber.optOut);
    row("Name", [subscriber.firstName, subscriber.lastName].join(" ").trim());
    row("Created", subscriber.createdAt);
    row("Confirmed", subscriber.confirmedAt);
    row("Opted out", subscriber.optedOutAt);
    row("Number type", [subscriber.numberType, subscriber.carrier].filter(Boolean).join(", "));
    row("Consent events", (subscriber.consentEvents || []).map(function (e) { return e.type; }).join(", "));
    proofLink(subscriber.phoneNumber);
    if (announce) el.status.textContent = "Subscriber status: " + subscriber.status;
  }

  function refresh() {
    getJson("/simulator/api/phones").then(function (doc) {
      var phones = (doc && doc.phones) || [];
      renderPhones(phones);
      if (!selected && phones.length) select(phones[0].phoneNumber);
    }).catch(function () {});
    if (!selected) return;
    var number = selected;
    var q = encodeURIComponent(number);
    getJson("/simulator/api/messages?phoneNumber=" + q).then(function (doc) {
      if (number === selected) renderMessages((doc && doc.messages) || []);
    }).catch(function () {});
    getJson("/simulator/api/subscribers/" + q).then(function (doc) {
      if (number === selected) renderSubscriber(doc);
    }).catch(function () {});
  }

  // ---- Replying ----------------------------------------------------------------------------

  function showError(holder, message) {
    holder.textContent = message;
    holder.hidden = !message;
  }

  function sendReply(text) {
    showError(el.replyError, "");
    if (!text.trim()) {
      showError(el.replyError, "Type a reply first.");
      el.replyBody.focus();
      return;
    }
    el.replySend.setAttribute("aria-disabled", "true");
    fetch("/simulator/api/inbound", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ originationNumber: selected, messageBody: text })
    }).then(function (response) {
      return response.json().then(function (doc) {
        if (!response.ok || !doc.delivered) {
          throw new Error((doc.error && doc.error.message) || "HTTP " + response.status);
        }
        el.replyBody.value = "";
        el.status.textContent = "Reply sent: " + text;
      });
    }).catch(function (error) {
      showError(el.replyError, "The reply was not delivered: " + error.message);
    }).then(function () {
      el.replySend.removeAttribute("aria-disabled");
      refresh();
    });
  }

  function start() {
    el.phoneList = $("phone-list");
    el.noPhones = $("no-phones");
    el.title = $("phone-title");
    el.conversation = $("conversation");
    el.subscriber = $("subscriber");
    el.subscriberNone = $("subscriber-none");
    el.reply = $("reply");
    el.replyBody = $("reply-body");
    el.replySend = $("reply-send");
    el.replyError = $("reply-error");
    el.status = $("sim-status");

    el.reply.addEventListener("submit", function (event) {
      event.preventDefault();
      sendReply(el.replyBody.value);
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-reply]"), function (chip) {
      chip.addEventListener("click", function () { sendReply(chip.getAttribute("data-reply")); });
    });
    $("open-phone").addEventListener("submit", function (event) {
      event.preventDefault();
      var number = normalise($("open-number").value);
      if (!E164.test(number)) {
        showError($("open-error"), "Enter a number in international format, like +12015550123.");
        return;
      }
      showError($("open-error"), "");
      select(number);
    });

    var fromHash = normalise(decodeURIComponent(window.location.hash.slice(1)));
    if (E164.test(fromHash)) select(fromHash);
    refresh();
    window.setInterval(refresh, POLL_MS);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
