//! The headless console: professor commands read line by line from stdin.
//!
//! `jqueue-server --headless` has no screen, but a TA running it as a service,
//! or a script (the load generator, the tests), still needs the professor's
//! actions. Each line is one command; each answer is one line.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

use crate::actor::ServerHandle;

pub const HELP: &str =
    "commands: serve [NAME] | remove NAME | open | close | announce TEXT | print | status | quit";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsoleCommand {
    Serve(Option<String>),
    Remove(String),
    SetOpen(bool),
    Announce(String),
    Print,
    Status,
    Quit,
    Help,
}

/// Parses one line; `Err` holds the message to print.
pub fn parse(line: &str) -> Result<Option<ConsoleCommand>, String> {
    let line = line.trim();
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let command = match (word, rest) {
        ("", _) => return Ok(None),
        ("serve", "") => ConsoleCommand::Serve(None),
        ("serve", name) => ConsoleCommand::Serve(Some(name.to_owned())),
        ("remove", "") => return Err("remove needs a name: remove NAME".into()),
        ("remove", name) => ConsoleCommand::Remove(name.to_owned()),
        ("open", "") => ConsoleCommand::SetOpen(true),
        ("close", "") => ConsoleCommand::SetOpen(false),
        ("announce", "") => return Err("announce needs text: announce TEXT".into()),
        ("announce", text) => ConsoleCommand::Announce(text.to_owned()),
        ("print", "") => ConsoleCommand::Print,
        ("status", "") => ConsoleCommand::Status,
        ("quit", "") => ConsoleCommand::Quit,
        ("help" | "?", _) => ConsoleCommand::Help,
        _ => return Err(format!("unknown command {line:?}; {HELP}")),
    };
    Ok(Some(command))
}

/// Reads commands until `quit` or end of input. End of input does not stop
/// the server: a service started with stdin closed keeps running.
pub async fn run(
    handle: ServerHandle,
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
            Ok(Some(command)) => execute(&handle, command).await,
            Err(message) => message,
        };
        output.write_all(format!("{reply}\n").as_bytes()).await?;
        output.flush().await?;
    }
    Ok(())
}

async fn execute(handle: &ServerHandle, command: ConsoleCommand) -> String {
    let result = match command {
        ConsoleCommand::Serve(name) => handle.serve(name).await.map(|served| match served {
            Some(s) if s.first_help_this_session => {
                format!("served {} (first help this session)", s.entry.username)
            }
            Some(s) => format!("served {} (helped before this session)", s.entry.username),
            None => "nobody to serve".into(),
        }),
        ConsoleCommand::Remove(name) => {
            handle
                .remove(name.clone())
                .await
                .map(|removed| match removed {
                    Some(_) => format!("removed {name}"),
                    None => format!("{name} is not in the queue"),
                })
        }
        ConsoleCommand::SetOpen(open) => handle.set_open(open).await.map(|()| {
            if open {
                "queue open".into()
            } else {
                "queue closed".into()
            }
        }),
        ConsoleCommand::Announce(text) => handle
            .announce(text)
            .await
            .map(|n| format!("announced to {n} student(s)")),
        ConsoleCommand::Print => handle
            .print()
            .await
            .map(|path| format!("printed {}", path.display())),
        ConsoleCommand::Status => handle.snapshot().await.map(|v| {
            format!(
                "{} · {} waiting · {} online · {} helped",
                if v.open { "OPEN" } else { "CLOSED" },
                v.entries.len(),
                v.online,
                v.helped_count
            )
        }),
        ConsoleCommand::Help => Ok(HELP.into()),
        ConsoleCommand::Quit => unreachable!("handled by the caller"),
    };
    result.unwrap_or_else(|e| format!("error: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_command() {
        assert_eq!(parse("serve"), Ok(Some(ConsoleCommand::Serve(None))));
        assert_eq!(
            parse(" serve  alice "),
            Ok(Some(ConsoleCommand::Serve(Some("alice".into()))))
        );
        assert_eq!(
            parse("remove bob"),
            Ok(Some(ConsoleCommand::Remove("bob".into())))
        );
        assert_eq!(parse("open"), Ok(Some(ConsoleCommand::SetOpen(true))));
        assert_eq!(parse("close"), Ok(Some(ConsoleCommand::SetOpen(false))));
        assert_eq!(
            parse("announce back in 5"),
            Ok(Some(ConsoleCommand::Announce("back in 5".into())))
        );
        assert_eq!(parse("print"), Ok(Some(ConsoleCommand::Print)));
        assert_eq!(parse("quit"), Ok(Some(ConsoleCommand::Quit)));
        assert_eq!(parse(""), Ok(None));
        assert!(parse("remove").is_err());
        assert!(parse("dance").unwrap_err().contains("unknown command"));
    }
}
