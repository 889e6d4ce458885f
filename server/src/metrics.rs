//! The server's figures for the department's monitoring, in the Prometheus
//! text format (`/metrics`, DESIGN §18; every name starts `jqueue_`).
//!
//! This module owns the counters and histograms that only the moment
//! something happens can count: joins, helps by outcome, waits and help
//! lengths per queue (counted by the queue's owner as it records its
//! activity), connections by kind, failed sign-ins, TLS handshakes and the
//! fan-out's latency. Each is a plain atomic: counting takes no lock and
//! allocates nothing, on the owner's task or a connection's. What a queue
//! already publishes (waiting, being helped, open) is read from its staff
//! view when the text is rendered. Nothing personal is ever a label:
//! labels are course and queue ids, kinds and outcomes.
//!
//! It must not serve HTTP (the endpoint's module does, calling
//! [`render`]) and must not make anyone wait.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use jqueue_shared::staff::HelpOutcome;

use crate::ServerHandle;

/// Waits for help, in seconds: office hours run from a minute to a few
/// hours of waiting.
const WAIT_BUCKETS: &[f64] = &[
    30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1200.0, 1800.0, 2700.0, 3600.0, 5400.0, 7200.0, 10800.0,
];

/// Helps' lengths, in seconds: a quick question to a long debugging
/// session.
const HELP_BUCKETS: &[f64] = &[
    30.0, 60.0, 120.0, 180.0, 300.0, 420.0, 600.0, 900.0, 1200.0, 1800.0, 2700.0, 3600.0,
];

/// A change's trip to every student, in seconds: well under a
/// millisecond on a quiet queue, tens of milliseconds for a full lab.
const FANOUT_BUCKETS: &[f64] = &[
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

/// A Prometheus histogram: a count per bucket (not cumulative: summed
/// when rendered, the total being the count) and the sum in microseconds.
#[derive(Debug)]
pub struct Histogram {
    /// Upper bounds in seconds, ascending; `+Inf` is the last bucket.
    bounds: &'static [f64],
    buckets: Box<[AtomicU64]>,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, value: Duration) {
        let seconds = value.as_secs_f64();
        let bucket = self
            .bounds
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(self.bounds.len());
        self.buckets[bucket].fetch_add(1, Relaxed);
        let micros = u64::try_from(value.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Relaxed);
    }
}

/// One queue's counters, kept by its owner.
#[derive(Debug)]
pub struct QueueMetrics {
    joins: AtomicU64,
    /// By [`HelpOutcome`], in [`OUTCOMES`]' order.
    helps: [AtomicU64; 3],
    wait: Histogram,
    help_length: Histogram,
}

const OUTCOMES: [HelpOutcome; 3] = [
    HelpOutcome::Helped,
    HelpOutcome::NotHere,
    HelpOutcome::Removed,
];

impl Default for QueueMetrics {
    fn default() -> Self {
        Self {
            joins: AtomicU64::new(0),
            helps: Default::default(),
            wait: Histogram::new(WAIT_BUCKETS),
            help_length: Histogram::new(HELP_BUCKETS),
        }
    }
}

impl QueueMetrics {
    /// A student joined (or moved here from another queue).
    pub fn joined(&self) {
        self.joins.fetch_add(1, Relaxed);
    }

    /// A student's wait ended: staff came to them.
    pub fn served(&self, waited: Duration) {
        self.wait.observe(waited);
    }

    /// `students` students' help ended as `outcome`.
    pub fn help_ended(&self, outcome: HelpOutcome, students: usize) {
        let index = OUTCOMES.iter().position(|&o| o == outcome).unwrap_or(0);
        self.helps[index].fetch_add(students as u64, Relaxed);
    }

    /// A help that ended as helped lasted `length`.
    pub fn help_length(&self, length: Duration) {
        self.help_length.observe(length);
    }
}

/// What a connection is, for the connection counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionKind {
    /// Accepted, not signed in (nor a wall) yet.
    SigningIn,
    Student,
    /// A staff screen over the network.
    Staff,
    /// `jqueue status` following a student's standing.
    Status,
    Wall,
}

impl ConnectionKind {
    const ALL: [Self; 5] = [
        Self::SigningIn,
        Self::Student,
        Self::Staff,
        Self::Status,
        Self::Wall,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SigningIn => "signing-in",
            Self::Student => "student",
            Self::Staff => "staff",
            Self::Status => "status",
            Self::Wall => "wall",
        }
    }
}

/// How a connection's TLS handshake ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handshake {
    Ok,
    /// The peer's TLS was wrong (not TLS, a bad message, no common
    /// version).
    Failed,
    /// The peer left, or was timed out, before it finished.
    Abandoned,
}

impl Handshake {
    const ALL: [Self; 3] = [Self::Ok, Self::Failed, Self::Abandoned];

    fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Abandoned => "abandoned",
        }
    }
}

/// The server's counters; one per server, shared by its handle.
#[derive(Debug)]
pub struct Metrics {
    /// Per queue, in the order of the server's queues.
    queues: Box<[Arc<QueueMetrics>]>,
    accepted: AtomicU64,
    /// Open now and ever, by [`ConnectionKind::ALL`]'s order.
    open: [AtomicU64; 5],
    became: [AtomicU64; 5],
    sign_in_failures: AtomicU64,
    handshakes: [AtomicU64; 3],
    fanout: Histogram,
}

impl Metrics {
    pub fn new(queues: usize) -> Self {
        Self {
            queues: (0..queues).map(|_| Arc::default()).collect(),
            accepted: AtomicU64::new(0),
            open: Default::default(),
            became: Default::default(),
            sign_in_failures: AtomicU64::new(0),
            handshakes: Default::default(),
            fanout: Histogram::new(FANOUT_BUCKETS),
        }
    }

    /// The queue at `index`'s counters.
    pub fn queue(&self, index: usize) -> &Arc<QueueMetrics> {
        &self.queues[index]
    }

    /// A connection was accepted.
    pub fn accepted(&self) {
        self.accepted.fetch_add(1, Relaxed);
    }

    /// A password or reset code was wrong.
    pub fn sign_in_failed(&self) {
        self.sign_in_failures.fetch_add(1, Relaxed);
    }

    pub fn handshake(&self, result: Handshake) {
        let index = Handshake::ALL
            .iter()
            .position(|&h| h == result)
            .unwrap_or(0);
        self.handshakes[index].fetch_add(1, Relaxed);
    }

    /// One fan-out walk took `took`, from taking a snapshot to the last
    /// of its students' views handed to their sockets.
    pub fn fanned_out(&self, took: Duration) {
        self.fanout.observe(took);
    }
}

/// A connection counted as open as its kind while this lives.
#[derive(Debug)]
pub struct ConnectionSlot {
    metrics: Arc<Metrics>,
    kind: usize,
}

impl ConnectionSlot {
    pub fn new(metrics: Arc<Metrics>, kind: ConnectionKind) -> Self {
        let kind = ConnectionKind::ALL
            .iter()
            .position(|&k| k == kind)
            .unwrap_or(0);
        metrics.open[kind].fetch_add(1, Relaxed);
        metrics.became[kind].fetch_add(1, Relaxed);
        Self { metrics, kind }
    }

    /// The connection is now a `kind`: counted as that from now on.
    pub fn counts_as(&mut self, kind: ConnectionKind) {
        *self = Self::new(self.metrics.clone(), kind);
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.metrics.open[self.kind].fetch_sub(1, Relaxed);
    }
}

/// The text `/metrics` answers: every figure of `handle`'s server.
pub fn render(handle: &ServerHandle) -> String {
    let metrics = handle.metrics();
    let mut text = Text::default();
    let queues: Vec<(ServerHandle, String)> = (0..handle.queue_configs().count())
        .map(|index| {
            let queue = handle.on_queue(index);
            let config = queue.queue_config();
            let labels = format!(
                "course=\"{}\",queue=\"{}\"",
                escape(&config.course_id),
                escape(&config.queue_id)
            );
            (queue, labels)
        })
        .collect();
    let views: Vec<_> = queues
        .iter()
        .map(|(queue, labels)| (queue.staff_views().borrow().clone(), labels))
        .collect();
    text.family(
        "jqueue_queue_waiting",
        "gauge",
        "Students waiting in the queue.",
    );
    for (view, labels) in &views {
        text.sample("jqueue_queue_waiting", labels, view.waiting);
    }
    text.family(
        "jqueue_queue_being_helped",
        "gauge",
        "Helps in progress in the queue.",
    );
    for (view, labels) in &views {
        text.sample("jqueue_queue_being_helped", labels, view.helps.len());
    }
    text.family(
        "jqueue_queue_open",
        "gauge",
        "1 if the queue is open, else 0.",
    );
    for (view, labels) in &views {
        text.sample("jqueue_queue_open", labels, u8::from(view.open));
    }
    render_queue_counters(&mut text, metrics, &queues);
    render_server(&mut text, metrics);
    text.0
}

fn render_queue_counters(text: &mut Text, metrics: &Metrics, queues: &[(ServerHandle, String)]) {
    text.family(
        "jqueue_queue_joins_total",
        "counter",
        "Students who joined the queue (moves from another queue included).",
    );
    for (index, (_, labels)) in queues.iter().enumerate() {
        let joins = metrics.queue(index).joins.load(Relaxed);
        text.sample("jqueue_queue_joins_total", labels, joins);
    }
    text.family(
        "jqueue_queue_helps_total",
        "counter",
        "Helps ended, by outcome: helped (each student of a group), not-here, removed (by staff, or released at a scheduled close).",
    );
    for (index, (_, labels)) in queues.iter().enumerate() {
        for (outcome, count) in OUTCOMES.iter().zip(&metrics.queue(index).helps) {
            let labels = format!("{labels},outcome=\"{}\"", outcome.as_str());
            text.sample("jqueue_queue_helps_total", &labels, count.load(Relaxed));
        }
    }
    text.family(
        "jqueue_queue_wait_seconds",
        "histogram",
        "How long students waited before staff came to them.",
    );
    for (index, (_, labels)) in queues.iter().enumerate() {
        text.histogram(
            "jqueue_queue_wait_seconds",
            labels,
            &metrics.queue(index).wait,
        );
    }
    text.family(
        "jqueue_queue_help_seconds",
        "histogram",
        "How long helps that ended as helped lasted.",
    );
    for (index, (_, labels)) in queues.iter().enumerate() {
        let help_length = &metrics.queue(index).help_length;
        text.histogram("jqueue_queue_help_seconds", labels, help_length);
    }
}

fn render_server(text: &mut Text, metrics: &Metrics) {
    text.family(
        "jqueue_connections_accepted_total",
        "counter",
        "Connections accepted, on TCP and on the Unix socket.",
    );
    text.sample(
        "jqueue_connections_accepted_total",
        "",
        metrics.accepted.load(Relaxed),
    );
    text.family(
        "jqueue_connections",
        "gauge",
        "Connections open now, by what they are.",
    );
    for (kind, open) in ConnectionKind::ALL.iter().zip(&metrics.open) {
        let labels = format!("kind=\"{}\"", kind.as_str());
        text.sample("jqueue_connections", &labels, open.load(Relaxed));
    }
    text.family(
        "jqueue_connections_total",
        "counter",
        "Connections that became each kind (signing-in: every one accepted).",
    );
    for (kind, became) in ConnectionKind::ALL.iter().zip(&metrics.became) {
        let labels = format!("kind=\"{}\"", kind.as_str());
        text.sample("jqueue_connections_total", &labels, became.load(Relaxed));
    }
    text.family(
        "jqueue_sign_in_failures_total",
        "counter",
        "Wrong passwords and reset codes.",
    );
    text.sample(
        "jqueue_sign_in_failures_total",
        "",
        metrics.sign_in_failures.load(Relaxed),
    );
    text.family(
        "jqueue_tls_handshakes_total",
        "counter",
        "TLS handshakes, by result: ok, failed, abandoned.",
    );
    for (result, count) in Handshake::ALL.iter().zip(&metrics.handshakes) {
        let labels = format!("result=\"{}\"", result.as_str());
        text.sample("jqueue_tls_handshakes_total", &labels, count.load(Relaxed));
    }
    text.family(
        "jqueue_fanout_seconds",
        "histogram",
        "From a fan-out task taking a queue's change to its last student's view handed to the socket.",
    );
    text.histogram("jqueue_fanout_seconds", "", &metrics.fanout);
}

/// The exposition text being written.
#[derive(Default)]
struct Text(String);

impl Text {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &str, value: impl std::fmt::Display) {
        if labels.is_empty() {
            let _ = writeln!(self.0, "{name} {value}");
        } else {
            let _ = writeln!(self.0, "{name}{{{labels}}} {value}");
        }
    }

    fn histogram(&mut self, name: &str, labels: &str, histogram: &Histogram) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (index, bucket) in histogram.buckets.iter().enumerate() {
            cumulative += bucket.load(Relaxed);
            let le = histogram
                .bounds
                .get(index)
                .map_or_else(|| "+Inf".to_owned(), f64::to_string);
            let labels = format!("{labels}{sep}le=\"{le}\"");
            self.sample(&format!("{name}_bucket"), &labels, cumulative);
        }
        let sum = histogram.sum_micros.load(Relaxed) as f64 / 1e6;
        self.sample(&format!("{name}_sum"), labels, sum);
        // The count is the buckets' total, read with them: a scrape during
        // an observation must not show a count the buckets do not add up to.
        self.sample(&format!("{name}_count"), labels, cumulative);
    }
}

/// A label value as the text format wants it: `\`, `"` and newlines
/// escaped.
fn escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use jqueue_shared::staff::StaffRequest;

    use super::*;
    use crate::clock::Clock;
    use crate::config::ServerConfig;

    /// 2026-11-21T10:00:00Z.
    const START: i64 = 1_795_255_200_000;

    async fn minutes(n: u64) {
        tokio::time::advance(Duration::from_secs(n * 60)).await;
    }

    /// A server of two queues after a scripted hour: joins, a help
    /// finished, one marked not here, a failed sign-in, connections.
    async fn scripted() -> (tempfile::TempDir, crate::Server) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(dir.path().to_path_buf(), "s".into());
        config.clock = Clock::tokio_from(START);
        config.professor = "prof".into();
        let queue = |id: &str| ServerConfig {
            course_id: "cs101".into(),
            queue_id: id.into(),
            ..config.clone()
        };
        config.courses = vec![crate::department::Course {
            id: "cs101".into(),
            title: "CS 101".into(),
            roster_file: None,
            roster_group: None,
            staff_group: None,
            queues: vec![queue("lab"), queue("exams")],
        }];
        let server = crate::Server::start(config).unwrap();
        let lab = server.handle().on_queue(0);
        lab.join_from_the_lab("amy").await;
        minutes(1).await;
        lab.join_from_the_lab("bob").await;
        lab.join_from_the_lab("cat").await;
        minutes(3).await;
        lab.professor(StaffRequest::Serve { student: None }).await; // amy, 4 min
        minutes(7).await;
        lab.professor(StaffRequest::Finish).await; // 7 min of help
        lab.professor(StaffRequest::Serve { student: None }).await; // bob, 10 min
        lab.professor(StaffRequest::NotHere).await;
        let peer = "127.0.0.1:5000".parse().unwrap();
        let _ = lab.finish_login("mallory".into(), peer, false).await;
        let metrics = lab.metrics();
        metrics.accepted();
        metrics.accepted();
        metrics.handshake(Handshake::Ok);
        metrics.handshake(Handshake::Failed);
        let mut student = ConnectionSlot::new(metrics.clone(), ConnectionKind::SigningIn);
        student.counts_as(ConnectionKind::Student);
        std::mem::forget(student); // open for the rest of the test
        metrics.fanned_out(Duration::from_micros(800));
        // Everything the script did has been applied.
        lab.staff_view().await.unwrap();
        (dir, server)
    }

    #[tokio::test(start_paused = true)]
    async fn the_text_after_a_scripted_session_names_every_figure() {
        let (_dir, server) = scripted().await;
        insta::assert_snapshot!(render(&server.handle()));
    }

    type Labels = Vec<(String, String)>;

    /// One sample: its metric's name, labels and value.
    type Sample = (String, Labels, f64);

    /// Parses the exposition text as a scraper would, failing on anything
    /// out of the format: a sample without a TYPE, a bad name, label or
    /// value, an unescaped quote.
    fn parse(text: &str) -> (HashMap<String, String>, Vec<Sample>) {
        let mut types = HashMap::new();
        let mut helps = std::collections::HashSet::new();
        let mut samples = Vec::new();
        let is_name = |name: &str| {
            !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        };
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
                assert!(is_name(name), "{line}");
                assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
                assert!(
                    types.insert(name.to_owned(), kind.to_owned()).is_none(),
                    "{line}"
                );
                continue;
            }
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').expect("HELP name text");
                assert!(!help.is_empty() && !help.contains('\n'), "{line}");
                helps.insert(name.to_owned());
                continue;
            }
            assert!(!line.starts_with('#'), "{line}");
            let (series, value) = line.rsplit_once(' ').expect("name value");
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("value in {line}")),
            };
            let (name, labels) = match series.split_once('{') {
                None => (series, Vec::new()),
                Some((name, rest)) => {
                    let rest = rest.strip_suffix('}').expect("labels end with }");
                    (name, parse_labels(rest, line))
                }
            };
            assert!(is_name(name), "{line}");
            samples.push((name.to_owned(), labels, value));
        }
        for name in types.keys() {
            assert!(helps.contains(name), "no HELP for {name}");
        }
        (types, samples)
    }

    /// `a="x",b="y\"z"`, unescaped.
    fn parse_labels(mut rest: &str, line: &str) -> Vec<(String, String)> {
        let mut labels = Vec::new();
        while !rest.is_empty() {
            let (name, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, c @ ('\\' | '"'))) => value.push(c),
                        other => panic!("bad escape {other:?} in {line}"),
                    },
                    Some((i, '"')) => break i,
                    Some((_, c)) => value.push(c),
                    None => panic!("unterminated label in {line}"),
                }
            };
            labels.push((name.to_owned(), value));
            rest = &after[end + 1..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
        labels
    }

    #[tokio::test(start_paused = true)]
    async fn the_text_is_well_formed_prometheus_exposition() {
        let (_dir, server) = scripted().await;
        let (types, samples) = parse(&render(&server.handle()));
        assert!(!samples.is_empty());
        for (name, labels, _) in &samples {
            assert!(name.starts_with("jqueue_"), "{name}");
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| {
                    name.strip_suffix(suffix)
                        .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
                })
                .unwrap_or(name);
            assert!(types.contains_key(family), "{name} has no TYPE");
            for (label, _) in labels {
                assert!(
                    ["course", "queue", "outcome", "kind", "result", "le"]
                        .contains(&label.as_str()),
                    "{name}: label {label}"
                );
            }
        }
        // Every histogram series: cumulative buckets ending at +Inf, which
        // is its count, and a sum.
        let mut checked = 0;
        for (family, _) in types.iter().filter(|(_, kind)| *kind == "histogram") {
            let mut series: HashMap<Labels, Vec<(f64, f64)>> = HashMap::new();
            for (name, labels, value) in &samples {
                if *name == format!("{family}_bucket") {
                    let le = labels
                        .iter()
                        .find(|(l, _)| l == "le")
                        .expect("le")
                        .1
                        .clone();
                    let le = if le == "+Inf" {
                        f64::INFINITY
                    } else {
                        le.parse().unwrap()
                    };
                    let rest: Vec<_> = labels.iter().filter(|(l, _)| l != "le").cloned().collect();
                    series.entry(rest).or_default().push((le, *value));
                }
            }
            assert!(!series.is_empty(), "{family} has no buckets");
            for (labels, buckets) in series {
                assert!(
                    buckets
                        .windows(2)
                        .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1)
                );
                let (last_le, total) = *buckets.last().unwrap();
                assert!(last_le.is_infinite(), "{family} ends at +Inf");
                let one = |suffix: &str| {
                    samples
                        .iter()
                        .find(|(n, l, _)| *n == format!("{family}{suffix}") && *l == labels)
                        .map_or_else(|| panic!("{family}{suffix} {labels:?}"), |(_, _, v)| *v)
                };
                assert!((one("_count") - total).abs() < 0.5, "{family}");
                assert!(one("_sum") >= 0.0);
                checked += 1;
            }
        }
        assert_eq!(
            checked,
            2 + 2 + 1,
            "two queues' two histograms and the fan-out's"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape("two\nlines"), r"two\nlines");
        let labels = format!("course=\"{}\"", escape("x\"y\\z\nw"));
        let parsed = parse_labels(&labels, &labels);
        assert_eq!(parsed, [("course".to_owned(), "x\"y\\z\nw".to_owned())]);
    }

    #[test]
    fn a_histogram_puts_each_value_in_its_bucket_once() {
        let histogram = Histogram::new(&[1.0, 10.0]);
        for ms in [0, 1000, 1001, 10_000, 60_000] {
            histogram.observe(Duration::from_millis(ms));
        }
        let counts: Vec<u64> = histogram.buckets.iter().map(|b| b.load(Relaxed)).collect();
        assert_eq!(counts, [2, 2, 1], "le=1 takes 1 s itself; +Inf the rest");
        assert_eq!(histogram.sum_micros.load(Relaxed), 72_001_000);
    }
}
