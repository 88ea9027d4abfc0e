//! The Alembic revision parser on any bytes: a result or a `ParseFailure`, never a panic, and
//! a failure's position inside the file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(failure) = postmortem::migrations::alembic::parse_revision("v/x.py", data) {
        assert!(failure.line >= 1 && failure.column >= 1);
    }
});
