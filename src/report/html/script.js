(function () {
  var table = document.getElementById('race');
  var heads = table.tHead.rows[0].cells;
  function key(cell) {
    var v = cell.getAttribute('data-v');
    if (v === null || v === '') return null;
    var n = Number(v);
    return isNaN(n) ? v : n;
  }
  function sortBy(i) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var dir = heads[i].getAttribute('aria-sort') === 'ascending' ? -1 : 1;
    for (var j = 0; j < heads.length; j++) heads[j].removeAttribute('aria-sort');
    heads[i].setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
    rows.sort(function (a, b) {
      var x = key(a.cells[i]), y = key(b.cells[i]);
      if (x === null && y === null) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      if (typeof x === 'number' && typeof y === 'number') return (x - y) * dir;
      return String(x).localeCompare(String(y)) * dir;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  Array.prototype.forEach.call(heads, function (th, i) {
    th.addEventListener('click', function () { sortBy(i); });
  });
  var box = document.getElementById('shared-scale');
  function scale() {
    document.body.classList.toggle('shared', box.checked);
    document.querySelectorAll('g.scaled').forEach(function (g) {
      if (box.checked) g.setAttribute('transform', 'scale(' + g.getAttribute('data-k') + ',1)');
      else g.removeAttribute('transform');
    });
  }
  if (box) {
    box.addEventListener('change', scale);
    scale();
  }
  document.getElementById('count').textContent = String(table.tBodies[0].rows.length);
  document.getElementById('drawn').textContent =
    String(document.querySelectorAll('figure.timeline svg').length);
  document.body.setAttribute('data-ready', '1');
})();
