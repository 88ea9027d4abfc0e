//! The mention scanner on any commit message: every candidate is a token of the message, and
//! none is found twice.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let message = String::from_utf8_lossy(data);
    let found = postmortem::collect::git::candidate_ids(&message);
    let mut seen = std::collections::HashSet::new();
    for candidate in &found {
        assert!(message.contains(&candidate.token), "{:?}", candidate.token);
        assert!(seen.insert(&candidate.token), "{:?} twice", candidate.token);
    }
});
