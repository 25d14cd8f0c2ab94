
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
