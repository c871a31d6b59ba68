//! `/inbox` and its assets: types, caching and a policy that lets the page load nothing but its
//! own embedded files.

use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH};

use super::page_app;

#[actix_web::test]
async fn the_page_and_its_assets_are_served_with_a_strict_policy() {
    let app = page_app().await;
    let page = app.http.get(app.url("/inbox")).send().await.expect("get");
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    assert_eq!(headers[CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(headers[CACHE_CONTROL], "no-cache");
    let policy = headers[CONTENT_SECURITY_POLICY].to_str().expect("ascii");
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "connect-src 'self' ws: wss:",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{policy} lacks {directive}");
    }
    assert!(
        !policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"),
        "{policy}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let html = page.text().await.expect("html");
    assert!(html.contains(r#"<script type="module" src="/inbox/assets/app.js">"#));

    let etag = headers[ETAG].clone();
    let again = app
        .http
        .get(app.url("/inbox"))
        .header(IF_NONE_MATCH, etag)
        .send()
        .await
        .expect("get");
    assert_eq!(
        again.status(),
        StatusCode::NOT_MODIFIED,
        "revalidation is cheap"
    );

    // Every module the page imports is served, with a JavaScript type (module scripts refuse
    // anything else).
    let mut queue = vec!["app.js".to_owned()];
    let mut seen = Vec::new();
    while let Some(file) = queue.pop() {
        if seen.contains(&file) {
            continue;
        }
        let res = app
            .http
            .get(app.url(&format!("/inbox/assets/{file}")))
            .send()
            .await
            .expect("get");
        assert_eq!(res.status(), StatusCode::OK, "{file}");
        assert_eq!(
            res.headers()[CONTENT_TYPE],
            "text/javascript; charset=utf-8",
            "{file}"
        );
        let source = res.text().await.expect("source");
        for import in source.split("from './").skip(1) {
            queue.push(import.split('\'').next().unwrap_or_default().to_owned());
        }
        seen.push(file);
    }
    assert!(seen.len() >= 5, "{seen:?}");
    let css = app
        .http
        .get(app.url("/inbox/assets/inbox.css"))
        .send()
        .await
        .expect("get");
    assert_eq!(css.headers()[CONTENT_TYPE], "text/css; charset=utf-8");
    let icon = app
        .http
        .get(app.url("/inbox/assets/favicon.svg"))
        .send()
        .await
        .expect("get");
    assert_eq!(icon.headers()[CONTENT_TYPE], "image/svg+xml");
    for missing in [
        "/inbox/assets/nope.js",
        "/inbox/assets/..%2Fmod.rs",
        "/inbox/assets/",
    ] {
        let res = app.http.get(app.url(missing)).send().await.expect("get");
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{missing}");
    }
}
