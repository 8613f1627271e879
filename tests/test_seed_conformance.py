"""The seed validators (tests/seeds/) accept their seeds' own examples and reject the rest.

Every fixture marked "verbatim" is copied from `../shared/seeds/` (the CloudEvents ones
from the CloudEvents 1.0 specification and its HTTP binding, since seed 001 defines no
payload); the wrong ones are made by hand, each breaking one rule of its seed.
"""

from __future__ import annotations

import json
from typing import Any, cast

import grpc
import pytest

from seeds import (
    Violation,
    hook,
    validate_cloudevent,
    validate_mistral_event,
    validate_mistral_service,
    validate_tencent,
    validate_tencent_http,
    validate_thain_any,
    validate_thain_flow,
    validate_thain_http,
    validate_thain_job,
    validate_thain_modify,
)
from seeds.known import KNOWN, known_item
from seeds.learn import _Learn
from seeds.mistral import validate_mistral_any
from tidings.v1 import execution_pb2, listener_pb2
from tidings.vocab import method_enum, profile_enum

# --- seed 000 ----------------------------------------------------------------------------

#: "Example: serviceName=workflow_engine, version=v2.0, status=up, timeStamp=2017-10-28
#: 09:43:12" (verbatim values, as the topic's JSON object).
SERVICE_UP = {
    "serviceName": "workflow_engine",
    "version": "v2.0",
    "status": "up",
    "timeStamp": "2017-10-28 09:43:12",
}
#: The topic `mistral` example, verbatim.
TASK_START = """
    {
        "eType": "task_start",
        "wfId": "0b9cc8a4-dd52-4e7b-ba09-52fcb9e93166",
        "exId": "8a54c0f2-9927-44f4-953d-8ac72ef12230",
        "taskId": "eac1e35b-ff01-419d-bdf9-997155fdd3ba",
        "taskName": "A27510_7_68366_780_69844",
        "atomId": "Network.Fix-L3-VPN.DCI-RESOURCE-PREEMPTION",
        "triggeredBy": [{"event": "on-success", "taskId": "4fe82c39-25fb-415d-ac7b-074f7919e114"}],
        "status": "RUNNING",
        "input":{},
        "output": {},
        "timeStamp": "2017-10-28 09:43:12"
    }
"""
#: "triggeredBy字段的约定", verbatim.
TRIGGERED_BY = """
    [
      {
        "event": "on-success",
        "taskId": "4fe82c39-25fb-415d-ac7b-074f7919e114"
      },
      {
        "event": "on-success",
        "taskId": "3bb28873-6132-4025-b5fb-f68415c25e37"
      }
    ]
"""
#: "input字段的约定", verbatim but for the long body (its first keys kept).
INPUT = """
    {
        "body": {
            "routeEntriesA": "1",
            "custName": "测试电路",
            "vpnLinkCode": "杭州DCIVPN87002A",
            "dispatchCode": "中国电信翼翮[2018]480号"
        },
        "headers": {
            "Content-Type": "application/json"
        },
        "session": "9d0746b4-b5d0-4369-b1b4-4dd25f1cfeae",
        "atom": "Bisop.OrderOrcha.Cloud-Enable-DCI-Related-Task.ZTESoft-Any",
        "url": "http://172.16.158.7:3101/CloudClientService/cloudTaskDispatch",
        "method": "post"
    }
"""
#: "output字段的约定": the four examples, verbatim.
OUTPUT_200 = """
    {
        "result": {
            "status": 200, 
            "encoding": "UTF-8", 
            "url": "http://172.16.158.7:3101/crmClientService/singleFinish", 
            "elapsed": 0.472783, 
            "content": {
                "code": 200
            }, 
            "headers": {
                "Date": "Thu, 12 Apr 2018 05:18:02 GMT", 
                "Transfer-Encoding": "chunked", 
                "Content-Type": "application/json;charset=UTF-8", 
                "X-Application-Context": "ite-oss-apigateway:3101"
            }
        } 
    }
"""  # noqa: W291 (the seed's trailing spaces)
OUTPUT_501 = """
    {
        "result": {
            "status": 501, 
            "encoding": "UTF-8", 
            "url": "http://172.16.158.7:3101/crmClientService/singleFinish", 
            "elapsed": 0.472783, 
            "content": {
                "code": 200137,
                "message": "链路带宽无法设置，设置的带宽10G超过限定"
            }, 
            "headers": {
                "Date": "Thu, 12 Apr 2018 05:18:02 GMT", 
                "Transfer-Encoding": "chunked", 
                "Content-Type": "application/json;charset=UTF-8", 
                "X-Application-Context": "ite-oss-apigateway:3101"
            }
        } 
    }
"""  # noqa: W291
OUTPUT_598 = """
    {
        "result": {
            "status": 598,
            "content": {
                "fault": "http request error!",
                "faultString": "http请求超时，重试3次后依然失败",
                "orgRequest": {    
                    "url": "http://172.16.158.7:3101/CloudClientService/cloudTestTask", 
                    "method": "post",
                    "headers": {
                        "Content-Type": "application/json"
                    }, 
                    "body": {
                        "dispatchCode": "中国电信翼翮[2018]485号", 
                        "reqDate": "2018-04-17", 
                        "worktId": "20540", 
                        "proInstId": "146734465", 
                        "workType": "2017110801"
                    } 
                }
            }     
        }
    }
"""  # noqa: W291
OUTPUT_599 = """
    {
        "result": {
            "status": 599,
            "content": {
                "fault": "workflow engine internal error!",
                "faultString": "解析原子能力返回值发生Exception: ..."
            }
        }
    }
"""


def event(**changes: Any) -> bytes:
    """The seed's task_start example with fields changed (None removes one)."""
    doc = json.loads(TASK_START)
    for key, value in changes.items():
        if value is None:
            del doc[key]
        else:
            doc[key] = value
    return json.dumps(doc, ensure_ascii=False).encode()


def whys(violations: list[Violation]) -> list[str]:
    return [str(v) for v in violations]


def test_seed_000_examples_conform() -> None:
    assert validate_mistral_service(json.dumps(SERVICE_UP).encode()) == []
    assert validate_mistral_event(TASK_START.encode()) == []
    assert validate_mistral_event(event(triggeredBy=json.loads(TRIGGERED_BY))) == []
    assert validate_mistral_event(event(input=json.loads(INPUT))) == []
    for output in (OUTPUT_200, OUTPUT_501, OUTPUT_598, OUTPUT_599):
        assert validate_mistral_event(event(eType="task_end", output=json.loads(output))) == []
    # A destination hearing both topics (a mistral webhook) reads each by its keys.
    assert validate_mistral_any(json.dumps(SERVICE_UP).encode()) == []
    assert validate_mistral_any(TASK_START.encode()) == []


def test_every_seed_000_etype_is_accepted_and_no_other() -> None:
    for etype in ("task_start", "task_running", "task_end", "task_redo", "task_pass",
                  "task_rollback", "execution_start", "execution_end", "execution_abort",
                  "execution_rollback_start", "execution_rollback_end"):  # fmt: skip
        assert validate_mistral_event(event(eType=etype)) == [], etype
    for etype in ("execution_pause", "execution_resume", "TASK_START", "task_error"):
        assert whys(validate_mistral_event(event(eType=etype))) == [
            f"$.eType: {etype!r} is not one of seed 000's eTypes"
        ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"extra": 1}, "$.extra: is not a key the seed defines"),
        ({"atomId": None}, "$.atomId: is missing"),
        ({"status": 1}, "$.status: must be a string, not 1"),
        ({"exId": ""}, "$.exId: must not be empty on task_start"),
        ({"taskName": ""}, "$.taskName: must not be empty on task_start"),
        ({"timeStamp": "2017-10-28T09:43:12"}, "$.timeStamp: '2017-10-28T09:43:12' is not in"
         " the seed's time format (like '2017-10-28 09:43:12')"),
        ({"timeStamp": "2017-10-28 09:43:12.5"}, "$.timeStamp: '2017-10-28 09:43:12.5' is not"
         " in the seed's time format (like '2017-10-28 09:43:12')"),
        ({"timeStamp": "2017-10-28 09:43:12+0800"}, "$.timeStamp: '2017-10-28 09:43:12+0800' is"
         " not in the seed's time format (like '2017-10-28 09:43:12')"),
        ({"timeStamp": "2017-02-30 09:43:12"}, "$.timeStamp: '2017-02-30 09:43:12' is not a"
         " real date and time"),
        ({"triggeredBy": {}}, '$.triggeredBy: must be a JSON array of {"event", "taskId"}'),
        ({"triggeredBy": [{"event": "on-success"}]}, "$.triggeredBy[0].taskId: is missing"),
        ({"input": []}, "$.input: must be a JSON object"),
        ({"output": "text"}, "$.output: must be a JSON object"),
    ],
)  # fmt: skip
def test_seed_000_rejects(changes: dict[str, Any], expected: str) -> None:
    assert whys(validate_mistral_event(event(**changes))) == [expected]


def test_seed_000_result_objects_follow_the_output_convention() -> None:
    def result(output: str, **changes: Any) -> list[str]:
        doc = json.loads(output)
        for path, value in changes.items():
            *parents, last = path.split(".")
            target = doc["result"]
            for p in parents:
                target = target[p]
            if value is None:
                del target[last]
            else:
                target[last] = value
        return whys(validate_mistral_event(event(eType="task_end", output=doc)))

    assert result(OUTPUT_598, **{"content.orgRequest": None}) == [
        "$.output.result.content.orgRequest: is missing"
    ]
    assert result(OUTPUT_599, **{"content.orgRequest": {}}) == [
        "$.output.result.content.orgRequest: is not a key the seed defines"
    ]
    assert result(OUTPUT_200, encoding="utf-8") == [
        "$.output.result.encoding: 'utf-8' is not the seed's spelling 'UTF-8'"
    ]
    assert result(OUTPUT_200, elapsed="0.47") == [
        "$.output.result.elapsed: must be a number of seconds"
    ]
    assert result(OUTPUT_200, headers=None) == ["$.output.result.headers: is missing"]
    assert result(OUTPUT_501, status="501") == [
        "$.output.result.status: must be an integer HTTP status"
    ]


def test_seed_000_service_rejects() -> None:
    def service(**changes: Any) -> list[str]:
        doc = {**SERVICE_UP, **changes}
        return whys(validate_mistral_service(json.dumps(doc).encode()))

    assert service(host="h") == ["$.host: is not a key the seed defines"]
    assert service(version=2) == ["$.version: must be a string, not 2"]
    assert service(timeStamp="2017-10-28T09:43:12Z") == [
        "$.timeStamp: '2017-10-28T09:43:12Z' is not in the seed's time format"
        " (like '2017-10-28 09:43:12')"
    ]
    assert whys(validate_mistral_service(b"not json"))[0].startswith("body: is not UTF-8 JSON")


# --- seed 002 ----------------------------------------------------------------------------

#: The seed's three tables, row by row ("回调内容", x filled in), as the forms they are.
THAIN_MODIFY = ["status=1&flowId=f1", "status=2&flowId=f1"]
THAIN_FLOW = [
    "flowId=f1&flowExecutionId=e1&code=2",
    "flowId=f1&flowExecutionId=e1&code=3&message=%E5%A4%B1%E8%B4%A5%E5%8E%9F%E5%9B%A0",
    "flowId=f1&flowExecutionId=e1&code=4",
    "flowId=f1&flowExecutionId=e1&code=5",
    "flowId=f1&flowExecutionId=e1&code=7",
]
THAIN_JOB = [
    "flowId=f1&flowExecutionId=e1&code=2",
    "flowId=f1&flowExecutionId=e1&code=3",
    "flowId=f1&flowExecutionId=e1&code=4&message=disk+full",
]


def test_seed_002_rows_conform() -> None:
    for form in THAIN_MODIFY:
        assert validate_thain_modify(form) == [] and validate_thain_any(form) == []
    for form in THAIN_FLOW:
        assert validate_thain_flow(form) == [] and validate_thain_any(form) == []
    for form in THAIN_JOB:
        assert validate_thain_job(form) == [] and validate_thain_any(form) == []
    headers = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
    assert validate_thain_http("POST", headers) == []


@pytest.mark.parametrize(
    ("validate", "form", "expected"),
    [
        (validate_thain_flow, "flowId=f&flowExecutionId=e&code=6",
         ["form.code: '6' is not one of the seed's values (2 success, 3 error, 4 running,"
          " 5 killed, 7 auto_killed)"]),
        (validate_thain_flow, "flowId=f&flowExecutionId=e&code=3",
         ["form.message: is missing"]),
        (validate_thain_flow, "flowId=f&flowExecutionId=e&code=3&message=",
         ["form.message: must give the reason of the failure (code 3)"]),
        (validate_thain_flow, "flowId=f&flowExecutionId=e&code=2&message=x",
         ["form.message: is not a key the seed defines here"]),
        (validate_thain_flow, "flowId=f&flowExecutionId=e&code=02",
         ["form.code: '02' is not one of the seed's values (2 success, 3 error, 4 running,"
          " 5 killed, 7 auto_killed)"]),
        (validate_thain_flow, "flowId=f&code=2", ["form.flowExecutionId: is missing"]),
        (validate_thain_flow, "flowId=f&flowExecutionId=e&code=2&code=2",
         ["form.code: appears more than once"]),
        (validate_thain_job, "flowId=f&flowExecutionId=e&code=5",
         ["form.code: '5' is not one of the seed's values (2 running, 3 success, 4 error)"]),
        (validate_thain_job, "flowId=f&flowExecutionId=e&code=4", ["form.message: is missing"]),
        (validate_thain_job, "flowId=f&flowExecutionId=e&code=2&jobId=j",
         ["form.jobId: is not a key the seed defines here"]),
        (validate_thain_modify, "status=3&flowId=f",
         ["form.status: '3' is not one of the seed's values (1 paused (暂停), 2 resumed (继续))"]),
        (validate_thain_modify, "status=1&flowId=f&flowExecutionId=e",
         ["form.flowExecutionId: is not a key the seed defines here"]),
        (validate_thain_modify, "status=1&flowId=", ["form.flowId: must not be empty"]),
        (validate_thain_any, '{"flowId": "f", "code": 2}',
         ["form: is not a UTF-8 url-encoded form"
          " (bad query field: '{\"flowId\": \"f\", \"code\": 2}')"]),
    ],
)  # fmt: skip
def test_seed_002_rejects(validate: Any, form: str, expected: list[str]) -> None:
    assert whys(validate(form)) == expected


def test_seed_002_is_posted_as_a_form() -> None:
    assert whys(validate_thain_http("PUT", {"content-type": "application/json"})) == [
        "method: 'PUT' is not the seed's POST",
        "content-type: 'application/json' is not the seed's FORM"
        " (application/x-www-form-urlencoded)",
    ]


# --- seed 003 ----------------------------------------------------------------------------

#: "实际案例", verbatim (its indentation as in the seed).
TENCENT_EXAMPLE = """<Response>
    <WorkflowExecution>
    <RunId>ie4d9187d35dc11eb9cec525400860000</RunId>
    <BucketId>examplebucket-1250000000</BucketId>
    <Object>0000.mp4</Object>
    <CosHeaders>
    <Key>x-cos-meta-id</Key>
    <Value>testid</Value>
    </CosHeaders>
    <WorkflowId>w2b22307fb0e44107bc8ffe71e1d20000</WorkflowId>
    <WorkflowName>example</WorkflowName>
    <CreateTime>2020-12-01 11:00:41+0800</CreateTime>
    <State>Success</State>
    <Tasks>
    <Type>Transcode</Type>
    <CreateTime>2020-12-01 11:00:42+0800</CreateTime>
    <EndTime>2020-12-01 11:00:45+0800</EndTime>
    <State>Success</State>
    <JobId>je5195f3e35dc11ebbe6fed17a7c10000</JobId>
    <Name>Transcode_1600413767353</Name>
    <TemplateId>t182c0ca7d91ca40969a3fc97c5559091a</TemplateId>
    <TemplateName>example</TemplateName>
    </Tasks>
    <Tasks>
    <Type>Transcode</Type>
    <CreateTime>2020-12-01 11:00:42+0800</CreateTime>
    <EndTime>2020-12-01 11:00:45+0800</EndTime>
    <State>Success</State>
    <JobId>je55e922035dc11ebbe6fed17a7c10000</JobId>
    <Name>Transcode_1600413767444</Name>
    <TemplateId>t182c0ca7d91ca40969a3fc97c5559091b</TemplateId>
    <TemplateName>example</TemplateName>
    </Tasks>
    </WorkflowExecution>
    </Response>"""
#: The template ("包含完整节点数据的内容展示如下"), verbatim: every element, all empty.
TENCENT_TEMPLATE = """<Response>
    <WorkflowExecution>
    <RunId></RunId>
    <BucketId></BucketId>
    <Object></Object>
    <CosHeaders>
    <Key></Key>
    <Value></Value>
    </CosHeaders>
    <WorkflowId></WorkflowId>
    <WorkflowName></WorkflowName>
    <CreateTime></CreateTime>
    <State></State>
    <Tasks>
    <Type></Type>
    <CreateTime></CreateTime>
    <EndTime></EndTime>
    <State></State>
    <JobId></JobId>
    <Name></Name>
    <TemplateId></TemplateId>
    <TemplateName></TemplateName>
    </Tasks>
    </WorkflowExecution>
    </Response>"""
RUN = "Response.WorkflowExecution"


def test_seed_003_example_conforms() -> None:
    assert validate_tencent(TENCENT_EXAMPLE) == []
    assert validate_tencent(TENCENT_EXAMPLE.encode()) == []
    assert validate_tencent_http("POST", {"content-type": "application/xml; charset=utf-8"}) == []


def test_seed_003_template_has_the_right_elements_and_no_values() -> None:
    # Structure and order pass; only the values a callback cannot lack are missing.
    assert whys(validate_tencent(TENCENT_TEMPLATE)) == [
        f"{RUN}.RunId: must not be empty",
        f"{RUN}.WorkflowId: must not be empty",
        f"{RUN}.CreateTime: must not be empty",
        f"{RUN}.State: must not be empty",
        f"{RUN}.Tasks.CreateTime: must not be empty",
        f"{RUN}.Tasks.EndTime: must not be empty",
        f"{RUN}.Tasks.State: must not be empty",
        f"{RUN}.Tasks.JobId: must not be empty",
        f"{RUN}.Tasks.Name: must not be empty",
        f"{RUN}.State: '' is not Success or Failed",
    ]


def test_seed_003_cos_headers_are_optional_and_may_repeat() -> None:
    cos = "<CosHeaders>\n    <Key>x-cos-meta-id</Key>\n    <Value>testid</Value>\n    </CosHeaders>"
    assert validate_tencent(TENCENT_EXAMPLE.replace(cos, "")) == []
    assert validate_tencent(TENCENT_EXAMPLE.replace(cos, cos + cos)) == []


ORDER = (
    "children ['RunId', 'BucketId', 'Object', 'CosHeaders', 'WorkflowId', 'WorkflowName',"
    " 'State', 'CreateTime', 'Tasks', 'Tasks'] are not the seed's (RunId, BucketId, Object,"
    " CosHeaders*, WorkflowId, WorkflowName, CreateTime, State, Tasks*) in order"
)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("<RunId>", "<EventName>WorkflowFinish</EventName><RunId>",
         [f"{RUN}.EventName: is not an element the seed defines"]),
        ("<Response>", '<Response><EventName>x</EventName>',
         ["Response.EventName: is not an element the seed defines"]),
        ("<CreateTime>2020-12-01 11:00:41+0800</CreateTime>\n    <State>Success</State>",
         "<State>Success</State><CreateTime>2020-12-01 11:00:41+0800</CreateTime>",
         [f"{RUN}: {ORDER}"]),
        ("<BucketId>examplebucket-1250000000</BucketId>", "", [
            f"{RUN}: children ['RunId', 'Object', 'CosHeaders', 'WorkflowId', 'WorkflowName',"
            " 'CreateTime', 'State', 'Tasks', 'Tasks'] are not the seed's (RunId, BucketId,"
            " Object, CosHeaders*, WorkflowId, WorkflowName, CreateTime, State, Tasks*) in order"
        ]),
        ("<State>Success</State>\n    <Tasks>", "<State>Done</State>\n    <Tasks>",
         [f"{RUN}.State: 'Done' is not Success or Failed"]),
        ("<State>Success</State>\n    <JobId>je5195", "<State>Failed</State>\n    <JobId>je5195",
         [f"{RUN}.State: is Success but task 'Transcode_1600413767353' is Failed"]),
        ("<CreateTime>2020-12-01 11:00:41+0800</CreateTime>",
         "<CreateTime>2020-12-01T11:00:41+08:00</CreateTime>",
         [f"{RUN}.CreateTime: '2020-12-01T11:00:41+08:00' is not in the seed's time format"
          " (like '2020-12-01 11:00:41+0800')"]),
        ("<EndTime>2020-12-01 11:00:45+0800</EndTime>\n    <State>Success</State>\n"
         "    <JobId>je5195",
         "<EndTime>2020-12-01 11:00:45</EndTime>\n    <State>Success</State>\n    <JobId>je5195",
         [f"{RUN}.Tasks.EndTime: '2020-12-01 11:00:45' is not in the seed's time format"
          " (like '2020-12-01 11:00:41+0800')"]),
        ("<RunId>", '<RunId lang="en">',
         [f"{RUN}.RunId: has attributes the seed does not define: ['lang']"]),
        ("<Object>0000.mp4</Object>", "<Object><Key>0000.mp4</Key></Object>",
         [f"{RUN}.Object: must hold text, not elements"]),
    ],
)  # fmt: skip
def test_seed_003_rejects(old: str, new: str, expected: list[str]) -> None:
    assert old in TENCENT_EXAMPLE
    assert whys(validate_tencent(TENCENT_EXAMPLE.replace(old, new, 1))) == expected


def test_seed_003_is_posted_as_xml() -> None:
    xml = TENCENT_EXAMPLE.replace("<Response>", "<Reply>").replace("</Response>", "</Reply>")
    assert whys(validate_tencent(xml)) == ["Reply: the root element must be <Response>"]
    assert whys(validate_tencent(b"<Response><WorkflowExecution>")) == [
        "xml: is not well-formed XML (no element found: line 1, column 29)"
    ]
    assert whys(validate_tencent_http("POST", {"content-type": "application/json"})) == [
        "content-type: 'application/json' is not the seed's application/xml"
    ]


# --- CloudEvents (seed 001 names no payload) ---------------------------------------------

#: The core specification's example, verbatim.
CE_SPEC_EXAMPLE = """{
    "specversion" : "1.0",
    "type" : "com.github.pull_request.opened",
    "source" : "https://github.com/cloudevents/spec/pull",
    "subject" : "123",
    "id" : "A234-1234-1234",
    "time" : "2018-04-05T17:31:00Z",
    "comexampleextension1" : "value",
    "comexampleothervalue" : 5,
    "datacontenttype" : "text/xml",
    "data" : "<much wow=\\"xml\\"/>"
}"""
#: The HTTP binding's binary-mode example (3.1.4), its headers verbatim.
CE_BINARY_HEADERS = {
    "ce-specversion": "1.0",
    "ce-type": "com.example.someevent",
    "ce-time": "2018-04-05T03:56:24Z",
    "ce-id": "1234-1234-1234",
    "ce-source": "/mycontext/subcontext",
    "content-type": "application/json; charset=utf-8",
}
STRUCTURED = {"content-type": "application/cloudevents+json; charset=utf-8"}


def structured(**changes: Any) -> bytes:
    doc = json.loads(CE_SPEC_EXAMPLE)
    for key, value in changes.items():
        if value is None:
            del doc[key]
        else:
            doc[key] = value
    return json.dumps(doc, ensure_ascii=False).encode()


def test_cloudevents_spec_examples_conform() -> None:
    assert validate_cloudevent(STRUCTURED, CE_SPEC_EXAMPLE.encode()) == []
    assert validate_cloudevent(CE_BINARY_HEADERS, b'{"a": 1}') == []
    # Kafka binding: ce_ headers, UTF-8 values, content-type as is.
    kafka = {k.replace("ce-", "ce_"): v for k, v in CE_BINARY_HEADERS.items()}
    assert validate_cloudevent(kafka, b'{"a": 1}', binding="kafka") == []
    assert (
        validate_cloudevent(
            {"content-type": "application/cloudevents+json"},
            CE_SPEC_EXAMPLE.encode(),
            binding="kafka",
        )
        == []
    )
    # Percent-encoded header values (the binding's own example) decode to UTF-8.
    euro = {**CE_BINARY_HEADERS, "ce-subject": "Euro%20%E2%82%AC%20%F0%9F%98%80"}
    assert validate_cloudevent(euro, b"{}") == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"id": None}, "$.id: is missing (REQUIRED)"),
        ({"id": ""}, "$.id: must be a non-empty string"),
        ({"specversion": "0.3"}, "$.specversion: '0.3' is not '1.0'"),
        ({"time": "2018-04-05 17:31:00"},
         "$.time: '2018-04-05 17:31:00' is not an RFC 3339 timestamp"),
        ({"time": "2018-04-05T17:31:00"},
         "$.time: '2018-04-05T17:31:00' is not an RFC 3339 timestamp"),
        ({"executionId": "x"}, "$.executionId: attribute names are lower-case a-z and 0-9 only"),
        ({"comexampleothervalue": 2**31},
         "$.comexampleothervalue: is an Integer outside the 32-bit range"),
        ({"comexampleothervalue": 1.5},
         "$.comexampleothervalue: is not a Boolean, Integer or String"),
        ({"subject": 123}, "$.subject: must be a JSON string"),
        ({"source": "/a b"}, "$.source: '/a b' is not a URI-reference"),
        ({"dataschema": "schema.json"}, "$.dataschema: 'schema.json' is not an absolute URI"),
        ({"datacontenttype": "xml"}, "$.datacontenttype: 'xml' is not an RFC 2046 media type"),
        ({"data_base64": "AAAA"}, "$: has both data and data_base64"),
    ],
)  # fmt: skip
def test_cloudevents_structured_rejects(changes: dict[str, Any], expected: str) -> None:
    assert whys(validate_cloudevent(STRUCTURED, structured(**changes))) == [expected]


def test_cloudevents_binary_rejects() -> None:
    def binary(body: bytes = b"{}", **headers: str | None) -> list[str]:
        sent = {**CE_BINARY_HEADERS}
        for name, value in headers.items():
            name = name.replace("_", "-")
            if value is None:
                del sent[name]
            else:
                sent[name] = value
        return whys(validate_cloudevent(sent, body))

    assert binary(ce_id=None) == ["ce-id: is missing (REQUIRED)"]
    assert binary(ce_subject="a b") == [
        "ce-subject: is not percent-encoded (space, '\"', '%' and non-ASCII must be)"
    ]
    assert binary(ce_subject="%C0%A0") == [
        "ce-subject: percent-decodes to bytes that are not UTF-8"
    ]
    assert binary(ce_datacontenttype="application/json") == [
        "ce-datacontenttype: must not be sent: content-type carries it"
    ]
    assert binary(b"{not json") == ["data: is not UTF-8 JSON (Expecting property name enclosed in"
                                    " double quotes: line 1 column 2 (char 1))"]  # fmt: skip
    # A JSON ping (no CloudEvents attributes at all) is not a CloudEvent.
    ping = validate_cloudevent({"content-type": "application/json"}, b'{"type": "ping"}')
    assert [v.path for v in ping] == ["ce-id", "ce-source", "ce-specversion", "ce-type"]


def test_cloudevents_batches_are_not_read() -> None:
    batch = {"content-type": "application/cloudevents-batch+json"}
    assert whys(validate_cloudevent(batch, b"[]")) == [
        "content-type: 'application/cloudevents-batch+json' is not a structured format read here"
    ]


# --- the hook ------------------------------------------------------------------------------


def test_the_hook_holds_each_destination_to_what_its_listener_asked_for() -> None:
    expect = hook.Expect("cloudevents", mode="binary")
    found = hook.validate(expect, STRUCTURED, CE_SPEC_EXAMPLE.encode())
    assert whys(found) == ["content-type: is structured mode, not binary"]
    put = hook.Expect("thain", "flow", method="PUT")
    form = {"content-type": "application/x-www-form-urlencoded"}
    assert hook.validate(put, form, b"flowId=f&flowExecutionId=e&code=2", method="PUT") == []
    assert whys(hook.validate(put, form, b"flowId=f&flowExecutionId=e&code=2")) == [
        "method: 'POST', but the listener asked for 'PUT'"
    ]
    assert hook.validate(hook.Expect("tencent_json"), {}, b"anything") == []  # not a seed
    assert hook.validate(hook.Expect("x", exempt="opted in"), {}, b"anything") == []
    assert whys(hook.validate(hook.Expect("nope"), {}, b"")) == [
        "profile: 'nope' has no seed validator (see NOT_SEED)"
    ]


def test_the_hook_checks_listener_urls_only_and_names_the_payload() -> None:
    hook.expect_webhook("http://127.0.0.1:1/seed-test", hook.Expect("thain", "modify"))
    headers = {"content-type": "application/x-www-form-urlencoded"}
    hook.check_request(1, "POST", "/not-a-listener", headers, b"junk")
    hook.check_request(1, "POST", "/seed-test", headers, b"status=1&flowId=f")
    assert hook.take_unexpected() == []
    hook.check_request(1, "POST", "/seed-test", headers, b"status=9&flowId=f")
    (finding,) = hook.take_unexpected()
    assert str(finding).startswith(
        "POST http://127.0.0.1:1/seed-test [thain/modify]: form.status: '9' is not one of"
    )
    assert "payload: b'status=9&flowId=f'" in str(finding)
    hook.forget_port(1)
    hook.check_request(1, "POST", "/seed-test", headers, b"status=9&flowId=f")
    assert hook.take_unexpected() == []
    # A topic nobody registered is a violation: a consumer must know what it reads.
    hook.check_record("seed-test-unknown", [], b"{}")
    (unknown,) = hook.take_unexpected()
    assert str(unknown.violation) == "topic: no profile is known for it"


def test_known_entries_match_exact_violations_only() -> None:
    source = Violation("$.source", "'/tidings/引擎 50%' is not a URI-reference")
    assert known_item("cloudevents", source, b"") == "new.3"
    assert known_item("mistral", source, b"") is None  # another profile
    other = Violation("$.source", "'/tidings/引擎 51%' is not a URI-reference")
    assert known_item("cloudevents", other, b"") is None
    # Fixed items are gone: if one came back, it would fail its test.
    resume = Violation("$.eType", "'execution_resume' is not one of seed 000's eTypes")
    assert known_item("mistral", resume, b"") is None
    job_id = Violation("form.jobId", "is not a key the seed defines here")
    assert known_item("thain", job_id, b"") is None
    assert all(key.startswith(("11.", "new.")) for key in KNOWN)


def test_listeners_are_learnt_from_the_requests_that_make_them() -> None:
    class Details(grpc.ClientCallDetails):
        def __init__(self, method: str) -> None:
            self.method = method

    class Done:
        def add_done_callback(self, fn: Any) -> None:
            raise AssertionError("only UpdateListener waits for its answer")

    def call(method: str, request: Any) -> None:
        _Learn().intercept_unary_unary(lambda d, r: cast(Any, Done()), Details(method), request)

    listener = listener_pb2.Listener(
        profile=profile_enum("cloudevents"),
        webhook=listener_pb2.WebhookTransport(
            url="http://127.0.0.1:2/ce", method=method_enum("put"),
            cloudevents_mode=listener_pb2.CLOUD_EVENTS_MODE_BINARY,
        ),
    )  # fmt: skip
    call(
        "/tidings.v1.ListenerService/CreateListener",
        listener_pb2.CreateListenerRequest(listener=listener),
    )
    target = execution_pb2.NotifyTarget(url="http://127.0.0.1:2/n")
    call(
        "/tidings.v1.ExecutionService/StartExecution",
        execution_pb2.StartExecutionRequest(notify=[target]),
    )
    ce = hook.Expect("cloudevents", mode="binary", method="PUT", origin="CreateListener")
    notify = hook.Expect("mistral", origin="StartExecution.notify")
    try:
        assert hook._webhooks[(2, "/ce")] == [ce]
        assert hook._webhooks[(2, "/n")] == [notify]
    finally:
        hook.forget_port(2)
