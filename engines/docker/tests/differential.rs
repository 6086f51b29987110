//! The lab shell's `docker` against the real `docker` client, on the same
//! containers of the same engine. The lab hides its engine names
//! (`lab-<session>-web` is shown as `web`) and real host ports (shown as
//! the port the student published), so the real client's output is mapped
//! back before comparing; times are ignored.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use lab_docker::{DockerCommand, DockerSession};

use common::{run, session};

fn real_docker(args: &[&str]) -> Option<(i32, String, String)> {
    let output = Command::new("docker").args(args).output().ok()?;
    Some((
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

/// The cells of every line of a docker table, cut at the columns where the
/// header's titles start (an empty cell stays an empty cell).
fn table_cells(text: &str) -> Vec<Vec<String>> {
    let Some(header) = text.lines().next() else {
        return Vec::new();
    };
    let header: Vec<char> = header.chars().collect();
    let starts: Vec<usize> = (0..header.len())
        .filter(|&i| {
            header[i] != ' ' && (i == 0 || (i >= 3 && header[i - 3..i].iter().all(|c| *c == ' ')))
        })
        .collect();
    text.lines()
        .map(|line| {
            let chars: Vec<char> = line.chars().collect();
            (0..starts.len())
                .map(|k| {
                    let end = starts
                        .get(k + 1)
                        .copied()
                        .unwrap_or(chars.len())
                        .min(chars.len());
                    let start = starts[k].min(end);
                    chars[start..end]
                        .iter()
                        .collect::<String>()
                        .trim_end()
                        .to_owned()
                })
                .collect()
        })
        .collect()
}

/// Replaces numbers in time columns so "3 seconds ago" equals "4 seconds ago".
fn without_times(mut row: Vec<String>, time_columns: &[usize]) -> Vec<String> {
    let digits = regex::Regex::new(r"\d+|About an?|Less than a").unwrap();
    for &column in time_columns {
        if let Some(cell) = row.get_mut(column) {
            *cell = digits.replace_all(cell, "N").into_owned();
        }
    }
    row
}

/// The real client's table, cell by cell, in the student's terms.
async fn real_in_student_terms(session: &DockerSession, text: &str) -> Vec<Vec<String>> {
    let mut ports = Vec::new();
    for container in session.list(true).await.unwrap() {
        for port in container.ports {
            if let (Some(real), Some(student)) = (port.host_port, port.student_port) {
                ports.push((
                    format!("127.0.0.1:{real}->"),
                    format!("0.0.0.0:{student}->"),
                ));
            }
        }
    }
    let translate = |cell: String| {
        let mut cell = session.student_text(&cell);
        for (real, student) in &ports {
            cell = cell.replace(real, student);
        }
        cell
    };
    table_cells(text)
        .into_iter()
        .map(|row| row.into_iter().map(translate).collect())
        .collect()
}

/// The lab's table layout, applied to the real client's cells, gives the
/// real client's text byte for byte (column widths, padding, last column).
fn assert_same_layout(real: &str) {
    let mut rows = table_cells(real);
    if rows.first().is_none_or(|header| header.len() < 2) {
        return;
    }
    let header = rows.remove(0);
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    assert_eq!(lab_docker::cli::table::render(&header, &rows), real);
}

#[tokio::test]
async fn ps_matches_the_real_client() {
    let Some(session) = session("diff-ps").await else {
        return;
    };
    if real_docker(&["version"]).is_none() {
        eprintln!("SKIPPED: the real docker client is not installed");
        return;
    }
    let docker = DockerCommand::new(session.clone());
    assert_eq!(
        run(
            &docker,
            "run -d -p 5000:5000 --name web cryillic/thm_example_app"
        )
        .await
        .status,
        0
    );
    assert_eq!(
        run(&docker, "run -d --name worker hello-tryhackme")
            .await
            .status,
        0
    );
    assert_eq!(run(&docker, "stop worker").await.status, 0);

    for (lab_args, real_args) in [
        ("ps", vec!["ps"]),
        ("ps -a", vec!["ps", "-a"]),
        ("ps -a -q", vec!["ps", "-a", "-q"]),
    ] {
        let filter = format!("label=lab.session={}", session.id());
        let mut args = real_args.clone();
        args.extend(["--filter", &filter]);
        let (status, real, _) = real_docker(&args).unwrap();
        let lab = run(&docker, lab_args).await;
        assert_eq!((lab.status, status), (0, 0));
        assert_same_layout(&real);
        let real_rows = real_in_student_terms(&session, &real).await;
        let times = |rows: Vec<Vec<String>>| {
            rows.into_iter()
                .map(|r| without_times(r, &[3, 4]))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            times(table_cells(&lab.stdout)),
            times(real_rows),
            "docker {lab_args}\nlab:\n{}\nreal:\n{real}",
            lab.stdout
        );
    }
    session.shutdown().await.unwrap();
}

#[tokio::test]
async fn images_match_the_real_client() {
    let Some(session) = session("diff-images").await else {
        return;
    };
    let Some(_) = real_docker(&["version"]) else {
        eprintln!("SKIPPED: the real docker client is not installed");
        return;
    };
    let docker = DockerCommand::new(session.clone());
    // Other tests may build or remove images meanwhile: retry a few times.
    let mut last = String::new();
    for _ in 0..5 {
        let lab = run(&docker, "images").await;
        let (_, real, _) = real_docker(&["images"]).unwrap();
        assert_same_layout(&real);
        if lab.stdout == real {
            return;
        }
        let rows = |text: &str| {
            table_cells(text)
                .into_iter()
                .map(|r| without_times(r, &[3]))
                .collect::<Vec<_>>()
        };
        if rows(&lab.stdout) == rows(&real) {
            return;
        }
        last = format!("lab:\n{}\nreal:\n{real}", lab.stdout);
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    panic!("docker images differs\n{last}");
}

#[tokio::test]
async fn run_errors_match_the_real_client() {
    let Some(session) = session("diff-run").await else {
        return;
    };
    let Some(_) = real_docker(&["version"]) else {
        eprintln!("SKIPPED: the real docker client is not installed");
        return;
    };
    let docker = DockerCommand::new(session.clone());
    for line in [
        "run",
        "run --foo x",
        "run -p abc hello-tryhackme",
        "run -p 5000:abc hello-tryhackme",
        "run --name",
    ] {
        let args: Vec<&str> = line.split_whitespace().collect();
        let (status, _, real) = real_docker(&args).unwrap();
        let lab = run(&docker, line).await;
        assert_eq!(lab.stderr, real, "docker {line}");
        assert_eq!(lab.status, status, "exit status of docker {line}");
    }

    assert_eq!(
        run(&docker, "run -d --name web hello-tryhackme")
            .await
            .status,
        0
    );
    let engine_name = session.engine_name("web");
    let (status, _, real) =
        real_docker(&["run", "-d", "--name", &engine_name, "hello-tryhackme"]).unwrap();
    let lab = run(&docker, "run -d --name web hello-tryhackme").await;
    assert_eq!(lab.stderr, session.student_text(&real), "name conflict");
    assert_eq!(lab.status, status);
    session.shutdown().await.unwrap();
}
