use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use crate::api::{CampaignOutcome, StartCampaign};
use crate::app::components::{
    FieldError, FieldErrors, ResultsTable, error_id, focus_first_invalid,
};
use crate::app::i18n::use_text;
use crate::app::pages::error_message;
use crate::app::{CsrfField, OperatorOnly};
use crate::protocol::problem::{CampaignField, CampaignRule, SourceRule};

/// The form control a campaign's rule is about; `None` for the form as a whole.
fn rule_field(rule: &CampaignRule) -> Option<&'static str> {
    match rule {
        CampaignRule::Empty { field } | CampaignRule::TooLong { field, .. } => match field {
            CampaignField::Name => Some("name"),
            CampaignField::Platform => Some("platform"),
            _ => None,
        },
        CampaignRule::KeywordEmpty { .. }
        | CampaignRule::KeywordTooLong { .. }
        | CampaignRule::NoKeywords
        | CampaignRule::TooManyKeywords { .. } => Some("keywords"),
        CampaignRule::TargetOutOfRange { .. } => Some("target_results"),
        CampaignRule::NotANumber { field, .. } => match field {
            CampaignField::DelayMs => Some("delay_ms"),
            CampaignField::MaxPages => Some("max_pages"),
            _ => None,
        },
        CampaignRule::Tags { .. } => Some("campaign-tags"),
        CampaignRule::Source { source } => source_field(source),
        CampaignRule::UnknownSource { .. } | CampaignRule::StillSearching { .. } => None,
    }
}

/// The form control a source's rule is about (the API's field names, mapped to the form's).
fn source_field(rule: &SourceRule) -> Option<&'static str> {
    let named = |field: &str| match field {
        "search_url" => Some("search_url"),
        "item_selector" => Some("item_selector"),
        "link_selector" => Some("link_selector"),
        "title_selector" => Some("title_selector"),
        "author_selector" => Some("author_selector"),
        "text_selector" => Some("text_selector"),
        "next_selector" => Some("next_selector"),
        "base_url" => Some("apify_base_url"),
        _ => None,
    };
    match rule {
        SourceRule::NoPlaceholder { .. } => Some("search_url"),
        SourceRule::NotAUrl { field, .. }
        | SourceRule::NotHttp { field, .. }
        | SourceRule::NoHost { field, .. }
        | SourceRule::BadSelector { field, .. }
        | SourceRule::PrivateAddress { field, .. } => named(field),
        SourceRule::DelayTooLong { .. } => Some("delay_ms"),
        SourceRule::MaxPagesOutOfRange { .. } => Some("max_pages"),
        SourceRule::BadActor { .. } => Some("apify_actor"),
        SourceRule::UrlFieldEmpty | SourceRule::FieldEmpty { .. } | SourceRule::InputNotObject => {
            None
        }
    }
}

/// The new-campaign form: name, platform, keywords, target and source. A large campaign opens
/// its live page; a small one shows its results here as soon as it ends.
#[component]
pub fn CampaignNewPage() -> impl IntoView {
    let text = use_text();
    let c = text.campaign;
    let start = ServerAction::<StartCampaign>::new();
    let source = RwSignal::new("sandbox".to_owned());
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(CampaignOutcome::Created {
            campaign_id,
            results: None,
            ..
        })) = start.value().get()
        {
            navigate(&format!("/campaigns/{campaign_id}"), Default::default());
        }
    });
    let forms = text.forms;
    let errors = FieldErrors::new();
    Effect::new(move |_| {
        if let Some(Ok(CampaignOutcome::Rejected { rules })) = start.value().get() {
            errors.replace(
                rules
                    .iter()
                    .filter_map(|rule| Some((rule_field(rule)?, (forms.campaign)(rule))))
                    .collect(),
            );
            focus_first_invalid("form.campaign-form");
        }
    });
    // After a refusal, while fields are still marked.
    let fix_shown = move || {
        errors.count() > 0
            && matches!(
                start.value().get(),
                Some(Ok(CampaignOutcome::Rejected { .. }))
            )
    };
    // What is not about one field: the server's refusal of the request, or a rule of the form
    // as a whole.
    let form_errors = move || match start.value().get() {
        Some(Err(e)) => vec![error_message(&e)],
        Some(Ok(CampaignOutcome::Rejected { rules })) => rules
            .iter()
            .filter(|rule| rule_field(rule).is_none())
            .map(|rule| (forms.campaign)(rule))
            .collect(),
        _ => Vec::new(),
    };
    // The attributes every control of the form takes: its error, described and marked.
    let described = move |id: &'static str, hint: Option<String>| match hint {
        Some(hint) => format!("{hint} {}", error_id(id)),
        None => error_id(id),
    };
    let small_results = move || match start.value().get() {
        Some(Ok(CampaignOutcome::Created {
            campaign_id,
            results: Some(results),
            ..
        })) => Some((campaign_id, results)),
        _ => None,
    };
    let field = move |id: &'static str,
                      label: &'static str,
                      hint: Option<&'static str>,
                      required: bool| {
        let describedby = described(id, hint.map(|_| format!("{id}-hint")));
        view! {
            <div class="field" class:field-invalid=move || errors.of(id).is_some()>
                <label for=id>
                    <span>{label}</span>
                    {(!required).then(|| view! { <span class="optional">" (" {c.optional} ")"</span> })}
                </label>
                <input
                    id=id
                    name=id
                    type="text"
                    spellcheck="false"
                    class="mono"
                    aria-describedby=describedby
                    aria-invalid=move || errors.invalid(id)
                    on:input=move |_| errors.set(id, None)
                />
                {hint.map(|hint| view! { <small class="hint" id=format!("{id}-hint")>{hint}</small> })}
                <FieldError errors field=id />
            </div>
        }
    };
    // A source's number setting: `min` to `max`, `value` by default.
    let number_field =
        move |id: &'static str, label: &'static str, min: u32, max: u32, value: u32| {
            view! {
                <div class="field field-narrow" class:field-invalid=move || errors.of(id).is_some()>
                    <label for=id><span>{label}</span></label>
                    <input
                        id=id
                        name=id
                        type="number"
                        min=min
                        max=max
                        value=value
                        aria-describedby=error_id(id)
                        aria-invalid=move || errors.invalid(id)
                        on:input=move |_| errors.set(id, None)
                    />
                    <FieldError errors field=id />
                </div>
            }
        };

    view! {
        <Title text=c.new_title />
        <div class="page-head">
            <div>
                <A href="/campaigns" attr:class="back">{c.back_to_campaigns}</A>
                <h1>{c.new_title}</h1>
            </div>
        </div>
        <p class="lead">{c.new_intro}</p>
        <OperatorOnly otherwise=move || view! { <p class="notice" role="note">{text.viewer_cannot_start}</p> }>
        <section class="panel form-panel">
            <ActionForm action=start attr:novalidate="true" attr:data-testid="campaign-form" attr:class="campaign-form">
                <CsrfField />
                <div class="field" class:field-invalid=move || errors.of("name").is_some()>
                    <label for="name"><span>{c.name_label}</span></label>
                    <input
                        id="name"
                        name="name"
                        type="text"
                        required
                        maxlength="200"
                        aria-describedby=error_id("name")
                        aria-invalid=move || errors.invalid("name")
                        on:input=move |_| errors.set("name", None)
                    />
                    <FieldError errors field="name" />
                </div>
                <div class="field field-narrow" class:field-invalid=move || errors.of("platform").is_some()>
                    <label for="platform"><span>{c.platform_label}</span></label>
                    <input
                        id="platform"
                        name="platform"
                        type="text"
                        required
                        maxlength="50"
                        aria-describedby=described("platform", Some("platform-hint".into()))
                        aria-invalid=move || errors.invalid("platform")
                        on:input=move |_| errors.set("platform", None)
                    />
                    <small class="hint" id="platform-hint">{c.platform_hint}</small>
                    <FieldError errors field="platform" />
                </div>
                <div class="field" class:field-invalid=move || errors.of("keywords").is_some()>
                    <label for="keywords"><span>{c.keywords_label}</span></label>
                    <textarea
                        id="keywords"
                        name="keywords"
                        rows="3"
                        required
                        spellcheck="false"
                        aria-describedby=described("keywords", Some("keywords-hint".into()))
                        aria-invalid=move || errors.invalid("keywords")
                        on:input=move |_| errors.set("keywords", None)
                    ></textarea>
                    <small class="hint" id="keywords-hint">{c.keywords_hint}</small>
                    <FieldError errors field="keywords" />
                </div>
                <div class="field field-narrow" class:field-invalid=move || errors.of("target_results").is_some()>
                    <label for="target_results"><span>{c.target_label}</span></label>
                    <input
                        id="target_results"
                        name="target_results"
                        type="number"
                        min="1"
                        max="100000"
                        value="100"
                        required
                        aria-describedby=described("target_results", Some("target-hint".into()))
                        aria-invalid=move || errors.invalid("target_results")
                        on:input=move |_| errors.set("target_results", None)
                    />
                    <small class="hint" id="target-hint">{c.target_hint}</small>
                    <FieldError errors field="target_results" />
                </div>
                <div class="field" class:field-invalid=move || errors.of("campaign-tags").is_some()>
                    <label for="campaign-tags"><span>{text.list.tags_label}</span></label>
                    <input
                        id="campaign-tags"
                        type="text"
                        name="tags"
                        autocomplete="off"
                        aria-describedby=described("campaign-tags", Some("campaign-tags-hint".into()))
                        aria-invalid=move || errors.invalid("campaign-tags")
                        on:input=move |_| errors.set("campaign-tags", None)
                    />
                    <small class="hint" id="campaign-tags-hint">{text.list.tags_hint}</small>
                    <FieldError errors field="campaign-tags" />
                </div>
                <fieldset class="sources">
                    <legend>{c.source_label}</legend>
                    {[("sandbox", c.source_sandbox), ("http", c.source_http), ("apify", c.source_apify)]
                        .into_iter()
                        .map(|(value, label)| view! {
                            <label class="radio">
                                <input
                                    type="radio"
                                    name="source"
                                    value=value
                                    checked=value == "sandbox"
                                    on:change=move |_| source.set(value.to_owned())
                                />
                                {label}
                            </label>
                        })
                        .collect_view()}
                </fieldset>
                <Show when=move || source.get() == "sandbox">
                    <p class="notice" role="note">{c.source_sandbox_note}</p>
                </Show>
                <div class="source-fields" hidden=move || source.get() != "http">
                    {field("search_url", c.search_url_label, Some(c.search_url_hint), true)}
                    {field("item_selector", c.item_selector_label, None, true)}
                    {field("link_selector", c.link_selector_label, None, true)}
                    {field("title_selector", c.title_selector_label, None, false)}
                    {field("author_selector", c.author_selector_label, None, false)}
                    {field("text_selector", c.text_selector_label, None, false)}
                    {field("next_selector", c.next_selector_label, None, false)}
                    {number_field("delay_ms", c.delay_label, 0, 60_000, 500)}
                    {number_field("max_pages", c.max_pages_label, 1, 1_000, 20)}
                </div>
                <div class="source-fields" hidden=move || source.get() != "apify">
                    <div class="field" class:field-invalid=move || errors.of("apify_base_url").is_some()>
                        <label for="apify_base_url"><span>{c.apify_url_label}</span></label>
                        <input
                            id="apify_base_url"
                            name="apify_base_url"
                            type="url"
                            class="mono"
                            value="https://api.apify.com"
                            aria-describedby=error_id("apify_base_url")
                            aria-invalid=move || errors.invalid("apify_base_url")
                            on:input=move |_| errors.set("apify_base_url", None)
                        />
                        <FieldError errors field="apify_base_url" />
                    </div>
                    {field("apify_actor", c.apify_actor_label, None, true)}
                    <div class="field">
                        <label for="apify_token"><span>{c.apify_token_label}</span></label>
                        <input id="apify_token" name="apify_token" type="password" autocomplete="off" class="mono" />
                    </div>
                </div>
                <div
                    role="alert"
                    class="form-errors"
                    hidden=move || !fix_shown() && form_errors().is_empty()
                    data-testid="campaign-error"
                >
                    {move || fix_shown().then(|| view! {
                        <p class="field-error" data-testid="fix-fields">{(forms.fix_fields)(errors.count())}</p>
                    })}
                    {move || form_errors().into_iter().map(|e| view! { <p class="field-error">{e}</p> }).collect_view()}
                </div>
                <button type="submit" class="button button-primary" disabled=move || start.pending().get()>
                    {move || if start.pending().get() { text.starting } else { c.start_campaign }}
                </button>
            </ActionForm>
        </section>
        </OperatorOnly>
        {move || small_results().map(|(campaign_id, results)| view! {
            <section class="panel" aria-labelledby="small-results-title" data-testid="small-results">
                <div class="panel-head">
                    <h2 id="small-results-title">{c.small_done}</h2>
                    <A href=format!("/campaigns/{campaign_id}") attr:class="button">{c.open_campaign}</A>
                </div>
                <ResultsTable results />
            </section>
        })}
    }
}
