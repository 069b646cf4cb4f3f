/* Doudi pages: the only script of ours. No inline scripts or handlers anywhere (a strict
   Content-Security-Policy must hold): behaviour hangs on data- attributes set by templates.

   Charts: <div data-chart="ID"> takes its ECharts option from the JSON of
   <script type="application/json" id="ID"> (Django's json_script). ECharts is loaded only on
   pages that have a chart, from the URL in <body data-echarts-src>. */
(function () {
  "use strict";

  var echartsLoading = null;

  function loadEcharts() {
    if (window.echarts) {
      return Promise.resolve(window.echarts);
    }
    if (!echartsLoading) {
      echartsLoading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = document.body.dataset.echartsSrc;
        script.onload = function () { resolve(window.echarts); };
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return echartsLoading;
  }

  function drawCharts(root) {
    var boxes = root.querySelectorAll("[data-chart]:not([data-chart-drawn])");
    if (!boxes.length) {
      return;
    }
    loadEcharts().then(function (echarts) {
      var locale = document.documentElement.lang.indexOf("zh") === 0 ? "ZH" : "EN";
      boxes.forEach(function (box) {
        var option = JSON.parse(document.getElementById(box.dataset.chart).textContent);
        // Text drawn in the chart uses the page's font (CJK fallback included); tooltips are
        // drawn in the chart too, not as HTML with inline styles a strict CSP would refuse.
        option.textStyle = { fontFamily: getComputedStyle(document.body).fontFamily };
        if (option.tooltip) {
          option.tooltip.renderMode = "richText";
        }
        var chart = echarts.init(box, null, { renderer: "svg", locale: locale });
        chart.setOption(option);
        box.setAttribute("data-chart-drawn", "");
        new ResizeObserver(function () { chart.resize(); }).observe(box);
      });
    });
  }

  // A resident ID checked as it is typed (beneficiaries/register_form.html): the server's
  // verdict, swapped in beside the input, marks the input valid or invalid.
  function markIdCheck(event) {
    var input = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!input || !input.hasAttribute("data-id-check")) {
      return;
    }
    var verdict = event.detail.target.querySelector("[data-id-valid]");
    var invalid = !!verdict && verdict.dataset.idValid === "false";
    input.classList.toggle("is-invalid", invalid);
    input.classList.toggle("is-valid", !!verdict && !invalid);
    if (invalid) {
      input.setAttribute("aria-invalid", "true");
    } else {
      input.removeAttribute("aria-invalid");
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    document.body.addEventListener("htmx:afterSwap", markIdCheck);
    // Fragments swapped in by htmx may bring charts of their own.
    document.body.addEventListener("htmx:load", function (event) {
      drawCharts(event.target);
    });
  });
})();
