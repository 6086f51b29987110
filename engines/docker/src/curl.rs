//! The lab shell's `curl`: GET and HEAD over HTTP/1.1 to the student's
//! published ports.
//!
//! `localhost:PORT`, `127.0.0.1:PORT` and `MACHINE_IP:PORT` mean "the host
//! port I published", so they resolve through the session's containers to
//! the real host port. Other hosts are refused: the lab shell does not
//! reach the network.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use lab_engine_api::{Invocation, ShellCommand};

use crate::session::DockerSession;

/// Hosts that mean "this machine" in the lab.
const LOCAL_HOSTS: &[&str] = &["localhost", "127.0.0.1", "0.0.0.0", "[::1]", "machine_ip"];

/// Time allowed for one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Most redirects followed with `-L`.
const MAX_REDIRECTS: usize = 10;

/// The `curl` command of one session's lab shell.
pub struct CurlCommand {
    session: Arc<DockerSession>,
}

impl CurlCommand {
    pub fn new(session: Arc<DockerSession>) -> Self {
        CurlCommand { session }
    }
}

/// What `curl` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct CurlOptions {
    url: String,
    head: bool,
    include: bool,
    silent: bool,
    follow: bool,
    discard_body: bool,
    /// `-o FILE`: the body goes to this scratch file instead of stdout.
    output: Option<String>,
}

/// A fetched response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    /// Status line and headers, as curl `-i` prints them.
    pub head: String,
    pub body: Vec<u8>,
    pub location: Option<String>,
}

/// Why a request failed, worded (and numbered) like curl's errors.
#[derive(Debug, thiserror::Error)]
pub enum CurlError {
    #[error("curl: (3) URL rejected: {0}")]
    BadUrl(String),
    #[error(
        "curl: (6) Could not resolve host: {0} (the lab shell reaches only your published ports)"
    )]
    UnknownHost(String),
    #[error("curl: (7) Failed to connect to {host} port {port}: Connection refused")]
    Refused { host: String, port: u16 },
    #[error("curl: (28) Operation timed out")]
    Timeout,
    #[error("curl: (56) Failure when receiving data from the peer: {0}")]
    Receive(String),
}

impl CurlError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CurlError::BadUrl(_) => 3,
            CurlError::UnknownHost(_) => 6,
            CurlError::Refused { .. } => 7,
            CurlError::Timeout => 28,
            CurlError::Receive(_) => 56,
        }
    }
}

#[async_trait]
impl ShellCommand for CurlCommand {
    fn name(&self) -> &str {
        "curl"
    }

    fn summary(&self) -> &str {
        "fetch a page from one of your published ports (curl localhost:5000)"
    }

    fn help(&self, _topic: &[String]) -> String {
        "Usage: curl [options...] <url>\n\
         Fetches a URL on a port you published (localhost:PORT or MACHINE_IP:PORT).\n\
         \x20-I, --head        Show the response headers only (HEAD request)\n\
         \x20-i, --include     Include the response headers in the output\n\
         \x20-L, --location    Follow redirects\n\
         \x20-o, --output FILE Save the body to FILE in your scratch files (/dev/null discards it)\n\
         \x20-s, --silent      Quiet mode: no error messages\n"
            .to_owned()
    }

    async fn run(&self, inv: Invocation<'_>) -> i32 {
        let options = match parse_options(inv.args) {
            Ok(options) => options,
            Err(message) => {
                let _ = inv.stderr.line(message).await;
                return 2;
            }
        };
        let result = tokio::select! {
            _ = inv.cancel.cancelled() => return 130,
            result = self.fetch_following(&options, inv.env.get("MACHINE_IP").map(String::as_str)) => result,
        };
        match result {
            Ok(response) => write_response(&inv, &options, &response).await,
            Err(error) => {
                if !options.silent {
                    let _ = inv.stderr.line(error.to_string()).await;
                }
                error.exit_code()
            }
        }
    }
}

async fn write_response(
    inv: &Invocation<'_>,
    options: &CurlOptions,
    response: &HttpResponse,
) -> i32 {
    if options.include || options.head {
        let _ = inv.stdout.write(response.head.clone()).await;
    }
    if options.head || options.discard_body {
        return 0;
    }
    let Some(path) = &options.output else {
        let _ = inv.stdout.write(response.body.clone()).await;
        return 0;
    };
    match inv.files.write(path, &response.body) {
        Ok(()) => 0,
        Err(reason) => {
            let message =
                format!("curl: (23) Failure writing output to destination {path}: {reason}");
            let _ = inv.stderr.line(message).await;
            23
        }
    }
}

/// Parses curl's flags; `-o FILE` saves into the session's scratch files.
fn parse_options(args: &[String]) -> Result<CurlOptions, String> {
    let mut options = CurlOptions::default();
    let mut words = args.iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "-I" | "--head" => options.head = true,
            "-i" | "--include" => options.include = true,
            "-s" | "--silent" => options.silent = true,
            "-L" | "--location" => options.follow = true,
            "-o" | "--output" => match words.next().map(String::as_str) {
                Some("/dev/null") => options.discard_body = true,
                Some(path) => options.output = Some(path.to_owned()),
                None => return Err("curl: option -o: requires parameter".to_owned()),
            },
            flag if flag.starts_with('-') && flag.len() > 1 && !flag.starts_with("--") => {
                for c in flag[1..].chars() {
                    match c {
                        'I' => options.head = true,
                        'i' => options.include = true,
                        's' => options.silent = true,
                        'L' => options.follow = true,
                        other => return Err(format!("curl: option -{other}: is unknown")),
                    }
                }
            }
            flag if flag.starts_with("--") => {
                return Err(format!("curl: option {flag}: is unknown"));
            }
            url => options.url = url.to_owned(),
        }
    }
    if options.url.is_empty() {
        return Err("curl: no URL specified!".to_owned());
    }
    Ok(options)
}

/// The parts of an `http://` URL curl accepts without a scheme too.
fn split_url(url: &str) -> Result<(String, u16, String), CurlError> {
    let rest = match url.split_once("://") {
        Some(("http", rest)) => rest,
        Some((scheme, _)) => {
            return Err(CurlError::BadUrl(format!(
                "the lab shell's curl speaks http only, not {scheme}"
            )));
        }
        None => url,
    };
    let (authority, path) = match rest.find('/') {
        Some(index) => (&rest[..index], &rest[index..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
            let port = port.parse::<u16>().map_err(|_| {
                CurlError::BadUrl(format!("Port number was not a decimal number: {port}"))
            })?;
            (host, port)
        }
        _ => (authority, 80),
    };
    if host.is_empty() {
        return Err(CurlError::BadUrl("No host part in the URL".to_owned()));
    }
    Ok((host.to_ascii_lowercase(), port, path.to_owned()))
}

impl CurlCommand {
    async fn fetch_following(
        &self,
        options: &CurlOptions,
        machine_ip: Option<&str>,
    ) -> Result<HttpResponse, CurlError> {
        let mut url = options.url.clone();
        let mut redirects = 0;
        loop {
            let response = fetch_in_session(&self.session, &url, options.head, machine_ip).await?;
            let redirect = (300..400).contains(&response.status)
                && options.follow
                && redirects < MAX_REDIRECTS;
            match (redirect, &response.location) {
                (true, Some(location)) => {
                    url = resolve_location(&url, location);
                    redirects += 1;
                }
                _ => return Ok(response),
            }
        }
    }
}

fn resolve_location(current: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_owned();
    }
    match split_url(current) {
        Ok((host, port, _)) if location.starts_with('/') => {
            format!("http://{host}:{port}{location}")
        }
        _ => location.to_owned(),
    }
}

/// GET (or HEAD) `url` as the session's student would: local hosts (and
/// `machine_ip`, the value of the shell's `MACHINE_IP`) resolve to the real
/// host port of the session's published port.
pub async fn fetch_in_session(
    session: &DockerSession,
    url: &str,
    head: bool,
    machine_ip: Option<&str>,
) -> Result<HttpResponse, CurlError> {
    let (host, port, path) = split_url(url)?;
    let is_machine = machine_ip.is_some_and(|ip| !ip.is_empty() && ip.eq_ignore_ascii_case(&host));
    if !LOCAL_HOSTS.contains(&host.as_str()) && !is_machine {
        return Err(CurlError::UnknownHost(host));
    }
    let real_port = session_port(session, port)
        .await
        .ok_or(CurlError::Refused {
            host: host.clone(),
            port,
        })?;
    fetch(&host, real_port, &path, head)
        .await
        .map_err(|error| match error {
            CurlError::Refused { .. } => CurlError::Refused { host, port },
            other => other,
        })
}

/// The real host port behind a port the student published.
pub async fn session_port(session: &DockerSession, student_port: u16) -> Option<u16> {
    let containers = session.list(false).await.ok()?;
    containers
        .iter()
        .flat_map(|c| c.ports.iter())
        .find(|p| p.student_port == Some(student_port))
        .and_then(|p| p.host_port)
}

/// One HTTP/1.1 request to 127.0.0.1:`port`.
pub async fn fetch(
    host: &str,
    port: u16,
    path: &str,
    head: bool,
) -> Result<HttpResponse, CurlError> {
    tokio::time::timeout(REQUEST_TIMEOUT, fetch_once(host, port, path, head))
        .await
        .map_err(|_| CurlError::Timeout)?
}

async fn fetch_once(
    host: &str,
    port: u16,
    path: &str,
    head: bool,
) -> Result<HttpResponse, CurlError> {
    let refused = || CurlError::Refused {
        host: host.to_owned(),
        port,
    };
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|_| refused())?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| CurlError::Receive(e.to_string()))?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "curl connection ended with an error");
        }
    });
    let request = hyper::Request::builder()
        .method(if head { "HEAD" } else { "GET" })
        .uri(path)
        .header("Host", format!("{host}:{port}"))
        .header("User-Agent", "curl/7.88.1")
        .header("Accept", "*/*")
        .body(Empty::<Bytes>::new())
        .map_err(|e| CurlError::BadUrl(e.to_string()))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| CurlError::Receive(e.to_string()))?;
    let head_text = head_text(&response);
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| CurlError::Receive(e.to_string()))?;
    Ok(HttpResponse {
        status,
        head: head_text,
        body: body.to_bytes().to_vec(),
        location,
    })
}

fn head_text<B>(response: &hyper::Response<B>) -> String {
    let status = response.status();
    let mut text = format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    for (name, value) in response.headers() {
        text.push_str(&format!(
            "{}: {}\r\n",
            title_case(name.as_str()),
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    text.push_str("\r\n");
    text
}

/// Header names as servers usually send them (`content-type` -> `Content-Type`).
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_with_and_without_scheme() {
        assert_eq!(
            split_url("localhost:5000").unwrap(),
            ("localhost".to_owned(), 5000, "/".to_owned())
        );
        assert_eq!(
            split_url("http://127.0.0.1:8080/a?b").unwrap(),
            ("127.0.0.1".to_owned(), 8080, "/a?b".to_owned())
        );
        assert_eq!(split_url("localhost").unwrap().1, 80);
        assert!(matches!(split_url("https://x"), Err(CurlError::BadUrl(_))));
        assert!(matches!(
            split_url("localhost:99999"),
            Err(CurlError::BadUrl(_))
        ));
    }

    #[test]
    fn options_parse_like_curl() {
        let args: Vec<String> = ["-sL", "-o", "/dev/null", "-i", "localhost:5000"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let options = parse_options(&args).unwrap();
        assert!(options.silent && options.follow && options.discard_body && options.include);
        assert_eq!(options.url, "localhost:5000");
        let saved: Vec<String> = ["-o", "page.html", "x"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(
            parse_options(&saved).unwrap().output.as_deref(),
            Some("page.html")
        );
        let missing: Vec<String> = vec!["x".to_owned(), "-o".to_owned()];
        assert!(
            parse_options(&missing)
                .unwrap_err()
                .contains("requires parameter")
        );
    }
}
