//! Prometheus metrics, served at `/metrics` in the text exposition format.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Metric, Registry};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route template (`/scim/v2/Users/{id}`), never the concrete path: paths can carry ids
    /// and query strings personal data.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: Family<RouteLabels, Histogram>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// A registry for one binary, with the HTTP metrics every binary has.
    pub fn new(service: &str) -> Self {
        let mut registry =
            Registry::with_prefix_and_labels("identity", [("service".into(), service.to_owned().into())].into_iter());
        let requests = Family::<RequestLabels, Counter>::default();
        let duration = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 14))
        });
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register("http_request_duration_seconds", "Time to answer an HTTP request", duration.clone());
        Self { registry, requests, duration }
    }

    /// Adds a binary's own metric (before the registry is shared).
    pub fn register(&mut self, name: &str, help: &str, metric: impl Metric) {
        self.registry.register(name, help, metric);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }

    /// Counts and times one answered request by its route template.
    pub(crate) fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut labels = RouteLabels { method: method.to_owned(), route: route.to_owned() };
        self.duration.get_or_create(&labels).observe(seconds);
        let counted = RequestLabels {
            method: std::mem::take(&mut labels.method),
            route: std::mem::take(&mut labels.route),
            status,
        };
        self.requests.get_or_create(&counted).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text_with_the_service_label() {
        let m = Metrics::new("api");
        m.requests.get_or_create(&RequestLabels { method: "GET".into(), route: "/healthz".into(), status: 200 }).inc();
        let text = m.render();
        assert!(text.contains("identity_http_requests_total{"), "{text}");
        assert!(text.contains("service=\"api\"") && text.contains("route=\"/healthz\""), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
