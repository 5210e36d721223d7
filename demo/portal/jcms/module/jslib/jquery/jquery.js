/* Demo stand-in for jQuery (no network in the demo): only what the JCMS templates and jpage.js call,
   $(document).ready(fn), $(fn) and $('#id').jpage(options). */
(function () {
  function Wrapped(el) { this.el = el; }
  Wrapped.prototype.ready = function (fn) {
    if (document.readyState !== 'loading') { fn(); } else { document.addEventListener('DOMContentLoaded', fn); }
    return this;
  };
  function $(arg) {
    if (typeof arg === 'function') { return new Wrapped(document).ready(arg); }
    // JCMS unit ids are numbers ("#5202"), which querySelector does not take as a selector.
    if (typeof arg === 'string' && arg.charAt(0) === '#') { return new Wrapped(document.getElementById(arg.slice(1))); }
    return new Wrapped(arg);
  }
  $.fn = Wrapped.prototype;
  window.$ = window.jQuery = $;
})();
