//! The `--render-data` reader on any bytes: what it reads, or an error naming the place.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postmortem::collect::render::files::{read_stream, Saved};

fuzz_target!(|data: &[u8]| {
    let mut saved = Saved::default();
    let _ = read_stream(std::path::Path::new("x.json"), data, &mut saved);
});
