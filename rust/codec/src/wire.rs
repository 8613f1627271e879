//! A zero-copy decoder of `tidings.v1.Event`: strings and bytes borrow from the
//! input, only repeated fields allocate.
//!
//! It accepts and rejects exactly what prost's generated decoder does (the
//! property tests check this against [`crate::pb::Event`]): last value wins for
//! scalars, message fields merge, unknown fields (groups included) are skipped,
//! a known field with the wrong wire type, a truncated field, an over-long
//! varint, field number 0, or invalid UTF-8 in a string is an error. Beyond
//! prost, a Timestamp outside 0001-01-01..9999-12-31 or with nanos outside
//! 0..1e9 is an error too.

use crate::time::Ts;

/// Why bytes are not an `Event`.
pub(crate) type WireError = String;

type Result<T> = std::result::Result<T, WireError>;

/// prost's recursion budget.
const RECURSION_LIMIT: u32 = 100;

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const START_GROUP: u8 = 3;
const END_GROUP: u8 = 4;
const FIXED32: u8 = 5;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct TriggeredBy<'a> {
    pub event: &'a str,
    pub task_id: &'a str,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Header<'a> {
    pub key: &'a str,
    pub value: &'a str,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct TaskSummary<'a> {
    pub task_id: &'a str,
    pub name: &'a str,
    pub r#type: &'a str,
    pub state: &'a str,
    pub create_time: Option<Ts>,
    pub end_time: Option<Ts>,
    pub atom_id: &'a str,
    pub atom_name: &'a str,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ExecutionSummary<'a> {
    pub state: &'a str,
    pub create_time: Option<Ts>,
    pub end_time: Option<Ts>,
    pub headers: Vec<Header<'a>>,
    pub tasks: Vec<TaskSummary<'a>>,
    /// Which run of the execution ended (0 or 1: the first).
    pub run: u32,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Event<'a> {
    pub id: &'a str,
    pub r#type: i32,
    pub sequence: u64,
    pub time: Option<Ts>,
    pub engine_name: &'a str,
    pub engine_version: &'a str,
    pub workflow_id: &'a str,
    pub workflow_name: &'a str,
    pub execution_id: &'a str,
    pub task_id: &'a str,
    pub task_name: &'a str,
    pub atom_id: &'a str,
    pub triggered_by: Vec<TriggeredBy<'a>>,
    pub status: &'a str,
    pub error_message: &'a str,
    pub input: &'a [u8],
    pub output: &'a [u8],
    pub execution: Option<ExecutionSummary<'a>>,
    pub listener_id: &'a str,
    pub listener_name: &'a str,
    pub traceparent: &'a str,
    pub tracestate: &'a str,
}

/// A cursor over one message's bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    #[inline]
    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    #[inline(always)]
    fn varint(&mut self) -> Result<u64> {
        match self.buf.get(self.pos) {
            Some(&b) if b < 0x80 => {
                self.pos += 1;
                Ok(u64::from(b))
            }
            _ => self.varint_slow(),
        }
    }

    #[inline(never)]
    fn varint_slow(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err("truncated varint".into());
            };
            self.pos += 1;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                if i == 9 && b >= 0x02 {
                    break;
                }
                return Ok(value);
            }
        }
        Err("invalid varint".into())
    }

    /// A field key: (field number, wire type).
    #[inline(always)]
    fn key(&mut self) -> Result<(u32, u8)> {
        let key = self.varint()?;
        if key > u64::from(u32::MAX) {
            return Err(format!("invalid key value {key}"));
        }
        let wire_type = (key & 7) as u8;
        if wire_type > 5 {
            return Err(format!("invalid wire type value {wire_type}"));
        }
        let tag = (key as u32) >> 3;
        if tag == 0 {
            return Err("invalid field number 0".into());
        }
        Ok((tag, wire_type))
    }

    #[inline(always)]
    fn take(&mut self, len: u64) -> Result<&'a [u8]> {
        let rest = self.buf.len() - self.pos.min(self.buf.len());
        if len > rest as u64 {
            return Err("truncated field".into());
        }
        let start = self.pos;
        self.pos += len as usize;
        self.buf
            .get(start..self.pos)
            .ok_or_else(|| "truncated field".into())
    }

    #[inline(always)]
    fn bytes(&mut self, wire_type: u8, field: &str) -> Result<&'a [u8]> {
        expect(wire_type, LEN, field)?;
        let len = self.varint()?;
        self.take(len)
    }

    #[inline(always)]
    fn string(&mut self, wire_type: u8, field: &str) -> Result<&'a str> {
        let b = self.bytes(wire_type, field)?;
        if let Some(s) = ascii_str(b) {
            return Ok(s);
        }
        simdutf8::basic::from_utf8(b).map_err(|_| format!("{field} is not valid UTF-8"))
    }

    #[inline(always)]
    fn uint(&mut self, wire_type: u8, field: &str) -> Result<u64> {
        expect(wire_type, VARINT, field)?;
        self.varint()
    }

    /// The body of a message field, after checking the recursion budget.
    #[inline]
    fn message(&mut self, wire_type: u8, field: &str, depth: u32) -> Result<Reader<'a>> {
        expect(wire_type, LEN, field)?;
        if depth == 0 {
            return Err("recursion limit reached".into());
        }
        let buf = self.bytes(wire_type, field)?;
        Ok(Reader { buf, pos: 0 })
    }

    /// Skips an unknown field, as prost's `skip_field`.
    fn skip(&mut self, wire_type: u8, tag: u32, depth: u32) -> Result<()> {
        if depth == 0 {
            return Err("recursion limit reached".into());
        }
        let len = match wire_type {
            VARINT => {
                self.varint()?;
                0
            }
            FIXED32 => 4,
            FIXED64 => 8,
            LEN => self.varint()?,
            START_GROUP => loop {
                let (inner_tag, inner_type) = self.key()?;
                if inner_type == END_GROUP {
                    if inner_tag != tag {
                        return Err("unexpected end group tag".into());
                    }
                    break 0;
                }
                self.skip(inner_type, inner_tag, depth - 1)?;
            },
            _ => return Err("unexpected end group tag".into()),
        };
        self.take(len).map(|_| ())
    }
}

/// `b` as a `str` when it is all ASCII (most fields are): cheaper than
/// `std::str::from_utf8` for the short strings of an event.
#[inline(always)]
#[allow(unsafe_code)]
fn ascii_str(b: &[u8]) -> Option<&str> {
    let words = b.chunks_exact(8);
    let mut high = 0u64;
    for &t in words.remainder() {
        high |= u64::from(t);
    }
    for w in words {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        high |= u64::from_le_bytes(word);
    }
    if high & 0x8080_8080_8080_8080 != 0 {
        return None;
    }
    // SAFETY: every byte is below 0x80, and ASCII is valid UTF-8.
    Some(unsafe { std::str::from_utf8_unchecked(b) })
}

#[inline]
fn expect(actual: u8, expected: u8, field: &str) -> Result<()> {
    if actual == expected {
        Ok(())
    } else {
        Err(format!(
            "{field}: invalid wire type {actual} (expected {expected})"
        ))
    }
}

/// Merges one occurrence of a Timestamp field into `ts`. Each occurrence must be
/// a valid Timestamp on its own (0001-01-01..9999-12-31, nanos in 0..1e9).
fn merge_timestamp(ts: &mut Ts, mut r: Reader<'_>, depth: u32, field: &str) -> Result<()> {
    let mut seconds = None;
    let mut nanos = None;
    while !r.done() {
        let (tag, wt) = r.key()?;
        match tag {
            1 => seconds = Some(r.uint(wt, "Timestamp.seconds")? as i64),
            2 => nanos = Some(r.uint(wt, "Timestamp.nanos")? as i32),
            _ => r.skip(wt, tag, depth)?,
        }
    }
    let chunk = Ts {
        seconds: seconds.unwrap_or(0),
        nanos: nanos.unwrap_or(0),
    };
    if !chunk.is_valid() {
        return Err(format!(
            "{field} is not a valid Timestamp (seconds={}, nanos={}; it must be within \
             0001-01-01..9999-12-31 with nanos in 0..999999999)",
            chunk.seconds, chunk.nanos
        ));
    }
    if let Some(v) = seconds {
        ts.seconds = v;
    }
    if let Some(v) = nanos {
        ts.nanos = v;
    }
    Ok(())
}

fn merge_triggered_by<'a>(t: &mut TriggeredBy<'a>, mut r: Reader<'a>, depth: u32) -> Result<()> {
    while !r.done() {
        let (tag, wt) = r.key()?;
        match tag {
            1 => t.event = r.string(wt, "TriggeredBy.event")?,
            2 => t.task_id = r.string(wt, "TriggeredBy.task_id")?,
            _ => r.skip(wt, tag, depth)?,
        }
    }
    Ok(())
}

fn merge_header<'a>(h: &mut Header<'a>, mut r: Reader<'a>, depth: u32) -> Result<()> {
    while !r.done() {
        let (tag, wt) = r.key()?;
        match tag {
            1 => h.key = r.string(wt, "Header.key")?,
            2 => h.value = r.string(wt, "Header.value")?,
            _ => r.skip(wt, tag, depth)?,
        }
    }
    Ok(())
}

fn merge_task<'a>(t: &mut TaskSummary<'a>, mut r: Reader<'a>, depth: u32) -> Result<()> {
    while !r.done() {
        let (tag, wt) = r.key()?;
        match tag {
            1 => t.task_id = r.string(wt, "TaskSummary.task_id")?,
            2 => t.name = r.string(wt, "TaskSummary.name")?,
            3 => t.r#type = r.string(wt, "TaskSummary.type")?,
            4 => t.state = r.string(wt, "TaskSummary.state")?,
            5 => {
                let m = r.message(wt, "TaskSummary.create_time", depth)?;
                merge_timestamp(
                    t.create_time.get_or_insert_default(),
                    m,
                    depth - 1,
                    "TaskSummary.create_time",
                )?;
            }
            6 => {
                let m = r.message(wt, "TaskSummary.end_time", depth)?;
                merge_timestamp(
                    t.end_time.get_or_insert_default(),
                    m,
                    depth - 1,
                    "TaskSummary.end_time",
                )?;
            }
            7 => t.atom_id = r.string(wt, "TaskSummary.atom_id")?,
            8 => t.atom_name = r.string(wt, "TaskSummary.atom_name")?,
            _ => r.skip(wt, tag, depth)?,
        }
    }
    Ok(())
}

fn merge_execution<'a>(e: &mut ExecutionSummary<'a>, mut r: Reader<'a>, depth: u32) -> Result<()> {
    while !r.done() {
        let (tag, wt) = r.key()?;
        match tag {
            1 => e.state = r.string(wt, "ExecutionSummary.state")?,
            2 => {
                let m = r.message(wt, "ExecutionSummary.create_time", depth)?;
                merge_timestamp(
                    e.create_time.get_or_insert_default(),
                    m,
                    depth - 1,
                    "ExecutionSummary.create_time",
                )?;
            }
            3 => {
                let m = r.message(wt, "ExecutionSummary.end_time", depth)?;
                merge_timestamp(
                    e.end_time.get_or_insert_default(),
                    m,
                    depth - 1,
                    "ExecutionSummary.end_time",
                )?;
            }
            4 => {
                let m = r.message(wt, "ExecutionSummary.headers", depth)?;
                let mut h = Header::default();
                merge_header(&mut h, m, depth - 1)?;
                e.headers.push(h);
            }
            5 => {
                let m = r.message(wt, "ExecutionSummary.tasks", depth)?;
                let mut t = TaskSummary::default();
                merge_task(&mut t, m, depth - 1)?;
                e.tasks.push(t);
            }
            // As prost: a uint32 keeps the low 32 bits of its varint.
            6 => e.run = r.uint(wt, "ExecutionSummary.run")? as u32,
            _ => r.skip(wt, tag, depth)?,
        }
    }
    Ok(())
}

impl<'a> Event<'a> {
    /// Decodes `buf` into `self`, reusing the capacity of its lists.
    pub(crate) fn decode_into(&mut self, buf: &'a [u8]) -> Result<()> {
        // Keep the lists' allocations for the next event of the batch.
        let mut triggered_by = std::mem::take(&mut self.triggered_by);
        triggered_by.clear();
        let mut spare = self.execution.take().unwrap_or_default();
        spare.headers.clear();
        spare.tasks.clear();
        *self = Event {
            triggered_by,
            ..Event::default()
        };
        let mut r = Reader { buf, pos: 0 };
        let depth = RECURSION_LIMIT;
        while !r.done() {
            let (tag, wt) = r.key()?;
            match tag {
                1 => self.id = r.string(wt, "Event.id")?,
                2 => self.r#type = r.uint(wt, "Event.type")? as i32,
                3 => self.sequence = r.uint(wt, "Event.sequence")?,
                4 => {
                    let m = r.message(wt, "Event.time", depth)?;
                    merge_timestamp(
                        self.time.get_or_insert_default(),
                        m,
                        depth - 1,
                        "Event.time",
                    )?;
                }
                5 => self.engine_name = r.string(wt, "Event.engine_name")?,
                6 => self.engine_version = r.string(wt, "Event.engine_version")?,
                7 => self.workflow_id = r.string(wt, "Event.workflow_id")?,
                8 => self.workflow_name = r.string(wt, "Event.workflow_name")?,
                9 => self.execution_id = r.string(wt, "Event.execution_id")?,
                10 => self.task_id = r.string(wt, "Event.task_id")?,
                11 => self.task_name = r.string(wt, "Event.task_name")?,
                12 => self.atom_id = r.string(wt, "Event.atom_id")?,
                13 => {
                    let m = r.message(wt, "Event.triggered_by", depth)?;
                    let mut t = TriggeredBy::default();
                    merge_triggered_by(&mut t, m, depth - 1)?;
                    self.triggered_by.push(t);
                }
                14 => self.status = r.string(wt, "Event.status")?,
                15 => self.error_message = r.string(wt, "Event.error_message")?,
                19 => self.listener_id = r.string(wt, "Event.listener_id")?,
                20 => self.listener_name = r.string(wt, "Event.listener_name")?,
                21 => self.traceparent = r.string(wt, "Event.traceparent")?,
                22 => self.tracestate = r.string(wt, "Event.tracestate")?,
                16 => self.input = r.bytes(wt, "Event.input")?,
                17 => self.output = r.bytes(wt, "Event.output")?,
                18 => {
                    let m = r.message(wt, "Event.execution", depth)?;
                    let execution = self.execution.get_or_insert_with(|| ExecutionSummary {
                        headers: std::mem::take(&mut spare.headers),
                        tasks: std::mem::take(&mut spare.tasks),
                        ..ExecutionSummary::default()
                    });
                    merge_execution(execution, m, depth - 1)?;
                }
                _ => r.skip(wt, tag, depth)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::pb;

    /// The borrowed view of a prost event, for comparing the two decoders.
    pub(crate) fn view(e: &pb::Event) -> Event<'_> {
        let ts = |t: &Option<prost_types::Timestamp>| {
            t.as_ref().map(|t| Ts {
                seconds: t.seconds,
                nanos: t.nanos,
            })
        };
        Event {
            id: &e.id,
            r#type: e.r#type,
            sequence: e.sequence,
            time: ts(&e.time),
            engine_name: &e.engine_name,
            engine_version: &e.engine_version,
            workflow_id: &e.workflow_id,
            workflow_name: &e.workflow_name,
            execution_id: &e.execution_id,
            task_id: &e.task_id,
            task_name: &e.task_name,
            atom_id: &e.atom_id,
            triggered_by: e
                .triggered_by
                .iter()
                .map(|t| TriggeredBy {
                    event: &t.event,
                    task_id: &t.task_id,
                })
                .collect(),
            status: &e.status,
            error_message: &e.error_message,
            listener_id: &e.listener_id,
            listener_name: &e.listener_name,
            traceparent: &e.traceparent,
            tracestate: &e.tracestate,
            input: &e.input,
            output: &e.output,
            execution: e.execution.as_ref().map(|x| ExecutionSummary {
                state: &x.state,
                create_time: ts(&x.create_time),
                end_time: ts(&x.end_time),
                headers: x
                    .headers
                    .iter()
                    .map(|h| Header {
                        key: &h.key,
                        value: &h.value,
                    })
                    .collect(),
                tasks: x
                    .tasks
                    .iter()
                    .map(|t| TaskSummary {
                        task_id: &t.task_id,
                        name: &t.name,
                        r#type: &t.r#type,
                        state: &t.state,
                        create_time: ts(&t.create_time),
                        end_time: ts(&t.end_time),
                        atom_id: &t.atom_id,
                        atom_name: &t.atom_name,
                    })
                    .collect(),
                run: x.run,
            }),
        }
    }

    /// Whether every Timestamp of `e` is valid (prost does not check).
    pub(crate) fn timestamps_valid(e: &pb::Event) -> bool {
        let ok = |t: &Option<prost_types::Timestamp>| {
            t.as_ref().is_none_or(|t| {
                Ts {
                    seconds: t.seconds,
                    nanos: t.nanos,
                }
                .is_valid()
            })
        };
        ok(&e.time)
            && e.execution.as_ref().is_none_or(|x| {
                ok(&x.create_time)
                    && ok(&x.end_time)
                    && x.tasks
                        .iter()
                        .all(|t| ok(&t.create_time) && ok(&t.end_time))
            })
    }

    /// Decodes with both decoders and checks they agree (except that we reject
    /// invalid timestamps).
    pub(crate) fn check_against_prost(bytes: &[u8]) {
        use prost::Message;
        let mut ours = Event::default();
        let got = ours.decode_into(bytes);
        match pb::Event::decode(bytes) {
            Ok(theirs) => {
                match &got {
                    Ok(()) => assert_eq!(ours, view(&theirs)),
                    Err(e) => assert!(e.contains("is not a valid Timestamp"), "{e}: {bytes:?}"),
                }
                if !timestamps_valid(&theirs) {
                    assert!(got.is_err(), "invalid timestamp accepted: {bytes:?}");
                }
            }
            Err(e) => assert!(got.is_err(), "prost rejects {bytes:?} ({e}) but we accept"),
        }
    }

    #[test]
    fn agrees_with_prost_on_crafted_inputs() {
        let cases: &[&[u8]] = &[
            b"",
            b"\x0a\x02id",
            b"\x0a\x02i",                                    // truncated string
            b"\x0a\x02\xff\xfe",                             // invalid UTF-8
            b"\x08\x01",                                     // field 1 with varint wire type
            b"\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", // 10-byte varint
            b"\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", // overflowing varint
            b"\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
            b"\x10\x80\x80\x80\x80\x10", // type wraps to i32
            b"\x00\x01",                 // field number 0
            b"\x07",                     // wire type 7
            b"\x0c",                     // end group without start
            b"\xa3\x06\x08\x01\xa4\x06", // group 100 skipped
            b"\xa3\x06\x08\x01\xac\x06", // mismatched end group
            b"\xa3\x06\x08\x01",         // unterminated group
            b"\xa1\x06\x01\x02\x03\x04\x05\x06\x07\x08", // fixed64 unknown
            b"\xa5\x06\x01\x02\x03",     // truncated fixed32
            b"\x22\x02\x08\x05\x22\x02\x10\x07", // time merged from two parts
            b"\x22\x02\x10\x07\x22\x00",
            b"\x92\x01\x04\x0a\x02\x08\x01\x92\x01\x04\x0a\x02\x10\x02", // execution merge
            b"\x92\x01\x02\x22\x00\x92\x01\x02\x22\x00",                 // two empty headers
            b"\x6a\x00\x6a\x04\x0a\x02ok",                               // two triggered_by
            b"\x82\x01\x03{}\n\x8a\x01\x00",                             // input and empty output
            b"\x22\x03\x08\x01", // time longer than the buffer
            b"\x22\x02\x08\xff", // truncated inside time
            b"\x0a\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",
            b"\x80\x80\x80\x80\x10",     // key above u32::MAX? no: tag huge
            b"\xf8\xff\xff\xff\x0f\x01", // max field number, varint
            b"\xf8\xff\xff\xff\x1f\x01", // key > u32::MAX
        ];
        for case in cases {
            check_against_prost(case);
        }
    }

    #[test]
    fn deep_groups_follow_prost_recursion_limit() {
        for depth in [98usize, 99, 100, 101] {
            let mut b = Vec::new();
            for _ in 0..depth {
                b.extend_from_slice(b"\xa3\x06"); // start group 100
            }
            for _ in 0..depth {
                b.extend_from_slice(b"\xa4\x06");
            }
            check_against_prost(&b);
            let mut m = b"\x22".to_vec(); // inside Event.time
            prost::encoding::encode_varint(b.len() as u64, &mut m);
            m.extend_from_slice(&b);
            check_against_prost(&m);
        }
    }
}
