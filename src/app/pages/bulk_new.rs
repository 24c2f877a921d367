use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use crate::api::{StartBulkSend, StartOutcome};
use crate::app::i18n::use_text;
use crate::app::pages::error_message;
use crate::app::{CsrfField, OperatorOnly};
use crate::recipients;

/// Longest message, as the server enforces it.
const MAX_MESSAGE_CHARS: usize = 4_096;

/// A fresh key per form, so a double submit (or a retried request) creates one job, not two.
/// The page rendered on the server carries one, so a form posted without JavaScript has it too.
fn new_idempotency_key() -> String {
    #[cfg(feature = "ssr")]
    {
        format!("form-{}", uuid::Uuid::now_v7().simple())
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        format!(
            "form-{:x}{:x}",
            (js_sys::Math::random() * 1e15) as u64,
            js_sys::Date::now() as u64
        )
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        String::new()
    }
}

/// The bulk send form: message, recipients, devices. Invalid recipients are listed by line.
#[component]
pub fn BulkNewPage() -> impl IntoView {
    let text = use_text();
    let start = ServerAction::<StartBulkSend>::new();
    let message_chars = RwSignal::new(0_usize);
    let recipient_count = RwSignal::new(0_usize);
    // The first key comes with the page (hydration reads the server's); later ones are new.
    let first_key = OnceResource::new(async { new_idempotency_key() });
    let next_key = RwSignal::new(None::<String>);

    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(StartOutcome::Created { job_id })) = start.value().get() {
            // The next form is a new request.
            next_key.set(Some(new_idempotency_key()));
            navigate(&format!("/jobs/{job_id}"), Default::default());
        }
    });

    let outcome = move || start.value().get();
    let form_error = move || match outcome() {
        Some(Err(e)) => Some(error_message(&e)),
        Some(Ok(StartOutcome::Rejected { error, .. })) => error.map(|e| error_message(&e)),
        _ => None,
    };
    let line_errors = move || match outcome() {
        Some(Ok(StartOutcome::Rejected { lines, .. })) => lines,
        _ => Vec::new(),
    };

    view! {
        <Title text=text.bulk_title />
        <div class="page-head">
            <h1>{text.bulk_title}</h1>
        </div>
        <p class="lead">{text.bulk_intro}</p>
        <OperatorOnly otherwise=move || view! { <p class="notice" role="note">{text.viewer_cannot_start}</p> }>
        <section class="panel form-panel">
            <ActionForm action=start attr:novalidate="true">
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let first = first_key.await;
                        let shown = first.clone();
                        view! {
                            <input
                                type="hidden"
                                name="idempotency_key"
                                value=first
                                prop:value=move || next_key.get().unwrap_or_else(|| shown.clone())
                            />
                        }
                    })}
                </Suspense>
                <CsrfField />
                // Hints sit beside their control, not inside the label, so screen readers read
                // them once, as descriptions.
                <div class="field">
                    <label for="message"><span>{text.message_label}</span></label>
                    <textarea
                        id="message"
                        name="message"
                        rows="4"
                        required
                        aria-describedby="message-count"
                        on:input=move |ev| message_chars.set(event_target_value(&ev).chars().count())
                    ></textarea>
                    <small id="message-count" class="hint" class:hint-over=move || { message_chars.get() > MAX_MESSAGE_CHARS }>
                        {move || (text.message_count)(message_chars.get(), MAX_MESSAGE_CHARS)}
                    </small>
                </div>
                <div class="field">
                    <label for="recipients"><span>{text.recipients_label}</span></label>
                    <textarea
                        id="recipients"
                        name="recipients"
                        rows="10"
                        required
                        spellcheck="false"
                        class="mono"
                        aria-describedby="recipients-hint recipient-errors"
                        on:input=move |ev| recipient_count.set(recipients::count(&event_target_value(&ev)))
                    ></textarea>
                    <small class="hint" id="recipients-hint">
                        {text.recipients_hint} " · "
                        <strong data-testid="recipient-count">{move || (text.recipients_count)(recipient_count.get())}</strong>
                    </small>
                </div>
                <div id="recipient-errors" aria-live="polite">
                    <Show when=move || !line_errors().is_empty()>
                        <div class="notice notice-error" role="alert" data-testid="line-errors">
                            <p>
                                <strong>{move || (text.invalid_entries)(line_errors().len())}</strong>
                                " "
                                {text.nothing_created}
                            </p>
                            <ul>
                                {move || {
                                    line_errors()
                                        .into_iter()
                                        .map(|e| view! { <li data-line=e.line>{(text.line_error)(e.line, &e.entry, &(text.phone_issue)(&e.issue))}</li> })
                                        .collect_view()
                                }}
                            </ul>
                        </div>
                    </Show>
                </div>
                <div class="field field-narrow">
                    <label for="devices_limit"><span>{text.devices_label}</span></label>
                    <input id="devices_limit" type="number" name="devices_limit" min="1" max="50" value="5" required aria-describedby="devices-hint" />
                    <small class="hint" id="devices-hint">{text.devices_hint}</small>
                </div>
                <div class="field-row">
                    <div class="field">
                        <label for="job-name"><span>{text.list.name_label}</span></label>
                        <input id="job-name" type="text" name="name" maxlength="200" autocomplete="off" aria-describedby="name-hint" />
                        <small class="hint" id="name-hint">{text.list.name_hint}</small>
                    </div>
                    <div class="field">
                        <label for="job-tags"><span>{text.list.tags_label}</span></label>
                        <input id="job-tags" type="text" name="tags" autocomplete="off" aria-describedby="tags-hint" />
                        <small class="hint" id="tags-hint">{text.list.tags_hint}</small>
                    </div>
                </div>
                {move || form_error().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                <button type="submit" class="button button-primary" disabled=move || start.pending().get()>
                    {move || if start.pending().get() { text.starting } else { text.start_sending }}
                </button>
            </ActionForm>
        </section>
        </OperatorOnly>
    }
}
