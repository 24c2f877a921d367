//! Which encoding a page is in, as a browser decides it: a byte-order mark, then the
//! `Content-Type` charset, then a `<meta>` declaration near the top, then UTF-8 if the bytes are
//! valid UTF-8, else windows-1252 (what browsers assume for English and Spanish pages).

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252, X_USER_DEFINED};

/// How far into a page a `<meta charset>` is looked for (the HTML standard's prescan limit).
const PRESCAN_BYTES: usize = 1024;

/// A page's body as text; bytes the encoding cannot map become U+FFFD.
pub fn decode(body: &[u8], content_type: Option<&str>) -> String {
    let encoding = declared_in_header(content_type)
        .or_else(|| declared_in_meta(body))
        .unwrap_or_else(|| {
            if std::str::from_utf8(body).is_ok() {
                UTF_8
            } else {
                WINDOWS_1252
            }
        });
    // `decode` lets a byte-order mark override the declaration, as browsers do.
    encoding.decode(body).0.into_owned()
}

fn declared_in_header(content_type: Option<&str>) -> Option<&'static Encoding> {
    content_type?
        .split(';')
        .skip(1)
        .filter_map(|param| param.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("charset"))
        .and_then(|(_, value)| Encoding::for_label(value.trim().trim_matches('"').as_bytes()))
}

/// A simplified prescan: the first `charset=` inside a `<meta …>` tag, which covers both
/// `<meta charset="…">` and `<meta http-equiv="Content-Type" content="…; charset=…">`.
fn declared_in_meta(body: &[u8]) -> Option<&'static Encoding> {
    let head = body[..body.len().min(PRESCAN_BYTES)].to_ascii_lowercase();
    let mut rest = &head[..];
    while let Some(start) = find(rest, b"<meta") {
        let tag = &rest[start + 5..];
        let end = tag.iter().position(|&b| b == b'>').unwrap_or(tag.len());
        let attributes = &tag[..end];
        if let Some(at) = find(attributes, b"charset") {
            let value = attributes[at + 7..]
                .iter()
                .skip_while(|b| {
                    b.is_ascii_whitespace() || **b == b'=' || **b == b'"' || **b == b'\''
                })
                .take_while(|b| !(b.is_ascii_whitespace() || b"\"';>/".contains(b)))
                .copied()
                .collect::<Vec<u8>>();
            if let Some(encoding) = Encoding::for_label(&value) {
                // A page that says UTF-16 in ASCII bytes is not UTF-16 (the standard's rule).
                return Some(match encoding {
                    e if e == UTF_16LE || e == UTF_16BE => UTF_8,
                    e if e == X_USER_DEFINED => WINDOWS_1252,
                    e => e,
                });
            }
        }
        rest = &tag[end..];
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAFE_LATIN1: &[u8] = b"<p>caf\xe9 con le\xf1a</p>";

    #[test]
    fn the_header_charset_decides() {
        assert_eq!(
            decode(CAFE_LATIN1, Some("text/html; charset=ISO-8859-1")),
            "<p>café con leña</p>"
        );
        assert_eq!(
            decode(CAFE_LATIN1, Some("text/html;charset=\"windows-1252\"")),
            "<p>café con leña</p>"
        );
    }

    #[test]
    fn a_meta_declaration_decides_when_the_header_is_silent() {
        let page = [
            b"<html><head><META http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-15\">"
                .as_slice(),
            CAFE_LATIN1,
        ]
        .concat();
        assert!(decode(&page, Some("text/html")).ends_with("<p>café con leña</p>"));
        let page = [b"<meta charset='latin1'/>".as_slice(), CAFE_LATIN1].concat();
        assert!(decode(&page, None).ends_with("café con leña</p>"));
        // UTF-16 declared in ASCII bytes means UTF-8.
        let page = "<meta charset=\"utf-16\"><p>café</p>";
        assert_eq!(decode(page.as_bytes(), None), page);
    }

    #[test]
    fn undeclared_pages_are_utf8_if_they_can_be_else_windows_1252() {
        assert_eq!(decode("<p>café</p>".as_bytes(), None), "<p>café</p>");
        assert_eq!(decode(CAFE_LATIN1, None), "<p>café con leña</p>");
    }

    #[test]
    fn a_byte_order_mark_overrides_the_declaration() {
        let page = [b"\xef\xbb\xbf".as_slice(), "<p>café</p>".as_bytes()].concat();
        assert_eq!(
            decode(&page, Some("text/html; charset=iso-8859-1")),
            "<p>café</p>"
        );
    }
}
