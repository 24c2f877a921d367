//! Formatting times and durations the same way on the server and in the browser (UTC, so the
//! hydrated page shows exactly what the server rendered; `components::LocalTime` then moves
//! times to the viewer's zone).

use chrono::{DateTime, Duration, Utc};

/// How much of a time to show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimeShown {
    /// `2026-11-24 16:03`
    #[default]
    Minutes,
    /// `2026-11-24 16:03:07`
    Seconds,
    /// `16:03:07`, for a log line.
    Clock,
}

/// `at` as a clock `offset_minutes` east of UTC reads it (no zone named: it is the reader's).
pub fn in_offset(at: DateTime<Utc>, offset_minutes: i32, shown: TimeShown) -> String {
    let local = (at + Duration::minutes(i64::from(offset_minutes))).naive_utc();
    match shown {
        TimeShown::Minutes => local.format("%Y-%m-%d %H:%M").to_string(),
        TimeShown::Seconds => local.format("%Y-%m-%d %H:%M:%S").to_string(),
        TimeShown::Clock => local.format("%H:%M:%S").to_string(),
    }
}

/// `2026-11-24 15:03 UTC`
pub fn date_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `2026-11-24 15:03:07 UTC`
pub fn date_time_seconds(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `15:03:07`
pub fn clock(at: DateTime<Utc>) -> String {
    at.format("%H:%M:%S").to_string()
}

/// `1 h 02 min`, `3 min 05 s`, `4.2 s`
pub fn duration_ms(ms: u64) -> String {
    let seconds = ms / 1000;
    match seconds {
        0..=59 => format!("{:.1} s", ms as f64 / 1000.0),
        60..=3599 => format!("{} min {:02} s", seconds / 60, seconds % 60),
        _ => format!("{} h {:02} min", seconds / 3600, (seconds % 3600) / 60),
    }
}

/// `45 s`, `3 min 05 s`, `1 h 02 min`: for a time that counts up or down each second.
pub fn whole_duration_ms(ms: u64) -> String {
    match ms / 1000 {
        seconds @ 0..=59 => format!("{seconds} s"),
        _ => duration_ms(ms),
    }
}

/// An address as a person reads it: no scheme, and non-ASCII characters shown rather than
/// percent-encoded (`site/posts/peluquería`), as a browser's address bar shows them. Escapes of
/// ASCII (`%2F`, `%20`) stay, since decoding them could change what the address seems to say.
pub fn readable_url(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match escaped {
            Some(byte) if byte >= 0x80 => {
                out.push(byte);
                i += 3;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    // Escapes that are not UTF-8 would show as garbage: keep the address as it was.
    String::from_utf8(out).unwrap_or_else(|_| rest.to_owned())
}

/// The last characters of an id (a UUID v7 starts with its timestamp), enough to tell jobs apart.
pub fn short_id(id: &str) -> String {
    id.chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

/// The time now, on the server's clock or the browser's.
pub fn now() -> DateTime<Utc> {
    #[cfg(feature = "ssr")]
    {
        Utc::now()
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        DateTime::default()
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
pub fn query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_as_a_browser_shows_them() {
        assert_eq!(
            readable_url("https://site.es/posts/119-peluquer%C3%ADa?q=a%20b%2Fc"),
            "site.es/posts/119-peluquería?q=a%20b%2Fc"
        );
        // Not UTF-8 (a Latin-1 escape): left as it was.
        assert_eq!(readable_url("http://site/caf%E9"), "site/caf%E9");
        assert_eq!(readable_url("site/%C3%A"), "site/%C3%A");
        assert_eq!(readable_url("http://site/100%"), "site/100%");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_ms(4_200), "4.2 s");
        assert_eq!(duration_ms(185_000), "3 min 05 s");
        assert_eq!(duration_ms(3_720_000), "1 h 02 min");
    }

    #[test]
    fn a_time_reads_in_the_readers_zone_across_midnight() {
        let at = DateTime::parse_from_rfc3339("2026-11-24T23:30:05Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(in_offset(at, 60, TimeShown::Minutes), "2026-11-25 00:30");
        assert_eq!(
            in_offset(at, -300, TimeShown::Seconds),
            "2026-11-24 18:30:05"
        );
        assert_eq!(in_offset(at, 330, TimeShown::Clock), "05:00:05");
        assert_eq!(date_time(at), "2026-11-24 23:30 UTC");
    }
}
