//! `tidings-codec` renders canonical `tidings.v1.Event` bytes into the exact
//! payload bytes of each profile of `docs/profiles.md`.
//!
//! ```
//! use tidings_codec::{Profile, RenderOptions, Renderer};
//!
//! let renderer = Renderer::new(Profile::Thain, RenderOptions::default()).unwrap();
//! // EXECUTION_SUCCEEDED (type 11) of workflow "w", execution "e".
//! let event: &[u8] = b"\x10\x0b\x3a\x01w\x4a\x01e";
//! let out = renderer.render(&[event]).unwrap();
//! assert_eq!(out[0], b"flowId=w&flowExecutionId=e&code=2");
//! ```
//!
//! A batch renders whole or fails with the error of its lowest failing event;
//! batches of [`PARALLEL_THRESHOLD`] events or more are split into chunks rendered
//! on a rayon pool. Nothing here panics on any input.

// Two small `unsafe` blocks, each allowed where it is: the SSE2 load of the
// JSON string scanner (escape.rs) and the ASCII fast path of the decoder (wire.rs).
#![deny(unsafe_code)]

mod error;
mod escape;
mod json;
pub mod otlp;
mod render;
mod time;
mod wire;

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

pub use error::{CodecError, ErrorKind};

use render::Ctx;
use wire::Event;

/// The prost types of `tidings.v1`, generated from `protos/tidings/v1/event.proto`
/// (for building events; rendering uses its own zero-copy decoder).
#[allow(missing_docs, clippy::doc_lazy_continuation)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/tidings.v1.rs"));
}

/// Batches with at least this many events are rendered in parallel.
pub const PARALLEL_THRESHOLD: usize = 512;

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A payload shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Seed 000: the mistral/service JSON on Kafka.
    Mistral,
    /// Seed 002: form-encoded scheduler callbacks.
    Thain,
    /// Seed 003: the tencent workflow XML callback.
    Tencent,
    /// Seed 003 as one JSON object.
    TencentJson,
    /// CloudEvents 1.0 structured mode.
    CloudEvents,
    /// CloudEvents 1.0 binary mode: the `data` only.
    CloudEventsData,
}

impl Profile {
    /// Every profile, in the order of the table in `docs/profiles.md`.
    pub const ALL: [Profile; 6] = [
        Profile::Mistral,
        Profile::Thain,
        Profile::Tencent,
        Profile::TencentJson,
        Profile::CloudEvents,
        Profile::CloudEventsData,
    ];

    /// The profile's name (`mistral`, `tencent_json`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Profile::Mistral => "mistral",
            Profile::Thain => "thain",
            Profile::Tencent => "tencent",
            Profile::TencentJson => "tencent_json",
            Profile::CloudEvents => "cloudevents",
            Profile::CloudEventsData => "cloudevents_data",
        }
    }

    /// The content type of the rendered payloads.
    pub fn content_type(self) -> &'static str {
        match self {
            Profile::Mistral | Profile::TencentJson | Profile::CloudEventsData => {
                "application/json"
            }
            Profile::Thain => "application/x-www-form-urlencoded; charset=utf-8",
            Profile::Tencent => "application/xml",
            Profile::CloudEvents => "application/cloudevents+json",
        }
    }

    /// Whether the profile renders events of `event_type` (a `tidings.v1.EventType`),
    /// extensions included: see [`Profile::is_extension`].
    pub fn supports(self, event_type: i32) -> bool {
        render::supports(self, event_type)
    }

    /// Whether the profile renders `event_type` only as an extension (a value its seed
    /// does not define), that is only with [`RenderOptions::extensions`].
    pub fn is_extension(self, event_type: i32) -> bool {
        render::is_extension(self, event_type)
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Profile {
    type Err = CodecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Profile::ALL.iter().map(|p| p.name()).collect();
                CodecError::UnknownProfile {
                    index: None,
                    message: format!("unknown profile {s:?} (known: {})", names.join(", ")),
                }
            })
    }
}

/// Whether `profile` renders events of `event_type` (extensions included).
pub fn supports(profile: Profile, event_type: i32) -> bool {
    profile.supports(event_type)
}

/// Whether `profile` renders `event_type` only with [`RenderOptions::extensions`].
pub fn is_extension(profile: Profile, event_type: i32) -> bool {
    profile.is_extension(event_type)
}

/// The render options of `docs/profiles.md`, plus the thread count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// Zone of local-time fields: an IANA name, `UTC`, `local` (the host's zone), or
    /// `+08:00` / `-0530`.
    pub timezone: String,
    /// CloudEvents `source`; empty means `/tidings/<engine_name>`.
    pub ce_source: String,
    /// The tencent `<EventName>` (written only with `extensions`).
    pub tencent_event_name: String,
    /// Top-level key of the execution input that becomes `<BucketId>`.
    pub tencent_bucket_field: String,
    /// Top-level key of the execution input that becomes `<Object>`.
    pub tencent_object_field: String,
    /// A larger event is a [`CodecError::TooLarge`].
    pub max_event_bytes: usize,
    /// Also render what the seeds do not define: the mistral eTypes
    /// `execution_pause` / `execution_resume` and the tencent `<EventName>`. Off by
    /// default: a receiver written to its seed accepts every payload.
    pub extensions: bool,
    /// Threads for large batches: 0 = the shared pool (one per core), 1 = none.
    pub threads: usize,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            timezone: "UTC".to_owned(),
            ce_source: String::new(),
            tencent_event_name: "WorkflowFinish".to_owned(),
            tencent_bucket_field: "BucketId".to_owned(),
            tencent_object_field: "Object".to_owned(),
            max_event_bytes: 64 * 1024 * 1024,
            extensions: false,
            threads: 0,
        }
    }
}

/// The most threads a renderer may ask for.
const MAX_THREADS: usize = 1024;

/// The number of threads of the shared pool, used by renderers with `threads = 0`
/// (one per available core).
pub fn threads() -> usize {
    shared_pool().map_or(1, |p| p.current_num_threads())
}

fn build_pool(n: usize) -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("tidings-codec-{i}"))
        .build()
}

/// The shared pool, created on first use, and created anew in a forked child:
/// a child inherits the parent's pool but none of its threads, so using it
/// would hang. (Not rayon's global pool, which cannot be replaced.)
fn shared_pool() -> Option<Arc<rayon::ThreadPool>> {
    static SHARED: Mutex<Option<(u32, Arc<rayon::ThreadPool>)>> = Mutex::new(None);
    let pid = std::process::id();
    let mut shared = SHARED.lock().ok()?;
    if let Some((owner, pool)) = shared.as_ref() {
        if *owner == pid {
            return Some(Arc::clone(pool));
        }
    }
    if let Some((_, inherited)) = shared.take() {
        // Its threads live only in the parent: dropping it here could wait on them.
        std::mem::forget(inherited);
    }
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pool = Arc::new(build_pool(n).ok()?);
    *shared = Some((pid, Arc::clone(&pool)));
    Some(pool)
}

enum Pool {
    Shared,
    Serial,
    /// A renderer's own pool and the process that built it.
    Own(Arc<rayon::ThreadPool>, u32),
}

/// One event of CloudEvents binary mode: the attributes and the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryEvent {
    /// `(name, value)` in the order of structured mode, empty ones omitted,
    /// `datacontenttype` included.
    pub attributes: Vec<(&'static str, String)>,
    /// The `data` object, as `cloudevents_data` renders it.
    pub data: Vec<u8>,
}

/// Renders batches of events in one profile with fixed options.
pub struct Renderer {
    profile: Profile,
    options: RenderOptions,
    ctx: Ctx,
    pool: Pool,
}

impl fmt::Debug for Renderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Renderer")
            .field("profile", &self.profile)
            .field("options", &self.options)
            .finish()
    }
}

impl Renderer {
    /// Checks the options and resolves the time zone once.
    pub fn new(profile: Profile, options: RenderOptions) -> Result<Renderer, CodecError> {
        let invalid = |message: String| CodecError::InvalidOption {
            index: None,
            message,
        };
        let zone = time::Zone::parse(&options.timezone).map_err(invalid)?;
        let pool = match options.threads {
            0 => Pool::Shared,
            1 => Pool::Serial,
            n if n > MAX_THREADS => {
                return Err(invalid(format!(
                    "invalid threads {n}: at most {MAX_THREADS}"
                )))
            }
            n => Pool::Own(
                Arc::new(
                    build_pool(n).map_err(|e| invalid(format!("cannot start {n} threads: {e}")))?,
                ),
                std::process::id(),
            ),
        };
        let ctx = Ctx {
            zone,
            extensions: options.extensions,
            ce_source: options.ce_source.clone(),
            tencent_event_name: options.tencent_event_name.clone(),
            tencent_bucket_field: options.tencent_bucket_field.clone(),
            tencent_object_field: options.tencent_object_field.clone(),
        };
        Ok(Renderer {
            profile,
            options,
            ctx,
            pool,
        })
    }

    /// The profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The options.
    pub fn options(&self) -> &RenderOptions {
        &self.options
    }

    /// Whether this renderer renders events of `event_type`: the profile's types,
    /// its extensions only with [`RenderOptions::extensions`].
    pub fn supports(&self, event_type: i32) -> bool {
        self.profile.supports(event_type)
            && (self.options.extensions || !self.profile.is_extension(event_type))
    }

    /// The number of threads a large batch is rendered on.
    pub fn threads(&self) -> usize {
        match &self.pool {
            Pool::Shared => threads(),
            Pool::Serial => 1,
            Pool::Own(pool, _) => pool.current_num_threads(),
        }
    }

    /// Renders every event, or fails with the error of the lowest failing index.
    pub fn render(&self, events: &[&[u8]]) -> Result<Vec<Vec<u8>>, CodecError> {
        let parts = self.run(events, Vec::with_capacity, |index, bytes, ev, outs| {
            let info = self.decode(index, bytes, ev, self.profile)?;
            let mut out = Vec::with_capacity(render::estimate(self.profile, ev));
            self.write(index, ev, info, &mut out)?;
            outs.push(out);
            Ok(())
        })?;
        if parts.len() == 1 {
            return Ok(parts.into_iter().next().unwrap_or_default());
        }
        let mut all = Vec::with_capacity(events.len());
        for part in parts {
            all.extend(part);
        }
        Ok(all)
    }

    /// Like [`Renderer::render`], but the payloads are written back to back into
    /// a few pooled buffers instead of one allocation each: the fast path for
    /// callers that copy the payloads elsewhere (the Python binding). The
    /// buffers return to a small process-wide pool when the [`Payloads`] drop.
    pub fn render_payloads(&self, events: &[&[u8]]) -> Result<Payloads, CodecError> {
        let chunks = self.run(
            events,
            |n| vec![Part::new(n)],
            |index, bytes, ev, parts: &mut Vec<Part>| self.append(index, bytes, ev, parts),
        )?;
        Ok(Payloads {
            parts: chunks.into_iter().flatten().collect(),
            len: events.len(),
        })
    }

    /// Renders `events` chunk by chunk on the pool and hands each chunk's
    /// payloads, in order, to `consume` on the calling thread while the pool
    /// renders the chunks after it. A caller that must copy the payloads
    /// somewhere serially (the Python binding, which makes `bytes` objects under
    /// the GIL) overlaps that copy with the rendering, and holds only a few
    /// chunks of payloads at a time besides what it has consumed.
    ///
    /// Stops at the first error: the lowest failing event's, or the first one
    /// `consume` returns. Small batches (and renderers with `threads = 1`) are
    /// rendered in one chunk on the calling thread.
    pub fn render_chunks<E>(
        &self,
        events: &[&[u8]],
        mut consume: impl FnMut(Payloads) -> Result<(), E>,
    ) -> Result<(), ChunkError<E>> {
        let Some(pool) = self.pool_for(events.len()) else {
            let payloads = self.render_payloads(events).map_err(ChunkError::Codec)?;
            return consume(payloads).map_err(ChunkError::Consumer);
        };
        // Chunks of STREAM_CHUNK events, or fewer that add up to STREAM_BYTES.
        let mut starts = vec![0];
        let mut bytes = 0;
        for (i, event) in events.iter().enumerate() {
            let start = starts.last().copied().unwrap_or(0);
            if i > start && (i - start == STREAM_CHUNK || bytes >= STREAM_BYTES) {
                starts.push(i);
                bytes = 0;
            }
            bytes += event.len();
        }
        let chunks: Vec<(usize, &[&[u8]])> = starts
            .iter()
            .zip(starts.iter().skip(1).chain([&events.len()]))
            .map(|(&a, &b)| (a, events.get(a..b).unwrap_or_default()))
            .collect();
        let render = |c: usize| -> Result<Payloads, CodecError> {
            let (base, evs) = chunks.get(c).copied().unwrap_or_default();
            let mut ev = Event::default();
            let mut parts = vec![Part::new(evs.len())];
            for (j, bytes) in evs.iter().enumerate() {
                self.append(base + j, bytes, &mut ev, &mut parts)?;
            }
            Ok(Payloads {
                parts,
                len: evs.len(),
            })
        };
        // Rendered chunks wait for the consumer: at most this many at a time.
        let ahead = pool.current_num_threads() * 4;
        let board = Board::new(chunks.len(), ahead);
        let helpers = pool.current_num_threads().saturating_sub(1);
        pool.in_place_scope(|scope| {
            for _ in 0..helpers {
                scope.spawn(|_| {
                    while let Some(c) = board.claim_or_wait() {
                        board.post(c, &render);
                    }
                });
            }
            // Wakes the helpers however this thread leaves, even by a panic.
            let _stop = board.stop_on_drop();
            for c in 0..chunks.len() {
                // Render chunks ahead while chunk `c` is not ready, rather than wait.
                let done = loop {
                    match board.take_or_claim(c) {
                        Turn::Ready(done) => break done,
                        Turn::Render(other) => board.post(other, &render),
                        Turn::Wait => {}
                    }
                };
                let result = match done {
                    Some(Ok(payloads)) => consume(payloads).map_err(ChunkError::Consumer),
                    Some(Err(e)) => Err(ChunkError::Codec(e)),
                    None => Err(ChunkError::Codec(CodecError::Decode {
                        index: None,
                        message: "internal error: a render thread stopped".to_owned(),
                    })),
                };
                result?;
            }
            Ok(())
        })
    }

    /// Decodes one event and appends its payload to the last part (a new one
    /// when it is full); on error the part is left as it was.
    #[inline]
    fn append<'a>(
        &self,
        index: usize,
        bytes: &'a [u8],
        ev: &mut Event<'a>,
        parts: &mut Vec<Part>,
    ) -> Result<(), CodecError> {
        let info = self.decode(index, bytes, ev, self.profile)?;
        if parts.last().is_none_or(|p| p.data.len() >= PART_BYTES) {
            parts.push(Part::new(64));
        }
        let Some(part) = parts.last_mut() else {
            return Ok(());
        };
        let start = part.data.len();
        let written = self.write(index, ev, info, &mut part.data);
        if written.is_err() {
            part.data.truncate(start);
        }
        written?;
        part.ends.push(part.data.len());
        Ok(())
    }

    /// Writes the payload of one decoded event.
    #[inline]
    fn write(
        &self,
        index: usize,
        ev: &Event<'_>,
        info: &render::TypeInfo,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        let done = match self.profile {
            Profile::Mistral => render::mistral(&self.ctx, ev, info, out),
            Profile::Thain => render::thain(&self.ctx, ev, out),
            Profile::Tencent => render::tencent(&self.ctx, ev, out),
            Profile::TencentJson => render::tencent_json(&self.ctx, ev, out),
            Profile::CloudEvents => render::cloudevents(&self.ctx, ev, info, out),
            Profile::CloudEventsData => render::cloudevents_check(ev, info)
                .map(|()| render::cloudevents_data(ev, info, out)),
        };
        done.map_err(|(kind, message)| CodecError::new(kind, Some(index), message))
    }

    /// Renders every event in CloudEvents binary mode: per event the attributes
    /// and the `data` bytes. Only for the `cloudevents` and `cloudevents_data`
    /// profiles (an [`CodecError::InvalidOption`] otherwise).
    pub fn render_cloudevents_binary(
        &self,
        events: &[&[u8]],
    ) -> Result<Vec<BinaryEvent>, CodecError> {
        if !matches!(
            self.profile,
            Profile::CloudEvents | Profile::CloudEventsData
        ) {
            return Err(CodecError::InvalidOption {
                index: None,
                message: format!(
                    "render_cloudevents_binary needs the cloudevents or cloudevents_data \
                     profile, not {:?}",
                    self.profile.name()
                ),
            });
        }
        let parts = self.run(events, Vec::with_capacity, |index, bytes, ev, outs| {
            let info = self.decode(index, bytes, ev, Profile::CloudEvents)?;
            render::cloudevents_check(ev, info)
                .map_err(|(kind, message)| CodecError::new(kind, Some(index), message))?;
            let mut data = Vec::with_capacity(render::estimate(Profile::CloudEventsData, ev));
            render::cloudevents_data(ev, info, &mut data);
            outs.push(BinaryEvent {
                attributes: render::cloudevents_attributes(&self.ctx, ev, info),
                data,
            });
            Ok(())
        })?;
        Ok(parts.into_iter().flatten().collect())
    }

    /// Size check, decode and type check of one event.
    fn decode<'a>(
        &self,
        index: usize,
        bytes: &'a [u8],
        ev: &mut Event<'a>,
        profile: Profile,
    ) -> Result<&'static render::TypeInfo, CodecError> {
        if bytes.len() > self.options.max_event_bytes {
            return Err(CodecError::TooLarge {
                index: Some(index),
                message: format!(
                    "the event has {} bytes, more than max_event_bytes ({})",
                    bytes.len(),
                    self.options.max_event_bytes
                ),
            });
        }
        ev.decode_into(bytes).map_err(|e| CodecError::Decode {
            index: Some(index),
            message: format!("not a tidings.v1.Event: {e}"),
        })?;
        let unsupported = |what: String| CodecError::UnsupportedEvent {
            index: Some(index),
            message: format!("profile {:?} does not render {what}", profile.name()),
        };
        match render::type_info(ev.r#type) {
            Some(info) if !self.options.extensions && render::is_extension(profile, ev.r#type) => {
                Err(unsupported(format!(
                    "EVENT_TYPE_{} without extensions (its seed has no such value)",
                    info.name
                )))
            }
            Some(info) if render::supports(profile, ev.r#type) => Ok(info),
            Some(info) => Err(unsupported(format!("EVENT_TYPE_{}", info.name))),
            None if ev.r#type == 0 => Err(unsupported("EVENT_TYPE_UNSPECIFIED".to_owned())),
            None => Err(unsupported(format!("unknown event type {}", ev.r#type))),
        }
    }

    /// The pool a batch of `n` events runs on, or `None` to run it serially.
    fn pool_for(&self, n: usize) -> Option<Arc<rayon::ThreadPool>> {
        let pool = match &self.pool {
            _ if n < PARALLEL_THRESHOLD => None,
            Pool::Serial => None,
            Pool::Shared => shared_pool(),
            Pool::Own(pool, pid) if *pid == std::process::id() => Some(Arc::clone(pool)),
            // Built before a fork: its threads are not in this process.
            Pool::Own(..) => shared_pool(),
        };
        pool.filter(|p| p.current_num_threads() > 1)
    }

    /// Feeds every event to `f` with the sink of its chunk, serially or on the
    /// pool; returns the sinks in order, or the error of the lowest failing index.
    fn run<'a, S, N, F>(&self, events: &[&'a [u8]], new_sink: N, f: F) -> Result<Vec<S>, CodecError>
    where
        S: Send,
        N: Fn(usize) -> S + Sync,
        F: Fn(usize, &'a [u8], &mut Event<'a>, &mut S) -> Result<(), CodecError> + Sync,
    {
        let Some(pool) = self.pool_for(events.len()) else {
            let mut ev = Event::default();
            let mut sink = new_sink(events.len());
            for (i, bytes) in events.iter().enumerate() {
                f(i, bytes, &mut ev, &mut sink)?;
            }
            return Ok(vec![sink]);
        };
        // About four chunks per thread, for balance; at least 64 events each.
        let chunk = events
            .len()
            .div_ceil(pool.current_num_threads() * 4)
            .max(64);
        let chunks: Vec<&[&'a [u8]]> = events.chunks(chunk).collect();
        let lowest_error = AtomicUsize::new(usize::MAX);
        let results = share_jobs(&pool, chunks.len(), |c| {
            let base = c * chunk;
            let mut ev = Event::default();
            let evs = chunks.get(c).copied().unwrap_or_default();
            let mut sink = new_sink(evs.len());
            for (j, bytes) in evs.iter().enumerate() {
                let index = base + j;
                if index > lowest_error.load(Ordering::Relaxed) {
                    // A lower event failed: this chunk's result is moot.
                    return Err(None);
                }
                if let Err(e) = f(index, bytes, &mut ev, &mut sink) {
                    lowest_error.fetch_min(index, Ordering::Relaxed);
                    return Err(Some(e));
                }
            }
            Ok(sink)
        });
        let mut sinks = Vec::with_capacity(results.len());
        for result in results {
            match result {
                Some(Ok(sink)) => sinks.push(sink),
                // The first failed chunk holds the lowest error: a chunk gives
                // up only after an earlier event failed.
                Some(Err(Some(e))) => return Err(e),
                Some(Err(None)) | None => {
                    return Err(CodecError::Decode {
                        index: None,
                        message: "internal error: a chunk was abandoned without an error"
                            .to_owned(),
                    })
                }
            }
        }
        Ok(sinks)
    }
}

/// Runs `job(0..jobs)`, each index once, on the calling thread and on the
/// pool's other threads, and returns the results in index order. (A job that
/// panics leaves its slot `None`, and the scope then re-raises the panic.) The
/// caller works rather than sleeps: with one pool thread per core, a batch then
/// costs one wake-up instead of two.
fn share_jobs<T, J>(pool: &rayon::ThreadPool, jobs: usize, job: J) -> Vec<Option<T>>
where
    T: Send,
    J: Fn(usize) -> T + Sync,
{
    let slots: Vec<Mutex<Option<T>>> = (0..jobs).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let work = || loop {
        let k = next.fetch_add(1, Ordering::Relaxed);
        let Some(slot) = slots.get(k) else { break };
        let result = job(k);
        if let Ok(mut slot) = slot.lock() {
            *slot = Some(result);
        }
    };
    let helpers = pool
        .current_num_threads()
        .saturating_sub(1)
        .min(jobs.saturating_sub(1));
    pool.in_place_scope(|scope| {
        for _ in 0..helpers {
            scope.spawn(|_| work());
        }
        work();
    });
    slots
        .into_iter()
        .map(|slot| slot.into_inner().ok().flatten())
        .collect()
}

/// Events per chunk of [`Renderer::render_chunks`]: small enough that the
/// consumer starts early and the pool stays busy, large enough that handing a
/// chunk over costs little.
const STREAM_CHUNK: usize = 64;

/// A chunk of [`Renderer::render_chunks`] also ends once its events add up to
/// this many bytes, so that the chunks rendered ahead stay small when the
/// events are large.
const STREAM_BYTES: usize = 1 << 20;

/// Why [`Renderer::render_chunks`] stopped.
#[derive(Debug)]
pub enum ChunkError<E> {
    /// An event could not be rendered.
    Codec(CodecError),
    /// The consumer failed.
    Consumer(E),
}

type Rendered = Option<Result<Payloads, CodecError>>;

/// The chunks of one [`Renderer::render_chunks`] call: who renders which, and
/// the results waiting for the consumer.
struct Board {
    state: Mutex<BoardState>,
    changed: Condvar,
    ahead: usize,
}

struct BoardState {
    /// `Some` once chunk `c` is done (`Some(None)`: its renderer died).
    results: Vec<Option<Rendered>>,
    /// The next chunk nobody renders yet.
    next: usize,
    /// Chunks before this one are consumed.
    consumed: usize,
    stopped: bool,
}

enum Turn {
    Ready(Rendered),
    Render(usize),
    Wait,
}

impl BoardState {
    /// The next chunk to render, if the consumer is not too far behind.
    fn claim(&mut self, ahead: usize) -> Option<usize> {
        let c = self.next;
        if self.stopped || c >= self.results.len() || c >= self.consumed + ahead {
            return None;
        }
        self.next += 1;
        Some(c)
    }
}

impl Board {
    fn new(chunks: usize, ahead: usize) -> Board {
        Board {
            state: Mutex::new(BoardState {
                results: (0..chunks).map(|_| None).collect(),
                next: 0,
                consumed: 0,
                stopped: false,
            }),
            changed: Condvar::new(),
            ahead,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BoardState> {
        // A poisoned lock only means a renderer panicked; the state is intact.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// For a helper: the next chunk to render, waiting while the consumer is
    /// too far behind; `None` when there is none left (or the call stopped).
    fn claim_or_wait(&self) -> Option<usize> {
        let mut st = self.lock();
        loop {
            if let Some(c) = st.claim(self.ahead) {
                return Some(c);
            }
            if st.stopped || st.next >= st.results.len() {
                return None;
            }
            st = self.changed.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// For the consumer: chunk `c` if it is done, else a chunk to render
    /// meanwhile, else (after waiting for a change) neither.
    fn take_or_claim(&self, c: usize) -> Turn {
        let mut st = self.lock();
        if let Some(done) = st.results.get_mut(c).and_then(Option::take) {
            st.consumed = c + 1;
            drop(st);
            self.changed.notify_all();
            return Turn::Ready(done);
        }
        if let Some(other) = st.claim(self.ahead) {
            return Turn::Render(other);
        }
        drop(self.changed.wait(st).unwrap_or_else(|p| p.into_inner()));
        Turn::Wait
    }

    /// Renders chunk `c` and posts the result (`None` if `render` panics, so
    /// that the consumer never waits forever).
    fn post(&self, c: usize, render: &(dyn Fn(usize) -> Result<Payloads, CodecError> + Sync)) {
        struct Post<'b> {
            board: &'b Board,
            c: usize,
            result: Rendered,
        }
        impl Drop for Post<'_> {
            fn drop(&mut self) {
                let mut st = self.board.lock();
                if let Some(slot) = st.results.get_mut(self.c) {
                    *slot = Some(self.result.take());
                }
                drop(st);
                self.board.changed.notify_all();
            }
        }
        let mut post = Post {
            board: self,
            c,
            result: None,
        };
        post.result = Some(render(c));
    }

    /// A guard that stops the helpers when dropped.
    fn stop_on_drop(&self) -> impl Drop + '_ {
        struct Stop<'b>(&'b Board);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.lock().stopped = true;
                self.0.changed.notify_all();
            }
        }
        Stop(self)
    }
}

/// A part is closed once it holds this many bytes, so that a consumer can free
/// a large batch part by part ([`Payloads::drain_each`]).
const PART_BYTES: usize = 4 << 20;

/// Payloads back to back.
struct Part {
    data: Vec<u8>,
    /// End offset of each payload in `data`.
    ends: Vec<usize>,
}

impl Part {
    fn new(payloads: usize) -> Part {
        Part {
            data: pool::take(),
            ends: Vec::with_capacity(payloads),
        }
    }
}

/// The payloads of a batch, in order, stored back to back in a few buffers
/// (see [`Renderer::render_payloads`]).
pub struct Payloads {
    parts: Vec<Part>,
    len: usize,
}

impl Payloads {
    /// The number of payloads.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Total bytes of all payloads.
    pub fn total_bytes(&self) -> usize {
        self.parts.iter().map(|p| p.data.len()).sum()
    }

    /// The payloads, in order.
    pub fn iter(&self) -> PayloadIter<'_> {
        PayloadIter {
            parts: &self.parts,
            part: 0,
            item: 0,
            remaining: self.len,
        }
    }

    /// One owned `Vec` per payload.
    pub fn into_vecs(self) -> Vec<Vec<u8>> {
        self.iter().map(<[u8]>::to_vec).collect()
    }

    /// Calls `f` with every payload in order, releasing each buffer (at most a
    /// few MiB) as soon as its payloads are done: copying a large batch out this
    /// way needs little more memory than the copies.
    pub fn drain_each(mut self, mut f: impl FnMut(&[u8])) {
        for part in std::mem::take(&mut self.parts) {
            let mut start = 0;
            for &end in &part.ends {
                f(part.data.get(start..end).unwrap_or_default());
                start = end;
            }
            pool::give_back(part.data);
        }
    }
}

impl Drop for Payloads {
    fn drop(&mut self) {
        for part in self.parts.drain(..) {
            pool::give_back(part.data);
        }
    }
}

impl fmt::Debug for Payloads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'p> IntoIterator for &'p Payloads {
    type Item = &'p [u8];
    type IntoIter = PayloadIter<'p>;

    fn into_iter(self) -> PayloadIter<'p> {
        self.iter()
    }
}

/// Iterator over [`Payloads`].
pub struct PayloadIter<'p> {
    parts: &'p [Part],
    part: usize,
    item: usize,
    remaining: usize,
}

impl<'p> Iterator for PayloadIter<'p> {
    type Item = &'p [u8];

    fn next(&mut self) -> Option<&'p [u8]> {
        loop {
            let part = self.parts.get(self.part)?;
            if let Some(&end) = part.ends.get(self.item) {
                let start = match self.item.checked_sub(1) {
                    Some(prev) => part.ends.get(prev).copied().unwrap_or(0),
                    None => 0,
                };
                self.item += 1;
                self.remaining = self.remaining.saturating_sub(1);
                return part.data.get(start..end);
            }
            self.part += 1;
            self.item = 0;
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for PayloadIter<'_> {}

/// A small process-wide pool of payload buffers, so that rendering batch after
/// batch reuses memory that is already mapped instead of faulting in fresh pages.
mod pool {
    use std::sync::Mutex;

    /// Buffers larger than this are freed rather than kept.
    const MAX_BUFFER: usize = 8 << 20;
    /// At most this many bytes are kept in the pool.
    const MAX_KEPT: usize = 32 << 20;

    static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

    pub(super) fn take() -> Vec<u8> {
        match POOL.lock() {
            Ok(mut pool) => pool.pop().unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }

    pub(super) fn give_back(mut buf: Vec<u8>) {
        if buf.capacity() == 0 || buf.capacity() > MAX_BUFFER {
            return;
        }
        buf.clear();
        if let Ok(mut pool) = POOL.lock() {
            let kept: usize = pool.iter().map(Vec::capacity).sum();
            if kept + buf.capacity() <= MAX_KEPT {
                pool.push(buf);
            }
        }
    }
}

#[cfg(test)]
mod tests;
