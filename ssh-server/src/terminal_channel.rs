//! One student terminal: from pty request to close.
//!
//! [`TerminalChannel::run`] waits for `pty-req` and `shell`, opens an
//! application session through the [`SessionFactory`], then loops: decoded
//! input and size changes go to the session, and after each change (or a
//! redraw request) one frame goes out. Frames are sent by a separate writer
//! task through a one-slot queue: while the client is slow to read (its SSH
//! window is full) no new frame is rendered, so the server never holds more
//! than two frames for a channel and the client gets the latest state as
//! soon as it reads again.
//!
//! [`SessionFactory`]: crate::SessionFactory

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use russh::server::Msg;
use russh::{Channel, ChannelMsg, ChannelReadHalf, ChannelWriteHalf};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::admission::SessionSlot;
use crate::input::InputDecoder;
use crate::server::Shared;
use crate::session::{RedrawHandle, SessionContext, TICK_INTERVAL, TermSize, TerminalSession};
use crate::terminal::{SCREEN_RESTORE, SCREEN_SETUP};

/// How long a lone Escape byte waits for the rest of a sequence.
const ESCAPE_TIMEOUT: Duration = Duration::from_millis(30);
/// How long the final bytes (terminal restore, goodbye line) may take.
const FAREWELL_TIMEOUT: Duration = Duration::from_secs(2);

/// The authenticated user and address a channel belongs to.
pub(crate) struct ChannelOwner {
    pub(crate) user: String,
    pub(crate) peer: SocketAddr,
}

/// Why a session ended; logged, and shown to the student when useful.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EndReason {
    ClientClosed,
    AppExit,
    Idle,
    Shutdown,
    WriteFailed,
}

impl EndReason {
    fn farewell(self) -> &'static str {
        match self {
            EndReason::Idle => "lab: session closed after a long time without input.\r\n",
            EndReason::Shutdown => "lab: the server is shutting down; your progress is saved.\r\n",
            EndReason::ClientClosed | EndReason::AppExit | EndReason::WriteFailed => "",
        }
    }
}

/// What the client asked for before the session can start.
struct TerminalRequest {
    size: TermSize,
    term: String,
}

pub(crate) struct TerminalChannel {
    shared: Arc<Shared>,
    owner: ChannelOwner,
    session_id: u64,
    shutdown: CancellationToken,
}

impl TerminalChannel {
    pub(crate) fn new(
        shared: Arc<Shared>,
        owner: ChannelOwner,
        shutdown: CancellationToken,
    ) -> Self {
        let session_id = shared.next_session_id.fetch_add(1, Ordering::Relaxed);
        TerminalChannel {
            shared,
            owner,
            session_id,
            shutdown,
        }
    }

    pub(crate) fn user(&self) -> &str {
        &self.owner.user
    }

    pub(crate) fn session_id(&self) -> u64 {
        self.session_id
    }

    /// Drives the channel until the session ends, then closes it.
    pub(crate) async fn run(self, channel: Channel<Msg>) {
        let (mut reader, writer) = channel.split();

        let request = match self.await_terminal_request(&mut reader).await {
            Ok(request) => request,
            Err(explanation) => return say_and_close(writer, explanation.as_bytes(), 1).await,
        };
        let Some(slot) = self.shared.sessions.try_open(&self.owner.user) else {
            tracing::warn!(
                limit = self.shared.limits.max_sessions,
                "limit hit: server full"
            );
            let text = b"lab: the server is full right now; please try again later.\r\n";
            return say_and_close(writer, text, 1).await;
        };
        let redraw = RedrawHandle::default();
        let session = match self.open_session(&request, &slot, redraw.clone()) {
            Ok(session) => session,
            Err(explanation) => return say_and_close(writer, explanation.as_bytes(), 1).await,
        };

        tracing::info!(size = ?request.size, others = slot.others_of_user, "session started");
        let (reason, writer) = self
            .drive(session, request.size, redraw, reader, writer)
            .await;
        tracing::info!(?reason, "session ended");
        drop(slot);

        let mut farewell = SCREEN_RESTORE.to_vec();
        farewell.extend_from_slice(reason.farewell().as_bytes());
        if let Some(writer) = writer {
            say_and_close(writer, &farewell, 0).await;
        }
    }

    /// Reads channel requests until `shell`; anything that cannot show a
    /// full-screen UI gets a one-line explanation instead.
    async fn await_terminal_request(
        &self,
        reader: &mut ChannelReadHalf,
    ) -> Result<TerminalRequest, String> {
        const NEEDS_PTY: &str = "lab: this server shows an interactive lesson and needs a \
                                 terminal; connect with plain `ssh -p PORT USER@HOST` (no \
                                 command, no -T).\r\n";
        let mut request: Option<TerminalRequest> = None;
        let deadline = Instant::now() + self.shared.limits.login_grace;
        loop {
            let message = tokio::time::timeout_at(deadline, reader.wait()).await;
            match message {
                Ok(Some(ChannelMsg::RequestPty {
                    col_width,
                    row_height,
                    term,
                    ..
                })) => {
                    let size = TermSize::from_ssh(col_width, row_height);
                    request = Some(TerminalRequest { size, term });
                }
                Ok(Some(ChannelMsg::WindowChange {
                    col_width,
                    row_height,
                    ..
                })) => {
                    if let Some(request) = request.as_mut() {
                        request.size = TermSize::from_ssh(col_width, row_height);
                    }
                }
                Ok(Some(ChannelMsg::RequestShell { .. })) => {
                    return request.ok_or_else(|| {
                        tracing::info!("shell without a pty refused");
                        NEEDS_PTY.to_owned()
                    });
                }
                Ok(Some(ChannelMsg::Exec { .. } | ChannelMsg::RequestSubsystem { .. })) => {
                    tracing::info!("command or subsystem request refused");
                    return Err(NEEDS_PTY.to_owned());
                }
                Ok(Some(ChannelMsg::Eof | ChannelMsg::Close)) | Ok(None) => {
                    return Err(String::new());
                }
                Ok(Some(_)) => {}
                Err(_) => {
                    tracing::warn!("limit hit: no shell request within the grace time");
                    return Err(String::new());
                }
            }
        }
    }

    fn open_session(
        &self,
        request: &TerminalRequest,
        slot: &SessionSlot,
        redraw: RedrawHandle,
    ) -> Result<Box<dyn TerminalSession>, String> {
        let context = SessionContext {
            user: self.owner.user.clone(),
            session_id: self.session_id,
            peer: self.owner.peer,
            other_sessions_of_user: slot.others_of_user,
            term: request.term.clone(),
            redraw,
        };
        self.shared
            .factory
            .open(context, request.size)
            .map_err(|error| {
                tracing::error!(error = %error, "application refused to open a session");
                format!("lab: could not start your session: {error}\r\n")
            })
    }

    /// The session loop. Returns why it ended and, unless the client stopped
    /// reading, the write half for the farewell.
    async fn drive(
        &self,
        mut session: Box<dyn TerminalSession>,
        size: TermSize,
        redraw: RedrawHandle,
        mut reader: ChannelReadHalf,
        writer: ChannelWriteHalf<Msg>,
    ) -> (EndReason, Option<ChannelWriteHalf<Msg>>) {
        let (frames, writer_task) = spawn_writer(writer);
        let mut state = LoopState::new(self.shared.limits.idle_timeout, size);
        let mut first = SCREEN_SETUP.to_vec();
        first.extend(session.render());
        let reason = if frames.send(first).await.is_err() {
            EndReason::WriteFailed
        } else {
            self.event_loop(&mut *session, &mut state, &redraw, &mut reader, &frames)
                .await
        };

        let session = close_session(session).await;
        drop(session);
        drop(frames);
        let writer = tokio::time::timeout(FAREWELL_TIMEOUT, writer_task).await;
        (reason, writer.ok().and_then(Result::ok).flatten())
    }

    async fn event_loop(
        &self,
        session: &mut dyn TerminalSession,
        state: &mut LoopState,
        redraw: &RedrawHandle,
        reader: &mut ChannelReadHalf,
        frames: &mpsc::Sender<Vec<u8>>,
    ) -> EndReason {
        loop {
            if state.dirty
                && let Ok(permit) = frames.try_reserve()
            {
                permit.send(session.render());
                state.dirty = false;
            }
            if session.wants_exit() {
                return EndReason::AppExit;
            }
            let escape_deadline = state.escape_deadline.unwrap_or_else(Instant::now);
            let idle_deadline = state.idle_deadline();
            tokio::select! {
                message = reader.wait() => {
                    if let Some(reason) = state.handle_message(session, message) {
                        return reason;
                    }
                }
                () = redraw.requested() => state.dirty = true,
                _ = state.ticks.tick() => state.dirty |= session.tick(),
                permit = frames.reserve(), if state.dirty => match permit {
                    Ok(permit) => {
                        permit.send(session.render());
                        state.dirty = false;
                    }
                    Err(_) => return EndReason::WriteFailed,
                },
                () = tokio::time::sleep_until(escape_deadline), if state.escape_deadline.is_some() => {
                    state.flush_input(session);
                }
                () = tokio::time::sleep_until(idle_deadline) => {
                    tracing::info!("limit hit: idle timeout");
                    return EndReason::Idle;
                }
                () = self.shutdown.cancelled() => return EndReason::Shutdown,
            }
        }
    }
}

/// Per-session loop state between events.
struct LoopState {
    decoder: InputDecoder,
    dirty: bool,
    last_input: Instant,
    idle_timeout: Duration,
    escape_deadline: Option<Instant>,
    size: TermSize,
    ticks: tokio::time::Interval,
}

impl LoopState {
    fn new(idle_timeout: Duration, size: TermSize) -> Self {
        LoopState {
            decoder: InputDecoder::default(),
            dirty: false,
            last_input: Instant::now(),
            idle_timeout,
            escape_deadline: None,
            size,
            ticks: tick_timer(),
        }
    }

    fn idle_deadline(&self) -> Instant {
        self.last_input + self.idle_timeout
    }

    fn handle_message(
        &mut self,
        session: &mut dyn TerminalSession,
        message: Option<ChannelMsg>,
    ) -> Option<EndReason> {
        match message {
            Some(ChannelMsg::Data { data }) => self.handle_input(session, &data),
            Some(ChannelMsg::WindowChange {
                col_width,
                row_height,
                ..
            }) => {
                let size = TermSize::from_ssh(col_width, row_height);
                if size != self.size {
                    self.size = size;
                    session.resize(size);
                    self.dirty = true;
                }
            }
            Some(ChannelMsg::Eof | ChannelMsg::Close) | None => {
                return Some(EndReason::ClientClosed);
            }
            Some(_) => {}
        }
        None
    }

    fn handle_input(&mut self, session: &mut dyn TerminalSession, bytes: &[u8]) {
        self.last_input = Instant::now();
        for event in self.decoder.feed(bytes) {
            session.input(event);
            self.dirty = true;
        }
        self.escape_deadline = self
            .decoder
            .has_pending()
            .then(|| Instant::now() + ESCAPE_TIMEOUT);
    }

    fn flush_input(&mut self, session: &mut dyn TerminalSession) {
        self.escape_deadline = None;
        for event in self.decoder.flush() {
            session.input(event);
            self.dirty = true;
        }
    }
}

/// Ticks for [`TerminalSession::tick`], the first one interval from now.
fn tick_timer() -> tokio::time::Interval {
    let mut timer = tokio::time::interval_at(Instant::now() + TICK_INTERVAL, TICK_INTERVAL);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    timer
}

/// Starts the task that sends frames in order. It ends when the queue is
/// closed (handing back the write half) or a write fails (returning `None`).
fn spawn_writer(
    writer: ChannelWriteHalf<Msg>,
) -> (
    mpsc::Sender<Vec<u8>>,
    tokio::task::JoinHandle<Option<ChannelWriteHalf<Msg>>>,
) {
    let (frames, mut queue) = mpsc::channel::<Vec<u8>>(1);
    let task = tokio::spawn(async move {
        while let Some(frame) = queue.recv().await {
            if frame.is_empty() {
                continue;
            }
            if let Err(error) = writer.data_bytes(frame).await {
                tracing::debug!(%error, "failed to send a frame");
                return None;
            }
        }
        Some(writer)
    });
    (frames, task)
}

/// Calls `close()` where blocking is allowed, and hands the session back so
/// it is dropped after closing.
async fn close_session(mut session: Box<dyn TerminalSession>) -> Option<Box<dyn TerminalSession>> {
    let closing = tokio::task::spawn_blocking(move || {
        session.close();
        session
    });
    match closing.await {
        Ok(session) => Some(session),
        Err(error) => {
            tracing::error!(%error, "session close() panicked");
            None
        }
    }
}

/// Sends `text` (if any), the exit status, EOF and close, giving up quietly
/// if the client does not read within [`FAREWELL_TIMEOUT`].
async fn say_and_close(writer: ChannelWriteHalf<Msg>, text: &[u8], exit_status: u32) {
    let farewell = async {
        if !text.is_empty() {
            writer.data_bytes(text.to_vec()).await?;
        }
        writer.exit_status(exit_status).await?;
        writer.eof().await?;
        writer.close().await
    };
    match tokio::time::timeout(FAREWELL_TIMEOUT, farewell).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::debug!(%error, "failed to close the channel cleanly"),
        Err(_) => tracing::debug!("client did not read the farewell in time"),
    }
}
