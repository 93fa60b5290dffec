//! C2SP checkpoints (`/log/<region>/checkpoint`, what auditors and witnesses fetch):
//! `Checkpoint::parse` never panics, and what parses re-encodes to the same bytes.
#![no_main]

use jifen_log::Checkpoint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(checkpoint) = Checkpoint::parse(text) {
        assert_eq!(checkpoint.to_text(), text, "a checkpoint must round-trip");
        assert_eq!(
            Checkpoint::parse(&checkpoint.to_text()).ok().as_ref(),
            Some(&checkpoint)
        );
    }
});
