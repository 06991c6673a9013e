// The API reference (/api.html): Swagger UI, vendored (web/static/vendor/swagger-ui), rendering the
// OpenAPI document at /api. Started from this file rather than an inline script, so the page runs
// under the server's strict Content-Security-Policy; every file comes from this host, so it works
// offline. "Authorize" takes an API key for "Try it out".

window.ui = window.SwaggerUIBundle({
  url: "/api",
  dom_id: "#swagger-ui",
  deepLinking: true,
  onComplete: () => { document.body.dataset.ready = "1"; },
});
