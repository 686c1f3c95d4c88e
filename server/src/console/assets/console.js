// Live updates for the gridcase console. One EventSource on /v1/changes (the session cookie
// authenticates it); a change in the page's view refetches the page and swaps its #live
// section in place, so filters and half-typed forms outside it stay as they are.
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

  var source = null;
  function connect() {
    source = new EventSource('/v1/changes');
    source.addEventListener('open', onOpen);
    source.addEventListener('error', function () {
      if (status) status.classList.remove('on');
    });
    source.addEventListener('case', changed);
    source.addEventListener('lagged', soon);
  }

  function onOpen() {
    if (status) status.classList.add('on');
    // After a reconnect, changes may have been missed while away.
    if (opened) soon();
    opened = true;
  }

  function changed(e) {
    if (mode === 'list') return soon();
    try {
      if (JSON.parse(e.data).case === body.dataset.case) soon();
    } catch (_) {
      soon();
    }
  }

  // A stream holds one of the browser's six HTTP/1.1 connections to this server. Give it back
  // when the page is left (a page kept in the back/forward cache would hold it otherwise), and
  // reconnect if the page is shown again.
  window.addEventListener('pagehide', function () {
    if (source) source.close();
    source = null;
  });
  window.addEventListener('pageshow', function (e) {
    if (e.persisted && !source) connect();
  });
  connect();
})();
