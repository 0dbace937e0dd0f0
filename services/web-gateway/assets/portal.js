// The customer portal's one script (no inline script anywhere: the CSP forbids it).
// - New order: the cart (add, recount, remove) is priced by the server (POST
//   /portal/orders/cart answers the page; its #cart replaces ours). A price that changed
//   before "Send" is refused by the server; the cart is then shown with the new prices.
// - New order and "Add files": the order is placed first, then each file is uploaded in a
//   request of its own with XMLHttpRequest, a progress bar per file and one overall; a file
//   whose upload breaks gets a Retry button and is sent again alone.
// - Order page: follows /api/orders/{number}/live (EventSource reconnects by itself, sending
//   Last-Event-ID); on each event the live part (#live) is fetched again once the change is
//   recorded, so status, history, price, files and the conversation change without a reload.
(function () {
  'use strict';

  function byId(id) { return document.getElementById(id); }

  function humanSize(bytes) {
    var units = ['B', 'KiB', 'MiB', 'GiB'];
    var i = 0;
    while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i += 1; }
    return (i === 0 ? bytes : bytes.toFixed(1)) + ' ' + units[i];
  }

  // Uploads the chosen files into an order, one request each.
  function Uploads(form, input) {
    this.form = form;
    this.list = form.querySelector('.uploads');
    this.overall = form.querySelector('.overall');
    this.overallBar = form.querySelector('.overall progress');
    this.overallPct = form.querySelector('.overall span');
    this.items = [];
    this.url = null;
    var self = this;
    input.addEventListener('change', function () { self.choose(input.files); });
  }

  Uploads.prototype.choose = function (files) {
    this.items = [];
    this.list.textContent = '';
    for (var i = 0; i < files.length; i += 1) {
      var li = document.createElement('li');
      li.className = 'upload';
      var name = document.createElement('span');
      name.className = 'name';
      name.textContent = files[i].name + ' · ' + humanSize(files[i].size);
      var pct = document.createElement('span');
      pct.className = 'pct';
      pct.textContent = '';
      var bar = document.createElement('progress');
      bar.max = 100;
      bar.value = 0;
      li.appendChild(name);
      li.appendChild(pct);
      li.appendChild(bar);
      this.list.appendChild(li);
      this.items.push({ file: files[i], li: li, bar: bar, pct: pct, loaded: 0, done: false, failed: null });
    }
    this.overall.hidden = this.items.length === 0;
    this.show();
  };

  Uploads.prototype.show = function () {
    var total = 0;
    var loaded = 0;
    this.items.forEach(function (item) {
      total += item.file.size;
      loaded += item.done ? item.file.size : item.loaded;
      var p = item.done ? 100 : (item.file.size ? Math.floor(100 * item.loaded / item.file.size) : 0);
      item.bar.value = p;
      item.pct.textContent = p + ' %';
    });
    var all = total ? Math.floor(100 * loaded / total) : (this.allDone() ? 100 : 0);
    this.overallBar.value = all;
    this.overallPct.textContent = all + ' %';
  };

  Uploads.prototype.allDone = function () {
    return this.items.every(function (item) { return item.done; });
  };

  // Sends one file; resolves true when the order took it.
  Uploads.prototype.send = function (item) {
    var self = this;
    item.loaded = 0;
    if (item.failed) { item.failed.remove(); item.failed = null; }
    return new Promise(function (resolve) {
      var xhr = new XMLHttpRequest();
      xhr.open('POST', self.url);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.upload.addEventListener('progress', function (e) {
        if (e.lengthComputable && e.total) {
          item.loaded = Math.min(item.file.size, Math.floor(item.file.size * e.loaded / e.total));
          self.show();
        }
      });
      xhr.addEventListener('load', function () {
        if (xhr.status === 201) {
          item.done = true;
          item.li.classList.add('done');
          self.show();
          resolve(true);
        } else {
          var message = self.form.dataset.failed;
          try { message = JSON.parse(xhr.responseText).error.message || message; } catch (ignored) { /* keep */ }
          self.fail(item, message);
          resolve(false);
        }
      });
      xhr.addEventListener('error', function () { self.fail(item, self.form.dataset.failed); resolve(false); });
      xhr.addEventListener('abort', function () { self.fail(item, self.form.dataset.failed); resolve(false); });
      var body = new FormData();
      body.append('file', item.file, item.file.name);
      xhr.send(body);
    });
  };

  Uploads.prototype.fail = function (item, message) {
    var self = this;
    var box = document.createElement('span');
    box.className = 'failed';
    box.textContent = message + ' ';
    var retry = document.createElement('button');
    retry.type = 'button';
    retry.className = 'retry';
    retry.textContent = this.form.dataset.retry;
    retry.addEventListener('click', function () {
      self.send(item).then(function () { if (self.allDone() && self.onDone) { self.onDone(); } });
    });
    box.appendChild(retry);
    item.li.appendChild(box);
    item.failed = box;
    this.show();
  };

  // Every file not yet taken, one after another.
  Uploads.prototype.run = function (url) {
    var self = this;
    this.url = url;
    var pending = this.items.filter(function (item) { return !item.done; });
    return pending.reduce(function (chain, item) {
      return chain.then(function () { return self.send(item); });
    }, Promise.resolve()).then(function () {
      if (self.allDone() && self.onDone) { self.onDone(); }
    });
  };

  function showFieldErrors(form, errors) {
    form.querySelectorAll('.field-error[data-for]').forEach(function (p) {
      var message = errors && errors[p.dataset.for];
      p.textContent = message || '';
      p.hidden = !message;
    });
  }

  var newOrder = byId('new-order');

  // The form's fields as a urlencoded body (the files go separately, one request each).
  function formFields(form) {
    var data = new URLSearchParams();
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled || el.type === 'file' || el.tagName === 'BUTTON') { return; }
      data.append(el.name, el.value);
    });
    return data;
  }

  // A cart action (add, recount, remove): the server prices the cart and answers the page;
  // its #cart replaces ours, so the chosen files and the description stay.
  function cartAction(op, message) {
    var data = formFields(newOrder);
    data.set('op', op);
    return fetch('/portal/orders/cart', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Accept': 'text/html', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: data
    }).then(function (response) { return response.text(); }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('cart');
      if (fresh) { byId('cart').replaceWith(document.importNode(fresh, true)); }
      var box = byId('cart-message');
      box.textContent = message || '';
      box.hidden = !message;
    });
  }

  if (newOrder) {
    var input = byId('files');
    var uploads = new Uploads(newOrder, input);
    newOrder.addEventListener('submit', function (event) {
      event.preventDefault();
      var submitter = event.submitter;
      if (submitter && submitter.name === 'op' && submitter.value !== 'place') {
        cartAction(submitter.value);
        return;
      }
      var button = byId('send-order');
      button.disabled = true;
      var data = formFields(newOrder);
      data.set('op', 'place');
      data.set('files', String(uploads.items.length));
      // An empty cart orders the selected service: say which price the page showed.
      var chosen = newOrder.elements.service.selectedOptions[0];
      if (!newOrder.querySelector('.cart-line') && chosen && chosen.dataset.shown) {
        data.set('shown.' + chosen.value, chosen.dataset.shown);
      }
      fetch(newOrder.action, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Accept': 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' },
        body: data
      }).then(function (response) {
        return response.json().then(function (body) { return { status: response.status, body: body }; });
      }).then(function (answer) {
        if (answer.status !== 201) {
          var errors = answer.body.errors || { text: answer.body.error && answer.body.error.message };
          showFieldErrors(newOrder, errors);
          button.disabled = false;
          // The cart again as the server prices it now (new prices, the lines' errors).
          if (answer.body.errors) { cartAction('update', errors.cart); }
          return;
        }
        showFieldErrors(newOrder, {});
        input.disabled = true;
        newOrder.elements.text.disabled = true;
        newOrder.querySelectorAll('#cart input, #cart select, #cart button').forEach(function (el) { el.disabled = true; });
        byId('done-number').textContent = '№' + answer.body.order_number;
        byId('done-link').href = answer.body.order_url;
        if (uploads.items.length === 0) {
          window.location.assign(answer.body.order_url + '?placed=1');
          return;
        }
        uploads.onDone = function () { byId('order-done').hidden = false; };
        uploads.run(answer.body.files_url);
      }).catch(function () {
        showFieldErrors(newOrder, { text: newOrder.dataset.failed });
        button.disabled = false;
      });
    });
  }

  // The order page: the live part, fetched again when the stream says something changed.
  var order = byId('order');

  function refresh(ready, attempt) {
    attempt = attempt || 0;
    fetch(window.location.pathname, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('live');
        if (!fresh) { return; }
        if (!ready(fresh.dataset) && attempt < 30) {
          setTimeout(function () { refresh(ready, attempt + 1); }, 300);
          return;
        }
        var current = byId('live');
        current.replaceWith(document.importNode(fresh, true));
      })
      .catch(function () { /* the next event or reconnect refreshes again */ });
  }

  function liveCount(name) { return Number(byId('live').dataset[name] || 0); }

  if (order && order.dataset.live && window.EventSource) {
    var lost = false;
    var source = new EventSource(order.dataset.live);
    source.addEventListener('open', function () {
      byId('live-lost').hidden = true;
      if (lost) { lost = false; refresh(function () { return true; }); }
    });
    source.addEventListener('error', function () { lost = true; byId('live-lost').hidden = false; });
    source.addEventListener('status', function (event) {
      var data = JSON.parse(event.data);
      if (data.version <= liveCount('version')) { return; }
      refresh(function (fresh) { return Number(fresh.version) >= data.version; });
    });
    source.addEventListener('refused', function () { refresh(function () { return true; }); });
    source.addEventListener('reply', function () {
      var seen = liveCount('messages');
      refresh(function (fresh) { return Number(fresh.messages) > seen; });
    });
    source.addEventListener('quote', function () {
      var seen = liveCount('quotes');
      refresh(function (fresh) { return Number(fresh.quotes) > seen; });
    });
    source.addEventListener('file', function () {
      var seen = liveCount('stored');
      refresh(function (fresh) { return Number(fresh.stored) > seen; });
    });
  }

  var addFiles = byId('add-files');
  if (addFiles) {
    var more = new Uploads(addFiles, byId('more-files'));
    addFiles.addEventListener('submit', function (event) {
      event.preventDefault();
      more.onDone = function () {
        var seen = liveCount('files');
        refresh(function (fresh) { return Number(fresh.files) >= seen + more.items.length; });
      };
      more.run(addFiles.action);
    });
  }
})();
