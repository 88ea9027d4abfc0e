//! The deploy-log parser on any text, one log line per input line.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use postmortem::evidence::LogLine;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let start = Utc.with_ymd_and_hms(2025, 11, 10, 15, 0, 0).unwrap();
    let lines: Vec<LogLine> = text
        .lines()
        .enumerate()
        .map(|(i, message)| LogLine {
            id: format!("log-{i}"),
            timestamp: start + chrono::Duration::seconds(i as i64),
            message: message.to_string(),
            deploy_id: Some("dep-1".into()),
            labels: Default::default(),
        })
        .collect();
    let refs: Vec<&LogLine> = lines.iter().collect();
    let _ = postmortem::deploylog::parse_lines(Some("dep-1"), &refs);
});
