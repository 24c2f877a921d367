use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use crate::api::{CampaignOutcome, StartCampaign};
use crate::app::components::ResultsTable;
use crate::app::i18n::use_text;
use crate::app::pages::error_message;
use crate::app::{CsrfField, OperatorOnly};

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
    let form_error = move || match start.value().get() {
        Some(Err(e)) => Some(error_message(&e)),
        Some(Ok(CampaignOutcome::Rejected { error })) => Some(error_message(&error)),
        _ => None,
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
        let describedby = hint.map(|_| format!("{id}-hint"));
        view! {
            <div class="field">
                <label for=id>
                    <span>{label}</span>
                    {(!required).then(|| view! { <span class="optional">" (" {c.optional} ")"</span> })}
                </label>
                <input id=id name=id type="text" spellcheck="false" class="mono" aria-describedby=describedby />
                {hint.map(|hint| view! { <small class="hint" id=format!("{id}-hint")>{hint}</small> })}
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
            <ActionForm action=start attr:novalidate="true" attr:data-testid="campaign-form">
                <CsrfField />
                <div class="field">
                    <label for="name"><span>{c.name_label}</span></label>
                    <input id="name" name="name" type="text" required maxlength="200" />
                </div>
                <div class="field field-narrow">
                    <label for="platform"><span>{c.platform_label}</span></label>
                    <input id="platform" name="platform" type="text" required maxlength="50" aria-describedby="platform-hint" />
                    <small class="hint" id="platform-hint">{c.platform_hint}</small>
                </div>
                <div class="field">
                    <label for="keywords"><span>{c.keywords_label}</span></label>
                    <textarea id="keywords" name="keywords" rows="3" required spellcheck="false" aria-describedby="keywords-hint"></textarea>
                    <small class="hint" id="keywords-hint">{c.keywords_hint}</small>
                </div>
                <div class="field field-narrow">
                    <label for="target_results"><span>{c.target_label}</span></label>
                    <input id="target_results" name="target_results" type="number" min="1" max="100000" value="100" required aria-describedby="target-hint" />
                    <small class="hint" id="target-hint">{c.target_hint}</small>
                </div>
                <div class="field">
                    <label for="campaign-tags"><span>{text.list.tags_label}</span></label>
                    <input id="campaign-tags" type="text" name="tags" autocomplete="off" aria-describedby="campaign-tags-hint" />
                    <small class="hint" id="campaign-tags-hint">{text.list.tags_hint}</small>
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
                    <div class="field field-narrow">
                        <label for="delay_ms"><span>{c.delay_label}</span></label>
                        <input id="delay_ms" name="delay_ms" type="number" min="0" max="60000" value="500" />
                    </div>
                    <div class="field field-narrow">
                        <label for="max_pages"><span>{c.max_pages_label}</span></label>
                        <input id="max_pages" name="max_pages" type="number" min="1" max="1000" value="20" />
                    </div>
                </div>
                <div class="source-fields" hidden=move || source.get() != "apify">
                    <div class="field">
                        <label for="apify_base_url"><span>{c.apify_url_label}</span></label>
                        <input id="apify_base_url" name="apify_base_url" type="url" class="mono" value="https://api.apify.com" />
                    </div>
                    {field("apify_actor", c.apify_actor_label, None, true)}
                    <div class="field">
                        <label for="apify_token"><span>{c.apify_token_label}</span></label>
                        <input id="apify_token" name="apify_token" type="password" autocomplete="off" class="mono" />
                    </div>
                </div>
                {move || form_error().map(|e| view! { <p class="field-error" role="alert" data-testid="campaign-error">{e}</p> })}
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
