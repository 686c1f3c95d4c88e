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
        current.replaceWith(document.importNode(fresh, true));
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
    [els.caller_name, els.phone].forEach(function (el) {
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
    });
  });
})();
