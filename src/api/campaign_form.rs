//! The new-campaign form's server function: one argument per form field, as a form posts them.
// The generated client and server halves take every field too, where an `allow` on the function
// does not reach.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::protocol::problem::Problem;

#[cfg(feature = "ssr")]
use super::server;
use super::{ApiClient, CampaignOutcome};
#[cfg(feature = "ssr")]
use crate::protocol::{ApifySourceSpec, HttpSourceSpec, SourceSpec};

/// Splits the keywords field: one per line, or separated by commas.
pub fn split_keywords(text: &str) -> Vec<String> {
    text.split(['\n', ','])
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Tags as typed in a form: separated by commas (checked by `clean_tags` on the server).
pub fn split_tags(text: &str) -> Vec<String> {
    text.split(',').map(str::to_owned).collect()
}

/// The new-campaign form: validates it, creates the campaign, and for a small one waits for
/// its results.
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
    tags: Option<String>,
) -> Result<CampaignOutcome, Problem> {
    use crate::protocol::CreateCampaignRequest;
    use crate::server::services::campaigns::{self, CampaignError, SMALL_CAMPAIGN};

    let (state, principal) = server::operator().await?;
    use crate::protocol::problem::{CampaignField, CampaignRule};
    // Rules broken before a request can be made are kept, and the request is checked with a
    // stand-in, so one round shows everything to fix.
    let mut rules = Vec::new();
    let text = |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let target_results = match target_results
        .trim()
        .replace([',', '.', ' '], "")
        .parse::<u32>()
    {
        Ok(target) => target,
        Err(_) => {
            rules.push(campaigns::target_out_of_range(target_results.trim()));
            1
        }
    };
    let mut number = |field: CampaignField, value: Option<String>, default: u64| match text(value) {
        None => default,
        Some(v) => v.parse::<u64>().unwrap_or_else(|_| {
            rules.push(CampaignRule::NotANumber { field, got: v });
            default
        }),
    };
    let source = match source.as_str() {
        "sandbox" => SourceSpec::Sandbox,
        "http" => {
            let delay_ms = number(CampaignField::DelayMs, delay_ms, 500);
            let max_pages = number(CampaignField::MaxPages, max_pages, 20);
            SourceSpec::Http(HttpSourceSpec {
                search_url: text(search_url).unwrap_or_default(),
                item_selector: text(item_selector).unwrap_or_default(),
                link_selector: text(link_selector).unwrap_or_default(),
                title_selector: text(title_selector),
                author_selector: text(author_selector),
                text_selector: text(text_selector),
                next_selector: text(next_selector),
                delay_ms,
                max_pages: max_pages.min(u32::MAX as u64) as u32,
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
        other => {
            rules.push(CampaignRule::UnknownSource {
                got: other.to_owned(),
            });
            SourceSpec::Sandbox
        }
    };
    let request = CreateCampaignRequest {
        name,
        platform,
        keywords: split_keywords(&keywords),
        target_results,
        source,
        tags: split_tags(tags.as_deref().unwrap_or_default()),
    };
    rules.extend(campaigns::problems(&request, &state.settings.scrape));
    if !rules.is_empty() {
        return Ok(CampaignOutcome::Rejected { rules });
    }
    let tenant = principal.tenant_id;
    let (campaign, job) = match campaigns::create(&state, tenant, request).await {
        Ok(created) => created,
        Err(CampaignError::Rule(rule)) => {
            return Ok(CampaignOutcome::Rejected { rules: vec![rule] });
        }
        Err(error) => return Err(server::fail(error)),
    };
    let mut results = None;
    if campaign.target_results <= SMALL_CAMPAIGN {
        let wait = std::time::Duration::from_millis(state.settings.scrape.small_campaign_wait_ms);
        let ended = campaigns::wait_for_end(&state, tenant, job.id, wait)
            .await
            .map_err(server::fail)?;
        if ended.status.is_terminal() {
            let (found, _) =
                campaigns::results(&state, tenant, campaign.id, None, 0, SMALL_CAMPAIGN)
                    .await
                    .map_err(server::fail)?;
            results = Some(found);
        }
    }
    Ok(CampaignOutcome::Created {
        campaign_id: campaign.id,
        job_id: job.id,
        results,
    })
}
