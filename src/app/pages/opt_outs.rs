use crate::app::components::LocalTime;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{AddOptOut, RemoveOptOut, load_opt_outs};
use crate::app::i18n::use_text;
use crate::app::pages::{ErrorNotice, Loading, error_message};
use crate::protocol::OptOutView;

/// The numbers that asked not to be written to: listing, adding and removing them.
#[component]
pub fn OptOutsPage() -> impl IntoView {
    let words = use_text().inbox;
    let add = ServerAction::<AddOptOut>::new();
    let remove = ServerAction::<RemoveOptOut>::new();
    let data = Resource::new(
        move || (add.version().get(), remove.version().get()),
        |_| load_opt_outs(),
    );
    let add_error = move || {
        add.value()
            .get()
            .and_then(|r| r.err())
            .map(|e| error_message(&e))
    };
    let remove_error = move || {
        remove
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| error_message(&e))
    };
    let added = move || add.value().get().and_then(|r| r.ok());
    view! {
        <Title text=words.opt_outs_title />
        <div class="page-head">
            <h1>{words.opt_outs_title}</h1>
        </div>
        <p class="muted intro">{words.opt_outs_intro}</p>
        <section class="panel" aria-labelledby="add-opt-out">
            <ActionForm action=add attr:class="inline-fields" attr:data-testid="add-opt-out">
                <label class="field">
                    <span id="add-opt-out">{words.phone_label}</span>
                    <input name="phone" type="tel" required maxlength="40" autocomplete="off" />
                </label>
                <button type="submit" class="button button-primary">{words.add}</button>
            </ActionForm>
            {move || added().map(|new| {
                view! {
                    <p class="notice notice-ok" role="status">
                        {if new { words.added } else { words.already }}
                    </p>
                }
            })}
            {move || add_error().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
        </section>
        {move || remove_error().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(page) => {
                        let hint = (words.words_hint)(&page.words.join(", "));
                        let list = page.list;
                        view! {
                            <p class="muted hint">{hint}</p>
                            {if list.is_empty() {
                                view! { <p class="empty" data-testid="no-opt-outs">{words.opt_outs_empty}</p> }
                                    .into_any()
                            } else {
                                view! { <OptOutTable list remove /> }.into_any()
                            }}
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
fn OptOutTable(list: Vec<OptOutView>, remove: ServerAction<RemoveOptOut>) -> impl IntoView {
    let words = use_text().inbox;
    view! {
        <section class="panel">
            <div class="table-wrap">
                <table class="data opt-outs">
                    <thead>
                        <tr>
                            <th scope="col">{words.col_phone}</th>
                            <th scope="col">{words.col_source}</th>
                            <th scope="col">{words.col_since}</th>
                            <th scope="col"></th>
                        </tr>
                    </thead>
                    <tbody>
                        {list
                            .into_iter()
                            .map(|entry| {
                                let phone = entry.phone.clone();
                                view! {
                                    <tr data-testid="opt-out-row">
                                        <td data-label=words.col_phone class="nowrap">{entry.phone.clone()}</td>
                                        <td data-label=words.col_source>{(words.source)(&entry.source)}</td>
                                        <td data-label=words.col_since class="nowrap">
                                            <LocalTime at=entry.created_at />
                                        </td>
                                        <td class="row-actions">
                                            <button
                                                type="button"
                                                class="button button-small"
                                                on:click=move |_| {
                                                    remove.dispatch(RemoveOptOut { phone: phone.clone() });
                                                }
                                            >
                                                {words.remove}
                                            </button>
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}
