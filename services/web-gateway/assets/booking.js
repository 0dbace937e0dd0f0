// The portal's day → time picker for bookable services (issue 15).
//
// - The new-order form: when the form's service has a duration, shows a week of days with
//   free times (from /api/services/{code}/slots, in the business's time zone), then a day's
//   times; a time is booked at once through /api/bookings (or the booking moved, if one is
//   held already), and its id goes with the order in the hidden `booking` field.
// - An order's page (its booked time): "Reschedule" opens the same picker for the booking's
//   service and a time moves it (/api/bookings/{id}/reschedule); "Cancel booking" frees it
//   (DELETE /api/bookings/{id}); the page then shows what is booked now. The live part of
//   that page is replaced as the order changes, so elements are looked up on each use and
//   clicks are taken at the document.
//
// Someone faster: the customer is told and offered the next free times. On the new-order
// form a time is held 15 minutes from the last choice unless the order is sent; a hold that
// expired meanwhile is booked anew on the next choice. Texts in Ukrainian and English, by
// the page's lang.
(function () {
  'use strict';
  var byId = function (id) { return document.getElementById(id); };
  var select = byId('service');
  var onOrderPage = !select;
  if (!byId('slot-picker')) { return; }
  var en = document.documentElement.lang === 'en';
  var T = en ? {
    legend: 'Choose a day and time',
    legendMove: 'Choose a new day and time',
    earlier: '◀ Earlier', later: 'Later ▶',
    none: 'Nothing is free this week; try the next one.',
    booked: 'Booked: ', moved: 'Moved to: ',
    taken: 'Someone else has just booked that time. The next free times:',
    failed: 'Could not book just now; please try again.',
    held: 'The time is held for 15 minutes: send the order to keep it.',
    confirmCancel: 'Cancel the booked time? It becomes free for others.'
  } : {
    legend: 'Оберіть день і час',
    legendMove: 'Оберіть новий день і час',
    earlier: '◀ Раніше', later: 'Пізніше ▶',
    none: 'Цього тижня вільного часу немає; спробуйте наступний.',
    booked: 'Записано: ', moved: 'Перенесено на: ',
    taken: 'Цей час щойно зайняв хтось інший. Найближчий вільний час:',
    failed: 'Не вдалося записати; спробуйте ще раз.',
    held: 'Час притримано на 15 хвилин: надішліть замовлення, щоб його зберегти.',
    confirmCancel: 'Скасувати запис? Цей час стане вільним для інших.'
  };
  var locale = en ? 'en-GB' : 'uk-UA';
  var bookable = {};
  var week = null;
  var zone = 'Europe/Kyiv';

  function label() {
    byId('slot-legend').textContent = onOrderPage ? T.legendMove : T.legend;
    byId('slot-earlier').textContent = T.earlier;
    byId('slot-later').textContent = T.later;
  }
  function serviceCode() {
    return onOrderPage ? byId('slot-picker').dataset.service : select.value;
  }
  function addDays(iso, n) {
    var d = new Date(iso + 'T12:00:00Z');
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }
  function dayLabel(iso) {
    return new Intl.DateTimeFormat(locale, { weekday: 'short', day: '2-digit', month: '2-digit', timeZone: 'UTC' })
      .format(new Date(iso + 'T12:00:00Z'));
  }
  function timeLabel(at) {
    return new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', timeZone: zone }).format(new Date(at));
  }
  function whenLabel(at) {
    return new Intl.DateTimeFormat(locale, { weekday: 'short', day: '2-digit', month: '2-digit', hour: '2-digit', minute: '2-digit', timeZone: zone })
      .format(new Date(at));
  }
  function button(text, onClick, className) {
    var b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    if (className) { b.className = className; }
    b.addEventListener('click', onClick);
    return b;
  }
  function say(text, className) {
    var status = byId('slot-status');
    status.textContent = text;
    status.className = 'slot-status ' + (className || '');
  }

  function showWeek(first) {
    var query = '?days=7' + (first ? '&from=' + first : '');
    fetch('/api/services/' + encodeURIComponent(serviceCode()) + '/slots' + query, { credentials: 'same-origin' })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (!data.days) { return; }
        zone = data.time_zone || zone;
        week = data.days.length ? data.days[0].date : first;
        // Nothing before today is offered: no way back past it.
        byId('slot-earlier').disabled = !first || first <= new Date().toISOString().slice(0, 10);
        byId('slot-week').textContent = data.days.length
          ? dayLabel(data.days[0].date) + ' – ' + dayLabel(data.days[data.days.length - 1].date) : '';
        var days = byId('slot-days');
        days.textContent = '';
        byId('slot-times').textContent = '';
        var any = false;
        data.days.forEach(function (day) {
          if (!day.slots.length) { return; }
          any = true;
          days.appendChild(button(dayLabel(day.date) + ' · ' + day.slots.length, function () {
            days.querySelectorAll('button').forEach(function (b) { b.classList.remove('chosen'); });
            this.classList.add('chosen');
            showTimes(day.slots);
          }, 'slot-day'));
        });
        if (!any) { days.textContent = T.none; }
      });
  }

  function showTimes(slots) {
    var times = byId('slot-times');
    times.textContent = '';
    slots.forEach(function (at) {
      times.appendChild(button(timeLabel(at), function () { book(at); }, 'slot-time'));
    });
  }

  function send(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      return r.json().then(function (b) { return { status: r.status, body: b }; });
    });
  }

  function book(at) {
    var held = byId('slot-booking').value;
    var url = held ? '/api/bookings/' + held + '/reschedule' : '/api/bookings';
    var body = held ? { starts_at: at } : { service_code: serviceCode(), starts_at: at };
    send('POST', url, body).then(function (answer) {
      if (answer.status === 200 || answer.status === 201) {
        if (onOrderPage) { window.location.reload(); return; }
        byId('slot-booking').value = answer.body.booking_id;
        say((held ? T.moved : T.booked) + whenLabel(answer.body.starts_at) + '. ' + T.held, 'done');
        byId('slot-times').textContent = '';
        return;
      }
      if (held && answer.status === 404 && !onOrderPage) {
        // The held time expired (or was cancelled): book the new choice afresh.
        byId('slot-booking').value = '';
        book(at);
        return;
      }
      if (answer.status === 409 && answer.body.next_free) {
        say(answer.body.next_free.length ? T.taken : answer.body.error.message, 'error');
        showTimes(answer.body.next_free);
        return;
      }
      say((answer.body.error && answer.body.error.message) || T.failed, 'error');
      showWeek(week);
    }).catch(function () { say(T.failed, 'error'); });
  }

  function update() {
    var picker = byId('slot-picker');
    if (!bookable[select.value]) { picker.hidden = true; return; }
    picker.hidden = false;
    say('');
    showWeek(null);
  }

  document.addEventListener('click', function (event) {
    var target = event.target;
    if (!(target instanceof HTMLElement)) { return; }
    if (target.id === 'slot-earlier' && week) { showWeek(addDays(week, -7)); }
    if (target.id === 'slot-later' && week) { showWeek(addDays(week, 7)); }
    if (target.id === 'reschedule-booking') {
      label();
      byId('slot-picker').hidden = false;
      say('');
      showWeek(null);
    }
    if (target.id === 'cancel-booking') {
      if (!window.confirm(T.confirmCancel)) { return; }
      send('DELETE', '/api/bookings/' + target.dataset.booking).then(function (answer) {
        if (answer.status === 200) { window.location.reload(); return; }
        window.alert((answer.body.error && answer.body.error.message) || T.failed);
      }).catch(function () { window.alert(T.failed); });
    }
  });

  label();
  if (onOrderPage) { return; }
  select.addEventListener('change', update);
  fetch('/api/catalogue?lang=' + (en ? 'en' : 'uk'), { credentials: 'same-origin' })
    .then(function (r) { return r.json(); })
    .then(function (catalogue) {
      (catalogue.services || []).forEach(function (s) { if (s.duration_minutes) { bookable[s.code] = s.duration_minutes; } });
      update();
    });
})();
