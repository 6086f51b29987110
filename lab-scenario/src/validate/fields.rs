//! The fields of every mapping in a scenario, as the validator knows them.
//!
//! A test compares these lists with the JSON Schema generated from the Rust
//! types, so a field added to the model without being added here fails the
//! build's tests rather than being reported as unknown.

/// One field of a mapping.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub required: bool,
}

const fn req(name: &'static str) -> Field {
    Field {
        name,
        required: true,
    }
}

const fn opt(name: &'static str) -> Field {
    Field {
        name,
        required: false,
    }
}

pub const SCENARIO: &[Field] = &[
    req("id"),
    req("title"),
    req("description"),
    req("estimated_minutes"),
    opt("engines"),
    opt("cluster"),
    req("tasks"),
];

pub const CLUSTER: &[Field] = &[req("manifests")];

pub const TASK: &[Field] = &[
    req("id"),
    req("title"),
    req("lesson"),
    opt("questions"),
    opt("checks"),
    opt("hints"),
    opt("solution"),
];

/// Exactly one of these is present.
pub const LESSON: &[Field] = &[opt("markdown"), opt("file")];

pub const QUESTION: &[Field] = &[
    req("id"),
    req("prompt"),
    opt("points"),
    req("answer"),
    opt("explanation"),
    opt("hints"),
];

/// Exactly one of these is present.
pub const ANSWER_RULE: &[Field] = &[
    opt("exact"),
    opt("any_of"),
    opt("regex"),
    opt("number"),
    opt("choice"),
    opt("live"),
];

pub const TEXT_ANSWER: &[Field] = &[req("text"), opt("case_sensitive"), opt("exact_whitespace")];

pub const TEXT_ANSWERS: &[Field] = &[req("texts"), opt("case_sensitive"), opt("exact_whitespace")];

pub const NUMBER_ANSWER: &[Field] = &[req("value"), opt("tolerance")];

pub const CHOICE_ANSWER: &[Field] = &[req("options"), req("correct")];

/// Live answer sources, each with its fields besides `source`.
pub const LIVE_SOURCES: &[(&str, &[Field])] = &[
    (
        "cluster",
        &[
            req("resource"),
            opt("namespace"),
            opt("selector"),
            opt("path"),
        ],
    ),
    ("docker", &[req("image"), req("field")]),
    ("vm", &[req("field")]),
];

/// Check kinds, each with its fields besides `kind`.
pub const CHECK_KINDS: &[(&str, &[Field])] = &[
    ("command_ran", &[req("pattern"), opt("succeeded")]),
    ("container_running", &[req("image"), opt("port")]),
    (
        "http",
        &[
            req("port"),
            opt("path"),
            opt("status"),
            opt("contains"),
            opt("matches"),
        ],
    ),
    (
        "resource_exists",
        &[
            req("resource"),
            opt("namespace"),
            opt("name"),
            opt("selector"),
            opt("absent"),
        ],
    ),
    (
        "resource_count",
        &[
            req("resource"),
            opt("namespace"),
            opt("selector"),
            opt("equals"),
            opt("at_least"),
        ],
    ),
    (
        "resource_field",
        &[
            req("resource"),
            opt("namespace"),
            req("name"),
            req("path"),
            opt("equals"),
            opt("matches"),
        ],
    ),
    (
        "pods_ready",
        &[opt("namespace"), opt("selector"), opt("count")],
    ),
    ("vm_running", &[opt("guest")]),
    ("console_matches", &[req("pattern")]),
    ("exit_count", &[req("counter"), req("at_least")]),
];

/// Counters an `exit_count` check may name.
pub const EXIT_COUNTERS: &[&str] = &[
    "io_in",
    "io_out",
    "mmio_read",
    "mmio_write",
    "hlt",
    "shutdown",
    "other",
    "total",
];

/// Engine names in `engines:`.
pub const ENGINES: &[&str] = &["docker", "cluster", "kvm"];

/// The names of a field list.
pub fn names(fields: &[Field]) -> impl Iterator<Item = &'static str> + '_ {
    fields.iter().map(|field| field.name)
}
