//! `jqueue-server report` on a database made by a scripted session with
//! known times: every figure is checked against a hand-computed one, and the
//! CSV round-trips through a CSV reader (quoting included).

use jqueue_core::queue::Entry;
use jqueue_server::cli::{ReportArgs, ReportFormat, report};
use jqueue_server::store::{HelpOutcome, QueueKey, Store};

const MIN: i64 = 60_000;

fn entry(name: &str, joined: i64) -> Entry {
    let tag = match name {
        "bo" | "fay" => Some("debugging".into()),
        "di" => Some("setup".into()),
        _ => None,
    };
    Entry {
        tag,
        ..Entry::new(name.into(), "help".into(), "lab".into(), joined)
    }
}

/// Session `mon`: ann helps "o'neil, jr" (waited 5 min, 10 min help) and
/// then bo (waited 20 min, 5 min help); cy serves di, who is not there
/// (waited 2 min); ann removes ed. Session `tue`: cy helps fay (waited 1
/// min, 3 min help) in course `cs202`'s queue `office`. Bo and fay asked
/// tagged `debugging`, di `setup`, the others untagged.
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
        messages: false,
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
            "help_secs",
            "tag"
        ]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    let brief: Vec<(&str, &str, &str, &str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r[3].as_str(),
                r[4].as_str(),
                r[8].as_str(),
                r[9].as_str(),
                r[10].as_str(),
                r[11].as_str(),
            )
        })
        .collect();
    assert_eq!(
        brief,
        [
            ("di", "cy", "not-here", "120", "", "setup"),
            (
                "o'neil, \"jr\"\nthe second",
                "ann",
                "helped",
                "300",
                "600",
                ""
            ),
            ("bo", "ann", "helped", "900", "300", "debugging"),
            ("ed", "ann", "removed", "1800", "", ""),
            ("di", "ann", "removed", "1800", "", "setup"),
        ]
    );
    assert_eq!((&*rows[1][1], &*rows[1][2]), ("default", "main"));
    assert_eq!(rows[1][5], "1970-01-01T00:00:00Z");
    assert_eq!(rows[1][6], "1970-01-01T00:05:00Z");
    assert_eq!(rows[1][7], "1970-01-01T00:15:00Z");
}

#[test]
fn the_summary_per_session_per_staff_member_and_per_tag() {
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
    // Bo (waited 15 min) and fay (1 min), across the sessions; di not
    // here, then removed; the untagged in no tag's row.
    let debugging = find("tag", "debugging");
    assert_eq!(
        (
            debugging["helped"].as_i64(),
            debugging["median_wait_secs"].as_i64()
        ),
        (Some(2), Some(60))
    );
    let setup = find("tag", "setup");
    assert_eq!(
        (setup["not_here"].as_i64(), setup["removed"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(lines.len(), 6, "two sessions, two staff, two tags: {text}");
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
        "tag",
    ] {
        assert!(row.get(key).is_some(), "{key} in {row}");
    }
    assert_eq!(row["help_secs"], 180);
    assert_eq!(row["tag"], "debugging");
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
    assert_eq!(&bo[12], "needs more on recursion, \"ask\"");
    let di = rows.iter().find(|r| &r[3] == "di").unwrap();
    assert_eq!(&di[12], "", "no note, an empty cell");
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

#[test]
fn messages_are_a_column_only_when_asked_for_each_with_its_help() {
    let dir = tempfile::tempdir().unwrap();
    scripted(dir.path());
    let mut store = Store::open(&dir.path().join("jqueue.db")).unwrap();
    let mon = QueueKey::new("mon", "default", "main");
    // To bo while he waited (his help: joined 0, finished 20 min), and
    // his answer; to di after she was not there (3 min), back in line
    // until removed (30 min): with the removal, not the not-here help.
    let id = store
        .insert_message(&mon, "bo", "ann", "On my way, \"2 min\"", false, 10 * MIN)
        .unwrap();
    store
        .answer_message(&mon, "bo", id, "thanks, row 3", 11 * MIN)
        .unwrap();
    store
        .insert_message(&mon, "di", "cy", "Are you still here?", false, 25 * MIN)
        .unwrap();
    drop(store);
    let plain = run(dir.path(), &args(Some("mon"), ReportFormat::Csv, false));
    assert!(
        !plain.contains("messages") && !plain.contains("On my way"),
        "{plain}"
    );
    let with = |format| ReportArgs {
        messages: true,
        ..args(Some("mon"), format, false)
    };
    let text = run(dir.path(), &with(ReportFormat::Csv));
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert_eq!(header.iter().next_back(), Some("messages"));
    let said = header.len() - 1;
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let bo = rows.iter().find(|r| &r[3] == "bo").unwrap();
    assert_eq!(
        &bo[said],
        "ann 1970-01-01T00:10:00Z: On my way, \"2 min\" (answer: thanks, row 3)"
    );
    let di: Vec<(&str, &str)> = rows
        .iter()
        .filter(|r| &r[3] == "di")
        .map(|r| (&r[8], &r[said]))
        .collect();
    assert_eq!(
        di,
        [
            ("not-here", ""),
            ("removed", "cy 1970-01-01T00:25:00Z: Are you still here?")
        ]
    );
    for r in rows.iter().filter(|r| !["bo", "di"].contains(&&r[3])) {
        assert_eq!(&r[said], "", "{r:?}");
    }
    let json = run(dir.path(), &with(ReportFormat::Json));
    let bo: serde_json::Value = json
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["student"] == "bo")
        .unwrap();
    assert_eq!(
        bo["messages"],
        serde_json::json!([{"staff": "ann", "sent": "1970-01-01T00:10:00Z",
                            "text": "On my way, \"2 min\"", "answer": "thanks, row 3"}])
    );
}
