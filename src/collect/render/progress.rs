//! A one-line spinner on stderr while pages come in. It draws only when asked to and when
//! stderr is a terminal, so logs and CI output never see it, and it erases itself when done.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const REDRAW_EVERY: Duration = Duration::from_millis(80);

pub struct Progress {
    enabled: bool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Per source: pages fetched, items received.
    counts: BTreeMap<&'static str, (usize, usize)>,
    frame: usize,
    last_draw: Option<Instant>,
    drawn: bool,
}

impl Progress {
    pub fn new(wanted: bool) -> Self {
        Progress {
            enabled: wanted && std::io::stderr().is_terminal(),
            state: Mutex::new(State::default()),
        }
    }

    /// One more page of `items` from `source` (`deploys`, `events`, `logs`).
    pub fn page(&self, source: &'static str, items: usize) {
        if !self.enabled {
            return;
        }
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let entry = state.counts.entry(source).or_default();
        entry.0 += 1;
        entry.1 += items;
        if state.last_draw.is_some_and(|t| t.elapsed() < REDRAW_EVERY) {
            return;
        }
        state.frame = (state.frame + 1) % FRAMES.len();
        let parts: Vec<String> = state
            .counts
            .iter()
            .map(|(s, (pages, items))| format!("{s} {items} ({pages} pages)"))
            .collect();
        let line = format!("{} Render: {}", FRAMES[state.frame], parts.join(", "));
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        state.last_draw = Some(Instant::now());
        state.drawn = true;
    }

    /// Erases the line; called on drop too.
    pub fn finish(&self) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if state.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            state.drawn = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
