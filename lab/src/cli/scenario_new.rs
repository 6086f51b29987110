//! `lab scenario new NAME`: a small working scenario to start from.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = "\
Writes scenarios/NAME.yaml and its lessons in content/lessons/NAME/ under --dir:
two tasks, a question of each common kind, a Docker container check, an HTTP
check and `solution:` lines. It passes `lab validate` and `lab scenario test`
as it is; change it from there. Existing files are never overwritten.

Examples:
  lab scenario new intro-to-nginx
  lab scenario new web-basics --dir ../my-course
  lab run --watch scenarios/web-basics.yaml    see it while you edit it")]
pub struct NewArgs {
    /// The scenario's id and file name: lowercase letters, digits and
    /// hyphens, starting with a letter.
    pub name: String,

    /// The directory that holds (or will hold) `scenarios/` and `content/`.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

pub fn execute(args: &NewArgs) -> anyhow::Result<ExitCode> {
    check_name(&args.name)?;
    let files = files(&args.name);
    let targets: Vec<(PathBuf, &String)> = files
        .iter()
        .map(|(relative, text)| (under(&args.dir, relative), text))
        .collect();
    if let Some((existing, _)) = targets.iter().find(|(path, _)| path.exists()) {
        bail!(
            "{} already exists; choose another name or remove it first",
            existing.display()
        );
    }
    for (path, text) in &targets {
        write_new(path, text)?;
        println!("wrote {}", path.display());
    }
    let scenario = args
        .dir
        .join("scenarios")
        .join(format!("{}.yaml", args.name));
    println!(
        "\nNext:\n  lab validate {0}\n  lab scenario test {0}\n  lab run --watch {0}",
        scenario.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `relative` under `dir`, without a leading `./` for the current directory.
fn under(dir: &Path, relative: &Path) -> PathBuf {
    match dir == Path::new(".") {
        true => relative.to_path_buf(),
        false => dir.join(relative),
    }
}

/// Names that make a valid scenario id and a plain file name.
fn check_name(name: &str) -> anyhow::Result<()> {
    let mut chars = name.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !starts_well || !rest_ok || name.len() > 63 || name.ends_with('-') {
        bail!(
            "`{name}` is not a usable scenario name: use lowercase letters, digits and \
             hyphens, start with a letter, at most 63 characters (for example `web-basics`)"
        );
    }
    Ok(())
}

fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The files of a new scenario, relative to the project directory.
pub fn files(name: &str) -> Vec<(PathBuf, String)> {
    let title = title_of(name);
    let scenario = SCENARIO.replace("{name}", name).replace("{title}", &title);
    let lessons = Path::new("content").join("lessons").join(name);
    vec![
        (
            Path::new("scenarios").join(format!("{name}.yaml")),
            scenario,
        ),
        (
            lessons.join("01-welcome.md"),
            WELCOME.replace("{title}", &title),
        ),
        (lessons.join("02-run-a-container.md"), RUN.to_owned()),
    ]
}

/// `web-basics` as `Web basics`.
fn title_of(name: &str) -> String {
    let words = name.replace('-', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

const SCENARIO: &str = r#"# yaml-language-server: $schema=scenario.schema.json
# A new scenario. `scenarios/README.md` documents every field and check kind.
id: {name}
title: {title}
description: >-
  Say in a sentence or two what the learner will do and take away.
estimated_minutes: 10
engines: [docker]

tasks:
  - id: welcome
    title: Welcome
    lesson: {file: lessons/{name}/01-welcome.md}
    questions:
      - id: list-command
        prompt: Which docker command lists the running containers?
        answer: {regex: '^docker\s+(ps|container\s+ls)$'}
        explanation: "`docker ps` (or `docker container ls`) shows the running containers."
        hints:
          - The command is short; it is named after the Unix command for processes.
      - id: ready
        prompt: Ready to start? (yes/no)
        answer: {any_of: {texts: ["yes", "y"]}}
        explanation: Then on to the first container.
    solution:
      - answer list-command docker ps
      - answer ready yes

  - id: run-a-container
    title: Run a container
    lesson: {file: lessons/{name}/02-run-a-container.md}
    questions:
      - id: page-title
        prompt: What is the title of the page the application serves?
        answer: {exact: {text: Flask Docker}}
        explanation: The application is a small Flask program; the title is in its HTML.
        hints:
          - Fetch the page with `curl http://localhost:8080`.
          - Look between the <title> tags.
    checks:
      - kind: container_running
        image: cryillic/thm_example_app
        port: 5000
      - kind: http
        port: 8080
        contains: Flask Docker
    hints:
      - "Publish container port 5000 on port 8080: docker run -d -p 8080:5000 cryillic/thm_example_app"
    solution:
      - docker run -d --name web -p 8080:5000 cryillic/thm_example_app
      - curl http://localhost:8080
      - answer page-title Flask Docker
"#;

const WELCOME: &str = "# {title}

Replace this lesson with your own. Lessons are Markdown: headings, lists,
`inline code`, fenced code blocks and tables all render in the lab.

The terminal pane on the right is the lab shell. Everything you type there
runs in this scenario's own environment, never on the host.

Try `docker ps` in it: the list is empty for now.
";

const RUN: &str = "# Run a container

Start the example web application in the background and publish its port
5000 on port 8080:

```
docker run -d --name web -p 8080:5000 cryillic/thm_example_app
```

Then fetch its page:

```
curl http://localhost:8080
```

This task turns green by itself once the container runs and answers on
port 8080.
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_make_plain_ids() {
        assert!(check_name("web-basics").is_ok());
        assert!(check_name("a1").is_ok());
        for bad in ["", "Web", "1st", "a_b", "a/b", "../x", "x-", "é"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_new_scenario_validates_with_its_lessons() {
        let dir = tempfile::tempdir().unwrap();
        for (relative, text) in files("web-basics") {
            write_new(&dir.path().join(relative), &text).unwrap();
        }
        let path = dir.path().join("scenarios/web-basics.yaml");
        let loaded = lab_scenario::load_file(&path).unwrap_or_else(|p| panic!("{p:#?}"));
        assert_eq!(loaded.scenario.id, "web-basics");
        assert_eq!(loaded.scenario.title, "Web basics");
        assert_eq!(loaded.scenario.tasks.len(), 2);
        assert!(loaded.lessons[0].starts_with("# Web basics"));
        assert!(loaded.scenario.tasks.iter().all(|t| !t.solution.is_empty()));
    }

    #[test]
    fn existing_files_are_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let args = NewArgs {
            name: "web-basics".to_owned(),
            dir: dir.path().to_path_buf(),
        };
        execute(&args).unwrap();
        let lesson = dir.path().join("content/lessons/web-basics/01-welcome.md");
        std::fs::write(&lesson, "mine").unwrap();
        let error = execute(&args).unwrap_err().to_string();
        assert!(error.contains("already exists"), "{error}");
        assert_eq!(std::fs::read_to_string(lesson).unwrap(), "mine");
    }
}
