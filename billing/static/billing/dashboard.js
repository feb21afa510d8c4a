// Draws the admin dashboard's charts from the numbers the page carries in
// <script id="dashboard-data" type="application/json"> (no inline code, for a strict CSP).
document.addEventListener("DOMContentLoaded", () => {
  const data = JSON.parse(document.getElementById("dashboard-data").textContent);
  // Large values as "12B", not a label as wide as the chart.
  const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 2 });
  const linear = (extra) => ({
    type: "linear", beginAtZero: true, ticks: { callback: (value) => compact.format(value) }, ...extra,
  });
  // A fresh object per chart: Chart.js fills in the options it is given. The canvas is
  // sized by its own container (.dashboard-chart), as Chart.js expects.
  const options = (extra) => ({ responsive: true, maintainAspectRatio: false, animation: false, ...extra });

  // Each currency on its own axis: amounts in different currencies share no scale. The
  // amounts come as exact decimals (text); the tooltip shows each as money in its
  // currency, formatted by the server (`shown`).
  const currencies = data.revenue.series.map((series) => series.label);
  const revenueScales = { x: { type: "category" } };
  currencies.forEach((currency, index) => {
    revenueScales[currency] = linear({
      position: index % 2 === 0 ? "left" : "right",
      title: { display: true, text: currency },
      grid: { drawOnChartArea: index === 0 },
    });
  });
  new Chart(document.getElementById("chart-revenue"), {
    type: "bar",
    data: {
      labels: data.revenue.labels,
      datasets: data.revenue.series.map((series) => ({ ...series, yAxisID: series.label })),
    },
    options: options({
      scales: revenueScales,
      plugins: { tooltip: { callbacks: { label: (item) => item.dataset.shown[item.dataIndex] } } },
    }),
  });
  new Chart(document.getElementById("chart-invoices"), {
    type: "doughnut",
    data: { labels: data.invoices.labels, datasets: [{ data: data.invoices.data }] },
    options: options(),
  });
  new Chart(document.getElementById("chart-payments"), {
    type: "bar",
    data: {
      labels: ["succeeded", "failed"],
      datasets: [{ label: "payments", data: [data.payments.succeeded, data.payments.failed],
                   backgroundColor: ["#1b7f3b", "#b3261e"] }],
    },
    options: options({ scales: { y: linear({ ticks: { precision: 0, callback: (value) => compact.format(value) } }) } }),
  });
  // Each meter on its own axis, titled with its name: a meter counting millions beside
  // one counting tens would flatten it on a shared one. Values come as exact decimals
  // (text); the tooltip shows them as they came.
  const usageScales = { x: { type: "category" } };
  const usageDatasets = data.usage.series.map((series, index) => {
    const axis = `meter-${index}`;
    usageScales[axis] = linear({
      position: index % 2 === 0 ? "left" : "right",
      title: { display: true, text: series.label },
      grid: { drawOnChartArea: index === 0 },
    });
    return { ...series, yAxisID: axis };
  });
  new Chart(document.getElementById("chart-usage"), {
    type: "line",
    data: { labels: data.usage.labels, datasets: usageDatasets },
    options: options({
      scales: usageScales,
      plugins: { tooltip: { callbacks: { label: (item) => `${item.dataset.label} ${item.raw}` } } },
    }),
  });
  document.body.dataset.chartsDrawn = "true";
});
