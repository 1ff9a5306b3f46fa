//! Requests by route (the route's template, never the path itself), method and status.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

pub static REQUESTS: convoy_telemetry::Counter<3> = convoy_telemetry::Counter::new(
    "convoy_http_requests_total",
    "API requests, by route template, method and status code (route \"unrouted\": refused before routing, e.g. unauthenticated).",
    ["route", "method", "code"],
);
pub static DURATION: convoy_telemetry::Histogram<2> = convoy_telemetry::Histogram::new(
    "convoy_http_request_duration_seconds",
    "How long API requests took to answer (watches: until they ended), by route template and method.",
    ["route", "method"],
    convoy_telemetry::LATENCY_BUCKETS,
);

/// The route a request matched, handed from inside the router to [`observe`] outside it.
#[derive(Clone)]
struct Route(String);

/// Inside the router (a route layer): notes the matched route on the response.
pub async fn note_route(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(Route(route));
    }
    response
}

/// Outermost: counts and times every request, refused ones included.
pub async fn observe(request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let route = response.extensions().get::<Route>().map_or("unrouted", |r| r.0.as_str()).to_owned();
    REQUESTS.inc([&route, &method, response.status().as_str()]);
    DURATION.observe([&route, &method], started.elapsed());
    response
}
