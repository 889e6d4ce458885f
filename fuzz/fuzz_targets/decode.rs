//! Arbitrary bytes as a whole frame and as a bare payload, for both message
//! types. Nothing may panic or allocate without bound; whatever decodes must
//! encode again and decode to the same message.
#![no_main]

use jqueue_shared::codec::{decode_frame, decode_payload, encode_frame};
use jqueue_shared::{ClientMsg, ServerMsg};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trips<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(msg: &T) {
    let frame = encode_frame(msg).expect("a decoded message encodes");
    let again: T = decode_frame(&frame).expect("an encoded message decodes");
    assert_eq!(&again, msg);
}

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = decode_frame::<ClientMsg>(data) {
        round_trips(&msg);
    }
    if let Ok(msg) = decode_payload::<ClientMsg>(data) {
        round_trips(&msg);
    }
    if let Ok(msg) = decode_payload::<ServerMsg>(data) {
        round_trips(&msg);
    }
});
