//! Tests of running lines: expansion, lists, pipes, redirections,
//! built-ins, errors, and the plumbing to engine commands.

use std::sync::Mutex;

use crate::complete::Completion;

use async_trait::async_trait;

use super::*;
use crate::script::run_one;

fn new_shell() -> (Shell, TerminalOutput) {
    Shell::new(ShellConfig::new(CommandRegistry::new()))
}

async fn run(shell: &mut Shell, output: &mut TerminalOutput, line: &str) -> (i32, String) {
    let mut written = Vec::new();
    run_one(shell, output, line, &mut written, false)
        .await
        .unwrap();
    (shell.last_status(), String::from_utf8(written).unwrap())
}

async fn run_fresh(line: &str) -> (i32, String) {
    let (mut shell, mut output) = new_shell();
    run(&mut shell, &mut output, line).await
}

#[tokio::test]
async fn echo_pipeline_into_filters() {
    assert_eq!(
        run_fresh("echo hello world | grep -c hello").await,
        (0, "1\n".into())
    );
    assert_eq!(
        run_fresh("echo -e 'b\\na\\nb' | sort | uniq -c").await.1,
        "      1 a\n      2 b\n"
    );
    assert_eq!(
        run_fresh("echo a:b:c | cut -d: -f2 | awk '{print $1 \"!\"}'")
            .await
            .1,
        "b!\n"
    );
}

#[tokio::test]
async fn variables_status_and_export() {
    let (mut shell, mut out) = new_shell();
    assert_eq!(
        run(
            &mut shell,
            &mut out,
            "NAME=web; echo \"$NAME-${NAME}\" '$NAME'"
        )
        .await
        .1,
        "web-web $NAME\n"
    );
    assert_eq!(run(&mut shell, &mut out, "false; echo $?").await.1, "1\n");
    assert_eq!(
        run(&mut shell, &mut out, "env | grep -c ^NAME=").await.1,
        "0\n"
    );
    assert_eq!(
        run(&mut shell, &mut out, "export NAME; env | grep ^NAME=")
            .await
            .1,
        "NAME=web\n"
    );
    assert_eq!(
        run(&mut shell, &mut out, "echo ~ $HOME").await.1,
        "/home/thmuser /home/thmuser\n"
    );
}

#[tokio::test]
async fn and_or_lists_short_circuit() {
    assert_eq!(run_fresh("true && echo yes || echo no").await.1, "yes\n");
    assert_eq!(run_fresh("false && echo yes || echo no").await.1, "no\n");
    assert_eq!(run_fresh("false; echo after").await, (0, "after\n".into()));
}

#[tokio::test]
async fn redirection_into_scratch_files() {
    let (mut shell, mut out) = new_shell();
    run(
        &mut shell,
        &mut out,
        "echo one > notes.txt; echo two >> notes.txt",
    )
    .await;
    assert_eq!(
        run(&mut shell, &mut out, "cat notes.txt").await.1,
        "one\ntwo\n"
    );
    assert_eq!(
        run(&mut shell, &mut out, "wc -l < notes.txt").await.1,
        "2\n"
    );
    assert_eq!(
        run(&mut shell, &mut out, "grep two notes.txt").await.1,
        "two\n"
    );
    assert_eq!(
        run(&mut shell, &mut out, "ls | grep notes").await.1,
        "notes.txt\n"
    );
    assert_eq!(
        run(&mut shell, &mut out, "cat nope 2> err; cat err")
            .await
            .1,
        "cat: nope: No such file or directory\n"
    );
    assert_eq!(
        run(&mut shell, &mut out, "echo hidden > /dev/null").await.1,
        ""
    );
    let (status, text) = run(&mut shell, &mut out, "echo x > /etc/passwd").await;
    assert_eq!(
        (status, text.as_str()),
        (1, "lab: /etc/passwd: No such file or directory\n")
    );
}

#[tokio::test]
async fn cd_and_pwd_stay_in_the_scratch_tree() {
    let (mut shell, mut out) = new_shell();
    assert_eq!(
        run(&mut shell, &mut out, "mkdir app && cd app && pwd")
            .await
            .1,
        "/home/thmuser/app\n"
    );
    assert_eq!(shell.prompt_plain(), "thmuser@lab:~/app$ ");
    assert_eq!(
        run(&mut shell, &mut out, "cd /etc").await,
        (1, "lab: cd: /etc: No such file or directory\n".into())
    );
    run(&mut shell, &mut out, "cd").await;
    assert_eq!(shell.cwd(), "/home/thmuser");
}

#[tokio::test]
async fn unknown_commands_get_a_hint() {
    let (status, text) = run_fresh("dokcer ps").await;
    assert_eq!(status, NOT_FOUND_STATUS);
    assert_eq!(
        text,
        "lab: dokcer: command not found\nDid you mean `docker`?\n"
    );
    assert_eq!(
        run_fresh("zzzzzz").await.1,
        "lab: zzzzzz: command not found\n"
    );
}

#[tokio::test]
async fn syntax_errors_read_like_bash() {
    assert_eq!(
        run_fresh("echo 'oops").await,
        (
            2,
            "lab: unexpected EOF while looking for matching `''\n".into()
        )
    );
    assert_eq!(
        run_fresh("echo |").await.1,
        "lab: syntax error: unexpected end of file\n"
    );
}

#[tokio::test]
async fn missing_engines_say_so_and_still_have_help() {
    let (status, text) = run_fresh("docker ps").await;
    assert_eq!(status, crate::registry::ENGINE_UNAVAILABLE_STATUS);
    assert_eq!(
        text,
        "docker: the docker engine is not available in this session\n"
    );
    assert!(
        run_fresh("kubectl --help")
            .await
            .1
            .contains("cluster engine")
    );
    assert!(run_fresh("man vm").await.1.contains("kvm engine"));
}

#[tokio::test]
async fn every_command_has_help() {
    let (mut shell, mut out) = new_shell();
    for name in shell.command_names() {
        let (status, text) = run(&mut shell, &mut out, &format!("man {name}")).await;
        assert_eq!(status, 0, "man {name}");
        assert!(text.contains(&name), "man {name}: {text}");
    }
    assert!(run(&mut shell, &mut out, "help").await.1.contains("grep"));
    assert!(
        run(&mut shell, &mut out, "ls --help")
            .await
            .1
            .starts_with("usage: ls")
    );
}

#[tokio::test]
async fn exit_and_history() {
    let (mut shell, mut out) = new_shell();
    run(&mut shell, &mut out, "echo a").await;
    assert_eq!(
        run(&mut shell, &mut out, "history").await.1,
        "    1  echo a\n    2  history\n"
    );
    run(&mut shell, &mut out, "exit 3").await;
    assert_eq!(shell.exit_requested(), Some(3));
}

#[tokio::test]
async fn pipe_output_is_capped() {
    let (mut shell, mut out) = new_shell();
    let big = "x".repeat(1 << 20);
    shell
        .fs
        .write_file("/tmp/big", big.as_bytes(), false)
        .unwrap();
    let line = format!("cat {} | wc -c", ["/tmp/big"; 9].join(" "));
    let (_, text) = run(&mut shell, &mut out, &line).await;
    assert_eq!(text, format!("lab: output cut at 8 MiB\n{}\n", PIPE_LIMIT));
}

struct Recorded(Mutex<Vec<(String, i32)>>);

impl CommandRecorder for Recorded {
    fn record(&self, line: &str, exit_status: i32, _at: SystemTime) {
        self.0.lock().unwrap().push((line.to_owned(), exit_status));
    }
}

#[tokio::test]
async fn every_line_is_recorded_with_its_status() {
    let recorder = Arc::new(Recorded(Mutex::new(Vec::new())));
    let mut config = ShellConfig::new(CommandRegistry::new());
    config.recorder = Some(recorder.clone());
    let (mut shell, mut out) = Shell::new(config);
    for line in ["echo hi", "", "nope", "echo 'x"] {
        run(&mut shell, &mut out, line).await;
    }
    let seen = recorder.0.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            ("echo hi".into(), 0),
            ("nope".into(), 127),
            ("echo 'x".into(), 2)
        ]
    );
}

/// A test-only engine command that reports what the shell handed it.
struct Inspect;

#[async_trait]
impl ShellCommand for Inspect {
    fn name(&self) -> &str {
        "inspect"
    }
    fn summary(&self) -> &str {
        "report the invocation (test only)"
    }
    fn help(&self, topic: &[String]) -> String {
        format!("help for {topic:?}\n")
    }
    fn complete(&self, _before: &[String], _partial: &str) -> Vec<String> {
        vec!["pods".into(), "pod-web".into(), "services".into()]
    }
    async fn run(&self, inv: Invocation<'_>) -> i32 {
        let file = inv
            .files
            .read("in.yaml")
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        let stdin = inv.stdin.map(|b| String::from_utf8_lossy(&b).into_owned());
        let report = format!(
            "args={:?} stdin={stdin:?} file={file:?} user={:?} keys={}",
            inv.args,
            inv.env.get("USER"),
            inv.keys.is_some()
        );
        let _ = inv.stdout.line(report).await;
        0
    }
}

#[tokio::test]
async fn engine_commands_get_args_stdin_env_files_and_help() {
    let (mut shell, mut out) = new_shell();
    shell.register(Arc::new(Inspect));
    run(&mut shell, &mut out, "echo 'kind: Pod' > in.yaml").await;
    let (_, text) = run(&mut shell, &mut out, "echo piped | inspect \"a b\" c").await;
    assert_eq!(
        text,
        "args=[\"a b\", \"c\"] stdin=Some(\"piped\\n\") file=Some(\"kind: Pod\\n\") user=Some(\"thmuser\") keys=false\n"
    );
    assert_eq!(
        run(&mut shell, &mut out, "inspect get -o --help").await.1,
        "help for [\"get\"]\n"
    );
    let completion = shell.complete("echo x | inspect get po", 22);
    assert_eq!(completion.candidates, ["pod-web", "pods"]);
}

/// A test-only command that echoes typed bytes until its input closes.
struct Attach;

#[async_trait]
impl ShellCommand for Attach {
    fn name(&self) -> &str {
        "attach"
    }
    fn summary(&self) -> &str {
        "echo typed keys (test only)"
    }
    fn help(&self, _topic: &[String]) -> String {
        String::new()
    }
    async fn run(&self, mut inv: Invocation<'_>) -> i32 {
        let Some(keys) = inv.keys.as_mut() else {
            return 1;
        };
        while let Some(bytes) = keys.recv().await {
            let _ = inv.stdout.write(bytes).await;
        }
        7
    }
}

#[tokio::test]
async fn attached_commands_get_keys_until_detach() {
    let (mut shell, mut out) = new_shell();
    shell.register(Arc::new(Attach));
    let (tx, rx) = mpsc::channel(8);
    let foreground = Foreground {
        cancel: CancellationToken::new(),
        input: Some(rx),
        attached: Arc::new(AtomicBool::new(false)),
    };
    let attached = Arc::clone(&foreground.attached);
    tx.send(ConsoleInput::Bytes(b"ls\r".to_vec()))
        .await
        .unwrap();
    tx.send(ConsoleInput::Detach).await.unwrap();
    let status = shell.run_line_in("attach; echo next", foreground).await;
    assert_eq!(status, 0, "detaching stops only the attached command");
    assert_eq!(out.recv().await.unwrap(), b"ls\r");
    assert_eq!(out.recv().await.unwrap(), b"next\n");
    assert!(!attached.load(Ordering::SeqCst));
}

#[tokio::test(start_paused = true)]
async fn ctrl_c_stops_the_line() {
    let (mut shell, _out) = new_shell();
    let foreground = Foreground::detached();
    let cancel = foreground.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        cancel.cancel();
    });
    let status = shell.run_line_in("sleep 100; echo never", foreground).await;
    assert_eq!(status, INTERRUPTED_STATUS);
}

#[test]
fn completes_commands_variables_and_files() {
    let (shell, _out) = new_shell();
    shell
        .fs
        .write_file("/home/thmuser/notes.txt", b"", false)
        .unwrap();
    shell.fs.create_dir("/home/thmuser/nested").unwrap();
    assert_eq!(shell.complete("doc", 3).candidates, ["docker"]);
    assert_eq!(
        shell.complete("echo $HO", 8).candidates,
        ["$HOME", "$HOSTNAME"]
    );
    assert_eq!(
        shell.complete("cat n", 5).candidates,
        ["nested/", "notes.txt"]
    );
    assert_eq!(shell.complete("cd n", 4).candidates, ["nested/"]);
    assert_eq!(shell.complete("echo a > no", 11).candidates, ["notes.txt"]);
    assert_eq!(
        shell.complete("ls | gr", 7),
        Completion {
            start: 5,
            candidates: vec!["grep".into()]
        }
    );
}
