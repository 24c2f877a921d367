//! Campaigns: the list, a campaign's page and results, the new-campaign form, and "search again".

use leptos::prelude::*;

use crate::protocol::problem::Problem;
#[cfg(feature = "ssr")]
use crate::protocol::problem::Thing;
use serde::{Deserialize, Serialize};

use super::ApiClient;
#[cfg(feature = "ssr")]
use super::server;
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
    /// Every rule the form breaks, each shown under its field.
    Rejected {
        rules: Vec<crate::protocol::problem::CampaignRule>,
    },
}

/// The tenant's campaigns, newest first, each with its newest job.
#[server(endpoint = "list_campaigns", client = ApiClient)]
pub async fn list_campaigns() -> Result<Vec<CampaignView>, Problem> {
    let (state, principal) = server::principal().await?;
    let list = state
        .store
        .list_campaigns(principal.tenant_id, 100)
        .await
        .map_err(server::store_error)?;
    Ok(list
        .into_iter()
        .map(crate::server::services::campaigns::redacted)
        .collect())
}

/// One campaign with its jobs and their latest log lines; `None` if the tenant has no such one.
#[server(endpoint = "campaign_page", client = ApiClient)]
pub async fn campaign_page(id: String) -> Result<Option<CampaignPageData>, Problem> {
    use crate::server::services::campaigns::{self, CampaignError};
    let (state, principal) = server::principal().await?;
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return Ok(None);
    };
    let tenant = principal.tenant_id;
    let campaign = match campaigns::get(&state, tenant, id).await {
        Ok(campaign) => campaign,
        Err(CampaignError::NotFound) => return Ok(None),
        Err(error) => return Err(server::fail(error)),
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
) -> Result<Option<ResultsPage>, Problem> {
    use crate::server::services::campaigns::{self, CampaignError};
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
        Err(error) => Err(server::fail(error)),
    }
}

/// Runs a campaign's search again as a new job; its id.
#[server(endpoint = "rerun_campaign", client = ApiClient)]
pub async fn rerun_campaign(id: String) -> Result<JobId, Problem> {
    let (state, principal) = server::operator().await?;
    let id = id
        .parse::<uuid::Uuid>()
        .map_err(|_| server::not_found(Thing::Campaign))?;
    crate::server::services::campaigns::rerun(&state, principal.tenant_id, id)
        .await
        .map(|job| job.id)
        .map_err(server::fail)
}

#[cfg(test)]
mod tests {
    use super::super::split_keywords;

    #[test]
    fn keywords_split_on_lines_and_commas() {
        assert_eq!(
            split_keywords(" rustlang,\n#leptos \n\n, axum"),
            ["rustlang", "#leptos", "axum"]
        );
    }
}
