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
