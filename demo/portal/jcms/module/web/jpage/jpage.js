/* JCMS 分页 (jpage), demo version. The column page carries the first group of records in a
   <script type="text/xml"><datastore> inside the container; jpage shows them page by page and, past the
   group, POSTs dataproxy.jsp?startrecord=N&endrecord=M&perpage=P with the column's parameters
   (ajaxParam) as the form body, which answers with the next group's <record>s. */
(function ($) {
  function records(xmlText) {
    var doc = new DOMParser().parseFromString(xmlText, 'text/xml');
    return Array.prototype.map.call(doc.getElementsByTagName('record'), function (r) { return r.textContent; });
  }
  $.fn.jpage = function (o) {
    var box = this.el;
    var store = box.querySelector('script[type="text/xml"]');
    var data = records(store ? store.textContent : '<datastore></datastore>');
    var total = o.totalRecord || 0, per = o.perPage || 15, group = o.groupSize || 3, page = 1;
    var pages = Math.max(1, Math.ceil(total / per));
    var list = document.createElement('div'), bar = document.createElement('div');
    bar.className = 'default_pgContainer';
    box.appendChild(list);
    box.appendChild(bar);

    function load(then) {
      var start = data.length + 1, end = Math.min(total, data.length + group * per);
      var body = Object.keys(o.ajaxParam || {}).map(function (k) {
        return encodeURIComponent(k) + '=' + encodeURIComponent(o.ajaxParam[k]);
      }).join('&');
      var xhr = new XMLHttpRequest();
      xhr.open('POST', o.proxyUrl + '?startrecord=' + start + '&endrecord=' + end + '&perpage=' + per);
      xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
      xhr.onload = function () { data = data.concat(records(xhr.responseText)); then(); };
      xhr.send(body);
    }
    function button(text, target) {
      var a = document.createElement('a');
      a.href = 'javascript:;';
      a.textContent = text;
      a.onclick = function () { page = target; show(); };
      bar.appendChild(a);
    }
    function show() {
      var first = (page - 1) * per;
      if (first >= data.length && data.length < total) { load(show); return; }
      list.innerHTML = (o.dataBefore || '') + data.slice(first, first + per).join('') + (o.dataAfter || '');
      bar.textContent = '共' + total + '条记录 第' + page + '/' + pages + '页 ';
      if (page > 1) { button('上一页', page - 1); }
      if (page < pages) { button('下一页', page + 1); }
    }
    show();
    return this;
  };
})(jQuery);
