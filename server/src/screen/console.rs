//! The headless console: the professor's commands read line by line from
//! stdin.
//!
//! `jqueue-server --headless` has no screen, but a professor running it as a
//! service, or a script (the load generator, the tests), still needs the
//! staff verbs. Each line is one command, turned into the same
//! [`StaffRequest`] a staff screen sends, and answered with the same words
//! ([`StaffOutcome`]'s `Display`), on one line.

use std::fmt::Write as _;

use jqueue_shared::staff::{StaffRequest, StaffView};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

use crate::ServerHandle;

pub const HELP: &str = "commands: serve [NAME] | group NAME NAME... | finish | nothere \
                        | remove NAME | open | close | announce TEXT | message NAME TEXT | print \
                        | status | queue ID | quit";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsoleCommand {
    /// A staff request, acting as the professor.
    Staff(StaffRequest),
    Status,
    /// `queue ID`: the queue the other verbs act on from now on.
    Queue(String),
    Quit,
    Help,
}

/// Parses one line; `Err` holds the message to print.
pub fn parse(line: &str) -> Result<Option<ConsoleCommand>, String> {
    use ConsoleCommand::Staff;
    let line = line.trim();
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let command = match (word, rest) {
        ("", _) => return Ok(None),
        ("serve", "") => Staff(StaffRequest::Serve { student: None }),
        ("serve", name) => Staff(StaffRequest::Serve {
            student: Some(name.to_owned()),
        }),
        ("group", names) if names.split_whitespace().count() >= 2 => {
            Staff(StaffRequest::ServeGroup {
                students: names.split_whitespace().map(str::to_owned).collect(),
            })
        }
        ("group", _) => return Err("group needs two or more names: group NAME NAME...".into()),
        ("finish", "") => Staff(StaffRequest::Finish),
        ("nothere", "") => Staff(StaffRequest::NotHere),
        ("remove", "") => return Err("remove needs a name: remove NAME".into()),
        ("remove", names) => Staff(StaffRequest::Remove {
            students: names.split_whitespace().map(str::to_owned).collect(),
        }),
        ("open", "") => Staff(StaffRequest::SetOpen { open: true }),
        ("close", "") => Staff(StaffRequest::SetOpen { open: false }),
        ("announce", "") => return Err("announce needs text: announce TEXT".into()),
        ("announce", text) => Staff(StaffRequest::Announce {
            text: text.to_owned(),
        }),
        ("message", rest) => match rest.split_once(char::is_whitespace) {
            Some((name, text)) if !text.trim().is_empty() => Staff(StaffRequest::Message {
                student: name.to_owned(),
                text: text.trim().to_owned(),
                asks_edit: false,
            }),
            _ => return Err("message needs a name and text: message NAME TEXT".into()),
        },
        ("print", "") => Staff(StaffRequest::Print),
        ("status", "") => ConsoleCommand::Status,
        ("queue", "") => return Err("queue needs an id: queue COURSE/QUEUE".into()),
        ("queue", id) => ConsoleCommand::Queue(id.to_owned()),
        ("quit", "") => ConsoleCommand::Quit,
        ("help" | "?", _) => ConsoleCommand::Help,
        _ => return Err(format!("unknown command {line:?}; {HELP}")),
    };
    Ok(Some(command))
}

/// Reads commands until `quit` or end of input. End of input does not stop
/// the server: a service started with stdin closed keeps running. The
/// verbs act on the first queue until `queue ID` picks another.
pub async fn run(
    mut handle: ServerHandle,
    input: impl AsyncBufRead + Unpin,
    mut output: impl AsyncWrite + Unpin,
) -> std::io::Result<()> {
    let mut lines = input.lines();
    while let Some(line) = lines.next_line().await? {
        let reply = match parse(&line) {
            Ok(None) => continue,
            Ok(Some(ConsoleCommand::Quit)) => {
                output.write_all(b"shutting down\n").await?;
                output.flush().await?;
                handle.shutdown();
                return Ok(());
            }
            Ok(Some(ConsoleCommand::Staff(request))) => handle.professor(request).await.to_string(),
            Ok(Some(ConsoleCommand::Status)) => every_status(&handle).await,
            Ok(Some(ConsoleCommand::Queue(id))) => match handle.find_queue(Some(&id)) {
                Ok(index) => {
                    handle = handle.on_queue(index);
                    format!(
                        "queue {}",
                        crate::department::queue_name(handle.queue_config())
                    )
                }
                Err(e) => e.to_string(),
            },
            Ok(Some(ConsoleCommand::Help)) => HELP.into(),
            Err(message) => message,
        };
        output.write_all(format!("{reply}\n").as_bytes()).await?;
        output.flush().await?;
    }
    Ok(())
}

/// `status`: the queue's line, or with several queues one line for each,
/// named, the one the verbs act on marked `*`.
async fn every_status(handle: &ServerHandle) -> String {
    let count = handle.queue_configs().count();
    if count == 1 {
        return match handle.staff_view().await {
            Ok(view) => status(&view),
            Err(e) => e.to_string(),
        };
    }
    let current = crate::department::queue_name(handle.queue_config());
    let mut lines = Vec::with_capacity(count);
    for index in 0..count {
        let queue = handle.on_queue(index);
        let name = crate::department::queue_name(queue.queue_config());
        let mark = if name == current { '*' } else { ' ' };
        match queue.staff_view().await {
            Ok(view) => lines.push(format!("{mark} {name}: {}", status(&view))),
            Err(e) => return e.to_string(),
        }
    }
    lines.join("\n")
}

/// One line: open or closed, the counts, and who is helping whom.
pub fn status(view: &StaffView) -> String {
    let mut line = format!(
        "{} · {} waiting · {} online · {} helped",
        if view.open { "OPEN" } else { "CLOSED" },
        view.waiting,
        view.online_students,
        view.helped_count
    );
    for help in &view.helps {
        let mut students = vec![help.student.as_str()];
        students.extend(help.with.iter().map(String::as_str));
        let _ = write!(
            line,
            " · {} helping {}",
            jqueue_shared::sanitize(&help.staff),
            jqueue_shared::staff::listed(&students)
        );
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unnecessary_wraps)] // compared with what `parse` returns
    fn staff(request: StaffRequest) -> Result<Option<ConsoleCommand>, String> {
        Ok(Some(ConsoleCommand::Staff(request)))
    }

    #[test]
    fn parses_every_command() {
        assert_eq!(parse("serve"), staff(StaffRequest::Serve { student: None }));
        assert_eq!(
            parse(" serve  alice "),
            staff(StaffRequest::Serve {
                student: Some("alice".into())
            })
        );
        assert_eq!(parse("finish"), staff(StaffRequest::Finish));
        assert_eq!(
            parse("group ann  ben"),
            staff(StaffRequest::ServeGroup {
                students: vec!["ann".into(), "ben".into()]
            })
        );
        assert!(parse("group ann").is_err(), "a group is two or more");
        assert_eq!(parse("nothere"), staff(StaffRequest::NotHere));
        assert_eq!(
            parse("remove bob carol"),
            staff(StaffRequest::Remove {
                students: vec!["bob".into(), "carol".into()]
            })
        );
        assert_eq!(parse("open"), staff(StaffRequest::SetOpen { open: true }));
        assert_eq!(parse("close"), staff(StaffRequest::SetOpen { open: false }));
        assert_eq!(
            parse("announce back in 5"),
            staff(StaffRequest::Announce {
                text: "back in 5".into()
            })
        );
        assert_eq!(
            parse("message bob  on my way "),
            staff(StaffRequest::Message {
                student: "bob".into(),
                text: "on my way".into(),
                asks_edit: false
            })
        );
        assert!(parse("message bob").is_err());
        assert!(parse("message").is_err());
        assert_eq!(parse("print"), staff(StaffRequest::Print));
        assert_eq!(parse("quit"), Ok(Some(ConsoleCommand::Quit)));
        assert_eq!(
            parse("queue cs101/lab"),
            Ok(Some(ConsoleCommand::Queue("cs101/lab".into())))
        );
        assert!(parse("queue").is_err());
        assert_eq!(parse(""), Ok(None));
        assert!(parse("remove").is_err());
        assert!(parse("dance").unwrap_err().contains("unknown command"));
    }
}
