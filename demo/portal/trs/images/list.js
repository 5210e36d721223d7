// Column lists drawn in the browser from the 信息公开平台's JSON: inline (drawList) or fetched (loadList).
function drawList(id, data) {
  var ul = document.getElementById(id), html = "";
  for (var i = 0; i < data.length; i++) {
    html += "<li><a href=\"" + data[i].url + "\" target=\"_blank\" title=\"" + data[i].title + "\">" + data[i].title
      + "</a><span class=\"date\">" + data[i].date + "</span></li>";
  }
  ul.innerHTML = html || "<li class=\"no-data\">暂无信息</li>";
}

function loadList(id, url) {
  var xhr = new XMLHttpRequest();
  xhr.open("GET", url);
  xhr.onload = function () { drawList(id, xhr.status === 200 ? JSON.parse(xhr.responseText) : []); };
  xhr.send();
}
