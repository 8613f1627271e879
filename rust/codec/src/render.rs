//! The profile writers: one decoded event in, the payload bytes out.

use std::borrow::Cow;

use crate::error::ErrorKind;
use crate::escape::{form_value, json_str, json_str_body, xml_text};
use crate::json;
use crate::time::{self, Ts, Zone};
use crate::wire::{Event, ExecutionSummary};
use crate::Profile;

/// A per-event failure; the batch driver adds the index.
pub(crate) type Fail = (ErrorKind, String);

/// What a profile needs to know about a canonical event type.
pub(crate) struct TypeInfo {
    /// The proto enum value name, for messages.
    pub name: &'static str,
    /// The status derived from the type.
    pub status: &'static str,
    /// The mistral `eType` (empty for engine events).
    pub etype: &'static str,
    /// The CloudEvents `type`.
    pub ce_type: &'static str,
    /// ENGINE_UP / ENGINE_DOWN.
    pub engine: bool,
    /// LISTENER_DISABLED.
    pub listener: bool,
}

const fn ti(
    name: &'static str,
    status: &'static str,
    etype: &'static str,
    ce_type: &'static str,
) -> TypeInfo {
    TypeInfo {
        name,
        status,
        etype,
        ce_type,
        engine: etype.is_empty(),
        listener: false,
    }
}

/// A listener event: no mistral `eType`, only CloudEvents render it.
const fn tl(name: &'static str, status: &'static str, ce_type: &'static str) -> TypeInfo {
    TypeInfo {
        name,
        status,
        etype: "",
        ce_type,
        engine: false,
        listener: true,
    }
}

/// The canonical event types (every `EventType` but UNSPECIFIED).
pub(crate) fn type_info(t: i32) -> Option<&'static TypeInfo> {
    static ENGINE: [TypeInfo; 2] = [
        ti("ENGINE_UP", "up", "", "io.tidings.engine.up"),
        ti("ENGINE_DOWN", "down", "", "io.tidings.engine.down"),
    ];
    static EXECUTION: [TypeInfo; 10] = [
        ti(
            "EXECUTION_STARTED",
            "RUNNING",
            "execution_start",
            "io.tidings.execution.started",
        ),
        ti(
            "EXECUTION_SUCCEEDED",
            "SUCCESS",
            "execution_end",
            "io.tidings.execution.succeeded",
        ),
        ti(
            "EXECUTION_FAILED",
            "ERROR",
            "execution_end",
            "io.tidings.execution.failed",
        ),
        ti(
            "EXECUTION_CANCELLED",
            "CANCELLED",
            "execution_abort",
            "io.tidings.execution.cancelled",
        ),
        ti(
            "EXECUTION_TIMED_OUT",
            "ERROR",
            "execution_abort",
            "io.tidings.execution.timed_out",
        ),
        ti(
            "EXECUTION_PAUSED",
            "PAUSED",
            "execution_pause",
            "io.tidings.execution.paused",
        ),
        ti(
            "EXECUTION_RESUMED",
            "RUNNING",
            "execution_resume",
            "io.tidings.execution.resumed",
        ),
        ti(
            "EXECUTION_ROLLBACK_STARTED",
            "RUNNING",
            "execution_rollback_start",
            "io.tidings.execution.rollback_started",
        ),
        ti(
            "EXECUTION_ROLLBACK_FINISHED",
            "SUCCESS",
            "execution_rollback_end",
            "io.tidings.execution.rollback_finished",
        ),
        // A re-run begins a new run of the execution: seed 000's own start.
        ti(
            "EXECUTION_RERUN",
            "RUNNING",
            "execution_start",
            "io.tidings.execution.rerun",
        ),
    ];
    static TASK: [TypeInfo; 8] = [
        ti(
            "TASK_STARTED",
            "RUNNING",
            "task_start",
            "io.tidings.task.started",
        ),
        ti(
            "TASK_RUNNING",
            "RUNNING",
            "task_running",
            "io.tidings.task.running",
        ),
        ti(
            "TASK_SUCCEEDED",
            "SUCCESS",
            "task_end",
            "io.tidings.task.succeeded",
        ),
        ti("TASK_FAILED", "ERROR", "task_end", "io.tidings.task.failed"),
        ti(
            "TASK_RETRIED",
            "RUNNING",
            "task_redo",
            "io.tidings.task.retried",
        ),
        ti(
            "TASK_SKIPPED",
            "SKIPPED",
            "task_pass",
            "io.tidings.task.skipped",
        ),
        ti(
            "TASK_ROLLED_BACK",
            "ROLLED_BACK",
            "task_rollback",
            "io.tidings.task.rolled_back",
        ),
        ti(
            "TASK_CANCELLED",
            "CANCELLED",
            "task_end",
            "io.tidings.task.cancelled",
        ),
    ];
    static LISTENER: [TypeInfo; 1] = [tl(
        "LISTENER_DISABLED",
        "DISABLED",
        "io.tidings.listener.disabled",
    )];
    let (table, base): (&'static [TypeInfo], i32) = match t {
        1..=2 => (&ENGINE, 1),
        10..=19 => (&EXECUTION, 10),
        30..=37 => (&TASK, 30),
        50 => (&LISTENER, 50),
        _ => return None,
    };
    table.get(usize::try_from(t - base).ok()?)
}

/// Whether `profile` renders events of type `t`.
pub(crate) fn supports(profile: Profile, t: i32) -> bool {
    match profile {
        // Seed 000 has no listener events: mistral renders the engine's own.
        Profile::Mistral => type_info(t).is_some_and(|i| !i.listener),
        Profile::CloudEvents | Profile::CloudEventsData => type_info(t).is_some(),
        Profile::Thain => matches!(t, 10..=16 | 19 | 30 | 32 | 33 | 37),
        Profile::Tencent | Profile::TencentJson => matches!(t, 11..=14),
    }
}

/// Whether `profile` renders events of type `t` only as an extension: a value its
/// seed does not define (mistral `execution_pause` / `execution_resume`).
pub(crate) fn is_extension(profile: Profile, t: i32) -> bool {
    matches!((profile, t), (Profile::Mistral, 15 | 16))
}

/// The immutable per-renderer context the writers read.
pub(crate) struct Ctx {
    pub zone: Zone,
    /// Write what the seeds do not define (the `extensions` option).
    pub extensions: bool,
    pub ce_source: String,
    pub tencent_event_name: String,
    pub tencent_bucket_field: String,
    pub tencent_object_field: String,
}

#[inline]
fn status<'a>(ev: &Event<'a>, info: &TypeInfo) -> &'a str {
    if ev.status.is_empty() {
        info.status
    } else {
        ev.status
    }
}

fn check_json(raw: &[u8], field: &str) -> Result<(), Fail> {
    if raw.is_empty() {
        return Ok(());
    }
    json::validate(raw).map_err(|e| {
        (
            ErrorKind::InvalidJson,
            format!("{field} is not valid JSON: {e}"),
        )
    })
}

/// A rough output size, so the buffer rarely grows.
pub(crate) fn estimate(profile: Profile, ev: &Event<'_>) -> usize {
    let strings = ev.id.len()
        + ev.engine_name.len()
        + ev.engine_version.len()
        + ev.workflow_id.len()
        + ev.workflow_name.len()
        + ev.execution_id.len() * 2
        + ev.task_id.len()
        + ev.task_name.len()
        + ev.atom_id.len()
        + ev.status.len()
        + ev.error_message.len();
    let triggers: usize = ev
        .triggered_by
        .iter()
        .map(|t| 32 + t.event.len() + t.task_id.len())
        .sum();
    let execution = ev.execution.as_ref().map_or(0, |x| {
        x.headers
            .iter()
            .map(|h| 48 + h.key.len() + h.value.len())
            .sum::<usize>()
            + x.tasks
                .iter()
                .map(|t| {
                    260 + t.task_id.len()
                        + t.name.len()
                        + t.r#type.len()
                        + t.atom_id.len()
                        + t.atom_name.len()
                })
                .sum::<usize>()
    });
    match profile {
        Profile::Thain => {
            96 + 3 * (ev.workflow_id.len() + ev.execution_id.len() + ev.task_id.len())
                + 3 * (ev.task_name.len() + ev.error_message.len())
        }
        Profile::Tencent | Profile::TencentJson => {
            320 + strings + execution + ev.input.len().min(256)
        }
        _ => 320 + strings + triggers + ev.input.len() + ev.output.len(),
    }
}

/// Writes `,"key":` (or `{"key":` for the first member) of a JSON object.
struct Obj {
    first: bool,
}

impl Obj {
    fn open(out: &mut Vec<u8>) -> Obj {
        out.push(b'{');
        Obj { first: true }
    }

    #[inline]
    fn key(&mut self, out: &mut Vec<u8>, key: &str) {
        if !self.first {
            out.push(b',');
        }
        self.first = false;
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
    }

    #[inline]
    fn str(&mut self, out: &mut Vec<u8>, key: &str, value: &str) {
        self.key(out, key);
        json_str(out, value);
    }

    #[inline]
    fn str_if(&mut self, out: &mut Vec<u8>, key: &str, value: &str) {
        if !value.is_empty() {
            self.str(out, key, value);
        }
    }

    fn close(self, out: &mut Vec<u8>) {
        out.push(b'}');
    }
}

fn quoted_local(out: &mut Vec<u8>, ts: Option<Ts>, zone: &Zone) {
    out.push(b'"');
    if let Some(t) = ts {
        time::local(out, t, zone);
    }
    out.push(b'"');
}

fn triggered_by(out: &mut Vec<u8>, ev: &Event<'_>) {
    out.push(b'[');
    for (i, t) in ev.triggered_by.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"event\":");
        json_str(out, t.event);
        out.extend_from_slice(b",\"taskId\":");
        json_str(out, t.task_id);
        out.push(b'}');
    }
    out.push(b']');
}

pub(crate) fn mistral(
    ctx: &Ctx,
    ev: &Event<'_>,
    info: &TypeInfo,
    out: &mut Vec<u8>,
) -> Result<(), Fail> {
    if info.engine {
        out.extend_from_slice(b"{\"serviceName\":");
        json_str(out, ev.engine_name);
        out.extend_from_slice(b",\"version\":");
        json_str(out, ev.engine_version);
        out.extend_from_slice(b",\"status\":");
        json_str(out, status(ev, info));
        out.extend_from_slice(b",\"timeStamp\":");
        quoted_local(out, ev.time, &ctx.zone);
        out.push(b'}');
        return Ok(());
    }
    check_json(ev.input, "input")?;
    check_json(ev.output, "output")?;
    out.extend_from_slice(b"{\"eType\":\"");
    out.extend_from_slice(info.etype.as_bytes());
    out.extend_from_slice(b"\",\"wfId\":");
    json_str(out, ev.workflow_id);
    out.extend_from_slice(b",\"exId\":");
    json_str(out, ev.execution_id);
    out.extend_from_slice(b",\"taskId\":");
    json_str(out, ev.task_id);
    out.extend_from_slice(b",\"taskName\":");
    json_str(out, ev.task_name);
    out.extend_from_slice(b",\"atomId\":");
    json_str(out, ev.atom_id);
    out.extend_from_slice(b",\"triggeredBy\":");
    triggered_by(out, ev);
    out.extend_from_slice(b",\"status\":");
    json_str(out, status(ev, info));
    out.extend_from_slice(b",\"input\":");
    out.extend_from_slice(if ev.input.is_empty() { b"{}" } else { ev.input });
    out.extend_from_slice(b",\"output\":");
    out.extend_from_slice(if ev.output.is_empty() {
        b"{}"
    } else {
        ev.output
    });
    out.extend_from_slice(b",\"timeStamp\":");
    quoted_local(out, ev.time, &ctx.zone);
    out.push(b'}');
    Ok(())
}

pub(crate) fn thain(ctx: &Ctx, ev: &Event<'_>, out: &mut Vec<u8>) -> Result<(), Fail> {
    let flow = |out: &mut Vec<u8>| {
        out.extend_from_slice(b"flowId=");
        form_value(out, ev.workflow_id.as_bytes());
        out.extend_from_slice(b"&flowExecutionId=");
        form_value(out, ev.execution_id.as_bytes());
    };
    let message = |out: &mut Vec<u8>| {
        out.extend_from_slice(b"&message=");
        form_value(out, ev.error_message.as_bytes());
    };
    match ev.r#type {
        15 | 16 => {
            // Seed 002's modify callback is status and flowId; which execution paused is
            // an extension.
            out.extend_from_slice(if ev.r#type == 15 {
                b"status=1&flowId="
            } else {
                b"status=2&flowId="
            });
            form_value(out, ev.workflow_id.as_bytes());
            if ctx.extensions {
                out.extend_from_slice(b"&flowExecutionId=");
                form_value(out, ev.execution_id.as_bytes());
            }
        }
        10..=14 | 19 => {
            flow(out);
            let code: &[u8] = match ev.r#type {
                11 => b"2",
                12 => b"3",
                10 | 19 => b"4",
                13 => b"5",
                _ => b"7",
            };
            out.extend_from_slice(b"&code=");
            out.extend_from_slice(code);
            if ev.r#type == 12 {
                message(out);
            }
        }
        _ => {
            flow(out);
            out.extend_from_slice(match ev.r#type {
                30 => b"&code=2",
                32 => b"&code=3",
                _ => b"&code=4", // failed, or cancelled (37): seed 002's job error
            });
            if ev.r#type != 30 && ev.r#type != 32 {
                message(out);
            }
            // Seed 002's job table exactly: a job's own callback_url says which job it is.
            // A shared URL that opted into extensions learns it from jobId and jobName.
            if ctx.extensions {
                out.extend_from_slice(b"&jobId=");
                form_value(out, ev.task_id.as_bytes());
                out.extend_from_slice(b"&jobName=");
                form_value(out, ev.task_name.as_bytes());
            }
        }
    }
    Ok(())
}

/// The tencent task state for a canonical one.
fn tencent_task_state(state: &str) -> Cow<'_, str> {
    match state {
        "SUCCESS" => Cow::Borrowed("Success"),
        "ERROR" | "FAILED" => Cow::Borrowed("Failed"),
        "CANCELLED" => Cow::Borrowed("Cancel"),
        "SKIPPED" => Cow::Borrowed("Skipped"),
        "RUNNING" => Cow::Borrowed("Running"),
        // ASCII case mapping only: the output must not depend on a Unicode version
        // (Python and Rust ship different ones).
        _ => {
            let mut s = state.to_ascii_lowercase();
            if let Some(first) = s.get_mut(..1) {
                first.make_ascii_uppercase();
            }
            Cow::Owned(s)
        }
    }
}

/// tencent `RunId`: the execution id for its first run, `<execution id>.<n>` for its
/// n-th (each re-run is an instance of its own).
fn tencent_run_id<'a>(ev: &Event<'a>) -> Cow<'a, str> {
    match ev.execution.as_ref().map_or(0, |x| x.run) {
        0 | 1 => Cow::Borrowed(ev.execution_id),
        n => Cow::Owned(format!("{}.{n}", ev.execution_id)),
    }
}

/// The data shared by `tencent` and `tencent_json`, after the checks.
struct Tencent<'e, 'a> {
    execution: Cow<'e, ExecutionSummary<'a>>,
    bucket: String,
    object: String,
    state: &'static str,
}

fn tencent_data<'e, 'a>(ctx: &Ctx, ev: &'e Event<'a>) -> Result<Tencent<'e, 'a>, Fail> {
    let execution = match &ev.execution {
        Some(x) => Cow::Borrowed(x),
        None => Cow::Owned(ExecutionSummary::default()),
    };
    let (bucket, object) = if ev.input.is_empty() {
        (String::new(), String::new())
    } else {
        // One pass checks the input and finds both members.
        let keys = [
            ctx.tencent_bucket_field.as_str(),
            ctx.tencent_object_field.as_str(),
        ];
        let [b, o] = json::validate_find(ev.input, keys).map_err(|e| {
            (
                ErrorKind::InvalidJson,
                format!("input is not valid JSON: {e}"),
            )
        })?;
        let text = |span: Option<(usize, usize)>| {
            span.and_then(|(a, b)| ev.input.get(a..b))
                .map(json::field_text)
                .unwrap_or_default()
        };
        (text(b), text(o))
    };
    // Seed 003: "Tasks 存在一个 Failed, 则此实例视为 Failed" (a failed task that an
    // `on-error` handled still makes the instance Failed).
    let task_failed = execution
        .tasks
        .iter()
        .any(|t| tencent_task_state(t.state) == "Failed");
    let state = if ev.r#type == 11 && !task_failed {
        "Success"
    } else {
        "Failed"
    };
    Ok(Tencent {
        execution,
        bucket,
        object,
        state,
    })
}

/// `<Name>text</Name>`, the text escaped.
macro_rules! xml_element {
    ($out:expr, $name:literal, $text:expr) => {{
        $out.extend_from_slice(concat!("<", $name, ">").as_bytes());
        xml_text($out, $text);
        $out.extend_from_slice(concat!("</", $name, ">").as_bytes());
    }};
}

/// `<Name>local time+HHMM</Name>`, empty when the time is unset.
macro_rules! xml_time {
    ($out:expr, $name:literal, $ts:expr, $zone:expr, $times:expr) => {{
        $out.extend_from_slice(concat!("<", $name, ">").as_bytes());
        if let Some(t) = $ts {
            $times.write($out, t, $zone);
        }
        $out.extend_from_slice(concat!("</", $name, ">").as_bytes());
    }};
}

pub(crate) fn tencent(ctx: &Ctx, ev: &Event<'_>, out: &mut Vec<u8>) -> Result<(), Fail> {
    let d = tencent_data(ctx, ev)?;
    out.extend_from_slice(b"<Response>");
    if ctx.extensions {
        xml_element!(out, "EventName", &ctx.tencent_event_name);
    }
    out.extend_from_slice(b"<WorkflowExecution>");
    xml_element!(out, "RunId", &tencent_run_id(ev));
    xml_element!(out, "BucketId", &d.bucket);
    xml_element!(out, "Object", &d.object);
    for h in &d.execution.headers {
        out.extend_from_slice(b"<CosHeaders>");
        xml_element!(out, "Key", h.key);
        xml_element!(out, "Value", h.value);
        out.extend_from_slice(b"</CosHeaders>");
    }
    xml_element!(out, "WorkflowId", ev.workflow_id);
    xml_element!(out, "WorkflowName", ev.workflow_name);
    let mut times = time::OffsetTimes::default();
    xml_time!(out, "CreateTime", d.execution.create_time, &ctx.zone, times);
    xml_element!(out, "State", d.state);
    for t in &d.execution.tasks {
        out.extend_from_slice(b"<Tasks>");
        xml_element!(out, "Type", t.r#type);
        xml_time!(out, "CreateTime", t.create_time, &ctx.zone, times);
        xml_time!(out, "EndTime", t.end_time, &ctx.zone, times);
        xml_element!(out, "State", &tencent_task_state(t.state));
        xml_element!(out, "JobId", t.task_id);
        xml_element!(out, "Name", t.name);
        xml_element!(out, "TemplateId", t.atom_id);
        xml_element!(out, "TemplateName", t.atom_name);
        out.extend_from_slice(b"</Tasks>");
    }
    out.extend_from_slice(b"</WorkflowExecution></Response>");
    Ok(())
}

fn json_time(
    o: &mut Obj,
    out: &mut Vec<u8>,
    key: &str,
    ts: Option<Ts>,
    zone: &Zone,
    times: &mut time::OffsetTimes,
) {
    o.key(out, key);
    out.push(b'"');
    if let Some(t) = ts {
        times.write(out, t, zone);
    }
    out.push(b'"');
}

pub(crate) fn tencent_json(ctx: &Ctx, ev: &Event<'_>, out: &mut Vec<u8>) -> Result<(), Fail> {
    let d = tencent_data(ctx, ev)?;
    out.push(b'{');
    if ctx.extensions {
        out.extend_from_slice(b"\"EventName\":");
        json_str(out, &ctx.tencent_event_name);
        out.push(b',');
    }
    out.extend_from_slice(b"\"WorkflowExecution\":");
    let mut o = Obj::open(out);
    o.str(out, "RunId", &tencent_run_id(ev));
    o.str(out, "BucketId", &d.bucket);
    o.str(out, "Object", &d.object);
    if !d.execution.headers.is_empty() {
        o.key(out, "CosHeaders");
        out.push(b'[');
        for (i, h) in d.execution.headers.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let mut ho = Obj::open(out);
            ho.str(out, "Key", h.key);
            ho.str(out, "Value", h.value);
            ho.close(out);
        }
        out.push(b']');
    }
    o.str(out, "WorkflowId", ev.workflow_id);
    o.str(out, "WorkflowName", ev.workflow_name);
    let mut times = time::OffsetTimes::default();
    json_time(
        &mut o,
        out,
        "CreateTime",
        d.execution.create_time,
        &ctx.zone,
        &mut times,
    );
    o.str(out, "State", d.state);
    o.key(out, "Tasks");
    out.push(b'[');
    for (i, t) in d.execution.tasks.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let mut to = Obj::open(out);
        to.str(out, "Type", t.r#type);
        json_time(
            &mut to,
            out,
            "CreateTime",
            t.create_time,
            &ctx.zone,
            &mut times,
        );
        json_time(&mut to, out, "EndTime", t.end_time, &ctx.zone, &mut times);
        to.str(out, "State", &tencent_task_state(t.state));
        to.str(out, "JobId", t.task_id);
        to.str(out, "Name", t.name);
        to.str(out, "TemplateId", t.atom_id);
        to.str(out, "TemplateName", t.atom_name);
        to.close(out);
    }
    out.push(b']');
    o.close(out);
    out.push(b'}');
    Ok(())
}

/// Checks what the CloudEvents renderings read, before any writing.
pub(crate) fn cloudevents_check(ev: &Event<'_>, info: &TypeInfo) -> Result<(), Fail> {
    // Engine and listener events carry no input or output in their data.
    if !info.engine && !info.listener {
        check_json(ev.input, "input")?;
        check_json(ev.output, "output")?;
    }
    Ok(())
}

/// The CloudEvents `data` object (checked by [`cloudevents_check`]).
pub(crate) fn cloudevents_data(ev: &Event<'_>, info: &TypeInfo, out: &mut Vec<u8>) {
    let mut o = Obj::open(out);
    if info.listener {
        o.str_if(out, "listenerId", ev.listener_id);
        o.str_if(out, "listenerName", ev.listener_name);
        o.str(out, "status", status(ev, info));
        o.str_if(out, "errorMessage", ev.error_message);
        o.close(out);
        return;
    }
    if info.engine {
        o.str_if(out, "serviceName", ev.engine_name);
        o.str_if(out, "version", ev.engine_version);
        o.str(out, "status", status(ev, info));
        o.close(out);
        return;
    }
    o.str_if(out, "workflowId", ev.workflow_id);
    o.str_if(out, "workflowName", ev.workflow_name);
    o.str_if(out, "executionId", ev.execution_id);
    o.str_if(out, "taskId", ev.task_id);
    o.str_if(out, "taskName", ev.task_name);
    o.str_if(out, "atomId", ev.atom_id);
    o.str(out, "status", status(ev, info));
    if !ev.triggered_by.is_empty() {
        o.key(out, "triggeredBy");
        triggered_by(out, ev);
    }
    o.str_if(out, "errorMessage", ev.error_message);
    if !ev.input.is_empty() {
        o.key(out, "input");
        out.extend_from_slice(ev.input);
    }
    if !ev.output.is_empty() {
        o.key(out, "output");
        out.extend_from_slice(ev.output);
    }
    o.close(out);
}

/// The CloudEvents `source` of `ev`, as two parts to write one after the other
/// (no string is built per event): the option, or `/tidings/<engine_name>`.
pub(crate) fn ce_source<'c>(ctx: &'c Ctx, ev: &Event<'c>) -> [&'c str; 2] {
    if !ctx.ce_source.is_empty() {
        [&ctx.ce_source, ""]
    } else if ev.engine_name.is_empty() {
        ["/tidings", ""]
    } else {
        ["/tidings/", ev.engine_name]
    }
}

/// `sequence` as 20 zero-padded digits.
pub(crate) fn sequence_text(seq: u64) -> [u8; 20] {
    let mut digits = [b'0'; 20];
    let mut v = seq;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    digits
}

pub(crate) fn cloudevents(
    ctx: &Ctx,
    ev: &Event<'_>,
    info: &TypeInfo,
    out: &mut Vec<u8>,
) -> Result<(), Fail> {
    cloudevents_check(ev, info)?;
    out.extend_from_slice(b"{\"specversion\":\"1.0\"");
    if !ev.id.is_empty() {
        out.extend_from_slice(b",\"id\":");
        json_str(out, ev.id);
    }
    out.extend_from_slice(b",\"source\":");
    out.push(b'"');
    for part in ce_source(ctx, ev) {
        json_str_body(out, part.as_bytes());
    }
    out.push(b'"');
    out.extend_from_slice(b",\"type\":\"");
    out.extend_from_slice(info.ce_type.as_bytes());
    out.push(b'"');
    let subject = ce_subject(ev);
    // The escaped subject, written again as `partitionkey`.
    let mut subject_at = out.len();
    if !subject.is_empty() {
        out.extend_from_slice(b",\"subject\":");
        subject_at = out.len();
        json_str(out, subject);
    }
    let subject_end = out.len();
    if let Some(t) = ev.time {
        out.extend_from_slice(b",\"time\":\"");
        time::rfc3339_micros(out, t);
        out.push(b'"');
    }
    out.extend_from_slice(b",\"datacontenttype\":\"application/json\"");
    if !subject.is_empty() {
        out.extend_from_slice(b",\"partitionkey\":");
        out.extend_from_within(subject_at..subject_end);
    }
    out.extend_from_slice(b",\"sequence\":\"");
    out.extend_from_slice(&sequence_text(ev.sequence));
    out.push(b'"');
    // The distributed-tracing extension: a receiver joins the execution's trace.
    if !ev.traceparent.is_empty() {
        out.extend_from_slice(b",\"traceparent\":");
        json_str(out, ev.traceparent);
        if !ev.tracestate.is_empty() {
            out.extend_from_slice(b",\"tracestate\":");
            json_str(out, ev.tracestate);
        }
    }
    out.extend_from_slice(b",\"data\":");
    cloudevents_data(ev, info, out);
    out.push(b'}');
    Ok(())
}

/// CloudEvents `subject` and `partitionkey`: the execution, or for a listener event
/// (which has none) the listener.
fn ce_subject<'a>(ev: &Event<'a>) -> &'a str {
    if ev.execution_id.is_empty() {
        ev.listener_id
    } else {
        ev.execution_id
    }
}

/// The binary-mode attributes, in the structured order, empty ones omitted.
pub(crate) fn cloudevents_attributes(
    ctx: &Ctx,
    ev: &Event<'_>,
    info: &TypeInfo,
) -> Vec<(&'static str, String)> {
    let mut attrs = Vec::with_capacity(9);
    attrs.push(("specversion", "1.0".to_owned()));
    if !ev.id.is_empty() {
        attrs.push(("id", ev.id.to_owned()));
    }
    attrs.push(("source", ce_source(ctx, ev).concat()));
    attrs.push(("type", info.ce_type.to_owned()));
    let subject = ce_subject(ev);
    if !subject.is_empty() {
        attrs.push(("subject", subject.to_owned()));
    }
    if let Some(t) = ev.time {
        let mut b = Vec::with_capacity(27);
        time::rfc3339_micros(&mut b, t);
        attrs.push(("time", String::from_utf8(b).unwrap_or_default()));
    }
    attrs.push(("datacontenttype", "application/json".to_owned()));
    if !subject.is_empty() {
        attrs.push(("partitionkey", subject.to_owned()));
    }
    let seq = sequence_text(ev.sequence);
    attrs.push(("sequence", String::from_utf8_lossy(&seq).into_owned()));
    if !ev.traceparent.is_empty() {
        attrs.push(("traceparent", ev.traceparent.to_owned()));
        if !ev.tracestate.is_empty() {
            attrs.push(("tracestate", ev.tracestate.to_owned()));
        }
    }
    attrs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_states() {
        for (state, want) in [
            ("SUCCESS", "Success"),
            ("ERROR", "Failed"),
            ("FAILED", "Failed"),
            ("CANCELLED", "Cancel"),
            ("SKIPPED", "Skipped"),
            ("RUNNING", "Running"),
            ("", ""),
            ("TIMED_OUT", "Timed_out"),
            ("paused", "Paused"),
            ("ßa", "ßa"),
            ("éCOLE", "école"),
            ("aÉ", "AÉ"),
            ("x", "X"),
        ] {
            assert_eq!(tencent_task_state(state), want, "{state}");
        }
    }

    #[test]
    fn type_table() {
        assert!(type_info(0).is_none());
        assert!(type_info(3).is_none());
        assert!(type_info(20).is_none());
        assert!(type_info(38).is_none());
        assert_eq!(type_info(19).map(|t| t.etype), Some("execution_start"));
        assert_eq!(type_info(37).map(|t| t.etype), Some("task_end"));
        assert!(type_info(-1).is_none());
        assert_eq!(type_info(14).map(|t| t.etype), Some("execution_abort"));
        assert_eq!(
            type_info(36).map(|t| t.ce_type),
            Some("io.tidings.task.rolled_back")
        );
        assert!(type_info(2).is_some_and(|t| t.engine));
        for t in 0..60 {
            assert_eq!(
                is_extension(Profile::Mistral, t),
                matches!(t, 15 | 16),
                "{t}"
            );
            for p in Profile::ALL {
                // An extension is always a type the profile can render.
                assert!(!is_extension(p, t) || supports(p, t), "{p} {t}");
                assert!(p == Profile::Mistral || !is_extension(p, t), "{p} {t}");
            }
        }
    }

    #[test]
    fn sequences_sort_as_strings() {
        assert_eq!(&sequence_text(1), b"00000000000000000001");
        assert_eq!(&sequence_text(u64::MAX), b"18446744073709551615");
    }
}
