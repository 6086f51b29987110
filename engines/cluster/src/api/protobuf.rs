//! Decoding of the Kubernetes protobuf bodies kubectl's typed clients send
//! (`kubectl create namespace|configmap|secret|deployment`, `kubectl
//! expose`): the `k8s\0` envelope around a `runtime.Unknown`, and the
//! objects those commands build, decoded into the same JSON as any other
//! request.
//!
//! Only the fields those generators set are mapped. A body carrying any
//! other non-empty field is refused with 415 rather than stored with a field
//! silently lost, so the student sees a clear error instead of a wrong
//! object.

use serde_json::{Map, Value, json};

/// The prefix of every Kubernetes protobuf body.
const MAGIC: &[u8] = b"k8s\x00";

/// How a field's bytes become JSON.
#[derive(Debug, Clone, Copy)]
enum Field {
    Text,
    Int,
    Bool,
    Message(&'static Schema),
    Repeated(&'static Schema),
    RepeatedText,
    TextMap,
    BytesMap,
    IntOrString,
}

/// A message: field number, JSON name, encoding.
type Schema = [(u64, &'static str, Field)];

static OBJECT_META: &Schema = &[
    (1, "name", Field::Text),
    (2, "generateName", Field::Text),
    (3, "namespace", Field::Text),
    (11, "labels", Field::TextMap),
    (12, "annotations", Field::TextMap),
];
static LABEL_SELECTOR: &Schema = &[(1, "matchLabels", Field::TextMap)];
static CONTAINER_PORT: &Schema = &[
    (1, "name", Field::Text),
    (2, "hostPort", Field::Int),
    (3, "containerPort", Field::Int),
    (4, "protocol", Field::Text),
];
static ENV_VAR: &Schema = &[(1, "name", Field::Text), (2, "value", Field::Text)];
static EMPTY: &Schema = &[];
static CONTAINER: &Schema = &[
    (1, "name", Field::Text),
    (2, "image", Field::Text),
    (3, "command", Field::RepeatedText),
    (4, "args", Field::RepeatedText),
    (5, "workingDir", Field::Text),
    (6, "ports", Field::Repeated(CONTAINER_PORT)),
    (7, "env", Field::Repeated(ENV_VAR)),
    (8, "resources", Field::Message(EMPTY)),
    (14, "imagePullPolicy", Field::Text),
];
static POD_SPEC: &Schema = &[
    (2, "containers", Field::Repeated(CONTAINER)),
    (3, "restartPolicy", Field::Text),
];
static POD_TEMPLATE: &Schema = &[
    (1, "metadata", Field::Message(OBJECT_META)),
    (2, "spec", Field::Message(POD_SPEC)),
];
static DEPLOYMENT_SPEC: &Schema = &[
    (1, "replicas", Field::Int),
    (2, "selector", Field::Message(LABEL_SELECTOR)),
    (3, "template", Field::Message(POD_TEMPLATE)),
    (4, "strategy", Field::Message(EMPTY)),
];
static SERVICE_PORT: &Schema = &[
    (1, "name", Field::Text),
    (2, "protocol", Field::Text),
    (3, "port", Field::Int),
    (4, "targetPort", Field::IntOrString),
    (5, "nodePort", Field::Int),
];
static SERVICE_SPEC: &Schema = &[
    (1, "ports", Field::Repeated(SERVICE_PORT)),
    (2, "selector", Field::TextMap),
    (3, "clusterIP", Field::Text),
    (4, "type", Field::Text),
];
static NAMESPACE: &Schema = &[
    (1, "metadata", Field::Message(OBJECT_META)),
    (2, "spec", Field::Message(EMPTY)),
    (3, "status", Field::Message(EMPTY)),
];
static CONFIG_MAP: &Schema = &[
    (1, "metadata", Field::Message(OBJECT_META)),
    (2, "data", Field::TextMap),
    (3, "binaryData", Field::BytesMap),
    (4, "immutable", Field::Bool),
];
static SECRET: &Schema = &[
    (1, "metadata", Field::Message(OBJECT_META)),
    (2, "data", Field::BytesMap),
    (3, "type", Field::Text),
    (4, "stringData", Field::TextMap),
    (5, "immutable", Field::Bool),
];
static DEPLOYMENT: &Schema = &[
    (1, "metadata", Field::Message(OBJECT_META)),
    (2, "spec", Field::Message(DEPLOYMENT_SPEC)),
    (3, "status", Field::Message(EMPTY)),
];
static SERVICE: &Schema = &[
    (1, "metadata", Field::Message(OBJECT_META)),
    (2, "spec", Field::Message(SERVICE_SPEC)),
    (3, "status", Field::Message(EMPTY)),
];

/// Why a protobuf body was not decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtobufError {
    #[error("the body does not start with the Kubernetes protobuf envelope")]
    NoEnvelope,
    #[error("the protobuf body is truncated or malformed")]
    Malformed,
    #[error("protobuf bodies of kind {0} are not supported; send JSON")]
    UnsupportedKind(String),
    #[error("field {field} of the protobuf body is not supported; send JSON")]
    UnsupportedField { field: String },
}

/// Decodes an enveloped object into JSON with `apiVersion` and `kind`.
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    let unknown = body.strip_prefix(MAGIC).ok_or(ProtobufError::NoEnvelope)?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for (number, value) in fields(unknown)? {
        match (number, value) {
            (1, Wire::Bytes(type_meta)) => {
                for (n, v) in fields(type_meta)? {
                    match (n, v) {
                        (1, Wire::Bytes(text)) => api_version = utf8(text)?,
                        (2, Wire::Bytes(text)) => kind = utf8(text)?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(bytes)) => raw = bytes,
            _ => {}
        }
    }
    let schema = match kind.as_str() {
        "Namespace" => NAMESPACE,
        "ConfigMap" => CONFIG_MAP,
        "Secret" => SECRET,
        "Deployment" => DEPLOYMENT,
        "Service" => SERVICE,
        _ => return Err(ProtobufError::UnsupportedKind(kind)),
    };
    let mut object = message(raw, schema, &kind)?;
    object["apiVersion"] = json!(api_version);
    object["kind"] = json!(kind);
    Ok(object)
}

/// One decoded wire value.
#[derive(Debug, Clone, Copy)]
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

fn fields(mut bytes: &[u8]) -> Result<Vec<(u64, Wire<'_>)>, ProtobufError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes)?;
        let value = match key & 7 {
            0 => Wire::Varint(varint(&mut bytes)?),
            2 => {
                let len =
                    usize::try_from(varint(&mut bytes)?).map_err(|_| ProtobufError::Malformed)?;
                let (value, rest) = bytes
                    .split_at_checked(len)
                    .ok_or(ProtobufError::Malformed)?;
                bytes = rest;
                Wire::Bytes(value)
            }
            1 => skip(&mut bytes, 8)?,
            5 => skip(&mut bytes, 4)?,
            _ => return Err(ProtobufError::Malformed),
        };
        out.push((key >> 3, value));
    }
    Ok(out)
}

fn skip<'a>(bytes: &mut &'a [u8], len: usize) -> Result<Wire<'a>, ProtobufError> {
    *bytes = bytes.get(len..).ok_or(ProtobufError::Malformed)?;
    Ok(Wire::Fixed)
}

fn varint(bytes: &mut &[u8]) -> Result<u64, ProtobufError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first().ok_or(ProtobufError::Malformed)?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(ProtobufError::Malformed)
}

fn message(bytes: &[u8], schema: &Schema, path: &str) -> Result<Value, ProtobufError> {
    let mut object = Map::new();
    for (number, wire) in fields(bytes)? {
        let Some((_, name, field)) = schema.iter().find(|(n, _, _)| *n == number) else {
            // gogo-protobuf writes every non-pointer field, so unset ones
            // arrive as zeros; only a set field would be lost.
            if is_zero(wire) {
                continue;
            }
            return Err(ProtobufError::UnsupportedField {
                field: format!("{path}#{number}"),
            });
        };
        let path = format!("{path}.{name}");
        add(&mut object, name, *field, wire, &path)?;
    }
    // Unset scalars and messages arrive as zeros; JSON leaves them out, so
    // the server's defaults apply. `replicas` is a pointer in Go: a zero
    // there was set on purpose.
    object.retain(|name, value| {
        let zero = matches!(value, Value::String(s) if s.is_empty())
            || *value == json!(false)
            || (*value == json!(0) && name != "replicas")
            || matches!(value, Value::Object(map) if map.is_empty());
        !zero
    });
    Ok(Value::Object(object))
}

/// A zero number, empty bytes, or a message of zeros (an unset timestamp).
fn is_zero(wire: Wire<'_>) -> bool {
    match wire {
        Wire::Varint(value) => value == 0,
        Wire::Bytes(bytes) => {
            bytes.is_empty() || fields(bytes).is_ok_and(|all| all.iter().all(|(_, w)| is_zero(*w)))
        }
        Wire::Fixed => false,
    }
}

fn add(
    object: &mut Map<String, Value>,
    name: &str,
    field: Field,
    wire: Wire<'_>,
    path: &str,
) -> Result<(), ProtobufError> {
    let bytes = || match wire {
        Wire::Bytes(b) => Ok(b),
        _ => Err(ProtobufError::Malformed),
    };
    let number = || match wire {
        Wire::Varint(v) => Ok(v),
        _ => Err(ProtobufError::Malformed),
    };
    match field {
        Field::Text => {
            object.insert(name.into(), json!(utf8(bytes()?)?));
        }
        // int32 fields arrive as two's-complement varints.
        Field::Int => {
            object.insert(
                name.into(),
                json!(i64::from_ne_bytes(number()?.to_ne_bytes())),
            );
        }
        Field::Bool => {
            object.insert(name.into(), json!(number()? != 0));
        }
        Field::Message(schema) => {
            object.insert(name.into(), message(bytes()?, schema, path)?);
        }
        Field::Repeated(schema) => {
            let item = message(bytes()?, schema, path)?;
            push(object, name, item);
        }
        Field::RepeatedText => push(object, name, json!(utf8(bytes()?)?)),
        Field::TextMap | Field::BytesMap => {
            let (key, value) = map_entry(bytes()?, matches!(field, Field::BytesMap))?;
            let map = object.entry(name).or_insert_with(|| json!({}));
            if let Some(map) = map.as_object_mut() {
                map.insert(key, value);
            }
        }
        Field::IntOrString => {
            let decoded = message(
                bytes()?,
                &[
                    (1, "type", Field::Int),
                    (2, "intVal", Field::Int),
                    (3, "strVal", Field::Text),
                ],
                path,
            )?;
            let value = match decoded.get("type").and_then(Value::as_i64) {
                Some(1) => decoded.get("strVal").cloned().unwrap_or(json!("")),
                _ => decoded.get("intVal").cloned().unwrap_or(json!(0)),
            };
            object.insert(name.into(), value);
        }
    }
    Ok(())
}

fn push(object: &mut Map<String, Value>, name: &str, item: Value) {
    if let Some(items) = object
        .entry(name)
        .or_insert_with(|| json!([]))
        .as_array_mut()
    {
        items.push(item);
    }
}

fn map_entry(bytes: &[u8], binary: bool) -> Result<(String, Value), ProtobufError> {
    let (mut key, mut value) = (String::new(), json!(""));
    for (number, wire) in fields(bytes)? {
        match (number, wire) {
            (1, Wire::Bytes(k)) => key = utf8(k)?,
            (2, Wire::Bytes(v)) if binary => value = json!(crate::objects::base64_encode(v)),
            (2, Wire::Bytes(v)) => value = json!(utf8(v)?),
            _ => return Err(ProtobufError::Malformed),
        }
    }
    Ok((key, value))
}

fn utf8(bytes: &[u8]) -> Result<String, ProtobufError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| ProtobufError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn length_delimited(number: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![(number << 3) | 2, u8::try_from(payload.len()).unwrap()];
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn decodes_an_enveloped_namespace() {
        let meta = length_delimited(1, b"lessons");
        let namespace = length_delimited(1, &meta);
        let mut type_meta = length_delimited(1, b"v1");
        type_meta.extend(length_delimited(2, b"Namespace"));
        let mut body = MAGIC.to_vec();
        body.extend(length_delimited(1, &type_meta));
        body.extend(length_delimited(2, &namespace));
        let decoded = decode(&body).unwrap();
        assert_eq!(
            decoded,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lessons"}})
        );
    }

    #[test]
    fn unknown_fields_and_garbage_are_refused() {
        assert_eq!(decode(b"{}"), Err(ProtobufError::NoEnvelope));
        assert_eq!(decode(b"k8s\x00\x0a\x05ab"), Err(ProtobufError::Malformed));
        let meta = length_delimited(9, b"\x08\x01");
        let mut type_meta = length_delimited(1, b"v1");
        type_meta.extend(length_delimited(2, b"ConfigMap"));
        let mut body = MAGIC.to_vec();
        body.extend(length_delimited(1, &type_meta));
        body.extend(length_delimited(2, &meta));
        assert!(matches!(
            decode(&body),
            Err(ProtobufError::UnsupportedField { .. })
        ));
    }
}
