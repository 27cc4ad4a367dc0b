"""The JSON API: views, schemas, the OpenAPI document and bearer-token auth."""
