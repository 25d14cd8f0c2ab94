"""The stylesheet and script of the site (``site.css``, ``site.js``; no CDN, works from file://).

Clicking a header of a ``table.sortable`` sorts its rows by the cells'
``data-v`` (numbers; empty cells last), best first on the first click (the
column's ``data-dir``: ``up`` = higher is better), reversed on the next. A page
opened with ``#click=T,C;T,C`` clicks header C of sortable table T once per
pair after loading (used by the browser test).
"""

CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em auto; max-width: 1400px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; white-space: nowrap; }
th { background: #f0f3f7; cursor: pointer; user-select: none; }
th.sorted-asc::after { content: " \\25B2"; } th.sorted-desc::after { content: " \\25BC"; }
td:first-child, th:first-child { text-align: left; }
td.best { font-weight: bold; background: #e6f4ea; }
tr.reference td { font-style: italic; color: #555; background: #f7f7f7; }
tr.uninformative td { color: #777; }
td.not_applicable { color: #888; } td.failed, td.invalid { color: #b00020; }
td[title] { cursor: help; }
.notes { font-size: 12px; color: #555; }
.logos img, .plot img { max-width: 100%; border: 1px solid #eee; }
nav a { margin-right: 1em; }
"""

JS = """
(function () {
  function key(td) {
    var v = td.getAttribute('data-v');
    return v === null || v === '' ? null : parseFloat(v);
  }
  function sortBy(th) {
    var table = th.closest('table'), body = table.tBodies[0];
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var first = col === 0 || th.getAttribute('data-dir') !== 'up';
    var asc = th.classList.contains('sorted-asc') ? false :
              th.classList.contains('sorted-desc') ? true : first;
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col], y = b.cells[col];
      if (col === 0) { return (asc ? 1 : -1) * x.textContent.localeCompare(y.textContent); }
      var p = key(x), q = key(y);
      if (p === null && q === null) { return 0; }
      if (p === null) { return 1; }
      if (q === null) { return -1; }
      return asc ? p - q : q - p;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(th.parentNode.children, function (h) {
      h.classList.remove('sorted-asc', 'sorted-desc');
    });
    th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
  }
  document.addEventListener('DOMContentLoaded', function () {
    var tables = document.querySelectorAll('table.sortable');
    Array.prototype.forEach.call(tables, function (t) {
      Array.prototype.forEach.call(t.tHead.rows[0].cells, function (th) {
        th.addEventListener('click', function () { sortBy(th); });
      });
    });
    var m = /#click=([0-9,;]+)/.exec(location.hash);
    if (m) {
      m[1].split(';').forEach(function (pair) {
        var tc = pair.split(',');
        tables[+tc[0]].tHead.rows[0].cells[+tc[1]].click();
      });
      document.body.setAttribute('data-clicked', m[1]);
    }
  });
})();
"""
