//! `postmortem.yaml` on any text: a config or an error naming file, line and column.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ =
            postmortem::config::FileConfig::parse(text, std::path::Path::new("postmortem.yaml"));
    }
});
