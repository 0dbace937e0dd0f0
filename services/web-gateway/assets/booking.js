// The portal's day → time picker for bookable services (issue 15): when the new-order
// form's service has a duration, shows a week of days with free times (from
// /api/services/{code}/slots, in the business's time zone), then a day's times; a time is
// booked at once through /api/bookings (or the booking moved, if one is held already), and
// its id goes with the order in the hidden `booking` field. Someone faster: the customer is
// told and offered the next free times. A time is held 15 minutes from the last choice
// unless the order is sent; a hold that expired meanwhile is booked anew on the next
// choice. Texts in Ukrainian and English, by the page's lang.
(function () {
  'use strict';
  var picker = document.getElementById('slot-picker');
  var select = document.getElementById('service');
  if (!picker || !select) { return; }
  var en = document.documentElement.lang === 'en';
  var T = en ? {
    legend: 'Choose a day and time',
    earlier: '◀ Earlier', later: 'Later ▶',
    none: 'Nothing is free this week; try the next one.',
    booked: 'Booked: ', moved: 'Moved to: ',
    taken: 'Someone else has just booked that time. The next free times:',
    failed: 'Could not book just now; please try again.',
    held: 'The time is held for 15 minutes: send the order to keep it.'
  } : {
    legend: 'Оберіть день і час',
    earlier: '◀ Раніше', later: 'Пізніше ▶',
    none: 'Цього тижня вільного часу немає; спробуйте наступний.',
    booked: 'Записано: ', moved: 'Перенесено на: ',
    taken: 'Цей час щойно зайняв хтось інший. Найближчий вільний час:',
    failed: 'Не вдалося записати; спробуйте ще раз.',
    held: 'Час притримано на 15 хвилин: надішліть замовлення, щоб його зберегти.'
  };
  var locale = en ? 'en-GB' : 'uk-UA';
  var byId = function (id) { return document.getElementById(id); };
  var days = byId('slot-days');
  var times = byId('slot-times');
  var status = byId('slot-status');
  var booking = byId('slot-booking');
  byId('slot-legend').textContent = T.legend;
  byId('slot-earlier').textContent = T.earlier;
  byId('slot-later').textContent = T.later;
  var bookable = {};
  var week = null;
  var zone = 'Europe/Kyiv';

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
  function button(label, onClick, className) {
    var b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    if (className) { b.className = className; }
    b.addEventListener('click', onClick);
    return b;
  }

  function showWeek(first) {
    var code = select.value;
    var query = '?days=7' + (first ? '&from=' + first : '');
    fetch('/api/services/' + encodeURIComponent(code) + '/slots' + query, { credentials: 'same-origin' })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (!data.days) { return; }
        zone = data.time_zone || zone;
        week = data.days.length ? data.days[0].date : first;
        // Nothing before today is offered: no way back past it.
        byId('slot-earlier').disabled = !first || first <= new Date().toISOString().slice(0, 10);
        byId('slot-week').textContent = data.days.length
          ? dayLabel(data.days[0].date) + ' – ' + dayLabel(data.days[data.days.length - 1].date) : '';
        days.textContent = '';
        times.textContent = '';
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
    times.textContent = '';
    slots.forEach(function (at) {
      times.appendChild(button(timeLabel(at), function () { book(at); }, 'slot-time'));
    });
  }

  function book(at) {
    var held = booking.value;
    var url = held ? '/api/bookings/' + held + '/reschedule' : '/api/bookings';
    var body = held ? { starts_at: at } : { service_code: select.value, starts_at: at };
    fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (b) { return { status: r.status, body: b }; });
    }).then(function (answer) {
      if (answer.status === 200 || answer.status === 201) {
        booking.value = answer.body.booking_id;
        status.textContent = (held ? T.moved : T.booked) + whenLabel(answer.body.starts_at) + '. ' + T.held;
        status.className = 'slot-status done';
        times.textContent = '';
        return;
      }
      if (held && answer.status === 404) {
        // The held time expired (or was cancelled): book the new choice afresh.
        booking.value = '';
        book(at);
        return;
      }
      status.className = 'slot-status error';
      if (answer.status === 409 && answer.body.next_free) {
        status.textContent = answer.body.next_free.length ? T.taken : answer.body.error.message;
        showTimes(answer.body.next_free);
        return;
      }
      status.textContent = (answer.body.error && answer.body.error.message) || T.failed;
      showWeek(week);
    }).catch(function () {
      status.className = 'slot-status error';
      status.textContent = T.failed;
    });
  }

  function update() {
    if (!bookable[select.value]) { picker.hidden = true; return; }
    picker.hidden = false;
    status.textContent = '';
    showWeek(null);
  }

  byId('slot-earlier').addEventListener('click', function () { if (week) { showWeek(addDays(week, -7)); } });
  byId('slot-later').addEventListener('click', function () { if (week) { showWeek(addDays(week, 7)); } });
  select.addEventListener('change', update);
  fetch('/api/catalogue?lang=' + (en ? 'en' : 'uk'), { credentials: 'same-origin' })
    .then(function (r) { return r.json(); })
    .then(function (catalogue) {
      (catalogue.services || []).forEach(function (s) { if (s.duration_minutes) { bookable[s.code] = s.duration_minutes; } });
      update();
    });
})();
