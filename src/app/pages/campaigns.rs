use std::collections::HashSet;

use crate::app::components::LocalTime;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::list_campaigns;
use crate::app::OperatorOnly;
use crate::app::components::{ProgressBar, StatusBadge};
use crate::app::i18n::use_text;
use crate::app::pages::{ErrorNotice, Loading};
use crate::live::{JobFeed, use_followed, use_live};
use crate::protocol::CampaignView;

/// The tenant's campaigns, newest first, each with its newest search live.
#[component]
pub fn CampaignsPage() -> impl IntoView {
    let text = use_text();
    let campaigns = Resource::new(|| (), |_| list_campaigns());
    view! {
        <Title text=text.campaign.campaigns_title />
        <div class="page-head">
            <h1>{text.campaign.campaigns_title}</h1>
            <OperatorOnly>
                <A href="/campaigns/new" attr:class="button button-primary">{text.campaign.nav_new_campaign}</A>
            </OperatorOnly>
        </div>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match campaigns.await {
                    Ok(list) => view! { <CampaignTable initial=list refetch=move || campaigns.refetch() /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CampaignTable(initial: Vec<CampaignView>, refetch: impl Fn() + Copy + 'static) -> impl IntoView {
    let text = use_text();
    let live = use_live();
    let followed = use_followed();
    let known: Vec<uuid::Uuid> = initial.iter().map(|c| c.id).collect();
    let rows: Vec<(CampaignView, Option<JobFeed>)> = initial
        .into_iter()
        .map(|mut campaign| {
            let feed = campaign.jobs.pop().map(|job| followed.follow(job, &[]));
            (campaign, feed)
        })
        .collect();
    // A campaign started elsewhere (another tab, a script) shows up: read the list again, once
    // per new job. The jobs already heard of are handled: the list read again would otherwise
    // see them, and read again, without end (an old campaign beyond the list's length).
    live.follow_new_jobs();
    let handled = StoredValue::new(
        live.new_jobs
            .with_untracked(|jobs| jobs.iter().map(|j| j.id).collect::<HashSet<_>>()),
    );
    Effect::new(move |_| {
        let fresh = live.new_jobs.get();
        let mut unseen = false;
        for job in &fresh {
            let new = handled
                .try_update_value(|h| h.insert(job.id))
                .unwrap_or(false);
            unseen |= new && job.campaign_id.is_some_and(|c| !known.contains(&c));
        }
        if unseen {
            refetch();
        }
    });
    if rows.is_empty() {
        return view! {
            <section class="panel empty">
                <h2>{text.campaign.campaigns_empty}</h2>
                <p>{text.campaign.campaigns_empty_hint}</p>
                <OperatorOnly>
                    <A href="/campaigns/new" attr:class="button button-primary">{text.campaign.nav_new_campaign}</A>
                </OperatorOnly>
            </section>
        }
        .into_any();
    }
    view! {
        <div class="panel table-wrap">
            <table class="data campaigns" data-testid="campaigns-table">
                <thead>
                    <tr>
                        <th scope="col">{text.campaign.col_campaign}</th>
                        <th scope="col">{text.col_status}</th>
                        <th scope="col" class="col-progress">{text.col_progress}</th>
                        <th scope="col" class="num">{text.campaign.col_results}</th>
                        <th scope="col" class="num">{text.campaign.col_target}</th>
                        <th scope="col">{text.col_created}</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|(campaign, feed)| view! { <CampaignRow campaign feed /> })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn CampaignRow(campaign: CampaignView, feed: Option<JobFeed>) -> impl IntoView {
    let text = use_text();
    let id = campaign.id.to_string();
    // Results of earlier searches stay; the newest one's come in live.
    let earlier = feed.map_or(campaign.results, |f| {
        campaign
            .results
            .saturating_sub(f.job.with_untracked(|j| j.progress.sent))
    });
    let results = move || earlier + feed.map_or(0, |f| f.job.with(|j| j.progress.sent));
    let target = u64::from(campaign.target_results);
    let progress =
        Signal::derive(move || feed.map(|f| f.job.with(|j| j.progress)).unwrap_or_default());
    let status = feed.map(|f| Signal::derive(move || f.job.with(|j| j.status)));
    // The stage says more than the badge only while the search runs.
    let stage = move || {
        feed.and_then(|f| {
            f.job
                .with(|j| j.stage.clone().filter(|_| !j.status.is_terminal()))
        })
        .map(|s| (text.campaign.stage)(&s))
    };
    view! {
        <tr data-campaign-id=id.clone()>
            <td data-label=text.campaign.col_campaign>
                <a href=format!("/campaigns/{id}") class="job-link">
                    <span class="job-kind">{campaign.name.clone()}</span>
                </a>
                <span class="job-preview">{campaign.platform.clone()} " · " {campaign.keywords.join(", ")}</span>
            </td>
            <td data-label=text.col_status>
                {status.map(|status| {
                    let reach = Signal::derive(move || (results(), target));
                    view! { <StatusBadge status reach /> }
                })}
                <span class="muted row-stage">{stage}</span>
            </td>
            <td data-label=text.col_progress class="col-progress">
                <div class="row-progress">
                    <ProgressBar progress label=text.progress_label.to_owned() compact=true by_percentage=true />
                    <span class="num">{move || text.percent(progress.get().percentage)}</span>
                </div>
            </td>
            <td data-label=text.campaign.col_results class="num" data-testid="campaign-results">{move || text.number(results())}</td>
            <td data-label=text.campaign.col_target class="num">{text.number(campaign.target_results.into())}</td>
            <td data-label=text.col_created class="muted"><LocalTime at=campaign.created_at /></td>
        </tr>
    }
}
