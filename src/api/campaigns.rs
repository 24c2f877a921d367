//! Campaigns: the list, a campaign's page and results, the new-campaign form, and "search again".

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::ApiClient;
#[cfg(feature = "ssr")]
use super::server;
#[cfg(feature = "ssr")]
use crate::protocol::{ApifySourceSpec, HttpSourceSpec, SourceSpec};
use crate::protocol::{CampaignView, JobId, ResultView, ResultsPage, ServerMsg};

/// Log lines per job a campaign page starts with.
pub const CAMPAIGN_LOG_LINES: u32 = 100;
/// Jobs of a campaign whose log lines a campaign page starts with (the newest).
pub const CAMPAIGN_LOGGED_JOBS: usize = 5;
/// Results per page of the results page.
pub const RESULTS_PAGE: u32 = 50;

/// What a campaign page renders with: the campaign and its jobs, and recent log lines of its
/// newest jobs (at each job's `last_seq`, so the live channel continues without a gap).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignPageData {
    pub campaign: CampaignView,
    pub logs: Vec<(JobId, Vec<ServerMsg>)>,
}

/// What happened to a "start campaign" submission.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CampaignOutcome {
    /// Created; a small campaign comes back with its results once it has ended.
    Created {
        campaign_id: uuid::Uuid,
        job_id: JobId,
        results: Option<Vec<ResultView>>,
    },
    Rejected {
        error: String,
    },
}

/// The tenant's campaigns, newest first, each with its newest job.
#[server(endpoint = "list_campaigns", client = ApiClient)]
pub async fn list_campaigns() -> Result<Vec<CampaignView>, ServerFnError> {
    let (state, principal) = server::principal().await?;
    let list = state
        .store
        .list_campaigns(principal.tenant_id, 100)
        .await
        .map_err(server::store_error)?;
    Ok(list
        .into_iter()
        .map(crate::server::campaigns::redacted)
        .collect())
}

/// One campaign with its jobs and their latest log lines; `None` if the tenant has no such one.
#[server(endpoint = "campaign_page", client = ApiClient)]
pub async fn campaign_page(id: String) -> Result<Option<CampaignPageData>, ServerFnError> {
    use crate::server::campaigns::{self, CampaignError};
    let (state, principal) = server::principal().await?;
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return Ok(None);
    };
    let tenant = principal.tenant_id;
    let campaign = match campaigns::get(&state, tenant, id).await {
        Ok(campaign) => campaign,
        Err(CampaignError::NotFound) => return Ok(None),
        Err(error) => return Err(ServerFnError::new(error.to_string())),
    };
    let mut logs = Vec::new();
    for job in campaign.jobs.iter().take(CAMPAIGN_LOGGED_JOBS) {
        let events = state
            .store
            .events_before(tenant, job.id, job.last_seq + 1, CAMPAIGN_LOG_LINES)
            .await
            .map_err(server::store_error)?
            .unwrap_or_default();
        logs.push((job.id, events.iter().filter_map(|e| e.msg().ok()).collect()));
    }
    Ok(Some(CampaignPageData { campaign, logs }))
}

/// A page of a campaign's results, optionally only those matching `q`.
#[server(endpoint = "campaign_results", client = ApiClient)]
pub async fn campaign_results(
    id: String,
    q: Option<String>,
    offset: u64,
) -> Result<Option<ResultsPage>, ServerFnError> {
    use crate::server::campaigns::{self, CampaignError};
    let (state, principal) = server::principal().await?;
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return Ok(None);
    };
    let search = q.as_deref().filter(|q| !q.trim().is_empty());
    match campaigns::results(
        &state,
        principal.tenant_id,
        id,
        search,
        offset,
        RESULTS_PAGE,
    )
    .await
    {
        Ok((results, total)) => {
            let next = offset + results.len() as u64;
            Ok(Some(ResultsPage {
                campaign_id: id,
                total,
                offset,
                next_offset: (next < total).then_some(next),
                results,
            }))
        }
        Err(CampaignError::NotFound) => Ok(None),
        Err(error) => Err(ServerFnError::new(error.to_string())),
    }
}

/// Runs a campaign's search again as a new job; its id.
#[server(endpoint = "rerun_campaign", client = ApiClient)]
pub async fn rerun_campaign(id: String) -> Result<JobId, ServerFnError> {
    let (state, principal) = server::operator().await?;
    let id = id
        .parse::<uuid::Uuid>()
        .map_err(|_| ServerFnError::new("Campaign not found."))?;
    crate::server::campaigns::rerun(&state, principal.tenant_id, id)
        .await
        .map(|job| job.id)
        .map_err(|e| ServerFnError::new(e.to_string()))
}

/// Splits the keywords field: one per line, or separated by commas.
pub fn split_keywords(text: &str) -> Vec<String> {
    text.split(['\n', ','])
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The new-campaign form: validates it, creates the campaign, and for a small one waits for
/// its results.
#[allow(clippy::too_many_arguments)]
#[server(endpoint = "start_campaign", client = ApiClient)]
pub async fn start_campaign(
    name: String,
    platform: String,
    keywords: String,
    target_results: String,
    source: String,
    search_url: Option<String>,
    item_selector: Option<String>,
    link_selector: Option<String>,
    title_selector: Option<String>,
    author_selector: Option<String>,
    text_selector: Option<String>,
    next_selector: Option<String>,
    delay_ms: Option<String>,
    max_pages: Option<String>,
    apify_base_url: Option<String>,
    apify_actor: Option<String>,
    apify_token: Option<String>,
) -> Result<CampaignOutcome, ServerFnError> {
    use crate::protocol::CreateCampaignRequest;
    use crate::server::campaigns::{self, CampaignError, SMALL_CAMPAIGN};

    let (state, principal) = server::operator().await?;
    let reject = |error: String| Ok(CampaignOutcome::Rejected { error });
    let text = |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let Ok(target_results) = target_results
        .trim()
        .replace([',', '.', ' '], "")
        .parse::<u32>()
    else {
        return reject(format!(
            "Results wanted must be a whole number from 1 to {} (got “{}”).",
            campaigns::MAX_TARGET,
            target_results.trim()
        ));
    };
    let number = |field: &str, value: Option<String>, default: u64| match text(value) {
        None => Ok(default),
        Some(v) => v
            .parse::<u64>()
            .map_err(|_| format!("{field} must be a whole number (got “{v}”).")),
    };
    let source = match source.as_str() {
        "sandbox" => SourceSpec::Sandbox,
        "http" => {
            let delay_ms = match number("The pause between pages", delay_ms, 500) {
                Ok(v) => v,
                Err(e) => return reject(e),
            };
            let max_pages = match number("Pages per keyword", max_pages, 20) {
                Ok(v) => v.min(u32::MAX as u64) as u32,
                Err(e) => return reject(e),
            };
            SourceSpec::Http(HttpSourceSpec {
                search_url: text(search_url).unwrap_or_default(),
                item_selector: text(item_selector).unwrap_or_default(),
                link_selector: text(link_selector).unwrap_or_default(),
                title_selector: text(title_selector),
                author_selector: text(author_selector),
                text_selector: text(text_selector),
                next_selector: text(next_selector),
                delay_ms,
                max_pages,
            })
        }
        "apify" => SourceSpec::Apify(ApifySourceSpec {
            base_url: text(apify_base_url).unwrap_or_else(|| "https://api.apify.com".into()),
            actor: text(apify_actor).unwrap_or_default(),
            token: text(apify_token).unwrap_or_default(),
            input: None,
            url_field: "url".into(),
            title_field: None,
            author_field: None,
            text_field: None,
        }),
        other => return reject(format!("Choose a source (got “{other}”).")),
    };
    let request = CreateCampaignRequest {
        name,
        platform,
        keywords: split_keywords(&keywords),
        target_results,
        source,
    };
    let tenant = principal.tenant_id;
    let (campaign, job) = match campaigns::create(&state, tenant, request).await {
        Ok(created) => created,
        Err(CampaignError::Invalid(error)) => return reject(error),
        Err(error) => return Err(ServerFnError::new(error.to_string())),
    };
    let mut results = None;
    if campaign.target_results <= SMALL_CAMPAIGN {
        let wait = std::time::Duration::from_millis(state.settings.scrape.small_campaign_wait_ms);
        let ended = campaigns::wait_for_end(&state, tenant, job.id, wait)
            .await
            .map_err(|e| ServerFnError::new(e.to_string()))?;
        if ended.status.is_terminal() {
            let (found, _) =
                campaigns::results(&state, tenant, campaign.id, None, 0, SMALL_CAMPAIGN)
                    .await
                    .map_err(|e| ServerFnError::new(e.to_string()))?;
            results = Some(found);
        }
    }
    Ok(CampaignOutcome::Created {
        campaign_id: campaign.id,
        job_id: job.id,
        results,
    })
}

#[cfg(test)]
mod tests {
    use super::split_keywords;

    #[test]
    fn keywords_split_on_lines_and_commas() {
        assert_eq!(
            split_keywords(" rustlang,\n#leptos \n\n, axum"),
            ["rustlang", "#leptos", "axum"]
        );
    }
}
