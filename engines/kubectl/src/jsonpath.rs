//! A subset of kubectl's JSONPath: field steps (`.spec.replicas`), indexes
//! (`[0]`, `[-1]`), wildcards (`[*]`, `.*`), quoted keys (`['a.b']`) and
//! equality filters (`[?(@.type=="Ready")]`), inside `{...}` templates with
//! literal text around them. `range`/`end` blocks are not supported yet;
//! they would need a small template tree instead of a flat list of parts.

use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(i64),
    All,
    Filter { path: Vec<Step>, equals: String },
}

/// A path that failed to parse, with kubectl-like wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PathError(String);

/// Every value `path` selects in `value` (`.spec.replicas` style).
pub fn select<'a>(value: &'a Value, path: &str) -> Result<Vec<&'a Value>, PathError> {
    let steps = parse_path(path)?;
    Ok(walk(vec![value], &steps))
}

/// Renders a kubectl `-o jsonpath=` template.
pub fn render(value: &Value, template: &str) -> Result<String, PathError> {
    let mut text = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        text.push_str(&unescape(&rest[..open]));
        let close = rest[open..]
            .find('}')
            .map(|at| open + at)
            .ok_or_else(|| PathError(format!("unclosed action in template {template:?}")))?;
        text.push_str(&render_action(value, rest[open + 1..close].trim())?);
        rest = &rest[close + 1..];
    }
    text.push_str(&unescape(rest));
    Ok(text)
}

fn render_action(value: &Value, action: &str) -> Result<String, PathError> {
    if let Some(literal) = action.strip_prefix('"').and_then(|a| a.strip_suffix('"')) {
        return Ok(unescape(literal));
    }
    if action.starts_with("range") || action == "end" {
        return Err(PathError(
            "range/end in JSONPath templates is not supported by the lab's kubectl".into(),
        ));
    }
    let found = select(value, action)?;
    Ok(found
        .iter()
        .map(|v| scalar(v))
        .collect::<Vec<_>>()
        .join(" "))
}

/// A value as JSONPath output shows it: strings bare, the rest as JSON.
pub fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn unescape(text: &str) -> String {
    text.replace("\\n", "\n").replace("\\t", "\t")
}

fn parse_path(path: &str) -> Result<Vec<Step>, PathError> {
    let path = path.trim();
    let path = path.strip_prefix('$').unwrap_or(path);
    let mut steps = Vec::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let name: String =
                    std::iter::from_fn(|| chars.next_if(|c| !matches!(c, '.' | '['))).collect();
                match name.as_str() {
                    "" => {}
                    "*" => steps.push(Step::All),
                    _ => steps.push(Step::Field(name)),
                }
            }
            '[' => {
                let inner: String = std::iter::from_fn(|| chars.next_if(|c| *c != ']')).collect();
                chars.next();
                steps.push(parse_bracket(&inner)?);
            }
            other => {
                let rest: String = std::iter::once(other)
                    .chain(std::iter::from_fn(|| {
                        chars.next_if(|c| !matches!(c, '.' | '['))
                    }))
                    .collect();
                steps.push(Step::Field(rest));
            }
        }
    }
    Ok(steps)
}

fn parse_bracket(inner: &str) -> Result<Step, PathError> {
    let inner = inner.trim();
    if inner == "*" {
        return Ok(Step::All);
    }
    if let Some(quoted) = inner
        .strip_prefix('\'')
        .and_then(|i| i.strip_suffix('\''))
        .or_else(|| inner.strip_prefix('"').and_then(|i| i.strip_suffix('"')))
    {
        return Ok(Step::Field(quoted.to_string()));
    }
    if let Some(filter) = inner.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
        return parse_filter(filter);
    }
    inner
        .parse::<i64>()
        .map(Step::Index)
        .map_err(|_| PathError(format!("unsupported JSONPath subscript [{inner}]")))
}

fn parse_filter(filter: &str) -> Result<Step, PathError> {
    let (left, right) = filter
        .split_once("==")
        .ok_or_else(|| PathError(format!("only == filters are supported, not {filter:?}")))?;
    let left = left.trim();
    let path = left
        .strip_prefix('@')
        .ok_or_else(|| PathError(format!("a filter must start with @, not {left:?}")))?;
    let right = right.trim();
    let equals = right.trim_matches(|c| c == '"' || c == '\'').to_string();
    Ok(Step::Filter {
        path: parse_path(path)?,
        equals,
    })
}

fn walk<'a>(mut current: Vec<&'a Value>, steps: &[Step]) -> Vec<&'a Value> {
    for step in steps {
        current = current.into_iter().flat_map(|v| apply(v, step)).collect();
    }
    current
}

fn apply<'a>(value: &'a Value, step: &Step) -> Vec<&'a Value> {
    match (step, value) {
        (Step::Field(name), Value::Object(map)) => map.get(name).into_iter().collect(),
        (Step::Index(index), Value::Array(items)) => {
            let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
            let at = if *index < 0 { len + index } else { *index };
            usize::try_from(at)
                .ok()
                .and_then(|at| items.get(at))
                .into_iter()
                .collect()
        }
        (Step::All, Value::Array(items)) => items.iter().collect(),
        (Step::All, Value::Object(map)) => map.values().collect(),
        (Step::Filter { path, equals }, Value::Array(items)) => items
            .iter()
            .filter(|item| walk(vec![item], path).iter().any(|v| scalar(v) == *equals))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pods() -> Value {
        json!({"items": [
            {"metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "x"}},
             "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
            {"metadata": {"name": "b"}, "status": {"conditions": []}}
        ]})
    }

    #[test]
    fn templates_select_fields_indexes_and_wildcards() {
        let pods = pods();
        assert_eq!(render(&pods, "{.items[*].metadata.name}").unwrap(), "a b");
        assert_eq!(render(&pods, "{.items[0].metadata.name}").unwrap(), "a");
        assert_eq!(render(&pods, "{.items[-1].metadata.name}").unwrap(), "b");
        assert_eq!(
            render(&pods, "n={.items[1].metadata.name}\\n").unwrap(),
            "n=b\n"
        );
        assert_eq!(
            render(
                &pods,
                "{.items[0].metadata.labels['app.kubernetes.io/name']}"
            )
            .unwrap(),
            "x"
        );
    }

    #[test]
    fn filters_pick_matching_items() {
        let pods = pods();
        let found = select(
            &pods,
            ".items[*].status.conditions[?(@.type==\"Ready\")].status",
        )
        .unwrap();
        assert_eq!(found, [&json!("True")]);
    }

    #[test]
    fn bad_templates_are_errors_not_panics() {
        assert!(render(&pods(), "{.items[x]}").is_err());
        assert!(render(&pods(), "{.items").is_err());
        assert!(render(&pods(), "{range .items[*]}{end}").is_err());
    }
}
