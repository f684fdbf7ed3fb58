// The desk's only script, served as /assets/desk.js (the Content-Security-Policy allows scripts
// from the desk itself and nothing inline). On the dashboard: when the server sends a `change`
// event, fetch the fragment and swap it in; the big-screen button asks for full screen.
(function () {
  var fs = document.getElementById('fullscreen');
  if (fs) fs.addEventListener('click', function () {
    if (document.documentElement.requestFullscreen) document.documentElement.requestFullscreen();
  });
  var box = document.getElementById('overview');
  if (!box || !window.EventSource) return;
  var src = box.getAttribute('data-fragment');
  var es = new EventSource('/events');
  es.addEventListener('change', function () {
    fetch(src, { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (t) { if (t !== null) box.innerHTML = t; });
  });
})();
