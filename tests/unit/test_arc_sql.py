"""SQL text for Arc: every golden case about quoting, backslashes, LIKE/ILIKE, time
predicates, length and the validators, plus round-trips through a real DuckDB (the
engine behind Arc) and through a model of Arc's literal masker."""

from __future__ import annotations

import re

import duckdb
import pytest

from memtrace_mcp.errors import InvalidInputError
from memtrace_mcp.stores.arc import sql
from memtrace_mcp.stores.arc.sql import (
    Fragment,
    SqlTooLargeError,
    check_delete_where,
    chunk_in_list,
    contains_ci,
    database_name,
    ensure_fits,
    eq,
    float_literal,
    identifier,
    ilike_contains,
    in_list,
    int_literal,
    like_contains_pattern,
    literal,
    null_safe,
    opaque_id,
    string_literal,
    time_compare,
    timestamp_literal,
)
from memtrace_mcp.stores.arc.statement import Select

# Text chosen to break naive quoting: every trap from the golden README in one list.
NASTY = [
    "",
    "plain",
    "It's 100% done",
    "a_b c: under_score",
    "back\\slash and 'quotes'",
    "x\\",  # q_backslash_end_literal_*: a backslash right before the closing quote
    "\\",
    "\\'",
    "a\\''b",
    "'",
    "''",
    "\\\\'\\",
    "Café 😀 unicode",
    "emoji 😀🧠👩‍💻",
    "rtl עברית \u202e",
    "line\nbreak\ttab\r",
    "-- not a comment",
    "a--b",
    "---",
    "/* no */ comment */",
    "*/",
    "a;b; SELECT 2",
    "SET threads = 1",
    "COPY (SELECT 1) TO 'out.csv'",
    "read_parquet('x.parquet')",
    "please call me",
    "quotes ' \" `",
    "100%_!!%",
]

# The content column of golden q_types, by memory id (m1 has two versions).
GOLDEN_ROWS = [
    ("m1", "It's 100% done"),
    ("m2", "a_b c: under_score"),
    ("m3", "back\\slash and 'quotes'"),
    ("m4", "Café 😀 unicode"),
    ("m1", "It's 100% done (edited)"),
    ("m5", "HELLO World"),
    ("m6", "1000 items_list"),
]


@pytest.fixture(scope="module")
def db() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE memories(memory_id VARCHAR, content VARCHAR)")
    con.executemany("INSERT INTO memories VALUES (?, ?)", GOLDEN_ROWS)
    return con


def matching_ids(db: duckdb.DuckDBPyConnection, predicate: str) -> list[str]:
    rows = db.execute(f"SELECT DISTINCT memory_id FROM memories WHERE {predicate} ORDER BY 1")
    return [r[0] for r in rows.fetchall()]


def arc_masker_outside(sql_text: str) -> tuple[str, bool]:
    """Arc's literal masker as its source and the recordings show it: '' is an
    escaped quote, and so is \\' (golden q_backslash_end_literal_before_from). Returns
    the text it sees outside literals and whether it ended inside one."""
    outside, i, inside = [], 0, False
    while i < len(sql_text):
        ch = sql_text[i]
        if not inside:
            if ch == "'":
                inside = True
            else:
                outside.append(ch)
        elif ch == "'":
            if i + 1 < len(sql_text) and sql_text[i + 1] == "'":
                i += 1
            elif sql_text[i - 1] != "\\":
                inside = False
        i += 1
    return "".join(outside), inside


# --- string literals -------------------------------------------------------------


@pytest.mark.parametrize("text", NASTY)
def test_string_literal_reads_back_as_the_same_text_in_duckdb(db, text):
    assert db.execute(f"SELECT {string_literal(text, field='q')}").fetchone()[0] == text


@pytest.mark.parametrize("text", NASTY)
def test_string_literal_never_desynchronises_arcs_masker(text):
    where = f"SELECT v FROM t WHERE c = {string_literal(text, field='q')} AND u = 'set'"
    outside, unterminated = arc_masker_outside(where)
    assert not unterminated
    assert outside.startswith("SELECT v FROM t WHERE c = ")
    assert outside.endswith(" AND u = ")
    middle = outside[len("SELECT v FROM t WHERE c = ") : -len(" AND u = ")]
    assert re.fullmatch(r"[ ()|chr92]*", middle), middle  # only our own glue is outside


@pytest.mark.parametrize("text", NASTY)
def test_string_literal_holds_no_backslash_or_comment_marker(text):
    rendered = string_literal(text, field="q")
    assert "\\" not in rendered
    for marker in ("--", "/*", "*/"):
        assert marker not in rendered


def test_doubled_quote_matches_the_recorded_literal():
    # q_ilike_doubled_quote: ILIKE '%it''s%'
    assert string_literal("%it's%", field="q") == "'%it''s%'"


def test_backslash_is_spliced_as_chr92_exactly_as_recorded():
    # q_chr92_concat: 'back' || chr(92) || 'slash and ''quotes''' matched m3
    assert string_literal("back\\slash and 'quotes'", field="q") == (
        "('back' || chr(92) || 'slash and ''quotes''')"
    )


def test_trailing_backslash_is_never_placed_before_a_quote():
    # q_backslash_end_literal_before_from: 'x\' hid the table name from Arc's rewriter
    assert string_literal("x\\", field="q") == "('x' || chr(92))"
    assert string_literal("\\", field="q") == "chr(92)"


def test_backslash_quote_in_the_middle_reads_back_literally(db):
    # q_backslash_quote_mid_literal: 'a\''b' is a\'b to DuckDB
    rendered = string_literal("a\\'b", field="q")
    assert rendered == "('a' || chr(92) || '''b')"
    assert db.execute(f"SELECT {rendered}").fetchone()[0] == "a\\'b"


def test_unicode_literal_is_sent_verbatim():
    # q_unicode_literal
    assert string_literal("Café 😀 unicode", field="q") == "'Café 😀 unicode'"


@pytest.mark.parametrize(
    ("case", "text"),
    [
        ("q_semicolon_in_literal", "a;b"),
        ("q_set_in_literal", "SET"),
        ("q_copy_in_literal", "COPY"),
        ("q_call_in_literal", "please call me"),
        ("q_read_parquet_in_literal", "read_parquet(x)"),
    ],
)
def test_words_the_query_validator_accepts_inside_literals_are_left_alone(case, text):
    assert string_literal(text, field="q") == f"'{text}'", case


@pytest.mark.parametrize("text", ["nul\x00inside", "\x00"])
def test_nul_is_refused_naming_the_field(text):
    with pytest.raises(InvalidInputError) as info:
        string_literal(text, field="query")
    assert info.value.field == "query"


def test_lone_surrogate_is_refused():
    with pytest.raises(InvalidInputError):
        string_literal("bad \ud800", field="query")


def test_non_text_is_refused():
    with pytest.raises(InvalidInputError):
        string_literal(b"bytes", field="query")  # type: ignore[arg-type]


# --- numbers, booleans, dispatch -------------------------------------------------


@pytest.mark.parametrize(
    "value", [0.7, 1.0, -0.0, 1e20, 1e-7, -2.5, 5e-324, 1.7976931348623157e308, 3]
)
def test_float_literal_is_a_double_of_the_same_value(db, value):
    # wq_type_drift_numeric_compare_fails: bare 0.7 is DECIMAL(2,1) to DuckDB
    rendered = float_literal(value, field="importance")
    kind, back = db.execute(f"SELECT typeof({rendered}), {rendered}").fetchone()
    assert kind == "DOUBLE"
    assert back == float(value)


def test_float_literal_renders_an_exponent():
    assert float_literal(0.7, field="x") == "0.7e0"
    assert float_literal(-2.5, field="x") == "(-2.5e0)"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), True, "1"])
def test_float_literal_refuses_non_finite_and_non_numbers(value):
    with pytest.raises(InvalidInputError):
        float_literal(value, field="importance")


def test_negative_numbers_cannot_glue_into_a_comment(db):
    rendered = f"SELECT 1 -{int_literal(-1, field='n')}, 1 -{float_literal(-1.0, field='x')}"
    assert "--" not in rendered
    assert db.execute(rendered).fetchone() == (2, 2.0)


@pytest.mark.parametrize("value", [0, 7, 2**63 - 1, -(2**63)])
def test_int_literal_round_trips_within_int64(db, value):
    assert db.execute(f"SELECT {int_literal(value, field='n')}").fetchone()[0] == value


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, True, 1.0])
def test_int_literal_refuses_bools_floats_and_overflow(value):
    with pytest.raises(InvalidInputError):
        int_literal(value, field="n")


def test_literal_dispatches_bool_before_int():
    assert literal(True, field="f") == "true"
    assert literal(1, field="f") == "1"
    assert literal(1.0, field="f") == "1.0e0"
    assert literal("1", field="f") == "'1'"


# --- identifiers -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["memories", "memory_id", "time", "m2", "range"])
def test_identifiers_that_need_no_quotes_pass(name):
    assert identifier(name) == name


@pytest.mark.parametrize(
    ("case", "name"),
    [
        ("q_set_unquoted_alias", "set"),
        ("q_set_bare", "SET"),
        ("q_copy_bare", "copy"),
        ("q_load_bare", "load"),
        ("q_call_bare", "call"),
        ("q_pragma_bare", "pragma"),
        ("q_attach_bare", "attach"),
        ("q_drop_table", "drop"),
        ("reserved", "select"),
        ("reserved", "order"),
        ("write_bad_measurement_name", "bad name!"),
        ("write_measurement_leading_digit", "1abc"),
        ("q_db_dot_table_with_header", "golden_query.memories"),
        ("hyphen needs quoting", "my-table"),
        ("underscore first", "_hidden"),
        ("empty", ""),
        ("too long", "a" * 129),
    ],
)
def test_identifiers_arc_or_duckdb_would_misread_are_refused(case, name):
    with pytest.raises(InvalidInputError):
        identifier(name, field="measurement")


def test_database_names_follow_arcs_header_rule():
    assert database_name("memtrace") == "memtrace"
    assert database_name("my-db_2") == "my-db_2"
    for bad in ("bad db!", "../golden_delete", "system", "_internal", "1db", "a" * 65):
        # q_bad_database_header, del_path_traversal, db_create_reserved
        with pytest.raises(InvalidInputError):
            database_name(bad)


# --- time ------------------------------------------------------------------------


def test_epoch_predicate_matches_the_recorded_fresh_form():
    # q_time_epoch_us and cache_epoch_predicate_fresh: not pruned, never stale
    assert time_compare(">=", 1768474800000000) == "epoch_us(time) >= 1768474800000000"
    assert time_compare(">=", 1768435200000000) == "epoch_us(time) >= 1768435200000000"


def test_prunable_predicate_matches_the_recorded_string_form():
    # q_time_string_literal and cache_time_query_1
    assert time_compare(">=", 1768474800000000, prunable=True) == ("time >= '2026-01-15T11:00:00Z'")
    assert time_compare(">=", 1768435200000000, prunable=True) == ("time >= '2026-01-15T00:00:00Z'")


def test_timestamp_literal_keeps_microseconds(db):
    # q_time_between uses whole seconds; fractions must survive too
    rendered = timestamp_literal(1768471200000001)
    assert rendered == "'2026-01-15T10:00:00.000001Z'"
    back = db.execute(f"SELECT epoch_us(CAST({rendered} AS TIMESTAMPTZ))").fetchone()[0]
    assert back == 1768471200000001


@pytest.mark.parametrize("value", [-1, 253_402_300_800_000_000, 1.5, True, "2026"])
def test_time_values_outside_duckdbs_range_or_not_integers_are_refused(value):
    with pytest.raises(InvalidInputError):
        time_compare(">=", value)


def test_unknown_time_operator_is_a_programming_error():
    with pytest.raises(ValueError):
        time_compare("!=", 1768474800000000)


# --- predicates and IN lists -----------------------------------------------------


def test_in_list_matches_the_recorded_form():
    # q_in_list
    assert in_list("memory_id", ["m2", "m4", "nope"], field="ids") == (
        "memory_id IN ('m2', 'm4', 'nope')"
    )


def test_in_list_drops_duplicates_and_refuses_empty():
    assert in_list("memory_id", ["a", "a"], field="ids") == "memory_id IN ('a')"
    with pytest.raises(InvalidInputError):
        in_list("memory_id", [], field="ids")


def test_eq_renders_column_and_literal():
    assert eq("user_id", "u'1", field="user_id") == "user_id = 'u''1'"


def test_chunked_in_lists_stay_under_the_byte_limit_and_cover_every_id():
    ids = [f"0190b3c2-{i:04x}-7abc-8def-0123456789ab" for i in range(1000)]
    statements = chunk_in_list(
        ids, lambda body: f"SELECT memory_id FROM memories WHERE memory_id IN ({body})", field="ids"
    )
    assert len(statements) > 1
    assert all(len(s.encode()) <= sql.MAX_SQL_BYTES for s in statements)
    seen = [m for s in statements for m in re.findall(r"'([^']+)'", s)]
    assert seen == ids


def test_chunking_counts_utf8_bytes_not_characters():
    # q_sql_multibyte_over_limit: the limit is 10,000 bytes
    values = [f"{'é' * 400}{i}" for i in range(60)]  # ~48 kB, but only ~24k characters
    statements = chunk_in_list(values, lambda body: f"SELECT 1 WHERE v IN ({body})", field="v")
    assert all(len(s.encode()) <= 10_000 for s in statements)
    assert len(statements) >= 5


def test_a_single_value_too_long_for_any_statement_is_refused():
    with pytest.raises(SqlTooLargeError) as info:
        chunk_in_list(["x" * 10_000], lambda body: f"SELECT 1 WHERE v IN ({body})", field="ids")
    assert info.value.field == "ids"


def test_no_values_give_no_statements():
    assert chunk_in_list([], lambda body: f"x IN ({body})", field="ids") == []


# --- text search -----------------------------------------------------------------


def test_contains_ci_is_the_recorded_strpos_form():
    # q_strpos: strpos(lower(content), lower('100%')) > 0 found only m1
    assert contains_ci("content", "100%", field="query") == (
        "strpos(lower(content), lower('100%')) > 0"
    )


@pytest.mark.parametrize(
    ("case", "text", "expected"),
    [
        ("q_strpos / q_ilike_escape_percent", "100%", ["m1"]),
        ("q_like_escape_underscore", "a_b", ["m2"]),
        ("q_like_escaped_underscore_no_match", "t_s", []),
        ("q_lower_like", "hello", ["m5"]),
        ("q_ilike_doubled_quote", "it's", ["m1"]),
        ("q_chr92_concat", "back\\slash", ["m3"]),
        ("unicode folds: É matches é", "CAFÉ 😀", ["m4"]),
        ("percent alone is literal", "%", ["m1"]),
        ("underscore alone is literal", "_", ["m2", "m6"]),
    ],
)
def test_case_insensitive_search_matches_literally(db, case, text, expected):
    assert matching_ids(db, contains_ci("content", text, field="query")) == expected, case
    assert matching_ids(db, ilike_contains("content", text, field="query")) == expected, case


def test_unescaped_wildcards_would_have_matched_more(db):
    # q_ilike_unescaped_percent and q_like_unescaped_underscore: what escaping prevents
    assert matching_ids(db, "content ILIKE '%100%%'") == ["m1", "m6"]
    assert matching_ids(db, "content LIKE '%t_s%'") == ["m1", "m3"]


def test_like_pattern_escapes_wildcards_and_its_escape_character():
    assert like_contains_pattern("100%_!") == "%100!%!_!!%"


@pytest.mark.parametrize("text", NASTY)
def test_ilike_pattern_finds_any_text_in_itself(db, text):
    pattern = ilike_contains("c", text, field="query")
    lit = string_literal(f"pre {text} post", field="c")
    assert db.execute(f"SELECT {pattern} FROM (SELECT {lit} AS c)").fetchone()[0] is True


# --- statement size and shape -------------------------------------------------------


def test_exactly_ten_thousand_bytes_is_accepted_and_one_more_is_not():
    # q_sql_10000_chars, q_sql_9990_chars, q_sql_10001_chars
    head = "SELECT 1 AS x -- "
    assert ensure_fits(head + "x" * (10_000 - len(head)))
    assert ensure_fits(head + "x" * (9_990 - len(head)))
    with pytest.raises(SqlTooLargeError):
        ensure_fits(head + "x" * (10_001 - len(head)))


def test_multibyte_text_over_ten_thousand_bytes_is_refused():
    # q_sql_multibyte_over_limit: 5,012 characters, 10,002 bytes
    statement = "SELECT length('" + "é" * 4990 + "') AS n"
    assert len(statement) == 5012
    with pytest.raises(SqlTooLargeError):
        ensure_fits(statement)


def test_select_renders_the_proven_shape():
    statement = Select(
        "memories",
        ("memory_id", Fragment("epoch_us(time) AS time_us")),
        where=(eq("org_id", "o1", field="org_id"), time_compare(">=", 1768474800000000)),
        qualify=Fragment("row_number() OVER (PARTITION BY memory_id ORDER BY time DESC) = 1"),
        order_by=("time DESC", "memory_id"),
        limit=20,
        offset=40,
    ).render()
    assert statement == (
        "SELECT memory_id, epoch_us(time) AS time_us FROM memories"
        " WHERE (org_id = 'o1') AND (epoch_us(time) >= 1768474800000000)"
        " QUALIFY row_number() OVER (PARTITION BY memory_id ORDER BY time DESC) = 1"
        " ORDER BY time DESC, memory_id LIMIT 20 OFFSET 40"
    )
    assert ";" not in statement  # q_two_statements: one statement, no separator


def test_select_refuses_where_text_that_did_not_come_from_the_builders():
    with pytest.raises(TypeError):
        Select("memories", ("memory_id",), where=("content = 'x'",)).render()  # type: ignore[arg-type]


@pytest.mark.parametrize("item", ["time; DROP", "set", "time DESC NULLS", "1"])
def test_select_refuses_odd_order_by_items(item):
    with pytest.raises((ValueError, InvalidInputError)):
        Select("memories", ("memory_id",), order_by=(item,)).render()


def test_select_refuses_a_statement_over_the_limit():
    big = contains_ci("content", "x" * 10_000, field="query")
    with pytest.raises(SqlTooLargeError):
        Select("memories", ("memory_id",), where=(big,)).render()


def test_select_chunks_an_id_list_into_several_statements():
    base = Select("memories", ("memory_id",), order_by=("memory_id",))
    ids = [f"id_{i:05d}_{'x' * 30}" for i in range(600)]
    statements = base.chunked_in("memory_id", ids, field="ids")
    assert len(statements) > 1
    assert all(s.endswith(" ORDER BY memory_id") for s in statements)
    assert all(len(s.encode()) <= 10_000 for s in statements)


# --- the delete validator ----------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "where"),
    [
        ("del_select_in_literal", "content = 'please select me'"),
        ("del_double_dash_in_literal", "content = 'a--b'"),
        ("del_semicolon_in_literal", "content = 'a;b'"),
        ("del_block_comment", "content = 'a/*b'"),
        ("del_unbalanced_parens", "(memory_id = 'x'"),
        ("del_unbalanced_quotes", "memory_id = 'it's'"),
        ("del_empty_where", ""),
        ("del_where_prefixed (silent no-op)", "WHERE memory_id IN ('m2')"),
        ("del_full_table_no_confirm", "1=1"),
        ("full table", "TRUE"),
        ("full table", "(1)"),
        ("set anywhere", "user_id = 'set'"),
        ("file function", "memory_id IN (SELECT x FROM read_parquet('a'))"),
        ("file function", "glob('*') IS NOT NULL"),
    ],
)
def test_delete_conditions_arc_refuses_or_ignores_are_refused(case, where):
    with pytest.raises(InvalidInputError) as info:
        check_delete_where(where)
    assert info.value.field == "where", case


@pytest.mark.parametrize(
    ("case", "where"),
    [
        ("del_doubled_quote_ok", "memory_id = 'it''s'"),
        ("del_keyword_inside_word_ok", "content IN ('offset', 'dataset')"),
        ("del_xp_prefix_accepted", "memory_id = 'xp_1'"),
        ("del_sp_substring_accepted", "user_id = 'user_sp_1'"),
        ("del_null_safe", "coalesce(user_id = 'u1', false)"),
        ("del_by_ids", "memory_id IN ('m1')"),
    ],
)
def test_delete_conditions_arc_accepts_pass(case, where):
    assert check_delete_where(where) == where, case


def test_null_safe_wraps_so_null_rows_survive_a_delete(db):
    # del_null_trap deleted NULL user_id rows too; del_null_safe did not
    wrapped = null_safe(eq("user_id", "u1", field="user_id"))
    assert wrapped == "coalesce((user_id = 'u1'), false)"
    check_delete_where(wrapped)
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t AS SELECT * FROM (VALUES ('m1', 'u1'), ('m3', NULL)) v(id, user_id)"
    )
    kept = con.execute(f"SELECT id FROM t WHERE NOT ({wrapped}) ORDER BY id").fetchall()
    assert kept == [("m3",)]
    bare = con.execute("SELECT id FROM t WHERE NOT (user_id = 'u1')").fetchall()
    assert bare == []  # the trap itself


def test_opaque_ids_pass_the_delete_validator_and_words_do_not():
    uuid = "0190b3c2-1a2b-7abc-8def-0123456789ab"
    check_delete_where(f"memory_id IN ({opaque_id(uuid, field='memory_id')})")
    for bad in ("please select me", "set", "a--b", "a;b", "x'y", "", "a" * 129):
        with pytest.raises(InvalidInputError):
            opaque_id(bad, field="memory_id")
