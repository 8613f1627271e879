//! OpenTelemetry spans encoded as an OTLP `ExportTraceServiceRequest`.
//!
//! The messages below are written by hand from the OTLP specification
//! (`opentelemetry/proto/trace/v1/trace.proto` and its imports), with only the
//! fields tidings sets; their tags and types are the specification's. The Python
//! SDK's own encoder costs ~50 µs a span (a message object per field); this
//! costs about two, most of it reading the Python tuples (a microbenchmark
//! of 512-span batches), which is what lets a server send every span.

use prost::Message;

/// `opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct ExportTraceServiceRequest {
    #[prost(message, repeated, tag = "1")]
    resource_spans: Vec<ResourceSpans>,
}

#[derive(Clone, PartialEq, Message)]
struct ResourceSpans {
    #[prost(message, optional, tag = "1")]
    resource: Option<Resource>,
    #[prost(message, repeated, tag = "2")]
    scope_spans: Vec<ScopeSpans>,
}

#[derive(Clone, PartialEq, Message)]
struct Resource {
    #[prost(message, repeated, tag = "1")]
    attributes: Vec<KeyValue>,
}

#[derive(Clone, PartialEq, Message)]
struct ScopeSpans {
    #[prost(message, optional, tag = "1")]
    scope: Option<InstrumentationScope>,
    #[prost(message, repeated, tag = "2")]
    spans: Vec<Span>,
}

#[derive(Clone, PartialEq, Message)]
struct InstrumentationScope {
    #[prost(string, tag = "1")]
    name: String,
}

#[derive(Clone, PartialEq, Message)]
struct Span {
    #[prost(bytes = "vec", tag = "1")]
    trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    span_id: Vec<u8>,
    #[prost(string, tag = "3")]
    trace_state: String,
    #[prost(bytes = "vec", tag = "4")]
    parent_span_id: Vec<u8>,
    #[prost(string, tag = "5")]
    name: String,
    #[prost(int32, tag = "6")]
    kind: i32,
    #[prost(fixed64, tag = "7")]
    start_time_unix_nano: u64,
    #[prost(fixed64, tag = "8")]
    end_time_unix_nano: u64,
    #[prost(message, repeated, tag = "9")]
    attributes: Vec<KeyValue>,
    #[prost(message, repeated, tag = "11")]
    events: Vec<Event>,
    #[prost(message, optional, tag = "15")]
    status: Option<Status>,
    #[prost(fixed32, tag = "16")]
    flags: u32,
}

#[derive(Clone, PartialEq, Message)]
struct Event {
    #[prost(fixed64, tag = "1")]
    time_unix_nano: u64,
    #[prost(string, tag = "2")]
    name: String,
    #[prost(message, repeated, tag = "3")]
    attributes: Vec<KeyValue>,
}

#[derive(Clone, PartialEq, Message)]
struct Status {
    #[prost(string, tag = "2")]
    message: String,
    #[prost(int32, tag = "3")]
    code: i32,
}

/// `opentelemetry.proto.common.v1.KeyValue`.
#[derive(Clone, PartialEq, Message)]
pub struct KeyValue {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(message, optional, tag = "2")]
    value: Option<AnyValue>,
}

#[derive(Clone, PartialEq, Message)]
struct AnyValue {
    #[prost(oneof = "Value", tags = "1, 2, 3, 4, 5, 7")]
    value: Option<Value>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum Value {
    #[prost(string, tag = "1")]
    String(String),
    #[prost(bool, tag = "2")]
    Bool(bool),
    #[prost(int64, tag = "3")]
    Int(i64),
    #[prost(double, tag = "4")]
    Double(f64),
    #[prost(message, tag = "5")]
    Array(ArrayValue),
    #[prost(bytes = "vec", tag = "7")]
    Bytes(Vec<u8>),
}

#[derive(Clone, PartialEq, Message)]
struct ArrayValue {
    #[prost(message, repeated, tag = "1")]
    values: Vec<AnyValue>,
}

/// An attribute value, as OpenTelemetry's API allows them.
#[derive(Debug, Clone, PartialEq)]
pub enum Attribute {
    /// A string.
    Str(String),
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// A double.
    Float(f64),
    /// Bytes.
    Bytes(Vec<u8>),
    /// A homogeneous sequence of the above.
    Array(Vec<Attribute>),
}

impl Attribute {
    fn any(self) -> AnyValue {
        let value = match self {
            Attribute::Str(s) => Value::String(s),
            Attribute::Bool(b) => Value::Bool(b),
            Attribute::Int(i) => Value::Int(i),
            Attribute::Float(f) => Value::Double(f),
            Attribute::Bytes(b) => Value::Bytes(b),
            Attribute::Array(items) => Value::Array(ArrayValue {
                values: items.into_iter().map(Attribute::any).collect(),
            }),
        };
        AnyValue { value: Some(value) }
    }
}

/// One attribute: its key and value.
pub type Attributes = Vec<(String, Attribute)>;

fn key_values(attributes: Attributes) -> Vec<KeyValue> {
    attributes
        .into_iter()
        .map(|(key, value)| KeyValue {
            key,
            value: Some(value.any()),
        })
        .collect()
}

/// One ended span, as tidings records it (`tidings.observe.spans.Ended`).
#[derive(Debug, Clone, PartialEq)]
pub struct EndedSpan {
    /// Its name.
    pub name: String,
    /// OpenTelemetry API's `SpanKind` value (INTERNAL 0 … CONSUMER 4).
    pub kind: i32,
    /// The W3C `traceparent` its trace continues, or empty for a trace begun here.
    pub traceparent: String,
    /// The W3C `tracestate` going with it.
    pub tracestate: String,
    /// A trace begun here (used when `traceparent` is empty).
    pub trace_id: u128,
    /// Its parent's span id when the parent is a span here; else 0.
    pub parent_id: u64,
    /// Its own span id.
    pub span_id: u64,
    /// When it started, in ns since the epoch.
    pub start_ns: u64,
    /// When it ended, in ns since the epoch.
    pub end_ns: u64,
    /// Its status is ERROR with this description; UNSET when None.
    pub error: Option<String>,
    /// An exception that ended it: type, message, when (ns).
    pub exception: Option<(String, String, u64)>,
    /// Its attributes.
    pub attributes: Attributes,
}

/// Trace id and span id of W3C `traceparent` text, if it is valid.
fn parse_traceparent(text: &str) -> Option<(u128, u64)> {
    let mut parts = text.split('-');
    let version = parts.next()?;
    let trace = parts.next()?;
    let span = parts.next()?;
    let flags = parts.next()?;
    let lower_hex = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    // Version ff is invalid; version 00 has exactly four fields.
    if version.len() != 2 || !lower_hex(version) || version == "ff" {
        return None;
    }
    if version == "00" && parts.next().is_some() {
        return None;
    }
    if trace.len() != 32 || span.len() != 16 || flags.len() != 2 {
        return None;
    }
    if !(lower_hex(trace) && lower_hex(span) && lower_hex(flags)) {
        return None;
    }
    let trace_id = u128::from_str_radix(trace, 16).ok()?;
    let span_id = u64::from_str_radix(span, 16).ok()?;
    (trace_id != 0 && span_id != 0).then_some((trace_id, span_id))
}

// SpanFlags: whether the parent is remote is known, and whether it is.
const HAS_IS_REMOTE: u32 = 0x100;
const IS_REMOTE: u32 = 0x200;

fn span(s: EndedSpan) -> Result<Span, String> {
    let (trace_id, parent, remote) = if s.traceparent.is_empty() {
        (s.trace_id, s.parent_id, false)
    } else {
        let (trace_id, remote_id) = parse_traceparent(&s.traceparent)
            .ok_or_else(|| format!("span {:?}: invalid traceparent {:?}", s.name, s.traceparent))?;
        if s.parent_id != 0 {
            (trace_id, s.parent_id, false)
        } else {
            (trace_id, remote_id, true)
        }
    };
    let events = match s.exception {
        None => Vec::new(),
        Some((kind, message, at)) => vec![Event {
            time_unix_nano: at,
            name: "exception".to_owned(),
            attributes: key_values(vec![
                ("exception.type".to_owned(), Attribute::Str(kind)),
                ("exception.message".to_owned(), Attribute::Str(message)),
            ]),
        }],
    };
    let status = match s.error {
        None => Status::default(),
        Some(message) => Status { message, code: 2 },
    };
    Ok(Span {
        trace_id: trace_id.to_be_bytes().to_vec(),
        span_id: s.span_id.to_be_bytes().to_vec(),
        trace_state: s.tracestate,
        parent_span_id: if parent == 0 {
            Vec::new()
        } else {
            parent.to_be_bytes().to_vec()
        },
        name: s.name,
        kind: s.kind + 1, // the protocol's kinds count from UNSPECIFIED = 0
        start_time_unix_nano: s.start_ns,
        end_time_unix_nano: s.end_ns,
        attributes: key_values(s.attributes),
        events,
        status: Some(status),
        flags: HAS_IS_REMOTE | if remote { IS_REMOTE } else { 0 },
    })
}

/// The OTLP request bytes of `spans`, all of one resource and one instrumentation scope.
///
/// Fails, naming the span, if a span's `traceparent` is not valid W3C text.
pub fn encode_spans(
    resource: Attributes,
    scope: &str,
    spans: Vec<EndedSpan>,
) -> Result<Vec<u8>, String> {
    let spans = spans.into_iter().map(span).collect::<Result<Vec<_>, _>>()?;
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: key_values(resource),
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: scope.to_owned(),
                }),
                spans,
            }],
        }],
    };
    Ok(request.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_is_read_as_w3c_says() {
        let ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            parse_traceparent(ok),
            Some((0x4bf92f3577b34da6a3ce929d0e0e4736, 0x00f067aa0ba902b7))
        );
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-00",
        ] {
            assert_eq!(parse_traceparent(bad), None, "{bad}");
        }
        // A later version may add fields.
        let later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz";
        assert!(parse_traceparent(later).is_some());
    }

    #[test]
    fn a_remote_parent_is_flagged_and_a_local_one_is_not() {
        let base = EndedSpan {
            name: "s".into(),
            kind: 3,
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
            tracestate: String::new(),
            trace_id: 0,
            parent_id: 0,
            span_id: 7,
            start_ns: 1,
            end_ns: 2,
            error: None,
            exception: None,
            attributes: Vec::new(),
        };
        let remote = span(base.clone()).unwrap();
        assert_eq!(remote.flags, HAS_IS_REMOTE | IS_REMOTE);
        assert_eq!(remote.parent_span_id, 0x00f067aa0ba902b7u64.to_be_bytes());
        assert_eq!(remote.kind, 4);
        let local = span(EndedSpan {
            parent_id: 9,
            ..base.clone()
        })
        .unwrap();
        assert_eq!(local.flags, HAS_IS_REMOTE);
        assert_eq!(local.parent_span_id, 9u64.to_be_bytes());
        let bad = EndedSpan {
            traceparent: "junk".into(),
            ..base
        };
        assert!(span(bad).unwrap_err().contains("invalid traceparent"));
    }
}
