//! The `apify` source: a client of the Apify API v2 (or anything that speaks it).
//!
//! `GET /v2/acts/{actor}` checks the actor and the token, `POST /v2/acts/{actor}/runs` starts a
//! run, `GET /v2/actor-runs/{run}` is polled until the run ends, and
//! `GET /v2/datasets/{dataset}/items` is read a page at a time. A job that stops early sends
//! `POST /v2/actor-runs/{run}/abort`, so the run it paid for stops too.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, RequestBuilder, StatusCode, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{
    Answer, ApifyStep, Batch, FailedPage, FetchFault, FoundResult, NoAnswer, Source, SourceContext,
    SourceError, SourceFault, SourceNote, Target, guard,
};
use crate::protocol::ApifySourceSpec;
use crate::protocol::problem::SourceRule;
use crate::server::settings::ScrapeSettings;

/// Dataset items per request.
const PAGE_SIZE: u64 = 100;
/// An API answer larger than this is refused (a page of 100 items is far smaller).
const MAX_ANSWER_BYTES: usize = 20 * 1024 * 1024;
/// Run states after which nothing changes.
const TERMINAL: [&str; 4] = ["SUCCEEDED", "FAILED", "ABORTED", "TIMED-OUT"];
/// Run states already on their way to an end: an abort would change nothing.
const ENDING: [&str; 2] = ["ABORTING", "TIMING-OUT"];
/// How long an abort may take: the job is over, and its runner should not hang on it.
const ABORT_TIMEOUT: Duration = Duration::from_secs(5);

/// Checks an apify source's settings; the error names the field to fix.
pub fn validate(spec: &ApifySourceSpec) -> Result<(), SourceRule> {
    first(problems(spec, true))
}

/// `validate`, and with `settings.allow_private_addresses` off, a base_url on a private address
/// (an IP literal or `localhost`) is refused too.
pub fn validate_with(spec: &ApifySourceSpec, settings: &ScrapeSettings) -> Result<(), SourceRule> {
    first(problems(spec, settings.allow_private_addresses))
}

fn first(problems: Vec<SourceRule>) -> Result<(), SourceRule> {
    problems.into_iter().next().map_or(Ok(()), Err)
}

/// Every rule the settings break, in the form's order (a form shows them all; REST the first).
pub fn problems(spec: &ApifySourceSpec, allow_private_addresses: bool) -> Vec<SourceRule> {
    let mut found = Vec::new();
    match base_url(&spec.base_url) {
        Err(rule) => found.push(rule),
        Ok(url) => {
            if !allow_private_addresses && let Some(forbidden) = guard::forbidden_host(&url) {
                found.push(forbidden.rule("base_url", &spec.base_url));
            }
        }
    }
    let actor = spec.actor.trim();
    let separators = actor.matches(['/', '~']).count();
    if actor.is_empty()
        || actor.contains(char::is_whitespace)
        || separators > 1
        || actor.starts_with(['/', '~'])
        || actor.ends_with(['/', '~'])
    {
        found.push(SourceRule::BadActor {
            actor: spec.actor.clone(),
        });
    }
    if spec.url_field.trim().is_empty() {
        found.push(SourceRule::UrlFieldEmpty);
    }
    for (name, field) in [
        ("title_field", &spec.title_field),
        ("author_field", &spec.author_field),
        ("text_field", &spec.text_field),
    ] {
        if field.as_deref().is_some_and(|f| f.trim().is_empty()) {
            found.push(SourceRule::FieldEmpty {
                field: name.to_owned(),
            });
        }
    }
    if let Some(input) = &spec.input
        && !input.is_object()
    {
        found.push(SourceRule::InputNotObject);
    }
    found
}

fn base_url(base: &str) -> Result<Url, SourceRule> {
    let url = Url::parse(base.trim()).map_err(|e| SourceRule::NotAUrl {
        field: "base_url".into(),
        value: base.to_owned(),
        error: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(SourceRule::NotHttp {
            field: "base_url".into(),
            value: base.to_owned(),
        });
    }
    Ok(url)
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
}

#[derive(Deserialize)]
struct Actor {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    id: String,
    default_dataset_id: String,
    status: String,
    #[serde(default)]
    status_message: Option<String>,
}

/// Apify's error body: `{"error": {"type": "…", "message": "…"}}`.
fn error_message(answer: &Answer) -> Option<String> {
    let body: Value = serde_json::from_slice(&answer.body).ok()?;
    let message = body.pointer("/error/message")?.as_str()?.trim();
    (!message.is_empty()).then(|| message.to_owned())
}

/// A field of a dataset item: the key itself, else a dotted path (`author.name`, `images.0.url`).
fn field<'a>(item: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(value) = item.get(path) {
        return Some(value);
    }
    path.split('.').try_fold(item, |value, key| match value {
        Value::Array(items) => items.get(key.parse::<usize>().ok()?),
        other => other.get(key),
    })
}

/// A field as text: strings (trimmed, non-empty), numbers and booleans.
fn text_field(item: &Value, path: Option<&str>) -> Option<String> {
    match field(item, path?)? {
        Value::String(text) => {
            let text = text.trim();
            (!text.is_empty()).then(|| text.to_owned())
        }
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// Runs an Apify actor and reads its dataset.
pub struct ApifySource {
    spec: ApifySourceSpec,
    keywords: Vec<String>,
    target: u32,
    context: SourceContext,
    run: Option<Run>,
    /// Dataset items read so far.
    offset: u64,
    exhausted: bool,
}

impl ApifySource {
    /// A source that runs the actor `spec` names for `keywords`, asking for `target` items.
    pub fn new(
        spec: ApifySourceSpec,
        keywords: Vec<String>,
        target: u32,
        context: SourceContext,
    ) -> Self {
        ApifySource {
            spec,
            keywords,
            target,
            context,
            run: None,
            offset: 0,
            exhausted: false,
        }
    }

    /// `{base}/v2/…segments`, each segment percent-encoded.
    fn endpoint(&self, segments: &[&str]) -> Result<Url, SourceError> {
        let mut url = base_url(&self.spec.base_url)?;
        url.set_query(None);
        url.set_fragment(None);
        url.path_segments_mut()
            .map_err(|()| SourceError(SourceFault::BaseUrlNoPath))?
            .pop_if_empty()
            .push("v2")
            .extend(segments);
        Ok(url)
    }

    /// The actor as the API's paths name it: `username~name` (the `/` form is for people).
    fn actor(&self) -> String {
        self.spec.actor.trim().replace('/', "~")
    }

    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let request = self.context.client.request(method, url);
        if self.spec.token.is_empty() {
            request
        } else {
            request.bearer_auth(&self.spec.token)
        }
    }

    /// One API call with retries; a refused token or no answer is a `SourceError`, any other
    /// answer comes back for the caller to judge.
    async fn call(
        &self,
        step: &ApifyStep,
        build: impl Fn() -> RequestBuilder + Send,
    ) -> Result<Answer, SourceError> {
        let answer = self
            .context
            .send(build, None, MAX_ANSWER_BYTES)
            .await?
            .map_err(|NoAnswer(why)| {
                SourceError(SourceFault::ApifyUnreachable {
                    base_url: self.spec.base_url.clone(),
                    step: step.clone(),
                    why,
                })
            })?;
        if matches!(
            answer.status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ) {
            return Err(SourceError(SourceFault::ApifyTokenRefused {
                answer: answer.fault(),
                detail: error_message(&answer),
            }));
        }
        Ok(answer)
    }

    /// A successful answer's `data`, or a sentence saying what went wrong.
    fn data<T: DeserializeOwned>(
        &self,
        step: &ApifyStep,
        answer: &Answer,
    ) -> Result<T, SourceError> {
        if !answer.status.is_success() {
            return Err(SourceError(SourceFault::ApifyAnswered {
                step: step.clone(),
                answer: answer.fault(),
                detail: error_message(answer),
            }));
        }
        serde_json::from_slice::<Envelope<T>>(&answer.body)
            .map(|envelope| envelope.data)
            .map_err(|e| {
                SourceError(SourceFault::ApifyNotUnderstood {
                    step: step.clone(),
                    detail: e.to_string(),
                })
            })
    }

    fn input(&self) -> Value {
        self.spec
            .input
            .clone()
            .unwrap_or_else(|| json!({"keywords": self.keywords, "maxItems": self.target}))
    }

    fn to_result(&self, item: &Value) -> Option<FoundResult> {
        let url = text_field(item, Some(&self.spec.url_field))?;
        // A `javascript:` or `data:` "result" would be a link people click in the app.
        let parsed = Url::parse(&url).ok()?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return None;
        }
        Some(FoundResult {
            url,
            title: text_field(item, self.spec.title_field.as_deref()),
            author: text_field(item, self.spec.author_field.as_deref()),
            text: text_field(item, self.spec.text_field.as_deref()),
            // Which keyword found an item is the actor's business; only a lone one is certain.
            keyword: match self.keywords.as_slice() {
                [only] => Some(only.clone()),
                _ => None,
            },
        })
    }
}

#[async_trait]
impl Source for ApifySource {
    async fn prepare(&mut self) -> Result<SourceNote, SourceError> {
        let actor = self.actor();
        let url = self.endpoint(&["acts", &actor])?;
        let base = Target::ApifyBaseUrl {
            url: self.spec.base_url.trim().to_owned(),
        };
        self.context.refuse_literal(&url, base)?;
        let step = ApifyStep::LookUpActor {
            actor: self.spec.actor.clone(),
        };
        let answer = self
            .call(&step, || self.request(Method::GET, url.clone()))
            .await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Err(SourceError(SourceFault::ActorNotFound {
                actor: self.spec.actor.clone(),
                base_url: self.spec.base_url.clone(),
            }));
        }
        let found: Actor = self.data(&step, &answer)?;
        let name = match (found.username, found.name) {
            (Some(user), Some(name)) => format!("{user}/{name}"),
            (_, Some(name)) => name,
            _ => self.spec.actor.clone(),
        };
        Ok(SourceNote::ActorAvailable { name })
    }

    async fn start(&mut self) -> Result<SourceNote, SourceError> {
        let actor = self.actor();
        let url = self.endpoint(&["acts", &actor, "runs"])?;
        let input = self.input();
        let step = ApifyStep::StartActor {
            actor: self.spec.actor.clone(),
        };
        // A retried POST after a timeout may start a second run; Apify offers no key to
        // de-duplicate starts, and a job that never starts helps nobody either.
        let answer = self
            .call(&step, || {
                self.request(Method::POST, url.clone()).json(&input)
            })
            .await?;
        let run: Run = self.data(&step, &answer)?;
        let note = SourceNote::RunStarted {
            run: run.id.clone(),
            status: run.status.clone(),
        };
        self.run = Some(run);
        Ok(note)
    }

    async fn analyze(&mut self) -> Result<SourceNote, SourceError> {
        let Some(mut run) = self.run.clone() else {
            return Err(SourceError(SourceFault::RunNotStarted));
        };
        let url = self.endpoint(&["actor-runs", &run.id])?;
        let step = ApifyStep::CheckRun {
            run: run.id.clone(),
        };
        let mut checks = 0;
        while !TERMINAL.contains(&run.status.as_str()) {
            if checks > 0 {
                tokio::time::sleep(self.context.apify_poll).await;
            }
            checks += 1;
            let answer = self
                .call(&step, || self.request(Method::GET, url.clone()))
                .await?;
            run = self.data(&step, &answer)?;
            // Kept at once: a job stopped mid-wait must know whether there is a run to abort.
            self.run = Some(run.clone());
        }
        self.run = Some(run.clone());
        if run.status == "SUCCEEDED" {
            return Ok(SourceNote::RunSucceeded { run: run.id });
        }
        let detail = run
            .status_message
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_owned);
        Err(SourceError(SourceFault::RunEnded {
            run: run.id,
            status: run.status,
            detail,
        }))
    }

    async fn next_batch(&mut self) -> Result<Option<Batch>, SourceError> {
        if self.exhausted {
            return Ok(None);
        }
        let Some(run) = &self.run else {
            return Err(SourceError(SourceFault::RunNotStarted));
        };
        let mut url = self.endpoint(&["datasets", &run.default_dataset_id, "items"])?;
        url.query_pairs_mut()
            .append_pair("clean", "true")
            .append_pair("format", "json")
            .append_pair("offset", &self.offset.to_string())
            .append_pair("limit", &PAGE_SIZE.to_string());
        let step = ApifyStep::ReadDataset {
            dataset: run.default_dataset_id.clone(),
        };
        let answer = self
            .call(&step, || self.request(Method::GET, url.clone()))
            .await?;
        let first = self.offset + 1;
        let items = if answer.status.is_success() {
            serde_json::from_slice::<Vec<Value>>(&answer.body).map_err(|e| FetchFault::NotItems {
                detail: e.to_string(),
            })
        } else {
            Err(answer.fault())
        };
        let items = match items {
            Ok(items) => items,
            Err(error) => {
                // Later pages start where this one would have ended; reading on would leave a hole.
                self.exhausted = true;
                return Ok(Some(Batch {
                    results: Vec::new(),
                    failed: vec![FailedPage {
                        url: url.to_string(),
                        error: error.english(),
                        fault: Some(error.clone()),
                    }],
                    note: Some(SourceNote::DatasetUnread {
                        first,
                        error: error.english(),
                        fault: Some(error),
                    }),
                }));
            }
        };
        if items.is_empty() {
            self.exhausted = true;
            return Ok(None);
        }
        self.offset += items.len() as u64;
        let results: Vec<FoundResult> = items
            .iter()
            .filter_map(|item| self.to_result(item))
            .collect();
        let skipped = items.len() - results.len();
        let note = SourceNote::DatasetItems {
            first,
            last: self.offset,
            results: results.len() as u64,
            skipped: skipped as u64,
            url_field: self.spec.url_field.clone(),
        };
        Ok(Some(Batch {
            results,
            failed: Vec::new(),
            note: Some(note),
        }))
    }

    #[tracing::instrument(skip_all, fields(run_id))]
    async fn abort(&mut self) {
        let Some(run) = &self.run else {
            return;
        };
        let status = run.status.as_str();
        if TERMINAL.contains(&status) || ENDING.contains(&status) {
            return;
        }
        let id = run.id.clone();
        tracing::Span::current().record("run_id", id.as_str());
        let url = match self.endpoint(&["actor-runs", &id, "abort"]) {
            Ok(url) => url,
            Err(error) => {
                tracing::warn!(%error, "could not abort the Apify run");
                return;
            }
        };
        let request = self.request(Method::POST, url);
        let error = match self
            .context
            .send_once(request, MAX_ANSWER_BYTES, ABORT_TIMEOUT)
            .await
        {
            Ok(Ok(answer)) if answer.status.is_success() => {
                let step = ApifyStep::AbortRun { run: id.clone() };
                if let Ok(run) = self.data::<Run>(&step, &answer) {
                    self.run = Some(run);
                }
                tracing::info!("aborted the Apify run");
                return;
            }
            Ok(Ok(answer)) => {
                let detail = error_message(&answer)
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                format!("{}{detail}", answer.describe())
            }
            Ok(Err(error)) => error.to_string(),
            Err(error) => error.to_string(),
        };
        // Apify ends the run by its own timeout; what it costs until then is the warning's point.
        tracing::warn!(%error, "could not abort the Apify run; it runs on until it ends by itself");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ApifySourceSpec {
        ApifySourceSpec {
            base_url: "https://api.apify.com".into(),
            actor: "apify~web-scraper".into(),
            token: String::new(),
            input: None,
            url_field: "url".into(),
            title_field: Some("title".into()),
            author_field: None,
            text_field: None,
        }
    }

    #[test]
    fn a_good_spec_is_valid() {
        assert_eq!(validate(&spec()), Ok(()));
        assert_eq!(
            validate(&ApifySourceSpec {
                actor: "apify/web-scraper".into(),
                ..spec()
            }),
            Ok(())
        );
        assert_eq!(
            validate(&ApifySourceSpec {
                actor: "moJRLRc85AitArpNN".into(),
                input: Some(json!({"startUrls": []})),
                ..spec()
            }),
            Ok(())
        );
    }

    #[test]
    fn validation_explains_what_to_fix() {
        let check = |spec: ApifySourceSpec| validate(&spec).unwrap_err().english();
        assert!(
            check(ApifySourceSpec {
                actor: "".into(),
                ..spec()
            })
            .starts_with("actor “”")
        );
        assert!(
            check(ApifySourceSpec {
                actor: "a~b~c".into(),
                ..spec()
            })
            .contains("username~actor-name")
        );
        assert!(
            check(ApifySourceSpec {
                base_url: "api.apify.com".into(),
                ..spec()
            })
            .starts_with("base_url")
        );
        assert!(
            check(ApifySourceSpec {
                base_url: "ftp://x".into(),
                ..spec()
            })
            .contains("http://")
        );
        assert!(
            check(ApifySourceSpec {
                url_field: " ".into(),
                ..spec()
            })
            .starts_with("url_field")
        );
        assert!(
            check(ApifySourceSpec {
                text_field: Some("".into()),
                ..spec()
            })
            .starts_with("text_field")
        );
        assert!(
            check(ApifySourceSpec {
                input: Some(json!([1])),
                ..spec()
            })
            .starts_with("input must be a JSON object")
        );
    }

    #[test]
    fn a_private_base_url_is_refused_unless_allowed() {
        let strict = ScrapeSettings::default();
        assert_eq!(validate_with(&spec(), &strict), Ok(()));
        let private = ApifySourceSpec {
            base_url: "http://169.254.169.254:8080".into(),
            ..spec()
        };
        assert_eq!(
            validate_with(&private, &strict).map_err(|rule| rule.english()),
            Err(
                "base_url “http://169.254.169.254:8080” points at a link-local address \
                 (169.254.169.254), which searches may not read; an admin can allow it with \
                 scrape.allow_private_addresses"
                    .into()
            )
        );
        let open = ScrapeSettings {
            allow_private_addresses: true,
            ..ScrapeSettings::default()
        };
        assert_eq!(validate_with(&private, &open), Ok(()));
    }

    #[test]
    fn fields_are_found_by_key_or_dotted_path() {
        let item = json!({
            "url": "https://x.example/1",
            "author": {"name": "Ana", "followers": 12},
            "tags": [{"name": "rust"}],
            "a.b": "flat",
            "empty": "  ",
        });
        assert_eq!(
            text_field(&item, Some("author.name")).as_deref(),
            Some("Ana")
        );
        assert_eq!(
            text_field(&item, Some("author.followers")).as_deref(),
            Some("12")
        );
        assert_eq!(
            text_field(&item, Some("tags.0.name")).as_deref(),
            Some("rust")
        );
        assert_eq!(text_field(&item, Some("a.b")).as_deref(), Some("flat"));
        assert_eq!(text_field(&item, Some("empty")), None);
        assert_eq!(text_field(&item, Some("author")), None);
        assert_eq!(text_field(&item, Some("missing.deep")), None);
        assert_eq!(text_field(&item, None), None);
    }
}
