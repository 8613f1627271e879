//! Profile, error and batch tests, and property tests over arbitrary input.

use prost::Message;
use prost_types::Timestamp;

use crate::pb::{self, EventType};
use crate::{CodecError, ErrorKind, Profile, RenderOptions, Renderer};

fn ts(seconds: i64, nanos: i32) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos })
}

fn enc(e: &pb::Event) -> Vec<u8> {
    e.encode_to_vec()
}

fn renderer(profile: Profile, timezone: &str) -> Renderer {
    let options = RenderOptions {
        timezone: timezone.to_owned(),
        ..RenderOptions::default()
    };
    Renderer::new(profile, options).unwrap()
}

fn render_with(r: &Renderer, e: &pb::Event) -> Result<String, CodecError> {
    let bytes = enc(e);
    let mut out = r.render(&[&bytes])?;
    assert_eq!(out.len(), 1);
    Ok(String::from_utf8(out.remove(0)).unwrap())
}

fn render(profile: Profile, timezone: &str, e: &pb::Event) -> String {
    render_with(&renderer(profile, timezone), e).unwrap()
}

fn render_err(profile: Profile, e: &pb::Event) -> CodecError {
    render_with(&renderer(profile, "UTC"), e).unwrap_err()
}

/// A renderer with `extensions` on.
fn extended(profile: Profile, timezone: &str) -> Renderer {
    let options = RenderOptions {
        timezone: timezone.to_owned(),
        extensions: true,
        ..RenderOptions::default()
    };
    Renderer::new(profile, options).unwrap()
}

/// The seed 000 example event: task_start at 2017-10-28 09:43:12 (+08:00).
fn seed_000() -> pb::Event {
    pb::Event {
        id: "evt-1".into(),
        r#type: EventType::TaskStarted as i32,
        sequence: 1,
        time: ts(1_509_154_992, 123_456_789),
        engine_name: "workflow_engine".into(),
        engine_version: "v2.0".into(),
        workflow_id: "0b9cc8a4-dd52-4e7b-ba09-52fcb9e93166".into(),
        execution_id: "8a54c0f2-9927-44f4-953d-8ac72ef12230".into(),
        task_id: "eac1e35b-ff01-419d-bdf9-997155fdd3ba".into(),
        task_name: "A27510_7_68366_780_69844".into(),
        atom_id: "Network.Fix-L3-VPN.DCI-RESOURCE-PREEMPTION".into(),
        triggered_by: vec![pb::TriggeredBy {
            event: "on-success".into(),
            task_id: "4fe82c39-25fb-415d-ac7b-074f7919e114".into(),
        }],
        ..Default::default()
    }
}

/// The seed 000 example in UTC.
const SEED_000_UTC: &str = concat!(
    r#"{"eType":"task_start","wfId":"0b9cc8a4-dd52-4e7b-ba09-52fcb9e93166","#,
    r#""exId":"8a54c0f2-9927-44f4-953d-8ac72ef12230","#,
    r#""taskId":"eac1e35b-ff01-419d-bdf9-997155fdd3ba","taskName":"A27510_7_68366_780_69844","#,
    r#""atomId":"Network.Fix-L3-VPN.DCI-RESOURCE-PREEMPTION","#,
    r#""triggeredBy":[{"event":"on-success","taskId":"4fe82c39-25fb-415d-ac7b-074f7919e114"}],"#,
    r#""status":"RUNNING","input":{},"output":{},"timeStamp":"2017-10-28 01:43:12"}"#
);

const SEED_000_JSON: &str = concat!(
    r#"{"eType":"task_start","wfId":"0b9cc8a4-dd52-4e7b-ba09-52fcb9e93166","#,
    r#""exId":"8a54c0f2-9927-44f4-953d-8ac72ef12230","#,
    r#""taskId":"eac1e35b-ff01-419d-bdf9-997155fdd3ba","taskName":"A27510_7_68366_780_69844","#,
    r#""atomId":"Network.Fix-L3-VPN.DCI-RESOURCE-PREEMPTION","#,
    r#""triggeredBy":[{"event":"on-success","taskId":"4fe82c39-25fb-415d-ac7b-074f7919e114"}],"#,
    r#""status":"RUNNING","input":{},"output":{},"timeStamp":"2017-10-28 09:43:12"}"#
);

#[test]
fn mistral_renders_the_seed_example() {
    assert_eq!(
        render(Profile::Mistral, "Asia/Shanghai", &seed_000()),
        SEED_000_JSON
    );
    assert_eq!(
        render(Profile::Mistral, "+08:00", &seed_000()),
        SEED_000_JSON
    );
    // Explicit empty objects are embedded verbatim too.
    let mut e = seed_000();
    e.input = b"{}".to_vec();
    e.output = b"{}".to_vec();
    assert_eq!(render(Profile::Mistral, "+0800", &e), SEED_000_JSON);
}

#[test]
fn mistral_engine_events_use_the_service_topic() {
    let mut e = pb::Event {
        r#type: EventType::EngineUp as i32,
        time: ts(1_509_154_992, 0),
        engine_name: "workflow_engine".into(),
        engine_version: "v2.0".into(),
        input: b"not json".to_vec(), // not embedded, not checked
        ..Default::default()
    };
    assert_eq!(
        render(Profile::Mistral, "Asia/Shanghai", &e),
        r#"{"serviceName":"workflow_engine","version":"v2.0","status":"up","timeStamp":"2017-10-28 09:43:12"}"#
    );
    e.r#type = EventType::EngineDown as i32;
    e.time = None;
    assert_eq!(
        render(Profile::Mistral, "UTC", &e),
        r#"{"serviceName":"workflow_engine","version":"v2.0","status":"down","timeStamp":""}"#
    );
    e.status = "draining".into();
    assert!(render(Profile::Mistral, "UTC", &e).contains(r#""status":"draining""#));
}

#[test]
fn mistral_embeds_raw_json_and_escapes_strings() {
    let e = pb::Event {
        r#type: EventType::TaskFailed as i32,
        task_name: "测试\"任务\"\n\u{1}\u{2028}😀".into(),
        status: "ERROR_X".into(),
        input: b" \n{\"custName\": \"\xe6\xb5\x8b\xe8\xaf\x95\", \"n\": [1, 2.5e3]}\t".to_vec(),
        output: b"[null,true]".to_vec(),
        triggered_by: vec![
            pb::TriggeredBy {
                event: "on-error".into(),
                task_id: "a".into(),
            },
            pb::TriggeredBy::default(),
        ],
        ..Default::default()
    };
    assert_eq!(
        render(Profile::Mistral, "UTC", &e),
        concat!(
            r#"{"eType":"task_end","wfId":"","exId":"","taskId":"","#,
            "\"taskName\":\"测试\\\"任务\\\"\\n\\u0001\u{2028}😀\",",
            r#""atomId":"","triggeredBy":[{"event":"on-error","taskId":"a"},{"event":"","taskId":""}],"#,
            "\"status\":\"ERROR_X\",\"input\": \n{\"custName\": \"测试\", \"n\": [1, 2.5e3]}\t,",
            r#""output":[null,true],"timeStamp":""}"#
        )
    );
}

#[test]
fn mistral_etypes_and_statuses() {
    let cases = [
        (EventType::ExecutionStarted, "execution_start", "RUNNING"),
        (EventType::ExecutionSucceeded, "execution_end", "SUCCESS"),
        (EventType::ExecutionFailed, "execution_end", "ERROR"),
        (
            EventType::ExecutionCancelled,
            "execution_abort",
            "CANCELLED",
        ),
        (EventType::ExecutionTimedOut, "execution_abort", "ERROR"),
        (EventType::ExecutionPaused, "execution_pause", "PAUSED"),
        (EventType::ExecutionResumed, "execution_resume", "RUNNING"),
        (
            EventType::ExecutionRollbackStarted,
            "execution_rollback_start",
            "RUNNING",
        ),
        (
            EventType::ExecutionRollbackFinished,
            "execution_rollback_end",
            "SUCCESS",
        ),
        (EventType::TaskStarted, "task_start", "RUNNING"),
        (EventType::TaskRunning, "task_running", "RUNNING"),
        (EventType::TaskSucceeded, "task_end", "SUCCESS"),
        (EventType::TaskFailed, "task_end", "ERROR"),
        (EventType::TaskRetried, "task_redo", "RUNNING"),
        (EventType::TaskSkipped, "task_pass", "SKIPPED"),
        (EventType::TaskRolledBack, "task_rollback", "ROLLED_BACK"),
        (EventType::ExecutionRerun, "execution_start", "RUNNING"),
        (EventType::TaskCancelled, "task_end", "CANCELLED"),
    ];
    for (t, etype, status) in cases {
        let e = pb::Event {
            r#type: t as i32,
            ..Default::default()
        };
        let got = render_with(&extended(Profile::Mistral, "UTC"), &e).unwrap();
        assert!(
            got.starts_with(&format!("{{\"eType\":\"{etype}\",")),
            "{got}"
        );
        assert!(got.contains(&format!(",\"status\":\"{status}\",")), "{got}");
        // Without extensions, only seed 000's eleven eTypes.
        let strict = renderer(Profile::Mistral, "UTC");
        let seed = !matches!(t, EventType::ExecutionPaused | EventType::ExecutionResumed);
        assert_eq!(strict.supports(t as i32), seed, "{etype}");
        assert!(Profile::Mistral.supports(t as i32));
        match render_with(&strict, &e) {
            Ok(same) => assert!(seed && same == got, "{etype}"),
            Err(err) => {
                assert!(!seed, "{etype}");
                assert_eq!(err.kind(), ErrorKind::UnsupportedEvent);
                assert!(err.to_string().contains("without extensions"), "{err}");
            }
        }
    }
}

fn flow(t: EventType) -> pb::Event {
    pb::Event {
        r#type: t as i32,
        workflow_id: "flow 1".into(),
        execution_id: "ex/1".into(),
        task_id: "job-1".into(),
        task_name: "下载 & 解压".into(),
        error_message: "boom: 50% failed".into(),
        ..Default::default()
    }
}

#[test]
fn thain_form_bodies() {
    let cases = [
        (EventType::ExecutionPaused, "status=1&flowId=flow+1"),
        (EventType::ExecutionResumed, "status=2&flowId=flow+1"),
        (
            EventType::ExecutionSucceeded,
            "flowId=flow+1&flowExecutionId=ex%2F1&code=2",
        ),
        (
            EventType::ExecutionFailed,
            "flowId=flow+1&flowExecutionId=ex%2F1&code=3&message=boom%3A+50%25+failed",
        ),
        (
            EventType::ExecutionStarted,
            "flowId=flow+1&flowExecutionId=ex%2F1&code=4",
        ),
        (
            EventType::ExecutionCancelled,
            "flowId=flow+1&flowExecutionId=ex%2F1&code=5",
        ),
        (
            EventType::ExecutionTimedOut,
            "flowId=flow+1&flowExecutionId=ex%2F1&code=7",
        ),
        (
            EventType::ExecutionRerun,
            "flowId=flow+1&flowExecutionId=ex%2F1&code=4",
        ),
        (
            EventType::TaskStarted,
            "flowId=flow+1&flowExecutionId=ex%2F1&code=2",
        ),
        (
            EventType::TaskSucceeded,
            "flowId=flow+1&flowExecutionId=ex%2F1&code=3",
        ),
        (
            EventType::TaskFailed,
            "flowId=flow+1&flowExecutionId=ex%2F1&code=4&message=boom%3A+50%25+failed",
        ),
        (
            EventType::TaskCancelled,
            "flowId=flow+1&flowExecutionId=ex%2F1&code=4&message=boom%3A+50%25+failed",
        ),
    ];
    for (t, want) in cases {
        assert_eq!(render(Profile::Thain, "UTC", &flow(t)), want, "{t:?}");
    }
    // With extensions: which execution a modify callback is about, which job a job
    // callback is (for a URL several jobs share).
    let ext = extended(Profile::Thain, "UTC");
    assert_eq!(
        render_with(&ext, &flow(EventType::ExecutionPaused)).unwrap(),
        "status=1&flowId=flow+1&flowExecutionId=ex%2F1"
    );
    let mut job = flow(EventType::TaskStarted);
    job.task_id = "t/1".into();
    job.task_name = "fetch it".into();
    assert_eq!(
        render_with(&ext, &job).unwrap(),
        "flowId=flow+1&flowExecutionId=ex%2F1&code=2&jobId=t%2F1&jobName=fetch+it"
    );
    // An empty error message is still sent.
    let mut e = flow(EventType::ExecutionFailed);
    e.error_message.clear();
    assert_eq!(
        render(Profile::Thain, "UTC", &e),
        "flowId=flow+1&flowExecutionId=ex%2F1&code=3&message="
    );
    for t in [
        EventType::EngineUp,
        EventType::ExecutionRollbackStarted,
        EventType::TaskRunning,
        EventType::TaskRetried,
        EventType::TaskSkipped,
    ] {
        assert_eq!(
            render_err(Profile::Thain, &flow(t)).kind(),
            ErrorKind::UnsupportedEvent
        );
    }
}

fn seed_003() -> pb::Event {
    let task = |job: &str, name: &str, tpl: &str| pb::TaskSummary {
        task_id: job.into(),
        name: name.into(),
        r#type: "Transcode".into(),
        state: "SUCCESS".into(),
        create_time: ts(1_606_791_642, 5),
        end_time: ts(1_606_791_645, 999_999_999),
        atom_id: tpl.into(),
        atom_name: "example".into(),
    };
    pb::Event {
        r#type: EventType::ExecutionSucceeded as i32,
        time: ts(1_606_791_700, 0),
        workflow_id: "w2b22307fb0e44107bc8ffe71e1d20000".into(),
        workflow_name: "example".into(),
        execution_id: "ie4d9187d35dc11eb9cec525400860000".into(),
        input: br#"{"BucketId": "examplebucket-1250000000", "Object": "0000.mp4", "other": [1]}"#
            .to_vec(),
        output: b"not read".to_vec(),
        execution: Some(pb::ExecutionSummary {
            state: "SUCCESS".into(),
            create_time: ts(1_606_791_641, 0),
            end_time: ts(1_606_791_645, 0),
            headers: vec![pb::Header {
                key: "x-cos-meta-id".into(),
                value: "testid".into(),
            }],
            tasks: vec![
                task(
                    "je5195f3e35dc11ebbe6fed17a7c10000",
                    "Transcode_1600413767353",
                    "t182c0ca7d91ca40969a3fc97c5559091a",
                ),
                task(
                    "je55e922035dc11ebbe6fed17a7c10000",
                    "Transcode_1600413767444",
                    "t182c0ca7d91ca40969a3fc97c5559091b",
                ),
            ],
            run: 0,
        }),
        ..Default::default()
    }
}

#[test]
fn tencent_run_id_tells_re_runs_apart() {
    // The first run (0 or 1) is the execution id; the n-th run adds `.n`.
    for (run, want) in [(0, "ex-1"), (1, "ex-1"), (2, "ex-1.2"), (17, "ex-1.17")] {
        let mut e = seed_003();
        e.execution_id = "ex-1".into();
        if let Some(x) = e.execution.as_mut() {
            x.run = run;
        }
        let xml = render(Profile::Tencent, "UTC", &e);
        assert!(xml.contains(&format!("<RunId>{want}</RunId>")), "{xml}");
        let json = render(Profile::TencentJson, "UTC", &e);
        assert!(json.contains(&format!(r#""RunId":"{want}""#)), "{json}");
    }
}

#[test]
fn tencent_renders_the_seed_example() {
    // Exactly the seed's 实际案例, its whitespace between elements removed.
    let want = concat!(
        "<Response><WorkflowExecution>",
        "<RunId>ie4d9187d35dc11eb9cec525400860000</RunId>",
        "<BucketId>examplebucket-1250000000</BucketId><Object>0000.mp4</Object>",
        "<CosHeaders><Key>x-cos-meta-id</Key><Value>testid</Value></CosHeaders>",
        "<WorkflowId>w2b22307fb0e44107bc8ffe71e1d20000</WorkflowId>",
        "<WorkflowName>example</WorkflowName><CreateTime>2020-12-01 11:00:41+0800</CreateTime>",
        "<State>Success</State>",
        "<Tasks><Type>Transcode</Type><CreateTime>2020-12-01 11:00:42+0800</CreateTime>",
        "<EndTime>2020-12-01 11:00:45+0800</EndTime><State>Success</State>",
        "<JobId>je5195f3e35dc11ebbe6fed17a7c10000</JobId><Name>Transcode_1600413767353</Name>",
        "<TemplateId>t182c0ca7d91ca40969a3fc97c5559091a</TemplateId><TemplateName>example</TemplateName></Tasks>",
        "<Tasks><Type>Transcode</Type><CreateTime>2020-12-01 11:00:42+0800</CreateTime>",
        "<EndTime>2020-12-01 11:00:45+0800</EndTime><State>Success</State>",
        "<JobId>je55e922035dc11ebbe6fed17a7c10000</JobId><Name>Transcode_1600413767444</Name>",
        "<TemplateId>t182c0ca7d91ca40969a3fc97c5559091b</TemplateId><TemplateName>example</TemplateName></Tasks>",
        "</WorkflowExecution></Response>"
    );
    assert_eq!(render(Profile::Tencent, "Asia/Shanghai", &seed_003()), want);
    assert_eq!(render(Profile::Tencent, "+08:00", &seed_003()), want);
    // With extensions, `<EventName>` leads.
    assert_eq!(
        render_with(&extended(Profile::Tencent, "+08:00"), &seed_003()).unwrap(),
        want.replacen(
            "<Response>",
            "<Response><EventName>WorkflowFinish</EventName>",
            1
        )
    );

    let json = concat!(
        r#"{"WorkflowExecution":{"RunId":"ie4d9187d35dc11eb9cec525400860000","#,
        r#""BucketId":"examplebucket-1250000000","Object":"0000.mp4","#,
        r#""CosHeaders":[{"Key":"x-cos-meta-id","Value":"testid"}],"#,
        r#""WorkflowId":"w2b22307fb0e44107bc8ffe71e1d20000","WorkflowName":"example","#,
        r#""CreateTime":"2020-12-01 11:00:41+0800","State":"Success","Tasks":["#,
        r#"{"Type":"Transcode","CreateTime":"2020-12-01 11:00:42+0800","EndTime":"2020-12-01 11:00:45+0800","#,
        r#""State":"Success","JobId":"je5195f3e35dc11ebbe6fed17a7c10000","Name":"Transcode_1600413767353","#,
        r#""TemplateId":"t182c0ca7d91ca40969a3fc97c5559091a","TemplateName":"example"},"#,
        r#"{"Type":"Transcode","CreateTime":"2020-12-01 11:00:42+0800","EndTime":"2020-12-01 11:00:45+0800","#,
        r#""State":"Success","JobId":"je55e922035dc11ebbe6fed17a7c10000","Name":"Transcode_1600413767444","#,
        r#""TemplateId":"t182c0ca7d91ca40969a3fc97c5559091b","TemplateName":"example"}]}}"#
    );
    assert_eq!(
        render(Profile::TencentJson, "Asia/Shanghai", &seed_003()),
        json
    );
    assert_eq!(
        render_with(&extended(Profile::TencentJson, "+08:00"), &seed_003()).unwrap(),
        json.replacen('{', r#"{"EventName":"WorkflowFinish","#, 1)
    );
}

#[test]
fn tencent_state_is_failed_when_a_task_failed() {
    // Seed 003: "Tasks 存在一个 Failed, 则此实例视为 Failed", even when the execution
    // succeeded (an on-error handled the failure).
    let mut e = seed_003();
    let summary = e.execution.as_mut().unwrap();
    summary.tasks[0].state = "ERROR".into();
    for profile in [Profile::Tencent, Profile::TencentJson] {
        let got = render(profile, "UTC", &e);
        assert!(!got.contains("Success</State><Tasks>"), "{got}");
        assert!(
            got.contains("<State>Failed</State><Tasks>")
                || got.contains(r#""State":"Failed","Tasks""#),
            "{got}"
        );
    }
    // Cancelled and skipped tasks do not fail a succeeded execution.
    let summary = e.execution.as_mut().unwrap();
    summary.tasks[0].state = "CANCELLED".into();
    summary.tasks[1].state = "SKIPPED".into();
    assert!(render(Profile::Tencent, "UTC", &e).contains("<State>Success</State><Tasks>"));
}

#[test]
fn tencent_edge_cases() {
    // No execution summary, no input: empty fields, no headers, no tasks.
    let e = pb::Event {
        r#type: EventType::ExecutionTimedOut as i32,
        execution_id: "r<&>\r\n\t\u{0}\u{FFFF}".into(),
        ..Default::default()
    };
    assert_eq!(
        render(Profile::Tencent, "UTC", &e),
        concat!(
            "<Response><WorkflowExecution>",
            "<RunId>r&lt;&amp;&gt;&#13;\n\t\u{FFFD}\u{FFFD}</RunId><BucketId></BucketId><Object></Object>",
            "<WorkflowId></WorkflowId><WorkflowName></WorkflowName><CreateTime></CreateTime>",
            "<State>Failed</State></WorkflowExecution></Response>"
        )
    );
    assert_eq!(
        render(Profile::TencentJson, "UTC", &e),
        concat!(
            r#"{"WorkflowExecution":{"RunId":"r<&>\r\n\t\u0000"#,
            "\u{FFFF}",
            r#"","BucketId":"","Object":"","WorkflowId":"","WorkflowName":"","CreateTime":"","#,
            r#""State":"Failed","Tasks":[]}}"#
        )
    );
    // Options: event name and field keys; non-string values as compact JSON.
    let options = RenderOptions {
        tencent_event_name: "Done & <ok>".into(),
        extensions: true,
        tencent_bucket_field: "bucket".into(),
        tencent_object_field: "obj".into(),
        ..RenderOptions::default()
    };
    let r = Renderer::new(Profile::Tencent, options.clone()).unwrap();
    let mut e = pb::Event {
        r#type: EventType::ExecutionFailed as i32,
        input: br#"{"bucket": {"a" : [1, 1.0, "x<"]}, "obj": null, "BucketId": "ignored"}"#
            .to_vec(),
        ..Default::default()
    };
    let got = render_with(&r, &e).unwrap();
    assert!(
        got.starts_with("<Response><EventName>Done &amp; &lt;ok&gt;</EventName>"),
        "{got}"
    );
    assert!(
        got.contains(r#"<BucketId>{"a":[1,1.0,"x&lt;"]}</BucketId><Object></Object>"#),
        "{got}"
    );
    let rj = Renderer::new(Profile::TencentJson, options).unwrap();
    let got = render_with(&rj, &e).unwrap();
    assert!(
        got.contains(r#""BucketId":"{\"a\":[1,1.0,\"x<\"]}","Object":"""#),
        "{got}"
    );
    e.input = b"42".to_vec();
    assert!(render_with(&r, &e)
        .unwrap()
        .contains("<BucketId></BucketId>"));
    e.input = br#"{"bucket": 12, "obj": true}"#.to_vec();
    assert!(render_with(&r, &e)
        .unwrap()
        .contains("<BucketId>12</BucketId><Object>true</Object>"));
    e.input = br#"{"bucket": "a\u0000b"}"#.to_vec();
    assert!(render_with(&r, &e)
        .unwrap()
        .contains("<BucketId>a\u{FFFD}b</BucketId>"));
    assert!(render_with(&rj, &e)
        .unwrap()
        .contains(r#""BucketId":"a\u0000b""#));
    e.input = b"{\"bucket\": 1,}".to_vec();
    assert_eq!(
        render_with(&r, &e).unwrap_err().kind(),
        ErrorKind::InvalidJson
    );
    // Task states and unsupported types.
    let mut e = seed_003();
    if let Some(x) = e.execution.as_mut() {
        x.tasks[0].state = "CANCELLED".into();
        x.tasks[1].state = "weird".into();
        x.headers.clear();
    }
    let got = render(Profile::TencentJson, "UTC", &e);
    assert!(
        got.contains(r#""State":"Cancel""#) && got.contains(r#""State":"Weird""#),
        "{got}"
    );
    assert!(!got.contains("CosHeaders"));
    for t in [
        EventType::ExecutionStarted,
        EventType::TaskSucceeded,
        EventType::EngineUp,
    ] {
        let e = pb::Event {
            r#type: t as i32,
            ..Default::default()
        };
        assert_eq!(
            render_err(Profile::Tencent, &e).kind(),
            ErrorKind::UnsupportedEvent
        );
        assert_eq!(
            render_err(Profile::TencentJson, &e).kind(),
            ErrorKind::UnsupportedEvent
        );
    }
}

#[test]
fn cloudevents_carry_the_trace_context() {
    let mut e = seed_000();
    e.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into();
    let out = render(Profile::CloudEvents, "UTC", &e);
    assert!(
        out.contains(concat!(
            r#""sequence":"00000000000000000001","#,
            r#""traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","data":"#
        )),
        "{out}"
    );
    // tracestate only with a traceparent; the seed profiles never carry either.
    e.tracestate = "congo=t61rcWkgMzE".into();
    let out = render(Profile::CloudEvents, "UTC", &e);
    assert!(
        out.contains(r#"-01","tracestate":"congo=t61rcWkgMzE","data":"#),
        "{out}"
    );
    assert!(!render(Profile::Mistral, "UTC", &e).contains("trace"));
    let bytes = enc(&e);
    let binary = renderer(Profile::CloudEvents, "UTC")
        .render_cloudevents_binary(&[&bytes])
        .unwrap();
    let attrs = &binary[0].attributes;
    assert_eq!(attrs[attrs.len() - 2].0, "traceparent");
    assert_eq!(
        attrs[attrs.len() - 1],
        ("tracestate", "congo=t61rcWkgMzE".to_owned())
    );
    e.traceparent = String::new();
    assert!(!render(Profile::CloudEvents, "UTC", &e).contains("trace"));
}

#[test]
fn cloudevents_structured_data_and_binary() {
    let mut e = seed_000();
    e.input = br#"{"a": 1}"#.to_vec();
    e.error_message = String::new();
    let data = concat!(
        r#"{"workflowId":"0b9cc8a4-dd52-4e7b-ba09-52fcb9e93166","#,
        r#""executionId":"8a54c0f2-9927-44f4-953d-8ac72ef12230","#,
        r#""taskId":"eac1e35b-ff01-419d-bdf9-997155fdd3ba","taskName":"A27510_7_68366_780_69844","#,
        r#""atomId":"Network.Fix-L3-VPN.DCI-RESOURCE-PREEMPTION","status":"RUNNING","#,
        r#""triggeredBy":[{"event":"on-success","taskId":"4fe82c39-25fb-415d-ac7b-074f7919e114"}],"#,
        r#""input":{"a": 1}}"#
    );
    let structured = format!(
        concat!(
            r#"{{"specversion":"1.0","id":"evt-1","source":"/tidings/workflow_engine","#,
            r#""type":"io.tidings.task.started","subject":"8a54c0f2-9927-44f4-953d-8ac72ef12230","#,
            r#""time":"2017-10-28T01:43:12.123456Z","datacontenttype":"application/json","#,
            r#""partitionkey":"8a54c0f2-9927-44f4-953d-8ac72ef12230","#,
            r#""sequence":"00000000000000000001","data":{}}}"#
        ),
        data
    );
    // The zone does not change CloudEvents' UTC time.
    assert_eq!(
        render(Profile::CloudEvents, "Asia/Shanghai", &e),
        structured
    );
    assert_eq!(render(Profile::CloudEventsData, "UTC", &e), data);

    let r = renderer(Profile::CloudEvents, "UTC");
    let bytes = enc(&e);
    let binary = r.render_cloudevents_binary(&[&bytes]).unwrap();
    let names: Vec<&str> = binary[0].attributes.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "specversion",
            "id",
            "source",
            "type",
            "subject",
            "time",
            "datacontenttype",
            "partitionkey",
            "sequence"
        ]
    );
    assert_eq!(binary[0].attributes[5].1, "2017-10-28T01:43:12.123456Z");
    assert_eq!(binary[0].attributes[8].1, "00000000000000000001");
    assert_eq!(binary[0].data, data.as_bytes());

    // Empty attributes and data keys are omitted; engine events; custom source.
    let engine = pb::Event {
        r#type: EventType::EngineDown as i32,
        sequence: 42,
        ..Default::default()
    };
    assert_eq!(
        render(Profile::CloudEvents, "UTC", &engine),
        concat!(
            r#"{"specversion":"1.0","source":"/tidings","type":"io.tidings.engine.down","#,
            r#""datacontenttype":"application/json","sequence":"00000000000000000042","#,
            r#""data":{"status":"down"}}"#
        )
    );
    let options = RenderOptions {
        ce_source: "urn:x".into(),
        ..RenderOptions::default()
    };
    let r = Renderer::new(Profile::CloudEventsData, options).unwrap();
    let mut engine = engine;
    engine.engine_name = "eng".into();
    engine.engine_version = "1".into();
    let bytes = enc(&engine);
    let binary = r.render_cloudevents_binary(&[&bytes]).unwrap();
    assert_eq!(
        binary[0].attributes,
        vec![
            ("specversion", "1.0".to_owned()),
            ("source", "urn:x".to_owned()),
            ("type", "io.tidings.engine.down".to_owned()),
            ("datacontenttype", "application/json".to_owned()),
            ("sequence", "00000000000000000042".to_owned()),
        ]
    );
    assert_eq!(
        binary[0].data,
        br#"{"serviceName":"eng","version":"1","status":"down"}"#
    );
    let failed = pb::Event {
        r#type: EventType::ExecutionFailed as i32,
        error_message: "x".into(),
        output: b"1".to_vec(),
        ..Default::default()
    };
    assert_eq!(
        render(Profile::CloudEventsData, "UTC", &failed),
        r#"{"status":"ERROR","errorMessage":"x","output":1}"#
    );
    let err = renderer(Profile::Mistral, "UTC")
        .render_cloudevents_binary(&[])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidOption);
}

#[test]
fn profiles_names_and_support() {
    for p in Profile::ALL {
        assert_eq!(p.name().parse::<Profile>().unwrap(), p);
        assert!(!p.supports(0));
        assert!(!p.supports(99));
        assert!(!p.supports(-1));
    }
    let err = "Mistral".parse::<Profile>().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownProfile);
    assert_eq!(err.index(), None);
    assert!(err.to_string().contains("\"Mistral\""));
    assert_eq!(
        Profile::Thain.content_type(),
        "application/x-www-form-urlencoded; charset=utf-8"
    );
    assert_eq!(
        Profile::CloudEvents.content_type(),
        "application/cloudevents+json"
    );
    assert!(crate::supports(Profile::Mistral, 1));
    assert!(!crate::supports(Profile::Thain, 1));
    assert!(crate::supports(Profile::Tencent, 14));
    assert!(!crate::supports(Profile::Tencent, 15));
}

#[test]
fn option_errors() {
    for tz in ["Mars/Olympus", "", "+25:00", "utc"] {
        let options = RenderOptions {
            timezone: tz.into(),
            ..RenderOptions::default()
        };
        let err = Renderer::new(Profile::Mistral, options).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidOption);
        assert_eq!(err.index(), None);
    }
    let options = RenderOptions {
        threads: 100_000,
        ..RenderOptions::default()
    };
    assert_eq!(
        Renderer::new(Profile::Mistral, options).unwrap_err().kind(),
        ErrorKind::InvalidOption
    );
}

#[test]
fn event_errors_carry_their_index() {
    let good = enc(&seed_000());
    let mut bad_json = seed_000();
    bad_json.output = b"{\"a\":}".to_vec();
    let bad_json = enc(&bad_json);
    let unspecified = enc(&pb::Event::default());
    let unknown = enc(&pb::Event {
        r#type: 99,
        ..Default::default()
    });
    let truncated = &good[..good.len() - 3];
    let bad_utf8 = b"\x0a\x01\xff".to_vec();
    let mut bad_time = seed_000();
    bad_time.time = ts(1, -5);
    let bad_time = enc(&bad_time);

    let r = renderer(Profile::Mistral, "UTC");
    let check = |batch: &[&[u8]], kind: ErrorKind, index: usize| {
        let err = r.render(batch).unwrap_err();
        assert_eq!((err.kind(), err.index()), (kind, Some(index)), "{err}");
        assert!(
            err.to_string().starts_with(&format!("event {index}: ")),
            "{err}"
        );
    };
    check(&[&good, &bad_json], ErrorKind::InvalidJson, 1);
    check(
        &[&good, &good, &unspecified, &bad_json],
        ErrorKind::UnsupportedEvent,
        2,
    );
    check(&[&unknown], ErrorKind::UnsupportedEvent, 0);
    check(&[&good, truncated], ErrorKind::Decode, 1);
    check(
        &[&good, &good, &good, &bad_utf8, truncated],
        ErrorKind::Decode,
        3,
    );
    check(&[&bad_time], ErrorKind::Decode, 0);
    let err = r.render(&[&bad_json]).unwrap_err();
    assert!(err.message().contains("output is not valid JSON"), "{err}");

    let small = Renderer::new(
        Profile::Mistral,
        RenderOptions {
            max_event_bytes: 10,
            ..RenderOptions::default()
        },
    )
    .unwrap();
    let err = small.render(&[b"\x10\x01", &good]).unwrap_err();
    assert_eq!((err.kind(), err.index()), (ErrorKind::TooLarge, Some(1)));
    // Thain does not read input/output, so invalid JSON there is fine.
    let thain = renderer(Profile::Thain, "UTC");
    let mut e = flow(EventType::TaskSucceeded);
    e.input = b"{".to_vec();
    assert!(thain.render(&[&enc(&e)]).is_ok());
    assert_eq!(r.render(&[]).unwrap(), Vec::<Vec<u8>>::new());
    let none = r.render_payloads(&[]).unwrap();
    assert!(none.is_empty() && none.iter().next().is_none());
    // Payloads come back from pooled buffers, again and again.
    for _ in 0..3 {
        let p = r.render_payloads(&[&good, &good]).unwrap();
        assert_eq!(p.iter().collect::<Vec<_>>(), [SEED_000_UTC.as_bytes(); 2]);
    }
    let err = r.render_payloads(&[&good, &bad_json]).unwrap_err();
    assert_eq!((err.kind(), err.index()), (ErrorKind::InvalidJson, Some(1)));
}

fn varied_event(i: usize) -> pb::Event {
    let types = [
        1, 2, 10, 11, 12, 13, 14, 15, 16, 17, 18, 30, 31, 32, 33, 34, 35, 36,
    ];
    pb::Event {
        id: format!("id-{i}"),
        r#type: types[i % types.len()],
        sequence: i as u64,
        time: ts(1_600_000_000 + i as i64 * 7919, (i * 1237) as i32),
        workflow_id: format!("wf-{}", i % 7),
        execution_id: format!("ex-{}", i % 13),
        task_name: format!("任务 {i}"),
        input: format!("{{\"i\": {i}, \"BucketId\": \"b{i}\"}}").into_bytes(),
        ..Default::default()
    }
}

#[test]
fn parallel_batches_match_serial_and_report_the_lowest_error() {
    let events: Vec<Vec<u8>> = (0..5000).map(|i| enc(&varied_event(i))).collect();
    let refs: Vec<&[u8]> = events.iter().map(Vec::as_slice).collect();
    for profile in Profile::ALL {
        let serial = Renderer::new(
            profile,
            RenderOptions {
                threads: 1,
                ..RenderOptions::default()
            },
        )
        .unwrap();
        let shared = Renderer::new(profile, RenderOptions::default()).unwrap();
        let own = Renderer::new(
            profile,
            RenderOptions {
                threads: 3,
                ..RenderOptions::default()
            },
        )
        .unwrap();
        assert_eq!(own.threads(), 3);
        let supported: Vec<&[u8]> = refs
            .iter()
            .zip(0..)
            .filter(|(_, i)| serial.supports(varied_event(*i).r#type))
            .map(|(b, _)| *b)
            .collect();
        let want = serial.render(&supported).unwrap();
        let one_by_one: Vec<Vec<u8>> = supported
            .iter()
            .map(|b| serial.render(&[b]).unwrap().remove(0))
            .collect();
        assert_eq!(want, one_by_one);
        assert_eq!(shared.render(&supported).unwrap(), want);
        assert_eq!(own.render(&supported).unwrap(), want);
        for r in [&serial, &shared, &own] {
            let payloads = r.render_payloads(&supported).unwrap();
            assert_eq!(payloads.len(), want.len());
            assert_eq!(payloads.iter().len(), want.len());
            assert_eq!(
                payloads.total_bytes(),
                want.iter().map(Vec::len).sum::<usize>()
            );
            assert_eq!(payloads.into_vecs(), want);
        }
    }
    // Errors at 700 and 3000 (and the earlier one wins wherever chunks finish).
    let mut bad = refs.clone();
    let bad_bytes = b"\xff".to_vec();
    let empty: &[u8] = b"";
    let mut ok_events: Vec<&[u8]> = (0..5000).map(|_| refs[11]).collect();
    ok_events[3000] = &bad_bytes;
    ok_events[700] = empty;
    for threads in [0, 1, 2, 4] {
        let r = Renderer::new(
            Profile::Mistral,
            RenderOptions {
                threads,
                ..RenderOptions::default()
            },
        )
        .unwrap();
        let err = r.render(&ok_events).unwrap_err();
        assert_eq!(
            (err.kind(), err.index()),
            (ErrorKind::UnsupportedEvent, Some(700))
        );
        assert_eq!(r.render_payloads(&ok_events).unwrap_err(), err);
    }
    bad[4999] = &bad_bytes;
    let err = renderer(Profile::Thain, "UTC").render(&bad).unwrap_err();
    // Event 0 is ENGINE_UP, which thain does not render.
    assert_eq!(err.index(), Some(0));
}

/// Everything `render_chunks` hands over, in order, or its error.
fn chunked(r: &Renderer, events: &[&[u8]]) -> Result<Vec<Vec<u8>>, CodecError> {
    let mut got = Vec::new();
    let mut sizes = Vec::new();
    r.render_chunks(events, |payloads| {
        sizes.push(payloads.len());
        payloads.drain_each(|p| got.push(p.to_vec()));
        Ok::<(), ()>(())
    })
    .map_err(|e| match e {
        crate::ChunkError::Codec(e) => e,
        crate::ChunkError::Consumer(()) => panic!("the consumer never fails here"),
    })?;
    assert_eq!(sizes.iter().sum::<usize>(), got.len());
    if got.len() >= crate::PARALLEL_THRESHOLD && r.threads() > 1 {
        assert!(sizes.iter().all(|&n| n <= super::STREAM_CHUNK), "{sizes:?}");
    }
    Ok(got)
}

#[test]
fn render_chunks_streams_in_order_and_stops_at_the_lowest_error() {
    let events: Vec<Vec<u8>> = (0..3001)
        .map(|i| {
            let mut e = varied_event(i);
            e.r#type = EventType::TaskSucceeded as i32;
            enc(&e)
        })
        .collect();
    let refs: Vec<&[u8]> = events.iter().map(Vec::as_slice).collect();
    let bad = b"\xff".to_vec();
    for threads in [1, 0, 2, 3] {
        let r = Renderer::new(
            Profile::Mistral,
            RenderOptions {
                threads,
                ..RenderOptions::default()
            },
        )
        .unwrap();
        for n in [0, 1, 511, 512, 513, 640, 3001] {
            let batch = &refs[..n];
            assert_eq!(chunked(&r, batch).unwrap(), r.render(batch).unwrap(), "{n}");
        }
        // First/last event of a chunk, the last event, and two errors at once
        // (the lower one wins, whichever chunk finishes first).
        for positions in [vec![0], vec![63], vec![64], vec![3000], vec![2999, 65]] {
            let mut batch = refs.clone();
            for &p in &positions {
                batch[p] = &bad;
            }
            let err = chunked(&r, &batch).unwrap_err();
            let lowest = positions.iter().min().copied();
            assert_eq!((err.kind(), err.index()), (ErrorKind::Decode, lowest));
            assert_eq!(r.render(&batch).unwrap_err(), err);
        }
        // A consumer error stops the call: nothing after it is handed over.
        let mut calls = 0;
        let fail_at = if r.threads() > 1 { 3 } else { 1 };
        let err = r
            .render_chunks(&refs, |_| {
                calls += 1;
                if calls == fail_at {
                    Err("full")
                } else {
                    Ok(())
                }
            })
            .unwrap_err();
        assert!(matches!(err, crate::ChunkError::Consumer("full")));
        assert_eq!(calls, fail_at);
    }
}

#[test]
fn render_chunks_cut_large_events_into_small_chunks() {
    // 600 events of ~300 KB: chunks of a few events each, not of 64.
    let events: Vec<Vec<u8>> = (0..600)
        .map(|i| {
            let mut e = varied_event(i);
            e.r#type = EventType::TaskSucceeded as i32;
            e.output = format!("[\"{}\"]", "y".repeat(300_000 + i)).into_bytes();
            enc(&e)
        })
        .collect();
    let refs: Vec<&[u8]> = events.iter().map(Vec::as_slice).collect();
    let r = Renderer::new(
        Profile::CloudEventsData,
        RenderOptions {
            threads: 2,
            ..RenderOptions::default()
        },
    )
    .unwrap();
    let mut sizes = Vec::new();
    let mut got = Vec::new();
    r.render_chunks(&refs, |payloads| {
        sizes.push(payloads.len());
        payloads.drain_each(|p| got.push(p.to_vec()));
        Ok::<(), ()>(())
    })
    .unwrap();
    assert!(sizes.iter().all(|&n| n <= 4), "{sizes:?}");
    assert_eq!(got, r.render(&refs).unwrap());
}

#[test]
fn large_payloads_span_parts_and_drain_in_order() {
    // ~9 MB of output: several parts, serial and parallel.
    let events: Vec<Vec<u8>> = (0..3000)
        .map(|i| {
            let mut e = varied_event(i);
            e.r#type = EventType::TaskSucceeded as i32;
            e.output = format!("{{\"pad\":\"{}\"}}", "x".repeat(3000 + i % 7)).into_bytes();
            enc(&e)
        })
        .collect();
    let refs: Vec<&[u8]> = events.iter().map(Vec::as_slice).collect();
    for threads in [1, 0, 3] {
        let r = Renderer::new(
            Profile::Mistral,
            RenderOptions {
                threads,
                ..RenderOptions::default()
            },
        )
        .unwrap();
        let want = r.render(&refs).unwrap();
        let payloads = r.render_payloads(&refs).unwrap();
        assert!(payloads.total_bytes() > 3 * super::PART_BYTES / 2);
        assert_eq!(
            payloads.iter().collect::<Vec<_>>(),
            want.iter().map(Vec::as_slice).collect::<Vec<_>>()
        );
        let mut drained = Vec::new();
        payloads.drain_each(|p| drained.push(p.to_vec()));
        assert_eq!(drained, want);
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn all_renderers() -> Vec<Renderer> {
        let mut rs = Vec::new();
        for p in Profile::ALL {
            for tz in ["UTC", "Asia/Shanghai", "-0530"] {
                rs.push(renderer(p, tz));
            }
            rs.push(extended(p, "local"));
        }
        rs
    }

    fn check_outputs(r: &Renderer, batch: &[&[u8]]) {
        if let Ok(outs) = r.render(batch) {
            assert_eq!(outs.len(), batch.len());
            for out in &outs {
                let text = std::str::from_utf8(out).expect("output is UTF-8");
                if r.profile().content_type().contains("json") {
                    serde_json::from_str::<serde_json::Value>(text)
                        .unwrap_or_else(|e| panic!("{e}: {text}"));
                }
            }
        }
        if matches!(r.profile(), Profile::CloudEvents | Profile::CloudEventsData) {
            if let Ok(outs) = r.render_cloudevents_binary(batch) {
                for b in outs {
                    serde_json::from_slice::<serde_json::Value>(&b.data).unwrap();
                }
            }
        }
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            "[a-z0-9_-]{1,12}",
            any::<String>(),
            "[\\x00-\\x1f\"\\\\<>&\r\u{2028}\u{FFFE}\u{FFFF}😀测试]{0,8}",
        ]
    }

    fn timestamp() -> impl Strategy<Value = Option<Timestamp>> {
        prop_oneof![
            Just(None),
            (
                crate::time::MIN_SECONDS..=crate::time::MAX_SECONDS,
                0..1_000_000_000i32
            )
                .prop_map(|(seconds, nanos)| Some(Timestamp { seconds, nanos })),
            (any::<i64>(), any::<i32>())
                .prop_map(|(seconds, nanos)| Some(Timestamp { seconds, nanos })),
        ]
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(serde_json::Value::from),
            text().prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::vec(
                    (
                        prop_oneof![
                            Just("BucketId".to_owned()),
                            Just("Object".to_owned()),
                            text()
                        ],
                        inner
                    ),
                    0..4
                )
                .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    fn raw_json() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(Vec::new()),
            json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
            json_value().prop_map(|v| serde_json::to_vec_pretty(&v).unwrap()),
            prop::collection::vec(any::<u8>(), 0..16),
        ]
    }

    fn event() -> impl Strategy<Value = pb::Event> {
        let task = (
            text(),
            text(),
            text(),
            text(),
            timestamp(),
            timestamp(),
            text(),
            text(),
        )
            .prop_map(
                |(task_id, name, r#type, state, create_time, end_time, atom_id, atom_name)| {
                    pb::TaskSummary {
                        task_id,
                        name,
                        r#type,
                        state,
                        create_time,
                        end_time,
                        atom_id,
                        atom_name,
                    }
                },
            );
        let execution = prop::option::of(
            (
                text(),
                timestamp(),
                timestamp(),
                prop::collection::vec(
                    (text(), text()).prop_map(|(key, value)| pb::Header { key, value }),
                    0..3,
                ),
                prop::collection::vec(task, 0..3),
                prop_oneof![prop::sample::select(vec![0u32, 1, 2, 3]), any::<u32>()],
            )
                .prop_map(|(state, create_time, end_time, headers, tasks, run)| {
                    pb::ExecutionSummary {
                        state,
                        create_time,
                        end_time,
                        headers,
                        tasks,
                        run,
                    }
                }),
        );
        let r#type = prop_oneof![
            prop::sample::select(vec![
                0, 1, 2, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 30, 31, 32, 33, 34, 35, 36, 37
            ]),
            any::<i32>(),
        ];
        (
            (
                text(),
                r#type,
                any::<u64>(),
                timestamp(),
                text(),
                text(),
                text(),
                text(),
            ),
            (text(), text(), text(), text()),
            prop::collection::vec(
                (text(), text()).prop_map(|(event, task_id)| pb::TriggeredBy { event, task_id }),
                0..3,
            ),
            (text(), text(), raw_json(), raw_json(), execution),
        )
            .prop_map(
                |(
                    (
                        id,
                        r#type,
                        sequence,
                        time,
                        engine_name,
                        engine_version,
                        workflow_id,
                        workflow_name,
                    ),
                    (execution_id, task_id, task_name, atom_id),
                    triggered_by,
                    (status, error_message, input, output, execution),
                )| pb::Event {
                    // Cloned first (fields are moved in the order written): the trace
                    // context varies with other fields, the tuple being at its limit.
                    traceparent: task_name.clone(),
                    tracestate: engine_version.clone(),
                    id,
                    r#type,
                    sequence,
                    time,
                    engine_name,
                    engine_version,
                    workflow_id,
                    workflow_name,
                    execution_id,
                    task_id,
                    task_name,
                    atom_id,
                    triggered_by,
                    status,
                    error_message,
                    input,
                    output,
                    execution,
                    // The strategy tuple is at its arity limit; listener fields vary
                    // with the execution id instead.
                    listener_id: task_id_of_listener(r#type),
                    listener_name: String::new(),
                },
            )
    }

    fn task_id_of_listener(t: i32) -> String {
        if t == 50 {
            "listener-1".to_owned()
        } else {
            String::new()
        }
    }

    proptest! {
        // 256 cases unless PROPTEST_CASES says otherwise.
        #![proptest_config(ProptestConfig::default())]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            crate::wire::tests::check_against_prost(&bytes);
            for r in all_renderers() {
                check_outputs(&r, &[&bytes]);
            }
        }

        #[test]
        fn valid_events_render_and_decode_like_prost(e in event(), flip in any::<(usize, u8)>()) {
            let bytes = enc(&e);
            crate::wire::tests::check_against_prost(&bytes);
            let valid_times = crate::wire::tests::timestamps_valid(&e);
            for r in all_renderers() {
                let supported = r.supports(e.r#type);
                match r.render(&[&bytes]) {
                    Ok(_) => prop_assert!(supported && valid_times),
                    Err(err) => {
                        prop_assert_eq!(err.index(), Some(0));
                        let expected = match err.kind() {
                            ErrorKind::Decode => !valid_times,
                            ErrorKind::UnsupportedEvent => valid_times && !supported,
                            ErrorKind::InvalidJson => valid_times && supported,
                            _ => false,
                        };
                        prop_assert!(expected, "{}", err);
                    }
                }
                check_outputs(&r, &[&bytes]);
            }
            // A corrupted copy must decode as prost does and never panic.
            if !bytes.is_empty() {
                let mut bad = bytes.clone();
                let i = flip.0 % bad.len();
                bad[i] ^= flip.1 | 1;
                crate::wire::tests::check_against_prost(&bad);
                for r in all_renderers() {
                    check_outputs(&r, &[&bad[..i], &bad]);
                }
            }
        }

        #[test]
        fn validator_agrees_with_serde_json(v in json_value(), junk in prop::collection::vec(any::<u8>(), 0..12)) {
            let text = serde_json::to_vec(&v).unwrap();
            prop_assert!(crate::json::validate(&text).is_ok());
            let mut compacted = Vec::new();
            crate::json::compact(&text, &mut compacted);
            prop_assert_eq!(serde_json::from_slice::<serde_json::Value>(&compacted).unwrap(), v.clone());
            // Junk: whatever serde_json accepts (it has no lone-surrogate or
            // depth quirks at this size) we accept, and vice versa.
            let mut mixed = text.clone();
            mixed.extend_from_slice(&junk);
            let ours = crate::json::validate(&mixed).is_ok();
            let theirs = serde_json::from_slice::<serde::de::IgnoredAny>(&mixed).is_ok()
                && std::str::from_utf8(&mixed).is_ok();
            prop_assert_eq!(ours, theirs, "{:?}", String::from_utf8_lossy(&mixed));
            prop_assert_eq!(crate::json::validate_find(&mixed, ["a", "BucketId"]).is_ok(), ours);
            let ours = crate::json::validate(&junk).is_ok();
            prop_assert_eq!(crate::json::validate_find(&junk, ["a", "BucketId"]).is_ok(), ours);
            let theirs = serde_json::from_slice::<serde::de::IgnoredAny>(&junk).is_ok()
                && std::str::from_utf8(&junk).is_ok();
            prop_assert_eq!(ours, theirs, "{:?}", junk);
        }
    }
}
