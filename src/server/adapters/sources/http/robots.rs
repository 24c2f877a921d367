//! robots.txt, read once per job as Google reads it: a 4xx means no rules, a 5xx, a 429 or no
//! answer means the site is closed to crawlers.

use std::time::Duration;

use reqwest::{StatusCode, Url};
use texting_robots::Robot;

use super::site;
use crate::server::adapters::sources::{
    Answer, FetchFault, NoAnswer, SourceError, SourceFault, SourceNote,
};

/// Google reads the first 500 KiB of a robots.txt and so do we.
pub(super) const MAX_ROBOTS_BYTES: usize = 500 * 1024;
/// A `Crawl-delay` beyond this is read as this: the job stays slow, but it ends.
const LONGEST_CRAWL_DELAY: Duration = Duration::from_secs(300);

/// A site's rules for our user agent; none when the site has no robots.txt (or a 4xx one).
#[derive(Default)]
pub(super) struct Robots(Option<Robot>);

impl Robots {
    /// Whether the rules let jobpulse fetch `url`.
    pub(super) fn allowed(&self, url: &Url) -> bool {
        self.0
            .as_ref()
            .is_none_or(|robot| robot.allowed(url.as_str()))
    }
}

/// What a site's robots.txt said.
pub(super) struct Reading {
    pub(super) robots: Robots,
    /// The site's `Crawl-delay`, at most `LONGEST_CRAWL_DELAY`.
    pub(super) crawl_delay: Option<Duration>,
    /// For the job's log: "robots.txt of example.com allows the search for jobpulse" (its
    /// crawl delay is added by the reader, which knows the pace it settles on).
    pub(super) note: SourceNote,
}

/// Where the robots.txt of the site `first` is on.
pub(super) fn location(first: &Url) -> Result<Url, SourceError> {
    texting_robots::get_robots_url(first.as_str())
        .ok()
        .and_then(|url| Url::parse(&url).ok())
        .ok_or_else(|| SourceError(SourceFault::RobotsWhere { host: site(first) }))
}

/// Makes sense of the `answer` to the robots.txt request: the search at `first` must be allowed
/// for `agent`, or the job cannot start.
pub(super) fn read(
    first: &Url,
    agent: &str,
    answer: Result<Answer, NoAnswer>,
) -> Result<Reading, SourceError> {
    let host = site(first);
    let closed = |why: FetchFault| {
        SourceError(SourceFault::RobotsUnread {
            host: host.clone(),
            why,
        })
    };
    let answer = answer.map_err(|NoAnswer(why)| closed(why))?;
    let status = answer.status;
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        return Err(closed(answer.fault()));
    }
    if !status.is_success() {
        return Ok(Reading {
            robots: Robots::default(),
            crawl_delay: None,
            note: SourceNote::NoRobots {
                host,
                answer: answer.describe(),
            },
        });
    }
    let robot = Robot::new(agent, &answer.body).map_err(|e| {
        SourceError(SourceFault::RobotsNotUnderstood {
            host: host.clone(),
            detail: e.to_string(),
        })
    })?;
    if !robot.allowed(first.as_str()) {
        return Err(SourceError(SourceFault::RobotsDisallow {
            host,
            path: path_of(first),
            agent: agent.to_owned(),
        }));
    }
    let crawl_delay = robot
        .delay
        .and_then(|seconds| Duration::try_from_secs_f32(seconds).ok())
        .map(|delay| delay.min(LONGEST_CRAWL_DELAY));
    Ok(Reading {
        robots: Robots(Some(robot)),
        crawl_delay,
        note: SourceNote::RobotsAllow {
            host,
            agent: agent.to_owned(),
            crawl_delay_ms: None,
        },
    })
}

/// The name robots.txt groups are matched against: the product token of the user agent
/// (`jobpulse` for `jobpulse/0.3.0 (+https://…)`).
pub(super) fn robots_agent(user_agent: &str) -> &str {
    user_agent
        .split(|c: char| c == '/' || c.is_whitespace())
        .find(|part| !part.is_empty())
        .unwrap_or("*")
}

/// Path and query, as robots.txt rules see them.
pub(super) fn path_of(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robots_agent_is_the_product_token() {
        assert_eq!(
            robots_agent("jobpulse/0.3.0 (+https://example.com)"),
            "jobpulse"
        );
        assert_eq!(robots_agent("FerrisBot"), "FerrisBot");
        assert_eq!(robots_agent(""), "*");
    }

    fn answer(status: u16, body: &str) -> Result<Answer, NoAnswer> {
        Ok(Answer {
            url: Url::parse("https://example.com/robots.txt").unwrap(),
            status: StatusCode::from_u16(status).unwrap(),
            content_type: Some("text/plain".into()),
            body: body.as_bytes().to_vec(),
            attempts: 1,
        })
    }

    #[test]
    fn robots_txt_is_read_as_google_reads_it() {
        let first = Url::parse("https://example.com/search?q=rust").unwrap();
        let elsewhere = Url::parse("https://example.com/private/1").unwrap();
        let read = |answer| read(&first, "jobpulse", answer);

        let none = read(answer(404, "")).unwrap();
        assert!(none.robots.allowed(&elsewhere));
        assert_eq!(none.crawl_delay, None);
        assert!(
            none.note.english().contains("has no robots.txt"),
            "{:?}",
            none.note
        );

        for closed in [
            read(answer(503, "")),
            read(answer(429, "")),
            read(Err(NoAnswer(FetchFault::Timeout {
                after_ms: 10_000,
                attempts: 1,
            }))),
        ] {
            let error = closed.err().unwrap().to_string();
            assert!(error.contains("closed to crawlers"), "{error}");
        }

        let rules = "User-agent: *\nDisallow: /private\nCrawl-delay: 900\n";
        let rules = read(answer(200, rules)).unwrap();
        assert!(rules.robots.allowed(&first));
        assert!(!rules.robots.allowed(&elsewhere));
        assert_eq!(rules.crawl_delay, Some(LONGEST_CRAWL_DELAY));

        let error = read(answer(200, "User-agent: *\nDisallow: /search\n"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.ends_with("does not allow /search?q=rust for user agent jobpulse"),
            "{error}"
        );
    }
}
