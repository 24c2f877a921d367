//! Where a page may send a person after logging in: `next` must stay on this site.
//!
//! `next` comes from the address bar, so anyone can write it. Checking its first characters is
//! not enough: URL parsers drop tabs and newlines and read `\` as `/`, so `/%09/evil` and
//! `/%5Cevil` turn into `//evil`, another host. Instead `next` is resolved against this site the
//! way the browser will resolve it (the `url` crate on the server, the browser's own `URL` in the
//! page), and kept only if the result has this site's origin; what is kept is the resolved path,
//! which needs no further parsing.

/// The same-site path (`/jobs/…?…#…`) that `next` leads to, or `None` if it leaves the site.
pub fn same_site_path(next: &str) -> Option<String> {
    resolve(next)
}

#[cfg(feature = "ssr")]
fn resolve(next: &str) -> Option<String> {
    let base = url::Url::parse("http://jobpulse.invalid/").expect("a valid base");
    let target = base.join(next).ok()?;
    (target.origin() == base.origin()).then(|| target[url::Position::BeforePath..].to_owned())
}

#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
fn resolve(next: &str) -> Option<String> {
    let origin = leptos::prelude::window().location().origin().ok()?;
    let target = web_sys::Url::new_with_base(next, &origin).ok()?;
    (target.origin() == origin)
        .then(|| format!("{}{}{}", target.pathname(), target.search(), target.hash()))
}

#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
fn resolve(_next: &str) -> Option<String> {
    None
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::same_site_path;

    #[test]
    fn paths_on_this_site_are_kept() {
        assert_eq!(
            same_site_path("/jobs/1?x=2#log").as_deref(),
            Some("/jobs/1?x=2#log")
        );
        assert_eq!(same_site_path("/").as_deref(), Some("/"));
        assert_eq!(same_site_path("campaigns").as_deref(), Some("/campaigns"));
    }

    #[test]
    fn anything_that_leaves_the_site_is_refused() {
        for next in [
            "//evil.example",
            "/\t/evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\n/evil.example",
            " //evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "data:text/html,x",
        ] {
            assert_eq!(same_site_path(next), None, "{next:?}");
        }
    }

    #[test]
    fn what_is_kept_is_clean() {
        // Control characters are dropped or escaped, so the redirect header is always valid.
        assert_eq!(
            same_site_path("/jobs\n/1").as_deref(),
            Some("/jobs/1"),
            "newlines are dropped as the browser drops them"
        );
        assert_eq!(same_site_path("/a b").as_deref(), Some("/a%20b"));
        // Whatever a scheme-relative trick means to a browser, the redirect is a plain path.
        assert_eq!(
            same_site_path("http:evil.example").as_deref(),
            Some("/evil.example")
        );
    }
}
