//! The headless shell behind `lab shell`: lines from a reader, output to a
//! writer, no terminal emulation.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

use crate::shell::{Foreground, Shell, TerminalOutput};

/// Reads lines from `reader` and runs each; writes what the shell prints
/// to `writer`. When `interactive`, shows the prompt before each line and
/// lets Ctrl-C (SIGINT) stop the running line instead of the program.
/// Stops at end of input or `exit`; returns the last status.
pub async fn run_script<R, W>(
    shell: &mut Shell,
    output: &mut TerminalOutput,
    reader: R,
    mut writer: W,
    interactive: bool,
) -> i32
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut lines = reader.lines();
    loop {
        if interactive && writer.write_all(shell.prompt().as_bytes()).await.is_err() {
            break;
        }
        let _ = writer.flush().await;
        let line = match lines.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(error) => {
                tracing::warn!(%error, "lab shell input could not be read");
                break;
            }
        };
        if run_one(shell, output, &line, &mut writer, interactive)
            .await
            .is_err()
        {
            break;
        }
        if shell.exit_requested().is_some() {
            break;
        }
    }
    if interactive {
        let _ = writer.write_all(b"\n").await;
    }
    let _ = writer.flush().await;
    shell.exit_requested().unwrap_or(shell.last_status())
}

/// Runs one line while copying its output to the writer.
pub(crate) async fn run_one<W: AsyncWrite + Unpin>(
    shell: &mut Shell,
    output: &mut TerminalOutput,
    line: &str,
    writer: &mut W,
    interactive: bool,
) -> std::io::Result<()> {
    let foreground = Foreground::detached();
    let cancel = foreground.cancel.clone();
    let run = shell.run_line_in(line, foreground);
    tokio::pin!(run);
    loop {
        tokio::select! {
            _ = &mut run => break,
            Some(bytes) = output.recv() => writer.write_all(&bytes).await?,
            Ok(()) = tokio::signal::ctrl_c(), if interactive => cancel.cancel(),
        }
    }
    while let Ok(bytes) = output.try_recv() {
        writer.write_all(&bytes).await?;
    }
    writer.flush().await
}
