//! Fuzzing of frame and message decoding that runs in every `cargo test`.
//!
//! `shared/src/codec.rs` already throws 2 000 arbitrary byte strings at the
//! decoder. Pure noise rarely gets past the first byte of a bincode enum, so
//! these properties are *structure-aware*: they start from valid frames of
//! arbitrary messages and mutate them (flip, insert, delete, truncate, forge
//! the length), and they feed byte streams to the server's [`FrameReader`] in
//! arbitrary chunk sizes, which is how a hostile client's bytes really
//! arrive. Nothing may panic or hang; whatever decodes must survive a
//! re-encoding unchanged. The coverage-guided fuzzer in `fuzz/` goes further
//! (see docs/RELIABILITY.md).
//!
//! `JQUEUE_FUZZ_CASES` sets the cases per property (default 2 000).

use std::io;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use jqueue_shared::codec::{FrameError, FrameReader, decode_frame, decode_payload, encode_frame};
use jqueue_shared::{
    AccountStatus, ClientMsg, MAX_FRAME_LEN, OwnEntry, ProtocolError, QueueView, RequestResult,
    ServerMsg, SessionToken, SignInResult, TextField, ViewRow,
};
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, ReadBuf};

fn cases() -> u32 {
    std::env::var("JQUEUE_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
    })
}

/// A stream that hands out at most `chunk` bytes per read, and says "not
/// yet" every other poll, the way bytes trickle in from a socket.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    chunk: usize,
    pending_next: bool,
}

impl AsyncRead for Trickle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.pending_next {
            self.pending_next = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.pending_next = true;
        let end = (self.at + self.chunk).min(self.data.len());
        let n = (end - self.at).min(buf.remaining());
        buf.put_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Poll::Ready(Ok(()))
    }
}

/// Reads every frame from `bytes` delivered `chunk` bytes at a time, until a
/// clean close or the first error.
fn read_stream<T: DeserializeOwned>(bytes: Vec<u8>, chunk: usize) -> (Vec<T>, Option<FrameError>) {
    runtime().block_on(async move {
        let mut reader = FrameReader::new(Trickle {
            data: bytes,
            at: 0,
            chunk: chunk.max(1),
            pending_next: false,
        });
        let mut msgs = Vec::new();
        loop {
            match reader.read_frame::<T>().await {
                Ok(Some(msg)) => msgs.push(msg),
                Ok(None) => return (msgs, None),
                Err(e) => return (msgs, Some(e)),
            }
        }
    })
}

// --- arbitrary messages ----------------------------------------------------

/// Any text, including control characters, bidi overrides and astral planes.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => ".{0,40}",
        1 => "[\u{0}-\u{1f}\u{7f}-\u{9f}\u{202a}-\u{202e}\u{1b}\\[\\];]{0,20}",
        1 => Just(String::new()),
    ]
}

fn token() -> impl Strategy<Value = SessionToken> {
    any::<[u8; 16]>().prop_map(SessionToken)
}

fn client_msg() -> impl Strategy<Value = ClientMsg> {
    prop_oneof![
        (any::<u32>(), text()).prop_map(|(protocol_version, client)| ClientMsg::Hello {
            protocol_version,
            client
        }),
        text().prop_map(|username| ClientMsg::Identify { username }),
        (text(), text()).prop_map(|(username, password)| ClientMsg::Register {
            username,
            password,
            reset_code: None,
        }),
        (text(), text()).prop_map(|(username, password)| ClientMsg::Login { username, password }),
        token().prop_map(|token| ClientMsg::Resume { token }),
        (text(), any::<bool>()).prop_map(|(from_host, follower)| ClientMsg::SignInAsAccount {
            route: jqueue_shared::LocalRoute::Ssh { from_host },
            follower,
        }),
        (text(), text(), proptest::option::of(text())).prop_map(|(description, location, tag)| {
            ClientMsg::AskForHelp {
                description,
                location,
                code: None,
                context: None,
                moving: false,
                tag,
            }
        }),
        (text(), text(), proptest::option::of(text())).prop_map(|(description, location, tag)| {
            ClientMsg::EditQuestion {
                description,
                location,
                tag,
            }
        }),
        Just(ClientMsg::Cancel),
        Just(ClientMsg::Logout),
        any::<u64>().prop_map(|nonce| ClientMsg::Ping { nonce }),
        any::<u64>().prop_map(|nonce| ClientMsg::Pong { nonce }),
    ]
}

fn view() -> impl Strategy<Value = QueueView> {
    let own = (
        any::<u32>(),
        any::<i64>(),
        any::<Option<u64>>(),
        any::<Option<i64>>(),
    )
        .prop_map(
            |(position, joined_at_ms, estimated_wait_secs, away_until)| OwnEntry {
                position,
                joined_at_ms,
                estimated_wait_secs,
                away_until,
                place: jqueue_shared::Place::Drawn,
            },
        );
    let row = (any::<u32>(), proptest::option::of(text()), any::<i64>()).prop_map(
        |(position, name, joined_at_ms)| ViewRow {
            position,
            name,
            joined_at_ms,
        },
    );
    (
        any::<i64>(),
        any::<bool>(),
        any::<u32>(),
        proptest::option::of(own),
        any::<Option<u64>>(),
        any::<Option<i64>>(),
        any::<Option<i64>>(),
        proptest::collection::vec(row, 0..8),
    )
        .prop_map(
            |(now_ms, open, length, you, estimated_wait_secs, opens_at, closes_at, rows)| {
                QueueView {
                    now_ms,
                    open,
                    length,
                    you,
                    estimated_wait_secs,
                    opens_at,
                    closes_at,
                    rows,
                }
            },
        )
}

fn server_msg() -> impl Strategy<Value = ServerMsg> {
    let sign_in = prop_oneof![
        (text(), token()).prop_map(|(username, token)| SignInResult::Success { username, token }),
        Just(SignInResult::WrongCredentials),
        Just(SignInResult::UsernameTaken),
        any::<u64>().prop_map(|retry_after_ms| SignInResult::TooManyAttempts { retry_after_ms }),
        Just(SignInResult::ServerFull),
        text().prop_map(|username| SignInResult::SignedInAsAccount { username }),
        Just(SignInResult::NoAccountSignIn),
        Just(SignInResult::PasswordsOff),
    ];
    let request = prop_oneof![
        any::<u32>().prop_map(|position| RequestResult::Joined { position }),
        any::<u32>().prop_map(|position| RequestResult::AlreadyQueued { position }),
        any::<u32>().prop_map(|max_chars| RequestResult::InvalidText {
            field: TextField::Location,
            max_chars
        }),
        Just(RequestResult::StorageFailure),
        proptest::collection::vec(text(), 0..4).prop_map(|tags| RequestResult::UnknownTag { tags }),
    ];
    prop_oneof![
        (any::<u32>(), text(), text()).prop_map(|(protocol_version, course, session)| {
            ServerMsg::Welcome {
                protocol_version,
                course,
                session,
                ready_at: 3,
            }
        }),
        (text(), any::<u8>()).prop_map(|(username, s)| ServerMsg::Identity {
            username,
            status: [
                AccountStatus::Known,
                AccountStatus::New,
                AccountStatus::InvalidUsername
            ][usize::from(s % 3)],
        }),
        sign_in.prop_map(ServerMsg::SignIn),
        request.prop_map(ServerMsg::Request),
        view().prop_map(ServerMsg::View),
        text().prop_map(|text| ServerMsg::Announcement { text }),
        Just(ServerMsg::ProtocolError(ProtocolError::Evicted)),
        Just(ServerMsg::ShuttingDown),
        any::<u64>().prop_map(|nonce| ServerMsg::Ping { nonce }),
    ]
}

// --- mutations ---------------------------------------------------------------

#[derive(Debug, Clone)]
enum Mutation {
    /// XOR a byte (positions are taken modulo the frame length).
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    /// Replace the length prefix with any value at all.
    ForgeLength(u32),
    /// Append a second copy of part of the frame.
    Splice(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 1..=255u8).prop_map(|(i, x)| Mutation::Flip(i, x)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => any::<usize>().prop_map(Mutation::Delete),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => prop_oneof![
            any::<u32>(),
            Just(MAX_FRAME_LEN as u32 + 1),
            Just(u32::MAX),
            0..16u32
        ]
        .prop_map(Mutation::ForgeLength),
        1 => any::<usize>().prop_map(Mutation::Splice),
    ]
}

fn mutate(frame: &mut Vec<u8>, mutation: &Mutation) {
    let len = frame.len().max(1);
    match *mutation {
        Mutation::Flip(i, x) => {
            if !frame.is_empty() {
                frame[i % len] ^= x;
            }
        }
        Mutation::Insert(i, b) => frame.insert(i % (frame.len() + 1), b),
        Mutation::Delete(i) => {
            if !frame.is_empty() {
                frame.remove(i % len);
            }
        }
        Mutation::Truncate(i) => frame.truncate(i % len),
        Mutation::ForgeLength(n) => {
            if frame.len() >= 4 {
                frame[..4].copy_from_slice(&n.to_be_bytes());
            }
        }
        Mutation::Splice(i) => {
            let tail = frame[i % len.min(frame.len().max(1))..].to_vec();
            frame.extend_from_slice(&tail);
        }
    }
}

/// Whatever decodes must encode and decode to itself.
fn stable<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
    msg: &T,
) -> Result<(), TestCaseError> {
    let frame = encode_frame(msg).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let again: T = decode_frame(&frame).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&again, msg);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Every message survives the trip, whole or trickled in any chunk size.
    #[test]
    fn arbitrary_messages_round_trip(
        client in client_msg(),
        server in server_msg(),
        chunk in 1..64usize,
    ) {
        let frame = encode_frame(&client).unwrap();
        prop_assert_eq!(decode_frame::<ClientMsg>(&frame).unwrap(), client.clone());
        let (got, err) = read_stream::<ClientMsg>(frame, chunk);
        prop_assert!(err.is_none(), "{:?}", err);
        prop_assert_eq!(got, vec![client]);

        let frame = encode_frame(&server).unwrap();
        prop_assert_eq!(decode_frame::<ServerMsg>(&frame).unwrap(), server.clone());
        let (got, err) = read_stream::<ServerMsg>(frame, chunk);
        prop_assert!(err.is_none(), "{:?}", err);
        prop_assert_eq!(got, vec![server]);
    }

    /// Valid frames damaged in up to four places: an error or a message that
    /// re-encodes to itself, never a panic; the stream reader agrees with the
    /// in-memory decoder.
    #[test]
    fn mutated_frames_are_refused_or_decoded_consistently(
        client in client_msg(),
        server in server_msg(),
        mutations in proptest::collection::vec(mutation(), 1..4),
        chunk in 1..64usize,
    ) {
        let mut frame = encode_frame(&client).unwrap();
        for m in &mutations {
            mutate(&mut frame, m);
        }
        let whole = decode_frame::<ClientMsg>(&frame);
        if let Ok(msg) = &whole {
            stable(msg)?;
        }
        if frame.len() >= 4 {
            if let Ok(msg) = decode_payload::<ClientMsg>(&frame[4..]) {
                stable(&msg)?;
            }
        }
        let (streamed, _) = read_stream::<ClientMsg>(frame, chunk);
        if let Ok(msg) = whole {
            // A buffer holding exactly one good frame reads as that frame.
            prop_assert_eq!(streamed, vec![msg]);
        }

        let mut frame = encode_frame(&server).unwrap();
        for m in &mutations {
            mutate(&mut frame, m);
        }
        if let Ok(msg) = decode_frame::<ServerMsg>(&frame) {
            stable(&msg)?;
        }
    }

    /// Raw noise as a stream of frames, trickled in: the reader stops at a
    /// clean close or the first error, and never yields more frames than the
    /// bytes could hold (five bytes at least each).
    #[test]
    fn noise_streams_end_cleanly(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        chunk in 1..300usize,
    ) {
        let n = bytes.len();
        let (msgs, _) = read_stream::<ClientMsg>(bytes.clone(), chunk);
        prop_assert!(msgs.len() * 5 <= n);
        for msg in &msgs {
            stable(msg)?;
        }
        let (msgs, _) = read_stream::<ServerMsg>(bytes, chunk);
        prop_assert!(msgs.len() * 5 <= n);
    }

    /// A stream of several good frames with junk after them: every good
    /// frame comes out, in order, before the junk is refused.
    #[test]
    fn good_frames_then_junk(
        msgs in proptest::collection::vec(client_msg(), 1..6),
        junk in proptest::collection::vec(any::<u8>(), 1..64),
        chunk in 1..32usize,
    ) {
        let mut bytes = Vec::new();
        for m in &msgs {
            bytes.extend(encode_frame(m).unwrap());
        }
        bytes.extend(&junk);
        let (got, _) = read_stream::<ClientMsg>(bytes, chunk);
        prop_assert!(got.len() >= msgs.len());
        prop_assert_eq!(&got[..msgs.len()], &msgs[..]);
    }
}

#[test]
fn a_length_prefix_alone_never_allocates_more_than_a_frame() {
    // Claims from 0 to u32::MAX with no payload: each is refused as too
    // large or truncated, never read as a message.
    for claim in [0u32, 1, 5, 65_535, 65_536, 65_537, 1 << 24, u32::MAX] {
        let (msgs, err) = read_stream::<ClientMsg>(claim.to_be_bytes().to_vec(), 4);
        assert!(msgs.is_empty());
        match err {
            Some(FrameError::TooLarge { len }) => assert!(len > MAX_FRAME_LEN, "{claim}"),
            Some(FrameError::Truncated) => assert!(claim as usize <= MAX_FRAME_LEN, "{claim}"),
            // A zero-length frame is a payload of nothing: malformed.
            Some(FrameError::Malformed(_)) => assert_eq!(claim, 0),
            other => panic!("claim {claim}: {other:?}"),
        }
    }
}
