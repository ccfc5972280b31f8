/* analytics.js: a tiny browser tracker for the analytics collector (POST /v1/events). Plain JS, no build step.
 *   analytics.init({endpoint: "https://collect.example.com", writeKey: "...", app: "shop-web"})
 *   analytics.identify("user-42", "Ada");  analytics.track("page_viewed", {path: location.pathname})
 * Events wait in localStorage (capped, oldest dropped first and counted) until the collector answers 202,
 * so a reload, a closed tab or going offline loses nothing; a repeat is harmless (the worker de-duplicates
 * on event_id). See doc/producers.md. */
(function (w) {
  var BUDGET = 60000; // bytes: browsers allow ~64 KB for all of a page's keepalive/beacon requests together
  var c, user = {}, mem = [], timer = 0, flying = 0, sent = {}, wait = 0, until = 0;

  function get(k, d) { try { return JSON.parse(localStorage.getItem(k)) || d; } catch (e) { return d; } }
  function put(k, v) { try { localStorage.setItem(k, JSON.stringify(v)); return 1; } catch (e) { return 0; } }
  function queue() { return get(c.key, mem); }
  function count(name, n) {
    var s = get(c.key + ":stats", {});
    s[name] = (s[name] || 0) + n;
    put(c.key + ":stats", s);
  }
  function store(q) { // never let a blocked collector fill localStorage and break the host page
    var n = Math.max(0, q.length - c.maxQueue);
    while (true) {
      if (n) { q.splice(0, n); count("dropped", n); }
      mem = q;
      if (put(c.key, q) || !q.length) return;
      n = Math.ceil(q.length / 10);
    }
  }
  function forget(ids) { store(queue().filter(function (e) { return ids.indexOf(e.event_id) < 0; })); }
  function size(x) { return new Blob([JSON.stringify(x)]).size; }
  function url() {
    return c.endpoint.replace(/\/+$/, "") + "/v1/events?key=" + encodeURIComponent(c.writeKey) +
      "&sent_at=" + encodeURIComponent(new Date().toISOString());
  }
  // The oldest unsent events, at most max of them and bytes in all; one too large to ever send is dropped.
  function take(max, bytes) {
    var out = [], total = 2, big = [];
    queue().some(function (e) {
      if (sent[e.event_id]) return;
      var n = size(e) + 1;
      if (n + 2 > BUDGET) { big.push(e.event_id); return; }
      if (out.length >= max || total + n > bytes) return true;
      out.push(e); total += n;
    });
    if (big.length) { count("dropped", big.length); forget(big); }
    return out;
  }
  function ids(batch) { return batch.map(function (e) { return e.event_id; }); }
  function later(ms) { if (!timer) timer = setTimeout(flush, Math.max(0, ms)); }
  function retry(after) {
    wait = Math.min(60000, wait ? wait * 2 : 1000);
    until = Date.now() + (after > 0 ? after * 1000 : wait * (0.5 + Math.random() / 2));
    later(until - Date.now());
  }

  function flush() {
    clearTimeout(timer); timer = 0;
    if (!c || flying) return;
    if (Date.now() < until || navigator.onLine === false) return later(Math.max(until - Date.now(), 1000));
    var batch = take(c.batchSize, BUDGET), done = ids(batch);
    if (!batch.length) return;
    done.forEach(function (i) { sent[i] = 1; });
    flying = size(batch);
    fetch(url(), { method: "POST", body: JSON.stringify(batch), keepalive: true, credentials: "omit" }).then(function (r) {
      var s = r.status;
      if (s == 202 || (s >= 400 && s < 500 && s != 408 && s != 429)) { // 4xx: sending it again cannot help
        if (s != 202) count("rejected", batch.length);
        forget(done); wait = 0;
      } else retry(+r.headers.get("Retry-After"));
    }, function () { retry(); }).then(function () {
      done.forEach(function (i) { delete sent[i]; });
      flying = 0;
      if (take(1, BUDGET).length) later(Date.now() < until ? until - Date.now() : 0);
    });
  }

  // Page hidden or going away: beacons for what is left, under the budget that the in-flight fetch leaves.
  // The events stay stored until a 202 is seen, so the next page load sends again what a beacon may have lost.
  function beacon() {
    if (!c || navigator.onLine === false || !navigator.sendBeacon) return;
    var left = BUDGET - flying, batch;
    while ((batch = take(c.batchSize * 5, left)).length && navigator.sendBeacon(url(), JSON.stringify(batch))) {
      ids(batch).forEach(function (i) { sent[i] = 2; });
      left -= size(batch);
    }
  }

  w.analytics = {
    init: function (o) {
      c = { batchSize: 20, flushInterval: 1000, maxQueue: 1000 };
      for (var k in o) c[k] = o[k];
      c.key = "analytics:" + c.writeKey;
      user = get(c.key + ":user", {});
      mem = [];
      addEventListener("visibilitychange", function () {
        if (document.visibilityState == "hidden") beacon();
        else { for (var i in sent) if (sent[i] == 2) delete sent[i]; later(0); }
      });
      addEventListener("pagehide", beacon);
      addEventListener("online", function () { until = 0; later(0); });
      later(0);
    },
    identify: function (id, name) {
      user = { user_id: id, user_name: name };
      put(c.key + ":user", user);
    },
    track: function (type, properties) {
      var q = queue(), e = {
        event_id: crypto.randomUUID ? crypto.randomUUID() : Date.now() + "-" + Math.random().toString(36).slice(2),
        event_timestamp: new Date().toISOString(), event_type: type, app_title: c.app, app_version: c.appVersion,
        user_id: user.user_id, user_name: user.user_name, meta: properties
      };
      q.push(e);
      store(q);
      q.length >= c.batchSize ? flush() : later(c.flushInterval);
      return e.event_id;
    },
    flush: flush,
    stats: function () { var s = get(c.key + ":stats", {}); s.queued = queue().length; return s; }
  };
})(window);
