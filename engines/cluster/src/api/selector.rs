//! Label and field selectors, as sent in `labelSelector` and `fieldSelector`.

use serde_json::Value;

use super::status::ApiError;

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A parsed label selector (`app=web,tier in (a,b),!legacy`). Empty matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let requirements = split_top_level(text)
            .into_iter()
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(parse_requirement)
            .collect::<Result<_, _>>()?;
        Ok(LabelSelector { requirements })
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = object.pointer("/metadata/labels");
        let label = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str);
        self.requirements.iter().all(|req| match req {
            Requirement::Equals(k, v) => label(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => label(k) != Some(v.as_str()),
            Requirement::In(k, vs) => label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::NotIn(k, vs) => label(k).is_none_or(|l| vs.iter().all(|v| v != l)),
            Requirement::Exists(k) => label(k).is_some(),
            Requirement::DoesNotExist(k) => label(k).is_none(),
        })
    }

    /// The selector equal to a `matchLabels` map (used by controllers).
    pub fn from_match_labels(labels: Option<&Value>) -> Self {
        let requirements = labels
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| Requirement::Equals(k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect();
        LabelSelector { requirements }
    }
}

/// Splits on commas that are not inside `( )`.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_requirement(part: &str) -> Result<Requirement, ApiError> {
    if let Some(key) = part.strip_prefix('!') {
        return Ok(Requirement::DoesNotExist(key.trim().to_string()));
    }
    if let Some((key, value)) = part.split_once("!=") {
        return Ok(Requirement::NotEquals(
            key.trim().into(),
            value.trim().into(),
        ));
    }
    if let Some((key, value)) = part.split_once("==").or_else(|| part.split_once('=')) {
        return Ok(Requirement::Equals(key.trim().into(), value.trim().into()));
    }
    if let Some((key, values)) = split_set(part, " notin ") {
        return Ok(Requirement::NotIn(key, values?));
    }
    if let Some((key, values)) = split_set(part, " in ") {
        return Ok(Requirement::In(key, values?));
    }
    if part.contains(|c: char| c.is_whitespace() || "()".contains(c)) {
        return Err(ApiError::bad_request(format!(
            "unable to parse requirement: {part}"
        )));
    }
    Ok(Requirement::Exists(part.to_string()))
}

fn split_set(part: &str, operator: &str) -> Option<(String, Result<Vec<String>, ApiError>)> {
    let (key, rest) = part.split_once(operator)?;
    let values = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .map(|inner| inner.split(',').map(|v| v.trim().to_string()).collect())
        .ok_or_else(|| ApiError::bad_request(format!("unable to parse requirement: {part}")));
    Some((key.trim().to_string(), values))
}

/// A parsed field selector (`metadata.name=web,status.phase!=Running`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    /// `(field path, value, wanted equal)`.
    terms: Vec<(String, String, bool)>,
}

impl FieldSelector {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let mut terms = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let term = if let Some((k, v)) = part.split_once("!=") {
                (k.to_string(), v.to_string(), false)
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (k.to_string(), v.to_string(), true)
            } else {
                return Err(ApiError::bad_request(format!("invalid selector: '{part}'")));
            };
            terms.push(term);
        }
        Ok(FieldSelector { terms })
    }

    /// Whether the object's fields match; a field the object lacks reads as "".
    pub fn matches(&self, object: &Value) -> bool {
        self.terms.iter().all(|(path, value, equal)| {
            let pointer = format!("/{}", path.replace('.', "/"));
            let actual = object.pointer(&pointer).map(value_text).unwrap_or_default();
            (actual == *value) == *equal
        })
    }
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labelled(labels: Value) -> Value {
        json!({"metadata": {"name": "p", "labels": labels}, "status": {"phase": "Running"}})
    }

    #[test]
    fn label_selector_forms() {
        let object = labelled(json!({"app": "web", "tier": "front"}));
        let yes = [
            "app=web",
            "app==web",
            "tier in (front,back)",
            "app",
            "!legacy",
            "app!=db",
        ];
        for text in yes {
            assert!(
                LabelSelector::parse(text).unwrap().matches(&object),
                "{text}"
            );
        }
        let no = [
            "app=db",
            "tier notin (front)",
            "legacy",
            "app=web,tier=back",
        ];
        for text in no {
            assert!(
                !LabelSelector::parse(text).unwrap().matches(&object),
                "{text}"
            );
        }
    }

    #[test]
    fn malformed_label_selector_is_bad_request() {
        assert!(LabelSelector::parse("app in front").is_err());
    }

    #[test]
    fn field_selector_reads_paths() {
        let object = labelled(json!({}));
        assert!(
            FieldSelector::parse("metadata.name=p")
                .unwrap()
                .matches(&object)
        );
        assert!(
            FieldSelector::parse("status.phase!=Pending")
                .unwrap()
                .matches(&object)
        );
        assert!(
            !FieldSelector::parse("spec.nodeName=n1")
                .unwrap()
                .matches(&object)
        );
    }
}
