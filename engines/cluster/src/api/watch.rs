//! Watch streams: newline-delimited JSON events (`{"type":"ADDED","object":…}`)
//! over a chunked response, resumable from any `resourceVersion` still in the
//! store's history. A watch from too old a version gets the `410 Expired`
//! ERROR event that makes clients list again.
//!
//! Selectors are applied to each event's object as it is now: an object
//! that stops matching a label selector is not announced as DELETED to that
//! watch (a real API server does announce it). kubectl's own watches
//! (`get -w`, `rollout status`) select by name or not at all, which this
//! does not affect; keeping each object's previous state in the watch
//! history would remove the difference.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;

use super::resource::{filtered_list, selector_param};
use super::selector::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::{Request, table};
use crate::cluster::ClusterState;
use crate::resources::ResourceKind;
use crate::store::{StoreError, WatchEvent};

/// Longest a watch stays open when the client names no timeout (the API
/// server's default lies between 30 and 60 minutes).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

/// What a watch delivers: which kind, where, which objects, in which form.
struct WatchFilter {
    kind: &'static ResourceKind,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
    as_table: bool,
}

impl WatchFilter {
    fn wants(&self, event: &WatchEvent) -> bool {
        event.plural == self.kind.plural
            && self
                .namespace
                .as_ref()
                .is_none_or(|ns| *ns == event.namespace)
            && self.labels.matches(&event.object)
            && self.fields.matches(&event.object)
    }

    fn encode(&self, event_type: &str, object: &Value, revision: u64) -> Bytes {
        let object = if self.as_table {
            table::table(self.kind, std::slice::from_ref(object), revision, "")
        } else {
            object.clone()
        };
        let mut line =
            serde_json::to_vec(&json!({"type": event_type, "object": object})).unwrap_or_default();
        line.push(b'\n');
        Bytes::from(line)
    }
}

struct WatchState {
    filter: WatchFilter,
    pending: VecDeque<Bytes>,
    receiver: Option<broadcast::Receiver<WatchEvent>>,
    deadline: Instant,
}

pub fn serve(cluster: &Arc<ClusterState>, request: &Request) -> Result<Response, ApiError> {
    let filter = WatchFilter {
        kind: request.target.kind,
        namespace: request.target.namespace.clone(),
        labels: selector_param(request, "labelSelector", LabelSelector::parse)?,
        fields: selector_param(request, "fieldSelector", FieldSelector::parse)?,
        as_table: request.wants_table(),
    };
    let timeout = request
        .query
        .get("timeoutSeconds")
        .and_then(|t| t.parse().ok())
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    let (pending, receiver) = initial_events(cluster, request, &filter)?;
    let state = WatchState {
        filter,
        pending,
        receiver,
        deadline: Instant::now() + timeout,
    };
    let stream = futures::stream::unfold(state, next_chunk).map(Ok::<_, Infallible>);
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response())
}

/// The events to send before live ones: the current objects as ADDED when
/// no version (or "0") is given, else the history after that version.
fn initial_events(
    cluster: &ClusterState,
    request: &Request,
    filter: &WatchFilter,
) -> Result<(VecDeque<Bytes>, Option<broadcast::Receiver<WatchEvent>>), ApiError> {
    let requested = request
        .query
        .get("resourceVersion")
        .map(String::as_str)
        .unwrap_or("");
    let mut pending = VecDeque::new();
    let since = match requested {
        "" | "0" => {
            let (items, revision) = filtered_list(cluster, request)?;
            pending.extend(items.iter().map(|o| filter.encode("ADDED", o, revision)));
            revision
        }
        text => text.parse().map_err(|_| {
            ApiError::bad_request(format!("invalid resourceVersion {text:?}: not a number"))
        })?,
    };
    match cluster.store.watch_since(since) {
        Ok((past, receiver)) => {
            let wanted = past.iter().filter(|e| filter.wants(e));
            pending
                .extend(wanted.map(|e| filter.encode(e.kind.wire_name(), &e.object, e.revision)));
            Ok((pending, Some(receiver)))
        }
        Err(gone @ StoreError::Gone { .. }) => {
            let status = ApiError::from(gone).to_status();
            let mut line =
                serde_json::to_vec(&json!({"type": "ERROR", "object": status})).unwrap_or_default();
            line.push(b'\n');
            pending.push_back(Bytes::from(line));
            Ok((pending, None))
        }
        Err(other) => Err(other.into()),
    }
}

async fn next_chunk(mut state: WatchState) -> Option<(Bytes, WatchState)> {
    if let Some(chunk) = state.pending.pop_front() {
        return Some((chunk, state));
    }
    loop {
        let receiver = state.receiver.as_mut()?;
        let event = tokio::time::timeout_at(state.deadline, receiver.recv())
            .await
            .ok()?;
        match event {
            Ok(event) if state.filter.wants(&event) => {
                let chunk =
                    state
                        .filter
                        .encode(event.kind.wire_name(), &event.object, event.revision);
                return Some((chunk, state));
            }
            Ok(_) => continue,
            // A watcher too slow for the event rate is closed; it re-lists
            // and watches again, as with a real API server.
            Err(RecvError::Lagged(_) | RecvError::Closed) => return None,
        }
    }
}
