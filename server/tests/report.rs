//! `jqueue-server report` on a database made by a scripted session with
//! known times: every figure is checked against a hand-computed one, and the
//! CSV round-trips through a CSV reader (quoting included).

use jqueue_core::queue::Entry;
use jqueue_server::cli::{ReportArgs, ReportFormat, report};
use jqueue_server::store::{HelpOutcome, QueueKey, Store};

const MIN: i64 = 60_000;

fn entry(name: &str, joined: i64) -> Entry {
    Entry::new(name.into(), "help".into(), "lab".into(), joined)
}

/// Session `mon`: ann helps "o'neil, jr" (waited 5 min, 10 min help) and
/// then bo (waited 20 min, 5 min help); cy serves di, who is not there
/// (waited 2 min); ann removes ed. Session `tue`: cy helps fay (waited 1
/// min, 3 min help) in course `cs202`'s queue `office`.
fn scripted(dir: &std::path::Path) {
    let mut store = Store::open(&dir.join("jqueue.db")).unwrap();
    let mon = QueueKey::new("mon", "default", "main");
    let tue = QueueKey::new("tue", "cs202", "office");
    let tricky = "o'neil, \"jr\"\nthe second";
    for (name, joined) in [(tricky, 0), ("bo", 0), ("di", 0), ("ed", 0)] {
        store.insert_entry(&mon, &entry(name, joined)).unwrap();
    }
    store
        .start_help(&mon, "ann", &[entry(tricky, 0)], 5 * MIN)
        .unwrap();
    // Serving bo ends the first help.
    store
        .start_help(&mon, "ann", &[entry("bo", 0)], 15 * MIN)
        .unwrap();
    store.finish_help(&mon, "ann", 20 * MIN).unwrap();
    store
        .start_help(&mon, "cy", &[entry("di", 0)], 2 * MIN)
        .unwrap();
    store
        .not_here(&mon, "cy", &[entry("di", 0)], 3 * MIN, 13 * MIN)
        .unwrap();
    store
        .remove_entries(
            &mon,
            Some("ann"),
            &[entry("ed", 0), entry("di", 0)],
            HelpOutcome::Removed,
            30 * MIN,
        )
        .unwrap();
    store.insert_entry(&tue, &entry("fay", 100 * MIN)).unwrap();
    store
        .start_help(&tue, "cy", &[entry("fay", 100 * MIN)], 101 * MIN)
        .unwrap();
    store.finish_help(&tue, "cy", 104 * MIN).unwrap();
}

fn run(dir: &std::path::Path, args: &ReportArgs) -> String {
    let mut out = Vec::new();
    report(dir, args, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn args(session: Option<&str>, format: ReportFormat, summary: bool) -> ReportArgs {
    ReportArgs {
        session: session.map(str::to_owned),
        since: None,
        format,
        summary,
        notes: false,
        course: None,
        queue: None,
    }
}

#[test]
fn one_row_per_help_and_a_spreadsheet_reads_it_back() {
    let dir = tempfile::tempdir().unwrap();
    scripted(dir.path());
    let text = run(dir.path(), &args(Some("mon"), ReportFormat::Csv, false));
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        [
            "session",
            "course",
            "queue",
            "student",
            "staff",
            "joined",
            "served",
            "finished",
            "outcome",
            "wait_secs",
            "help_secs"
        ]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    let brief: Vec<(&str, &str, &str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r[3].as_str(),
                r[4].as_str(),
                r[8].as_str(),
                r[9].as_str(),
                r[10].as_str(),
            )
        })
        .collect();
    assert_eq!(
        brief,
        [
            ("di", "cy", "not-here", "120", ""),
            ("o'neil, \"jr\"\nthe second", "ann", "helped", "300", "600"),
            ("bo", "ann", "helped", "900", "300"),
            ("ed", "ann", "removed", "1800", ""),
            ("di", "ann", "removed", "1800", ""),
        ]
    );
    assert_eq!((&*rows[1][1], &*rows[1][2]), ("default", "main"));
    assert_eq!(rows[1][5], "1970-01-01T00:00:00Z");
    assert_eq!(rows[1][6], "1970-01-01T00:05:00Z");
    assert_eq!(rows[1][7], "1970-01-01T00:15:00Z");
}

#[test]
fn the_summary_per_session_and_per_staff_member() {
    let dir = tempfile::tempdir().unwrap();
    scripted(dir.path());
    let text = run(dir.path(), &args(None, ReportFormat::Json, true));
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let find = |by: &str, name: &str| {
        lines
            .iter()
            .find(|l| l["by"] == by && l["name"] == name)
            .unwrap_or_else(|| panic!("{by} {name} in {text}"))
            .clone()
    };
    let mon = find("session", "mon");
    assert_eq!(
        (
            mon["helped"].as_i64(),
            mon["not_here"].as_i64(),
            mon["removed"].as_i64()
        ),
        (Some(2), Some(1), Some(2))
    );
    // Waits of students staff came for: 120, 300, 900 s.
    assert_eq!(mon["median_wait_secs"], 300);
    assert_eq!(mon["p90_wait_secs"], 900);
    // Help times: 600 and 300 s; the nearest-rank median is 300.
    assert_eq!(mon["median_help_secs"], 300);
    let cy = find("staff", "cy");
    assert_eq!(
        (cy["helped"].as_i64(), cy["not_here"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(cy["median_help_secs"], 180);
    let ann = find("staff", "ann");
    assert_eq!(
        (ann["helped"].as_i64(), ann["removed"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(find("session", "tue")["median_wait_secs"], 60);
    assert_eq!(lines.len(), 4, "two sessions, two staff: {text}");
}

#[test]
fn json_rows_carry_the_documented_keys() {
    let dir = tempfile::tempdir().unwrap();
    scripted(dir.path());
    let text = run(dir.path(), &args(Some("tue"), ReportFormat::Json, false));
    let row: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    for key in [
        "session",
        "course",
        "queue",
        "student",
        "staff",
        "joined",
        "served",
        "finished",
        "outcome",
        "wait_secs",
        "help_secs",
    ] {
        assert!(row.get(key).is_some(), "{key} in {row}");
    }
    assert_eq!(row["help_secs"], 180);
    assert_eq!(
        (&row["course"], &row["queue"]),
        (&"cs202".into(), &"office".into())
    );
}

#[test]
fn a_report_of_one_course_or_one_queue() {
    let dir = tempfile::tempdir().unwrap();
    scripted(dir.path());
    let students = |course: Option<&str>, queue: Option<&str>| {
        let text = run(
            dir.path(),
            &ReportArgs {
                course: course.map(str::to_owned),
                queue: queue.map(str::to_owned),
                ..args(None, ReportFormat::Json, false)
            },
        );
        text.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["student"].clone())
            .map(|s| s.as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(students(Some("cs202"), None), ["fay"]);
    assert_eq!(students(None, Some("cs202/office")), ["fay"]);
    assert_eq!(students(None, Some("office")), ["fay"], "a queue id alone");
    assert_eq!(students(Some("default"), None).len(), 5);
    assert!(students(None, Some("cs202/main")).is_empty());
}

#[test]
fn notes_are_a_column_only_when_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    scripted(dir.path());
    let store = Store::open(&dir.path().join("jqueue.db")).unwrap();
    store
        .set_note(
            "default",
            "bo",
            "needs more on recursion, \"ask\"",
            "ann",
            0,
        )
        .unwrap();
    drop(store);
    let plain = run(dir.path(), &args(Some("mon"), ReportFormat::Csv, false));
    assert!(
        !plain.contains("note") && !plain.contains("recursion"),
        "{plain}"
    );
    let with_notes = ReportArgs {
        notes: true,
        ..args(Some("mon"), ReportFormat::Csv, false)
    };
    let text = run(dir.path(), &with_notes);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert_eq!(header.iter().next_back(), Some("note"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let bo = rows.iter().find(|r| &r[3] == "bo").unwrap();
    assert_eq!(&bo[11], "needs more on recursion, \"ask\"");
    let di = rows.iter().find(|r| &r[3] == "di").unwrap();
    assert_eq!(&di[11], "", "no note, an empty cell");
    let json = run(
        dir.path(),
        &ReportArgs {
            notes: true,
            ..args(Some("mon"), ReportFormat::Json, false)
        },
    );
    assert!(
        json.lines()
            .any(|l| l.contains("\"note\":\"needs more on recursion")),
        "{json}"
    );
}
