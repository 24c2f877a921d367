//! Errors under the fields they are about: the start forms show every refusal at once, each
//! where the reader fixes it, and move focus to the first.

use leptos::prelude::*;

/// A form's field errors by control id; a refusal replaces them all, typing in a field sets or
/// clears its own.
#[derive(Clone, Copy)]
pub struct FieldErrors(RwSignal<Vec<(&'static str, String)>>);

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> Self {
        FieldErrors(RwSignal::new(Vec::new()))
    }

    /// Replaces every error with `errors`.
    pub fn replace(&self, errors: Vec<(&'static str, String)>) {
        self.0.set(errors);
    }

    /// Sets (or, with `None`, clears) the error of one field.
    pub fn set(&self, field: &'static str, error: Option<String>) {
        self.0.update(|errors| {
            errors.retain(|(f, _)| *f != field);
            if let Some(error) = error {
                errors.push((field, error));
            }
        });
    }

    /// The error of `field`, if it has one (tracked).
    pub fn of(&self, field: &'static str) -> Option<String> {
        self.0.with(|errors| {
            errors
                .iter()
                .find(|(f, _)| *f == field)
                .map(|(_, error)| error.clone())
        })
    }

    /// How many fields have an error (tracked).
    pub fn count(&self) -> usize {
        self.0.with(Vec::len)
    }

    /// `aria-invalid` for the field: present while it has an error.
    pub fn invalid(&self, field: &'static str) -> Option<&'static str> {
        self.of(field).map(|_| "true")
    }
}

impl Default for FieldErrors {
    fn default() -> Self {
        Self::new()
    }
}

/// The id of `field`'s error, for the control's `aria-describedby`.
pub fn error_id(field: &str) -> String {
    format!("{field}-error")
}

/// The error under a field; empty and hidden while it has none (its id stays, so the control's
/// `aria-describedby` always points somewhere).
#[component]
pub fn FieldError(errors: FieldErrors, field: &'static str) -> impl IntoView {
    view! {
        <p class="field-error" id=error_id(field) hidden=move || errors.of(field).is_none()>
            {move || errors.of(field)}
        </p>
    }
}

/// Moves focus to the first control of `form` (a CSS selector) marked invalid, once the page
/// shows the marks.
pub fn focus_first_invalid(form: &'static str) {
    #[cfg(feature = "hydrate")]
    request_animation_frame(move || {
        use wasm_bindgen::JsCast;
        let first = document()
            .query_selector(&format!("{form} [aria-invalid=true]"))
            .ok()
            .flatten()
            .and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(first) = first {
            let _ = first.focus();
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = form;
}
