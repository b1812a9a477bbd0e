//! Column-batch bodies: an Arrow IPC stream (`application/vnd.apache.arrow.stream`) or a
//! Parquet file (`application/vnd.apache.parquet`), read into the same typed rows a CSV body
//! gives, without text parsing. A cell reads as its CSV text would: a number into a text
//! field is its digits, a `YYYY-MM-DD` string into a date field is that date, a Date32 or
//! timestamp column is its (UTC) day, a decimal is parsed from its digits (so it is the same
//! double as in CSV), a null is an empty cell.

use std::cell::Cell;
use std::fmt;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type,
    Int64Type, Int8Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use axum::body::Bytes;
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, Visitor};
use serde::Deserializer;

use super::error::ApiError;

/// A column-batch body in the spec: the bytes of an Arrow IPC stream or of a Parquet file,
/// with the columns a CSV body of the same endpoint has.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct ColumnBatch(#[allow(dead_code)] Vec<u8>);

/// Which column format a body is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnarKind {
    ArrowStream,
    Parquet,
}

impl ColumnarKind {
    pub fn name(self) -> &'static str {
        match self {
            ColumnarKind::ArrowStream => "Arrow IPC stream",
            ColumnarKind::Parquet => "Parquet file",
        }
    }
}

/// A body's record batches.
pub struct Columnar {
    names: Vec<String>,
    batches: Vec<RecordBatch>,
    /// Bytes of text the rows may hold once read: a dictionary holds a value once, the rows
    /// once per row.
    max_text: usize,
}

fn malformed(kind: ColumnarKind, why: impl fmt::Display) -> ApiError {
    ApiError::InvalidBody {
        pointer: String::new(),
        reason: format!("a readable {}", kind.name()),
        detail: format!("the body is not a readable {}: {why}", kind.name()),
    }
}

impl Columnar {
    /// Reads the batches; at most `max_rows` rows, and a Parquet file at most `max_decoded`
    /// bytes once decompressed (by its metadata, checked before anything is decoded).
    pub fn read(
        kind: ColumnarKind,
        bytes: Bytes,
        max_rows: usize,
        max_decoded: usize,
    ) -> Result<Self, ApiError> {
        // A decoder that panics on a malformed file answers 422 like any malformed file, not
        // 500 (the files are the caller's bytes).
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Self::decode(kind, bytes, max_rows, max_decoded)
        }))
        .unwrap_or_else(|_| Err(malformed(kind, "the decoder stopped on it")))
    }

    fn decode(
        kind: ColumnarKind,
        bytes: Bytes,
        max_rows: usize,
        max_decoded: usize,
    ) -> Result<Self, ApiError> {
        let too_many = |rows: usize| ApiError::InvalidBody {
            pointer: String::new(),
            reason: format!("at most {max_rows} rows"),
            detail: format!(
                "the {} holds {rows} rows or more; a request takes at most {max_rows} (MAX_EVENTS)",
                kind.name()
            ),
        };
        let too_large = |bytes: usize| {
            ApiError::InvalidBody {
            pointer: String::new(),
            reason: format!("at most {max_decoded} bytes decoded"),
            detail: format!("the {} decodes to {bytes} bytes or more; a request takes at most {max_decoded} (16 × BODY_LIMIT)", kind.name()),
        }
        };
        let (schema, batches) = match kind {
            ColumnarKind::ArrowStream => {
                let reader =
                    arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)
                        .map_err(|e| malformed(kind, e))?;
                let schema = reader.schema();
                let mut batches = Vec::new();
                let (mut rows, mut bytes) = (0usize, 0usize);
                for batch in reader {
                    let batch = batch.map_err(|e| malformed(kind, e))?;
                    rows += batch.num_rows();
                    bytes += batch.get_array_memory_size();
                    if rows > max_rows {
                        return Err(too_many(rows));
                    }
                    if bytes > max_decoded {
                        return Err(too_large(bytes));
                    }
                    batches.push(batch);
                }
                (schema, batches)
            }
            ColumnarKind::Parquet => {
                use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
                let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)
                    .map_err(|e| malformed(kind, e))?;
                let metadata = builder.metadata();
                let rows = metadata.file_metadata().num_rows().max(0) as usize;
                if rows > max_rows {
                    return Err(too_many(rows));
                }
                let decoded: i64 = metadata
                    .row_groups()
                    .iter()
                    .flat_map(|g| g.columns())
                    .map(|c| c.uncompressed_size().max(0))
                    .sum();
                if decoded as u64 > max_decoded as u64 {
                    return Err(too_large(decoded.max(0) as usize));
                }
                let schema = builder.schema().clone();
                // Small batches: the metadata's sizes are the sender's word, so the decoded
                // size is also counted as the batches come (at most one batch past the bound).
                let reader = builder
                    .with_batch_size(4_096)
                    .build()
                    .map_err(|e| malformed(kind, e))?;
                let mut batches = Vec::new();
                let (mut read, mut bytes) = (0usize, 0usize);
                for batch in reader {
                    let batch = batch.map_err(|e| malformed(kind, e))?;
                    read += batch.num_rows();
                    bytes += batch.get_array_memory_size();
                    if read > max_rows {
                        return Err(too_many(read));
                    }
                    if bytes > max_decoded {
                        return Err(too_large(bytes));
                    }
                    batches.push(batch);
                }
                (schema, batches)
            }
        };
        Ok(Self {
            names: schema.fields().iter().map(|f| f.name().clone()).collect(),
            batches,
            max_text: max_decoded,
        })
    }

    /// A batch's columns, typed; a column of a type no cell can be read from is refused
    /// (pointing into `collection` when there is one).
    fn columns<'a>(
        &'a self,
        batch: &'a RecordBatch,
        collection: &str,
    ) -> Result<Vec<Column<'a>>, ApiError> {
        batch
            .columns()
            .iter()
            .zip(&self.names)
            .map(|(array, name)| Column::new(name, array))
            .collect::<Result<_, _>>()
            .map_err(|(name, kind)| ApiError::InvalidBody {
                pointer: if collection.is_empty() {
                    String::new()
                } else {
                    format!("/{collection}/0/{name}")
                },
                reason: "a supported column type".to_owned(),
                detail: format!(
                    "column {name} is {kind}: give text, numbers, booleans, dates or timestamps"
                ),
            })
    }

    /// `so_far` plus the text bytes of `row`, refused past the budget: a short dictionary
    /// value repeated over many rows is small in the file and large once read.
    fn count_text(&self, columns: &[Column], row: usize, so_far: usize) -> Result<usize, ApiError> {
        let total = columns
            .iter()
            .filter_map(|c| match c.value(row) {
                Some(CellValue::Text(t)) => Some(t.len()),
                _ => None,
            })
            .fold(so_far, usize::saturating_add);
        if total > self.max_text {
            return Err(ApiError::InvalidBody {
                pointer: String::new(),
                reason: format!("at most {} bytes of text", self.max_text),
                detail: format!(
                    "the rows hold more than {} bytes of text once read (16 × BODY_LIMIT)",
                    self.max_text
                ),
            });
        }
        Ok(total)
    }

    /// The column names, in order.
    pub fn header(&self) -> Vec<&str> {
        self.names.iter().map(String::as_str).collect()
    }

    /// The rows as `T`s; a column outside `columns` is refused before any row is read, a cell
    /// that does not fit with the pointer `/{collection}/{row}/{column}`.
    pub fn rows<T: DeserializeOwned>(
        &self,
        collection: &str,
        columns: &[&str],
    ) -> Result<Vec<T>, ApiError> {
        guarded(|| self.read_rows(collection, columns))
    }

    fn read_rows<T: DeserializeOwned>(
        &self,
        collection: &str,
        columns: &[&str],
    ) -> Result<Vec<T>, ApiError> {
        if let Some(unknown) = self.names.iter().find(|n| !columns.contains(&n.as_str())) {
            return Err(ApiError::InvalidBody {
                pointer: format!("/{collection}"),
                reason: format!("columns {}", columns.join(",")),
                detail: format!(
                    "the body has a column {unknown:?} that is not one of {}; its columns are {}",
                    columns.join(","),
                    self.names.join(",")
                ),
            });
        }
        let mut out = Vec::with_capacity(self.batches.iter().map(RecordBatch::num_rows).sum());
        let (mut offset, mut text) = (0, 0);
        for batch in &self.batches {
            let columns = self.columns(batch, collection)?;
            for row in 0..batch.num_rows() {
                text = self.count_text(&columns, row, text)?;
                let at = Cell::new(None);
                let value = T::deserialize(RowDeserializer {
                    columns: &columns,
                    row,
                    at: &at,
                })
                .map_err(|e: RowError| {
                    let message = e.0;
                    // A missing field names itself; any other error the cell being read.
                    let column = message
                        .strip_prefix("missing field `")
                        .and_then(|m| m.split('`').next())
                        .map(str::to_owned)
                        .or_else(|| at.get().map(|c: usize| columns[c].name.to_owned()));
                    let pointer = match &column {
                        Some(c) => format!("/{collection}/{}/{c}", offset + row),
                        None => format!("/{collection}/{}", offset + row),
                    };
                    ApiError::InvalidBody {
                        detail: format!(
                            "row {}{}: {message}",
                            offset + row,
                            column.map(|c| format!(", column {c}")).unwrap_or_default()
                        ),
                        pointer,
                        reason: message,
                    }
                })?;
                out.push(value);
            }
            offset += batch.num_rows();
        }
        Ok(out)
    }

    /// Every row as the text its cells would have in CSV (an empty string for a null), for
    /// readers that interpret text themselves (Cox covariates).
    pub fn text_rows(&self) -> Result<Vec<Vec<String>>, ApiError> {
        guarded(|| self.read_text_rows())
    }

    fn read_text_rows(&self) -> Result<Vec<Vec<String>>, ApiError> {
        let (mut out, mut text) = (Vec::new(), 0);
        for batch in &self.batches {
            let columns = self.columns(batch, "")?;
            for row in 0..batch.num_rows() {
                text = self.count_text(&columns, row, text)?;
                out.push(
                    columns
                        .iter()
                        .map(|c| c.value(row).map(|v| v.text()).unwrap_or_default())
                        .collect(),
                );
            }
        }
        Ok(out)
    }

    /// The rows as JSON objects (null cells left out), for bodies read as JSON values.
    pub fn json_rows(&self) -> Result<Vec<serde_json::Value>, ApiError> {
        guarded(|| self.read_json_rows())
    }

    fn read_json_rows(&self) -> Result<Vec<serde_json::Value>, ApiError> {
        let (mut out, mut text) = (Vec::new(), 0);
        for batch in &self.batches {
            let columns = self.columns(batch, "")?;
            for row in 0..batch.num_rows() {
                text = self.count_text(&columns, row, text)?;
                let mut object = serde_json::Map::new();
                for c in &columns {
                    if let Some(v) = c.value(row) {
                        // Ids are text whatever the column's type, as in CSV.
                        let value = if c.name == "id" || c.name == "customer_id" {
                            serde_json::Value::String(v.text())
                        } else {
                            v.json()
                        };
                        object.insert(c.name.to_owned(), value);
                    }
                }
                out.push(serde_json::Value::Object(object));
            }
        }
        Ok(out)
    }
}

/// Runs `f`, answering a panic (arrays the readers let through but cannot hold) as a refusal
/// of the body rather than a 500.
fn guarded<R>(f: impl FnOnce() -> Result<R, ApiError>) -> Result<R, ApiError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(ApiError::InvalidBody {
            pointer: String::new(),
            reason: "readable columns".to_owned(),
            detail: "the body's columns could not be read (an array inconsistent with its type)"
                .to_owned(),
        })
    })
}

/// One column of a batch, downcast once: reading a cell is then an index and a match. Text
/// is trimmed, as the CSV reader trims its cells.
struct Column<'a> {
    name: &'a str,
    data: Data<'a>,
    nulls: Option<&'a arrow_buffer::NullBuffer>,
    /// Dictionary columns: each row's index into the values (None: a null).
    keys: Option<Vec<Option<usize>>>,
}

/// A column's values, by how they read.
enum Data<'a> {
    Text(&'a arrow_array::StringArray),
    LargeText(&'a arrow_array::LargeStringArray),
    TextView(&'a arrow_array::StringViewArray),
    Bool(&'a arrow_array::BooleanArray),
    Int(std::borrow::Cow<'a, [i64]>),
    UInt(std::borrow::Cow<'a, [u64]>),
    Float(std::borrow::Cow<'a, [f64]>),
    Decimal(&'a [i128], i8),
    /// Days since 1970-01-01 (Date32, Date64 and timestamps: their UTC day).
    Day(Vec<i64>),
}

/// A primitive column's values as a wider type (Int32 as i64, Float32 as f64, …).
fn widen<T, U>(array: &ArrayRef) -> std::borrow::Cow<'_, [U]>
where
    T: arrow_array::ArrowPrimitiveType,
    U: From<T::Native> + Clone,
{
    std::borrow::Cow::Owned(
        array
            .as_primitive::<T>()
            .values()
            .iter()
            .map(|&v| U::from(v))
            .collect(),
    )
}

/// The values of `array`, or None for a type no cell can be read from.
fn data_of(array: &ArrayRef) -> Option<Data<'_>> {
    use std::borrow::Cow;
    let a = array;
    let days =
        |per_day: i64, values: &[i64]| values.iter().map(|v| v.div_euclid(per_day)).collect();
    Some(match a.data_type() {
        DataType::Utf8 => Data::Text(a.as_string::<i32>()),
        DataType::LargeUtf8 => Data::LargeText(a.as_string::<i64>()),
        DataType::Utf8View => Data::TextView(a.as_string_view()),
        DataType::Boolean => Data::Bool(a.as_boolean()),
        DataType::Int64 => Data::Int(Cow::Borrowed(a.as_primitive::<Int64Type>().values())),
        DataType::Int32 => Data::Int(widen::<Int32Type, i64>(a)),
        DataType::Int16 => Data::Int(widen::<Int16Type, i64>(a)),
        DataType::Int8 => Data::Int(widen::<Int8Type, i64>(a)),
        DataType::UInt64 => Data::UInt(Cow::Borrowed(a.as_primitive::<UInt64Type>().values())),
        DataType::UInt32 => Data::UInt(widen::<UInt32Type, u64>(a)),
        DataType::UInt16 => Data::UInt(widen::<UInt16Type, u64>(a)),
        DataType::UInt8 => Data::UInt(widen::<UInt8Type, u64>(a)),
        DataType::Float64 => Data::Float(Cow::Borrowed(a.as_primitive::<Float64Type>().values())),
        // As its text: 0.1f32 is 0.1, as in the writer's CSV, not 0.10000000149011612.
        DataType::Float32 => Data::Float(std::borrow::Cow::Owned(
            a.as_primitive::<Float32Type>()
                .values()
                .iter()
                .map(|v| v.to_string().parse().unwrap_or(f64::NAN))
                .collect(),
        )),
        DataType::Decimal128(_, scale) => {
            Data::Decimal(a.as_primitive::<Decimal128Type>().values(), *scale)
        }
        DataType::Date32 => Data::Day(
            a.as_primitive::<Date32Type>()
                .values()
                .iter()
                .map(|&v| i64::from(v))
                .collect(),
        ),
        DataType::Date64 => Data::Day(days(86_400_000, a.as_primitive::<Date64Type>().values())),
        DataType::Timestamp(unit, _) => match unit {
            TimeUnit::Second => Data::Day(days(
                86_400,
                a.as_primitive::<TimestampSecondType>().values(),
            )),
            TimeUnit::Millisecond => Data::Day(days(
                86_400_000,
                a.as_primitive::<TimestampMillisecondType>().values(),
            )),
            TimeUnit::Microsecond => Data::Day(days(
                86_400_000_000,
                a.as_primitive::<TimestampMicrosecondType>().values(),
            )),
            TimeUnit::Nanosecond => Data::Day(days(
                86_400_000_000_000,
                a.as_primitive::<TimestampNanosecondType>().values(),
            )),
        },
        _ => return None,
    })
}

impl<'a> Column<'a> {
    fn new(name: &'a str, array: &'a ArrayRef) -> Result<Self, (&'a str, String)> {
        let unsupported = || (name, format!("{}", array.data_type()));
        if let Some(dict) = array.as_any_dictionary_opt() {
            let values = dict.values();
            let data = data_of(values).ok_or_else(unsupported)?;
            // An all-null dictionary may have no values (normalized_keys asserts some).
            let normalized = if values.is_empty() {
                vec![0; array.len()]
            } else {
                dict.normalized_keys()
            };
            let mut keys = Vec::with_capacity(array.len());
            for (i, &key) in normalized.iter().enumerate().take(array.len()) {
                if array.is_null(i) {
                    keys.push(None);
                } else if key < values.len() {
                    keys.push(Some(key));
                } else {
                    return Err((name, "a dictionary with a key past its values".to_owned()));
                }
            }
            return Ok(Self {
                name,
                data,
                nulls: values.nulls(),
                keys: Some(keys),
            });
        }
        Ok(Self {
            name,
            data: data_of(array).ok_or_else(unsupported)?,
            nulls: array.nulls(),
            keys: None,
        })
    }

    /// The cell of `row`, or None for a null.
    fn value(&self, row: usize) -> Option<CellValue<'_>> {
        let i = match &self.keys {
            Some(keys) => keys[row]?,
            None => row,
        };
        if self.nulls.is_some_and(|n| n.is_null(i)) {
            return None;
        }
        Some(match &self.data {
            Data::Text(a) => CellValue::Text(a.value(i).trim()),
            Data::LargeText(a) => CellValue::Text(a.value(i).trim()),
            Data::TextView(a) => CellValue::Text(a.value(i).trim()),
            Data::Bool(a) => CellValue::Bool(a.value(i)),
            Data::Int(v) => CellValue::Int(v[i]),
            Data::UInt(v) => CellValue::UInt(v[i]),
            Data::Float(v) => CellValue::Float(v[i]),
            Data::Decimal(v, scale) => CellValue::Decimal(v[i], *scale),
            Data::Day(v) => CellValue::Day(v[i]),
        })
    }
}

/// A non-null cell.
enum CellValue<'a> {
    Text(&'a str),
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    /// Unscaled value and scale.
    Decimal(i128, i8),
    /// Days since 1970-01-01 (a UTC day).
    Day(i64),
}

impl CellValue<'_> {
    /// The text the cell would have in a CSV file.
    fn text(&self) -> String {
        match *self {
            CellValue::Text(t) => t.to_owned(),
            CellValue::Bool(b) => b.to_string(),
            CellValue::Int(n) => n.to_string(),
            CellValue::UInt(n) => n.to_string(),
            CellValue::Float(x) => x.to_string(),
            CellValue::Decimal(v, scale) => decimal_text(v, scale),
            CellValue::Day(d) => day_text(d),
        }
    }

    fn json(&self) -> serde_json::Value {
        match *self {
            CellValue::Text(t) => serde_json::Value::from(t),
            CellValue::Bool(b) => serde_json::Value::from(b),
            CellValue::Int(n) => serde_json::Value::from(n),
            CellValue::UInt(n) => serde_json::Value::from(n),
            CellValue::Float(x) => serde_json::Value::from(x),
            CellValue::Decimal(..) => {
                serde_json::Value::from(self.text().parse::<f64>().unwrap_or(f64::NAN))
            }
            CellValue::Day(d) => serde_json::Value::from(day_text(d)),
        }
    }

    /// As a whole number, when it is one: integers, whole decimals and floats, digits.
    fn whole(&self) -> Option<i128> {
        match *self {
            CellValue::Int(n) => Some(i128::from(n)),
            CellValue::UInt(n) => Some(i128::from(n)),
            CellValue::Decimal(v, scale) if scale <= 0 => {
                v.checked_mul(10i128.checked_pow(u32::from(scale.unsigned_abs()))?)
            }
            CellValue::Decimal(v, scale) => {
                let unit = 10i128.checked_pow(scale as u32)?;
                (v % unit == 0).then(|| v / unit)
            }
            CellValue::Float(x) if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e18 => {
                Some(x as i128)
            }
            CellValue::Text(t) => t.parse().ok(),
            _ => None,
        }
    }

    /// As a number, when it is one (a decimal through its digits, as CSV would read it).
    fn number(&self) -> Option<f64> {
        match *self {
            CellValue::Int(n) => Some(n as f64),
            CellValue::UInt(n) => Some(n as f64),
            CellValue::Float(x) => Some(x),
            CellValue::Decimal(v, scale) => decimal_text(v, scale).parse().ok(),
            CellValue::Text(t) => t.trim().parse().ok(),
            _ => None,
        }
    }
}

fn decimal_text(v: i128, scale: i8) -> String {
    if scale <= 0 {
        return format!("{v}{}", "0".repeat(scale.unsigned_abs() as usize));
    }
    let digits = v.unsigned_abs().to_string();
    let s = scale as usize;
    let padded = format!("{digits:0>width$}", width = s + 1);
    let (whole, frac) = padded.split_at(padded.len() - s);
    format!("{}{whole}.{frac}", if v < 0 { "-" } else { "" })
}

fn day_text(days: i64) -> String {
    // Days to the civil date (Howard Hinnant's algorithm), written without a formatter: a
    // million dates are a hot path.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if !(0..=9999).contains(&year) {
        return format!("day {days}");
    }
    let mut out = String::with_capacity(10);
    for (value, width) in [(year, 4), (month, 2), (day, 2)] {
        if !out.is_empty() {
            out.push('-');
        }
        let mut digits = [b'0'; 4];
        let mut v = value;
        for k in (0..width).rev() {
            digits[k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        out.push_str(std::str::from_utf8(&digits[..width]).unwrap_or("0"));
    }
    out
}

/// A row's deserialization error: the message only (the caller adds row and column).
#[derive(Debug)]
struct RowError(String);

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RowError {}

impl de::Error for RowError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        RowError(msg.to_string())
    }
}

/// One row as a map of its non-null cells.
struct RowDeserializer<'r, 'a> {
    columns: &'r [Column<'a>],
    row: usize,
    at: &'r Cell<Option<usize>>,
}

impl<'de> Deserializer<'de> for RowDeserializer<'_, '_> {
    type Error = RowError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        visitor.visit_map(RowMap {
            columns: self.columns,
            row: self.row,
            next: 0,
            at: self.at,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct RowMap<'r, 'a> {
    columns: &'r [Column<'a>],
    row: usize,
    next: usize,
    at: &'r Cell<Option<usize>>,
}

impl<'de> MapAccess<'de> for RowMap<'_, '_> {
    type Error = RowError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, RowError> {
        // Null cells are left out: an optional field is then None, a defaulted one its
        // default, a required one missing (named in the error).
        while self.next < self.columns.len() && self.columns[self.next].value(self.row).is_none() {
            self.next += 1;
        }
        if self.next >= self.columns.len() {
            return Ok(None);
        }
        self.at.set(Some(self.next));
        seed.deserialize(de::value::StrDeserializer::<RowError>::new(
            self.columns[self.next].name,
        ))
        .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, RowError> {
        let column = &self.columns[self.next];
        self.next += 1;
        match column.value(self.row) {
            Some(value) => seed.deserialize(CellDeserializer(value)),
            None => Err(de::Error::custom("a null cell")),
        }
    }
}

/// One non-null cell; a number into a text field is its text, text into a number field is
/// parsed, as CSV cells are.
struct CellDeserializer<'a>(CellValue<'a>);

impl CellDeserializer<'_> {
    fn invalid(&self, expected: &str) -> RowError {
        de::Error::custom(format!("{:?} is not {expected}", self.0.text()))
    }
}

impl<'de> Deserializer<'de> for CellDeserializer<'_> {
    type Error = RowError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        match self.0 {
            CellValue::Text(t) => visitor.visit_str(t),
            CellValue::Bool(b) => visitor.visit_bool(b),
            CellValue::Int(n) => visitor.visit_i64(n),
            CellValue::UInt(n) => visitor.visit_u64(n),
            CellValue::Float(x) => visitor.visit_f64(x),
            // A whole decimal (a warehouse's NUMBER(38,0) id or count) is a whole number.
            CellValue::Decimal(..) => match (self.0.whole(), self.0.number()) {
                (Some(n), _) if n >= 0 && n <= i128::from(u64::MAX) => visitor.visit_u64(n as u64),
                (Some(n), _) if n < 0 && n >= i128::from(i64::MIN) => visitor.visit_i64(n as i64),
                (_, Some(x)) => visitor.visit_f64(x),
                _ => Err(self.invalid("a number")),
            },
            CellValue::Day(d) => visitor.visit_string(day_text(d)),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        match self.0.number() {
            Some(x) => visitor.visit_f64(x),
            None => Err(self.invalid("a number")),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        match self.0.whole().and_then(|n| u64::try_from(n).ok()) {
            Some(n) => visitor.visit_u64(n),
            None => Err(self.invalid("a whole number")),
        }
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        match self.0.whole().and_then(|n| i64::try_from(n).ok()) {
            Some(n) => visitor.visit_i64(n),
            None => Err(self.invalid("a whole number")),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        match self.0 {
            CellValue::Text(t) => visitor.visit_str(t),
            _ => visitor.visit_string(self.0.text()),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        match self.0 {
            // An empty text cell is an empty CSV cell: none.
            CellValue::Text("") => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, RowError> {
        let text = self.0.text();
        visitor.visit_enum(de::value::StringDeserializer::<RowError>::new(text))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i128 u8 u16 u128 char bytes byte_buf unit unit_struct
        newtype_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_written_as_chrono_writes_them() {
        let origin = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        for days in (-719_000..2_932_000)
            .step_by(997)
            .chain([-1, 0, 59, 11_016, 19_782])
        {
            let expected = (origin + chrono::Duration::days(days))
                .format("%Y-%m-%d")
                .to_string();
            assert_eq!(day_text(days), expected, "{days}");
        }
    }

    /// Every truncation and many single-byte changes of a valid Parquet file and Arrow stream:
    /// each is read or refused, none escapes as a panic (a 500).
    #[test]
    fn damaged_files_are_refused_not_crashed_on() {
        use std::sync::Arc;
        let ids: arrow_array::StringArray = (0..50).map(|i| Some(format!("c{i}"))).collect();
        let days: arrow_array::Date32Array = (0..50).map(Some).collect();
        let schema = Arc::new(arrow_schema::Schema::new(vec![
            arrow_schema::Field::new("customer_id", DataType::Utf8, true),
            arrow_schema::Field::new("date", DataType::Date32, true),
        ]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(ids), Arc::new(days)])
            .expect("a batch");
        let mut parquet = Vec::new();
        let mut writer = parquet::arrow::ArrowWriter::try_new(&mut parquet, schema.clone(), None)
            .expect("a writer");
        writer.write(&batch).expect("written");
        writer.close().expect("closed");
        let mut arrow = Vec::new();
        let mut writer =
            arrow_ipc::writer::StreamWriter::try_new(&mut arrow, &schema).expect("a writer");
        writer.write(&batch).expect("written");
        writer.finish().expect("finished");
        drop(writer);
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for (kind, file) in [
            (ColumnarKind::Parquet, parquet),
            (ColumnarKind::ArrowStream, arrow),
        ] {
            let mut damaged: Vec<Vec<u8>> = (0..file.len()).map(|n| file[..n].to_vec()).collect();
            for _ in 0..2000 {
                let mut copy = file.clone();
                let at = (next() % copy.len() as u64) as usize;
                copy[at] = next() as u8;
                damaged.push(copy);
            }
            for bytes in damaged {
                let outcome = std::panic::catch_unwind(|| {
                    Columnar::read(kind, Bytes::from(bytes), 1000, 1 << 20).and_then(|c| {
                        c.rows::<serde_json::Value>("events", &["customer_id", "date"])
                    })
                });
                assert!(outcome.is_ok(), "{kind:?}: a panic escaped");
            }
        }
    }

    #[test]
    fn decimals_read_as_their_digits() {
        assert_eq!(decimal_text(2933, 2), "29.33");
        assert_eq!(decimal_text(-5, 3), "-0.005");
        assert_eq!(decimal_text(12, 0), "12");
        assert_eq!(decimal_text(12, -2), "1200");
        assert_eq!(day_text(0), "1970-01-01");
        assert_eq!(day_text(-1), "1969-12-31");
    }
}
