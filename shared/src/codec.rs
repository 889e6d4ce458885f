//! Framing and serialisation: the only module that touches bincode.
//!
//! A frame is a 4-byte big-endian payload length followed by the bincode
//! encoding of one message. Frames longer than [`MAX_FRAME_LEN`] are refused
//! before any payload is read, and payloads are decoded with an explicit bincode
//! size limit: without one, a ten-byte frame that claims a 2⁴⁰-byte string would
//! make the decoder try to allocate a terabyte.

use serde::Serialize;
use serde::de::DeserializeOwned;
#[cfg(feature = "net")]
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::protocol::{QueueView, ServerMsg, ViewRow};

/// The largest payload a frame may carry: 64 KiB.
pub const MAX_FRAME_LEN: usize = 64 * 1024;

/// The largest payload a server reads from a client. Nothing a client may
/// legally send comes near it (the largest, fifty names to remove or a
/// description and location of 200 four-byte characters each, are under
/// 2 KiB; a test checks), and a connection that half-sends a frame holds
/// at most this much of the server's memory, not [`MAX_FRAME_LEN`].
pub const MAX_CLIENT_FRAME_LEN: usize = 8 * 1024;

/// The largest payload a server reads from a client once it has signed in:
/// room for a question with its context attached (up to
/// [`crate::context::MAX_CONTEXT_BYTES`]) twice over, a test checks. Only a
/// signed-in account can claim this much; the pile of connections that
/// have not signed in is held to [`MAX_CLIENT_FRAME_LEN`].
pub const MAX_SIGNED_IN_FRAME_LEN: usize = 32 * 1024;

const LEN_PREFIX: usize = 4;

/// One configuration for every encode and decode, so both sides agree.
fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_FRAME_LEN>()
}

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {len} bytes is larger than the limit")]
    TooLarge { len: usize },
    #[error("connection closed in the middle of a frame")]
    Truncated,
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("could not encode message: {0}")]
    Encode(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Encodes `msg` as a complete frame: length prefix and payload.
pub fn encode_frame<T: Serialize>(msg: &T) -> Result<Vec<u8>, FrameError> {
    encode_frame_into(msg, Vec::new())
}

/// [`encode_frame`] into `frame` (which must be empty), so a caller that
/// knows the size can allocate once.
fn encode_frame_into<T: Serialize>(msg: &T, mut frame: Vec<u8>) -> Result<Vec<u8>, FrameError> {
    frame.resize(LEN_PREFIX, 0);
    bincode::serde::encode_into_std_write(msg, &mut frame, config())
        .map_err(|e| FrameError::Encode(e.to_string()))?;
    let len = frame.len() - LEN_PREFIX;
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge { len });
    }
    frame[..LEN_PREFIX].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(frame)
}

/// `msg`'s frame, if a peer can take it: no larger than [`MAX_FRAME_LEN`]
/// *and* decoding within the decoder's limit. The two differ: bincode's
/// limit counts the memory decoding claims (each sequence's elements at
/// their in-memory size, each string's bytes), not the bytes on the wire, so
/// a message of many short-on-the-wire rows can fit a frame and still be
/// refused by every receiver. Checking by decoding makes the sender's bound
/// exactly the receiver's; the frame checked is the one to send.
pub fn frame_a_peer_can_decode<T: Serialize + DeserializeOwned>(msg: &T) -> Option<Vec<u8>> {
    encode_frame(msg)
        .ok()
        .filter(|frame| decode_frame::<T>(frame).is_ok())
}

/// The rows of a [`QueueView`], encoded once and spliced into many students'
/// frames: in the default anonymous mode every student's rows are the same,
/// so only the few bytes of their own position differ per student.
#[derive(Debug, Clone)]
pub struct EncodedRows {
    bytes: Vec<u8>,
}

/// No rows: an empty sequence encodes as the single length byte `0`.
impl Default for EncodedRows {
    fn default() -> Self {
        Self { bytes: vec![0] }
    }
}

impl EncodedRows {
    pub fn new(rows: &[ViewRow]) -> Result<Self, FrameError> {
        let bytes = bincode::serde::encode_to_vec(rows, config())
            .map_err(|e| FrameError::Encode(e.to_string()))?;
        Ok(Self { bytes })
    }
}

/// Room for everything of a view's frame but its rows: the variant tag,
/// flags, counts, two clock readings and the student's own entry (with its
/// away deadline and place), all varints.
const VIEW_HEAD_BYTES: usize = 80;

/// Encodes `ServerMsg::View(view)` with `rows` in place of `view.rows` (which
/// must be empty): byte for byte the frame [`encode_frame`] would produce.
/// This works because `rows` is the view's last field and an empty sequence
/// encodes as the single length byte `0`, which the pre-encoded rows replace.
pub fn encode_view_frame(view: QueueView, rows: &EncodedRows) -> Result<Vec<u8>, FrameError> {
    debug_assert!(view.rows.is_empty(), "the rows come pre-encoded");
    // Sent once per student per change: one allocation, not one per doubling.
    let capacity = LEN_PREFIX + VIEW_HEAD_BYTES + rows.bytes.len();
    let mut frame = encode_frame_into(&ServerMsg::View(view), Vec::with_capacity(capacity))?;
    frame.pop();
    frame.extend_from_slice(&rows.bytes);
    let len = frame.len() - LEN_PREFIX;
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge { len });
    }
    frame[..LEN_PREFIX].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(frame)
}

/// Decodes one payload (the bytes after the length prefix). Trailing bytes are
/// an error: a frame holds exactly one message.
pub fn decode_payload<T: DeserializeOwned>(payload: &[u8]) -> Result<T, FrameError> {
    if payload.len() > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge { len: payload.len() });
    }
    let (msg, used) = bincode::serde::decode_from_slice(payload, config())
        .map_err(|e| FrameError::Malformed(e.to_string()))?;
    if used != payload.len() {
        return Err(FrameError::Malformed(format!(
            "{} unexpected bytes after the message",
            payload.len() - used
        )));
    }
    Ok(msg)
}

/// Decodes a complete frame held in memory (length prefix included).
pub fn decode_frame<T: DeserializeOwned>(frame: &[u8]) -> Result<T, FrameError> {
    let Some((prefix, payload)) = frame.split_first_chunk::<LEN_PREFIX>() else {
        return Err(FrameError::Truncated);
    };
    let len = u32::from_be_bytes(*prefix) as usize;
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge { len });
    }
    if payload.len() < len {
        return Err(FrameError::Truncated);
    }
    if payload.len() > len {
        return Err(FrameError::Malformed("bytes after the frame".into()));
    }
    decode_payload(payload)
}

/// Reads one message. Returns `Ok(None)` when the peer closed the connection
/// cleanly between frames, and an error for anything else.
///
/// Not cancel-safe: use a [`FrameReader`] where the read races other events.
#[cfg(feature = "net")]
pub async fn read_frame<T, R>(reader: &mut R) -> Result<Option<T>, FrameError>
where
    T: DeserializeOwned,
    R: AsyncRead + Unpin,
{
    FrameReader::new(reader).read_frame().await
}

/// Reads frames from a stream, keeping a partly read frame between calls so
/// that [`FrameReader::read_frame`] is cancel-safe: it can sit in a
/// `tokio::select!` beside timers and channels without losing bytes.
#[cfg(feature = "net")]
#[derive(Debug)]
pub struct FrameReader<R> {
    inner: R,
    /// Frames longer than this are refused before any payload is read.
    max_len: usize,
    prefix: [u8; LEN_PREFIX],
    prefix_filled: usize,
    /// Allocated only while a frame is arriving: an idle connection holds no
    /// read buffer, which keeps memory per signed-in student small.
    payload: Vec<u8>,
    payload_filled: usize,
}

#[cfg(feature = "net")]
impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(inner: R) -> Self {
        Self::with_limit(inner, MAX_FRAME_LEN)
    }

    /// A reader that refuses frames longer than `max_len` (at most
    /// [`MAX_FRAME_LEN`]): the server reads clients with
    /// [`MAX_CLIENT_FRAME_LEN`].
    pub fn with_limit(inner: R, max_len: usize) -> Self {
        Self {
            inner,
            max_len: max_len.min(MAX_FRAME_LEN),
            prefix: [0; LEN_PREFIX],
            prefix_filled: 0,
            payload: Vec::new(),
            payload_filled: 0,
        }
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Changes the limit for the frames after the one being read (at most
    /// [`MAX_FRAME_LEN`]): the server raises it to
    /// [`MAX_SIGNED_IN_FRAME_LEN`] once a client has signed in.
    pub fn set_limit(&mut self, max_len: usize) {
        self.max_len = max_len.min(MAX_FRAME_LEN);
    }

    /// Reads the next message; `Ok(None)` on a clean close between frames.
    pub async fn read_frame<T: DeserializeOwned>(&mut self) -> Result<Option<T>, FrameError> {
        // Every await below is a single `read`, which consumes nothing when
        // cancelled; all progress is kept in `self`.
        while self.prefix_filled < LEN_PREFIX {
            let n = self
                .inner
                .read(&mut self.prefix[self.prefix_filled..])
                .await?;
            if n == 0 {
                return if self.prefix_filled == 0 {
                    Ok(None)
                } else {
                    Err(FrameError::Truncated)
                };
            }
            self.prefix_filled += n;
            if self.prefix_filled == LEN_PREFIX {
                let len = u32::from_be_bytes(self.prefix) as usize;
                if len > self.max_len {
                    return Err(FrameError::TooLarge { len });
                }
                self.payload = vec![0; len];
                self.payload_filled = 0;
            }
        }
        while self.payload_filled < self.payload.len() {
            let n = self
                .inner
                .read(&mut self.payload[self.payload_filled..])
                .await?;
            if n == 0 {
                return Err(FrameError::Truncated);
            }
            self.payload_filled += n;
        }
        self.prefix_filled = 0;
        let payload = std::mem::take(&mut self.payload);
        decode_payload(&payload).map(Some)
    }
}

/// Writes one message as a frame, and flushes it: over TLS a write may
/// leave records in the session until flushed.
#[cfg(feature = "net")]
pub async fn write_frame<T, W>(writer: &mut W, msg: &T) -> Result<(), FrameError>
where
    T: Serialize,
    W: AsyncWrite + Unpin,
{
    let frame = encode_frame(msg)?;
    writer.write_all(&frame).await?;
    writer.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::*;

    fn every_client_msg() -> Vec<ClientMsg> {
        vec![
            ClientMsg::Hello {
                protocol_version: PROTOCOL_VERSION,
                client: "jqueue 0.1".into(),
            },
            ClientMsg::Identify {
                username: "alice".into(),
            },
            ClientMsg::Register {
                username: "alice".into(),
                password: "correct horse".into(),
                reset_code: Some("ABCDE-FGHJK".into()),
            },
            ClientMsg::Login {
                username: "alice".into(),
                password: "pw".into(),
            },
            ClientMsg::Resume {
                token: SessionToken([7; 16]),
            },
            ClientMsg::Follow {
                token: SessionToken([8; 16]),
            },
            ClientMsg::SignInAsAccount {
                route: LocalRoute::Ssh {
                    from_host: "lab-pc-12".into(),
                },
                follower: false,
            },
            ClientMsg::AskForHelp {
                description: "segfault ✨".into(),
                location: "lab 3".into(),
                code: Some("0042".into()),
                context: None,
                moving: false,
                tag: Some("debugging".into()),
            },
            ClientMsg::EditQuestion {
                description: "segfault in list.c".into(),
                location: "lab 3".into(),
                tag: None,
            },
            ClientMsg::AskForHelp {
                description: String::new(),
                location: String::new(),
                code: None,
                context: Some(Box::new(crate::context::QuestionContext {
                    directory: Some("/home/amy/lab3".into()),
                    git: Some("main @ 1a2b3c4 · 3 files changed".into()),
                    failed: Some(crate::context::FailedCommand {
                        command: "make".into(),
                        status: 2,
                    }),
                    file: Some(crate::context::FileTail {
                        name: "build.log".into(),
                        tail: "error: \u{1b}[31mno\n".into(),
                        cut: false,
                    }),
                })),
                moving: false,
                tag: None,
            },
            ClientMsg::Cancel,
            ClientMsg::Back,
            ClientMsg::WatchStaff,
            ClientMsg::Staff {
                queue: None,
                request: crate::staff::StaffRequest::Serve {
                    student: Some("alice".into()),
                },
            },
            ClientMsg::Staff {
                queue: None,
                request: crate::staff::StaffRequest::Remove {
                    students: vec!["bob".into(), "carol".into()],
                },
            },
            ClientMsg::Staff {
                queue: None,
                request: crate::staff::StaffRequest::Context {
                    student: "amy".into(),
                },
            },
            ClientMsg::Logout,
            ClientMsg::Ping { nonce: u64::MAX },
            ClientMsg::Pong { nonce: 0 },
        ]
    }

    #[allow(clippy::too_many_lines)] // one of every message reads best as one list
    fn every_server_msg() -> Vec<ServerMsg> {
        let view = QueueView {
            now_ms: 1_795_255_200_000,
            open: true,
            length: 3,
            you: Some(OwnEntry {
                position: 2,
                joined_at_ms: 1_795_255_135_000,
                estimated_wait_secs: Some(300),
                away_until: Some(1_800_000_000_000),
                place: crate::Place::FirstTime,
            }),
            estimated_wait_secs: Some(450),
            opens_at: None,
            closes_at: None,
            rows: vec![
                ViewRow {
                    position: 1,
                    name: None,
                    joined_at_ms: 1_795_255_100_000,
                },
                ViewRow {
                    position: 2,
                    name: Some("bob".into()),
                    joined_at_ms: 1_795_255_135_000,
                },
            ],
        };
        let mut msgs = vec![
            ServerMsg::Welcome {
                protocol_version: PROTOCOL_VERSION,
                course: "CS 101".into(),
                session: "2026-11-21".into(),
                ready_at: 3,
            },
            ServerMsg::Incompatible { server_version: 1 },
            ServerMsg::QueueChosen {
                name: "cs101/lab".into(),
                course: "CS 101".into(),
                title: Some("Lab help".into()),
                room: None,
                ready_at: 3,
                tags: vec!["setup".into(), "debugging".into()],
            },
            ServerMsg::View(view),
            ServerMsg::BeingHelped {
                by: "ta".into(),
                at: 1_800_000_000_000,
                others: 2,
                other_names: vec!["bob".into(), "carol".into()],
            },
            ServerMsg::Removed { at: 1 },
            ServerMsg::HelpEnded {
                by: "ta".into(),
                outcome: crate::HelpEnd::NotHere { until: 2 },
                at: 1,
                help_secs: 240,
            },
            ServerMsg::NotStaff {
                username: "eve".into(),
            },
            ServerMsg::StaffOutcome(crate::staff::StaffOutcome::NobodyWaiting),
            ServerMsg::StaffOutcome(crate::staff::StaffOutcome::Context {
                student: "amy".into(),
                context: Some(Box::default()),
            }),
            ServerMsg::Announcement {
                text: "back in 5".into(),
            },
            ServerMsg::ShuttingDown,
            ServerMsg::Ping { nonce: 1 },
            ServerMsg::Pong { nonce: 2 },
        ];
        for status in [
            AccountStatus::Known,
            AccountStatus::New,
            AccountStatus::InvalidUsername,
        ] {
            msgs.push(ServerMsg::Identity {
                username: "a".into(),
                status,
            });
        }
        for result in [
            SignInResult::Success {
                username: "a".into(),
                token: SessionToken([1; 16]),
            },
            SignInResult::WrongCredentials,
            SignInResult::UsernameTaken,
            SignInResult::InvalidUsername,
            SignInResult::InvalidPassword,
            SignInResult::TooManyAttempts {
                retry_after_ms: 4000,
            },
            SignInResult::TokenRejected,
            SignInResult::ServerFull,
            SignInResult::ResetCodeRequired,
            SignInResult::HostFull,
            SignInResult::SignedInAsAccount {
                username: "nobody".into(),
            },
            SignInResult::NoAccountSignIn,
            SignInResult::PasswordsOff,
        ] {
            msgs.push(ServerMsg::SignIn(result));
        }
        for result in [
            RequestResult::Joined { position: 4 },
            RequestResult::AlreadyQueued { position: 1 },
            RequestResult::Cancelled,
            RequestResult::NotQueued,
            RequestResult::QueueClosed {
                since: Some(5),
                by: Some("tara".into()),
            },
            RequestResult::InvalidText {
                field: TextField::Location,
                max_chars: 200,
            },
            RequestResult::StorageFailure,
            RequestResult::InvalidContext(crate::context::ContextError::TooLong {
                part: crate::context::ContextPart::FileTail,
                max_bytes: 8192,
            }),
            RequestResult::TooFast {
                retry_after_ms: 15_000,
            },
            RequestResult::UnknownTag {
                tags: vec!["setup".into()],
            },
        ] {
            msgs.push(ServerMsg::Request(result));
        }
        for err in [
            ProtocolError::NotSignedIn,
            ProtocolError::Unexpected,
            ProtocolError::TimedOut,
            ProtocolError::Evicted,
            ProtocolError::SignedInElsewhere,
        ] {
            msgs.push(ServerMsg::ProtocolError(err));
        }
        msgs
    }

    #[test]
    fn every_message_round_trips() {
        for msg in every_client_msg() {
            let frame = encode_frame(&msg).unwrap();
            assert_eq!(decode_frame::<ClientMsg>(&frame).unwrap(), msg);
        }
        for msg in every_server_msg() {
            let frame = encode_frame(&msg).unwrap();
            assert_eq!(decode_frame::<ServerMsg>(&frame).unwrap(), msg);
        }
    }

    #[test]
    fn a_view_with_pre_encoded_rows_is_the_same_frame() {
        let rows: Vec<ViewRow> = (1..=50)
            .map(|position| ViewRow {
                position,
                name: (position % 3 == 0).then(|| format!("s{position}")),
                joined_at_ms: 1_795_255_200_000 - i64::from(position) * 1000,
            })
            .collect();
        for (you, rows) in [
            (None, vec![]),
            (
                Some(OwnEntry {
                    position: 7,
                    joined_at_ms: -3,
                    estimated_wait_secs: None,
                    away_until: None,
                    place: crate::Place::Arrival,
                }),
                rows.clone(),
            ),
            (
                Some(OwnEntry {
                    position: 300,
                    joined_at_ms: i64::MAX,
                    estimated_wait_secs: Some(9),
                    away_until: Some(5),
                    place: crate::Place::Drawn,
                }),
                rows,
            ),
        ] {
            let view = QueueView {
                now_ms: i64::MIN,
                open: true,
                length: 300,
                you,
                estimated_wait_secs: Some(70_000),
                opens_at: None,
                closes_at: None,
                rows,
            };
            let head = QueueView {
                opens_at: None,
                closes_at: None,
                rows: Vec::new(),
                ..view.clone()
            };
            let spliced = encode_view_frame(head, &EncodedRows::new(&view.rows).unwrap()).unwrap();
            assert_eq!(spliced, encode_frame(&ServerMsg::View(view)).unwrap());
        }
    }

    #[test]
    fn the_default_rows_are_no_rows() {
        let view = QueueView {
            now_ms: 0,
            open: false,
            length: 7,
            you: None,
            estimated_wait_secs: None,
            opens_at: None,
            closes_at: None,
            rows: Vec::new(),
        };
        assert_eq!(
            encode_view_frame(view.clone(), &EncodedRows::default()).unwrap(),
            encode_frame(&ServerMsg::View(view)).unwrap()
        );
    }

    #[cfg(feature = "net")]
    #[tokio::test]
    async fn messages_round_trip_over_a_stream() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        for msg in every_client_msg() {
            write_frame(&mut a, &msg).await.unwrap();
        }
        drop(a);
        for msg in every_client_msg() {
            assert_eq!(read_frame::<ClientMsg, _>(&mut b).await.unwrap(), Some(msg));
        }
        assert!(
            read_frame::<ClientMsg, _>(&mut b).await.unwrap().is_none(),
            "clean close"
        );
    }

    #[cfg(feature = "net")]
    #[tokio::test(start_paused = true)]
    async fn frame_reader_survives_cancellation_mid_frame() {
        let frame = encode_frame(&ClientMsg::Identify {
            username: "alice".into(),
        })
        .unwrap();
        let (mut a, b) = tokio::io::duplex(1024);
        let mut reader = FrameReader::new(b);
        tokio::io::AsyncWriteExt::write_all(&mut a, &frame[..6])
            .await
            .unwrap();
        // The read is cancelled while the frame is half there...
        let pending = tokio::time::timeout(
            std::time::Duration::from_millis(10),
            reader.read_frame::<ClientMsg>(),
        );
        assert!(pending.await.is_err());
        // ...and completes once the rest arrives, with nothing lost.
        tokio::io::AsyncWriteExt::write_all(&mut a, &frame[6..])
            .await
            .unwrap();
        let msg = reader.read_frame::<ClientMsg>().await.unwrap();
        assert_eq!(
            msg,
            Some(ClientMsg::Identify {
                username: "alice".into()
            })
        );
    }

    #[cfg(feature = "net")]
    #[tokio::test]
    async fn oversize_frame_is_refused_before_reading_it() {
        let (mut a, mut b) = tokio::io::duplex(64);
        let len = (MAX_FRAME_LEN as u32 + 1).to_be_bytes();
        tokio::io::AsyncWriteExt::write_all(&mut a, &len)
            .await
            .unwrap();
        let err = read_frame::<ClientMsg, _>(&mut b).await.unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { len } if len == MAX_FRAME_LEN + 1));
    }

    /// The largest messages a client may legally send, at every limit the
    /// server checks.
    fn largest_client_msgs() -> Vec<ClientMsg> {
        use crate::validate::{
            MAX_PASSWORD_CHARS, MAX_TAG_CHARS, MAX_TEXT_CHARS, MAX_USERNAME_LEN,
        };
        // Four bytes each in UTF-8, one byte of length prefix or not.
        let wide = |n: usize| "\u{1F600}".repeat(n);
        let name = "n".repeat(MAX_USERNAME_LEN);
        vec![
            ClientMsg::Register {
                username: name.clone(),
                password: wide(MAX_PASSWORD_CHARS),
                reset_code: Some(wide(11)),
            },
            ClientMsg::Login {
                username: name.clone(),
                password: wide(MAX_PASSWORD_CHARS),
            },
            ClientMsg::AskForHelp {
                description: wide(MAX_TEXT_CHARS),
                location: wide(MAX_TEXT_CHARS),
                code: Some(wide(4)),
                context: None,
                moving: false,
                tag: Some(wide(MAX_TAG_CHARS)),
            },
            ClientMsg::EditQuestion {
                description: wide(MAX_TEXT_CHARS),
                location: wide(MAX_TEXT_CHARS),
                tag: Some(wide(MAX_TAG_CHARS)),
            },
            ClientMsg::Staff {
                queue: None,
                request: crate::staff::StaffRequest::Announce {
                    text: wide(MAX_TEXT_CHARS),
                },
            },
            ClientMsg::Staff {
                queue: None,
                request: crate::staff::StaffRequest::Remove {
                    students: vec![name.clone(); crate::staff::MAX_STAFF_ROWS],
                },
            },
            // A group of every row a screen can mark.
            ClientMsg::Staff {
                queue: None,
                request: crate::staff::StaffRequest::ServeGroup {
                    students: vec![name; crate::staff::MAX_STAFF_ROWS],
                },
            },
        ]
    }

    #[test]
    fn the_largest_legal_client_messages_fit_the_client_frame_limit() {
        for msg in largest_client_msgs() {
            let len = encode_frame(&msg).unwrap().len() - LEN_PREFIX;
            assert!(len <= MAX_CLIENT_FRAME_LEN / 2, "{len} bytes: {msg:?}");
        }
    }

    #[test]
    fn a_question_with_the_largest_context_fits_the_signed_in_frame_limit() {
        use crate::context::*;
        use crate::validate::MAX_TEXT_CHARS;
        let wide = |n: usize| "\u{1F600}".repeat(n);
        let msg = ClientMsg::AskForHelp {
            description: wide(MAX_TEXT_CHARS),
            location: wide(MAX_TEXT_CHARS),
            code: Some(wide(4)),
            context: Some(Box::new(QuestionContext {
                directory: Some("d".repeat(MAX_DIRECTORY_BYTES)),
                git: Some("g".repeat(MAX_GIT_BYTES)),
                failed: Some(FailedCommand {
                    command: "c".repeat(MAX_COMMAND_BYTES),
                    status: i32::MIN,
                }),
                file: Some(FileTail {
                    name: "n".repeat(MAX_FILE_NAME_BYTES),
                    tail: "t".repeat(MAX_TAIL_BYTES),
                    cut: true,
                }),
            })),
            moving: false,
            tag: Some(wide(crate::validate::MAX_TAG_CHARS)),
        };
        let len = encode_frame(&msg).unwrap().len() - LEN_PREFIX;
        assert!(
            len > MAX_CLIENT_FRAME_LEN,
            "{len}: the larger limit is needed"
        );
        assert!(len <= MAX_SIGNED_IN_FRAME_LEN / 2, "{len} bytes");
        // And the staff member who asks for it can be sent it.
        let answer = ServerMsg::StaffOutcome(crate::staff::StaffOutcome::Context {
            student: "n".repeat(crate::validate::MAX_USERNAME_LEN),
            context: match msg {
                ClientMsg::AskForHelp { context, .. } => context,
                _ => unreachable!(),
            },
        });
        assert!(frame_a_peer_can_decode(&answer).is_some());
    }

    #[cfg(feature = "net")]
    #[tokio::test]
    async fn a_raised_limit_takes_the_larger_frame_and_no_more() {
        let (mut a, b) = tokio::io::duplex(64 * 1024);
        let mut reader = FrameReader::with_limit(b, MAX_CLIENT_FRAME_LEN);
        reader.set_limit(MAX_SIGNED_IN_FRAME_LEN);
        let msg = ServerMsg::Announcement {
            text: "x".repeat(MAX_CLIENT_FRAME_LEN * 2),
        };
        tokio::io::AsyncWriteExt::write_all(&mut a, &encode_frame(&msg).unwrap())
            .await
            .unwrap();
        assert_eq!(reader.read_frame::<ServerMsg>().await.unwrap(), Some(msg));
        let len = (MAX_SIGNED_IN_FRAME_LEN as u32 + 1).to_be_bytes();
        tokio::io::AsyncWriteExt::write_all(&mut a, &len)
            .await
            .unwrap();
        let err = reader.read_frame::<ServerMsg>().await.unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { .. }));
    }

    #[cfg(feature = "net")]
    #[tokio::test]
    async fn a_reader_with_the_client_limit_refuses_a_longer_frame_before_reading_it() {
        let (mut a, b) = tokio::io::duplex(64);
        let len = (MAX_CLIENT_FRAME_LEN as u32 + 1).to_be_bytes();
        tokio::io::AsyncWriteExt::write_all(&mut a, &len)
            .await
            .unwrap();
        let mut reader = FrameReader::with_limit(b, MAX_CLIENT_FRAME_LEN);
        let err = reader.read_frame::<ClientMsg>().await.unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { len } if len == MAX_CLIENT_FRAME_LEN + 1));
    }

    #[test]
    fn encoding_an_oversize_message_fails() {
        let msg = ServerMsg::Announcement {
            text: "x".repeat(MAX_FRAME_LEN + 1),
        };
        assert!(encode_frame(&msg).is_err());
    }

    #[cfg(feature = "net")]
    #[tokio::test]
    async fn truncated_frame_is_an_error_not_a_clean_close() {
        let frame = encode_frame(&ClientMsg::Identify {
            username: "alice".into(),
        })
        .unwrap();
        for cut in [2, LEN_PREFIX, frame.len() - 1] {
            let (mut a, mut b) = tokio::io::duplex(1024);
            tokio::io::AsyncWriteExt::write_all(&mut a, &frame[..cut])
                .await
                .unwrap();
            drop(a);
            let err = read_frame::<ClientMsg, _>(&mut b).await.unwrap_err();
            assert!(matches!(err, FrameError::Truncated), "cut at {cut}: {err}");
        }
        assert!(matches!(
            decode_frame::<ClientMsg>(&frame[..5]),
            Err(FrameError::Truncated)
        ));
    }

    #[test]
    fn hostile_length_inside_a_small_frame_is_rejected_without_allocating() {
        // `Identify` is variant 1; then a varint string length of 2^40
        // (0xFD = u64 follows, little-endian) and no string bytes.
        let mut payload = vec![1u8, 0xFD];
        payload.extend_from_slice(&(1u64 << 40).to_le_bytes());
        let err = decode_payload::<ClientMsg>(&payload).unwrap_err();
        assert!(matches!(err, FrameError::Malformed(_)), "{err}");
        // A plausible-but-too-long claim (under 2^40 but over the limit) too.
        let mut payload = vec![1u8, 0xFC];
        payload.extend_from_slice(&(1u32 << 30).to_le_bytes());
        assert!(decode_payload::<ClientMsg>(&payload).is_err());
    }

    #[test]
    fn trailing_bytes_and_unknown_variants_are_rejected() {
        let mut frame = encode_frame(&ClientMsg::Cancel).unwrap();
        frame.push(0);
        let len = (frame.len() - 4) as u32;
        frame[..4].copy_from_slice(&len.to_be_bytes());
        assert!(decode_frame::<ClientMsg>(&frame).is_err());
        assert!(decode_payload::<ClientMsg>(&[200]).is_err());
        assert!(decode_payload::<ClientMsg>(&[]).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(2000))]
        /// Arbitrary bytes never panic the decoder, whatever they claim.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = decode_frame::<ClientMsg>(&bytes);
            let _ = decode_payload::<ClientMsg>(&bytes);
            let _ = decode_payload::<ServerMsg>(&bytes);
        }
    }
}
