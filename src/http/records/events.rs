//! What `POST /retention`, `POST /lifecycle` and `POST /stickiness` share: product events as
//! JSON or as rows (CSV, Arrow, Parquet: `customer_id,timestamp[,event],<attributes…>`), the
//! time zone, `filter` and `group_by`, and their query-string forms.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{query, text_table, within_max_events, CustomerId, Records, Rows};
use crate::analytics::events::{
    parse_instant_with, EventLog, EventRecord, FilterOp, FilterRule, Segments, Zone,
};
use crate::analytics::series::Interner;
use crate::http::error::ApiError;
use crate::http::extract::parse_json;
use crate::http::{AppState, Compute, FiniteJson};
use crate::kpi::InvalidInput;
use crate::units::Period;

/// One product event.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductEventRow {
    #[schema(value_type = String, example = "ann")]
    pub customer_id: CustomerId,
    /// An instant: RFC 3339 (`2024-03-10T07:15:00Z`, `2024-03-10T16:15:00+09:00`), or without
    /// an offset (read as UTC).
    #[schema(example = "2024-03-10T07:15:00Z")]
    pub timestamp: String,
    /// The event's name (`signup`, `login`); absent: unnamed (it counts only as "any event").
    #[schema(example = "login")]
    pub event: Option<String>,
    /// Text attributes (`plan`, `country`) for `filter` and `group_by`; numbers and booleans
    /// are read as their text, null as absent.
    #[schema(value_type = Option<Object>, example = json!({"plan": "pro", "country": "JP"}))]
    pub attributes: Option<BTreeMap<String, AttributeValue>>,
}

/// An attribute's value as text (null: absent).
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeValue(pub Option<String>);

impl<'de> Deserialize<'de> for AttributeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = AttributeValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("text, a number, true/false or null")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AttributeValue, E> {
                Ok(AttributeValue(Some(v.to_owned())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<AttributeValue, E> {
                Ok(AttributeValue(Some(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<AttributeValue, E> {
                Ok(AttributeValue(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<AttributeValue, E> {
                Ok(AttributeValue(Some(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<AttributeValue, E> {
                Ok(AttributeValue(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<AttributeValue, E> {
                Ok(AttributeValue(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<AttributeValue, E> {
                Ok(AttributeValue(None))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// The settings every product-event endpoint takes: the zone, the filter, the segments.
#[derive(Debug, Default)]
pub struct Segmentation {
    pub timezone: Option<String>,
    pub filter: Option<Vec<FilterRule>>,
    pub group_by: Option<Vec<String>>,
}

impl Segmentation {
    /// The query-string forms: `timezone=Asia/Tokyo`, `group_by=plan,country`,
    /// `filter=country:in:JP|US,plan:not_in:free`.
    pub fn from_query(
        timezone: Option<String>,
        filter: Option<String>,
        group_by: Option<String>,
    ) -> Result<Self, InvalidInput> {
        let filter = filter
            .map(|f| {
                f.split(',')
                    .enumerate()
                    .map(|(i, rule)| {
                        let mut parts = rule.splitn(3, ':');
                        let (a, op, values) = (parts.next(), parts.next(), parts.next());
                        let op = match op {
                            Some("in") => Some(FilterOp::In),
                            Some("not_in") => Some(FilterOp::NotIn),
                            _ => None,
                        };
                        match (a, op, values) {
                            (Some(a), Some(op), Some(v)) if !a.is_empty() => Ok(FilterRule {
                                attribute: a.to_owned(),
                                op,
                                values: v.split('|').map(str::to_owned).collect(),
                            }),
                            _ => Err(InvalidInput::new(
                                format!("/filter/{i}"),
                                "attribute:in:value|value or attribute:not_in:value|value",
                                format!("filter rule {rule:?} is not attribute:in:values or attribute:not_in:values (country:in:JP|US)"),
                            )),
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        Ok(Self {
            timezone,
            filter,
            group_by: group_by.map(|g| g.split(',').map(str::to_owned).collect()),
        })
    }

    /// The event log of `rows`: instants parsed, the filter applied, segments assigned.
    pub fn log(
        self,
        rows: Vec<ProductEventRow>,
        state: &AppState,
    ) -> Result<(EventLog, usize), ApiError> {
        within_max_events(rows.len(), "events", state.config.max_events)?;
        let zone = match &self.timezone {
            Some(name) => Zone::new("/timezone", name)?,
            None => Zone::default(),
        };
        let mut ids = Interner::default();
        let read = rows.len();
        // Attributes are read only when the filter or the segments need them.
        let wanted: Vec<&str> = self
            .filter
            .iter()
            .flatten()
            .map(|r| r.attribute.as_str())
            .chain(self.group_by.iter().flatten().map(String::as_str))
            .collect();
        let records = rows
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                Ok(EventRecord {
                    customer: ids.index_of(&r.customer_id.id, r.customer_id.numeric),
                    at: parse_instant_with(|| format!("/events/{i}/timestamp"), &r.timestamp)?,
                    event: r.event.unwrap_or_default(),
                    attributes: wanted_attributes(r.attributes, &wanted),
                })
            })
            .collect::<Result<Vec<_>, InvalidInput>>()?;
        let log = EventLog::build(
            &records,
            zone,
            self.filter.as_deref().unwrap_or_default(),
            self.group_by.as_deref().unwrap_or_default(),
        )?;
        Ok((log, read))
    }
}

/// Rows (CSV, Arrow, Parquet) whose columns are `known` plus attributes: per row the text of
/// each known column (in `known`'s order; empty when the body lacks the column) and its
/// attributes (every other column; an empty cell is an absent attribute). `required` known
/// columns must be in the header.
#[allow(clippy::type_complexity)]
pub fn attribute_rows(
    rows: &Rows,
    collection: &str,
    known: &[&str],
    required: &[&str],
) -> Result<Vec<(Vec<String>, Vec<(String, String)>)>, ApiError> {
    let (headers, records) = text_table(rows, collection)?;
    if let Some(missing) = required.iter().find(|r| !headers.iter().any(|h| h == *r)) {
        return Err(InvalidInput::new(
            format!("/{collection}"),
            format!("columns {}[,…],<attributes…>", required.join(",")),
            format!("the header ({}) has no column {missing}: give {} and any attribute columns; send a CSV file with curl --data-binary @file", headers.join(","), known.join(",")),
        )
        .into());
    }
    if let Some((k, h)) = headers
        .iter()
        .enumerate()
        .find(|(k, h)| headers[..*k].contains(h))
    {
        return Err(InvalidInput::new(
            format!("/{collection}/0/{h}"),
            "distinct columns",
            format!(
                "the header names {h:?} twice (column {}): name each column once",
                k + 1
            ),
        )
        .into());
    }
    let places: Vec<Option<usize>> = known
        .iter()
        .map(|name| headers.iter().position(|h| h == name))
        .collect();
    let attributes: Vec<(usize, &String)> = headers
        .iter()
        .enumerate()
        .filter(|(k, _)| !places.contains(&Some(*k)))
        .collect();
    records
        .into_iter()
        .map(|record| {
            let mut cells = record?;
            let known = places
                .iter()
                .map(|p| p.map(|k| std::mem::take(&mut cells[k])).unwrap_or_default())
                .collect();
            let attributes = attributes
                .iter()
                .map(|&(k, name)| (name.clone(), std::mem::take(&mut cells[k])))
                .filter(|(_, value)| !value.is_empty())
                .collect();
            Ok((known, attributes))
        })
        .collect()
}

/// Attributes as the JSON rows carry them: text, null cells left out.
pub fn attribute_pairs(
    attributes: Option<BTreeMap<String, AttributeValue>>,
) -> Vec<(String, String)> {
    attributes
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| v.0.map(|v| (k, v)))
        .collect()
}

/// The attributes as text (null cells left out) when the filter or the segments read any
/// (`wanted` names them); none otherwise: a million events without segments need none.
pub fn wanted_attributes(
    attributes: Option<BTreeMap<String, AttributeValue>>,
    wanted: &[&str],
) -> Vec<(String, String)> {
    if wanted.is_empty() {
        return Vec::new();
    }
    attribute_pairs(attributes)
}

/// Text attributes back into the JSON rows' form.
pub fn attribute_map(pairs: Vec<(String, String)>) -> Option<BTreeMap<String, AttributeValue>> {
    Some(
        pairs
            .into_iter()
            .map(|(k, v)| (k, AttributeValue(Some(v))))
            .collect(),
    )
}

/// Rows (CSV, Arrow, Parquet) as events: `customer_id` and `timestamp` required, `event`
/// optional, every other column an attribute (an empty cell: absent).
pub fn event_rows(rows: &Rows) -> Result<Vec<ProductEventRow>, ApiError> {
    attribute_rows(
        rows,
        "events",
        &["customer_id", "timestamp", "event"],
        &["customer_id", "timestamp"],
    )?
    .into_iter()
    .map(|(mut known, attributes)| {
        let event = std::mem::take(&mut known[2]);
        Ok(ProductEventRow {
            customer_id: CustomerId {
                id: std::mem::take(&mut known[0]),
                numeric: false,
            },
            timestamp: std::mem::take(&mut known[1]),
            event: (!event.is_empty()).then_some(event),
            attributes: attribute_map(attributes),
        })
    })
    .collect()
}

/// Answers a product-event endpoint in the CPU-work pool: a JSON body read as `T`, or rows
/// that `from_rows` turns into one with the query string's settings.
pub async fn answer<T: Compute + Send + 'static>(
    state: AppState,
    records: Records,
    label: &'static str,
    from_rows: fn(&Rows, Option<String>) -> Result<T, ApiError>,
) -> Result<FiniteJson, ApiError> {
    crate::http::work::off_runtime(state, label, move |state| {
        let request = match records {
            Records::Json(bytes) => parse_json::<T>(&bytes)?,
            Records::Rows(body, q) => from_rows(&body.read(state)?, q)?,
        };
        request.compute(state).and_then(crate::http::finite_json)
    })
    .await
}

/// The query string of `/lifecycle` and `/stickiness` with a body of rows.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodParams {
    period: Option<Period>,
    timezone: Option<String>,
    filter: Option<String>,
    group_by: Option<String>,
}

/// Rows and the query string of `/lifecycle` or `/stickiness`: the events, the period and
/// the segmentation.
pub fn period_events(
    rows: &Rows,
    q: Option<String>,
) -> Result<(Vec<ProductEventRow>, Option<Period>, Segmentation), ApiError> {
    let p: PeriodParams = query(q)?;
    let segmentation = Segmentation::from_query(p.timezone, p.filter, p.group_by)?;
    Ok((event_rows(rows)?, p.period, segmentation))
}

/// Refuses `filter` or `group_by` with a summary (`summary`: its field), which has no
/// attributes to read.
pub fn no_segments_with_summary(
    filter: bool,
    group_by: bool,
    summary: &str,
) -> Result<(), InvalidInput> {
    match [("filter", filter), ("group_by", group_by)]
        .iter()
        .find(|(_, given)| *given)
    {
        Some((field, _)) => Err(InvalidInput::new(
            format!("/{field}"),
            "only with rows",
            format!("{field} reads the rows' attributes; a {summary} has none: summarise each segment apart, or send the rows"),
        )),
        None => Ok(()),
    }
}

/// Takes each row's attributes (`take`) and splits the rows by `filter` and `group_by`.
pub fn split_rows<T>(
    mut rows: Vec<T>,
    take: impl Fn(&mut T) -> Option<BTreeMap<String, AttributeValue>>,
    filter: Option<&[FilterRule]>,
    group_by: Option<&[String]>,
    collection: &str,
) -> Result<(Vec<T>, Segments), InvalidInput> {
    let wanted = filter.is_some_and(|f| !f.is_empty()) || group_by.is_some_and(|g| !g.is_empty());
    let attributes: Vec<Vec<(String, String)>> = rows
        .iter_mut()
        .map(|r| match take(r) {
            Some(a) if wanted => attribute_pairs(Some(a)),
            _ => Vec::new(),
        })
        .collect();
    let segments = Segments::assign(
        rows.len(),
        |i| &attributes[i],
        filter.unwrap_or_default(),
        group_by.unwrap_or_default(),
        collection,
    )?;
    Ok((rows, segments))
}
