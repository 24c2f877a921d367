use crate::app::components::LocalTime;
use crate::app::format::TimeShown;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{AUDIT_PAGE, load_audit};
use crate::app::format;
use crate::app::i18n::use_text;
use crate::app::pages::{ErrorNotice, Loading};
use crate::protocol::audit::{ActorKind, AuditEntry, TargetKind};

/// Who did what, when and from where: the tenant's audit log, newest first, a page at a time.
#[component]
pub fn AuditPage() -> impl IntoView {
    let words = use_text().audit;
    let query = use_query_map();
    let before = move || query.with(|q| q.get("before")).filter(|b| !b.is_empty());
    let data = Resource::new(before, load_audit);
    view! {
        <Title text=words.title />
        <div class="page-head">
            <h1>{words.title}</h1>
        </div>
        <crate::app::pages::AdminTabs />
        <p class="muted intro">{words.intro}</p>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(entries) if entries.is_empty() => {
                        view! { <p class="empty" data-testid="no-audit">{words.empty}</p> }.into_any()
                    }
                    Ok(entries) => {
                        let older = (entries.len() == AUDIT_PAGE as usize)
                            .then(|| entries.last().map(|e| format!("/audit?before={}", e.id)))
                            .flatten();
                        let paged = before().is_some();
                        view! {
                            <section class="panel">
                                <div class="table-wrap">
                                    <table class="data audit">
                                        <thead>
                                            <tr>
                                                <th scope="col">{words.col_when}</th>
                                                <th scope="col">{words.col_who}</th>
                                                <th scope="col">{words.col_action}</th>
                                                <th scope="col">{words.col_target}</th>
                                                <th scope="col">{words.col_from}</th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {entries.into_iter().map(|entry| view! { <AuditRow entry /> }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            </section>
                            <nav class="pager">
                                {paged.then(|| view! { <a class="button button-small" href="/audit">{words.newest}</a> })}
                                {older.map(|href| view! { <a class="button button-small" href=href>{words.older}</a> })}
                            </nav>
                        }
                            .into_any()
                    }
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn AuditRow(entry: AuditEntry) -> impl IntoView {
    let words = use_text().audit;
    let who = match entry.actor_kind {
        ActorKind::User => entry.actor.clone(),
        ActorKind::Token => (words.token)(&entry.actor),
    };
    let link = match entry.target_kind {
        TargetKind::Job => Some(format!("/jobs/{}", entry.target_id)),
        TargetKind::Campaign => Some(format!("/campaigns/{}", entry.target_id)),
        _ => None,
    };
    let id = match entry.target_kind {
        TargetKind::OptOut => entry.target_id.clone(),
        _ => format::short_id(&entry.target_id),
    };
    let target = match link {
        Some(href) => view! { <a href=href>{id}</a> }.into_any(),
        None => view! { <span>{id}</span> }.into_any(),
    };
    view! {
        <tr data-testid="audit-row" data-action=entry.action.as_str()>
            <td data-label=words.col_when class="nowrap"><LocalTime at=entry.at shown=TimeShown::Seconds /></td>
            <td data-label=words.col_who>{who}</td>
            <td data-label=words.col_action>{(words.action)(entry.action)}</td>
            <td data-label=words.col_target>
                {target}
                {entry.detail.map(|detail| view! { " " <span class="muted">{detail}</span> })}
            </td>
            <td data-label=words.col_from class="nowrap">{entry.ip.unwrap_or_default()}</td>
        </tr>
    }
}
