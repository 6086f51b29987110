//! `docker --help` and `docker SUBCOMMAND --help` texts, in the layout of
//! the docker CLI, listing only what the lab shell supports.

use super::args::FlagSpec;

/// A subcommand: usage line, one-line summary, flags with their help.
pub struct Subcommand {
    pub name: &'static str,
    pub usage: &'static str,
    pub summary: &'static str,
    pub flags: &'static [(FlagSpec, &'static str)],
}

const fn flag(short: Option<char>, long: &'static str, takes_value: bool) -> FlagSpec {
    FlagSpec {
        short,
        long,
        takes_value,
    }
}

pub const HELP_FLAG: (FlagSpec, &str) = (flag(None, "help", false), "Print usage");

// Only the subcommands and flags a lesson needs are here; `--filter` and
// `--format` of `ps` and `images`, `cp`, `build` and the object subcommands
// (`docker container ...`) are not, and give docker's "unknown" errors.
pub const SUBCOMMANDS: &[Subcommand] = &[
    Subcommand {
        name: "run",
        usage: "docker run [OPTIONS] IMAGE [COMMAND] [ARG...]",
        summary: "Create and run a new container from an image",
        flags: &[
            (
                flag(Some('d'), "detach", false),
                "Run container in background and print container ID",
            ),
            (flag(Some('e'), "env", true), "Set environment variables"),
            (flag(None, "name", true), "Assign a name to the container"),
            (
                flag(Some('p'), "publish", true),
                "Publish a container's port(s) to the host",
            ),
            (
                flag(None, "rm", false),
                "Automatically remove the container and its associated anonymous volumes when it exits",
            ),
            (flag(Some('h'), "hostname", true), "Container host name"),
            HELP_FLAG,
        ],
    },
    Subcommand {
        name: "ps",
        usage: "docker ps [OPTIONS]",
        summary: "List containers",
        flags: &[
            (
                flag(Some('a'), "all", false),
                "Show all containers (default shows just running)",
            ),
            (
                flag(Some('q'), "quiet", false),
                "Only display container IDs",
            ),
            (flag(None, "no-trunc", false), "Don't truncate output"),
            HELP_FLAG,
        ],
    },
    Subcommand {
        name: "images",
        usage: "docker images [OPTIONS] [REPOSITORY[:TAG]]",
        summary: "List images",
        flags: &[
            (flag(Some('q'), "quiet", false), "Only show image IDs"),
            HELP_FLAG,
        ],
    },
    Subcommand {
        name: "pull",
        usage: "docker pull [OPTIONS] NAME[:TAG|@DIGEST]",
        summary: "Download an image from a registry (in the lab: use the local copy, building it if needed)",
        flags: &[HELP_FLAG],
    },
    Subcommand {
        name: "logs",
        usage: "docker logs [OPTIONS] CONTAINER",
        summary: "Fetch the logs of a container",
        flags: &[
            (flag(Some('f'), "follow", false), "Follow log output"),
            (
                flag(Some('n'), "tail", true),
                "Number of lines to show from the end of the logs (default \"all\")",
            ),
            HELP_FLAG,
        ],
    },
    Subcommand {
        name: "stop",
        usage: "docker stop [OPTIONS] CONTAINER [CONTAINER...]",
        summary: "Stop one or more running containers",
        flags: &[HELP_FLAG],
    },
    Subcommand {
        name: "start",
        usage: "docker start [OPTIONS] CONTAINER [CONTAINER...]",
        summary: "Start one or more stopped containers",
        flags: &[HELP_FLAG],
    },
    Subcommand {
        name: "restart",
        usage: "docker restart [OPTIONS] CONTAINER [CONTAINER...]",
        summary: "Restart one or more containers",
        flags: &[HELP_FLAG],
    },
    Subcommand {
        name: "rm",
        usage: "docker rm [OPTIONS] CONTAINER [CONTAINER...]",
        summary: "Remove one or more containers",
        flags: &[
            (
                flag(Some('f'), "force", false),
                "Force the removal of a running container (uses SIGKILL)",
            ),
            HELP_FLAG,
        ],
    },
    Subcommand {
        name: "exec",
        usage: "docker exec [OPTIONS] CONTAINER COMMAND [ARG...]",
        summary: "Execute a command in a running container",
        flags: &[
            (flag(Some('e'), "env", true), "Set environment variables"),
            HELP_FLAG,
        ],
    },
    Subcommand {
        name: "inspect",
        usage: "docker inspect [OPTIONS] NAME|ID [NAME|ID...]",
        summary: "Return low-level information on Docker objects",
        flags: &[HELP_FLAG],
    },
    Subcommand {
        name: "version",
        usage: "docker version [OPTIONS]",
        summary: "Show the Docker version information",
        flags: &[HELP_FLAG],
    },
];

pub fn find(name: &str) -> Option<&'static Subcommand> {
    SUBCOMMANDS.iter().find(|s| s.name == name)
}

/// The flag specs of a subcommand, for the parser.
pub fn specs(sub: &Subcommand) -> Vec<FlagSpec> {
    sub.flags.iter().map(|(spec, _)| *spec).collect()
}

/// `docker --help`.
pub fn overview() -> String {
    let mut text = String::from(
        "\nUsage:  docker [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers \
         (the lab shell's docker: your containers only, images built offline)\n\nCommands:\n",
    );
    for sub in SUBCOMMANDS {
        text.push_str(&format!("  {:<10}{}\n", sub.name, sub.summary));
    }
    text.push_str("\nRun 'docker COMMAND --help' for more information on a command.\n");
    text
}

/// `docker SUBCOMMAND --help`.
pub fn subcommand(sub: &Subcommand) -> String {
    let mut text = format!("\nUsage:  {}\n\n{}\n\nOptions:\n", sub.usage, sub.summary);
    for (spec, help) in sub.flags {
        let short = spec
            .short
            .map(|c| format!("-{c}, "))
            .unwrap_or_else(|| "    ".to_owned());
        let long = if spec.takes_value {
            format!("--{} string", spec.long)
        } else {
            format!("--{}", spec.long)
        };
        text.push_str(&format!("  {short}{long:<20}{help}\n"));
    }
    text
}
