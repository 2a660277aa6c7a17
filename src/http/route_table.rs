//! The API's path templates and methods, read from its OpenAPI document: the `Allow`
//! header of a 405 and the `route` label of the HTTP metrics.

use super::ops;

/// Path templates and their methods, read from the OpenAPI document (its test keeps it
/// true): the `Allow` header of a 405 and the `route` label of the HTTP metrics.
pub struct RouteTable(Vec<Route>);

struct Route {
    template: String,
    segments: Vec<String>,
    methods: String,
}

impl RouteTable {
    pub fn from_openapi() -> Self {
        // The document is compiled in, and its test parses it: a parse failure here would
        // leave every route unmatched, never a request failed.
        let spec: serde_json::Value = serde_json::from_str(ops::OPENAPI_JSON).unwrap_or_default();
        let mut routes = Vec::new();
        if let Some(paths) = spec["paths"].as_object() {
            for (template, item) in paths {
                let mut methods: Vec<String> = ["get", "post", "put", "delete"]
                    .iter()
                    .filter(|m| item.get(**m).is_some())
                    .map(|m| m.to_uppercase())
                    .collect();
                if methods.iter().any(|m| m == "GET") {
                    methods.insert(1, "HEAD".to_string());
                }
                routes.push(Route {
                    template: template.clone(),
                    segments: template.split('/').map(str::to_string).collect(),
                    methods: methods.join(", "),
                });
            }
        }
        RouteTable(routes)
    }

    fn find(&self, path: &str) -> Option<&Route> {
        let segments: Vec<&str> = path.split('/').collect();
        self.0.iter().find(|route| {
            route.segments.len() == segments.len()
                && route
                    .segments
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()))
        })
    }

    pub fn template_for(&self, path: &str) -> Option<&str> {
        self.find(path).map(|r| r.template.as_str())
    }

    pub fn methods_for(&self, path: &str) -> Option<&str> {
        self.find(path).map(|r| r.methods.as_str())
    }
}
