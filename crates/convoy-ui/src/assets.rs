//! The stylesheet and script, embedded; served under names carrying their content hash, so they
//! can be cached for a year and a new build is fetched at once.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const CSS: &str = include_str!("../assets/app.css");
const JS: &str = include_str!("../assets/app.js");

fn hashed(stem: &str, extension: &str, body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    let short: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{stem}-{short}.{extension}")
}

pub static CSS_NAME: LazyLock<String> = LazyLock::new(|| hashed("app", "css", CSS));
pub static JS_NAME: LazyLock<String> = LazyLock::new(|| hashed("app", "js", JS));

pub async fn serve(Path(name): Path<String>) -> Response {
    let (body, kind) = if name == *CSS_NAME {
        (CSS, "text/css; charset=utf-8")
    } else if name == *JS_NAME {
        (JS, "text/javascript; charset=utf-8")
    } else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "public, max-age=31536000, immutable")], body)
        .into_response()
}
