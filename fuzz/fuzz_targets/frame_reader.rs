//! Arbitrary bytes as a stream, fed to the server's `FrameReader` in chunks
//! whose sizes the fuzzer also picks: it must end (a clean close, an error or
//! messages) without panicking, and agree with the in-memory decoder.
#![no_main]

use std::sync::OnceLock;

use jqueue_shared::ClientMsg;
use jqueue_shared::codec::{FrameReader, decode_frame};
use libfuzzer_sys::fuzz_target;
use tokio::io::AsyncWriteExt;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk size; the rest is the stream.
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    runtime().block_on(async {
        let (mut tx, rx) = tokio::io::duplex(256);
        let bytes = stream.to_vec();
        let writer = tokio::spawn(async move {
            for piece in bytes.chunks(chunk) {
                if tx.write_all(piece).await.is_err() {
                    return;
                }
            }
        });
        let mut reader = FrameReader::new(rx);
        let mut first = None;
        loop {
            match reader.read_frame::<ClientMsg>().await {
                Ok(Some(msg)) => {
                    first.get_or_insert(msg);
                }
                Ok(None) | Err(_) => break,
            }
        }
        drop(reader);
        let _ = writer.await;
        // A stream holding exactly one frame decodes the same either way.
        if let Ok(msg) = decode_frame::<ClientMsg>(stream) {
            assert_eq!(first.as_ref(), Some(&msg));
        }
    });
});
