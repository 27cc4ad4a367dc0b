// Starts the vendored Swagger UI on /api/docs: a file of its own, as the CSP allows no inline script.
(function () {
  "use strict";
  var element = document.getElementById("api-docs");
  window.SwaggerUIBundle({
    url: element.dataset.specUrl,
    domNode: element,
    deepLinking: true,
    // The public validator is another site: the CSP would block the call, and the spec is ours.
    validatorUrl: null,
  });
})();
