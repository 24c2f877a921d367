use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{CreateSender, DeleteSender, SetSenderActive, load_senders};
use crate::app::components::SenderHealthBadge;
use crate::app::i18n::use_text;
use crate::app::pages::{ErrorNotice, Loading, error_message};
use crate::live::use_live;
use crate::protocol::senders::{SenderProvider, SenderView};

/// The tenant's senders: health, rate and counts, turning them on and off, and adding one
/// (admins; the server refuses anyone else in words).
#[component]
pub fn SendersPage() -> impl IntoView {
    let text = use_text();
    let words = text.senders;
    // Health changes arrive live (from the engine's sends and from the gateways).
    let live = use_live();
    Effect::new(move |_| live.follow_senders());
    let create = ServerAction::<CreateSender>::new();
    let toggle = ServerAction::<SetSenderActive>::new();
    let delete = ServerAction::<DeleteSender>::new();
    let data = Resource::new(
        move || {
            (
                create.version().get(),
                toggle.version().get(),
                delete.version().get(),
            )
        },
        |_| load_senders(),
    );
    let action_error = move || {
        let failed = |e: Option<crate::protocol::Problem>| e.map(|e| error_message(&e));
        failed(toggle.value().get().and_then(|r| r.err()))
            .or_else(|| failed(delete.value().get().and_then(|r| r.err())))
    };
    view! {
        <Title text=words.title />
        <div class="page-head">
            <h1>{words.title}</h1>
        </div>
        <p class="muted intro">{words.intro}</p>
        {move || action_error().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(senders) if senders.is_empty() => {
                        view! { <p class="empty" data-testid="no-senders">{words.empty}</p> }.into_any()
                    }
                    Ok(senders) => view! { <SenderTable senders toggle delete /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
        <AddSender create />
    }
}

#[component]
fn SenderTable(
    senders: Vec<SenderView>,
    toggle: ServerAction<SetSenderActive>,
    delete: ServerAction<DeleteSender>,
) -> impl IntoView {
    let words = use_text().senders;
    view! {
        <section class="panel">
            <div class="table-wrap">
                <table class="data senders">
                    <thead>
                        <tr>
                            <th scope="col">{words.col_sender}</th>
                            <th scope="col">{words.col_provider}</th>
                            <th scope="col">{words.col_health}</th>
                            <th scope="col">{words.col_rate}</th>
                            <th scope="col">{words.col_sent}</th>
                            <th scope="col">{words.col_webhook}</th>
                            <th scope="col"></th>
                        </tr>
                    </thead>
                    <tbody>
                        {senders
                            .into_iter()
                            .map(|sender| view! { <SenderRow sender toggle delete /> })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
            <p class="muted hint">{words.webhook_hint}</p>
            <p class="muted hint">{words.health_from_provider}</p>
        </section>
    }
}

#[component]
fn SenderRow(
    sender: SenderView,
    toggle: ServerAction<SetSenderActive>,
    delete: ServerAction<DeleteSender>,
) -> impl IntoView {
    let text = use_text();
    let words = text.senders;
    let id = sender.id.to_string();
    let delete_id = id.clone();
    let active = sender.active;
    let health = sender.health_view();
    view! {
        <tr class:revoked=!active data-testid="sender-row">
            <td data-label=words.col_sender>
                <strong>{sender.name.clone()}</strong>
                {(!active).then(|| view! { <span class="badge badge-cancelled">{words.off}</span> })}
            </td>
            <td data-label=words.col_provider>
                {sender.provider.label()}
                {(sender.provider == SenderProvider::Sandbox)
                    .then(|| view! { <span class="muted small">" · " {words.sandbox_label}</span> })}
            </td>
            <td data-label=words.col_health>
                <SenderHealthBadge initial=health />
            </td>
            <td data-label=words.col_rate>
                {format!("{} {}", sender.rate_per_minute, words.per_minute)}
            </td>
            <td data-label=words.col_sent class="num">
                {(words.sent_failed)(sender.stats.sent, sender.stats.failed)}
            </td>
            <td data-label=words.col_webhook>
                <code class="webhook-url">{sender.webhook_url.clone()}</code>
            </td>
            <td class="row-actions">
                <button
                    type="button"
                    class="button button-small"
                    on:click=move |_| {
                        toggle.dispatch(SetSenderActive { id: id.clone(), active: !active });
                    }
                >
                    {if active { words.turn_off } else { words.turn_on }}
                </button>
                <button
                    type="button"
                    class="button button-small button-danger"
                    on:click=move |_| {
                        delete.dispatch(DeleteSender { id: delete_id.clone() });
                    }
                >
                    {words.delete}
                </button>
            </td>
        </tr>
    }
}

#[component]
fn AddSender(create: ServerAction<CreateSender>) -> impl IntoView {
    let words = use_text().senders;
    let (provider, set_provider) = signal(SenderProvider::WhatsappCloud);
    let error = move || {
        create
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| error_message(&e))
    };
    let added = move || create.value().get().and_then(|r| r.ok());
    view! {
        <section class="panel" aria-labelledby="add-sender-title">
            <div class="panel-head">
                <h2 id="add-sender-title">{words.add_title}</h2>
            </div>
            <ActionForm action=create attr:class="stacked-fields" attr:data-testid="add-sender">
                <label class="field">
                    <span>{words.name_label}</span>
                    <input name="name" required maxlength="100" autocomplete="off" />
                </label>
                <label class="field">
                    <span>{words.provider_label}</span>
                    <select
                        name="provider"
                        on:change=move |ev| {
                            if let Some(chosen) = SenderProvider::parse(&event_target_value(&ev)) {
                                set_provider.set(chosen);
                            }
                        }
                    >
                        {SenderProvider::ALL
                            .into_iter()
                            .map(|p| {
                                let label = if p == SenderProvider::Sandbox {
                                    format!("{} ({})", p.label(), words.sandbox_label)
                                } else {
                                    p.label().to_owned()
                                };
                                view! { <option value=p.as_str()>{label}</option> }
                            })
                            .collect_view()}
                    </select>
                </label>
                {move || {
                    provider
                        .get()
                        .fields()
                        .iter()
                        .map(|field| {
                            let kind = if field.secret { "password" } else if field.url { "url" } else { "text" };
                            let note = match (field.required, field.default) {
                                (_, Some(default)) => format!("{}: {default}", words.default_is),
                                (false, None) => words.optional.to_owned(),
                                (true, None) => String::new(),
                            };
                            view! {
                                <label class="field">
                                    <span>{(words.field)(field.name)}</span>
                                    <input
                                        name=field.name
                                        type=kind
                                        required=field.required
                                        placeholder=field.default.unwrap_or_default()
                                        autocomplete=if field.secret { "new-password" } else { "off" }
                                    />
                                    {(!note.is_empty()).then(|| view! { <small class="muted">{note.clone()}</small> })}
                                    {field.secret.then(|| view! { <small class="muted">{words.secret_hint}</small> })}
                                </label>
                            }
                        })
                        .collect_view()
                }}
                <label class="field">
                    <span>{words.rate_label}</span>
                    <input name="rate_per_minute" type="number" min="1" max="60000" placeholder="600" />
                    <small class="muted">{words.rate_hint}</small>
                </label>
                <button type="submit" class="button button-primary">{words.add}</button>
            </ActionForm>
            {move || {
                added()
                    .map(|sender| {
                        // A Wablas sender's webhook URL carries its secret: this answer is the
                        // only place it is ever shown.
                        let once = (sender.provider == SenderProvider::Wablas)
                            .then(|| {
                                view! {
                                    <p class="notice" data-testid="webhook-once">
                                        {words.webhook_once} " "
                                        <code class="webhook-url">{sender.webhook_url.clone()}</code>
                                    </p>
                                }
                            });
                        view! {
                            <p class="notice notice-ok" role="status">{words.added}</p>
                            {once}
                        }
                    })
            }}
            {move || error().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
        </section>
    }
}
