//! Docker-style random container names (`eager_turing`) for containers the
//! student did not name.

use std::hash::{BuildHasher, Hasher};

const ADJECTIVES: &[&str] = &[
    "brave",
    "calm",
    "clever",
    "dazzling",
    "eager",
    "elegant",
    "fervent",
    "friendly",
    "gentle",
    "happy",
    "jolly",
    "keen",
    "kind",
    "lucid",
    "modest",
    "nimble",
    "optimistic",
    "patient",
    "quirky",
    "relaxed",
    "serene",
    "sharp",
    "steady",
    "sweet",
    "tender",
    "upbeat",
    "vibrant",
    "wizardly",
    "youthful",
    "zealous",
];

const SURNAMES: &[&str] = &[
    "babbage", "bardeen", "curie", "dijkstra", "einstein", "euler", "faraday", "galois",
    "hamilton", "hopper", "hypatia", "johnson", "kepler", "knuth", "lamarr", "lovelace", "maxwell",
    "meitner", "newton", "noether", "pascal", "ritchie", "shannon", "tesla", "thompson",
    "torvalds", "turing", "wing", "wozniak", "yonath",
];

/// A fresh `adjective_surname` name; `taken` is consulted so a session
/// never gets the same random name twice (a digit is appended, as docker does).
pub fn random_name(taken: &[String]) -> String {
    for attempt in 0..10u32 {
        let mut name = format!("{}_{}", pick(ADJECTIVES), pick(SURNAMES));
        if attempt > 3 {
            name.push_str(&(random() % 10).to_string());
        }
        if !taken.contains(&name) {
            return name;
        }
    }
    format!("{}_{}{}", pick(ADJECTIVES), pick(SURNAMES), random() % 1000)
}

fn pick(words: &[&'static str]) -> &'static str {
    let len = u64::try_from(words.len()).unwrap_or(1).max(1);
    let index = usize::try_from(random() % len).unwrap_or(0);
    words.get(index).copied().unwrap_or("lab")
}

/// A random number from the standard library's randomly keyed hasher: good
/// enough for names, and no extra dependency.
fn random() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn names_look_like_docker_names_and_avoid_taken_ones() {
        let name = random_name(&[]);
        let (adjective, surname) = name.split_once('_').unwrap();
        assert!(ADJECTIVES.contains(&adjective));
        assert!(SURNAMES.iter().any(|s| surname.starts_with(s)));
    }
}
