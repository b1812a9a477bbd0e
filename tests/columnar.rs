//! Arrow IPC stream and Parquet bodies (#18): the same rows as a CSV body (or, on the model
//! endpoints, a JSON body) give the same answer byte for byte; a malformed file, a missing,
//! mistyped or unknown column is refused naming it. The files are written here with the arrow
//! and parquet crates, in the column types a warehouse export has: dictionary-encoded ids,
//! Date32 and timestamp columns, nulls, text dates, decimals.

mod common;

use std::sync::Arc;

use arrow_array::builder::{Decimal128Builder, StringDictionaryBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, ListArray, RecordBatch,
    StringArray, TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema};
use axum::http::Method;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde_json::Value;

use common::{post_json, send, Answer};

const ARROW: &str = "application/vnd.apache.arrow.stream";
const PARQUET: &str = "application/vnd.apache.parquet";
/// Amounts whose shortest text is the same as f32 and as f64.
const AMOUNTS: [f64; 4] = [0.1, 0.2, 0.3, 1.7];

fn fixture_rows(name: &str) -> Vec<Value> {
    let fixture = common::sql_fixture();
    // Bodies are named by what they hold, their length and a digest: the first of the name.
    fixture["bodies"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(key, _)| key.starts_with(name))
        .map(|(_, rows)| rows.as_array().unwrap().clone())
        .unwrap()
}

/// How a column is written.
#[derive(Clone, Copy)]
enum Col {
    /// Text (Utf8).
    Text,
    /// Text, dictionary-encoded (pandas categoricals, DuckDB enums).
    Dict,
    /// A `YYYY-MM-DD` text as Date32.
    Date,
    /// A `YYYY-MM-DD` text as a millisecond timestamp at 13:30 UTC.
    Timestamp,
    Float,
    /// A number as Decimal128(18, 2).
    Decimal,
    Int,
    /// A whole number as Decimal128(38, 0) (a warehouse's NUMBER, DuckDB's HUGEINT sums).
    Whole,
    /// A number as Float32.
    Float32,
    /// Text with spaces around it (as a fixed-width export writes).
    Padded,
    Bool,
}

fn days(text: &str) -> i32 {
    let d = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
}

fn batch(rows: &[Value], columns: &[(&str, Col)]) -> RecordBatch {
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for &(name, col) in columns {
        let cells: Vec<&Value> = rows.iter().map(|r| &r[name]).collect();
        let text = |v: &Value| match v {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        };
        let (array, data_type): (ArrayRef, DataType) = match col {
            Col::Text => {
                let a: StringArray = cells.iter().map(|v| text(v)).collect();
                (Arc::new(a), DataType::Utf8)
            }
            Col::Dict => {
                let mut b = StringDictionaryBuilder::<Int32Type>::new();
                for v in &cells {
                    match text(v) {
                        Some(s) => b.append_value(s),
                        None => b.append_null(),
                    }
                }
                let a = b.finish();
                let t = a.data_type().clone();
                (Arc::new(a), t)
            }
            Col::Date => {
                let a: Date32Array = cells.iter().map(|v| v.as_str().map(days)).collect();
                (Arc::new(a), DataType::Date32)
            }
            Col::Timestamp => {
                let a: TimestampMillisecondArray = cells
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(|s| i64::from(days(s)) * 86_400_000 + 48_600_000)
                    })
                    .collect();
                let t = a.data_type().clone();
                (Arc::new(a), t)
            }
            Col::Float => {
                let a: Float64Array = cells.iter().map(|v| v.as_f64()).collect();
                (Arc::new(a), DataType::Float64)
            }
            Col::Decimal => {
                let mut b = Decimal128Builder::new();
                for v in &cells {
                    match v.as_f64() {
                        Some(x) => b.append_value((x * 100.0).round() as i128),
                        None => b.append_null(),
                    }
                }
                let a = b.finish().with_precision_and_scale(18, 2).unwrap();
                (Arc::new(a), DataType::Decimal128(18, 2))
            }
            Col::Int => {
                let a: Int64Array = cells.iter().map(|v| v.as_i64()).collect();
                (Arc::new(a), DataType::Int64)
            }
            Col::Whole => {
                let mut b = Decimal128Builder::new();
                for v in &cells {
                    match v.as_i64() {
                        Some(n) => b.append_value(i128::from(n)),
                        None => b.append_null(),
                    }
                }
                let a = b.finish().with_precision_and_scale(38, 0).unwrap();
                (Arc::new(a), DataType::Decimal128(38, 0))
            }
            Col::Float32 => {
                let a: arrow_array::Float32Array =
                    cells.iter().map(|v| v.as_f64().map(|x| x as f32)).collect();
                (Arc::new(a), DataType::Float32)
            }
            Col::Padded => {
                let a: StringArray = cells
                    .iter()
                    .map(|v| text(v).map(|t| format!("  {t} ")))
                    .collect();
                (Arc::new(a), DataType::Utf8)
            }
            Col::Bool => {
                let a: BooleanArray = cells
                    .iter()
                    .map(|v| v.as_bool().or_else(|| v.as_i64().map(|n| n == 1)))
                    .collect();
                (Arc::new(a), DataType::Boolean)
            }
        };
        fields.push(Field::new(name, data_type, true));
        arrays.push(array);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
}

fn arrow_stream(batch: &RecordBatch) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer = arrow_ipc::writer::StreamWriter::try_new(&mut out, &batch.schema()).unwrap();
    // Two batches, as a writer streaming a table would send them.
    let half = batch.num_rows() / 2;
    writer.write(&batch.slice(0, half)).unwrap();
    writer
        .write(&batch.slice(half, batch.num_rows() - half))
        .unwrap();
    writer.finish().unwrap();
    drop(writer);
    out
}

fn parquet_file(batch: &RecordBatch, compression: Compression) -> Vec<u8> {
    let mut out = Vec::new();
    let props = WriterProperties::builder()
        .set_compression(compression)
        .set_max_row_group_row_count(Some(300))
        .build();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
    out
}

async fn post(path: &str, content_type: &str, body: Vec<u8>) -> Answer {
    send(Method::POST, path, Some(content_type), body).await
}

/// Posts the rows as CSV, as an Arrow stream and as Parquet (snappy and zstd) and expects the
/// same bytes back from all four.
async fn same_answers(path: &str, rows: &[Value], columns: &[(&str, Col)]) -> Answer {
    let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
    let csv = send(
        Method::POST,
        path,
        Some("text/csv"),
        common::csv_of(rows, &names),
    )
    .await;
    assert_eq!(csv.status, 200, "{path} CSV: {}", csv.text);
    let b = batch(rows, columns);
    for (label, content_type, body) in [
        ("Arrow", ARROW, arrow_stream(&b)),
        (
            "Parquet snappy",
            PARQUET,
            parquet_file(&b, Compression::SNAPPY),
        ),
        (
            "Parquet zstd",
            PARQUET,
            parquet_file(&b, Compression::ZSTD(ZstdLevel::default())),
        ),
    ] {
        let answer = post(path, content_type, body).await;
        assert_eq!(answer.status, 200, "{path} {label}: {}", answer.text);
        assert_eq!(answer.text, csv.text, "{path} {label}");
    }
    csv
}

#[tokio::test]
async fn column_batches_answer_as_csv_on_every_record_endpoint() {
    let events = fixture_rows("cohorts_events_906");
    same_answers(
        "/cohorts?period=week&retention=unbounded",
        &events,
        &[
            ("customer_id", Col::Dict),
            ("date", Col::Date),
            ("amount", Col::Float),
        ],
    )
    .await;
    same_answers(
        "/cohorts?period=month",
        &events,
        &[
            ("customer_id", Col::Text),
            ("date", Col::Timestamp),
            ("amount", Col::Decimal),
        ],
    )
    .await;
    let mrr = fixture_rows("series_events_773");
    same_answers(
        "/series?period=quarter",
        &mrr,
        &[
            ("customer_id", Col::Text),
            ("date", Col::Text),
            ("mrr", Col::Float),
            ("reason", Col::Dict),
        ],
    )
    .await;
    let subscriptions = fixture_rows("survival_subscriptions_401");
    same_answers(
        "/survival?as_of=2026-03-31&unit=week",
        &subscriptions,
        &[
            ("start", Col::Date),
            ("end", Col::Date),
            ("group", Col::Dict),
        ],
    )
    .await;
    same_answers(
        "/survival/competing?as_of=2026-03-31",
        &subscriptions
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut s = s.clone();
                let cause = if s["end"].as_str().is_none_or(|e| e > "2026-03-31") {
                    Value::Null
                } else {
                    Value::from(["voluntary", "involuntary"][i % 2])
                };
                s["cause"] = cause;
                s
            })
            .collect::<Vec<_>>(),
        &[
            ("start", Col::Date),
            ("end", Col::Date),
            ("cause", Col::Text),
        ],
    )
    .await;
    // Cox: every column other than duration/observed is a covariate (rossi, 432 men).
    let rossi: Vec<Value> = csv::Reader::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/rossi.csv"
    ))
    .unwrap()
    .deserialize::<std::collections::BTreeMap<String, i64>>()
    .map(|r| {
        let r = r.unwrap();
        serde_json::json!({"duration": r["week"], "observed": r["arrest"] == 1, "fin": r["fin"],
            "age": r["age"], "prio": r["prio"], "wexp": if r["wexp"] == 1 { "yes" } else { "no" }})
    })
    .collect();
    same_answers(
        "/survival/cox",
        &rossi,
        &[
            ("duration", Col::Int),
            ("observed", Col::Bool),
            ("fin", Col::Int),
            ("age", Col::Float),
            ("prio", Col::Int),
            ("wexp", Col::Dict),
        ],
    )
    .await;
}

#[tokio::test]
async fn model_endpoints_read_column_batches_with_the_other_fields_in_the_query() {
    let transactions = fixture_rows("rfm_transactions_6919");
    let json = post_json(
        "/models/bgnbd",
        &serde_json::json!({"transactions": transactions, "calibration_end": "1997-09-30",
            "unit": "week", "predict": {"horizon": 39, "confidence": 0.9}}),
    )
    .await;
    assert_eq!(json.status, 200, "{}", json.text);
    let b = batch(
        &transactions,
        &[
            ("customer_id", Col::Text),
            ("date", Col::Date),
            ("amount", Col::Float),
        ],
    );
    let path = "/models/bgnbd?calibration_end=1997-09-30&unit=week&predict.horizon=39&predict.confidence=0.9";
    for (content_type, body) in [
        (ARROW, arrow_stream(&b)),
        (PARQUET, parquet_file(&b, Compression::SNAPPY)),
    ] {
        let answer = post(path, content_type, body).await;
        assert_eq!(answer.status, 200, "{content_type}: {}", answer.text);
        assert_eq!(answer.text, json.text, "{content_type}");
    }
    // Summaries with integer ids: the ids read as text, as in JSON.
    let customers = common::cdnow_customers();
    let rows: Vec<Value> = customers
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c["id"] = Value::from(c["id"].as_str().unwrap().parse::<i64>().unwrap());
            c
        })
        .collect();
    let b = batch(
        &rows,
        &[
            ("id", Col::Int),
            ("frequency", Col::Float),
            ("recency", Col::Float),
            ("T", Col::Float),
            ("monetary_value", Col::Float),
        ],
    );
    let json = post_json(
        "/models/gamma-gamma",
        &serde_json::json!({"customers": customers}),
    )
    .await;
    let answer = post(
        "/models/gamma-gamma",
        PARQUET,
        parquet_file(&b, Compression::SNAPPY),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.text, json.text);
}

#[tokio::test]
async fn bad_column_batches_are_refused_naming_the_column() {
    let rows: Vec<Value> = (0..4)
        .map(|i| serde_json::json!({"customer_id": format!("c{i}"), "date": "2026-01-05", "mrr": 10.0, "note": "x"}))
        .collect();
    // Not a file at all.
    for content_type in [ARROW, PARQUET] {
        post(
            "/series?period=month",
            content_type,
            b"PAR1 not really".to_vec(),
        )
        .await
        .assert_problem(422, Some(""));
    }
    // A column missing, of the wrong type, unknown, or of a type no cell can be read from.
    let missing = batch(&rows, &[("customer_id", Col::Text), ("date", Col::Date)]);
    post("/series?period=month", ARROW, arrow_stream(&missing))
        .await
        .assert_problem(422, Some("/events/0/mrr"));
    let mistyped = batch(
        &rows,
        &[
            ("customer_id", Col::Text),
            ("date", Col::Date),
            ("mrr", Col::Bool),
        ],
    );
    post(
        "/series?period=month",
        PARQUET,
        parquet_file(&mistyped, Compression::SNAPPY),
    )
    .await
    .assert_problem(422, Some("/events/0/mrr"));
    let unknown = batch(
        &rows,
        &[
            ("customer_id", Col::Text),
            ("date", Col::Date),
            ("mrr", Col::Float),
            ("note", Col::Text),
        ],
    );
    post("/series?period=month", ARROW, arrow_stream(&unknown))
        .await
        .assert_problem(422, Some("/events"));
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)]); 4]);
    let strange = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("customer_id", DataType::Utf8, true),
            Field::new("date", list.data_type().clone(), true),
        ])),
        vec![
            Arc::new(StringArray::from(vec!["a", "b", "c", "d"])),
            Arc::new(list),
        ],
    )
    .unwrap();
    post("/cohorts", ARROW, arrow_stream(&strange))
        .await
        .assert_problem(422, Some("/events/0/date"));
    // A text date that is not one, read as CSV would read it.
    let bad_date: Vec<Value> = vec![serde_json::json!({"customer_id": "a", "date": "2026-02-30"})];
    post(
        "/cohorts",
        ARROW,
        arrow_stream(&batch(
            &bad_date,
            &[("customer_id", Col::Text), ("date", Col::Text)],
        )),
    )
    .await
    .assert_problem(422, Some("/events/0/date"));
    // Model endpoints: a column the rows do not have; query fields that clash.
    let customers = vec![serde_json::json!({"frequency": 1, "recency": 2.0, "T": 5.0, "seats": 3})];
    let b = batch(
        &customers,
        &[
            ("frequency", Col::Int),
            ("recency", Col::Float),
            ("T", Col::Float),
            ("seats", Col::Int),
        ],
    );
    // (The rows sit in a flattened field, whose errors point at the field alone.)
    post("/models/bgnbd", ARROW, arrow_stream(&b))
        .await
        .assert_problem(422, Some("/seats"));
    post(
        "/models/bgnbd?predict=1&predict.horizon=2",
        ARROW,
        arrow_stream(&b),
    )
    .await
    .assert_problem(422, Some("/predict"));
    // CSV is not a model body.
    send(
        Method::POST,
        "/models/bgnbd",
        Some("text/csv"),
        "frequency\n1\n",
    )
    .await
    .assert_problem(415, None);
}

#[tokio::test]
async fn a_parquet_file_past_the_row_limit_is_refused_before_it_is_decoded() {
    let config = retention_kpi::config::Config {
        max_events: 100,
        ..retention_kpi::config::Config::default()
    };
    let rows: Vec<Value> = (0..101)
        .map(|i| serde_json::json!({"customer_id": format!("c{i}"), "date": "2026-01-05"}))
        .collect();
    let b = batch(&rows, &[("customer_id", Col::Text), ("date", Col::Date)]);
    for (content_type, body) in [
        (PARQUET, parquet_file(&b, Compression::SNAPPY)),
        (ARROW, arrow_stream(&b)),
    ] {
        common::send_to(
            retention_kpi::app(config.clone()),
            Method::POST,
            "/cohorts",
            Some(content_type),
            body,
        )
        .await
        .assert_problem(422, Some(""));
    }
}

#[tokio::test]
async fn warehouse_column_types_read_as_their_csv_text() {
    // The reduction SQL's result as a column batch: whole counts as Decimal128(38, 0) (what
    // DuckDB's SUM gives), the cohort as a date; the same table as the JSON summary.
    let fixture = common::sql_fixture();
    let case = fixture["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["label"] == "cohorts period=month retention=unbounded")
        .unwrap();
    let cells = case["summary"]["cohort_summary"].as_array().unwrap();
    let json = post_json("/cohorts", &case["summary"]).await;
    assert_eq!(json.status, 200, "{}", json.text);
    let b = batch(
        cells,
        &[
            ("cohort", Col::Date),
            ("offset", Col::Whole),
            ("active", Col::Whole),
            ("last_active", Col::Whole),
            ("second_activity", Col::Whole),
            ("amount", Col::Float),
        ],
    );
    let answer = post(
        "/cohorts?period=month&retention=unbounded",
        PARQUET,
        parquet_file(&b, Compression::SNAPPY),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.text, json.text);
    // Padded text, Float32 amounts (0.1 is 0.1, as its CSV text), whole-decimal ids.
    let events: Vec<Value> = (0..40)
        .map(|i| serde_json::json!({"customer_id": i % 7, "date": format!("2026-0{}-1{}", 1 + i % 3, i % 10), "amount": AMOUNTS[i % 4]}))
        .collect();
    let csv = send(
        Method::POST,
        "/cohorts",
        Some("text/csv"),
        common::csv_of(&events, &["customer_id", "date", "amount"]),
    )
    .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    let b = batch(
        &events,
        &[
            ("customer_id", Col::Whole),
            ("date", Col::Padded),
            ("amount", Col::Float32),
        ],
    );
    let answer = post("/cohorts", ARROW, arrow_stream(&b)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.text, csv.text);
}

#[tokio::test]
async fn an_all_null_dictionary_and_a_repeated_long_value_are_read_or_refused_not_crashed_on() {
    // An all-null dictionary column (pyarrow's dictionary_encode of nulls has no values).
    let keys = arrow_array::Int32Array::from(vec![None::<i32>, None]);
    let values = StringArray::from(Vec::<Option<&str>>::new());
    let group = arrow_array::DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values)).unwrap();
    let b = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("start", DataType::Date32, true),
            Field::new("end", DataType::Date32, true),
            Field::new("group", group.data_type().clone(), true),
        ])),
        vec![
            Arc::new(Date32Array::from(vec![
                Some(days("2026-01-01")),
                Some(days("2026-01-05")),
            ])),
            Arc::new(Date32Array::from(vec![None, Some(days("2026-02-01"))])),
            Arc::new(group),
        ],
    )
    .unwrap();
    let csv = send(
        Method::POST,
        "/survival?as_of=2026-03-01",
        Some("text/csv"),
        "start,end,group\n2026-01-01,,\n2026-01-05,2026-02-01,\n",
    )
    .await;
    let answer = post("/survival?as_of=2026-03-01", ARROW, arrow_stream(&b)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.text, csv.text);
    // A 200 kB id repeated over 1,000 rows: 200 kB in the file, 200 MB once read. Refused.
    let long = "x".repeat(200_000);
    let mut ids = StringDictionaryBuilder::<Int32Type>::new();
    for _ in 0..1000 {
        ids.append_value(&long);
    }
    let ids = ids.finish();
    let b = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("customer_id", ids.data_type().clone(), true),
            Field::new("date", DataType::Date32, true),
        ])),
        vec![
            Arc::new(ids),
            Arc::new(Date32Array::from(vec![Some(days("2026-01-01")); 1000])),
        ],
    )
    .unwrap();
    post("/cohorts", ARROW, arrow_stream(&b))
        .await
        .assert_problem(422, Some(""));
}
