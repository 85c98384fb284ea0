"""ArcClient: the request shapes it sends, and how it treats faults a real Arc will not
produce on demand (500 with Arc text, refused connections, timeouts, 503). Answers are
golden bodies recorded from Arc v26.06.3; the fake stands only at httpx's transport."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import httpx
import msgpack
import pytest

from memtrace_mcp.errors import InvalidInputError, MemtraceError, UnavailableError
from memtrace_mcp.stores.arc.client import ArcClient, DeleteResult
from memtrace_mcp.stores.arc.columns import arc_time_unit, check_columns
from memtrace_mcp.stores.arc.failures import (
    ArcAuthError,
    ArcDeleteIncompleteError,
    ArcFlushFailedError,
    ArcPayloadTooLargeError,
    ArcRequestError,
    ArcUnavailableError,
)
from memtrace_mcp.stores.arc.results import (
    QueryResult,
    to_bool,
    to_datetime,
    to_float,
    to_int,
    to_str,
    to_time_us,
)
from memtrace_mcp.stores.arc.sql import Fragment, SqlTooLargeError, in_list

# Explicit, so parametrized async tests get their backend at collection time whether
# the suite runs with anyio_mode = "auto" or with a conftest hook that marks them later.
pytestmark = pytest.mark.anyio

TOKEN = "golden-admin-token-0123456789abcdef0123456789"
T0 = 1768471200000000  # 2026-01-15T10:00:00Z in µs
STORAGE = "/var/lib/arc/data/arc/golden_query/memories"

# Golden bodies (placeholders filled in): q_types, q_literal_types, q_unknown_column, ...
Q_TYPES = (
    '{"success":true,"columns":["memory_id","user_id","content","importance","pinned",'
    '"access_count","tags","time","nothing"],"data":[["m1","u1","It\'s 100% done",1,true,3,'
    '",go,rust,","2026-01-15T10:00:00Z",null],["m3",null,"back\\\\slash and \'quotes\'",0.25,'
    'false,1,",go-lang,","2026-01-15T10:00:02Z",null],["m4","u2","Café 😀 unicode",0.75,true,'
    '10,null,"2026-01-15T11:00:00Z",null]],"row_count":3,"execution_time_ms":2,'
    '"timestamp":"2026-11-22T01:48:06Z"}'
)
Q_LITERAL_TYPES = (
    '{"success":true,"columns":["decimal_lit","sum_bigint","avg_bigint","n","big_double",'
    '"tiny_double","neg_zero","nan","date","ts_naive","big_int"],"data":[["1.5","25",'
    '3.5714285714285716,7,100000000000000000000,0.0000001,-0,null,"2026-01-15T00:00:00Z",'
    '"2026-01-15T10:00:00Z",9007199254740993]],"row_count":1,"execution_time_ms":1,'
    '"timestamp":"2026-11-22T01:48:06Z"}'
)
Q_MISSING_TABLE = {
    "success": True,
    "columns": [],
    "data": [],
    "row_count": 0,
    "execution_time_ms": 1,
    "timestamp": "2026-11-22T01:48:06Z",
}
Q_UNKNOWN_COLUMN = {
    "success": False,
    "columns": None,
    "data": None,
    "row_count": 0,
    "execution_time_ms": 1,
    "timestamp": "2026-11-22T01:48:06Z",
    "error": 'arrow query failed: Binder Error: Referenced column "memory_idd" not found in '
    f"FROM clause!\n\nLINE 1: SELECT memory_idd FROM read_parquet('{STORAGE}/**/*.parquet')",
}
DEL_BY_IDS = {
    "success": True,
    "deleted_count": 1,
    "affected_files": 1,
    "rewritten_files": 1,
    "execution_time_ms": 4,
    "dry_run": False,
    "files_processed": ["memories_20261122_014333_123456789.parquet"],
}
DEL_WHERE_PREFIXED = {
    "success": True,
    "deleted_count": 0,
    "affected_files": 0,
    "rewritten_files": 0,
    "execution_time_ms": 1,
    "dry_run": False,
    "files_processed": [],
}
ND_DELETE = {
    "success": False,
    "deleted_count": 0,
    "affected_files": 0,
    "rewritten_files": 0,
    "execution_time_ms": 0,
    "dry_run": False,
    "files_processed": None,
    "error": "Delete operations are disabled. Set delete.enabled=true in arc.toml to enable.",
}
FLUSHED = {"message": "All buffers flushed", "status": "success"}

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """An httpx transport that answers from a script and keeps what was sent."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def client_for(recorder: Recorder, sleeps: Sleeps | None = None, **kwargs) -> ArcClient:
    return ArcClient(
        "http://arc.test:8000/",
        TOKEN,
        "memtrace",
        transport=httpx.MockTransport(recorder),
        sleep=sleeps or Sleeps(),
        jitter=lambda: 0.5,
        **kwargs,
    )


def json_answer(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body)


def assert_no_arc_text(error: BaseException) -> None:
    shown = " ".join([str(error), repr(error), *map(str, error.args)])
    for leak in ("memory_idd", STORAGE, "Binder", "read_parquet", "Failed to write", TOKEN):
        assert leak not in shown


# --- writes ------------------------------------------------------------------------


async def test_write_sends_one_columnar_msgpack_map_with_strict_types():
    recorder = Recorder(httpx.Response(204))
    async with client_for(recorder) as arc:
        await arc.write_columns(
            "memories",
            {
                "time": [T0, T0 + 1],
                "memory_id": ["w1", "w2"],
                "content": ["nul\x00inside 😀", "back\\slash"],
                "importance": [1, 0.5],  # ints beside floats are sent as floats
                "score": [None, None],  # all-null numeric: dropped, never sent
                "pinned": [False, True],
                "access_count": [0, 7],
                "session_id": [None, None],  # pinned to string: kept as all-null text
            },
            types={"session_id": "string", "access_count": "int"},
        )
    (request,) = recorder.requests
    assert request.method == "POST"
    assert request.url.path == "/api/v1/write/msgpack"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["x-arc-database"] == "memtrace"
    assert request.headers["content-type"] == "application/msgpack"
    body = msgpack.unpackb(request.content, raw=False)
    assert body["m"] == "memories"
    cols = body["columns"]
    assert set(cols) == {
        "time",
        "memory_id",
        "content",
        "importance",
        "pinned",
        "access_count",
        "session_id",
    }
    assert cols["time"] == [T0, T0 + 1] and all(type(t) is int for t in cols["time"])
    assert cols["importance"] == [1.0, 0.5] and all(type(v) is float for v in cols["importance"])
    assert cols["pinned"] == [False, True] and all(type(v) is bool for v in cols["pinned"])
    assert cols["access_count"] == [0, 7] and all(type(v) is int for v in cols["access_count"])
    assert cols["content"] == ["nul\x00inside 😀", "back\\slash"]  # wq_unicode_roundtrip
    assert cols["session_id"] == [None, None]


async def test_write_can_authenticate_with_x_api_key():
    recorder = Recorder(httpx.Response(204))
    async with client_for(recorder, auth_header="x-api-key") as arc:
        await arc.write_columns("memories", {"time": [T0], "v": [1.0]})
    assert recorder.requests[0].headers["x-api-key"] == TOKEN  # golden auth_x_api_key
    assert "authorization" not in recorder.requests[0].headers


@pytest.mark.parametrize(
    ("case", "columns", "field"),
    [
        ("err_empty_arrays_write", {"time": [], "v": []}, "time"),
        ("write_missing_time", {"v": [1]}, "time"),
        ("write_unequal_lengths", {"time": [T0, T0 + 1], "memory_id": ["x"]}, "memory_id"),
        ("write_time_null_first", {"time": [None, T0]}, "time"),
        ("write_time_string", {"time": ["2026-01-15T10:00:00Z"]}, "time"),
        ("write_time_float_seconds", {"time": [1768471200.75]}, "time"),
        ("write_time_unit_seconds", {"time": [1768471200]}, "time"),
        ("write_time_unit_millis", {"time": [1768471200123]}, "time"),
        ("write_time_unit_nanos", {"time": [1768471200123456789]}, "time"),
        ("write_time_unit_mixed_batch", {"time": [T0, 1768471200]}, "time"),
        ("write_str_then_int", {"time": [T0, T0], "v": ["x", 1]}, "v"),
        ("write_int_then_str", {"time": [T0, T0], "v": [1, "x"]}, "v"),
        ("write_bool_then_int", {"time": [T0, T0], "v": [True, 1]}, "v"),
        ("write_list_value", {"time": [T0], "v": [[1, 2]]}, "v"),
        ("write_dict_value", {"time": [T0], "v": [{"a": 1}]}, "v"),
        ("write_bytes_value", {"time": [T0], "v": [b"\x00\x01"]}, "v"),
        ("write_uint64_over_int64", {"time": [T0], "v": [2**64 - 1]}, "v"),
        ("write_column_not_array", {"time": [T0], "scalar": 5}, "scalar"),
        ("nan reads back as null", {"time": [T0], "v": [float("nan")]}, "v"),
        ("lone surrogate", {"time": [T0], "v": ["\ud800"]}, "v"),
    ],
)
async def test_poison_writes_are_refused_before_anything_is_sent(case, columns, field):
    recorder = Recorder(httpx.Response(204))
    async with client_for(recorder) as arc:
        with pytest.raises(InvalidInputError) as info:
            await arc.write_columns("memories", columns)
    assert info.value.field == field, case
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("case", "columns"),
    [
        ("err_empty_column_name_write (can crash Arc)", {"time": [T0], "": [1]}),
        ("write_underscore_column (silently dropped)", {"time": [T0], "_hidden": [1]}),
        ("unquotable column", {"time": [T0], "set": [1]}),
    ],
)
async def test_column_names_arc_mishandles_are_refused(case, columns):
    recorder = Recorder(httpx.Response(204))
    async with client_for(recorder) as arc:
        with pytest.raises(InvalidInputError):
            await arc.write_columns("memories", columns)
    assert recorder.requests == [], case


@pytest.mark.parametrize("name", ["bad name!", "1abc", "", "a-b"])
async def test_bad_measurement_names_are_refused(name):
    # write_bad_measurement_name, write_measurement_leading_digit
    async with client_for(Recorder(httpx.Response(204))) as arc:
        with pytest.raises(InvalidInputError):
            await arc.write_columns(name, {"time": [T0], "v": [1]})


def test_pinned_types_coerce_or_refuse():
    out = check_columns({"time": [T0, T0], "importance": [1, 2]}, {"importance": "float"})
    assert out["importance"] == [1.0, 2.0] and all(type(v) is float for v in out["importance"])
    # wq_int_then_float_truncated: an int column would silently truncate 2.5
    with pytest.raises(InvalidInputError):
        check_columns({"time": [T0, T0], "n": [1, 2.5]}, {"n": "int"})


def test_time_units_are_guessed_like_arc_does():
    # write_time_unit_* and wq_time_units
    assert arc_time_unit(1768471200) == "s"
    assert arc_time_unit(1768471200123) == "ms"
    assert arc_time_unit(1768471200123456) == "us"
    assert arc_time_unit(1768471200123456789) == "ns"


# --- queries -----------------------------------------------------------------------


async def test_query_posts_json_and_maps_values_by_column_name():
    recorder = Recorder(
        httpx.Response(200, content=Q_TYPES.encode(), headers={"content-type": "application/json"})
    )
    convert = {
        "importance": to_float,
        "time": to_time_us,
        "access_count": to_int,
        "pinned": to_bool,
        "user_id": to_str,
    }
    async with client_for(recorder) as arc:
        result = await arc.query("SELECT * FROM memories ORDER BY time", convert=convert)
    request = recorder.requests[0]
    assert request.url.path == "/api/v1/query"
    assert request.headers["content-type"] == "application/json"  # q_no_content_type
    assert request.headers["x-arc-database"] == "memtrace"
    assert json.loads(request.content) == {"sql": "SELECT * FROM memories ORDER BY time"}
    first, second, third = result.records()
    assert first["importance"] == 1.0 and type(first["importance"]) is float  # JSON "1"
    assert first["time"] == T0
    assert second["user_id"] is None
    assert second["content"] == "back\\slash and 'quotes'"
    assert third["content"] == "Café 😀 unicode"
    assert result.column("memory_id") == ["m1", "m3", "m4"]


async def test_a_table_with_no_files_is_an_empty_result_even_for_count():
    # q_missing_table, q_missing_database, q_table_wrong_case, del_after_full_table
    async with client_for(Recorder(json_answer(200, Q_MISSING_TABLE))) as arc:
        result = await arc.query("SELECT count(*) AS n FROM never_written")
    assert len(result) == 0
    assert result.records() == []
    assert result.column("n") == []
    assert result.scalar(default=0) == 0


def test_json_number_pitfalls_are_coerced_by_expected_type():
    # q_literal_types: DECIMAL and HUGEINT come as strings, 1e-7 as 0.0000001, -0.0 as -0
    convert = {
        "decimal_lit": to_float,
        "sum_bigint": to_int,
        "big_double": to_float,
        "tiny_double": to_float,
        "neg_zero": to_float,
        "nan": to_float,
        "date": to_time_us,
        "ts_naive": to_datetime,
        "big_int": to_int,
    }
    (row,) = QueryResult.from_arc(json.loads(Q_LITERAL_TYPES), convert).records()
    assert row["decimal_lit"] == 1.5
    assert row["sum_bigint"] == 25
    assert row["big_double"] == 1e20
    assert row["tiny_double"] == 1e-7
    assert row["neg_zero"] == 0.0 and type(row["neg_zero"]) is float
    assert row["nan"] is None
    assert row["date"] == 1768435200000000
    assert row["ts_naive"].isoformat() == "2026-01-15T10:00:00+00:00"
    assert row["big_int"] == 9007199254740993  # beyond 2**53, exact


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("2026-01-15T10:00:00Z", T0),  # trimmed fraction (q_types)
        ("2026-01-15T10:00:00.123Z", T0 + 123000),  # wq_time_units ms
        ("2026-01-15T10:00:00.654321Z", T0 + 654321),
        ("2026-01-15T10:00:00.000001Z", T0 + 1),  # wq_memories
        ("1970-01-01T00:29:28.4712Z", 1768471200),  # wq_time_units mixed-s-as-us
        ("2026-01-15 10:00:00+00", T0),  # q_timezone_setting
        ("2026-01-15T12:00:00+02:00", T0),
        ("2026-01-15T10:00:00.123456789Z", T0 + 123456),
    ],
)
def test_timestamps_in_every_recorded_format_become_microseconds(text, micros):
    assert to_time_us(text) == micros


def test_epoch_us_integers_are_taken_as_microseconds_without_guessing():
    # q_epoch_us_select; a 1970 µs value must not be misread as seconds (wq_time_units)
    assert to_time_us(1768471200) == 1768471200
    assert to_time_us(T0) == T0


def test_drifted_columns_still_convert_and_garbage_is_a_malformed_answer():
    # wq_type_drift_all_varchar: numbers come back as text
    body = {"success": True, "columns": ["score"], "data": [["1"], ["0.5"], ["high"]]}
    with pytest.raises(Exception) as info:
        QueryResult.from_arc(body, {"score": to_float})
    assert type(info.value).__name__ == "ArcMalformedAnswer"
    ok = QueryResult.from_arc({**body, "data": [["1"], ["0.5"]]}, {"score": to_float})
    assert ok.column("score") == [1.0, 0.5]


async def test_a_query_over_the_byte_limit_is_refused_before_sending():
    recorder = Recorder(json_answer(200, Q_MISSING_TABLE))
    async with client_for(recorder) as arc:
        with pytest.raises(SqlTooLargeError):
            await arc.query("SELECT length('" + "é" * 4990 + "') AS n")  # 10,002 bytes
    assert recorder.requests == []


# --- faults ------------------------------------------------------------------------


async def test_arc_500_with_its_error_text_is_a_bad_request_without_the_text(caplog):
    recorder = Recorder(json_answer(500, Q_UNKNOWN_COLUMN))
    caplog.set_level(logging.DEBUG)
    async with client_for(recorder) as arc:
        with pytest.raises(ArcRequestError) as info:
            await arc.query("SELECT memory_idd FROM memories")
    assert len(recorder.requests) == 1  # a 500 is not retried
    assert info.value.status == 500
    assert info.value.error_class == "Binder Error"
    assert info.value.message == "arc rejected the request"
    assert not isinstance(info.value, UnavailableError)
    assert_no_arc_text(info.value)
    assert "memory_idd" in caplog.text  # logged for operators
    assert TOKEN not in caplog.text


async def test_a_validator_400_is_a_bad_request():
    # q_set_unquoted_alias
    body = {"success": False, "error": "Dangerous SQL operation not allowed"}
    async with client_for(Recorder(json_answer(400, body))) as arc:
        with pytest.raises(ArcRequestError) as info:
            await arc.query("SELECT 1 AS set")
    assert info.value.status == 400
    assert_no_arc_text(info.value)


async def test_a_poison_write_500_is_a_bad_request_and_not_retried():
    # write_list_value: Arc's message names Go types; the client must not pass it on
    body = {"error": "Failed to write records: failed to convert columns: unsupported column type"}
    recorder = Recorder(json_answer(500, body))
    async with client_for(recorder) as arc:
        with pytest.raises(ArcRequestError) as info:
            await arc.write_columns("memories", {"time": [T0], "v": ["x"]})
    assert len(recorder.requests) == 1
    assert_no_arc_text(info.value)


async def test_refused_connections_are_retried_with_backoff_then_unavailable(caplog):
    caplog.set_level(logging.DEBUG)
    recorder = Recorder(httpx.ConnectError("[Errno 111] Connection refused"))
    sleeps = Sleeps()
    async with client_for(recorder, sleeps, max_attempts=4, backoff_base=0.1) as arc:
        with pytest.raises(ArcUnavailableError) as info:
            await arc.query("SELECT 1 AS one")
    assert len(recorder.requests) == 4
    assert sleeps.delays == pytest.approx([0.075, 0.15, 0.3])  # jitter fixed at 0.5
    assert info.value.message == "arc is unavailable"
    assert isinstance(info.value, UnavailableError)
    assert TOKEN not in caplog.text


async def test_backoff_is_capped():
    sleeps = Sleeps()
    recorder = Recorder(httpx.ConnectTimeout("timed out"))
    async with client_for(
        recorder, sleeps, max_attempts=8, backoff_base=1.0, backoff_max=2.0
    ) as arc:
        with pytest.raises(ArcUnavailableError):
            await arc.flush()
    assert max(sleeps.delays) <= 2.0
    assert len(recorder.requests) == 8


async def test_a_timeout_then_an_answer_succeeds_on_retry():
    recorder = Recorder(httpx.ReadTimeout("read timed out"), json_answer(200, Q_MISSING_TABLE))
    async with client_for(recorder) as arc:
        result = await arc.query("SELECT 1 AS one")
    assert len(recorder.requests) == 2
    assert len(result) == 0


async def test_503_is_retried_and_a_later_204_succeeds():
    recorder = Recorder(json_answer(503, {"error": "schema churn"}), httpx.Response(204))
    async with client_for(recorder) as arc:
        await arc.write_columns("memories", {"time": [T0], "v": [1.0]})
    assert len(recorder.requests) == 2
    assert recorder.requests[0].content == recorder.requests[1].content


async def test_503_every_time_ends_unavailable_after_bounded_attempts():
    recorder = Recorder(json_answer(503, {"status": "not_ready"}))
    async with client_for(recorder, max_attempts=3) as arc:
        with pytest.raises(ArcUnavailableError) as info:
            await arc.query("SELECT 1 AS one")
    assert len(recorder.requests) == 3
    assert info.value.status == 503


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (502, "<html>Bad Gateway</html>"),
        (504, '{"success":false,"error":"Query timed out"}'),
        (500, ""),
    ],
)
async def test_gateway_errors_and_empty_500s_are_unavailable_without_retry(status, body):
    recorder = Recorder(httpx.Response(status, content=body.encode()))
    async with client_for(recorder) as arc:
        with pytest.raises(ArcUnavailableError):
            await arc.query("SELECT 1 AS one")
    assert len(recorder.requests) == 1


async def test_a_200_cut_short_is_unavailable():
    recorder = Recorder(httpx.Response(200, content=b'{"success":true,"columns":["a"],"data":[[1'))
    async with client_for(recorder) as arc:
        with pytest.raises(ArcUnavailableError):
            await arc.query("SELECT 1 AS a")


async def test_a_bad_token_is_an_auth_error_that_reads_as_unavailable():
    # auth_wrong_token
    body = {"error": "Invalid or expired token", "success": False}
    async with client_for(Recorder(json_answer(401, body))) as arc:
        with pytest.raises(ArcAuthError) as info:
            await arc.query("SELECT 1 AS one")
    assert info.value.reason == "unauthenticated"
    assert isinstance(info.value, UnavailableError)


async def test_a_413_says_send_smaller_batches():
    # err_write_over_max_payload
    async with client_for(Recorder(json_answer(413, {"error": "Request Entity Too Large"}))) as arc:
        with pytest.raises(ArcPayloadTooLargeError):
            await arc.write_columns("memories", {"time": [T0], "content": ["x" * 5000]})


def test_every_arc_error_is_a_memtrace_error():
    for cls in (
        ArcRequestError,
        ArcUnavailableError,
        ArcAuthError,
        ArcFlushFailedError,
        ArcDeleteIncompleteError,
        ArcPayloadTooLargeError,
    ):
        assert issubclass(cls, MemtraceError)


# --- flush, delete, probes ---------------------------------------------------------


async def test_flush_posts_to_the_flush_route():
    recorder = Recorder(json_answer(200, FLUSHED))  # vis_slow_flush
    async with client_for(recorder) as arc:
        await arc.flush()
    request = recorder.requests[0]
    assert (request.method, request.url.path) == ("POST", "/api/v1/write/line-protocol/flush")


async def test_a_failed_flush_says_buffered_rows_may_be_lost():
    # err_empty_arrays_flush: Arc drops the batch it could not flush
    recorder = Recorder(json_answer(500, {"error": "Flush failed: no time data in batch"}))
    async with client_for(recorder) as arc:
        with pytest.raises(ArcFlushFailedError) as info:
            await arc.flush()
    assert len(recorder.requests) == 1
    assert_no_arc_text(info.value)


async def test_a_flush_that_meets_503_is_plain_unavailable_not_a_lost_batch():
    recorder = Recorder(json_answer(503, {"status": "not_ready"}))
    async with client_for(recorder, max_attempts=2) as arc:
        with pytest.raises(ArcUnavailableError) as info:
            await arc.flush()
    assert not isinstance(info.value, ArcFlushFailedError)
    assert len(recorder.requests) == 2


async def test_delete_sends_the_recorded_body_with_a_null_safe_predicate():
    recorder = Recorder(json_answer(200, DEL_BY_IDS))
    async with client_for(recorder) as arc:
        result = await arc.delete("memories", in_list("memory_id", ["m1"], field="ids"), expect=1)
    assert result == DeleteResult(
        deleted_count=1, affected_files=1, rewritten_files=1, dry_run=False
    )
    request = recorder.requests[0]
    assert (request.method, request.url.path) == ("POST", "/api/v1/delete")
    assert json.loads(request.content) == {
        "database": "memtrace",
        "measurement": "memories",
        "where": "coalesce((memory_id IN ('m1')), false)",  # del_null_safe
        "confirm": True,  # del_missing_confirm
    }


async def test_a_dry_run_sends_no_confirm():
    # del_dry_run
    answer = {**DEL_BY_IDS, "rewritten_files": 0, "dry_run": True}
    recorder = Recorder(json_answer(200, answer))
    async with client_for(recorder) as arc:
        result = await arc.delete(
            "memories", in_list("memory_id", ["m1"], field="ids"), dry_run=True
        )
    assert result.dry_run is True
    body = json.loads(recorder.requests[0].content)
    assert body["dry_run"] is True and "confirm" not in body


async def test_a_silent_no_op_delete_is_caught_by_the_expected_count():
    # del_where_prefixed / del_unknown_column: 200 with deleted_count 0
    recorder = Recorder(json_answer(200, DEL_WHERE_PREFIXED))
    async with client_for(recorder) as arc:
        with pytest.raises(ArcDeleteIncompleteError) as info:
            await arc.delete("memories", in_list("memory_id", ["m2"], field="ids"), expect=1)
    assert (info.value.deleted_count, info.value.expected) == (0, 1)


async def test_a_partial_delete_is_incomplete():
    answer = {**DEL_BY_IDS, "success": False, "failed_files": ["memories_x.parquet"]}
    async with client_for(Recorder(json_answer(207, answer))) as arc:
        with pytest.raises(ArcDeleteIncompleteError):
            await arc.delete("memories", in_list("memory_id", ["m1"], field="ids"))


async def test_a_where_arc_would_ignore_or_refuse_is_never_sent():
    recorder = Recorder(json_answer(200, DEL_BY_IDS))
    async with client_for(recorder) as arc:
        with pytest.raises(InvalidInputError):  # del_where_prefixed
            await arc.delete("memories", Fragment("WHERE memory_id IN ('m2')"))
        with pytest.raises(InvalidInputError):  # del_select_in_literal
            await arc.delete("memories", Fragment("content = 'please select me'"))
        with pytest.raises(TypeError):  # free text is not a Fragment
            await arc.delete("memories", "memory_id = 'm1'")  # type: ignore[arg-type]
    assert recorder.requests == []


async def test_delete_disabled_is_an_auth_error_with_its_reason():
    # nd_delete
    async with client_for(Recorder(json_answer(403, ND_DELETE))) as arc:
        with pytest.raises(ArcAuthError) as info:
            await arc.delete("memories", in_list("memory_id", ["m4"], field="ids"))
    assert info.value.reason == "delete_disabled"
    assert_no_arc_text(info.value)


async def test_delete_config_reports_whether_deletes_are_enabled():
    # delete_config, nd_delete_config
    async with client_for(Recorder(json_answer(200, {"enabled": False}))) as arc:
        assert await arc.delete_enabled() is False


async def test_health_and_ready_are_booleans_that_never_raise():
    recorder = Recorder(
        json_answer(200, {"status": "ok"}),
        json_answer(503, {"status": "not_ready"}),
        httpx.ConnectError("refused"),
    )
    async with client_for(recorder) as arc:
        assert await arc.health() is True
        assert await arc.ready() is False
        assert await arc.health() is False
    assert [r.url.path for r in recorder.requests] == ["/health", "/ready", "/health"]


def test_the_token_never_shows_in_repr():
    arc = ArcClient("http://arc.test", TOKEN, "memtrace")
    assert TOKEN not in repr(arc)


def test_a_secret_str_token_is_accepted():
    from pydantic import SecretStr

    recorder = Recorder(httpx.Response(204))
    arc = client_for(recorder)
    secret_client = ArcClient("http://arc.test", SecretStr(TOKEN), "memtrace")
    assert TOKEN not in repr(secret_client)
    del arc
