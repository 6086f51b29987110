//! Generated names in the style of Kubernetes controllers: random suffixes
//! and pod-template hashes drawn from an alphabet without vowels (so no
//! words are spelled by accident) and without look-alike characters.

use serde_json::Value;

const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `len` random characters from the controller alphabet (`x7k2q`).
pub fn random_suffix(len: usize) -> String {
    (0..len)
        .map(|_| {
            let index = usize::try_from(rand::random::<u32>()).unwrap_or(0) % ALPHABET.len();
            char::from(ALPHABET[index])
        })
        .collect()
}

/// The `pod-template-hash` of a pod template: FNV-1a over the template's
/// canonical JSON, its decimal digits mapped onto the alphabet, the way the
/// deployment controller shapes it. Equal templates give equal hashes, which
/// is how a rollback finds its old ReplicaSet.
pub fn template_hash(template: &Value) -> String {
    let mut template = template.clone();
    if let Some(labels) = template
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove("pod-template-hash");
    }
    let canonical = serde_json::to_string(&template).unwrap_or_default();
    let digits = fnv1a32(canonical.as_bytes()).to_string();
    digits
        .bytes()
        .map(|b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .collect()
}

fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn template_hash_ignores_its_own_label_and_is_stable() {
        let a = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}});
        let b = json!({"metadata": {"labels": {"app": "web", "pod-template-hash": "x"}},
            "spec": {"containers": []}});
        assert_eq!(template_hash(&a), template_hash(&b));
        assert!(template_hash(&a).bytes().all(|c| ALPHABET.contains(&c)));
    }

    #[test]
    fn suffix_has_requested_length() {
        assert_eq!(random_suffix(5).len(), 5);
    }
}
