//! The terminal's input, read the same way by both programs' event loops
//! (the student's and a TA's `jqueue`, the professor's `jqueue-server`):
//! crossterm's async [`EventStream`] in a task, so there is no blocked
//! thread to stop and no polling; a loop that ends aborts the task.

use futures_core::Stream;
use ratatui::crossterm::event::{Event, EventStream, KeyEvent, KeyEventKind};

/// What a screen's loop wants from the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Key(KeyEvent),
    Resize,
}

/// Reads the terminal, handing each key press and resize to `deliver`,
/// until `deliver` returns false (the loop is gone: `Ok`) or the terminal
/// cannot be read any more (the error says why). Key releases, which some
/// terminals report, are not presses.
pub async fn forward_input(mut deliver: impl FnMut(Input) -> bool) -> std::io::Result<()> {
    let mut events = EventStream::new();
    loop {
        let next = std::future::poll_fn(|cx| std::pin::Pin::new(&mut events).poll_next(cx)).await;
        let input = match next {
            Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => Input::Key(key),
            Some(Ok(Event::Resize(..))) => Input::Resize,
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e),
            None => return Err(std::io::Error::other("the terminal closed")),
        };
        if !deliver(input) {
            return Ok(());
        }
    }
}
