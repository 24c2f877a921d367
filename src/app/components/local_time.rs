//! Times in the viewer's own time zone. The server does not know the zone, so it renders UTC
//! (and the browser hydrates that same text); once the page runs in the browser, every time
//! switches to the zone the browser is set to, with UTC kept in its tooltip.

use chrono::{DateTime, SecondsFormat, Utc};
use leptos::prelude::*;

use crate::app::format::{self, TimeShown};

/// True once the page runs in the browser: times show in the viewer's zone from then on.
#[derive(Clone, Copy)]
pub struct ViewerZone(RwSignal<bool>);

impl ViewerZone {
    /// Provides the switch; it turns on after hydration (effects do not run on the server).
    pub fn provide() {
        let local = RwSignal::new(false);
        Effect::new(move |_| local.set(true));
        provide_context(ViewerZone(local));
    }
}

/// `at` as the viewer reads it: in UTC (named) on the server, in their zone in the browser.
pub fn viewer_time(at: DateTime<Utc>, shown: TimeShown) -> String {
    let local = use_context::<ViewerZone>().is_some_and(|zone| zone.0.get());
    match local_offset_minutes(at).filter(|_| local) {
        Some(offset) => format::in_offset(at, offset, shown),
        None => match shown {
            TimeShown::Minutes => format::date_time(at),
            TimeShown::Seconds => format::date_time_seconds(at),
            TimeShown::Clock => format::clock(at),
        },
    }
}

/// The viewer's offset from UTC at `at` (daylight saving included), in minutes east.
fn local_offset_minutes(at: DateTime<Utc>) -> Option<i32> {
    #[cfg(feature = "hydrate")]
    {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
            at.timestamp_millis() as f64
        ));
        Some(-(date.get_timezone_offset() as i32))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = at;
        None
    }
}

/// A `<time>` in the viewer's zone, with the exact UTC time in its tooltip.
#[component]
pub fn LocalTime(at: DateTime<Utc>, #[prop(optional)] shown: TimeShown) -> impl IntoView {
    view! {
        <time datetime=at.to_rfc3339_opts(SecondsFormat::Secs, true) title=format::date_time_seconds(at)>
            {move || viewer_time(at, shown)}
        </time>
    }
}
