use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use crate::api::{CheckRecipients, StartBulkSend, StartOutcome};
use crate::app::components::{FieldError, FieldErrors, error_id, focus_first_invalid};
use crate::app::i18n::use_text;
use crate::app::pages::error_message;
use crate::app::{CsrfField, OperatorOnly};
use crate::protocol::problem::BulkRule;
use crate::protocol::{MAX_DEVICES, MAX_MESSAGE_CHARS, MAX_PHONES};
use crate::recipients;

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

/// The form control a bulk send's rule is about; `None` for the form as a whole.
fn rule_field(rule: &BulkRule) -> Option<&'static str> {
    match rule {
        BulkRule::MessageEmpty | BulkRule::MessageTooLong { .. } => Some("message"),
        BulkRule::NoPhones
        | BulkRule::TooManyPhones { .. }
        | BulkRule::SomePhonesInvalid { .. }
        | BulkRule::NoValidPhones { .. } => Some("recipients"),
        BulkRule::DevicesOutOfRange { .. } => Some("devices_limit"),
        BulkRule::NameTooLong { .. } => Some("job-name"),
        BulkRule::Tags { .. } => Some("job-tags"),
        BulkRule::IdempotencyKeyLength { .. }
        | BulkRule::UnknownSender { .. }
        | BulkRule::SenderOff { .. } => None,
    }
}

/// Entries of `text` whose index (as `recipients::split` numbers them) is not in `drop`, one per line.
fn without(text: &str, drop: &[u32]) -> String {
    let drop: std::collections::HashSet<u32> = drop.iter().copied().collect();
    recipients::split(text)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !drop.contains(&(*i as u32)))
        .map(|(_, entry)| entry.text)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The bulk send form: message, recipients, devices. Every refusal shows under its field at
/// once; invalid recipients are listed by line, and a pasted list is checked as it is written.
#[component]
pub fn BulkNewPage() -> impl IntoView {
    let text = use_text();
    let forms = text.forms;
    let start = ServerAction::<StartBulkSend>::new();
    let check = ServerAction::<CheckRecipients>::new();
    let errors = FieldErrors::new();
    let message_chars = RwSignal::new(0_usize);
    let recipient_count = RwSignal::new(0_usize);
    // A check is due (typed since the last one) or on its way.
    let check_due = RwSignal::new(false);
    let check_timer = StoredValue::new(None::<TimeoutHandle>);
    // A check due after the reader has left the page would reach a page that is gone.
    on_cleanup(move || {
        if let Some(handle) = check_timer.try_get_value().flatten() {
            handle.clear();
        }
    });
    let recipients_ref = NodeRef::<leptos::html::Textarea>::new();
    let submit_ref = NodeRef::<leptos::html::Button>::new();
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
    Effect::new(move |_| {
        if let Some(Ok(StartOutcome::Rejected { rules, .. })) = start.value().get() {
            errors.replace(
                rules
                    .iter()
                    .filter_map(|rule| Some((rule_field(rule)?, (forms.bulk)(rule))))
                    .collect(),
            );
            focus_first_invalid("form.bulk-form");
        }
    });

    let outcome = move || start.value().get();
    // After a refusal, while fields are still marked.
    let fix_shown = move || {
        errors.count() > 0 && matches!(start.value().get(), Some(Ok(StartOutcome::Rejected { .. })))
    };
    // What is not about one field: the server's refusal of the request, or a rule of the form
    // as a whole.
    let form_errors = move || match outcome() {
        Some(Err(e)) => vec![error_message(&e)],
        Some(Ok(StartOutcome::Rejected { rules, .. })) => rules
            .iter()
            .filter(|rule| rule_field(rule).is_none())
            .map(|rule| (forms.bulk)(rule))
            .collect(),
        _ => Vec::new(),
    };
    let line_errors = move || match outcome() {
        Some(Ok(StartOutcome::Rejected { lines, .. })) => lines,
        _ => Vec::new(),
    };

    let check_now = move || {
        if let Some(handle) = check_timer.try_get_value().flatten() {
            handle.clear();
        }
        let list = recipients_ref
            .get_untracked()
            .map(|area| area.value())
            .unwrap_or_default();
        if recipients::count(&list) == 0 {
            check_due.set(false);
            check.value().set(None);
            return;
        }
        check.dispatch(CheckRecipients { recipients: list });
    };
    // A check per pause in typing, not per key.
    let check_soon = move || {
        check_due.set(true);
        if let Some(handle) = check_timer.try_get_value().flatten() {
            handle.clear();
        }
        let handle = set_timeout_with_handle(check_now, std::time::Duration::from_millis(400)).ok();
        check_timer.set_value(handle);
    };
    Effect::new(move |_| {
        if check.value().with(Option::is_some) && !check.pending().get() {
            check_due.set(false);
        }
    });
    let recipients_changed = move |list: &str| {
        let count = recipients::count(list);
        recipient_count.set(count);
        errors.set(
            "recipients",
            (count > MAX_PHONES).then(|| {
                (forms.bulk)(&BulkRule::TooManyPhones {
                    count: count as u64,
                    max: MAX_PHONES as u64,
                })
            }),
        );
    };
    // Rewrites the list without the entries `drop` names (indexes of the list last checked).
    let keep = move |drop: Vec<u32>| {
        let Some(area) = recipients_ref.get_untracked() else {
            return;
        };
        let list = without(&area.value(), &drop);
        area.set_value(&list);
        recipients_changed(&list);
        check_now();
    };
    let checked = move || check.value().get().and_then(Result::ok);
    let remove_repeats = move |_| {
        if let Some(found) = checked() {
            keep(found.duplicates);
        }
    };
    let send_valid_only = move |_| {
        if let Some(found) = checked() {
            let mut drop = found.duplicates;
            drop.extend(found.invalid);
            drop.extend(found.opted_out);
            keep(drop);
            if let Some(button) = submit_ref.get_untracked() {
                button.click();
            }
        }
    };

    view! {
        <Title text=text.bulk_title />
        <div class="page-head">
            <h1>{text.bulk_title}</h1>
        </div>
        <p class="lead">{text.bulk_intro}</p>
        <OperatorOnly otherwise=move || view! { <p class="notice" role="note">{text.viewer_cannot_start}</p> }>
        <section class="panel form-panel">
            <ActionForm action=start attr:novalidate="true" attr:class="bulk-form">
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
                <div class="field" class:field-invalid=move || errors.of("message").is_some()>
                    <label for="message"><span>{text.message_label}</span></label>
                    <textarea
                        id="message"
                        name="message"
                        rows="4"
                        required
                        aria-describedby=format!("message-count {}", error_id("message"))
                        aria-invalid=move || errors.invalid("message")
                        on:input=move |ev| {
                            let chars = event_target_value(&ev).chars().count();
                            message_chars.set(chars);
                            errors.set(
                                "message",
                                (chars > MAX_MESSAGE_CHARS).then(|| {
                                    (forms.bulk)(&BulkRule::MessageTooLong {
                                        chars: chars as u64,
                                        max: MAX_MESSAGE_CHARS as u64,
                                    })
                                }),
                            );
                        }
                    ></textarea>
                    <small id="message-count" class="hint" class:hint-over=move || { message_chars.get() > MAX_MESSAGE_CHARS }>
                        {move || (text.message_count)(message_chars.get(), MAX_MESSAGE_CHARS)}
                    </small>
                    <FieldError errors field="message" />
                </div>
                <div class="field" class:field-invalid=move || errors.of("recipients").is_some()>
                    <label for="recipients"><span>{text.recipients_label}</span></label>
                    <textarea
                        id="recipients"
                        name="recipients"
                        rows="10"
                        required
                        spellcheck="false"
                        class="mono"
                        node_ref=recipients_ref
                        aria-describedby=format!("recipients-hint recipients-check {} recipient-errors", error_id("recipients"))
                        aria-invalid=move || errors.invalid("recipients")
                        on:input=move |ev| {
                            recipients_changed(&event_target_value(&ev));
                            check_soon();
                        }
                    ></textarea>
                    <small class="hint" id="recipients-hint">
                        {text.recipients_hint} " · "
                        <strong
                            data-testid="recipient-count"
                            class:hint-over=move || { recipient_count.get() > MAX_PHONES }
                        >
                            {move || (text.recipients_count)(recipient_count.get())}
                        </strong>
                    </small>
                    <div id="recipients-check" class="recipients-check" aria-live="polite" data-testid="recipients-check">
                        {move || {
                            if check_due.get() {
                                return Some(view! { <span class="hint">{forms.checking}</span> }.into_any());
                            }
                            let found = checked().filter(|found| found.entries > 0 && !found.too_many)?;
                            let repeats = found.duplicates.len() as u64;
                            let left_out = found.invalid.len() as u64 + found.opted_out.len() as u64 + repeats;
                            Some(view! {
                                <span class="check-counts">
                                    <span class="check-valid" data-testid="check-valid">{(forms.valid)(found.valid)}</span>
                                    {(!found.invalid.is_empty()).then(|| view! {
                                        " · " <span class="check-bad" data-testid="check-invalid">{(forms.invalid)(found.invalid.len() as u64)}</span>
                                    })}
                                    {(repeats > 0).then(|| view! {
                                        " · " <span class="check-bad" data-testid="check-repeated">{(forms.duplicates)(repeats)}</span>
                                    })}
                                    {(!found.opted_out.is_empty()).then(|| view! {
                                        " · " <span class="check-bad" data-testid="check-opted-out">{(forms.opted_out)(found.opted_out.len() as u64)}</span>
                                    })}
                                </span>
                                {(repeats > 0).then(|| view! {
                                    <button type="button" class="button button-small" on:click=remove_repeats>{forms.remove_duplicates}</button>
                                })}
                                {(left_out > 0 && found.valid > 0).then(|| view! {
                                    <button type="button" class="button button-small" on:click=send_valid_only>{(forms.send_valid_only)(found.valid)}</button>
                                })}
                            }.into_any())
                        }}
                    </div>
                    <FieldError errors field="recipients" />
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
                <div class="field field-narrow" class:field-invalid=move || errors.of("devices_limit").is_some()>
                    <label for="devices_limit"><span>{text.devices_label}</span></label>
                    <input
                        id="devices_limit"
                        type="number"
                        name="devices_limit"
                        min="1"
                        max=MAX_DEVICES
                        value="5"
                        required
                        aria-describedby=format!("devices-hint {}", error_id("devices_limit"))
                        aria-invalid=move || errors.invalid("devices_limit")
                        on:input=move |ev| {
                            let typed = event_target_value(&ev);
                            let fits = typed.trim().parse::<u32>().is_ok_and(|n| (1..=MAX_DEVICES).contains(&n));
                            errors.set(
                                "devices_limit",
                                (!fits).then(|| {
                                    (forms.bulk)(&BulkRule::DevicesOutOfRange {
                                        got: typed.trim().to_owned(),
                                        max: MAX_DEVICES,
                                    })
                                }),
                            );
                        }
                    />
                    <small class="hint" id="devices-hint">{text.devices_hint}</small>
                    <FieldError errors field="devices_limit" />
                </div>
                <div class="field-row">
                    <div class="field" class:field-invalid=move || errors.of("job-name").is_some()>
                        <label for="job-name"><span>{text.list.name_label}</span></label>
                        <input
                            id="job-name"
                            type="text"
                            name="name"
                            maxlength="200"
                            autocomplete="off"
                            aria-describedby=format!("name-hint {}", error_id("job-name"))
                            aria-invalid=move || errors.invalid("job-name")
                            on:input=move |_| errors.set("job-name", None)
                        />
                        <small class="hint" id="name-hint">{text.list.name_hint}</small>
                        <FieldError errors field="job-name" />
                    </div>
                    <div class="field" class:field-invalid=move || errors.of("job-tags").is_some()>
                        <label for="job-tags"><span>{text.list.tags_label}</span></label>
                        <input
                            id="job-tags"
                            type="text"
                            name="tags"
                            autocomplete="off"
                            aria-describedby=format!("tags-hint {}", error_id("job-tags"))
                            aria-invalid=move || errors.invalid("job-tags")
                            on:input=move |_| errors.set("job-tags", None)
                        />
                        <small class="hint" id="tags-hint">{text.list.tags_hint}</small>
                        <FieldError errors field="job-tags" />
                    </div>
                </div>
                <div
                    role="alert"
                    class="form-errors"
                    hidden=move || !fix_shown() && form_errors().is_empty()
                >
                    {move || fix_shown().then(|| view! {
                        <p class="field-error" data-testid="fix-fields">{(forms.fix_fields)(errors.count())}</p>
                    })}
                    {move || form_errors().into_iter().map(|e| view! { <p class="field-error">{e}</p> }).collect_view()}
                </div>
                <button type="submit" class="button button-primary" node_ref=submit_ref disabled=move || start.pending().get()>
                    {move || if start.pending().get() { text.starting } else { text.start_sending }}
                </button>
            </ActionForm>
        </section>
        </OperatorOnly>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_entries_keeps_the_rest_in_order_one_per_line() {
        let list = "+34600000001, +34600000002\nnot a number\n+34600000001";
        assert_eq!(without(list, &[1, 3]), "+34600000001\nnot a number");
        assert_eq!(
            without(list, &[]),
            "+34600000001\n+34600000002\nnot a number\n+34600000001"
        );
    }
}
