//! `tidings._codec`: the thin PyO3 binding of `tidings-codec`.
//!
//! Conversions and exceptions only; the rendering lives in the plain crate.
//! Rendering borrows the callers' `bytes` buffers (kept alive by the references
//! held here) and runs with the GIL released.

use std::convert::Infallible;

use pyo3::create_exception;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PySequence, PyString, PyTuple};

use tidings_codec::otlp::{self, Attribute, Attributes, EndedSpan};
use tidings_codec::{ChunkError, CodecError as RustError, ErrorKind, Profile, RenderOptions};

create_exception!(
    tidings._codec,
    CodecError,
    PyValueError,
    "A payload could not be rendered; `.index` is the offending event's position (None for option errors)."
);
create_exception!(
    tidings._codec,
    UnknownProfileError,
    CodecError,
    "The profile name is not known."
);
create_exception!(
    tidings._codec,
    InvalidOptionError,
    CodecError,
    "A render option is invalid."
);
create_exception!(
    tidings._codec,
    DecodeError,
    CodecError,
    "The bytes are not a canonical tidings.v1.Event."
);
create_exception!(
    tidings._codec,
    InvalidJsonError,
    CodecError,
    "An input/output the profile embeds or reads is not valid JSON."
);
create_exception!(
    tidings._codec,
    UnsupportedEventError,
    CodecError,
    "The profile does not render this event type."
);
create_exception!(
    tidings._codec,
    TooLargeError,
    CodecError,
    "The event is larger than max_event_bytes."
);

/// The one place a Rust error becomes a Python exception.
fn to_py(py: Python<'_>, e: RustError) -> PyErr {
    let message = e.to_string();
    let err = match e.kind() {
        ErrorKind::UnknownProfile => UnknownProfileError::new_err(message),
        ErrorKind::InvalidOption => InvalidOptionError::new_err(message),
        ErrorKind::Decode => DecodeError::new_err(message),
        ErrorKind::InvalidJson => InvalidJsonError::new_err(message),
        ErrorKind::UnsupportedEvent => UnsupportedEventError::new_err(message),
        ErrorKind::TooLarge => TooLargeError::new_err(message),
    };
    if let Err(set) = err.value(py).setattr("index", e.index()) {
        return set;
    }
    err
}

fn parse_profile(py: Python<'_>, name: &str) -> PyResult<Profile> {
    name.parse().map_err(|e| to_py(py, e))
}

fn invalid_option(py: Python<'_>, message: String) -> PyErr {
    to_py(py, RustError::new(ErrorKind::InvalidOption, None, message))
}

/// The option names `Renderer` and `render` take.
const OPTION_NAMES: [&str; 8] = [
    "timezone",
    "ce_source",
    "tencent_event_name",
    "tencent_bucket_field",
    "tencent_object_field",
    "max_event_bytes",
    "extensions",
    "threads",
];

/// Builds a renderer from a profile name and keyword options. The profile is
/// checked first; any problem with the options (an unknown name, a text option
/// that is not a `str`, a count that is not a non-negative `int`) is an
/// `InvalidOptionError`; so is a flag that is not a `bool`.
fn build(
    py: Python<'_>,
    profile: &str,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<tidings_codec::Renderer> {
    let profile = parse_profile(py, profile)?;
    let mut o = RenderOptions::default();
    let Some(options) = options else {
        return tidings_codec::Renderer::new(profile, o).map_err(|e| to_py(py, e));
    };
    let mut unknown = Vec::new();
    for (key, value) in options.iter() {
        let name: String = match key.extract() {
            Ok(name) => name,
            Err(_) => return Err(invalid_option(py, format!("invalid option name {key}"))),
        };
        let text = |slot: &mut String| -> PyResult<()> {
            match value.cast::<PyString>() {
                Ok(v) => {
                    *slot = v.to_str()?.to_owned();
                    Ok(())
                }
                Err(_) => Err(invalid_option(
                    py,
                    format!("option {name} must be a str, not {}", type_name(&value)),
                )),
            }
        };
        let count = |slot: &mut usize| -> PyResult<()> {
            let v = if value.is_instance_of::<PyInt>() && !value.is_instance_of::<PyBool>() {
                value
                    .extract::<u64>()
                    .ok()
                    .and_then(|v| usize::try_from(v).ok())
            } else {
                None
            };
            match v {
                Some(v) => {
                    *slot = v;
                    Ok(())
                }
                None => Err(invalid_option(
                    py,
                    format!(
                        "option {name} must be a non-negative int, not {}",
                        value.repr()?
                    ),
                )),
            }
        };
        let flag = |slot: &mut bool| -> PyResult<()> {
            match value.cast::<PyBool>() {
                Ok(v) => {
                    *slot = v.is_true();
                    Ok(())
                }
                Err(_) => Err(invalid_option(
                    py,
                    format!("option {name} must be a bool, not {}", type_name(&value)),
                )),
            }
        };
        match name.as_str() {
            "timezone" => text(&mut o.timezone)?,
            "ce_source" => text(&mut o.ce_source)?,
            "tencent_event_name" => text(&mut o.tencent_event_name)?,
            "tencent_bucket_field" => text(&mut o.tencent_bucket_field)?,
            "tencent_object_field" => text(&mut o.tencent_object_field)?,
            "max_event_bytes" => count(&mut o.max_event_bytes)?,
            "extensions" => flag(&mut o.extensions)?,
            "threads" => count(&mut o.threads)?,
            _ => unknown.push(name),
        }
    }
    if !unknown.is_empty() {
        return Err(invalid_option(
            py,
            format!(
                "unknown option(s) {} (known: {})",
                unknown.join(", "),
                OPTION_NAMES.join(", ")
            ),
        ));
    }
    tidings_codec::Renderer::new(profile, o).map_err(|e| to_py(py, e))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_owned())
}

fn item<'py>(index: usize, obj: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    obj.cast_into::<PyBytes>().map_err(|e| {
        let type_name = type_name(&e.into_inner());
        PyTypeError::new_err(format!("events[{index}] must be bytes, not {type_name}"))
    })
}

/// The `bytes` objects of a sequence, held so their buffers outlive the render.
fn collect_events<'py>(events: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyBytes>>> {
    if let Ok(list) = events.cast::<PyList>() {
        return list.iter().enumerate().map(|(i, o)| item(i, o)).collect();
    }
    if let Ok(tuple) = events.cast::<PyTuple>() {
        return tuple.iter().enumerate().map(|(i, o)| item(i, o)).collect();
    }
    let not_a_sequence = || {
        PyTypeError::new_err(format!(
            "events must be a sequence of bytes, not {}",
            type_name(events)
        ))
    };
    if events.is_instance_of::<PyBytes>() || events.is_instance_of::<PyString>() {
        return Err(not_a_sequence());
    }
    let seq = events.cast::<PySequence>().map_err(|_| not_a_sequence())?;
    let len = seq.len()?;
    (0..len).map(|i| item(i, seq.get_item(i)?)).collect()
}

/// Renders `events` with the GIL released and returns one `bytes` per event.
///
/// The codec's threads render chunk after chunk while this thread takes the
/// GIL for each finished chunk and copies its payloads into `bytes` objects,
/// so the copies (and the page faults of fresh memory) overlap the rendering,
/// and only a few chunks of payloads exist besides the `bytes` made so far.
fn render_batch<'py>(
    py: Python<'py>,
    renderer: &tidings_codec::Renderer,
    events: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let held = collect_events(events)?;
    let slices: Vec<&[u8]> = held.iter().map(|b| b.as_bytes()).collect();
    let mut objects: Vec<Py<PyBytes>> = Vec::with_capacity(slices.len());
    py.detach(|| {
        renderer.render_chunks(&slices, |payloads| {
            Python::attach(|py| {
                payloads.drain_each(|out| objects.push(PyBytes::new(py, out).unbind()));
            });
            Ok::<(), Infallible>(())
        })
    })
    .map_err(|e| match e {
        ChunkError::Codec(e) => to_py(py, e),
        ChunkError::Consumer(never) => match never {},
    })?;
    PyList::new(py, objects)
}

/// Renders batches of canonical events in one profile.
#[pyclass(frozen, module = "tidings._codec", name = "Renderer")]
struct Renderer {
    inner: tidings_codec::Renderer,
}

#[pymethods]
impl Renderer {
    #[new]
    #[pyo3(signature = (profile, **options))]
    fn new(py: Python<'_>, profile: &str, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        Ok(Renderer {
            inner: build(py, profile, options)?,
        })
    }

    /// Renders every event, or raises the error of the lowest failing index.
    fn render<'py>(
        &self,
        py: Python<'py>,
        events: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        render_batch(py, &self.inner, events)
    }

    /// CloudEvents binary mode: per event, the attribute (name, value) pairs and
    /// the data bytes.
    fn render_cloudevents_binary<'py>(
        &self,
        py: Python<'py>,
        events: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let held = collect_events(events)?;
        let slices: Vec<&[u8]> = held.iter().map(|b| b.as_bytes()).collect();
        let outs = py
            .detach(|| self.inner.render_cloudevents_binary(&slices))
            .map_err(|e| to_py(py, e))?;
        drop(slices);
        let items = outs
            .into_iter()
            .map(|ev| -> PyResult<Bound<'py, PyTuple>> {
                let attrs = PyList::new(py, ev.attributes)?;
                let data = PyBytes::new(py, &ev.data);
                PyTuple::new(py, [attrs.into_any(), data.into_any()])
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    /// Whether this renderer renders events of `event_type`: the profile's types,
    /// its extensions only with `extensions=True`.
    fn supports(&self, event_type: i64) -> bool {
        i32::try_from(event_type).is_ok_and(|t| self.inner.supports(t))
    }

    /// The profile name.
    #[getter]
    fn profile(&self) -> &'static str {
        self.inner.profile().name()
    }

    /// The content type of the payloads.
    #[getter]
    fn content_type(&self) -> &'static str {
        self.inner.profile().content_type()
    }

    /// The number of threads a large batch is rendered on.
    #[getter]
    fn threads(&self) -> usize {
        self.inner.threads()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let o = self.inner.options();
        let r = |s: &str| -> PyResult<String> { Ok(PyString::new(py, s).repr()?.to_string()) };
        Ok(format!(
            "Renderer({}, timezone={}, ce_source={}, tencent_event_name={}, \
             tencent_bucket_field={}, tencent_object_field={}, max_event_bytes={}, \
             extensions={}, threads={})",
            r(self.inner.profile().name())?,
            r(&o.timezone)?,
            r(&o.ce_source)?,
            r(&o.tencent_event_name)?,
            r(&o.tencent_bucket_field)?,
            r(&o.tencent_object_field)?,
            o.max_event_bytes,
            if o.extensions { "True" } else { "False" },
            o.threads
        ))
    }
}

/// Renders `events` in `profile` with the given options (see `Renderer`).
#[pyfunction]
#[pyo3(signature = (events, profile, **options))]
fn render<'py>(
    py: Python<'py>,
    events: &Bound<'py, PyAny>,
    profile: &str,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyList>> {
    let renderer = build(py, profile, options)?;
    render_batch(py, &renderer, events)
}

/// Whether `profile` renders events of `event_type` (a `tidings.v1.EventType`);
/// with `extensions=False`, only those its seed defines.
#[pyfunction]
#[pyo3(signature = (profile, event_type, *, extensions = true))]
fn supports(py: Python<'_>, profile: &str, event_type: i64, extensions: bool) -> PyResult<bool> {
    let profile = parse_profile(py, profile)?;
    Ok(i32::try_from(event_type)
        .is_ok_and(|t| profile.supports(t) && (extensions || !profile.is_extension(t))))
}

/// Whether `profile` renders `event_type` only as an extension (`extensions=True`).
#[pyfunction]
fn is_extension(py: Python<'_>, profile: &str, event_type: i64) -> PyResult<bool> {
    let profile = parse_profile(py, profile)?;
    Ok(i32::try_from(event_type).is_ok_and(|t| profile.is_extension(t)))
}

/// The content type of `profile`'s payloads.
#[pyfunction]
fn content_type(py: Python<'_>, profile: &str) -> PyResult<&'static str> {
    Ok(parse_profile(py, profile)?.content_type())
}

/// The profile names.
#[pyfunction]
fn profiles() -> Vec<&'static str> {
    Profile::ALL.iter().map(|p| p.name()).collect()
}

/// The number of threads of the shared pool that large batches use.
#[pyfunction]
fn threads(py: Python<'_>) -> usize {
    py.detach(tidings_codec::threads)
}

/// The version of the codec.
/// An attribute value: str, bool, int (64-bit), float, bytes, or a sequence of them.
fn attribute(value: &Bound<'_, PyAny>) -> PyResult<Attribute> {
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(Attribute::Str(s.to_str()?.to_owned()));
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(Attribute::Bool(b.is_true()));
    }
    if value.is_instance_of::<PyInt>() {
        return Ok(Attribute::Int(value.extract()?));
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        return Ok(Attribute::Float(f.value()));
    }
    if let Ok(b) = value.cast::<PyBytes>() {
        return Ok(Attribute::Bytes(b.as_bytes().to_vec()));
    }
    if let Ok(seq) = value.cast::<PySequence>() {
        let items = (0..seq.len()?)
            .map(|i| attribute(&seq.get_item(i)?))
            .collect::<PyResult<_>>()?;
        return Ok(Attribute::Array(items));
    }
    Err(PyTypeError::new_err(format!(
        "an attribute value must be str, bool, int, float, bytes or a sequence of them, not {}",
        type_name(value)
    )))
}

/// Keys and values in turn (`flat[0]` a key, `flat[1]` its value, ...).
fn attributes(flat: &Bound<'_, PyTuple>, from: usize) -> PyResult<Attributes> {
    (from..flat.len())
        .step_by(2)
        .map(|i| {
            let key: String = flat.get_item(i)?.extract()?;
            Ok((key, attribute(&flat.get_item(i + 1)?)?))
        })
        .collect()
}

/// Where the attributes start in `tidings.observe.spans.Ended`.
const ATTRIBUTES_AT: usize = 13;

fn ended_span(index: usize, obj: &Bound<'_, PyAny>) -> PyResult<EndedSpan> {
    let t = obj.cast::<PyTuple>().map_err(|_| {
        PyTypeError::new_err(format!(
            "spans[{index}] must be a tuple, not {}",
            type_name(obj)
        ))
    })?;
    if t.len() < ATTRIBUTES_AT || (t.len() - ATTRIBUTES_AT) % 2 != 0 {
        return Err(PyValueError::new_err(format!(
            "spans[{index}] has {} items: not an ended span",
            t.len()
        )));
    }
    let exception = match t.get_item(10)?.extract::<Option<String>>()? {
        None => None,
        Some(kind) => Some((kind, t.get_item(11)?.extract()?, t.get_item(12)?.extract()?)),
    };
    Ok(EndedSpan {
        name: t.get_item(0)?.extract()?,
        kind: t.get_item(1)?.extract()?,
        traceparent: t.get_item(2)?.extract()?,
        tracestate: t.get_item(3)?.extract()?,
        trace_id: t.get_item(4)?.extract()?,
        parent_id: t.get_item(5)?.extract()?,
        span_id: t.get_item(6)?.extract()?,
        start_ns: t.get_item(7)?.extract()?,
        end_ns: t.get_item(8)?.extract()?,
        error: t.get_item(9)?.extract()?,
        exception,
        attributes: attributes(t, ATTRIBUTES_AT)?,
    })
}

/// The OTLP `ExportTraceServiceRequest` bytes of ended spans (`tidings.observe.spans.Ended`),
/// all of one resource (its attributes' keys and values in turn) and one scope.
#[pyfunction]
fn encode_spans<'py>(
    py: Python<'py>,
    resource: &Bound<'py, PyTuple>,
    scope: &str,
    spans: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let resource = attributes(resource, 0)?;
    let seq = spans.cast::<PySequence>().map_err(|_| {
        PyTypeError::new_err(format!(
            "spans must be a sequence, not {}",
            type_name(spans)
        ))
    })?;
    let spans = (0..seq.len()?)
        .map(|i| ended_span(i, &seq.get_item(i)?))
        .collect::<PyResult<Vec<_>>>()?;
    let out = py
        .detach(|| otlp::encode_spans(resource, scope, spans))
        .map_err(PyValueError::new_err)?;
    Ok(PyBytes::new(py, &out))
}

#[pyfunction]
fn version() -> &'static str {
    tidings_codec::VERSION
}

#[pymodule]
fn _codec(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Renderer>()?;
    for f in [
        wrap_pyfunction!(render, m)?,
        wrap_pyfunction!(supports, m)?,
        wrap_pyfunction!(is_extension, m)?,
        wrap_pyfunction!(content_type, m)?,
        wrap_pyfunction!(profiles, m)?,
        wrap_pyfunction!(threads, m)?,
        wrap_pyfunction!(version, m)?,
        wrap_pyfunction!(encode_spans, m)?,
    ] {
        m.add_function(f)?;
    }
    let base = py.get_type::<CodecError>();
    base.setattr("index", py.None())?;
    m.add("CodecError", base)?;
    m.add("UnknownProfileError", py.get_type::<UnknownProfileError>())?;
    m.add("InvalidOptionError", py.get_type::<InvalidOptionError>())?;
    m.add("DecodeError", py.get_type::<DecodeError>())?;
    m.add("InvalidJsonError", py.get_type::<InvalidJsonError>())?;
    m.add(
        "UnsupportedEventError",
        py.get_type::<UnsupportedEventError>(),
    )?;
    m.add("TooLargeError", py.get_type::<TooLargeError>())?;
    m.add("__version__", tidings_codec::VERSION)?;
    Ok(())
}
