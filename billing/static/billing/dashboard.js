// Draws the admin dashboard's charts from the numbers the page carries in
// <script id="dashboard-data" type="application/json"> (no inline code, for a strict CSP).
document.addEventListener("DOMContentLoaded", () => {
  const data = JSON.parse(document.getElementById("dashboard-data").textContent);
  // A fresh object per chart: Chart.js fills in the options it is given.
  const options = () => ({ responsive: true, maintainAspectRatio: false, animation: false });
  new Chart(document.getElementById("chart-revenue"), {
    type: "bar",
    data: { labels: data.revenue.labels, datasets: data.revenue.series },
    options: options(),
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
    options: options(),
  });
  new Chart(document.getElementById("chart-usage"), {
    type: "line",
    data: { labels: data.usage.labels, datasets: data.usage.series },
    options: options(),
  });
  document.body.dataset.chartsDrawn = "true";
});
