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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CommandRegistry, ShellConfig};

    #[tokio::test]
    async fn interactive_scripts_prompt_and_stop_at_exit() {
        let (mut shell, mut output) = Shell::new(ShellConfig::new(CommandRegistry::new()));
        let input: &[u8] = b"cd /tmp\necho hi | wc -c\nexit 4\necho never\n";
        let mut written = Vec::new();
        let status = run_script(&mut shell, &mut output, input, &mut written, true).await;
        assert_eq!(status, 4);
        let text = String::from_utf8(written).unwrap();
        assert!(
            text.starts_with("\x1b[1;32mthmuser@lab\x1b[0m:\x1b[1;34m~\x1b[0m$ "),
            "{text:?}"
        );
        assert!(text.contains(":\x1b[1;34m/tmp\x1b[0m$ 3\n"), "{text:?}");
        assert!(!text.contains("never"));
    }

    #[tokio::test]
    async fn piped_scripts_print_only_output_and_return_the_last_status() {
        let (mut shell, mut output) = Shell::new(ShellConfig::new(CommandRegistry::new()));
        let input: &[u8] = b"echo a\nnope\n";
        let mut written = Vec::new();
        let status = run_script(&mut shell, &mut output, input, &mut written, false).await;
        assert_eq!(status, 127);
        assert_eq!(
            String::from_utf8(written).unwrap(),
            "a\nlab: nope: command not found\n"
        );
    }
}
