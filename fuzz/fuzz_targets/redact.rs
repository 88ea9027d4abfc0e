//! The redactor on any text: no panic, redacting twice changes nothing, and a JSON document
//! stays JSON (the last pass over `--format json` outputs rewrites string literals in place).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut counts = std::collections::BTreeMap::new();
    let once = postmortem::redact::redact(&text, &mut counts);
    let mut again = std::collections::BTreeMap::new();
    assert_eq!(postmortem::redact::redact(&once, &mut again), once);
    assert!(again.is_empty(), "{again:?}");
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
        let pretty = serde_json::to_string_pretty(&value).expect("serialises");
        let redacted = postmortem::redact::redact_json_document(&pretty);
        serde_json::from_str::<serde_json::Value>(&redacted).expect("still JSON");
    }
});
