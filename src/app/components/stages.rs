use leptos::prelude::*;

use crate::app::i18n::use_text;
use crate::live::JobFeed;
use crate::protocol::JobStatus;

/// A multi-stage job's stages in order: done, current (with what it is doing), to come; a job
/// that failed or was cancelled marks the stage it stopped in.
#[component]
pub fn StageSteps(feed: JobFeed) -> impl IntoView {
    let text = use_text();
    let job = feed.job;
    let stages = job.with_untracked(|j| j.stages.clone());
    let current = move || job.with(|j| j.stage.clone());
    // The position of the current stage; a finished job has gone through all of them.
    let position = move || {
        job.with(|j| {
            if j.status == JobStatus::Completed {
                return j.stages.len();
            }
            j.stage
                .as_ref()
                .and_then(|s| j.stages.iter().position(|name| name == s))
                .unwrap_or(0)
        })
    };
    view! {
        <ol class="stages" aria-label=text.campaign.stages_label data-testid="stages">
            {stages
                .into_iter()
                .enumerate()
                .map(|(i, name)| {
                    let label = (text.campaign.stage)(&name);
                    let state = move || {
                        let at = position();
                        let running = !job.with(|j| j.status.is_terminal() || j.status == JobStatus::Pending);
                        let status = job.with(|j| j.status);
                        if i < at || (i == at && status == JobStatus::Completed) {
                            "done"
                        } else if i == at && status == JobStatus::Failed {
                            "failed"
                        } else if i == at && status == JobStatus::Cancelled {
                            "stopped"
                        } else if i == at && running {
                            "current"
                        } else {
                            "todo"
                        }
                    };
                    view! {
                        <li
                            class=move || format!("stage stage-{}", state())
                            data-stage=name.clone()
                            aria-current=move || (state() == "current").then_some("step")
                        >
                            {label}
                        </li>
                    }
                })
                .collect_view()}
        </ol>
        // The stage is announced politely when it changes; the running commentary is not (it
        // changes with every page read, far too often to be read out).
        <p class="stage-now">
            <strong aria-live="polite" data-testid="stage-now">
                {move || current().map(|s| (text.campaign.stage)(&s)).unwrap_or_default()}
            </strong>
            <span class="muted" data-testid="stage-message">
                {move || {
                    job.with(|j| j.stage_note.as_ref().map(|n| (text.stage_note)(n, j.stage_message.as_deref().unwrap_or_default())).or_else(|| j.stage_message.clone()))
                        .map(|m| format!(" · {m}"))
                        .unwrap_or_default()
                }}
            </span>
        </p>
    }
}
