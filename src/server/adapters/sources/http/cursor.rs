//! Which page the http source reads next: a keyword's search page, then the next links it
//! follows, one keyword after the other.

use crate::protocol::problem::SourceRule;
use std::collections::HashSet;

use reqwest::Url;

const PLACEHOLDER: &str = "{keyword}";

/// The search URL for `keyword`: the template with the keyword percent-encoded in its place
/// (`+` for spaces in a query, `%20` in a path, where `+` would be a literal plus).
pub(super) fn search_url(template: &str, keyword: &str) -> Result<Url, SourceRule> {
    let field = || "search_url".to_owned();
    let value = || template.to_owned();
    let Some(at) = template.find(PLACEHOLDER) else {
        return Err(SourceRule::NoPlaceholder { value: value() });
    };
    let encoded: String = form_urlencoded::byte_serialize(keyword.as_bytes()).collect();
    let encoded = if template[..at].contains('?') {
        encoded
    } else {
        encoded.replace('+', "%20")
    };
    let url =
        Url::parse(&template.replace(PLACEHOLDER, &encoded)).map_err(|e| SourceRule::NotAUrl {
            field: field(),
            value: value(),
            error: e.to_string(),
        })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SourceRule::NotHttp {
            field: field(),
            value: value(),
        });
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(SourceRule::NoHost {
            field: field(),
            value: value(),
        });
    }
    Ok(url)
}

/// Where the reading is: which keyword, how many of its pages were taken, and what comes next.
#[derive(Debug, Default)]
pub(super) struct Cursor {
    keyword: usize,
    /// Pages of this keyword taken so far (read or failed).
    pages: u32,
    /// The next page of this keyword, once the source has decided to follow it.
    pub(super) next: Option<Url>,
    /// This keyword's pages, so a next link back to one of them ends the loop.
    pub(super) visited: HashSet<String>,
}

/// A page to read.
pub(super) struct Target {
    /// The index of its keyword.
    pub(super) keyword: usize,
    /// Its number among the keyword's pages, from 1.
    pub(super) page: u32,
    /// Its URL, or why the keyword's search URL could not be made.
    pub(super) url: Result<Url, SourceRule>,
}

impl Cursor {
    /// The page after the last one taken; `None` once every keyword is done.
    pub(super) fn advance(&mut self, keywords: &[String], template: &str) -> Option<Target> {
        loop {
            let keyword = keywords.get(self.keyword)?;
            if self.pages == 0 {
                self.pages = 1;
                return Some(Target {
                    keyword: self.keyword,
                    page: 1,
                    url: search_url(template, keyword),
                });
            }
            if let Some(url) = self.next.take() {
                self.pages += 1;
                return Some(Target {
                    keyword: self.keyword,
                    page: self.pages,
                    url: Ok(url),
                });
            }
            *self = Cursor {
                keyword: self.keyword + 1,
                ..Cursor::default()
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_encoded_for_where_they_go() {
        let url = search_url(
            "https://example.com/search?q={keyword}&page=1",
            "rust & c++",
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://example.com/search?q=rust+%26+c%2B%2B&page=1"
        );
        assert_eq!(url.query_pairs().next().unwrap().1, "rust & c++");
        let url = search_url("https://example.com/tag/{keyword}", "rust lang/ü").unwrap();
        assert_eq!(url.as_str(), "https://example.com/tag/rust%20lang%2F%C3%BC");
    }

    #[test]
    fn validation_checks_the_search_url() {
        let error = |template: &str| search_url(template, "jobpulse").unwrap_err().english();
        assert!(error("https://example.com/search?q=rust").contains("has no {keyword}"));
        assert!(error("ftp://example.com/{keyword}").contains("http:// or https://"));
        assert!(error("not a url {keyword}").contains("is not a valid URL"));
        assert!(search_url("http://127.0.0.1:8080/s/{keyword}/all", "jobpulse").is_ok());
    }
}
