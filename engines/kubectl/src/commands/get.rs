//! `kubectl get`: server-printed tables, `-o name|json|yaml|jsonpath`,
//! several kinds at once, `all`, `-A`, `-l`, `--show-labels`.

use serde_json::{Value, json};

use super::{Context, Failure, Outcome, usage};
use crate::kinds::{ALL, ResourceKind};
use crate::{jsonpath, printer};

/// kubectl's complaint about `get pods pod/x`.
const TYPE_AND_SLASH: &str = "there is no need to specify a resource type as a separate argument \
     when passing arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' \
     instead of 'kubectl get resource resource/<resource_name>'";

/// What was asked for: kinds, each with the names given for it (none
/// lists them all).
struct Request {
    groups: Vec<(&'static ResourceKind, Vec<String>)>,
    /// Several kinds (or `all`): names print as `kind.group/name`.
    prefixed: bool,
}

/// The output format of `-o`.
enum Format {
    Table { wide: bool },
    Name,
    Json,
    Yaml,
    JsonPath(String),
}

pub async fn run(ctx: &Context<'_>) -> Outcome {
    let request = parse_request(ctx)?;
    let format = parse_format(ctx.args.value("output"))?;
    let namespace = match ctx.args.switch("all-namespaces") {
        true => None,
        false => Some(ctx.namespace()),
    };

    let printed = match format {
        Format::Table { wide } => print_tables(ctx, &request, namespace, wide).await,
        ref other => print_objects(ctx, &request, namespace, other).await,
    };
    match (ctx.args.switch("watch"), &format, request.groups.as_slice()) {
        (false, _, _) => printed,
        (true, Format::Table { wide }, [(kind, names)]) => {
            printed?;
            watch(ctx, kind, names, namespace, *wide).await
        }
        (true, _, _) => Err(usage(
            "the lab's kubectl watches one kind at a time, printed as a table",
        )),
    }
}

/// How often `--watch` looks again.
const WATCH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// `get -w`: after the table, prints each row that appears or changes (and
/// a row that disappears, once more) until Ctrl-C. Polls the server-printed
/// table; a watch stream would report every intermediate change, and the
/// ages tick in the last column either way.
async fn watch(
    ctx: &Context<'_>,
    kind: &ResourceKind,
    names: &[String],
    namespace: Option<&str>,
    wide: bool,
) -> Outcome {
    let layout = Layout {
        wide,
        namespace_column: namespace.is_none() && kind.namespaced,
        labels: ctx.args.switch("show-labels"),
        prefix: None,
    };
    let mut seen = watched_rows(ctx, kind, names, namespace, &layout).await?;
    loop {
        tokio::select! {
            _ = ctx.cancel.cancelled() => return Ok(()),
            _ = tokio::time::sleep(WATCH_INTERVAL) => {}
        }
        let now = watched_rows(ctx, kind, names, namespace, &layout).await?;
        let changed = now
            .iter()
            .filter(|(key, row)| seen.get(*key).is_none_or(|old| !same_but_age(old, row)));
        let gone = seen.iter().filter(|(key, _)| !now.contains_key(*key));
        let lines: Vec<Vec<String>> = changed.chain(gone).map(|(_, row)| row.clone()).collect();
        if !lines.is_empty() {
            ctx.out.write(printer::table(&lines)).await?;
        }
        seen = now;
    }
}

/// Rows keyed by namespace and name.
async fn watched_rows(
    ctx: &Context<'_>,
    kind: &ResourceKind,
    names: &[String],
    namespace: Option<&str>,
    layout: &Layout,
) -> Result<std::collections::BTreeMap<String, Vec<String>>, Failure> {
    let (table, _) = table_rows(ctx, names, kind, namespace).await?;
    let shown = layout.shown(&table);
    Ok(table
        .rows
        .iter()
        .map(|row| {
            let key = format!(
                "{}/{}",
                row.pointer("/object/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                row.pointer("/object/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            );
            (key, layout.row(&table, row, &shown))
        })
        .collect())
}

/// Rows equal apart from the AGE cell (which changes every second).
fn same_but_age(old: &[String], new: &[String]) -> bool {
    old.len() == new.len()
        && old
            .iter()
            .zip(new)
            .all(|(a, b)| a == b || (looks_like_age(a) && looks_like_age(b)))
}

/// Whether a cell reads like an age (`5s`, `2m3s`, `4d`).
fn looks_like_age(cell: &str) -> bool {
    !cell.is_empty()
        && cell.chars().next().is_some_and(|c| c.is_ascii_digit())
        && cell
            .chars()
            .all(|c| c.is_ascii_digit() || "smhdy".contains(c))
        && cell.chars().last().is_some_and(|c| "smhdy".contains(c))
}

fn parse_request(ctx: &Context<'_>) -> Result<Request, Failure> {
    let operands = ctx.operands(0);
    let Some(first) = operands.first() else {
        return Err(usage(
            "Required resource not specified.\nUse \"kubectl explain <resource>\" for a detailed \
             description of that resource (e.g. kubectl explain pods).\nSee 'kubectl get -h' for \
             help and examples",
        ));
    };
    if first.contains('/') {
        return slash_request(ctx, operands);
    }
    if operands[1..].iter().any(|name| name.contains('/')) {
        return Err(usage(TYPE_AND_SLASH));
    }
    let mut kinds = Vec::new();
    for name in first.split(',').filter(|n| !n.is_empty()) {
        if name == "all" {
            kinds.extend(ALL.iter().filter_map(|k| ResourceKind::lookup(k)));
        } else {
            kinds.push(ctx.kind(name)?);
        }
    }
    let prefixed = kinds.len() > 1 || first == "all";
    let names = operands[1..].to_vec();
    Ok(Request {
        groups: kinds.into_iter().map(|k| (k, names.clone())).collect(),
        prefixed,
    })
}

/// `get deploy/web svc/web`: a kind per operand; names print with their
/// kind when the kinds differ.
fn slash_request(ctx: &Context<'_>, operands: &[String]) -> Result<Request, Failure> {
    let mut groups: Vec<(&'static ResourceKind, Vec<String>)> = Vec::new();
    for operand in operands {
        let (kind, name) = operand
            .split_once('/')
            .ok_or_else(|| usage(TYPE_AND_SLASH))?;
        let kind = ctx.kind(kind)?;
        match groups.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, names)) => names.push(name.to_string()),
            None => groups.push((kind, vec![name.to_string()])),
        }
    }
    let prefixed = groups.len() > 1;
    Ok(Request { groups, prefixed })
}

fn parse_format(output: Option<&str>) -> Result<Format, Failure> {
    Ok(match output {
        None | Some("") => Format::Table { wide: false },
        Some("wide") => Format::Table { wide: true },
        Some("name") => Format::Name,
        Some("json") => Format::Json,
        Some("yaml") => Format::Yaml,
        Some(other) => match other.strip_prefix("jsonpath=") {
            Some(template) => Format::JsonPath(template.to_string()),
            None => {
                return Err(usage(format!(
                    "unable to match a printer suitable for the output format \"{other}\", \
                     allowed formats are: json,jsonpath,name,wide,yaml"
                )));
            }
        },
    })
}

async fn print_tables(
    ctx: &Context<'_>,
    request: &Request,
    namespace: Option<&str>,
    wide: bool,
) -> Outcome {
    let mut printed_any = false;
    let mut failure = None;
    for (kind, names) in &request.groups {
        let table = match table_rows(ctx, names, kind, namespace).await {
            Ok((table, failed)) => {
                if failed {
                    failure = Some(Failure::Reported);
                }
                table
            }
            Err(Failure::Api(error)) => {
                ctx.err.line(error.to_string()).await?;
                failure = Some(Failure::Reported);
                continue;
            }
            Err(other) => return Err(other),
        };
        if table.rows.is_empty() {
            continue;
        }
        if printed_any {
            ctx.out.line("").await?;
        }
        printed_any = true;
        let layout = Layout {
            wide,
            namespace_column: namespace.is_none() && kind.namespaced,
            labels: ctx.args.switch("show-labels"),
            prefix: request.prefixed.then(|| kind.qualified()),
        };
        ctx.out.write(layout.render(&table)).await?;
    }
    let named = request.groups.iter().any(|(_, names)| !names.is_empty());
    finish(
        ctx,
        printed_any || failure.is_some() || named,
        namespace,
        failure,
    )
    .await
}

/// Prints "No resources found" when nothing matched, and turns an earlier
/// error into the exit status.
async fn finish(
    ctx: &Context<'_>,
    printed: bool,
    namespace: Option<&str>,
    failure: Option<Failure>,
) -> Outcome {
    if !printed {
        let message = match namespace {
            Some(namespace) => format!("No resources found in {namespace} namespace."),
            None => "No resources found".to_string(),
        };
        ctx.err.line(message).await?;
    }
    match failure {
        Some(_) => Err(Failure::Reported),
        None => Ok(()),
    }
}

/// A server-printed table: column definitions and rows with their objects.
struct Table {
    columns: Vec<Value>,
    rows: Vec<Value>,
}

/// The table of one kind; `failed` when some named objects were missing
/// (already reported on stderr).
async fn table_rows(
    ctx: &Context<'_>,
    names: &[String],
    kind: &ResourceKind,
    namespace: Option<&str>,
) -> Result<(Table, bool), Failure> {
    if names.is_empty() {
        let path = list_path(ctx, kind, namespace);
        let table = ctx.client.get_table(&path).await?;
        return Ok((to_table(table), false));
    }
    let mut merged = Table {
        columns: Vec::new(),
        rows: Vec::new(),
    };
    let mut failed = false;
    for name in names {
        let path = kind.object_path(namespace.unwrap_or(ctx.client.namespace()), name);
        match ctx.client.get_table(&path).await {
            Ok(table) => {
                let table = to_table(table);
                merged.columns = table.columns;
                merged.rows.extend(table.rows);
            }
            Err(error) => {
                ctx.err.line(error.to_string()).await?;
                failed = true;
            }
        }
    }
    Ok((merged, failed))
}

fn list_path(ctx: &Context<'_>, kind: &ResourceKind, namespace: Option<&str>) -> String {
    let mut path = kind.collection_path(namespace);
    let mut query = Vec::new();
    if let Some(selector) = ctx.args.value("selector") {
        query.push(format!("labelSelector={}", encode(selector)));
    }
    if let Some(selector) = ctx.args.value("field-selector") {
        query.push(format!("fieldSelector={}", encode(selector)));
    }
    if !query.is_empty() {
        path.push('?');
        path.push_str(&query.join("&"));
    }
    path
}

pub use crate::kinds::encode;

fn to_table(mut value: Value) -> Table {
    let columns = value["columnDefinitions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let rows = match value["rows"].take() {
        Value::Array(rows) => rows,
        _ => Vec::new(),
    };
    Table { columns, rows }
}

/// How to lay a table out.
struct Layout {
    wide: bool,
    namespace_column: bool,
    labels: bool,
    /// `deployment.apps` when names print as `deployment.apps/web`.
    prefix: Option<String>,
}

impl Layout {
    /// The indexes of the columns shown (priority 0, or all with `-o wide`).
    fn shown(&self, table: &Table) -> Vec<usize> {
        (0..table.columns.len())
            .filter(|&i| self.wide || table.columns[i]["priority"].as_i64().unwrap_or(0) == 0)
            .collect()
    }

    fn render(&self, table: &Table) -> String {
        let shown = self.shown(table);
        let mut header = Vec::new();
        if self.namespace_column {
            header.push("NAMESPACE".to_string());
        }
        header.extend(shown.iter().map(|&i| {
            table.columns[i]["name"]
                .as_str()
                .unwrap_or_default()
                .to_uppercase()
        }));
        if self.labels {
            header.push("LABELS".to_string());
        }
        let mut lines = vec![header];
        lines.extend(table.rows.iter().map(|row| self.row(table, row, &shown)));
        printer::table(&lines)
    }

    fn row(&self, table: &Table, row: &Value, shown: &[usize]) -> Vec<String> {
        let object = &row["object"];
        let empty = Vec::new();
        let cells = row["cells"].as_array().unwrap_or(&empty);
        let mut line = Vec::new();
        if self.namespace_column {
            line.push(
                object
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            );
        }
        for &i in shown {
            let text = cells.get(i).map(cell_text).unwrap_or_default();
            let is_name = table.columns[i]["format"] == "name";
            match (&self.prefix, is_name) {
                (Some(prefix), true) => line.push(format!("{prefix}/{text}")),
                _ => line.push(text),
            }
        }
        if self.labels {
            line.push(printer::labels(object));
        }
        line
    }
}

fn cell_text(cell: &Value) -> String {
    match cell {
        Value::Null => "<none>".to_string(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

async fn print_objects(
    ctx: &Context<'_>,
    request: &Request,
    namespace: Option<&str>,
    format: &Format,
) -> Outcome {
    let mut items = Vec::new();
    let mut failure = None;
    for (kind, names) in &request.groups {
        match fetch_objects(ctx, names, kind, namespace).await {
            Ok(found) => items.extend(found.into_iter().map(|o| (*kind, o))),
            Err(error) => {
                ctx.err.line(error.to_string()).await?;
                failure = Some(error);
            }
        }
    }
    let single = matches!(request.groups.as_slice(), [(_, names)] if names.len() == 1);
    let printed = !items.is_empty();
    match format {
        Format::Name => {
            for (kind, object) in &items {
                let name = object.pointer("/metadata/name").and_then(Value::as_str);
                ctx.out
                    .line(format!("{}/{}", kind.qualified(), name.unwrap_or_default()))
                    .await?;
            }
        }
        _ if !printed && !single => {}
        _ => {
            let document = match single && items.len() == 1 {
                true => items.remove(0).1,
                false => list(items.into_iter().map(|(_, o)| o).collect()),
            };
            ctx.out.write(render_document(&document, format)?).await?;
        }
    }
    let printed = printed || !matches!(format, Format::Name | Format::Table { .. }) && single;
    finish(ctx, printed || failure.is_some(), namespace, failure).await
}

fn render_document(document: &Value, format: &Format) -> Result<String, Failure> {
    Ok(match format {
        Format::Json => printer::json(document),
        Format::Yaml => printer::yaml(document),
        Format::JsonPath(template) => jsonpath::render(document, template)
            .map_err(|e| usage(format!("error executing jsonpath {template:?}: {e}")))?,
        Format::Name | Format::Table { .. } => String::new(),
    })
}

/// The `List` kubectl prints for several objects.
fn list(items: Vec<Value>) -> Value {
    json!({
        "apiVersion": "v1",
        "items": items,
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    })
}

/// Full objects (with `apiVersion` and `kind` filled in, as kubectl does).
async fn fetch_objects(
    ctx: &Context<'_>,
    names: &[String],
    kind: &ResourceKind,
    namespace: Option<&str>,
) -> Result<Vec<Value>, Failure> {
    let mut objects = Vec::new();
    if names.is_empty() {
        let listed = ctx.client.get(&list_path(ctx, kind, namespace)).await?;
        if let Value::Array(items) = &listed["items"] {
            objects.extend(items.iter().cloned());
        }
    } else {
        for name in names {
            let path = kind.object_path(namespace.unwrap_or(ctx.client.namespace()), name);
            objects.push(ctx.client.get(&path).await?);
        }
    }
    for object in &mut objects {
        object["apiVersion"] = json!(kind.api_version());
        object["kind"] = json!(kind.kind);
    }
    Ok(objects)
}
