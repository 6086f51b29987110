//! Container subcommands of the lab shell's `docker`.

use futures::StreamExt;
use lab_engine_api::{CommandOutput, Invocation};

use super::args::{FlagSpec, Parsed};
use super::table::{ellipsis, go_quote, human_duration, render};
use super::{DockerCommand, EXIT_USAGE, daemon_error, missing_argument, parse_or_usage};
use crate::images::ImageStage;
use crate::session::{
    ContainerSpec, LogTail, OutputChunk, PortRequest, Protocol, SessionContainer,
};

const INTERACTIVE: &str = "needs an interactive terminal attached to the container, which the lab \
    shell does not provide. Start the container with -d, then use 'docker logs NAME' to see its \
    output or 'docker exec NAME COMMAND' to run a command in it";
const NO_HOST_FILES: &str = "is not allowed in the lab: containers cannot mount files of the host";
const SHARES_HOST: &str = "is not allowed in the lab: it would share or expose parts of the host";

const fn refused(short: Option<char>, long: &'static str, takes_value: bool) -> FlagSpec {
    FlagSpec {
        short,
        long,
        takes_value,
    }
}

/// Options of `docker run` and `docker exec` the lab refuses, and why.
const REFUSED: &[(FlagSpec, &str)] = &[
    (refused(Some('i'), "interactive", false), INTERACTIVE),
    (refused(Some('t'), "tty", false), INTERACTIVE),
    (
        refused(None, "privileged", false),
        "is not allowed in the lab: containers run unprivileged so they cannot take over the host",
    ),
    (refused(Some('v'), "volume", true), NO_HOST_FILES),
    (refused(None, "mount", true), NO_HOST_FILES),
    (
        refused(None, "network", true),
        "is not allowed in the lab: each session's containers share their own private network",
    ),
    (
        refused(None, "net", true),
        "is not allowed in the lab: each session's containers share their own private network",
    ),
    (
        refused(None, "cap-add", true),
        "is not allowed in the lab: containers keep Docker's default, reduced capabilities",
    ),
    (refused(None, "pid", true), SHARES_HOST),
    (refused(None, "ipc", true), SHARES_HOST),
    (refused(None, "uts", true), SHARES_HOST),
    (refused(None, "userns", true), SHARES_HOST),
    (refused(None, "device", true), SHARES_HOST),
    (refused(None, "security-opt", true), SHARES_HOST),
];

/// Parses `run` or `exec` flags, refusing the options the lab does not
/// allow; prints the error and returns the exit status on failure.
async fn parse_guarded(sub: &str, args: &[String], stderr: &CommandOutput) -> Result<Parsed, i32> {
    let Some(spec) = super::help::find(sub) else {
        return Err(EXIT_USAGE);
    };
    let mut specs = super::help::specs(spec);
    specs.extend(REFUSED.iter().map(|(flag, _)| *flag));
    let parsed = match super::args::parse(args, &specs, true) {
        Ok(parsed) => parsed,
        Err(_) => {
            return parse_or_usage(sub, args, true, stderr)
                .await
                .ok_or(EXIT_USAGE);
        }
    };
    for flag in &parsed.flags {
        if let Some((spec, why)) = REFUSED.iter().find(|(spec, _)| spec.long == flag.long) {
            let shown = match spec.short {
                Some(c) => format!("-{c}/--{}", spec.long),
                None => format!("--{}", spec.long),
            };
            let _ = stderr
                .line(format!(
                    "docker: {shown} {why}.\n\nRun 'docker {sub} --help' for more information"
                ))
                .await;
            return Err(EXIT_USAGE);
        }
    }
    Ok(parsed)
}

/// `-p 5000:5000`, `-p 5000`, `-p 127.0.0.1:5000:5000/tcp`.
pub fn parse_publish(text: &str) -> Result<PortRequest, String> {
    let (ports, proto) = text.split_once('/').unwrap_or((text, "tcp"));
    let protocol = match proto {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        other => return Err(format!("invalid proto: {other}")),
    };
    let parts: Vec<&str> = ports.split(':').collect();
    let (host, container) = match parts.as_slice() {
        [container] => (None, *container),
        [host, container] => (Some(*host), *container),
        [_ip, host, container] => (Some(*host), *container),
        _ => return Err(format!("invalid port format for --expose: {text}")),
    };
    let container_port = container.parse::<u16>().ok().filter(|p| *p > 0);
    let container_port = container_port.ok_or(format!("invalid containerPort: {container}"))?;
    let host_port = match host.filter(|h| !h.is_empty()) {
        Some(h) => Some(
            h.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or(format!("invalid hostPort: {h}"))?,
        ),
        None => None,
    };
    Ok(PortRequest {
        host_port,
        container_port,
        protocol,
    })
}

impl DockerCommand {
    pub(super) async fn run_container(&self, args: &[String], inv: &Invocation<'_>) -> i32 {
        let parsed = match parse_guarded("run", args, &inv.stderr).await {
            Ok(parsed) => parsed,
            Err(status) => return status,
        };
        let Some((image, command)) = parsed.positionals.split_first() else {
            return missing_argument("run", 1, &inv.stderr).await;
        };
        let mut ports = Vec::new();
        for text in parsed.values("publish") {
            match parse_publish(text) {
                Ok(port) => ports.push(port),
                Err(message) => return run_error(&inv.stderr, &message).await,
            }
        }
        let spec = ContainerSpec {
            name: parsed.value("name").map(str::to_owned),
            image: image.clone(),
            command: command.to_vec(),
            env: parsed
                .values("env")
                .into_iter()
                .map(str::to_owned)
                .collect(),
            ports,
            auto_remove: parsed.has("rm"),
            hostname: parsed.value("hostname").map(str::to_owned),
            ..Default::default()
        };
        self.start_spec(spec, parsed.has("detach"), inv).await
    }

    async fn start_spec(&self, spec: ContainerSpec, detach: bool, inv: &Invocation<'_>) -> i32 {
        let image = crate::images::normalize_reference(&spec.image);
        let present = self.session.engine().client().await.ok();
        let local = match &present {
            Some(docker) => docker.inspect_image(&image).await.is_ok(),
            None => true,
        };
        if !local {
            let _ = inv
                .stderr
                .line(format!("Unable to find image '{image}' locally"))
                .await;
        }
        let (progress, mut lines) = progress_channel();
        let run = self.session.run_container(spec, progress);
        tokio::pin!(run);
        let result = loop {
            tokio::select! {
                result = &mut run => break result,
                _ = inv.cancel.cancelled() => return 130,
                Some(line) = lines.recv() => { let _ = inv.stderr.line(line).await; }
            }
        };
        while let Ok(line) = lines.try_recv() {
            let _ = inv.stderr.line(line).await;
        }
        match result {
            Ok(started) if detach => {
                let _ = inv.stdout.line(&started.id).await;
                0
            }
            Ok(started) => self.attach_until_exit(&started.id, inv).await,
            Err(error) => run_error(&inv.stderr, &daemon_error(&self.session, &error)).await,
        }
    }

    /// Without `-d`, docker prints the container's output until it exits;
    /// Ctrl-C stops the container, as docker's signal proxy would.
    async fn attach_until_exit(&self, id: &str, inv: &Invocation<'_>) -> i32 {
        let stream = match self.session.logs(id, true, LogTail::All).await {
            Ok(stream) => stream,
            Err(error) => {
                return run_error(&inv.stderr, &daemon_error(&self.session, &error)).await;
            }
        };
        tokio::pin!(stream);
        loop {
            tokio::select! {
                _ = inv.cancel.cancelled() => {
                    let _ = self.session.stop(id).await;
                    return 130;
                }
                chunk = stream.next() => match chunk {
                    Some(Ok(chunk)) => write_chunk(inv, chunk).await,
                    Some(Err(_)) | None => break,
                }
            }
        }
        match self.session.inspect(id).await {
            Ok(doc) => doc
                .state
                .and_then(|s| s.exit_code)
                .and_then(|c| i32::try_from(c).ok())
                .unwrap_or(0),
            Err(_) => 0,
        }
    }

    pub(super) async fn ps(&self, args: &[String], inv: &Invocation<'_>) -> i32 {
        let Some(parsed) = parse_or_usage("ps", args, false, &inv.stderr).await else {
            return EXIT_USAGE;
        };
        let containers = match self.session.list(parsed.has("all")).await {
            Ok(containers) => containers,
            Err(error) => {
                return print_error(&inv.stderr, &daemon_error(&self.session, &error)).await;
            }
        };
        let no_trunc = parsed.has("no-trunc");
        if parsed.has("quiet") {
            for c in &containers {
                let _ = inv
                    .stdout
                    .line(if no_trunc { &c.id[..] } else { short_id(&c.id) })
                    .await;
            }
            return 0;
        }
        let header = [
            "CONTAINER ID",
            "IMAGE",
            "COMMAND",
            "CREATED",
            "STATUS",
            "PORTS",
            "NAMES",
        ];
        let rows: Vec<Vec<String>> = containers.iter().map(|c| ps_row(c, no_trunc)).collect();
        let _ = inv.stdout.write(render(&header, &rows)).await;
        0
    }

    pub(super) async fn lifecycle(&self, sub: &str, args: &[String], inv: &Invocation<'_>) -> i32 {
        let Some(parsed) = parse_or_usage(sub, args, false, &inv.stderr).await else {
            return EXIT_USAGE;
        };
        if parsed.positionals.is_empty() {
            return missing_argument(sub, 1, &inv.stderr).await;
        }
        let mut status = 0;
        for reference in &parsed.positionals {
            let result = match sub {
                "stop" => self.session.stop(reference).await,
                "start" => self.session.start(reference).await,
                _ => self.session.restart(reference).await,
            };
            status = status.max(report(inv, reference, result.map(|_| ()), &self.session).await);
        }
        status
    }

    pub(super) async fn rm(&self, args: &[String], inv: &Invocation<'_>) -> i32 {
        let Some(parsed) = parse_or_usage("rm", args, false, &inv.stderr).await else {
            return EXIT_USAGE;
        };
        if parsed.positionals.is_empty() {
            return missing_argument("rm", 1, &inv.stderr).await;
        }
        let force = parsed.has("force");
        let mut status = 0;
        for reference in &parsed.positionals {
            let result = match self.session.find(reference).await {
                Ok(c) if c.is_running() && !force => Err(crate::DockerError::Refused(format!(
                    "cannot remove container \"/{}\": container is running: stop the container before removing or force remove",
                    c.name
                ))),
                Ok(_) => self.session.remove(reference, force).await.map(|_| ()),
                Err(e) => Err(e),
            };
            status = status.max(report(inv, reference, result, &self.session).await);
        }
        status
    }

    pub(super) async fn logs(&self, args: &[String], inv: &Invocation<'_>) -> i32 {
        let Some(parsed) = parse_or_usage("logs", args, false, &inv.stderr).await else {
            return EXIT_USAGE;
        };
        let [reference] = parsed.positionals.as_slice() else {
            return exactly_one("logs", &inv.stderr).await;
        };
        let tail = match parsed.value("tail") {
            None | Some("all") => LogTail::All,
            Some(n) => match n.parse() {
                Ok(n) => LogTail::Last(n),
                Err(_) => LogTail::All,
            },
        };
        let stream = match self
            .session
            .logs(reference, parsed.has("follow"), tail)
            .await
        {
            Ok(stream) => stream,
            Err(error) => {
                return print_error(&inv.stderr, &daemon_error(&self.session, &error)).await;
            }
        };
        tokio::pin!(stream);
        loop {
            tokio::select! {
                _ = inv.cancel.cancelled() => return 130,
                chunk = stream.next() => match chunk {
                    Some(Ok(chunk)) => write_chunk(inv, chunk).await,
                    Some(Err(error)) => return print_error(&inv.stderr, &daemon_error(&self.session, &error)).await,
                    None => return 0,
                }
            }
        }
    }

    pub(super) async fn exec(&self, args: &[String], inv: &Invocation<'_>) -> i32 {
        let parsed = match parse_guarded("exec", args, &inv.stderr).await {
            Ok(parsed) => parsed,
            Err(status) => return status,
        };
        let [reference, command @ ..] = parsed.positionals.as_slice() else {
            return missing_argument("exec", 2, &inv.stderr).await;
        };
        if command.is_empty() {
            return missing_argument("exec", 2, &inv.stderr).await;
        }
        let env = parsed
            .values("env")
            .into_iter()
            .map(str::to_owned)
            .collect();
        match self.session.exec(reference, command.to_vec(), env).await {
            Ok(result) => {
                for chunk in result.output {
                    write_chunk(inv, chunk).await;
                }
                i32::try_from(result.exit_code).unwrap_or(1)
            }
            Err(error) => print_error(&inv.stderr, &daemon_error(&self.session, &error)).await,
        }
    }

    pub(super) async fn inspect(&self, args: &[String], inv: &Invocation<'_>) -> i32 {
        let Some(parsed) = parse_or_usage("inspect", args, false, &inv.stderr).await else {
            return EXIT_USAGE;
        };
        if parsed.positionals.is_empty() {
            return missing_argument("inspect", 1, &inv.stderr).await;
        }
        let mut documents = Vec::new();
        let mut status = 0;
        for reference in &parsed.positionals {
            match self.session.inspect(reference).await {
                Ok(doc) => documents.push(doc),
                Err(crate::DockerError::NoSuchContainer(name)) => {
                    let _ = inv
                        .stderr
                        .line(format!("Error: No such object: {name}"))
                        .await;
                    status = 1;
                }
                Err(error) => {
                    status = print_error(&inv.stderr, &daemon_error(&self.session, &error)).await
                }
            }
        }
        let _ = inv.stdout.line(pretty_json(&documents)).await;
        status
    }
}

/// Docker's four-space indented JSON.
pub(crate) fn pretty_json(value: &impl serde::Serialize) -> String {
    let mut bytes = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, formatter);
    if value.serialize(&mut serializer).is_err() {
        return "[]".to_owned();
    }
    String::from_utf8(bytes).unwrap_or_default()
}

fn ps_row(c: &SessionContainer, no_trunc: bool) -> Vec<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let command = if no_trunc {
        c.command.clone()
    } else {
        ellipsis(&c.command, 20)
    };
    vec![
        if no_trunc {
            c.id.clone()
        } else {
            short_id(&c.id).to_owned()
        },
        c.image.clone(),
        go_quote(&command),
        format!("{} ago", human_duration(now - c.created)),
        c.status.clone(),
        ports_column(c),
        c.name.clone(),
    ]
}

/// The PORTS column as the student published them: `0.0.0.0:5000->5000/tcp`.
pub fn ports_column(c: &SessionContainer) -> String {
    let mut ports: Vec<_> = c.ports.clone();
    ports.sort_by_key(|p| (p.container_port, p.protocol.as_str()));
    ports.dedup();
    ports
        .iter()
        .map(|p| match p.student_port.or(p.host_port) {
            Some(host) => format!(
                "0.0.0.0:{host}->{}/{}",
                p.container_port,
                p.protocol.as_str()
            ),
            None => format!("{}/{}", p.container_port, p.protocol.as_str()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

fn progress_channel() -> (
    impl Fn(crate::ImageProgress) + Send + Sync,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let progress = move |p: crate::ImageProgress| {
        let line = match p.stage {
            ImageStage::UpToDate => return,
            ImageStage::Started(what) => format!("lab: {what}"),
            ImageStage::Step(step) => format!("lab: {}: {step}", p.image),
            ImageStage::Built => format!("lab: built {}", p.image),
        };
        let _ = tx.send(line);
    };
    (progress, rx)
}

async fn write_chunk(inv: &Invocation<'_>, chunk: OutputChunk) {
    let _ = match chunk {
        OutputChunk::Stdout(bytes) => inv.stdout.write(bytes.to_vec()).await,
        OutputChunk::Stderr(bytes) => inv.stderr.write(bytes.to_vec()).await,
    };
}

async fn run_error(stderr: &CommandOutput, message: &str) -> i32 {
    let _ = stderr
        .line(format!(
            "docker: {message}\n\nRun 'docker run --help' for more information"
        ))
        .await;
    EXIT_USAGE
}

async fn print_error(stderr: &CommandOutput, message: &str) -> i32 {
    let _ = stderr.line(message).await;
    1
}

async fn exactly_one(sub: &str, stderr: &CommandOutput) -> i32 {
    let usage = super::help::find(sub).map(|s| s.usage).unwrap_or("docker");
    let _ = stderr
        .line(format!(
            "docker: 'docker {sub}' requires 1 argument\n\nUsage:  {usage}\n\nSee 'docker {sub} --help' for more information"
        ))
        .await;
    1
}

/// Prints the reference on success (as docker does) or the error.
async fn report(
    inv: &Invocation<'_>,
    reference: &str,
    result: Result<(), crate::DockerError>,
    session: &crate::DockerSession,
) -> i32 {
    match result {
        Ok(()) => {
            let _ = inv.stdout.line(reference).await;
            0
        }
        Err(error) => print_error(&inv.stderr, &daemon_error(session, &error)).await,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn publish_specs_parse_like_docker() {
        let p = parse_publish("5000:5000").unwrap();
        assert_eq!(
            (p.host_port, p.container_port, p.protocol),
            (Some(5000), 5000, Protocol::Tcp)
        );
        let p = parse_publish("8080").unwrap();
        assert_eq!((p.host_port, p.container_port), (None, 8080));
        let p = parse_publish("127.0.0.1:53:53/udp").unwrap();
        assert_eq!((p.host_port, p.protocol), (Some(53), Protocol::Udp));
        assert_eq!(
            parse_publish("abc").unwrap_err(),
            "invalid containerPort: abc"
        );
    }
}
