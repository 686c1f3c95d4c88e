// Live updates for the gridcase console. One EventSource on /v1/changes per browser (the
// session cookie authenticates it), shared by its tabs; a change in a page's view refetches
// the page and swaps its #live section in place, so filters and half-typed forms outside it
// stay as they are.
(function () {
  'use strict';
  var body = document.body;
  var mode = body.dataset.live;
  if (!mode || !window.EventSource || !window.fetch) return;
  var status = document.getElementById('live-status');
  var timer = null;
  var opened = false;

  // Someone typing in the section (a resolution's note) keeps it until they are done.
  function busy() {
    var live = document.getElementById('live');
    var active = document.activeElement;
    if (live && active && live.contains(active) && active.form) return true;
    return !!live && Array.prototype.some.call(live.querySelectorAll('input:not([type=hidden])'), function (i) {
      return i.value !== '';
    });
  }

  function refresh() {
    timer = null;
    if (busy()) {
      if (status) status.classList.add('stale');
      timer = setTimeout(refresh, 2000);
      return;
    }
    fetch(location.href, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (r) {
        // The session ended: the page itself now leads to sign-in.
        if (r.redirected) {
          location.reload();
          throw new Error('signed out');
        }
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('live');
        var current = document.getElementById('live');
        if (!fresh || !current) return;
        // A row worked by keyboard (the callback worklist) keeps the focus across the refresh.
        var active = document.activeElement;
        var href = active && current.contains(active) ? active.getAttribute('href') : null;
        current.replaceWith(document.importNode(fresh, true));
        if (href) {
          var again = Array.prototype.filter.call(document.querySelectorAll('#live a[href]'), function (a) {
            return a.getAttribute('href') === href;
          })[0];
          if (again) again.focus();
        }
        document.getElementById('live').classList.add('flash');
        body.dataset.refreshed = String(Number(body.dataset.refreshed || 0) + 1);
        if (status) status.classList.remove('stale');
      })
      .catch(function () {
        if (status) status.classList.add('stale');
      });
  }

  // Changes come in bursts (a handheld's sync delivers many cases): one refetch per burst.
  function soon() {
    if (!timer) timer = setTimeout(refresh, 250);
  }

  function changed(data) {
    if (mode === 'list') return soon();
    try {
      if (JSON.parse(data).case === body.dataset.case) soon();
    } catch (_) {
      soon();
    }
  }

  // What the stream says, in this tab.
  function handle(kind, data) {
    if (kind === 'open') {
      if (status) status.classList.add('on');
      // After a reconnect (or a new tab taking the stream over), changes may have been missed.
      if (opened) soon();
      opened = true;
    } else if (kind === 'error') {
      if (status) status.classList.remove('on');
    } else if (kind === 'lagged') {
      soon();
    } else if (kind === 'case') {
      changed(data);
    }
  }

  // One stream per browser. A stream holds one of the browser's six HTTP/1.1 connections to
  // this server, so a stream per tab would stall the seventh tab. The tab holding the
  // 'gridcase-live' lock listens and tells the others over a BroadcastChannel; when it goes,
  // the lock and the stream pass to another tab.
  var channel = window.BroadcastChannel ? new BroadcastChannel('gridcase-live') : null;
  var source = null;
  var release = null;

  function publish(kind, data) {
    handle(kind, data);
    if (channel) channel.postMessage({ kind: kind, data: data });
  }

  function connect() {
    source = new EventSource('/v1/changes');
    source.addEventListener('open', function () { publish('open'); });
    source.addEventListener('error', function () { publish('error'); });
    source.addEventListener('case', function (e) { publish('case', e.data); });
    source.addEventListener('lagged', function () { publish('lagged'); });
  }

  function lead() {
    if (!channel || !navigator.locks) return connect();
    navigator.locks.request('gridcase-live', function () {
      connect();
      return new Promise(function (resolve) { release = resolve; });
    });
  }

  // Leaving the page gives the stream and the lock back (a page kept in the back/forward
  // cache would hold them otherwise); showing it again takes its turn once more.
  function leave() {
    if (source) source.close();
    source = null;
    if (release) release();
    release = null;
  }

  if (channel) {
    channel.onmessage = function (e) {
      var m = e.data || {};
      if (m.kind === 'hello') {
        if (source) channel.postMessage({ kind: source.readyState === 1 ? 'open' : 'error' });
      } else {
        handle(m.kind, m.data);
      }
    };
    // A tab that opens while another holds the stream asks whether it is up.
    channel.postMessage({ kind: 'hello' });
  }
  window.addEventListener('pagehide', leave);
  window.addEventListener('pageshow', function (e) {
    if (e.persisted && !source) lead();
  });
  lead();
})();

// Every page: the `n` key opens the new-case page where the header offers it (unless someone
// is typing), and signing out forgets this browser's new-case drafts, which hold callers'
// names and numbers.
(function () {
  'use strict';
  var link = document.getElementById('new-case');
  if (link) {
    document.addEventListener('keydown', function (e) {
      if (e.key !== 'n' && e.key !== 'N') return;
      if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing || e.defaultPrevented) return;
      var t = e.target;
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
      e.preventDefault();
      location.href = link.href;
    });
  }
  // A call attached to an open case (the desk's "attach" button) is done: its draft goes.
  var attached = document.querySelector('[data-forget-draft]');
  if (attached) {
    try {
      var tab = sessionStorage.getItem('gridcase-tab');
      var key = tab && 'gridcase-draft:' + tab;
      var draft = key && JSON.parse(localStorage.getItem(key));
      if (draft && draft.values && draft.values.token === attached.dataset.forgetDraft) {
        localStorage.removeItem(key);
      }
    } catch (_) { /* storage unavailable: nothing was kept */ }
  }
  var out = document.querySelector('form[action="/logout"]');
  if (out) {
    out.addEventListener('submit', function () {
      try {
        for (var i = localStorage.length - 1; i >= 0; i--) {
          var k = localStorage.key(i);
          if (k && k.indexOf('gridcase-draft:') === 0) localStorage.removeItem(k);
        }
      } catch (_) { /* storage unavailable: nothing was kept */ }
    });
  }
})();

// The new-case page, made for typing during a call: Enter moves to the next field (and saves
// in the last one; Ctrl+Enter saves anywhere), Esc clears a field, the address box searches
// the district's register as the operator types, the category and lead unit boxes search
// their lists, and what is typed is kept as a draft per tab until the case is saved.
(function () {
  'use strict';
  var form = document.getElementById('call-form');
  if (!form) return;
  var els = form.elements;
  // Set once the duplicates panel is ready: a pick asks it again.
  var duplicatesSoon = function () {};

  // The draft. The tab's id lives in sessionStorage (one per tab, kept across navigations and
  // reloads); the draft in localStorage (kept across a browser or server restart).
  var store = null;
  var key = null;
  try {
    store = window.localStorage;
    var tab = sessionStorage.getItem('gridcase-tab');
    if (!tab) {
      tab = Date.now().toString(36) + Math.random().toString(36).slice(2);
      sessionStorage.setItem('gridcase-tab', tab);
    }
    key = 'gridcase-draft:' + tab;
  } catch (_) {
    store = null;
  }

  function named() {
    return Array.prototype.filter.call(els, function (el) { return !!el.name; });
  }

  function snapshot() {
    var values = {};
    named().forEach(function (el) {
      if (el.type === 'checkbox') {
        values[el.name] = el.checked;
      } else if (el.multiple) {
        values[el.name] = Array.prototype.filter.call(el.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
      } else {
        values[el.name] = el.value;
      }
    });
    return values;
  }

  function apply(values) {
    named().forEach(function (el) {
      if (!Object.prototype.hasOwnProperty.call(values, el.name)) return;
      var v = values[el.name];
      if (el.type === 'checkbox') {
        el.checked = !!v;
      } else if (el.multiple) {
        Array.prototype.forEach.call(el.options, function (o) { o.selected = v.indexOf(o.value) >= 0; });
      } else {
        el.value = v;
      }
    });
  }

  // Whether a draft holds anything typed (a fresh form's defaults are not worth restoring).
  function typed(values) {
    return Object.keys(values).some(function (k) {
      var v = values[k];
      if (k === 'token' || k === 'callback' || k === 'level') return false;
      if (Array.isArray(v)) return v.length > 0;
      return v === true || (typeof v === 'string' && v.trim() !== '');
    });
  }

  function read() {
    try {
      var d = JSON.parse(store.getItem(key));
      return d && d.values ? d : null;
    } catch (_) {
      return null;
    }
  }

  function keep() {
    if (!store) return;
    try {
      store.setItem(key, JSON.stringify({ at: Date.now(), values: snapshot() }));
    } catch (_) { /* full or refused: the form itself still holds everything */ }
  }

  // An anonymous caller: name and phone are set aside (read-only and skipped by Tab, still
  // sent so that a refused form keeps them, and never stored: the server drops them), and
  // nobody can be called back.
  var anonymous = els.anonymous;
  function anonymity() {
    var on = anonymous.checked;
    [els.caller_name, els.phone, els.caller_address].forEach(function (el) {
      el.readOnly = on;
      el.tabIndex = on ? -1 : 0;
    });
    if (on) els.callback.value = 'no';
    els.callback.disabled = on;
  }
  anonymous.addEventListener('change', anonymity);

  var grid = els.grid;
  var place = document.getElementById('place');
  function showPlace() {
    var o = grid.options[grid.selectedIndex];
    place.textContent = (o && o.dataset.path) || '—';
  }
  grid.addEventListener('change', showPlace);

  var saved = form.dataset.saved;
  var draft = store ? read() : null;
  if (draft && saved && draft.values.token === saved) {
    store.removeItem(key);
    draft = null;
  }
  if (form.dataset.draft === 'restore' && draft && typed(draft.values)) {
    apply(draft.values);
    var note = document.getElementById('draft-restored');
    if (note) note.hidden = false;
  } else if (form.dataset.draft === 'keep') {
    // A refused form, as the server sent it back: exactly what was typed.
    keep();
  }
  anonymity();
  showPlace();
  form.addEventListener('input', keep);
  form.addEventListener('change', keep);

  // The fields in the order of the call, as Tab visits them.
  function fields() {
    return Array.prototype.filter.call(els, function (el) {
      return el.type !== 'hidden' && !el.disabled && el.tabIndex >= 0 &&
        el.tagName !== 'BUTTON' && el.tagName !== 'FIELDSET' && el.getClientRects().length > 0;
    });
  }

  function next(from) {
    var all = fields();
    var to = all[all.indexOf(from) + 1];
    if (to) to.focus();
  }

  var sending = 0;
  function submit() {
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }
  // A double click or a second Enter sends nothing more (the server would answer with the
  // same case anyway); after a few seconds, or back from another page, sending works again.
  form.addEventListener('submit', function (e) {
    if (Date.now() - sending < 3000) {
      e.preventDefault();
      return;
    }
    keep();
    sending = Date.now();
  });
  window.addEventListener('pageshow', function () { sending = 0; });

  function clear(el) {
    if (el.tagName === 'SELECT') {
      if (el.multiple) {
        Array.prototype.forEach.call(el.options, function (o) { o.selected = false; });
      } else {
        el.selectedIndex = 0;
      }
    } else if (el.type === 'checkbox') {
      el.checked = false;
    } else if (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA') {
      el.value = '';
    } else {
      return;
    }
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }

  form.addEventListener('keydown', function (e) {
    // The input method is still choosing characters: its Enter and Esc are its own.
    if (e.isComposing || e.keyCode === 229 || e.defaultPrevented) return;
    var el = e.target;
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      submit();
    } else if (e.key === 'Enter') {
      if (el.tagName === 'TEXTAREA' || el.tagName === 'BUTTON') return;
      e.preventDefault();
      if (el.hasAttribute('data-last')) submit(); else next(el);
    } else if (e.key === 'Escape') {
      clear(el);
    }
  });

  // A box with a list of matches under it (ARIA combobox): arrows move, Enter picks (the
  // first match when none is marked), Esc closes, a click picks. `source(q, done)` finds the
  // matches; only the answer to the latest question is shown.
  function combo(input, list, source, pick) {
    var items = [];
    var active = -1;
    var asked = 0;
    function close() {
      list.hidden = true;
      list.textContent = '';
      input.setAttribute('aria-expanded', 'false');
      input.removeAttribute('aria-activedescendant');
      items = [];
      active = -1;
    }
    function mark(i) {
      active = i;
      Array.prototype.forEach.call(list.children, function (li, j) {
        li.setAttribute('aria-selected', j === i ? 'true' : 'false');
        if (j === i) {
          input.setAttribute('aria-activedescendant', li.id);
          li.scrollIntoView({ block: 'nearest' });
        }
      });
    }
    function choose(i) {
      var item = items[i];
      close();
      if (item) pick(item);
    }
    function show(found) {
      close();
      items = found;
      if (!found.length) {
        var none = document.createElement('li');
        none.className = 'none';
        none.textContent = form.dataset.noMatch || '—';
        list.appendChild(none);
      }
      found.forEach(function (item, i) {
        var li = document.createElement('li');
        li.id = list.id + '-' + i;
        li.setAttribute('role', 'option');
        li.setAttribute('aria-selected', 'false');
        li.textContent = item.label;
        if (item.detail) {
          var detail = document.createElement('span');
          detail.className = 'detail';
          detail.textContent = item.detail;
          li.appendChild(detail);
        }
        // Before the box loses focus, so the pick is not lost to the blur.
        li.addEventListener('mousedown', function (e) {
          e.preventDefault();
          choose(i);
        });
        list.appendChild(li);
      });
      list.hidden = false;
      input.setAttribute('aria-expanded', 'true');
    }
    function ask() {
      var q = input.value.trim();
      var mine = ++asked;
      if (!q) {
        close();
        return;
      }
      source(q, function (found) {
        if (mine === asked && document.activeElement === input) show(found);
      });
    }
    input.addEventListener('input', ask);
    input.addEventListener('blur', close);
    input.addEventListener('keydown', function (e) {
      if (e.isComposing || e.keyCode === 229) return;
      if (list.hidden) {
        if (e.key === 'ArrowDown' && input.value.trim()) {
          e.preventDefault();
          ask();
        }
        return;
      }
      if (e.key === 'ArrowDown') {
        e.preventDefault();
        mark(Math.min(active + 1, items.length - 1));
      } else if (e.key === 'ArrowUp') {
        e.preventDefault();
        mark(Math.max(active - 1, 0));
      } else if (e.key === 'Enter' && !(e.ctrlKey || e.metaKey)) {
        if (items.length) {
          e.preventDefault();
          choose(active < 0 ? 0 : active);
        } else {
          close();
        }
      } else if (e.key === 'Escape') {
        e.preventDefault();
        close();
      }
    });
  }

  // The address register, asked as the operator types (a pause of 200 ms first, so a burst
  // of keys asks once). A pick fills the grid, and with it the street and community.
  var address = els.address;
  var wait = null;
  combo(address, document.getElementById('address-options'), function (q, done) {
    clearTimeout(wait);
    wait = setTimeout(function () {
      var url = address.dataset.search + '?limit=8&q=' + encodeURIComponent(q);
      fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (found) {
          done(found.map(function (a) {
            return { label: a.text, detail: a.street_name + ' / ' + a.community_name + ' / ' + a.grid_name, address: a };
          }));
        })
        .catch(function () { done([]); });
    }, 200);
  }, function (item) {
    address.value = item.label;
    address.dataset.picked = item.label;
    grid.value = item.address.grid;
    showPlace();
    keep();
    duplicatesSoon();
    var after = document.getElementById(address.dataset.next);
    if (after) after.focus(); else next(address);
  });
  // An address typed over a picked one no longer names the picked grid.
  address.addEventListener('input', function () {
    if (address.dataset.picked && address.value !== address.dataset.picked) {
      delete address.dataset.picked;
      grid.value = '';
      showPlace();
    }
  });

  // Category and lead unit: the page's own list over the datalist the server rendered (the
  // browser's popup would take Enter and the arrows from the keyboard rules above).
  ['category', 'lead'].forEach(function (name) {
    var input = els[name];
    var options = document.getElementById(input.getAttribute('list'));
    if (!options) return;
    var values = Array.prototype.map.call(options.options, function (o) { return o.value; });
    var list = document.createElement('ul');
    list.id = options.id + '-options';
    list.className = 'options';
    list.setAttribute('role', 'listbox');
    list.hidden = true;
    input.parentNode.appendChild(list);
    input.removeAttribute('list');
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-expanded', 'false');
    input.setAttribute('aria-controls', list.id);
    combo(input, list, function (q, done) {
      var words = q.toLowerCase().split(/\s+/);
      done(values.filter(function (v) {
        var text = v.toLowerCase();
        return words.every(function (w) { return text.indexOf(w) >= 0; });
      }).slice(0, 8).map(function (v) { return { label: v }; }));
    }, function (item) {
      input.value = item.label;
      keep();
      next(input);
      if (name === 'category') duplicatesSoon();
    });
  });

  // 直接答复: offered for a consultation; the answer box shows once it is chosen (or holds a
  // refusal to read).
  var answerChoice = document.getElementById('answer-choice');
  var answerField = els.answer && els.answer.closest('.field');
  function answering() {
    if (!answerChoice || !answerField) return;
    var on = els.answer_directly.checked;
    answerChoice.hidden = !(on || els.business_type.value === 'consultation');
    answerField.hidden = !(on || els.answer.getAttribute('aria-invalid') === 'true');
  }
  els.answer_directly.addEventListener('change', answering);
  els.business_type.addEventListener('change', answering);
  answering();

  // The panels beside the form. Each asks the JSON API after a pause in typing (300 ms), and
  // shows only the answer to its latest question.
  var hints = document.getElementById('hints');
  var words = {};
  try { words = JSON.parse(hints.dataset.words); } catch (_) { words = {}; }
  var categoryNames = {};
  var listed = document.getElementById('categories');
  if (listed) {
    Array.prototype.forEach.call(listed.options, function (o) {
      categoryNames[o.value.split(' ')[0]] = o.value;
    });
  }

  // District time (UTC+8) as the server writes it: "2026-11-30 10:42".
  function when(ms) {
    return new Date(ms + 8 * 3600000).toISOString().slice(0, 16).replace('T', ' ');
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function excerpt(text, n) {
    return text.length > n ? text.slice(0, n) + '…' : text;
  }
  // A case as a row of a panel: its number (opening the case in a new tab, so the call stays
  // on this one), status, when it was taken, and what it is about.
  function caseRow(item) {
    var li = el('li');
    li.dataset.case = item.id;
    var head = el('div', 'head');
    var a = el('a', 'number', item.number || item.id);
    a.href = '/cases/' + item.id;
    a.target = '_blank';
    a.rel = 'noopener';
    a.title = words.new_tab || '';
    head.appendChild(a);
    head.appendChild(el('span', 'status ' + (item.status || ''), (words.statuses || {})[item.status] || item.status || '—'));
    head.appendChild(el('span', 'time', when(item.created_at)));
    li.appendChild(head);
    li.appendChild(el('div', 'desc', excerpt(item.description || '', 60)));
    return li;
  }
  function show(section, items, none, build) {
    var waiting = section.querySelector('.waiting');
    var list = section.querySelector('ol.found');
    list.textContent = '';
    if (items === null) {
      waiting.hidden = false;
      section.classList.remove('found');
      return;
    }
    waiting.hidden = true;
    if (!items.length) list.appendChild(el('li', 'none', none));
    items.forEach(function (item) { list.appendChild(build(item)); });
    section.classList.toggle('found', items.length > 0);
  }
  function ask(url, done) {
    fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(done)
      .catch(function () { done(null); });
  }
  function panel(section, query, none, build, filter) {
    var timer = null;
    var asked = 0;
    var last = null;
    function run() {
      var q = query();
      if (q === last) return;
      last = q;
      var mine = ++asked;
      if (q === null) return show(section, null);
      ask(section.dataset.search + '?' + q, function (found) {
        if (mine !== asked) return;
        if (!Array.isArray(found)) return show(section, null);
        show(section, filter ? found.filter(filter) : found, none, build);
      });
    }
    return {
      soon: function () {
        clearTimeout(timer);
        timer = setTimeout(run, 300);
      },
      again: function () { last = null; run(); }
    };
  }

  // A repeat caller: the number's earlier cases in the viewer's scope.
  var repeat = panel(document.getElementById('repeat-caller'), function () {
    var phone = els.phone.value.trim();
    if (anonymous.checked || phone.replace(/\D/g, '').length < 10) return null;
    return 'limit=5&phone=' + encodeURIComponent(phone);
  }, words.repeat_none, caseRow);
  els.phone.addEventListener('input', repeat.soon);
  anonymous.addEventListener('change', repeat.soon);

  // Duplicates: open cases of the category near the place. Each can take this call as
  // another caller (the button posts this form to that case) or be set aside for this call.
  var declined = {};
  var duplicatesSection = document.getElementById('duplicates');
  function categoryCode() {
    var typed = els.category.value.trim();
    var first = typed.split(/\s+/)[0].toUpperCase();
    if (/^[CE]\d{4}$/.test(first)) return first;
    var named = Object.keys(categoryNames).filter(function (code) {
      return categoryNames[code].slice(code.length + 1) === typed;
    });
    return named[0] || null;
  }
  var duplicates = panel(duplicatesSection, function () {
    var code = categoryCode();
    var address = els.address.value.trim();
    var lon = els.lon.value.trim();
    var lat = els.lat.value.trim();
    var point = lon !== '' && lat !== '' && isFinite(lon) && isFinite(lat);
    if (!code || (!address && !point)) return null;
    var q = 'category=' + code;
    if (point) q += '&lon=' + encodeURIComponent(lon) + '&lat=' + encodeURIComponent(lat);
    if (address) q += '&address=' + encodeURIComponent(address);
    return q;
  }, words.duplicates_none, function (item) {
    var li = caseRow(item);
    var where = el('div', 'where');
    where.textContent = [categoryNames[item.category] || item.category, item.address,
      item.same_address ? words.same_address
        : (item.distance_m != null ? (words.metres || '{m}').replace('{m}', Math.round(item.distance_m)) : '')]
      .filter(function (x) { return !!x; }).join(' · ');
    li.insertBefore(where, li.lastChild);
    var act = el('div', 'act');
    var attach = el('button', 'attach', words.attach);
    attach.type = 'submit';
    attach.name = 'from';
    attach.value = 'desk';
    attach.setAttribute('formaction', '/cases/' + item.id + '/callers');
    attach.setAttribute('formmethod', 'post');
    var no = el('button', 'not-same button', words.not_same);
    no.type = 'button';
    no.addEventListener('click', function () {
      declined[item.id] = true;
      var after = li.nextElementSibling && li.nextElementSibling.querySelector('button');
      var list = li.parentNode;
      li.remove();
      if (!list.children.length) {
        list.appendChild(el('li', 'none', words.duplicates_none));
        duplicatesSection.classList.remove('found');
      }
      // Back to the call: the next suggestion, else where the call goes on.
      (after || document.getElementById('save')).focus();
    });
    act.appendChild(attach);
    act.appendChild(no);
    li.appendChild(act);
    return li;
  }, function (item) { return !declined[item.id]; });
  duplicatesSoon = duplicates.soon;
  ['category', 'address', 'lon', 'lat'].forEach(function (name) {
    els[name].addEventListener('input', duplicates.soon);
  });
  // A draft restored or a refused form: what it holds is asked at once.
  repeat.again();
  duplicates.again();
})();

// Lists worked row by row (the callback worklist): j / k or the arrows move between the rows'
// links, Enter opens one (a link's own Enter).
(function () {
  'use strict';
  if (!document.querySelector('table[data-rows]')) return;
  document.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing || e.defaultPrevented) return;
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    var step = { j: 1, ArrowDown: 1, k: -1, ArrowUp: -1 }[e.key];
    if (!step) return;
    var links = Array.prototype.slice.call(document.querySelectorAll('table[data-rows] a.row-link'));
    if (!links.length) return;
    e.preventDefault();
    var at = links.indexOf(document.activeElement);
    var to = at < 0 ? (step > 0 ? 0 : links.length - 1) : Math.min(Math.max(at + step, 0), links.length - 1);
    links[to].focus();
  });
})();

// The case page's forms: one send per click (a double click would record a callback twice),
// the callback form opened from the worklist takes the focus, and a caller not reached gave
// no answer (those fields are set aside and not sent).
(function () {
  'use strict';
  Array.prototype.forEach.call(document.querySelectorAll('form.action'), function (form) {
    var sent = 0;
    form.addEventListener('submit', function (e) {
      if (Date.now() - sent < 3000) e.preventDefault(); else sent = Date.now();
    });
    window.addEventListener('pageshow', function () { sent = 0; });
  });
  var callback = document.getElementById('callback');
  if (!callback) return;
  var els = callback.elements;
  function reached() {
    var no = els.reached.value === 'no';
    ['satisfaction', 'solved', 'follow_up'].forEach(function (name) {
      if (els[name]) els[name].disabled = no;
    });
  }
  els.reached.addEventListener('change', reached);
  reached();
  // Opened at #callback (the worklist's links): the browser focuses the form itself once the
  // page is laid out (it can take the focus: tabindex -1); the focus goes on to its first field.
  callback.addEventListener('focus', function (e) {
    if (e.target === callback) els.caller.focus();
  });
  if (location.hash === '#callback') els.caller.focus();
})();
