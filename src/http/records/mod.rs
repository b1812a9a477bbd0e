//! `POST /series`, `POST /cohorts` and `POST /survival`: raw records (JSON, CSV, Arrow or
//! Parquet) to KPIs
//! over time. This file holds what the three share: the body as JSON or CSV, customer ids,
//! CSV cells; each endpoint's file its request, conversion, handler and examples.

pub mod cohorts;
pub mod competing;
pub mod cox;
pub mod events;
pub mod lifecycle;
pub mod retention;
pub mod series;
pub mod stickiness;
pub mod survival;

use std::fmt;

use axum::extract::{FromRequest, Request};
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::Deserialize;

use super::columnar::Columnar;
use super::error::ApiError;
use super::extract::{read_body, BodyKind};
use super::AppState;
use crate::analytics::periods::parse_day;
use crate::kpi::InvalidInput;

/// A customer id as given: a string, or a whole number — kept apart from the string of the
/// same digits, so that `1` and `"1"` are two customers, as their JSON types say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerId {
    pub id: String,
    /// Given as a JSON number.
    pub numeric: bool,
}

impl<'de> Deserialize<'de> for CustomerId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = CustomerId;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a customer id (string or whole number)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<CustomerId, E> {
                Ok(CustomerId {
                    id: v.to_owned(),
                    numeric: false,
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<CustomerId, E> {
                Ok(CustomerId {
                    id: v.to_string(),
                    numeric: true,
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<CustomerId, E> {
                Ok(CustomerId {
                    id: v.to_string(),
                    numeric: true,
                })
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

/// Refuses more rows than `MAX_EVENTS`, naming the collection.
pub fn within_max_events(rows: usize, collection: &str, max: usize) -> Result<(), InvalidInput> {
    if rows > max {
        return Err(InvalidInput::new(
            format!("/{collection}"),
            format!("at most {max} rows"),
            format!("{rows} {collection} given; a request takes at most {max} (MAX_EVENTS)"),
        ));
    }
    Ok(())
}

/// CSV cells have no type: every id read from CSV is text (`1` and `abc` alike).
pub fn text_ids<T>(mut rows: Vec<T>, id: impl Fn(&mut T) -> &mut CustomerId) -> Vec<T> {
    for row in &mut rows {
        id(row).numeric = false;
    }
    rows
}

/// `true`/`false`, `1`/`0` (as CSV writes them).
pub fn bool_like<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    struct BoolVisitor;
    impl Visitor<'_> for BoolVisitor {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("true or false (or 1 or 0)")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
            match v {
                0 => Ok(false),
                1 => Ok(true),
                _ => Err(E::custom(format!("{v} is not 0 or 1"))),
            }
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
            self.visit_u64(u64::try_from(v).map_err(|_| E::custom(format!("{v} is not 0 or 1")))?)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
            match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                other => Err(E::custom(format!("{other:?} is not true or false"))),
            }
        }
    }
    deserializer.deserialize_any(BoolVisitor)
}

/// A body as JSON, or as rows (CSV, an Arrow IPC stream or a Parquet file) plus query
/// parameters. Query parameters carry the settings of a body of rows only: with JSON they
/// belong in the body, and are refused rather than silently ignored.
pub enum Records {
    Json(axum::body::Bytes),
    Rows(RowsBody, Option<String>),
}

/// A body of rows as it arrived; [`RowsBody::read`] reads it (in the CPU-work pool).
pub struct RowsBody {
    kind: BodyKind,
    bytes: axum::body::Bytes,
}

impl RowsBody {
    pub fn new(kind: BodyKind, bytes: axum::body::Bytes) -> Self {
        Self { kind, bytes }
    }

    /// Reads the rows: CSV is parsed row by row later; a column batch is decoded now, within
    /// `MAX_EVENTS` rows and (Parquet) 16 × `BODY_LIMIT` bytes decompressed.
    pub fn read(self, state: &AppState) -> Result<Rows, ApiError> {
        match self.kind {
            BodyKind::Columnar(kind) => Ok(Rows::Columnar(Columnar::read(
                kind,
                self.bytes,
                state.config.max_events,
                state.config.body_limit.saturating_mul(16),
            )?)),
            _ => Ok(Rows::Csv(self.bytes)),
        }
    }
}

/// Rows to read as typed records: CSV text or decoded column batches, the same rows either
/// way (a cell reads as its CSV text would).
pub enum Rows {
    Csv(axum::body::Bytes),
    Columnar(Columnar),
}

impl Rows {
    /// The column names.
    pub fn header(&self) -> Vec<&str> {
        match self {
            Rows::Csv(bytes) => csv_header(bytes),
            Rows::Columnar(c) => c.header(),
        }
    }

    /// The rows as `T`s (see [`csv_rows`]), refusing a column outside `columns`.
    pub fn rows<T: DeserializeOwned>(
        &self,
        collection: &str,
        columns: &[&str],
    ) -> Result<Vec<T>, ApiError> {
        match self {
            Rows::Csv(bytes) => csv_rows(bytes, collection, columns),
            Rows::Columnar(c) => c.rows(collection, columns),
        }
    }
}

impl FromRequest<AppState> for Records {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        // `format` (JSON or a chart) goes with either body; the rest are a CSV body's settings.
        let query = request
            .uri()
            .query()
            .and_then(crate::http::charts::without_format);
        match read_body(request, state, true).await? {
            (BodyKind::Json, _) if query.is_some() => Err(ApiError::InvalidBody {
                pointer: String::new(),
                reason: "query parameters are for text/csv bodies".to_owned(),
                detail: "query parameters set the options of a text/csv body; with a JSON body, put them in the body".to_owned(),
            }),
            (BodyKind::Json, bytes) => Ok(Records::Json(bytes)),
            (kind, bytes) => Ok(Records::Rows(RowsBody { kind, bytes }, query)),
        }
    }
}

/// Parses CSV rows (a header row naming the columns) into `T`s; a bad cell is refused with
/// the pointer `/{collection}/{row}/{column}` (row 0 is the first line after the header).
///
/// A header naming a column other than `columns` is refused before any row is read, with the
/// columns expected and those seen: the usual cause is `curl -d @file`, which strips the
/// newlines and turns the whole file into one header line (`--data-binary @file` keeps them).
pub fn csv_rows<T: DeserializeOwned>(
    bytes: &[u8],
    collection: &str,
    columns: &[&str],
) -> Result<Vec<T>, ApiError> {
    let (mut reader, headers) = csv_reader(bytes)?;
    check_csv_columns(&headers, collection, columns)?;
    let mut rows = Vec::new();
    for (row, record) in reader.deserialize::<T>().enumerate() {
        match record {
            Ok(value) => rows.push(value),
            Err(error) => return Err(csv_row_error(&error, &headers, collection, row)),
        }
    }
    Ok(rows)
}

/// A CSV reader of `bytes` (cells trimmed) and its header.
pub fn csv_reader(bytes: &[u8]) -> Result<(csv::Reader<&[u8]>, csv::StringRecord), ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| ApiError::MalformedJson(format!("the CSV header could not be read: {e}")))?
        .clone();
    Ok((reader, headers))
}

/// Refuses a CSV header naming a column other than `columns` (see [`csv_rows`]).
pub fn check_csv_columns(
    headers: &csv::StringRecord,
    collection: &str,
    columns: &[&str],
) -> Result<(), ApiError> {
    if let Some(unknown) = headers.iter().find(|h| !columns.contains(h)) {
        let seen: Vec<&str> = headers.iter().collect();
        let shown = |text: String| -> String {
            if text.chars().count() > 120 {
                format!("{}…", text.chars().take(120).collect::<String>())
            } else {
                text
            }
        };
        return Err(ApiError::InvalidBody {
            pointer: format!("/{collection}"),
            reason: format!("CSV columns {}", columns.join(",")),
            detail: format!(
                "the CSV header has a column {:?} that is not one of {}; the header read was {:?}. A header that runs into the data lost its newlines: send the file with curl --data-binary @file, not -d",
                shown(unknown.to_owned()),
                columns.join(","),
                shown(seen.join(","))
            ),
        });
    }
    Ok(())
}

/// A CSV row that cannot be read as its type: pointed at `/{collection}/{row}/{column}` when
/// the cell is known.
pub fn csv_row_error(
    error: &csv::Error,
    headers: &csv::StringRecord,
    collection: &str,
    row: usize,
) -> ApiError {
    let column = match error.kind() {
        csv::ErrorKind::Deserialize { err, .. } => err
            .field()
            .and_then(|i| headers.get(i as usize))
            .map(str::to_owned),
        _ => None,
    };
    let message = match error.kind() {
        csv::ErrorKind::Deserialize { err, .. } => err.kind().to_string(),
        _ => error.to_string(),
    };
    let pointer = match &column {
        Some(c) => format!("/{collection}/{row}/{c}"),
        None => format!("/{collection}/{row}"),
    };
    ApiError::InvalidBody {
        detail: format!("CSV line {}: {message}", row + 2),
        pointer,
        reason: message,
    }
}

/// Every row as the text of its cells, as CSV gives them, with the header: for bodies whose
/// columns are not all known in advance (covariates, attributes). A row that cannot be read
/// is an error at `/{collection}/{row}`.
#[allow(clippy::type_complexity)]
pub fn text_table(
    rows: &Rows,
    collection: &str,
) -> Result<(Vec<String>, Vec<Result<Vec<String>, ApiError>>), ApiError> {
    let mut text = TextRows::open(rows, collection)?;
    let mut records = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match text.next_into(&mut record) {
            Ok(true) => records.push(Ok(record.iter().map(str::to_owned).collect())),
            Ok(false) => break,
            Err(e) => {
                records.push(Err(e));
                break;
            }
        }
    }
    let headers = text.headers;
    Ok((headers, records))
}

/// Rows of text read one at a time into a reused record, without holding the table: CSV
/// straight from the body; Arrow and Parquet from their cells' text.
pub struct TextRows<'a> {
    pub headers: Vec<String>,
    source: TextSource<'a>,
    collection: &'a str,
    row: usize,
}

enum TextSource<'a> {
    Csv(csv::Reader<&'a [u8]>),
    Columnar(std::vec::IntoIter<Vec<String>>),
}

impl<'a> TextRows<'a> {
    pub fn open(rows: &'a Rows, collection: &'a str) -> Result<Self, ApiError> {
        let (headers, source) = match rows {
            Rows::Csv(bytes) => {
                let (reader, headers) = csv_reader(bytes)?;
                let headers = headers.iter().map(str::to_owned).collect();
                (headers, TextSource::Csv(reader))
            }
            Rows::Columnar(c) => (
                c.header().into_iter().map(str::to_owned).collect(),
                TextSource::Columnar(c.text_rows()?.into_iter()),
            ),
        };
        Ok(Self {
            headers,
            source,
            collection,
            row: 0,
        })
    }

    /// Reads the next row into `record`; `false` after the last. A row that cannot be read
    /// is an error at `/{collection}/{row}`.
    pub fn next_into(&mut self, record: &mut csv::StringRecord) -> Result<bool, ApiError> {
        let read = match &mut self.source {
            TextSource::Csv(reader) => {
                reader
                    .read_record(record)
                    .map_err(|e| ApiError::InvalidBody {
                        pointer: format!("/{}/{}", self.collection, self.row),
                        reason: "a CSV row".to_owned(),
                        detail: format!("CSV line {}: {e}", self.row + 2),
                    })?
            }
            TextSource::Columnar(rows) => match rows.next() {
                Some(cells) => {
                    *record = csv::StringRecord::from(cells);
                    true
                }
                None => false,
            },
        };
        self.row += usize::from(read);
        Ok(read)
    }
}

/// The column names of a CSV body's header line (what tells a summary from raw rows).
pub fn csv_header(bytes: &[u8]) -> Vec<&str> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|t| t.lines().next())
        .map(|h| h.split(',').map(str::trim).collect())
        .unwrap_or_default()
}

pub fn query<T: DeserializeOwned>(query: Option<String>) -> Result<T, ApiError> {
    serde_urlencoded::from_str(query.as_deref().unwrap_or("")).map_err(|e| ApiError::InvalidBody {
        pointer: String::new(),
        reason: e.to_string(),
        detail: format!("query parameters: {e}"),
    })
}

pub fn optional_day(
    pointer: &str,
    text: Option<&str>,
) -> Result<Option<chrono::NaiveDate>, InvalidInput> {
    text.map(|t| parse_day(pointer, t)).transpose()
}

/// The dates a body of subscriptions is read with: `as_of` (required), `observed_from` (the
/// first day the data cover: earlier starters enter late) and the unit of durations.
pub struct SubscriptionClock {
    as_of: chrono::NaiveDate,
    observed_from: Option<chrono::NaiveDate>,
    pub unit: crate::units::TimeUnit,
}

impl SubscriptionClock {
    /// Refuses a missing `as_of` and an `observed_from` that is not before it.
    pub fn new(
        as_of: Option<&str>,
        observed_from: Option<&str>,
        unit: Option<crate::units::TimeUnit>,
    ) -> Result<Self, InvalidInput> {
        let as_of = as_of.ok_or_else(|| {
            InvalidInput::new(
                "/as_of",
                "required with subscriptions",
                "as_of (YYYY-MM-DD) is required with subscriptions: the date they are observed at",
            )
        })?;
        let as_of = parse_day("/as_of", as_of)?;
        let observed_from = optional_day("/observed_from", observed_from)?;
        if let Some(from) = observed_from.filter(|f| *f >= as_of) {
            return Err(InvalidInput::new(
                "/observed_from",
                "must be before as_of",
                format!("observed_from {from} is not before as_of {as_of}"),
            ));
        }
        Ok(Self {
            as_of,
            observed_from,
            unit: unit.unwrap_or_default(),
        })
    }

    /// The `index`-th subscription's observation (`end` empty or absent: still active).
    pub fn observe(
        &self,
        index: usize,
        start: &str,
        end: Option<&str>,
    ) -> Result<crate::analytics::survival::Observation, InvalidInput> {
        let start = parse_day(&format!("/subscriptions/{index}/start"), start)?;
        let end = optional_day(
            &format!("/subscriptions/{index}/end"),
            end.filter(|e| !e.is_empty()),
        )?;
        crate::analytics::survival::subscription_observation(
            index,
            start,
            end,
            self.as_of,
            self.unit,
            self.observed_from,
        )
    }

    pub fn as_of(&self) -> chrono::NaiveDate {
        self.as_of
    }
}
