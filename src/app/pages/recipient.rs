use crate::app::components::LocalTime;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::find_recipient;
use crate::app::format;
use crate::app::i18n::use_text;
use crate::app::pages::{ErrorNotice, Loading};
use crate::protocol::{ItemStatus, RecipientItem, RecipientLookup};

/// "Where did this number go?": every message the tenant's sends had for one number, with
/// what happened to it, every error, and its receipt.
#[component]
pub fn RecipientPage() -> impl IntoView {
    let text = use_text();
    let l = text.list;
    let query = use_query_map();
    let phone = move || {
        query
            .read()
            .get("phone")
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
    };
    let found = Resource::new(phone, |phone| async move {
        match phone {
            Some(phone) => find_recipient(phone).await.map(Some),
            None => Ok(None),
        }
    });
    view! {
        <Title text=l.recipient_title />
        <div class="page-head">
            <h1>{l.recipient_title}</h1>
        </div>
        <p class="lead">{l.recipient_lead}</p>
        <section class="panel">
            // A plain GET form: the number is in the URL, so the answer can be shared and reloaded.
            <form method="get" action="/recipients" class="search-form" role="search">
                <label for="phone">{l.phone_label}</label>
                <input
                    id="phone"
                    name="phone"
                    type="search"
                    inputmode="tel"
                    autocomplete="off"
                    maxlength="40"
                    placeholder="+34 600 000 001"
                    value=move || phone().unwrap_or_default()
                    prop:value=move || phone().unwrap_or_default()
                />
                <button type="submit" class="button">{l.find}</button>
            </form>
        </section>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let typed = phone().unwrap_or_default();
                match found.await {
                    Ok(None) => ().into_any(),
                    Ok(Some(RecipientLookup::Invalid { issue })) => view! {
                        <p class="notice notice-error" role="alert" data-testid="recipient-invalid">
                            {(l.recipient_invalid)(&typed, &(text.phone_issue)(&issue))}
                        </p>
                    }
                    .into_any(),
                    Ok(Some(RecipientLookup::Found { phone, items })) => view! {
                        <RecipientItems phone items />
                    }
                    .into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn RecipientItems(phone: String, items: Vec<RecipientItem>) -> impl IntoView {
    let text = use_text();
    let l = text.list;
    if items.is_empty() {
        return view! {
            <section class="panel empty" data-testid="recipient-none">
                <h2>{(l.recipient_none)(&phone)}</h2>
            </section>
        }
        .into_any();
    }
    let heading = (l.recipient_found)(&phone, items.len() as u64);
    let rows = items
        .into_iter()
        .map(|found| {
            let id = found.job_id.to_string();
            let send = found
                .job_name
                .clone()
                .unwrap_or_else(|| format!("{} {}", (text.kind)(crate::protocol::JobKind::BulkSend), format::short_id(&id)));
            let message: String = found.job_message.unwrap_or_default().chars().take(60).collect();
            let item = found.item;
            let failed = item.status == ItemStatus::Failed;
            let error = item.error_words(text.send_fault);
            let receipt = item.delivery.map(|d| {
                let at = item.read_at.or(item.delivered_at).unwrap_or(item.updated_at);
                view! { {(l.delivery)(d)} " · " <LocalTime at /> }
            });
            view! {
                <tr data-job-id=id.clone()>
                    <td data-label=l.col_send>
                        <a class="job-link" href=format!("/jobs/{id}")>{send}</a>
                        <span class="job-preview">{message}</span>
                    </td>
                    <td data-label=text.col_created class="muted"><LocalTime at=found.job_created_at /></td>
                    <td data-label=l.col_outcome>
                        <span class="item-status" class:item-failed=failed data-status=item.status.as_str()>
                            {(l.item_status)(item.status)}
                        </span>
                    </td>
                    <td data-label=text.col_attempts class="num">{item.attempts}</td>
                    <td data-label=text.col_error title=item.errors.join("\n")>{error}</td>
                    <td data-label=l.col_receipt>{receipt}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="panel" aria-labelledby="recipient-found">
            <h2 id="recipient-found" data-testid="recipient-found">{heading}</h2>
            <div class="table-wrap">
                <table class="data items">
                    <thead>
                        <tr>
                            <th scope="col">{l.col_send}</th>
                            <th scope="col">{text.col_created}</th>
                            <th scope="col">{l.col_outcome}</th>
                            <th scope="col" class="num">{text.col_attempts}</th>
                            <th scope="col">{text.col_error}</th>
                            <th scope="col">{l.col_receipt}</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}
